/*
 * jwk.c - JSON Web Keys to and from OpenSSL public keys.
 *
 * Keys are built with EVP_PKEY_fromdata so that OpenSSL, not this file,
 * decodes points and moduli; this file checks what OpenSSL would accept but
 * ACME must not (weak RSA, non-canonical encodings, foreign curves).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "b64url.h"
#include "json.h"
#include "eckey.h"
#include "jwk.h"

#define RSA_MAX_E_LEN 8 /* bytes; OpenSSL refuses larger e for big n */

struct curve {
	const char *crv;   /* JWK name */
	const char *group; /* OpenSSL group name */
	size_t len;        /* bytes per coordinate */
	const char *alg;
};

static const struct curve curves[] = {
    {"P-256", "prime256v1", 32, "ES256"},
    {"P-384", "secp384r1", 48, "ES384"},
};

static const struct curve *
curve_by_crv(const char *crv)
{
	size_t i;

	for (i = 0; crv != NULL && i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(curves[i].crv, crv) == 0)
			return &curves[i];
	return NULL;
}

/* The curve of an EC key, NULL for another curve or key type. */
static const struct curve *
curve_of_key(EVP_PKEY *key)
{
	char group[64];
	size_t i;

	if (!EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(
	        key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
		return NULL;
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(curves[i].group, group) == 0)
			return &curves[i];
	return NULL;
}

/*
 * Decodes the base64url member name of jwk. KK_EKEY when it is missing,
 * not a string or not canonical base64url.
 */
static enum kk_status
member_bytes(
    const cJSON *jwk, const char *name, unsigned char **buf, size_t *len)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(jwk, name);
	enum kk_status st;

	*buf = NULL;
	*len = 0;
	if (!cJSON_IsString(item))
		return KK_EKEY;
	st = b64url_decode(
	    item->valuestring, strlen(item->valuestring), buf, len);
	return st == KK_EINVAL ? KK_EKEY : st;
}

/* Runs EVP_PKEY_fromdata for a public key of type name. */
static enum kk_status
pkey_from_params(const char *name, OSSL_PARAM *params, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	enum kk_status st = KK_ECRYPTO;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1)
		goto out;
	if (EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		st = KK_EKEY;
		goto out;
	}
	st = KK_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	return st;
}

static enum kk_status
ec_to_pkey(const cJSON *jwk, EVP_PKEY **out)
{
	const struct curve *c;
	unsigned char *x = NULL, *y = NULL, *point = NULL;
	size_t xlen, ylen;
	enum kk_status st = KK_EKEY;

	if ((c = curve_by_crv(json_get_string(jwk, "crv"))) == NULL)
		goto out;
	if ((st = member_bytes(jwk, "x", &x, &xlen)) != KK_OK ||
	    (st = member_bytes(jwk, "y", &y, &ylen)) != KK_OK)
		goto out;
	st = KK_EKEY;
	if (xlen != c->len || ylen != c->len)
		goto out;

	/* The uncompressed SEC 1 point: 0x04 || x || y. */
	if ((point = malloc(1 + 2 * c->len)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	point[0] = 0x04;
	memcpy(point + 1, x, c->len);
	memcpy(point + 1 + c->len, y, c->len);
	/* Refuses coordinates outside the field and points off the curve
	 * (test_jwk.c ec_point_not_on_curve holds it to that). */
	st = eckey_from_point(c->group, point, 1 + 2 * c->len, out);
out:
	free(point);
	free(x);
	free(y);
	return st;
}

static enum kk_status
rsa_to_pkey(const cJSON *jwk, EVP_PKEY **out)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nlen, elen;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	enum kk_status st;
	int bits;

	if ((st = member_bytes(jwk, "n", &n, &nlen)) != KK_OK ||
	    (st = member_bytes(jwk, "e", &e, &elen)) != KK_OK)
		goto out;

	/*
	 * RFC 7518 section 6.3.1: minimal octets, so no leading zero (which
	 * would also give the same key two thumbprints).
	 */
	st = KK_EKEY;
	if (nlen == 0 || n[0] == 0 || elen == 0 || e[0] == 0 ||
	    elen > RSA_MAX_E_LEN)
		goto out;
	/* An even modulus is not a product of two odd primes. */
	if ((n[nlen - 1] & 1) == 0)
		goto out;
	/* e must be odd and > 1; e == 1 is the only odd value below 3. */
	if ((e[elen - 1] & 1) == 0 || (elen == 1 && e[0] == 1))
		goto out;

	if ((bn_n = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (bn_e = BN_bin2bn(e, (int)elen, NULL)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	bits = BN_num_bits(bn_n);
	if (bits < JWK_RSA_MIN_BITS || bits > JWK_RSA_MAX_BITS)
		goto out;

	st = KK_ECRYPTO;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	st = pkey_from_params("RSA", params, out);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	return st;
}

static enum kk_status
okp_to_pkey(const cJSON *jwk, EVP_PKEY **out)
{
	unsigned char *x = NULL;
	size_t xlen;
	const char *crv = json_get_string(jwk, "crv");
	enum kk_status st = KK_EKEY;

	if (crv == NULL || strcmp(crv, "Ed25519") != 0)
		goto out;
	if ((st = member_bytes(jwk, "x", &x, &xlen)) != KK_OK)
		goto out;
	/* OpenSSL refuses any length but 32 bytes. */
	st = KK_EKEY;
	if ((*out = EVP_PKEY_new_raw_public_key(
	         EVP_PKEY_ED25519, NULL, x, xlen)) == NULL)
		goto out;
	st = KK_OK;
out:
	free(x);
	return st;
}

enum kk_status
jwk_to_pkey(const cJSON *jwk, EVP_PKEY **out)
{
	const cJSON *kty;
	enum kk_status st = KK_EKEY;

	*out = NULL;
	if (!cJSON_IsObject(jwk))
		goto out;
	kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
	if (!cJSON_IsString(kty))
		goto out;
	if (strcmp(kty->valuestring, "EC") == 0)
		st = ec_to_pkey(jwk, out);
	else if (strcmp(kty->valuestring, "RSA") == 0)
		st = rsa_to_pkey(jwk, out);
	else if (strcmp(kty->valuestring, "OKP") == 0)
		st = okp_to_pkey(jwk, out);
out:
	/* A refused key must not leave OpenSSL errors for the next caller. */
	if (st != KK_OK)
		ERR_clear_error();
	return st;
}

/* Adds name: base64url(buf) to obj. */
static enum kk_status
add_b64(cJSON *obj, const char *name, const unsigned char *buf, size_t len)
{
	enum kk_status st;
	char *s = NULL;

	if ((st = b64url_encode(buf, len, &s)) != KK_OK)
		return st;
	if (cJSON_AddStringToObject(obj, name, s) == NULL)
		st = KK_ENOMEM;
	free(s);
	return st;
}

/* Adds name: base64url(minimal big-endian bytes of the BIGNUM param). */
static enum kk_status
add_bn(
    cJSON *obj, const char *name, EVP_PKEY *key, const char *param, size_t pad)
{
	BIGNUM *bn = NULL;
	unsigned char *buf = NULL;
	size_t len;
	enum kk_status st = KK_ECRYPTO;

	if (!EVP_PKEY_get_bn_param(key, param, &bn))
		goto out;
	len = pad ? pad : (size_t)BN_num_bytes(bn);
	if ((buf = malloc(len ? len : 1)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	if (BN_bn2binpad(bn, buf, (int)len) < 0)
		goto out;
	st = add_b64(obj, name, buf, len);
out:
	free(buf);
	BN_free(bn);
	return st;
}

/*
 * Adds x and y of an EC key, each of len bytes. The uncompressed point
 * holds both: one parameter read instead of two BIGNUM conversions. A key
 * that keeps its point compressed takes the BIGNUM way.
 */
static enum kk_status
add_point(cJSON *obj, EVP_PKEY *key, size_t len)
{
	unsigned char point[1 + 2 * 66];
	size_t n = 0;
	enum kk_status st;

	if (2 * len + 1 > sizeof(point) ||
	    EVP_PKEY_get_octet_string_param(key,
	        OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point),
	        &n) != 1 ||
	    n != 1 + 2 * len || point[0] != 0x04) {
		ERR_clear_error();
		if ((st = add_bn(obj, "x", key, OSSL_PKEY_PARAM_EC_PUB_X,
		         len)) != KK_OK)
			return st;
		return add_bn(obj, "y", key, OSSL_PKEY_PARAM_EC_PUB_Y, len);
	}
	if ((st = add_b64(obj, "x", point + 1, len)) != KK_OK)
		return st;
	return add_b64(obj, "y", point + 1 + len, len);
}

/*
 * Members are added in lexicographic order, which is what RFC 7638 asks
 * of the thumbprint input: jwk_thumbprint hashes this object's compact
 * print.
 */
enum kk_status
jwk_from_pkey(EVP_PKEY *key, cJSON **out)
{
	const struct curve *c;
	cJSON *jwk = NULL;
	unsigned char raw[32];
	size_t rawlen = sizeof(raw);
	enum kk_status st = KK_ENOMEM;

	*out = NULL;
	if (key == NULL) {
		st = KK_EKEY;
		goto out;
	}
	if ((jwk = cJSON_CreateObject()) == NULL)
		goto out;
	if ((c = curve_of_key(key)) != NULL) {
		if (cJSON_AddStringToObject(jwk, "crv", c->crv) == NULL ||
		    cJSON_AddStringToObject(jwk, "kty", "EC") == NULL)
			goto out;
		if ((st = add_point(jwk, key, c->len)) != KK_OK)
			goto out;
	} else if (EVP_PKEY_is_a(key, "RSA")) {
		if ((st = add_bn(jwk, "e", key, OSSL_PKEY_PARAM_RSA_E, 0)) !=
		    KK_OK)
			goto out;
		st = KK_ENOMEM;
		if (cJSON_AddStringToObject(jwk, "kty", "RSA") == NULL)
			goto out;
		if ((st = add_bn(jwk, "n", key, OSSL_PKEY_PARAM_RSA_N, 0)) !=
		    KK_OK)
			goto out;
	} else if (EVP_PKEY_is_a(key, "ED25519")) {
		if (cJSON_AddStringToObject(jwk, "crv", "Ed25519") == NULL ||
		    cJSON_AddStringToObject(jwk, "kty", "OKP") == NULL)
			goto out;
		if (EVP_PKEY_get_raw_public_key(key, raw, &rawlen) != 1 ||
		    rawlen != sizeof(raw)) {
			st = KK_ECRYPTO;
			goto out;
		}
		if ((st = add_b64(jwk, "x", raw, rawlen)) != KK_OK)
			goto out;
	} else {
		st = KK_EKEY;
		goto out;
	}
	*out = jwk;
	jwk = NULL;
	st = KK_OK;
out:
	cJSON_Delete(jwk);
	return st;
}

/* base64url(SHA-256(text)), the thumbprint of a canonical JWK text. */
static enum kk_status
thumb_of_text(const char *text, char **out)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) != 1)
		return KK_ECRYPTO;
	return b64url_encode(md, mdlen, out);
}

enum kk_status
jwk_texts(EVP_PKEY *key, char **text, char **thumb)
{
	cJSON *jwk = NULL;
	enum kk_status st;

	*text = *thumb = NULL;
	if ((st = jwk_from_pkey(key, &jwk)) != KK_OK)
		goto out;
	/* Compact print of sorted members: the RFC 7638 canonical form. */
	if ((*text = cJSON_PrintUnformatted(jwk)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	st = thumb_of_text(*text, thumb);
out:
	cJSON_Delete(jwk);
	if (st != KK_OK) {
		free(*text);
		*text = NULL;
	}
	return st;
}

enum kk_status
jwk_thumbprint(EVP_PKEY *key, char **out)
{
	enum kk_status st;
	char *text = NULL;

	st = jwk_texts(key, &text, out);
	free(text); /* jwk_texts' contract: free() */
	return st;
}

enum kk_status
jwk_alg_for_key(EVP_PKEY *key, const char **alg)
{
	const struct curve *c;

	*alg = NULL;
	if (key == NULL)
		return KK_EKEY;
	if ((c = curve_of_key(key)) != NULL)
		*alg = c->alg;
	else if (EVP_PKEY_is_a(key, "RSA"))
		*alg = "RS256";
	else if (EVP_PKEY_is_a(key, "ED25519"))
		*alg = "EdDSA";
	else
		return KK_EKEY;
	return KK_OK;
}

int
jwk_equal(EVP_PKEY *a, EVP_PKEY *b)
{
	return a != NULL && b != NULL && EVP_PKEY_eq(a, b) == 1;
}
