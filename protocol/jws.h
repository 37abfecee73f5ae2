/*
 * jws.h - JSON Web Signature in the flattened JSON serialization, as ACME
 * uses it (RFC 7515, RFC 8555 section 6.2).
 *
 * The server side is split in two because the verification key is only
 * known after the header is read: jws_parse checks the structure and the
 * protected header, the caller looks up the key named by "kid" (or takes the
 * embedded "jwk"), then jws_verify checks the signature.
 *
 * Accepted algorithms: ES256, ES384, RS256 (RSA >= 2048 bits), EdDSA
 * (Ed25519). ECDSA signatures are the JOSE raw r||s form, never DER.
 */
#ifndef JWS_H
#define JWS_H

#include <stddef.h>

#include <openssl/evp.h>
#include <cjson/cJSON.h>

#include "kk_status.h"

/* The "algorithms" list for a badSignatureAlgorithm problem; NULL-ended. */
extern const char *const jws_algorithms[];

struct jws {
	char *alg;   /* always set after a successful parse */
	char *nonce; /* NULL when the header has none */
	char *url;   /* NULL when the header has none */
	char *kid;   /* exactly one of kid and jwk is set */
	EVP_PKEY *jwk;
	cJSON *protected_hdr;   /* the whole decoded protected header */
	unsigned char *payload; /* decoded; NUL-terminated for convenience */
	size_t payload_len;     /* 0 for POST-as-GET */
	char *signing_input;    /* ASCII(protected "." payload) as received */
	unsigned char *sig;
	size_t sig_len;
};

/*
 * Parses a flattened JWS from len bytes of body and checks its protected
 * header: exactly the members "protected", "payload", "signature" (no
 * unprotected "header"); "alg" one of jws_algorithms (KK_EALG otherwise,
 * including "none" and HS*); no "crit" and no "b64" (KK_EINVAL); exactly
 * one of "kid" and "jwk" (KK_EINVAL); an embedded jwk must parse (KK_EKEY)
 * and suit "alg" (KK_EALG). Does not check the signature, the nonce or the
 * url. On success *out holds allocations the caller releases with
 * jws_clear(); on failure *out is zeroed.
 */
enum kk_status jws_parse(const char *body, size_t len, struct jws *out);

/*
 * Checks the signature of a parsed JWS with key. KK_EALG when "alg" does
 * not suit the key's type (or curve, or RSA size); KK_ESIG when the
 * signature is malformed (wrong length) or does not verify.
 */
enum kk_status jws_verify(const struct jws *jws, EVP_PKEY *key);

/* Frees what jws_parse allocated and zeroes *jws; NULL is allowed. */
void jws_clear(struct jws *jws);

/*
 * Signs payload (payload_len bytes; NULL/0 gives the empty payload of
 * POST-as-GET) with key, using the key's algorithm (jwk_alg_for_key). The
 * protected header holds "alg", then "kid" if kid is not NULL or the public
 * "jwk" otherwise, then "nonce" if not NULL and "url" if not NULL.
 * *out (caller frees with free()) is the flattened JWS JSON text.
 */
enum kk_status jws_sign(EVP_PKEY *key, const char *kid, const char *nonce,
    const char *url, const unsigned char *payload, size_t payload_len,
    char **out);

/*
 * Like jws_sign but with a protected header given whole by the caller,
 * serialized as is, and signed with the key's own algorithm whatever its
 * "alg" says: tests use it to build hostile requests. *out as for jws_sign.
 */
enum kk_status jws_sign_header(EVP_PKEY *key, const cJSON *protected_hdr,
    const unsigned char *payload, size_t payload_len, char **out);

#endif
