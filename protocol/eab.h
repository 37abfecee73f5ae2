/*
 * eab.h - External Account Binding (RFC 8555 section 7.3.4): an inner JWS,
 * MACed with HS256 under a key the CA gave out of band, whose payload is the
 * account's public JWK.
 */
#ifndef EAB_H
#define EAB_H

#include <stddef.h>

#include <openssl/evp.h>
#include <cjson/cJSON.h>

#include "kk_status.h"

#define EAB_MIN_KEY_LEN 16 /* bytes of HMAC key we accept */

/*
 * Builds the externalAccountBinding object for a newAccount request to url:
 * protected {"alg":"HS256","kid":kid,"url":url}, payload the public JWK of
 * account_key, signature HMAC-SHA256 under mac_key. *out is owned by the
 * caller (cJSON_Delete).
 */
enum kk_status eab_build(const char *kid, const unsigned char *mac_key,
    size_t mac_key_len, EVP_PKEY *account_key, const char *url, cJSON **out);

struct eab {
	char *kid;
	char *url;
	char *signing_input;
	unsigned char *payload;
	size_t payload_len;
	unsigned char *mac;
	size_t mac_len;
};

/*
 * Parses an externalAccountBinding object: the three flattened-JWS members
 * only, "alg" exactly "HS256" (KK_EALG otherwise), "kid" and "url" strings,
 * no "nonce", "jwk", "crit" or "b64" (KK_EINVAL). The caller then looks up
 * the MAC key by eab->kid and calls eab_verify. Release with eab_clear().
 */
enum kk_status eab_parse(const cJSON *obj, struct eab *out);

/*
 * Checks the MAC in constant time (KK_ESIG), that the payload is a JWK of
 * the same key as account_key (KK_EKEY) and that the url equals url
 * (KK_EINVAL).
 */
enum kk_status eab_verify(const struct eab *eab, const unsigned char *mac_key,
    size_t mac_key_len, EVP_PKEY *account_key, const char *url);

/* Frees what eab_parse allocated and zeroes *eab; NULL is allowed. */
void eab_clear(struct eab *eab);

#endif
