/*
 * jwk.h - JSON Web Keys (RFC 7517, 7518, 8037) for the key types ACME
 * accounts use: EC P-256 and P-384, RSA 2048-4096 bits, Ed25519.
 *
 * Only public keys travel in JWKs; private members ("d", "p", ...) are
 * ignored on input and never produced on output.
 */
#ifndef JWK_H
#define JWK_H

#include <openssl/evp.h>
#include <cjson/cJSON.h>

#include "kk_status.h"

#define JWK_RSA_MIN_BITS 2048
#define JWK_RSA_MAX_BITS 4096

/*
 * Builds a public key from a JWK object. Checks that the EC point lies on
 * the curve, that RSA moduli are 2048-4096 bits with an odd exponent > 1,
 * and that members are canonical base64url of the right length.
 * KK_EKEY for an unsupported or malformed key. *out is owned by the caller
 * (EVP_PKEY_free).
 */
enum kk_status jwk_to_pkey(const cJSON *jwk, EVP_PKEY **out);

/*
 * Serializes the public half of key as a JWK holding only the required
 * members (kty, crv, x, y / n, e). *out is owned by the caller
 * (cJSON_Delete).
 */
enum kk_status jwk_from_pkey(EVP_PKEY *key, cJSON **out);

/*
 * The RFC 7638 thumbprint: base64url(SHA-256(canonical JSON of the
 * required members in lexicographic order)). *out (caller frees with
 * free()) is a 43-character string.
 */
enum kk_status jwk_thumbprint(EVP_PKEY *key, char **out);

/*
 * The key's public JWK as compact text, its members in lexicographic
 * order: RFC 7638's canonical form, so that *thumb, its thumbprint, is
 * the SHA-256 of *text itself, and the key is exported once for both.
 * *text and *thumb are owned by the caller (free()); both NULL on error.
 */
enum kk_status jwk_texts(EVP_PKEY *key, char **text, char **thumb);

/*
 * The JWS "alg" this key signs with: "ES256", "ES384", "RS256" or "EdDSA".
 * *alg is a static string. KK_EKEY for a key type we do not sign with.
 */
enum kk_status jwk_alg_for_key(EVP_PKEY *key, const char **alg);

/*
 * 1 when the two keys are the same public key, 0 otherwise (including
 * when either is NULL).
 */
int jwk_equal(EVP_PKEY *a, EVP_PKEY *b);

#endif
