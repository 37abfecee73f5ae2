#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "json.h"
#include "jwk.h"
#include "testutil.h"

static cJSON *
parse(const char *s)
{
	cJSON *o = NULL;

	cr_assert_eq(json_parse(s, strlen(s), &o), KK_OK, "%s", s);
	return o;
}

/* jwk_to_pkey on JSON text; returns the status, frees any key. */
static enum kk_status
to_pkey_status(const char *text)
{
	cJSON *o = parse(text);
	EVP_PKEY *k = (EVP_PKEY *)1;
	enum kk_status st = jwk_to_pkey(o, &k);

	if (st != KK_OK)
		cr_assert_null(k, "no key on failure");
	EVP_PKEY_free(k);
	cJSON_Delete(o);
	return st;
}

/* Sets member name of jwk to a new string (replacing it). */
static void
set_member(cJSON *jwk, const char *name, const char *value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(jwk, name);
	cr_assert_not_null(cJSON_AddStringToObject(jwk, name, value));
}

static enum kk_status
obj_status(const cJSON *jwk)
{
	EVP_PKEY *k = NULL;
	enum kk_status st = jwk_to_pkey(jwk, &k);

	EVP_PKEY_free(k);
	return st;
}

/* RFC 7638 section 3.1's RSA key, from the vectors v; *jwk is its JWK
 * there (borrowed from v). */
static EVP_PKEY *
rfc7638_key(const cJSON *v, const cJSON **jwk)
{
	EVP_PKEY *k = NULL;

	*jwk = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(v, "rfc7638_3_1_rsa_thumbprint"),
	    "jwk");
	cr_assert_eq(jwk_to_pkey(*jwk, &k), KK_OK);
	return k;
}

/* RFC 7638 section 3.1: the RSA key's thumbprint. */
Test(jwk, rfc7638_thumbprint)
{
	cJSON *v = load_vectors();
	const cJSON *jwk;
	EVP_PKEY *k = rfc7638_key(v, &jwk);
	char *tp = NULL;

	cr_assert_eq(EVP_PKEY_get_bits(k), 2048);
	cr_assert_eq(jwk_thumbprint(k, &tp), KK_OK);
	cr_assert_str_eq(
	    tp, vec_str(v, "rfc7638_3_1_rsa_thumbprint", "thumbprint"));
	cr_assert_eq(strlen(tp), 43);
	free(tp);
	EVP_PKEY_free(k);
	cJSON_Delete(v);
}

/* RFC 8037 appendix A.3: the Ed25519 key's thumbprint. */
Test(jwk, rfc8037_thumbprint)
{
	cJSON *v = load_vectors();
	const cJSON *jwk = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(v, "rfc8037_a4_eddsa"), "jwk");
	EVP_PKEY *k = NULL;
	char *tp = NULL;

	/* The private "d" in the vector is ignored. */
	cr_assert_eq(jwk_to_pkey(jwk, &k), KK_OK);
	cr_assert_eq(jwk_thumbprint(k, &tp), KK_OK);
	cr_assert_str_eq(
	    tp, vec_str(v, "rfc8037_a4_eddsa", "thumbprint_rfc8037_a3"));
	free(tp);
	EVP_PKEY_free(k);
	cJSON_Delete(v);
}

/* The canonical JSON is the compact, sorted print of jwk_from_pkey. */
Test(jwk, from_pkey_is_canonical)
{
	cJSON *v = load_vectors();
	const cJSON *jwk = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(v, "rfc7515_a3_es256"), "jwk");
	EVP_PKEY *k = NULL;
	cJSON *out = NULL;
	char *text, want[256];

	cr_assert_eq(jwk_to_pkey(jwk, &k), KK_OK);
	cr_assert_eq(jwk_from_pkey(k, &out), KK_OK);
	text = cJSON_PrintUnformatted(out);
	snprintf(want, sizeof(want),
	    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
	    json_get_string(jwk, "x"), json_get_string(jwk, "y"));
	cr_assert_str_eq(text, want);
	cJSON_free(text);
	cJSON_Delete(out);
	EVP_PKEY_free(k);
	cJSON_Delete(v);
}

/* jwk_texts: the stored text and the thumbprint of one export. */
Test(jwk, texts_are_the_canonical_jwk_and_its_thumbprint)
{
	cJSON *v = load_vectors();
	const cJSON *jwk;
	EVP_PKEY *k = rfc7638_key(v, &jwk);
	char *text = NULL, *tp = NULL, want[1024];

	cr_assert_eq(jwk_texts(k, &text, &tp), KK_OK);
	snprintf(want, sizeof(want),
	    "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
	    json_get_string(jwk, "e"), json_get_string(jwk, "n"));
	cr_assert_str_eq(text, want);
	cr_assert_str_eq(
	    tp, vec_str(v, "rfc7638_3_1_rsa_thumbprint", "thumbprint"));
	free(text);
	free(tp);
	/* A key it cannot describe leaves both NULL. */
	text = tp = (char *)"unchanged";
	cr_assert_eq(jwk_texts(NULL, &text, &tp), KK_EKEY);
	cr_assert_null(text);
	cr_assert_null(tp);
	EVP_PKEY_free(k);
	cJSON_Delete(v);
}

static void
round_trip(const char *kind, const char *alg, const char *kty)
{
	EVP_PKEY *k = gen_key(kind), *back = NULL;
	cJSON *jwk = NULL;
	const char *a = NULL;
	char *tp1 = NULL, *tp2 = NULL;

	cr_assert_eq(jwk_from_pkey(k, &jwk), KK_OK);
	cr_assert_str_eq(json_get_string(jwk, "kty"), kty);
	cr_assert_null(
	    cJSON_GetObjectItemCaseSensitive(jwk, "d"), "no private member");
	cr_assert_eq(jwk_to_pkey(jwk, &back), KK_OK, "%s", kind);
	cr_assert(jwk_equal(k, back));
	cr_assert_eq(jwk_alg_for_key(k, &a), KK_OK);
	cr_assert_str_eq(a, alg);
	cr_assert_eq(jwk_thumbprint(k, &tp1), KK_OK);
	cr_assert_eq(jwk_thumbprint(back, &tp2), KK_OK);
	cr_assert_str_eq(tp1, tp2);
	free(tp1);
	free(tp2);
	cJSON_Delete(jwk);
	EVP_PKEY_free(back);
	EVP_PKEY_free(k);
}

Test(jwk, round_trip_p256)
{
	round_trip("P-256", "ES256", "EC");
}

Test(jwk, round_trip_p384)
{
	round_trip("P-384", "ES384", "EC");
}

Test(jwk, round_trip_rsa2048)
{
	round_trip("RSA-2048", "RS256", "RSA");
}

Test(jwk, round_trip_ed25519)
{
	round_trip("ED25519", "EdDSA", "OKP");
}

/* A key that keeps its point compressed gives the same JWK. */
Test(jwk, compressed_point_gives_the_same_jwk)
{
	EVP_PKEY *k = gen_key("P-256");
	cJSON *a = NULL, *b = NULL;
	char *ta, *tb;

	cr_assert_eq(jwk_from_pkey(k, &a), KK_OK);
	cr_assert_eq(
	    EVP_PKEY_set_utf8_string_param(
	        k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"),
	    1);
	cr_assert_eq(jwk_from_pkey(k, &b), KK_OK);
	ta = cJSON_PrintUnformatted(a);
	tb = cJSON_PrintUnformatted(b);
	cr_assert_str_eq(ta, tb);
	cJSON_free(ta);
	cJSON_free(tb);
	cJSON_Delete(a);
	cJSON_Delete(b);
	EVP_PKEY_free(k);
}

Test(jwk, equal_tells_keys_apart)
{
	EVP_PKEY *a = gen_key("P-256"), *b = gen_key("P-256");
	EVP_PKEY *c = gen_key("ED25519");
	char *ta = NULL, *tb = NULL;

	cr_assert(jwk_equal(a, a));
	cr_assert_not(jwk_equal(a, b));
	cr_assert_not(jwk_equal(a, c));
	cr_assert_not(jwk_equal(a, NULL));
	cr_assert_not(jwk_equal(NULL, NULL));
	cr_assert_eq(jwk_thumbprint(a, &ta), KK_OK);
	cr_assert_eq(jwk_thumbprint(b, &tb), KK_OK);
	cr_assert_str_neq(ta, tb);
	free(ta);
	free(tb);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(c);
}

Test(jwk, unsupported_curve_has_no_alg_or_jwk)
{
	EVP_PKEY *k = gen_key("P-521");
	const char *alg = "x";
	cJSON *jwk = (cJSON *)1;
	char *tp = (char *)1;

	cr_assert_eq(jwk_alg_for_key(k, &alg), KK_EKEY);
	cr_assert_null(alg);
	cr_assert_eq(jwk_from_pkey(k, &jwk), KK_EKEY);
	cr_assert_null(jwk);
	cr_assert_eq(jwk_thumbprint(k, &tp), KK_EKEY);
	cr_assert_null(tp);
	EVP_PKEY_free(k);
}

Test(jwk, rsa_1024_is_refused)
{
	EVP_PKEY *k = gen_key("RSA-1024");
	cJSON *jwk = NULL;

	/* Serializing is allowed (tests build hostile requests with it). */
	cr_assert_eq(jwk_from_pkey(k, &jwk), KK_OK);
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	cJSON_Delete(jwk);
	EVP_PKEY_free(k);
}

Test(jwk, rsa_bounds)
{
	EVP_PKEY *k = gen_key("RSA-4096");
	cJSON *jwk = NULL;
	unsigned char *n;
	size_t nlen;
	char *big = NULL;

	cr_assert_eq(jwk_from_pkey(k, &jwk), KK_OK);
	cr_assert_eq(obj_status(jwk), KK_OK, "4096 bits is accepted");
	/* One more bit than 4096: prepend a 0x01 byte. */
	n = unb64(json_get_string(jwk, "n"), &nlen);
	{
		unsigned char *m = malloc(nlen + 1);

		cr_assert_not_null(m);
		m[0] = 1;
		memcpy(m + 1, n, nlen);
		cr_assert_eq(b64url_encode(m, nlen + 1, &big), KK_OK);
		free(m);
	}
	set_member(jwk, "n", big);
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	free(big);
	free(n);
	cJSON_Delete(jwk);
	EVP_PKEY_free(k);
}

Test(jwk, rsa_exponent_checks)
{
	EVP_PKEY *k = gen_key("RSA-2048");
	cJSON *jwk = NULL;

	cr_assert_eq(jwk_from_pkey(k, &jwk), KK_OK);
	cr_assert_str_eq(json_get_string(jwk, "e"), "AQAB");
	set_member(jwk, "e", "Aw"); /* 3: odd and > 1 */
	cr_assert_eq(obj_status(jwk), KK_OK);
	set_member(jwk, "e", "AQ"); /* 1 */
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	set_member(jwk, "e", "AQAA"); /* 65536: even */
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	set_member(jwk, "e", "AAEAAQ"); /* leading zero: not minimal */
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	set_member(jwk, "e", "");
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	cJSON_Delete(jwk);
	EVP_PKEY_free(k);
}

Test(jwk, rsa_modulus_leading_zero_is_refused)
{
	EVP_PKEY *k = gen_key("RSA-2048");
	cJSON *jwk = NULL;
	unsigned char *n, *m;
	size_t nlen;
	char *padded = NULL;

	cr_assert_eq(jwk_from_pkey(k, &jwk), KK_OK);
	n = unb64(json_get_string(jwk, "n"), &nlen);
	m = calloc(1, nlen + 1);
	cr_assert_not_null(m);
	memcpy(m + 1, n, nlen);
	cr_assert_eq(b64url_encode(m, nlen + 1, &padded), KK_OK);
	set_member(jwk, "n", padded);
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	/* An even modulus cannot be an RSA modulus. */
	n[nlen - 1] &= 0xfe;
	free(padded);
	cr_assert_eq(b64url_encode(n, nlen, &padded), KK_OK);
	set_member(jwk, "n", padded);
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	free(padded);
	free(m);
	free(n);
	cJSON_Delete(jwk);
	EVP_PKEY_free(k);
}

/* x and y of the RFC 7515 A.3 key with y changed in its last bit. */
Test(jwk, ec_point_not_on_curve)
{
	cJSON *v = load_vectors();
	cJSON *jwk = cJSON_Duplicate(
	    cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(v, "rfc7515_a3_es256"), "jwk"),
	    1);
	unsigned char *y;
	size_t ylen;
	char *bad = NULL;

	cr_assert_eq(obj_status(jwk), KK_OK, "the vector key is valid");
	y = unb64(json_get_string(jwk, "y"), &ylen);
	y[ylen - 1] ^= 1;
	cr_assert_eq(b64url_encode(y, ylen, &bad), KK_OK);
	set_member(jwk, "y", bad);
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	/* All-zero coordinates: no such point on P-256. */
	memset(y, 0, ylen);
	free(bad);
	cr_assert_eq(b64url_encode(y, ylen, &bad), KK_OK);
	set_member(jwk, "x", bad);
	set_member(jwk, "y", bad);
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	free(bad);
	free(y);
	cJSON_Delete(jwk);
	cJSON_Delete(v);
}

Test(jwk, ec_coordinate_lengths_are_exact)
{
	EVP_PKEY *k = gen_key("P-256");
	cJSON *jwk = NULL;
	unsigned char *x, *m;
	size_t xlen;
	char *s = NULL;

	cr_assert_eq(jwk_from_pkey(k, &jwk), KK_OK);
	x = unb64(json_get_string(jwk, "x"), &xlen);
	cr_assert_eq(xlen, 32);
	/* The same number with a leading zero byte: 33 bytes. */
	m = calloc(1, 33);
	cr_assert_not_null(m);
	memcpy(m + 1, x, 32);
	cr_assert_eq(b64url_encode(m, 33, &s), KK_OK);
	set_member(jwk, "x", s);
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	free(s);
	/* 31 bytes. */
	cr_assert_eq(b64url_encode(x + 1, 31, &s), KK_OK);
	set_member(jwk, "x", s);
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	free(s);
	/* The right 32 bytes followed by a stray one. */
	memcpy(m, x, 32);
	m[32] = 0;
	cr_assert_eq(b64url_encode(m, 33, &s), KK_OK);
	set_member(jwk, "x", s);
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	free(s);
	cr_assert_eq(b64url_encode(x, 32, &s), KK_OK);
	set_member(jwk, "x", s);
	cr_assert_eq(obj_status(jwk), KK_OK, "restored");
	free(s);
	/* The same for y. */
	free(x);
	x = unb64(json_get_string(jwk, "y"), &xlen);
	memcpy(m, x, 32);
	cr_assert_eq(b64url_encode(m, 33, &s), KK_OK);
	set_member(jwk, "y", s);
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	free(s);
	free(m);
	free(x);
	cJSON_Delete(jwk);
	EVP_PKEY_free(k);
}

Test(jwk, ec_curve_must_match_coordinates)
{
	EVP_PKEY *k = gen_key("P-384");
	cJSON *jwk = NULL;

	cr_assert_eq(jwk_from_pkey(k, &jwk), KK_OK);
	set_member(jwk, "crv", "P-256");
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	set_member(jwk, "crv", "P-521");
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	set_member(jwk, "crv", "secp384r1");
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	cJSON_Delete(jwk);
	EVP_PKEY_free(k);
}

Test(jwk, ed25519_checks)
{
	EVP_PKEY *k = gen_key("ED25519");
	cJSON *jwk = NULL;
	unsigned char *x;
	size_t xlen;
	char *s = NULL;

	cr_assert_eq(jwk_from_pkey(k, &jwk), KK_OK);
	x = unb64(json_get_string(jwk, "x"), &xlen);
	cr_assert_eq(b64url_encode(x, 31, &s), KK_OK);
	set_member(jwk, "x", s);
	cr_assert_eq(obj_status(jwk), KK_EKEY, "31-byte x");
	free(s);
	cr_assert_eq(b64url_encode(x, 32, &s), KK_OK);
	set_member(jwk, "x", s);
	cr_assert_eq(obj_status(jwk), KK_OK);
	set_member(jwk, "crv", "Ed448");
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	set_member(jwk, "crv", "X25519");
	cr_assert_eq(obj_status(jwk), KK_EKEY);
	free(s);
	free(x);
	cJSON_Delete(jwk);
	EVP_PKEY_free(k);
}

Test(jwk, malformed_members_are_refused)
{
	/* The A.3 x with padding, then with trailing bits, then missing. */
	cr_assert_eq(to_pkey_status("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	                            "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiM"
	                            "lrwIaaPcHURo=\"}"),
	    KK_EKEY);
	cr_assert_eq(to_pkey_status("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	                            "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiM"
	                            "lrwIaaPcHURp\"}"),
	    KK_EKEY);
	cr_assert_eq(to_pkey_status("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	                            "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiM"
	                            "lrwIaaPcHURo\"}"),
	    KK_OK);
	cr_assert_eq(
	    to_pkey_status("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}"), KK_EKEY);
	cr_assert_eq(to_pkey_status("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	                            "\"x\":42}"),
	    KK_EKEY);
	cr_assert_eq(
	    to_pkey_status("{\"kty\":\"oct\",\"k\":\"AAAA\"}"), KK_EKEY);
	cr_assert_eq(to_pkey_status("{\"crv\":\"Ed25519\"}"), KK_EKEY);
	cr_assert_eq(to_pkey_status("[]"), KK_EKEY);
}
