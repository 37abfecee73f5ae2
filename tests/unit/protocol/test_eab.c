#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "eab.h"
#include "json.h"
#include "jwk.h"
#include "testutil.h"

static const unsigned char mac_key[32] = "0123456789abcdef0123456789abcdef";
static const char url[] = "https://ca.example/acme/new-account";

/* Builds an EAB object for key and parses it back through JSON text. */
static cJSON *
build(EVP_PKEY *key)
{
	cJSON *o = NULL;

	cr_assert_eq(
	    eab_build("kid-1", mac_key, sizeof(mac_key), key, url, &o), KK_OK);
	return o;
}

/* eab_parse of obj; asserts success. */
static void
parse_ok(const cJSON *obj, struct eab *e)
{
	cr_assert_eq(eab_parse(obj, e), KK_OK);
}

/*
 * An EAB object with a given protected header and payload, MACed
 * correctly under mac_key: only the header or payload can be wrong.
 */
static cJSON *
forge(const char *hdr, const char *payload)
{
	char *p64 = b64s(hdr), *pl64 = b64s(payload);
	size_t n = strlen(p64) + strlen(pl64) + 2, len = 0;
	char *tbs = malloc(n), *s64 = NULL;
	unsigned char mac[32];
	cJSON *o = cJSON_CreateObject();

	snprintf(tbs, n, "%s.%s", p64, pl64);
	cr_assert_not_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL,
	    mac_key, sizeof(mac_key), (unsigned char *)tbs, strlen(tbs), mac,
	    sizeof(mac), &len));
	cr_assert_eq(b64url_encode(mac, len, &s64), KK_OK);
	cJSON_AddStringToObject(o, "protected", p64);
	cJSON_AddStringToObject(o, "payload", pl64);
	cJSON_AddStringToObject(o, "signature", s64);
	free(p64);
	free(pl64);
	free(s64);
	free(tbs);
	return o;
}

static char *
jwk_text(EVP_PKEY *key)
{
	cJSON *jwk = NULL;
	char *s;

	cr_assert_eq(jwk_from_pkey(key, &jwk), KK_OK);
	s = cJSON_PrintUnformatted(jwk);
	cJSON_Delete(jwk);
	return s;
}

Test(eab, round_trip)
{
	EVP_PKEY *k = gen_key("P-256");
	cJSON *o = build(k), *hdr = NULL;
	char *text = cJSON_PrintUnformatted(o);
	cJSON *again = NULL;
	struct eab e;
	unsigned char *ph;
	size_t phlen;

	/* As the server sees it: text parsed by json_parse. */
	cr_assert_eq(json_parse(text, strlen(text), &again), KK_OK);
	parse_ok(again, &e);
	cr_assert_str_eq(e.kid, "kid-1");
	cr_assert_str_eq(e.url, url);
	cr_assert_eq(e.mac_len, 32);
	cr_assert_eq(eab_verify(&e, mac_key, sizeof(mac_key), k, url), KK_OK);

	ph = unb64(json_get_string(o, "protected"), &phlen);
	cr_assert_eq(json_parse((char *)ph, phlen, &hdr), KK_OK);
	cr_assert_str_eq(json_get_string(hdr, "alg"), "HS256");
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(hdr, "nonce"));

	eab_clear(&e);
	cr_assert_null(e.kid);
	eab_clear(NULL);
	cJSON_Delete(hdr);
	free(ph);
	cJSON_Delete(again);
	cJSON_free(text);
	cJSON_Delete(o);
	EVP_PKEY_free(k);
}

Test(eab, round_trip_every_key_type)
{
	const char *kinds[] = {"P-384", "RSA-2048", "ED25519"};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		EVP_PKEY *k = gen_key(kinds[i]);
		cJSON *o = build(k);
		struct eab e;

		parse_ok(o, &e);
		cr_assert_eq(eab_verify(&e, mac_key, sizeof(mac_key), k, url),
		    KK_OK, "%s", kinds[i]);
		eab_clear(&e);
		cJSON_Delete(o);
		EVP_PKEY_free(k);
	}
}

Test(eab, wrong_mac_is_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	cJSON *o = build(k);
	unsigned char other[32];
	struct eab e;

	parse_ok(o, &e);
	/* Another key. */
	memcpy(other, mac_key, sizeof(other));
	other[31] ^= 1;
	cr_assert_eq(eab_verify(&e, other, sizeof(other), k, url), KK_ESIG);
	/* A changed MAC byte. */
	e.mac[0] ^= 0x80;
	cr_assert_eq(eab_verify(&e, mac_key, sizeof(mac_key), k, url), KK_ESIG);
	/* A truncated MAC that would match as a prefix. */
	e.mac[0] ^= 0x80;
	e.mac_len = 16;
	cr_assert_eq(eab_verify(&e, mac_key, sizeof(mac_key), k, url), KK_ESIG);
	e.mac_len = 32;
	cr_assert_eq(eab_verify(&e, mac_key, sizeof(mac_key), k, url), KK_OK);
	eab_clear(&e);
	cJSON_Delete(o);
	EVP_PKEY_free(k);
}

Test(eab, changed_payload_breaks_mac)
{
	EVP_PKEY *k = gen_key("P-256"), *k2 = gen_key("P-256");
	cJSON *o = build(k), *o2 = build(k2);
	struct eab e;

	/* k2's payload under k's MAC. */
	cJSON_ReplaceItemInObjectCaseSensitive(
	    o, "payload", cJSON_CreateString(json_get_string(o2, "payload")));
	parse_ok(o, &e);
	cr_assert_eq(
	    eab_verify(&e, mac_key, sizeof(mac_key), k2, url), KK_ESIG);
	eab_clear(&e);
	cJSON_Delete(o);
	cJSON_Delete(o2);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

Test(eab, alg_not_hs256_is_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	char *jwk = jwk_text(k);
	const char *hdrs[] = {
	    "{\"alg\":\"HS384\",\"kid\":\"kid-1\",\"url\":\"u\"}",
	    "{\"alg\":\"ES256\",\"kid\":\"kid-1\",\"url\":\"u\"}",
	    "{\"alg\":\"none\",\"kid\":\"kid-1\",\"url\":\"u\"}",
	    "{\"alg\":\"hs256\",\"kid\":\"kid-1\",\"url\":\"u\"}",
	    "{\"kid\":\"kid-1\",\"url\":\"u\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		cJSON *o = forge(hdrs[i], jwk);
		struct eab e;

		cr_assert_eq(eab_parse(o, &e), KK_EALG, "%s", hdrs[i]);
		cr_assert_null(e.kid);
		cJSON_Delete(o);
	}
	cJSON_free(jwk);
	EVP_PKEY_free(k);
}

Test(eab, forbidden_header_members_are_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	char *jwk = jwk_text(k), hdr[1024];
	const char *extra[] = {
	    "\"nonce\":\"n\"", "\"crit\":[\"x\"]", "\"b64\":false", NULL};
	size_t i;
	cJSON *o;
	struct eab e;

	for (i = 0; extra[i] != NULL; i++) {
		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"HS256\",\"kid\":\"kid-1\",\"url\":\"%s\",%s}",
		    url, extra[i]);
		o = forge(hdr, jwk);
		cr_assert_eq(eab_parse(o, &e), KK_EINVAL, "%s", extra[i]);
		cJSON_Delete(o);
	}
	snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"HS256\",\"kid\":\"kid-1\",\"url\":\"%s\",\"jwk\":%s}",
	    url, jwk);
	o = forge(hdr, jwk);
	cr_assert_eq(eab_parse(o, &e), KK_EINVAL, "jwk");
	cJSON_Delete(o);

	/* kid and url are required strings. */
	o = forge("{\"alg\":\"HS256\",\"url\":\"u\"}", jwk);
	cr_assert_eq(eab_parse(o, &e), KK_EINVAL, "no kid");
	cJSON_Delete(o);
	o = forge("{\"alg\":\"HS256\",\"kid\":\"k\",\"url\":7}", jwk);
	cr_assert_eq(eab_parse(o, &e), KK_EINVAL, "url not a string");
	cJSON_Delete(o);

	/* The same header without the extra member is accepted. */
	snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"HS256\",\"kid\":\"kid-1\",\"url\":\"%s\"}", url);
	o = forge(hdr, jwk);
	cr_assert_eq(eab_parse(o, &e), KK_OK);
	cr_assert_eq(eab_verify(&e, mac_key, sizeof(mac_key), k, url), KK_OK);
	eab_clear(&e);
	cJSON_Delete(o);
	cJSON_free(jwk);
	EVP_PKEY_free(k);
}

Test(eab, outer_members_are_checked)
{
	EVP_PKEY *k = gen_key("P-256");
	cJSON *o = build(k), *h = cJSON_CreateObject();
	struct eab e;

	cJSON_AddItemToObject(o, "header", h);
	cr_assert_eq(eab_parse(o, &e), KK_EINVAL);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "header");
	/* A second "payload" (cJSON allows building one). */
	cJSON_AddStringToObject(o, "payload", "e30");
	cr_assert_eq(eab_parse(o, &e), KK_EINVAL);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "payload");
	parse_ok(o, &e);
	eab_clear(&e);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "signature");
	cr_assert_eq(eab_parse(o, &e), KK_EINVAL);
	cJSON_Delete(o);
	EVP_PKEY_free(k);
}

Test(eab, payload_key_differs_from_account_key)
{
	EVP_PKEY *k = gen_key("P-256"), *other = gen_key("P-256");
	cJSON *o = build(k);
	struct eab e;

	parse_ok(o, &e);
	/* MAC fine, but it binds k, not the account's key. */
	cr_assert_eq(
	    eab_verify(&e, mac_key, sizeof(mac_key), other, url), KK_EKEY);
	cr_assert_eq(eab_verify(&e, mac_key, sizeof(mac_key), k, url), KK_OK);
	eab_clear(&e);
	cJSON_Delete(o);
	EVP_PKEY_free(other);
	EVP_PKEY_free(k);
}

Test(eab, payload_not_a_jwk_is_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	char hdr[256];
	cJSON *o;
	struct eab e;

	snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"HS256\",\"kid\":\"kid-1\",\"url\":\"%s\"}", url);
	o = forge(hdr, "{\"kty\":\"EC\"}");
	parse_ok(o, &e);
	cr_assert_eq(eab_verify(&e, mac_key, sizeof(mac_key), k, url), KK_EKEY);
	eab_clear(&e);
	cJSON_Delete(o);
	o = forge(hdr, "not json");
	parse_ok(o, &e);
	cr_assert_eq(eab_verify(&e, mac_key, sizeof(mac_key), k, url), KK_EKEY);
	eab_clear(&e);
	cJSON_Delete(o);
	EVP_PKEY_free(k);
}

Test(eab, wrong_url_is_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	cJSON *o = build(k);
	struct eab e;

	parse_ok(o, &e);
	cr_assert_eq(eab_verify(&e, mac_key, sizeof(mac_key), k,
	                 "https://ca.example/acme/new-order"),
	    KK_EINVAL);
	cr_assert_eq(eab_verify(&e, mac_key, sizeof(mac_key), k, url), KK_OK);
	eab_clear(&e);
	cJSON_Delete(o);
	EVP_PKEY_free(k);
}

Test(eab, short_mac_key_is_refused)
{
	EVP_PKEY *k = gen_key("P-256");
	cJSON *o = NULL;
	struct eab e;

	cr_assert_eq(
	    eab_build("kid-1", mac_key, EAB_MIN_KEY_LEN - 1, k, url, &o),
	    KK_EKEY);
	cr_assert_null(o);
	o = build(k);
	parse_ok(o, &e);
	cr_assert_eq(
	    eab_verify(&e, mac_key, EAB_MIN_KEY_LEN - 1, k, url), KK_EKEY);
	eab_clear(&e);
	cJSON_Delete(o);
	EVP_PKEY_free(k);
}
