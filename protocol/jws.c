/*
 * jws.c - flattened JWS, parsed and verified in two steps (server) or
 * signed (client).
 *
 * The key type decides the algorithm, never the other way round: a header
 * naming an algorithm that does not belong to the key is refused before
 * any signature arithmetic, which closes the alg-confusion family of bugs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "b64url.h"
#include "jose.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"

const char *const jws_algorithms[] = {"ES256", "ES384", "RS256", "EdDSA", NULL};

struct alg {
	const char *name;
	const char *md; /* digest name, NULL for EdDSA (pure) */
	size_t ec_len;  /* bytes of r and of s, 0 for non-ECDSA */
	size_t sig_len; /* exact signature length, 0 when key-sized */
};

static const struct alg algs[] = {
    {"ES256", "SHA256", 32, 64},
    {"ES384", "SHA384", 48, 96},
    {"RS256", "SHA256", 0, 0},
    {"EdDSA", NULL, 0, 64},
};

static const struct alg *
alg_by_name(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
	return NULL;
}

/*
 * 1 when key may be used with a: the key's own algorithm is a (which pins
 * the EC curve), and an RSA key is within the accepted sizes.
 */
static int
alg_suits_key(const struct alg *a, EVP_PKEY *key)
{
	const char *name;
	int bits;

	if (jwk_alg_for_key(key, &name) != KK_OK || strcmp(name, a->name) != 0)
		return 0;
	if (EVP_PKEY_is_a(key, "RSA")) {
		bits = EVP_PKEY_get_bits(key);
		return bits >= JWK_RSA_MIN_BITS && bits <= JWK_RSA_MAX_BITS;
	}
	return 1;
}

/* JOSE r||s (each len bytes) to the DER ECDSA-Sig-Value OpenSSL wants. */
static enum kk_status
ecdsa_raw_to_der(
    const unsigned char *raw, size_t len, unsigned char **der, size_t *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	enum kk_status st = KK_ENOMEM;
	int n;

	*der = NULL;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, (int)len, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + len, (int)len, NULL)) == NULL)
		goto out;
	if (!ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL; /* owned by es now */
	if ((n = i2d_ECDSA_SIG(es, der)) <= 0) {
		st = KK_ECRYPTO;
		goto out;
	}
	*derlen = (size_t)n;
	st = KK_OK;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return st;
}

/* DER from OpenSSL to JOSE r||s, each zero-padded to len bytes. */
static enum kk_status
ecdsa_der_to_raw(
    const unsigned char *der, size_t derlen, size_t len, unsigned char *raw)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *es;
	enum kk_status st = KK_ECRYPTO;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, (int)len) < 0 ||
	    BN_bn2binpad(s, raw + len, (int)len) < 0)
		goto out;
	st = KK_OK;
out:
	ECDSA_SIG_free(es);
	return st;
}

void
jws_clear(struct jws *jws)
{
	if (jws == NULL)
		return;
	free(jws->alg);
	free(jws->nonce);
	free(jws->url);
	free(jws->kid);
	EVP_PKEY_free(jws->jwk);
	cJSON_Delete(jws->protected_hdr);
	free(jws->payload);
	free(jws->signing_input);
	free(jws->sig);
	memset(jws, 0, sizeof(*jws));
}

/* strdup of an optional string member: NULL stays NULL. */
static enum kk_status
dup_optional(const char *s, char **out)
{
	*out = NULL;
	if (s != NULL && (*out = strdup(s)) == NULL)
		return KK_ENOMEM;
	return KK_OK;
}

/* Checks the protected header's members and fills the header fields. */
static enum kk_status
parse_header(cJSON *hdr, struct jws *out)
{
	const struct alg *a;
	const cJSON *kid, *jwk, *nonce, *url;
	enum kk_status st;

	/* Anything but our four, "none" and HS256 included, is KK_EALG. */
	if ((a = alg_by_name(json_get_string(hdr, "alg"))) == NULL)
		return KK_EALG;
	/* We implement no extensions, so "crit" can never be honoured. */
	if (cJSON_GetObjectItemCaseSensitive(hdr, "crit") != NULL ||
	    cJSON_GetObjectItemCaseSensitive(hdr, "b64") != NULL)
		return KK_EINVAL;

	kid = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
	jwk = cJSON_GetObjectItemCaseSensitive(hdr, "jwk");
	if ((kid == NULL) == (jwk == NULL))
		return KK_EINVAL;
	if ((kid != NULL && !cJSON_IsString(kid)) ||
	    (jwk != NULL && !cJSON_IsObject(jwk)))
		return KK_EINVAL;
	nonce = cJSON_GetObjectItemCaseSensitive(hdr, "nonce");
	url = cJSON_GetObjectItemCaseSensitive(hdr, "url");
	if ((nonce != NULL && !cJSON_IsString(nonce)) ||
	    (url != NULL && !cJSON_IsString(url)))
		return KK_EINVAL;

	if (jwk != NULL) {
		if ((st = jwk_to_pkey(jwk, &out->jwk)) != KK_OK)
			return st;
		if (!alg_suits_key(a, out->jwk))
			return KK_EALG;
	}
	if ((out->alg = strdup(a->name)) == NULL)
		return KK_ENOMEM;
	if ((st = dup_optional(kid ? kid->valuestring : NULL, &out->kid)) !=
	        KK_OK ||
	    (st = dup_optional(cJSON_GetStringValue(nonce), &out->nonce)) !=
	        KK_OK ||
	    (st = dup_optional(cJSON_GetStringValue(url), &out->url)) != KK_OK)
		return st;
	return KK_OK;
}

enum kk_status
jws_parse(const char *body, size_t len, struct jws *out)
{
	struct jose_parts parts;
	cJSON *root = NULL;
	enum kk_status st;

	memset(out, 0, sizeof(*out));
	if ((st = json_parse(body, len, &root)) != KK_OK)
		goto out;
	if ((st = jose_split(root, &parts)) != KK_OK)
		goto out;
	if ((st = jose_header(parts.protected_b64, &out->protected_hdr)) !=
	    KK_OK)
		goto out;
	if ((st = parse_header(out->protected_hdr, out)) != KK_OK)
		goto out;
	if ((st = b64url_decode(parts.payload_b64, strlen(parts.payload_b64),
	         &out->payload, &out->payload_len)) != KK_OK ||
	    (st = b64url_decode(parts.signature_b64,
	         strlen(parts.signature_b64), &out->sig, &out->sig_len)) !=
	        KK_OK)
		goto out;
	st = jose_join(
	    parts.protected_b64, parts.payload_b64, &out->signing_input);
out:
	if (st != KK_OK)
		jws_clear(out);
	cJSON_Delete(root);
	return st;
}

enum kk_status
jws_verify(const struct jws *jws, EVP_PKEY *key)
{
	const struct alg *a;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *sig;
	size_t sig_len;
	enum kk_status st = KK_EALG;

	if (jws == NULL || key == NULL || jws->signing_input == NULL ||
	    (a = alg_by_name(jws->alg)) == NULL || !alg_suits_key(a, key))
		goto out;

	/* Exact lengths: a DER or truncated signature never reaches OpenSSL. */
	st = KK_ESIG;
	if (jws->sig_len !=
	    (a->sig_len ? a->sig_len : (size_t)EVP_PKEY_get_size(key)))
		goto out;
	sig = jws->sig;
	sig_len = jws->sig_len;
	if (a->ec_len != 0) {
		if ((st = ecdsa_raw_to_der(
		         jws->sig, a->ec_len, &der, &sig_len)) != KK_OK)
			goto out;
		sig = der;
	}

	st = KK_ECRYPTO;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(ctx, NULL, a->md, NULL, NULL, key, NULL) !=
	        1)
		goto out;
	st = EVP_DigestVerify(ctx, sig, sig_len,
	         (const unsigned char *)jws->signing_input,
	         strlen(jws->signing_input)) == 1
	         ? KK_OK
	         : KK_ESIG;
out:
	if (st != KK_OK)
		ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return st;
}

/* Signs tbs with key under a; *sig (free()) is the JOSE form. */
static enum kk_status
sign_raw(const struct alg *a, EVP_PKEY *key, const char *tbs,
    unsigned char **sig, size_t *sig_len)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *buf = NULL, *raw = NULL;
	size_t len = 0;
	enum kk_status st = KK_ECRYPTO;

	*sig = NULL;
	*sig_len = 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(ctx, NULL, a->md, NULL, NULL, key, NULL) !=
	        1 ||
	    EVP_DigestSign(
	        ctx, NULL, &len, (const unsigned char *)tbs, strlen(tbs)) != 1)
		goto out;
	if ((buf = malloc(len)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(
	        ctx, buf, &len, (const unsigned char *)tbs, strlen(tbs)) != 1)
		goto out;
	if (a->ec_len != 0) {
		if ((raw = malloc(2 * a->ec_len)) == NULL) {
			st = KK_ENOMEM;
			goto out;
		}
		if ((st = ecdsa_der_to_raw(buf, len, a->ec_len, raw)) != KK_OK)
			goto out;
		free(buf);
		buf = raw;
		raw = NULL;
		len = 2 * a->ec_len;
	}
	*sig = buf;
	*sig_len = len;
	buf = NULL;
	st = KK_OK;
out:
	if (st != KK_OK)
		ERR_clear_error();
	free(raw);
	free(buf);
	EVP_MD_CTX_free(ctx);
	return st;
}

enum kk_status
jws_sign_header(EVP_PKEY *key, const cJSON *protected_hdr,
    const unsigned char *payload, size_t payload_len, char **out)
{
	const struct alg *a;
	const char *name;
	char *hdr_text = NULL, *p64 = NULL, *pl64 = NULL, *s64 = NULL;
	char *tbs = NULL, *text = NULL;
	unsigned char *sig = NULL;
	size_t sig_len, n;
	enum kk_status st;

	*out = NULL;
	if (protected_hdr == NULL) {
		st = KK_EINVAL;
		goto out;
	}
	if ((st = jwk_alg_for_key(key, &name)) != KK_OK)
		goto out;
	a = alg_by_name(name);
	if ((hdr_text = cJSON_PrintUnformatted(protected_hdr)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	if ((st = b64url_encode((const unsigned char *)hdr_text,
	         strlen(hdr_text), &p64)) != KK_OK ||
	    (st = b64url_encode(payload, payload_len, &pl64)) != KK_OK ||
	    (st = jose_join(p64, pl64, &tbs)) != KK_OK ||
	    (st = sign_raw(a, key, tbs, &sig, &sig_len)) != KK_OK ||
	    (st = b64url_encode(sig, sig_len, &s64)) != KK_OK)
		goto out;

	/* base64url needs no JSON escaping, so plain formatting is exact. */
	n = strlen(p64) + strlen(pl64) + strlen(s64) + 64;
	if ((text = malloc(n)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	snprintf(text, n,
	    "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
	    p64, pl64, s64);
	*out = text;
	st = KK_OK;
out:
	cJSON_free(hdr_text);
	free(p64);
	free(pl64);
	free(s64);
	free(tbs);
	free(sig);
	return st;
}

enum kk_status
jws_sign(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
    const unsigned char *payload, size_t payload_len, char **out)
{
	cJSON *hdr = NULL, *jwk = NULL;
	const char *alg;
	enum kk_status st;

	*out = NULL;
	if ((st = jwk_alg_for_key(key, &alg)) != KK_OK)
		goto out;
	st = KK_ENOMEM;
	if ((hdr = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(hdr, "alg", alg) == NULL)
		goto out;
	if (kid != NULL) {
		if (cJSON_AddStringToObject(hdr, "kid", kid) == NULL)
			goto out;
	} else {
		if ((st = jwk_from_pkey(key, &jwk)) != KK_OK)
			goto out;
		st = KK_ENOMEM;
		if (!cJSON_AddItemToObject(hdr, "jwk", jwk)) {
			cJSON_Delete(jwk);
			goto out;
		}
	}
	if ((nonce != NULL &&
	        cJSON_AddStringToObject(hdr, "nonce", nonce) == NULL) ||
	    (url != NULL && cJSON_AddStringToObject(hdr, "url", url) == NULL))
		goto out;
	st = jws_sign_header(key, hdr, payload, payload_len, out);
out:
	cJSON_Delete(hdr);
	return st;
}
