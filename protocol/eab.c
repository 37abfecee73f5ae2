/*
 * eab.c - External Account Binding (RFC 8555 section 7.3.4).
 *
 * The MAC is checked before anything in the payload is believed, and in
 * constant time so that a caller probing MACs learns nothing from timing.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "b64url.h"
#include "eab.h"
#include "jose.h"
#include "json.h"
#include "jwk.h"

#define HS256_LEN 32

static enum kk_status
hmac_sha256(const unsigned char *key, size_t key_len, const char *data,
    unsigned char mac[HS256_LEN])
{
	size_t len = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len,
	        (const unsigned char *)data, strlen(data), mac, HS256_LEN,
	        &len) == NULL ||
	    len != HS256_LEN) {
		ERR_clear_error();
		return KK_ECRYPTO;
	}
	return KK_OK;
}

/* Adds name: base64url(text) to obj; *b64 (free()) keeps the encoding. */
static enum kk_status
add_b64_text(cJSON *obj, const char *name, const char *text, char **b64)
{
	enum kk_status st;

	*b64 = NULL;
	if ((st = b64url_encode(
	         (const unsigned char *)text, strlen(text), b64)) != KK_OK)
		return st;
	if (cJSON_AddStringToObject(obj, name, *b64) == NULL)
		return KK_ENOMEM;
	return KK_OK;
}

enum kk_status
eab_build(const char *kid, const unsigned char *mac_key, size_t mac_key_len,
    EVP_PKEY *account_key, const char *url, cJSON **out)
{
	cJSON *obj = NULL, *hdr = NULL, *jwk = NULL;
	char *hdr_text = NULL, *jwk_text = NULL, *p64 = NULL, *pl64 = NULL;
	char *tbs = NULL, *s64 = NULL;
	unsigned char mac[HS256_LEN];
	enum kk_status st = KK_EINVAL;

	*out = NULL;
	if (kid == NULL || url == NULL || mac_key == NULL)
		goto out;
	if (mac_key_len < EAB_MIN_KEY_LEN) {
		st = KK_EKEY;
		goto out;
	}
	if ((st = jwk_from_pkey(account_key, &jwk)) != KK_OK)
		goto out;

	st = KK_ENOMEM;
	if ((hdr = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(hdr, "alg", "HS256") == NULL ||
	    cJSON_AddStringToObject(hdr, "kid", kid) == NULL ||
	    cJSON_AddStringToObject(hdr, "url", url) == NULL ||
	    (hdr_text = cJSON_PrintUnformatted(hdr)) == NULL ||
	    (jwk_text = cJSON_PrintUnformatted(jwk)) == NULL ||
	    (obj = cJSON_CreateObject()) == NULL)
		goto out;
	if ((st = add_b64_text(obj, "protected", hdr_text, &p64)) != KK_OK ||
	    (st = add_b64_text(obj, "payload", jwk_text, &pl64)) != KK_OK ||
	    (st = jose_join(p64, pl64, &tbs)) != KK_OK ||
	    (st = hmac_sha256(mac_key, mac_key_len, tbs, mac)) != KK_OK ||
	    (st = b64url_encode(mac, sizeof(mac), &s64)) != KK_OK)
		goto out;
	if (cJSON_AddStringToObject(obj, "signature", s64) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	*out = obj;
	obj = NULL;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	cJSON_Delete(obj);
	cJSON_Delete(hdr);
	cJSON_Delete(jwk);
	cJSON_free(hdr_text);
	cJSON_free(jwk_text);
	free(p64);
	free(pl64);
	free(tbs);
	free(s64);
	return st;
}

void
eab_clear(struct eab *eab)
{
	if (eab == NULL)
		return;
	free(eab->kid);
	free(eab->url);
	free(eab->signing_input);
	free(eab->payload);
	free(eab->mac);
	memset(eab, 0, sizeof(*eab));
}

enum kk_status
eab_parse(const cJSON *obj, struct eab *out)
{
	struct jose_parts parts;
	cJSON *hdr = NULL;
	const char *alg, *kid, *url;
	enum kk_status st;

	memset(out, 0, sizeof(*out));
	if ((st = jose_split(obj, &parts)) != KK_OK ||
	    (st = jose_header(parts.protected_b64, &hdr)) != KK_OK)
		goto out;

	alg = json_get_string(hdr, "alg");
	if (alg == NULL || strcmp(alg, "HS256") != 0) {
		st = KK_EALG;
		goto out;
	}
	st = KK_EINVAL;
	/* The inner JWS is MACed, not replay-protected or self-signed. */
	if (cJSON_GetObjectItemCaseSensitive(hdr, "nonce") != NULL ||
	    cJSON_GetObjectItemCaseSensitive(hdr, "jwk") != NULL ||
	    cJSON_GetObjectItemCaseSensitive(hdr, "crit") != NULL ||
	    cJSON_GetObjectItemCaseSensitive(hdr, "b64") != NULL)
		goto out;
	if ((kid = json_get_string(hdr, "kid")) == NULL ||
	    (url = json_get_string(hdr, "url")) == NULL)
		goto out;

	st = KK_ENOMEM;
	if ((out->kid = strdup(kid)) == NULL ||
	    (out->url = strdup(url)) == NULL)
		goto out;
	if ((st = b64url_decode(parts.payload_b64, strlen(parts.payload_b64),
	         &out->payload, &out->payload_len)) != KK_OK ||
	    (st = b64url_decode(parts.signature_b64,
	         strlen(parts.signature_b64), &out->mac, &out->mac_len)) !=
	        KK_OK ||
	    (st = jose_join(parts.protected_b64, parts.payload_b64,
	         &out->signing_input)) != KK_OK)
		goto out;
out:
	if (st != KK_OK)
		eab_clear(out);
	cJSON_Delete(hdr);
	return st;
}

enum kk_status
eab_verify(const struct eab *eab, const unsigned char *mac_key,
    size_t mac_key_len, EVP_PKEY *account_key, const char *url)
{
	unsigned char mac[HS256_LEN];
	cJSON *jwk = NULL;
	EVP_PKEY *key = NULL;
	enum kk_status st = KK_EINVAL;

	if (eab == NULL || eab->signing_input == NULL || mac_key == NULL ||
	    url == NULL)
		goto out;
	if (mac_key_len < EAB_MIN_KEY_LEN) {
		st = KK_EKEY;
		goto out;
	}
	if ((st = hmac_sha256(mac_key, mac_key_len, eab->signing_input, mac)) !=
	    KK_OK)
		goto out;
	/* The length is public (always 32); only the bytes are secret. */
	if (eab->mac_len != HS256_LEN ||
	    CRYPTO_memcmp(mac, eab->mac, HS256_LEN) != 0) {
		st = KK_ESIG;
		goto out;
	}

	/* Authentic from here on: now the payload may be read. */
	st = KK_EKEY;
	if (json_parse((const char *)eab->payload, eab->payload_len, &jwk) !=
	        KK_OK ||
	    jwk_to_pkey(jwk, &key) != KK_OK || !jwk_equal(key, account_key))
		goto out;
	st = strcmp(eab->url, url) == 0 ? KK_OK : KK_EINVAL;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	EVP_PKEY_free(key);
	cJSON_Delete(jwk);
	return st;
}
