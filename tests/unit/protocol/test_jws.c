#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"
#include "testutil.h"

/*
 * RFC 7515 appendix A.2: the RSA public key (n, e) and the RS256 JWS
 * over the same payload as appendix A.3.
 */
static const char a2_n[] =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
    "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
    "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
static const char a2_protected[] = "eyJhbGciOiJSUzI1NiJ9";
static const char a2_signature[] =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
    "p0igcN_IoypGlUPQGe77Rw";

static char *
join3(const char *a, const char *sep, const char *b)
{
	size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
	char *s = malloc(n);

	cr_assert_not_null(s);
	snprintf(s, n, "%s%s%s", a, sep, b);
	return s;
}

/*
 * Verifies a compact-form example whose header has no kid or jwk (as
 * in the RFC appendices), by filling struct jws by hand.
 */
static enum kk_status
verify_parts(const char *alg, const char *prot, const char *payload,
    const char *sig_b64, EVP_PKEY *key)
{
	struct jws j;
	enum kk_status st;

	memset(&j, 0, sizeof(j));
	j.alg = (char *)alg;
	j.signing_input = join3(prot, ".", payload);
	j.sig = unb64(sig_b64, &j.sig_len);
	st = jws_verify(&j, key);
	free(j.signing_input);
	free(j.sig);
	return st;
}

static EVP_PKEY *
vector_key(const cJSON *v, const char *name)
{
	EVP_PKEY *k = NULL;

	cr_assert_eq(
	    jwk_to_pkey(cJSON_GetObjectItemCaseSensitive(
	                    cJSON_GetObjectItemCaseSensitive(v, name), "jwk"),
	        &k),
	    KK_OK);
	return k;
}

/* A flattened JWS from a header's JSON text, a payload and a signature. */
static char *
flat(const char *hdr, const char *payload, const char *sig_b64)
{
	char *p = b64s(hdr), *pl = b64s(payload), *body;
	size_t n = strlen(p) + strlen(pl) + strlen(sig_b64) + 64;

	body = malloc(n);
	cr_assert_not_null(body);
	snprintf(body, n,
	    "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", p,
	    pl, sig_b64);
	free(p);
	free(pl);
	return body;
}

/* jws_sign_header with a header given as JSON text. */
static char *
sign_hdr(EVP_PKEY *key, const char *hdr, const char *payload)
{
	cJSON *h = cJSON_Parse(hdr);
	char *out = NULL;

	cr_assert_not_null(h, "%s", hdr);
	cr_assert_eq(jws_sign_header(key, h, (const unsigned char *)payload,
	                 strlen(payload), &out),
	    KK_OK);
	cJSON_Delete(h);
	return out;
}

static enum kk_status
parse_status(const char *body)
{
	struct jws j;
	enum kk_status st = jws_parse(body, strlen(body), &j);

	if (st != KK_OK) {
		cr_assert_null(j.alg, "output zeroed on failure");
		cr_assert_null(j.protected_hdr);
	}
	jws_clear(&j);
	return st;
}

/* Parses body (which must parse) and verifies it with key. */
static enum kk_status
verify_body(const char *body, EVP_PKEY *key)
{
	struct jws j;
	enum kk_status st;

	cr_assert_eq(jws_parse(body, strlen(body), &j), KK_OK, "%s", body);
	st = jws_verify(&j, key);
	jws_clear(&j);
	return st;
}

/* A header with the public JWK of key: {"alg":alg,"jwk":{...}}. */
static char *
hdr_with_jwk(const char *alg, EVP_PKEY *key)
{
	cJSON *h = cJSON_CreateObject(), *jwk = NULL;
	char *s;

	cr_assert_eq(jwk_from_pkey(key, &jwk), KK_OK);
	cJSON_AddStringToObject(h, "alg", alg);
	cJSON_AddItemToObject(h, "jwk", jwk);
	s = cJSON_PrintUnformatted(h);
	cJSON_Delete(h);
	return s;
}

/* Replaces the "signature" member of a flattened JWS text. */
static char *
with_signature(const char *body, const unsigned char *sig, size_t len)
{
	cJSON *o = cJSON_Parse(body);
	char *s64 = NULL, *out;

	cr_assert_eq(b64url_encode(sig, len, &s64), KK_OK);
	cJSON_ReplaceItemInObjectCaseSensitive(
	    o, "signature", cJSON_CreateString(s64));
	out = cJSON_PrintUnformatted(o);
	free(s64);
	cJSON_Delete(o);
	return out;
}

/* The decoded signature of a flattened JWS text. */
static unsigned char *
signature_of(const char *body, size_t *len)
{
	cJSON *o = cJSON_Parse(body);
	unsigned char *sig = unb64(json_get_string(o, "signature"), len);

	cJSON_Delete(o);
	return sig;
}

Test(jws, rfc7515_a3_es256_verifies)
{
	cJSON *v = load_vectors();
	EVP_PKEY *k = vector_key(v, "rfc7515_a3_es256");
	const char *prot = vec_str(v, "rfc7515_a3_es256", "protected");
	const char *payload = vec_str(v, "rfc7515_a3_es256", "payload");
	const char *sig = vec_str(v, "rfc7515_a3_es256", "signature");
	char *other;

	cr_assert_eq(verify_parts("ES256", prot, payload, sig, k), KK_OK);
	/* The same signature over another payload does not verify. */
	other = b64s("{\"iss\":\"joe\"}");
	cr_assert_eq(verify_parts("ES256", prot, other, sig, k), KK_ESIG);
	free(other);
	EVP_PKEY_free(k);
	cJSON_Delete(v);
}

Test(jws, rfc7515_a2_rs256_verifies)
{
	cJSON *v = load_vectors();
	const char *payload = vec_str(v, "rfc7515_a3_es256", "payload");
	char jwk_text[1024];
	cJSON *jwk;
	EVP_PKEY *k = NULL;
	char *hdr = b64s("{\"alg\":\"RS256\"}");

	cr_assert_str_eq(hdr, a2_protected);
	snprintf(jwk_text, sizeof(jwk_text),
	    "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", a2_n);
	jwk = cJSON_Parse(jwk_text);
	cr_assert_eq(jwk_to_pkey(jwk, &k), KK_OK);
	cr_assert_eq(
	    verify_parts("RS256", a2_protected, payload, a2_signature, k),
	    KK_OK);
	cr_assert_eq(
	    verify_parts("RS256", a2_protected, "e30", a2_signature, k),
	    KK_ESIG);
	EVP_PKEY_free(k);
	cJSON_Delete(jwk);
	free(hdr);
	cJSON_Delete(v);
}

/* RFC 8037 A.4: Ed25519 is deterministic, so signing reproduces it. */
Test(jws, rfc8037_a4_eddsa_sign_and_verify)
{
	cJSON *v = load_vectors();
	const cJSON *jwk = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(v, "rfc8037_a4_eddsa"), "jwk");
	const char *compact = vec_str(v, "rfc8037_a4_eddsa", "compact");
	const char *text = vec_str(v, "rfc8037_a4_eddsa", "payload_text");
	unsigned char *d;
	size_t dlen;
	EVP_PKEY *priv, *pub = NULL;
	cJSON *hdr = cJSON_CreateObject(), *out;
	char *body = NULL, *want_prot, *want_payload, *want_sig, *dot;

	d = unb64(json_get_string(jwk, "d"), &dlen);
	priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, dlen);
	cr_assert_not_null(priv);
	cr_assert_eq(jwk_to_pkey(jwk, &pub), KK_OK);
	cr_assert(jwk_equal(priv, pub), "x is the public half of d");

	cJSON_AddStringToObject(hdr, "alg", "EdDSA");
	cr_assert_eq(jws_sign_header(priv, hdr, (const unsigned char *)text,
	                 strlen(text), &body),
	    KK_OK);

	/* Split the vector's compact form. */
	want_prot = strdup(compact);
	dot = strchr(want_prot, '.');
	*dot = '\0';
	want_payload = dot + 1;
	dot = strchr(want_payload, '.');
	*dot = '\0';
	want_sig = dot + 1;

	out = cJSON_Parse(body);
	cr_assert_str_eq(json_get_string(out, "protected"), want_prot);
	cr_assert_str_eq(json_get_string(out, "payload"), want_payload);
	cr_assert_str_eq(json_get_string(out, "signature"), want_sig);
	cr_assert_eq(
	    verify_parts("EdDSA", want_prot, want_payload, want_sig, pub),
	    KK_OK);
	cr_assert_eq(
	    verify_parts("EdDSA", want_prot, "e30", want_sig, pub), KK_ESIG);

	cJSON_Delete(out);
	free(want_prot);
	free(body);
	cJSON_Delete(hdr);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	free(d);
	cJSON_Delete(v);
}

static void
sign_round_trip(const char *kind, const char *alg, size_t sig_len)
{
	EVP_PKEY *k = gen_key(kind), *other = gen_key(kind);
	const char *payload = "{\"termsOfServiceAgreed\":true}";
	char *body = NULL;
	struct jws j;
	char *tp1 = NULL, *tp2 = NULL;

	/* With the public key embedded, as for newAccount. */
	cr_assert_eq(
	    jws_sign(k, NULL, "nonce-1", "https://ca/new-account",
	        (const unsigned char *)payload, strlen(payload), &body),
	    KK_OK);
	cr_assert_eq(jws_parse(body, strlen(body), &j), KK_OK);
	cr_assert_str_eq(j.alg, alg);
	cr_assert_str_eq(j.nonce, "nonce-1");
	cr_assert_str_eq(j.url, "https://ca/new-account");
	cr_assert_null(j.kid);
	cr_assert_not_null(j.jwk);
	cr_assert(jwk_equal(j.jwk, k));
	cr_assert_eq(j.payload_len, strlen(payload));
	cr_assert_str_eq((char *)j.payload, payload);
	cr_assert_eq(j.sig_len, sig_len);
	cr_assert_str_eq(json_get_string(j.protected_hdr, "alg"), alg);
	cr_assert_eq(jws_verify(&j, j.jwk), KK_OK);
	cr_assert_eq(jws_verify(&j, other), KK_ESIG, "another key");
	cr_assert_eq(jwk_thumbprint(j.jwk, &tp1), KK_OK);
	cr_assert_eq(jwk_thumbprint(k, &tp2), KK_OK);
	cr_assert_str_eq(tp1, tp2);
	jws_clear(&j);
	cr_assert_null(j.alg);
	free(body);

	/* With a kid and the empty payload of POST-as-GET. */
	cr_assert_eq(jws_sign(k, "https://ca/acct/1", "nonce-2",
	                 "https://ca/order/1", NULL, 0, &body),
	    KK_OK);
	cr_assert_eq(jws_parse(body, strlen(body), &j), KK_OK);
	cr_assert_str_eq(j.kid, "https://ca/acct/1");
	cr_assert_null(j.jwk);
	cr_assert_eq(j.payload_len, 0);
	cr_assert_str_eq((char *)j.payload, "");
	cr_assert_not_null(
	    strstr(body, "\"payload\":\"\""), "payload member is empty");
	cr_assert_eq(jws_verify(&j, k), KK_OK);
	jws_clear(&j);
	free(body);

	free(tp1);
	free(tp2);
	EVP_PKEY_free(other);
	EVP_PKEY_free(k);
}

Test(jws, round_trip_es256)
{
	sign_round_trip("P-256", "ES256", 64);
}

Test(jws, round_trip_es384)
{
	sign_round_trip("P-384", "ES384", 96);
}

Test(jws, round_trip_rs256)
{
	sign_round_trip("RSA-2048", "RS256", 256);
}

Test(jws, round_trip_eddsa)
{
	sign_round_trip("ED25519", "EdDSA", 64);
}

Test(jws, tampering_is_detected)
{
	EVP_PKEY *k = gen_key("P-256");
	char *body = sign_hdr(k, "{\"alg\":\"ES256\",\"kid\":\"k\"}", "{}");
	char *forged;
	unsigned char *sig;
	size_t len;

	cr_assert_eq(verify_body(body, k), KK_OK);
	sig = signature_of(body, &len);
	sig[10] ^= 1;
	forged = with_signature(body, sig, len);
	cr_assert_eq(verify_body(forged, k), KK_ESIG);
	cJSON_free(forged);
	free(sig);
	free(body);
	EVP_PKEY_free(k);
}

Test(jws, alg_none_is_refused)
{
	char *body = flat("{\"alg\":\"none\",\"kid\":\"k\"}", "{}", "");

	cr_assert_eq(parse_status(body), KK_EALG);
	free(body);
}

Test(jws, alg_hs256_is_refused)
{
	/* A MAC "signature" of the right size for HS256. */
	char *body = flat("{\"alg\":\"HS256\",\"kid\":\"k\"}", "{}",
	    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");

	cr_assert_eq(parse_status(body), KK_EALG);
	free(body);
}

Test(jws, unknown_alg_is_refused)
{
	const char *algs[] = {
	    "ES512", "RS384", "PS256", "es256", "EdDSA ", "Ed25519", ""};
	char hdr[64], *body;
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"k\"}",
		    algs[i]);
		body = flat(hdr, "{}", "AAAA");
		cr_assert_eq(
		    parse_status(body), KK_EALG, "alg \"%s\"", algs[i]);
		free(body);
	}
	body = flat("{\"kid\":\"k\"}", "{}", "AAAA");
	cr_assert_eq(parse_status(body), KK_EALG, "alg missing");
	free(body);
	body = flat("{\"alg\":256,\"kid\":\"k\"}", "{}", "AAAA");
	cr_assert_eq(parse_status(body), KK_EALG, "alg not a string");
	free(body);
}

Test(jws, algorithms_list)
{
	size_t i;

	for (i = 0; jws_algorithms[i] != NULL; i++)
		;
	cr_assert_eq(i, 4);
	cr_assert_str_eq(jws_algorithms[0], "ES256");
	cr_assert_str_eq(jws_algorithms[3], "EdDSA");
}

/* ES256 named, signed with P-384 (as ES384): the key decides. */
Test(jws, es256_with_p384_key_is_refused)
{
	EVP_PKEY *k = gen_key("P-384");
	char *body = sign_hdr(k, "{\"alg\":\"ES256\",\"kid\":\"k\"}", "{}");
	char *hdr = hdr_with_jwk("ES256", k), *body2;

	cr_assert_eq(verify_body(body, k), KK_EALG);
	/* The same mismatch caught at parse time with an embedded jwk. */
	body2 = sign_hdr(k, hdr, "{}");
	cr_assert_eq(parse_status(body2), KK_EALG);
	free(body2);
	cJSON_free(hdr);
	free(body);
	EVP_PKEY_free(k);
}

Test(jws, es384_with_p256_key_is_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	char *body = sign_hdr(k, "{\"alg\":\"ES384\",\"kid\":\"k\"}", "{}");

	cr_assert_eq(verify_body(body, k), KK_EALG);
	free(body);
	EVP_PKEY_free(k);
}

Test(jws, rs256_with_ec_key_is_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	char *body = sign_hdr(k, "{\"alg\":\"RS256\",\"kid\":\"k\"}", "{}");
	char *hdr = hdr_with_jwk("RS256", k), *body2;

	cr_assert_eq(verify_body(body, k), KK_EALG);
	body2 = sign_hdr(k, hdr, "{}");
	cr_assert_eq(parse_status(body2), KK_EALG);
	free(body2);
	cJSON_free(hdr);
	free(body);
	EVP_PKEY_free(k);
}

Test(jws, es256_with_rsa_key_is_refused)
{
	EVP_PKEY *k = gen_key("RSA-2048");
	char *body = sign_hdr(k, "{\"alg\":\"ES256\",\"kid\":\"k\"}", "{}");

	cr_assert_eq(verify_body(body, k), KK_EALG);
	free(body);
	EVP_PKEY_free(k);
}

Test(jws, eddsa_with_ec_key_is_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	char *body = sign_hdr(k, "{\"alg\":\"EdDSA\",\"kid\":\"k\"}", "{}");

	cr_assert_eq(verify_body(body, k), KK_EALG);
	free(body);
	EVP_PKEY_free(k);
}

/* A correct RS256 signature by a 1024-bit key is still refused. */
Test(jws, rs256_with_rsa_1024_is_refused)
{
	EVP_PKEY *k = gen_key("RSA-1024");
	char *body = sign_hdr(k, "{\"alg\":\"RS256\",\"kid\":\"k\"}", "{}");
	char *hdr = hdr_with_jwk("RS256", k), *body2;

	cr_assert_eq(verify_body(body, k), KK_EALG);
	body2 = sign_hdr(k, hdr, "{}");
	cr_assert_eq(parse_status(body2), KK_EKEY, "weak embedded jwk");
	free(body2);
	cJSON_free(hdr);
	free(body);
	EVP_PKEY_free(k);
}

/* A valid signature with one byte appended must not verify. */
static void
check_wrong_length(const char *kind, const char *alg)
{
	EVP_PKEY *k = gen_key(kind);
	char hdr[64], *body, *longer, *shorter;
	unsigned char *sig, *sig2;
	size_t len;

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"k\"}", alg);
	body = sign_hdr(k, hdr, "{}");
	cr_assert_eq(verify_body(body, k), KK_OK);
	sig = signature_of(body, &len);
	sig2 = malloc(len + 1);
	cr_assert_not_null(sig2);
	memcpy(sig2, sig, len);
	sig2[len] = 0;
	longer = with_signature(body, sig2, len + 1);
	cr_assert_eq(verify_body(longer, k), KK_ESIG, "%s + 1 byte", alg);
	shorter = with_signature(body, sig, len - 1);
	cr_assert_eq(verify_body(shorter, k), KK_ESIG, "%s - 1 byte", alg);
	cJSON_free(longer);
	cJSON_free(shorter);
	free(sig2);
	free(sig);
	free(body);
	EVP_PKEY_free(k);
}

Test(jws, ecdsa_wrong_signature_length_es256)
{
	check_wrong_length("P-256", "ES256");
}

Test(jws, ecdsa_wrong_signature_length_es384)
{
	check_wrong_length("P-384", "ES384");
}

Test(jws, eddsa_wrong_signature_length)
{
	check_wrong_length("ED25519", "EdDSA");
}

/* OpenSSL's own DER form is what a careless signer sends: refused. */
Test(jws, ecdsa_der_signature_is_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	char *body = sign_hdr(k, "{\"alg\":\"ES256\",\"kid\":\"k\"}", "{}");
	cJSON *o = cJSON_Parse(body);
	char *tbs = join3(json_get_string(o, "protected"), ".",
	    json_get_string(o, "payload"));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[128];
	size_t derlen = sizeof(der);
	char *forged;

	cr_assert_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
	cr_assert_eq(EVP_DigestSign(ctx, der, &derlen,
	                 (const unsigned char *)tbs, strlen(tbs)),
	    1);
	/* The DER signature is itself valid for OpenSSL... */
	EVP_MD_CTX_free(ctx);
	ctx = EVP_MD_CTX_new();
	cr_assert_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
	cr_assert_eq(EVP_DigestVerify(ctx, der, derlen,
	                 (const unsigned char *)tbs, strlen(tbs)),
	    1);
	/* ...but not in a JWS. */
	forged = with_signature(body, der, derlen);
	cr_assert_eq(verify_body(forged, k), KK_ESIG);

	cJSON_free(forged);
	EVP_MD_CTX_free(ctx);
	free(tbs);
	cJSON_Delete(o);
	free(body);
	EVP_PKEY_free(k);
}

/* Each header below is signed correctly: only the header is wrong. */
static void
check_header_refused(const char *hdr, enum kk_status want)
{
	EVP_PKEY *k = gen_key("P-256");
	char *body = sign_hdr(k, hdr, "{}");

	cr_assert_eq(parse_status(body), want, "%s", hdr);
	free(body);
	EVP_PKEY_free(k);
}

Test(jws, b64_false_is_refused)
{
	check_header_refused("{\"alg\":\"ES256\",\"kid\":\"k\",\"b64\":false,"
	                     "\"crit\":[\"b64\"]}",
	    KK_EINVAL);
	check_header_refused(
	    "{\"alg\":\"ES256\",\"kid\":\"k\",\"b64\":false}", KK_EINVAL);
}

Test(jws, crit_is_refused)
{
	check_header_refused(
	    "{\"alg\":\"ES256\",\"kid\":\"k\",\"crit\":[\"exp\"],\"exp\":1}",
	    KK_EINVAL);
}

Test(jws, both_kid_and_jwk_are_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	cJSON *h = NULL;
	char *hdr = hdr_with_jwk("ES256", k), *body;

	h = cJSON_Parse(hdr);
	cJSON_AddStringToObject(h, "kid", "https://ca/acct/1");
	cr_assert_eq(
	    jws_sign_header(k, h, (const unsigned char *)"{}", 2, &body),
	    KK_OK);
	cr_assert_eq(parse_status(body), KK_EINVAL);
	free(body);
	cJSON_Delete(h);
	cJSON_free(hdr);
	EVP_PKEY_free(k);
}

Test(jws, neither_kid_nor_jwk_is_refused)
{
	cJSON *v = load_vectors();
	char *body;
	size_t n;

	check_header_refused("{\"alg\":\"ES256\",\"nonce\":\"n\"}", KK_EINVAL);
	/* The RFC 7515 A.3 example itself names no key. */
	n = strlen(vec_str(v, "rfc7515_a3_es256", "payload")) + 256;
	body = malloc(n);
	snprintf(body, n,
	    "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
	    vec_str(v, "rfc7515_a3_es256", "protected"),
	    vec_str(v, "rfc7515_a3_es256", "payload"),
	    vec_str(v, "rfc7515_a3_es256", "signature"));
	cr_assert_eq(parse_status(body), KK_EINVAL);
	free(body);
	cJSON_Delete(v);
}

Test(jws, header_member_types_are_checked)
{
	check_header_refused("{\"alg\":\"ES256\",\"kid\":42}", KK_EINVAL);
	check_header_refused("{\"alg\":\"ES256\",\"jwk\":\"key\"}", KK_EINVAL);
	check_header_refused(
	    "{\"alg\":\"ES256\",\"kid\":\"k\",\"nonce\":1}", KK_EINVAL);
	check_header_refused(
	    "{\"alg\":\"ES256\",\"kid\":\"k\",\"url\":[\"https://x\"]}",
	    KK_EINVAL);
	check_header_refused(
	    "{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\"}}", KK_EKEY);
	/* Two "alg" members: which one would the verifier have used? */
	check_header_refused(
	    "{\"alg\":\"ES256\",\"kid\":\"k\",\"alg\":\"none\"}", KK_EINVAL);
}

/* Signs a good JWS, then adds member name: value to the outer object. */
static char *
with_outer_member(EVP_PKEY *k, const char *name, cJSON *value)
{
	char *body = sign_hdr(k, "{\"alg\":\"ES256\",\"kid\":\"k\"}", "{}");
	cJSON *o = cJSON_Parse(body);
	char *out;

	cJSON_AddItemToObject(o, name, value);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	free(body);
	return out;
}

Test(jws, unprotected_header_is_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	cJSON *h = cJSON_CreateObject();
	char *body;

	cJSON_AddStringToObject(h, "nonce", "unprotected");
	body = with_outer_member(k, "header", h);
	cr_assert_eq(parse_status(body), KK_EINVAL);
	cJSON_free(body);
	EVP_PKEY_free(k);
}

Test(jws, other_outer_members_are_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	char *body = with_outer_member(k, "signatures", cJSON_CreateArray());
	char *good = sign_hdr(k, "{\"alg\":\"ES256\",\"kid\":\"k\"}", "{}");
	cJSON *o;

	cr_assert_eq(parse_status(body), KK_EINVAL);
	cJSON_free(body);
	cr_assert_eq(parse_status(good), KK_OK);

	/* Missing signature; non-string payload. */
	o = cJSON_Parse(good);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "signature");
	body = cJSON_PrintUnformatted(o);
	cr_assert_eq(parse_status(body), KK_EINVAL);
	cJSON_free(body);
	cJSON_AddNumberToObject(o, "signature", 1);
	body = cJSON_PrintUnformatted(o);
	cr_assert_eq(parse_status(body), KK_EINVAL);
	cJSON_free(body);
	cJSON_Delete(o);

	cr_assert_eq(parse_status("[]"), KK_EINVAL);
	cr_assert_eq(parse_status("{\"protected\":\"e30\"}"), KK_EINVAL);
	free(good);
	EVP_PKEY_free(k);
}

Test(jws, bad_base64url_is_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	char *good = sign_hdr(k, "{\"alg\":\"ES256\",\"kid\":\"k\"}", "{}");
	cJSON *o = cJSON_Parse(good);
	char *sig = strdup(json_get_string(o, "signature")), *body;
	char *padded = join3(sig, "", "==");

	cJSON_ReplaceItemInObjectCaseSensitive(
	    o, "signature", cJSON_CreateString(padded));
	body = cJSON_PrintUnformatted(o);
	cr_assert_eq(parse_status(body), KK_EINVAL);
	cJSON_free(body);
	cr_assert_eq(parse_status("{\"protected\":\"e30=\",\"payload\":\"\","
	                          "\"signature\":\"\"}"),
	    KK_EINVAL);
	free(padded);
	free(sig);
	cJSON_Delete(o);
	free(good);
	EVP_PKEY_free(k);
}

Test(jws, clear_accepts_null_and_zeroed)
{
	struct jws j;

	memset(&j, 0, sizeof(j));
	jws_clear(NULL);
	jws_clear(&j);
	cr_assert_null(j.alg);
}

Test(jws, oversized_body_is_refused)
{
	size_t n = JSON_MAX_LEN + 10;
	char *body = malloc(n + 1);
	struct jws j;

	memset(body, ' ', n);
	body[n] = '\0';
	body[0] = '{';
	body[n - 1] = '}';
	cr_assert_eq(jws_parse(body, n, &j), KK_ETOOBIG);
	free(body);
}
