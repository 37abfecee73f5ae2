/*
 * Bad input to the ACME endpoints gets a clear answer and changes nothing:
 * request framing (content type, JSON, JWS structure, size), signature
 * algorithms and keys, nonces, urls, kid and jwk, newOrder identifiers,
 * account life and key rollover. Each test asserts the status and the
 * problem type, that nothing was created, and that the server still
 * serves afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness_extra.h"
#include "jwk.h"
#include "jws.h"

#define ORG "NTRJP-9234567890123"
#define NEW_ACCOUNT_BODY                                                       \
	"{\"contact\":[\"mailto:admin@example.jp\"],"                          \
	"\"termsOfServiceAgreed\":true}"

static struct hsrv srv;

static void
setup(void)
{
	hsrv_start(&srv, NULL);
}

static void
teardown(void)
{
	hassert_alive(&srv);
	hsrv_stop(&srv);
}

TestSuite(acme_errors, .init = setup, .fini = teardown, .timeout = 120);

/* Asserts that no account exists for key (the request left nothing). */
static void
assert_no_account(EVP_PKEY *key)
{
	struct hacct probe = {.key = key};
	struct hresp r;
	char *url = hurl(&srv, "newAccount");

	hpost(&srv, &probe, url, "{\"onlyReturnExisting\":true}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "accountDoesNotExist");
	hresp_clear(&r);
	free(url);
}

/* Asserts that the account has no orders. */
static void
assert_no_orders(const struct hacct *a)
{
	struct hresp r;
	char url[512];

	snprintf(url, sizeof(url), "%s/orders", a->kid);
	hpost(&srv, a, url, NULL, &r);
	cr_assert_eq(r.status, 200, "orders: %ld %s", r.status, r.body);
	cr_assert_eq(
	    cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "orders")), 0);
	hresp_clear(&r);
}

/* Asserts that a newAccount with a fresh signed body and key works. */
static void
assert_new_account_works(void)
{
	struct hacct a = {0};

	hnew_account(&srv, &a, NULL, NULL);
	hacct_clear(&a);
}

/* Request framing. */

Test(acme_errors, wrong_content_type_is_415)
{
	struct hacct a = {.key = hkey("ec-p256")};
	struct hresp r;
	char *url = hurl(&srv, "newAccount"), *nonce = hnonce(&srv), *body;
	const char *types[] = {"application/json", "text/plain", NULL};

	cr_assert_eq(jws_sign(a.key, NULL, nonce, url,
	                 (const unsigned char *)NEW_ACCOUNT_BODY,
	                 strlen(NEW_ACCOUNT_BODY), &body),
	    KK_OK);
	for (int i = 0; types[i] != NULL; i++) {
		hreq(&srv, "POST", url, NULL, types[i], body, strlen(body), &r);
		HASSERT_ACME_PROBLEM(&r, 415, "malformed");
		cr_assert_not_null(r.nonce, "no Replay-Nonce on an error");
		hresp_clear(&r);
	}
	/* No Content-Type at all. */
	hreq(&srv, "POST", url, NULL, NULL, body, strlen(body), &r);
	HASSERT_ACME_PROBLEM(&r, 415, "malformed");
	hresp_clear(&r);
	assert_no_account(a.key);
	free(body);
	free(nonce);
	free(url);
	hacct_clear(&a);
}

Test(acme_errors, malformed_json_body)
{
	struct hresp r;
	char *url = hurl(&srv, "newAccount");
	const char *bodies[] = {
	    "{\"protected\": \"eyJhbGciOiJFUzI1NiJ9\", \"payload\": ",
	    "not json at all",
	    "{\"protected\":\"a\",}",
	    "\xff\xfe{}",
	    NULL,
	};

	for (int i = 0; bodies[i] != NULL; i++) {
		hpost_body(&srv, url, bodies[i], &r);
		HASSERT_ACME_PROBLEM(&r, 400, "malformed");
		cr_assert_not_null(hjstr(r.json, "detail"));
		hresp_clear(&r);
	}
	free(url);
	assert_new_account_works();
}

Test(acme_errors, json_that_is_not_a_jws)
{
	struct hresp r;
	char *url = hurl(&srv, "newAccount"), *nonce = hnonce(&srv), *good,
	     *body;
	EVP_PKEY *key = hkey("ec-p256");
	cJSON *j;
	const char *bodies[] = {
	    "{}",
	    "[1,2,3]",
	    "\"protected\"",
	    "{\"contact\":[\"mailto:admin@example.jp\"]}",
	    "{\"protected\":1,\"payload\":\"\",\"signature\":\"\"}",
	    NULL,
	};

	for (int i = 0; bodies[i] != NULL; i++) {
		hpost_body(&srv, url, bodies[i], &r);
		HASSERT_ACME_PROBLEM(&r, 400, "malformed");
		hresp_clear(&r);
	}
	/* A well-signed JWS with an unprotected "header" member is not the
	 * flattened form ACME allows. */
	cr_assert_eq(jws_sign(key, NULL, nonce, url,
	                 (const unsigned char *)NEW_ACCOUNT_BODY,
	                 strlen(NEW_ACCOUNT_BODY), &good),
	    KK_OK);
	j = cJSON_Parse(good);
	cJSON_AddItemToObject(j, "header", cJSON_CreateObject());
	body = cJSON_PrintUnformatted(j);
	hpost_body(&srv, url, body, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	/* An empty body. */
	hreq(&srv, "POST", url, NULL, "application/jose+json", "", 0, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	assert_no_account(key);
	cJSON_Delete(j);
	free(body);
	free(good);
	free(nonce);
	free(url);
	EVP_PKEY_free(key);
}

Test(acme_errors, payload_that_is_not_an_object)
{
	struct hacct a = {.key = hkey("ec-p256")};
	struct hresp r;
	char *url = hurl(&srv, "newAccount");
	const char *payloads[] = {"[1]", "\"x\"", "{\"contact\":", NULL};

	for (int i = 0; payloads[i] != NULL; i++) {
		hpost(&srv, &a, url, payloads[i], &r);
		HASSERT_ACME_PROBLEM(&r, 400, "malformed");
		hresp_clear(&r);
	}
	assert_no_account(a.key);
	free(url);
	hacct_clear(&a);
}

Test(acme_errors, oversized_body_is_413_and_server_goes_on)
{
	struct hresp r;
	char *url = hurl(&srv, "newAccount");
	size_t len = 64 * 1024 + 100;
	char *big = malloc(len + 1);

	cr_assert_not_null(big);
	/* Valid-looking JSON so that only the size can refuse it. */
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	big[len] = '\0';
	hreq(&srv, "POST", url, NULL, "application/jose+json", big, len, &r);
	HASSERT_ACME_PROBLEM(&r, 413, "malformed");
	cr_assert_not_null(r.nonce);
	hresp_clear(&r);
	hassert_alive(&srv);
	/* The same without a Content-Length: the server counts as it reads. */
	hreq(&srv, "POST", url, "Transfer-Encoding: chunked",
	    "application/jose+json", big, len, &r);
	HASSERT_ACME_PROBLEM(&r, 413, "malformed");
	hresp_clear(&r);
	hassert_alive(&srv);
	assert_new_account_works();
	/* Exactly at the limit is a size the server reads (and then finds
	 * no JWS in). */
	hreq(&srv, "POST", url, NULL, "application/jose+json", big, 64 * 1024,
	    &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	free(big);
	free(url);
}

Test(acme_errors, deep_nesting_and_duplicate_members_are_malformed)
{
	struct hacct a = {.key = hkey("ec-p256")};
	struct hresp r;
	char *url = hurl(&srv, "newAccount"), *nonce, *body, deep[2001];
	cJSON *hdr;

	/* Small, but nested far deeper than any ACME object: a 400 that
	 * says what is wrong, not a 413. */
	memset(deep, '[', 1000);
	memset(deep + 1000, ']', 1000);
	deep[2000] = '\0';
	hpost_body(&srv, url, deep, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	/* The same depth inside a well-signed payload. */
	hpost(&srv, &a, url, deep, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	/* A protected header naming "url" twice: parsers disagree on which
	 * one counts, so neither may (RFC 7515 section 4). */
	nonce = hnonce(&srv);
	hdr = hheader("ES256", NULL, a.key, nonce, url);
	cJSON_AddStringToObject(hdr, "url", "https://ca.example/other");
	body = hjws(a.key, hdr, NEW_ACCOUNT_BODY);
	hpost_body(&srv, url, body, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	free(body);
	cJSON_Delete(hdr);
	free(nonce);
	/* A payload with a repeated member. */
	hpost(&srv, &a, url,
	    "{\"termsOfServiceAgreed\":true,\"contact\":[\"mailto:a@example."
	    "jp\"],\"contact\":[\"mailto:b@example.jp\"]}",
	    &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	assert_no_account(a.key);
	free(url);
	hacct_clear(&a);
}

/* Algorithms and keys. */

/* Asserts badSignatureAlgorithm with the accepted algorithms listed. */
static void
assert_bad_alg(const struct hresp *r)
{
	const cJSON *algs, *v;
	int es256 = 0, bad = 0;

	HASSERT_ACME_PROBLEM(r, 400, "badSignatureAlgorithm");
	algs = cJSON_GetObjectItem(r->json, "algorithms");
	cr_assert(cJSON_IsArray(algs), "no algorithms array: %s", r->body);
	cJSON_ArrayForEach(v, algs)
	{
		const char *s = cJSON_GetStringValue(v);

		cr_assert_not_null(s);
		es256 |= strcmp(s, "ES256") == 0;
		bad |= strcmp(s, "none") == 0 || strncmp(s, "HS", 2) == 0;
	}
	cr_assert(es256 && !bad, "algorithms: %s", r->body);
}

/* newAccount with alg in the header over jwk_key, signed by sign_key. */
static void
new_account_alg(
    const char *alg, EVP_PKEY *jwk_key, EVP_PKEY *sign_key, struct hresp *r)
{
	char *url = hurl(&srv, "newAccount"), *nonce = hnonce(&srv), *body;
	cJSON *hdr = hheader(alg, NULL, jwk_key, nonce, url);

	body = hjws(sign_key, hdr, NEW_ACCOUNT_BODY);
	hpost_body(&srv, url, body, r);
	cJSON_Delete(hdr);
	free(body);
	free(nonce);
	free(url);
}

Test(acme_errors, alg_none_is_refused)
{
	EVP_PKEY *key = hkey("ec-p256");
	struct hresp r;
	char *url = hurl(&srv, "newAccount"), *nonce = hnonce(&srv), *body;
	cJSON *hdr, *j;

	new_account_alg("none", key, key, &r);
	assert_bad_alg(&r);
	hresp_clear(&r);
	/* The classic attack: "none" with an empty signature. */
	hdr = hheader("none", NULL, key, nonce, url);
	body = hjws(key, hdr, NEW_ACCOUNT_BODY);
	j = cJSON_Parse(body);
	cJSON_ReplaceItemInObject(j, "signature", cJSON_CreateString(""));
	free(body);
	body = cJSON_PrintUnformatted(j);
	hpost_body(&srv, url, body, &r);
	assert_bad_alg(&r);
	hresp_clear(&r);
	assert_no_account(key);
	cJSON_Delete(j);
	cJSON_Delete(hdr);
	free(body);
	free(nonce);
	free(url);
	EVP_PKEY_free(key);
}

Test(acme_errors, alg_hs256_is_refused)
{
	EVP_PKEY *key = hkey("ec-p256");
	struct hresp r;

	new_account_alg("HS256", key, key, &r);
	assert_bad_alg(&r);
	hresp_clear(&r);
	new_account_alg("ES512", key, key, &r);
	assert_bad_alg(&r);
	hresp_clear(&r);
	assert_no_account(key);
	EVP_PKEY_free(key);
}

Test(acme_errors, alg_not_matching_the_jwk)
{
	EVP_PKEY *ec256 = hkey("ec-p256"), *ec384 = hkey("ec-p384");
	EVP_PKEY *ed = hkey("ed25519");
	struct hresp r;

	/* RS256 over an EC key. */
	new_account_alg("RS256", ec256, ec256, &r);
	assert_bad_alg(&r);
	hresp_clear(&r);
	/* ES256 over a P-384 key (signed with ES384). */
	new_account_alg("ES256", ec384, ec384, &r);
	assert_bad_alg(&r);
	hresp_clear(&r);
	/* ES384 over a P-256 key. */
	new_account_alg("ES384", ec256, ec256, &r);
	assert_bad_alg(&r);
	hresp_clear(&r);
	/* EdDSA over an EC key. */
	new_account_alg("EdDSA", ec256, ec256, &r);
	assert_bad_alg(&r);
	hresp_clear(&r);
	/* ES256 over an Ed25519 key. */
	new_account_alg("ES256", ed, ed, &r);
	assert_bad_alg(&r);
	hresp_clear(&r);
	assert_no_account(ec256);
	assert_no_account(ec384);
	assert_no_account(ed);
	EVP_PKEY_free(ec256);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(ed);
}

Test(acme_errors, alg_not_matching_the_account_key)
{
	struct hacct a = {.key = hkey("ec-p384")};
	struct hresp r;
	char *url, *nonce, *body;
	cJSON *hdr;

	hnew_account(&srv, &a, NULL, NULL);
	url = hurl(&srv, "newOrder");
	/* kid of a P-384 account, header ES256: the stored key decides. */
	nonce = hnonce(&srv);
	hdr = hheader("ES256", a.kid, NULL, nonce, url);
	body = hjws(a.key, hdr,
	    "{\"identifiers\":[{\"type\":\"org\","
	    "\"value\":\"" ORG "\"}]}");
	hpost_body(&srv, url, body, &r);
	assert_bad_alg(&r);
	hresp_clear(&r);
	assert_no_orders(&a);
	cJSON_Delete(hdr);
	free(body);
	free(nonce);
	free(url);
	hacct_clear(&a);
}

Test(acme_errors, rsa_key_below_2048_bits_is_refused)
{
	EVP_PKEY *rsa = hkey("rsa-1024");
	struct hresp r;

	new_account_alg("RS256", rsa, rsa, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "badPublicKey");
	hresp_clear(&r);
	EVP_PKEY_free(rsa);
}

Test(acme_errors, bad_signature_is_malformed)
{
	struct hacct a = {.key = hkey("ec-p256")}, b = {0};
	struct hresp r;
	char *url = hurl(&srv, "newAccount"), *nonce = hnonce(&srv), *good,
	     *bad;

	cr_assert_eq(jws_sign(a.key, NULL, nonce, url,
	                 (const unsigned char *)NEW_ACCOUNT_BODY,
	                 strlen(NEW_ACCOUNT_BODY), &good),
	    KK_OK);
	bad = htamper_sig(good);
	hpost_body(&srv, url, bad, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	assert_no_account(a.key);
	free(bad);
	free(good);
	free(nonce);

	/* Also for a kid-signed request, with RSA and Ed25519 keys. */
	b.key = hkey("rsa-2048");
	hnew_account(&srv, &b, NULL, NULL);
	nonce = hnonce(&srv);
	cr_assert_eq(
	    jws_sign(b.key, b.kid, nonce, b.kid, NULL, 0, &good), KK_OK);
	bad = htamper_sig(good);
	hpost_body(&srv, b.kid, bad, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	free(bad);
	free(good);
	free(nonce);
	hacct_clear(&b);

	b.key = hkey("ed25519");
	hnew_account(&srv, &b, NULL, NULL);
	nonce = hnonce(&srv);
	cr_assert_eq(
	    jws_sign(b.key, b.kid, nonce, b.kid, NULL, 0, &good), KK_OK);
	bad = htamper_sig(good);
	hpost_body(&srv, b.kid, bad, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	/* The untampered request is fine: the check was the signature. */
	hpost(&srv, &b, b.kid, NULL, &r);
	cr_assert_eq(r.status, 200);
	hresp_clear(&r);
	free(bad);
	free(good);
	free(nonce);
	free(url);
	hacct_clear(&a);
	hacct_clear(&b);
}

/* The url and nonce of the protected header. */

Test(acme_errors, wrong_url_is_unauthorized)
{
	struct hacct a = {0};
	struct hresp r;
	char *order_url, *acct_url, *nonce, foreign[512];

	hnew_account(&srv, &a, NULL, NULL);
	order_url = hurl(&srv, "newOrder");
	acct_url = hurl(&srv, "newAccount");
	/* Signed for newAccount, sent to newOrder. */
	nonce = hnonce(&srv);
	hpost_with(&srv, &a, order_url, acct_url, nonce,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"}]}", &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	free(nonce);
	/* The right path on another host. */
	snprintf(foreign, sizeof(foreign), "https://ca.example/acme/new-order");
	nonce = hnonce(&srv);
	hpost_with(&srv, &a, order_url, foreign, nonce,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"}]}", &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	free(nonce);
	/* With a query string added. */
	snprintf(foreign, sizeof(foreign), "%s?x=1", order_url);
	nonce = hnonce(&srv);
	hpost_with(&srv, &a, order_url, foreign, nonce,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"}]}", &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	free(nonce);
	/* Sent with a query string the header does not have. */
	nonce = hnonce(&srv);
	hpost_with(&srv, &a, foreign, order_url, nonce,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"}]}", &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	free(nonce);
	assert_no_orders(&a);
	free(order_url);
	free(acct_url);
	hacct_clear(&a);
}

Test(acme_errors, missing_url_is_refused)
{
	struct hacct a = {.key = hkey("ec-p256")};
	struct hresp r;
	char *url = hurl(&srv, "newAccount"), *nonce = hnonce(&srv), *body;
	cJSON *hdr = hheader("ES256", NULL, a.key, nonce, NULL);

	body = hjws(a.key, hdr, NEW_ACCOUNT_BODY);
	hpost_body(&srv, url, body, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	assert_no_account(a.key);
	cJSON_Delete(hdr);
	free(body);
	free(nonce);
	free(url);
	hacct_clear(&a);
}

/*
 * Asserts badNonce with a fresh Replay-Nonce that differs from the
 * refused one, and that the fresh one works for a's newAccount.
 */
static void
assert_bad_nonce_then_fresh_works(
    struct hresp *r, const char *refused, const struct hacct *a)
{
	struct hresp ok;
	char *url = hurl(&srv, "newAccount");

	HASSERT_ACME_PROBLEM(r, 400, "badNonce");
	cr_assert_not_null(r->nonce, "badNonce without a fresh Replay-Nonce");
	cr_assert_gt(strlen(r->nonce), 0);
	if (refused != NULL)
		cr_assert_str_neq(r->nonce, refused);
	hpost_with(&srv, a, url, NULL, r->nonce, NEW_ACCOUNT_BODY, &ok);
	cr_assert(ok.status == 200 || ok.status == 201,
	    "the fresh nonce did not work: %ld %s", ok.status, ok.body);
	/* And it is single-use too. */
	hresp_clear(&ok);
	hpost_with(&srv, a, url, NULL, r->nonce, NEW_ACCOUNT_BODY, &ok);
	HASSERT_ACME_PROBLEM(&ok, 400, "badNonce");
	hresp_clear(&ok);
	free(url);
}

Test(acme_errors, missing_nonce_is_bad_nonce)
{
	struct hacct a = {.key = hkey("ec-p256")};
	struct hresp r;
	char *url = hurl(&srv, "newAccount");

	hpost_with(&srv, &a, url, NULL, NULL, NEW_ACCOUNT_BODY, &r);
	assert_no_account(a.key);
	assert_bad_nonce_then_fresh_works(&r, NULL, &a);
	hresp_clear(&r);
	free(url);
	hacct_clear(&a);
}

Test(acme_errors, reused_nonce_is_bad_nonce)
{
	struct hacct a = {.key = hkey("ec-p256")}, b = {0};
	struct hresp r;
	char *url = hurl(&srv, "newAccount"), *nonce = hnonce(&srv);

	hpost_with(&srv, &a, url, NULL, nonce, NEW_ACCOUNT_BODY, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	hresp_clear(&r);
	/* The same nonce from another key, as a replayed request would. */
	b.key = hkey("ec-p256");
	hpost_with(&srv, &b, url, NULL, nonce, NEW_ACCOUNT_BODY, &r);
	assert_no_account(b.key);
	assert_bad_nonce_then_fresh_works(&r, nonce, &b);
	hresp_clear(&r);
	free(nonce);
	free(url);
	hacct_clear(&a);
	hacct_clear(&b);
}

Test(acme_errors, unknown_and_forged_nonces_are_bad_nonce)
{
	struct hacct a = {.key = hkey("ec-p256")};
	struct hresp r;
	char *url = hurl(&srv, "newAccount"), *real = hnonce(&srv), *forged;
	const char *junk[] = {"", "not-a-nonce", "AAAAAAAAAAAAAAAAAAAAAAAA",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL};

	for (int i = 0; junk[i] != NULL; i++) {
		hpost_with(&srv, &a, url, NULL, junk[i], NEW_ACCOUNT_BODY, &r);
		HASSERT_ACME_PROBLEM(&r, 400, "badNonce");
		cr_assert_not_null(r.nonce);
		hresp_clear(&r);
	}
	/* A real nonce with one character changed: right shape, wrong MAC
	 * or sequence. */
	forged = strdup(real);
	forged[strlen(forged) / 2] =
	    forged[strlen(forged) / 2] == 'A' ? 'B' : 'A';
	hpost_with(&srv, &a, url, NULL, forged, NEW_ACCOUNT_BODY, &r);
	assert_no_account(a.key);
	assert_bad_nonce_then_fresh_works(&r, forged, &a);
	hresp_clear(&r);
	/* The real one was not spent by the forgery (the account exists
	 * now, so it answers 200). */
	hpost_with(&srv, &a, url, NULL, real, NEW_ACCOUNT_BODY, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	free(forged);
	free(real);
	free(url);
	hacct_clear(&a);
}

/* kid and jwk. */

Test(acme_errors, unknown_kid_is_account_does_not_exist)
{
	struct hacct a = {.key = hkey("ec-p256")};
	struct hresp r;
	char *url = hurl(&srv, "newOrder"), kid[512];
	const char *payload =
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"}]}";

	snprintf(
	    kid, sizeof(kid), "%s/acme/acct/AAAAAAAAAAAAAAAAAAAAAA", srv.base);
	a.kid = strdup(kid);
	hpost(&srv, &a, url, payload, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "accountDoesNotExist");
	hresp_clear(&r);
	/* An account URL of another server. */
	free(a.kid);
	a.kid = strdup("https://ca.example/acme/acct/1");
	hpost(&srv, &a, url, payload, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "accountDoesNotExist");
	hresp_clear(&r);
	/* A kid that tries to walk out of the account space. */
	free(a.kid);
	snprintf(kid, sizeof(kid), "%s/acme/acct/../order/x", srv.base);
	a.kid = strdup(kid);
	hpost(&srv, &a, url, payload, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "accountDoesNotExist");
	hresp_clear(&r);
	free(url);
	hacct_clear(&a);
}

Test(acme_errors, jwk_where_kid_is_required_is_malformed)
{
	struct hacct a = {0}, jwk_only = {0};
	struct hresp r;
	char *url = hurl(&srv, "newOrder"), acct_orders[512];

	hnew_account(&srv, &a, NULL, NULL);
	/* The account's own key, but as a jwk instead of its kid. */
	jwk_only.key = a.key;
	hpost(&srv, &jwk_only, url,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"}]}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	/* POST-as-GET of the account with a jwk. */
	hpost(&srv, &jwk_only, a.kid, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	cr_assert_null(strstr(r.body, "mailto:"), "account data leaked");
	hresp_clear(&r);
	snprintf(acct_orders, sizeof(acct_orders), "%s/orders", a.kid);
	hpost(&srv, &jwk_only, acct_orders, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	assert_no_orders(&a);
	free(url);
	hacct_clear(&a);
}

Test(acme_errors, kid_on_new_account_is_malformed)
{
	struct hacct a = {0};
	struct hresp r;
	char *url = hurl(&srv, "newAccount");

	hnew_account(&srv, &a, NULL, NULL);
	hpost(&srv, &a, url, NEW_ACCOUNT_BODY, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	cr_assert_null(r.location);
	hresp_clear(&r);
	/* Both kid and jwk at once. */
	{
		char *nonce = hnonce(&srv), *body;
		cJSON *hdr = hheader("ES256", a.kid, NULL, nonce, url), *jwk;

		cr_assert_eq(jwk_from_pkey(a.key, &jwk), KK_OK);
		cJSON_AddItemToObject(hdr, "jwk", jwk);
		body = hjws(a.key, hdr, NEW_ACCOUNT_BODY);
		hpost_body(&srv, url, body, &r);
		HASSERT_ACME_PROBLEM(&r, 400, "malformed");
		hresp_clear(&r);
		cJSON_Delete(hdr);
		free(body);
		free(nonce);
	}
	free(url);
	hacct_clear(&a);
}

/* newOrder identifiers. */

static void
new_order_payload(
    const struct hacct *a, const char *payload, int status, const char *type)
{
	struct hresp r;
	char *url = hurl(&srv, "newOrder");

	hpost(&srv, a, url, payload, &r);
	HASSERT_ACME_PROBLEM(&r, status, type);
	cr_assert_null(r.location, "an order was created");
	hresp_clear(&r);
	free(url);
}

Test(acme_errors, order_without_identifiers_is_malformed)
{
	struct hacct a = {0};

	hnew_account(&srv, &a, NULL, NULL);
	new_order_payload(&a, "{\"identifiers\":[]}", 400, "malformed");
	new_order_payload(&a, "{}", 400, "malformed");
	new_order_payload(
	    &a, "{\"identifiers\":{\"type\":\"org\"}}", 400, "malformed");
	new_order_payload(
	    &a, "{\"identifiers\":[{\"type\":\"org\"}]}", 400, "malformed");
	new_order_payload(&a,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":5}]}", 400,
	    "malformed");
	assert_no_orders(&a);
	hacct_clear(&a);
}

Test(acme_errors, order_with_two_org_identifiers_is_malformed)
{
	struct hacct a = {0};

	hnew_account(&srv, &a, NULL, NULL);
	new_order_payload(&a,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"},"
	    "{\"type\":\"org\",\"value\":\"NTRJP-7000012050002\"}]}",
	    400, "malformed");
	/* Even the same one twice. */
	new_order_payload(&a,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"},"
	    "{\"type\":\"org\",\"value\":\"" ORG "\"}]}",
	    400, "malformed");
	assert_no_orders(&a);
	hacct_clear(&a);
}

Test(acme_errors, order_with_unknown_identifier_type)
{
	struct hacct a = {0};

	hnew_account(&srv, &a, NULL, NULL);
	new_order_payload(&a,
	    "{\"identifiers\":[{\"type\":\"ip\",\"value\":\"192.0.2.7\"}]}",
	    400, "unsupportedIdentifier");
	new_order_payload(&a,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"},"
	    "{\"type\":\"ip\",\"value\":\"192.0.2.1\"}]}",
	    400, "unsupportedIdentifier");
	assert_no_orders(&a);
	hacct_clear(&a);
}

Test(acme_errors, dns_names_are_checked_before_an_order_exists)
{
	struct hacct a = {0};
	const char *bad[] = {"A.example.jp", "*.example.jp", "example..jp",
	    "-a.example.jp", "a-.example.jp", "localhost", "192.0.2.1",
	    "example.jp.", "a_b.example.jp", "a b.example.jp",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example.jp",
	    "", NULL};
	char payload[512];

	hnew_account(&srv, &a, NULL, NULL);
	for (int i = 0; bad[i] != NULL; i++) {
		snprintf(payload, sizeof(payload),
		    "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
		    "\"%s\"}]}",
		    bad[i]);
		new_order_payload(&a, payload, 400, "rejectedIdentifier");
	}
	/* The same name twice. */
	new_order_payload(&a,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.jp\"},"
	    "{\"type\":\"dns\",\"value\":\"a.example.jp\"}]}",
	    400, "malformed");
	assert_no_orders(&a);
	hacct_clear(&a);
}

Test(acme_errors, dns_names_need_a_verified_organization)
{
	struct hacct a = {0};

	/* The default policy gives no dns certificates to accounts that
	 * speak for no organization. */
	hnew_account(&srv, &a, NULL, NULL);
	new_order_payload(&a,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.jp\"}]}",
	    403, "unauthorized");
	assert_no_orders(&a);
	hacct_clear(&a);
}

Test(acme_errors, unknown_profile_is_invalid_profile)
{
	struct hacct a = {0};

	hnew_account(&srv, &a, NULL, NULL);
	new_order_payload(&a,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"}],"
	    "\"profile\":\"no-such-profile\"}",
	    400, "invalidProfile");
	new_order_payload(&a,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"}],"
	    "\"profile\":7}",
	    400, "malformed");
	assert_no_orders(&a);
	hacct_clear(&a);
}

Test(acme_errors, order_outside_the_policy_pattern_is_rejected)
{
	struct hacct a = {0};
	const char *values[] = {"NTRJP-923456789012", "NTRJP-92345678901234",
	    "VATDE-123456789", "ntrjp-9234567890123", "NTRJP-92345678901X3",
	    "NTRJP-9234567890123\\n", "", NULL};
	char payload[256];

	hnew_account(&srv, &a, NULL, NULL);
	for (int i = 0; values[i] != NULL; i++) {
		snprintf(payload, sizeof(payload),
		    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"%s\"}]}",
		    values[i]);
		new_order_payload(&a, payload, 400, "rejectedIdentifier");
	}
	assert_no_orders(&a);
	hacct_clear(&a);
}

Test(acme_errors, order_with_bad_check_digit_is_rejected)
{
	struct hacct a = {0};
	struct hresp r;
	char *order;

	hnew_account(&srv, &a, NULL, NULL);
	new_order_payload(&a,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":"
	    "\"NTRJP-1234567890123\"}]}",
	    400, "rejectedIdentifier");
	new_order_payload(&a,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":"
	    "\"NTRJP-8000012050002\"}]}",
	    400, "rejectedIdentifier");
	assert_no_orders(&a);
	/* The valid numbers of the spec are accepted. */
	hnew_order(&srv, &a, "NTRJP-7000012050002", &order, &r);
	hresp_clear(&r);
	free(order);
	hnew_order(&srv, &a, ORG, &order, &r);
	hresp_clear(&r);
	free(order);
	hacct_clear(&a);
}

/* Accounts. */

Test(acme_errors, only_return_existing_for_unknown_key)
{
	struct hacct a = {.key = hkey("ec-p256")};
	struct hresp r;
	char *url = hurl(&srv, "newAccount");

	hpost(&srv, &a, url,
	    "{\"onlyReturnExisting\":true,\"contact\":"
	    "[\"mailto:admin@example.jp\"],\"termsOfServiceAgreed\":true}",
	    &r);
	HASSERT_ACME_PROBLEM(&r, 400, "accountDoesNotExist");
	cr_assert_null(r.location);
	hresp_clear(&r);
	/* It created nothing. */
	assert_no_account(a.key);
	free(url);
	hacct_clear(&a);
}

Test(acme_errors, repeated_new_account_returns_the_same_account)
{
	struct hacct a = {0};
	struct hresp r;
	char *url = hurl(&srv, "newAccount");

	hnew_account(&srv, &a, NULL, NULL);
	/* hpost signs with the kid once there is one: sign with the jwk. */
	{
		struct hacct same = {.key = a.key};

		hpost(&srv, &same, url, NEW_ACCOUNT_BODY, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_str_eq(r.location, a.kid);
		cr_assert_str_eq(hjstr(r.json, "status"), "valid");
		hresp_clear(&r);
		hpost(&srv, &same, url, "{\"onlyReturnExisting\":true}", &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_str_eq(r.location, a.kid);
		hresp_clear(&r);
	}
	free(url);
	hacct_clear(&a);
}

Test(acme_errors, contacts_are_checked)
{
	struct hacct a = {.key = hkey("ec-p256")}, b = {0};
	struct hresp r;
	char *url = hurl(&srv, "newAccount");

	hpost(&srv, &a, url, "{\"contact\":[\"tel:+81312345678\"]}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "unsupportedContact");
	hresp_clear(&r);
	hpost(&srv, &a, url, "{\"contact\":[\"https://example.jp/\"]}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "unsupportedContact");
	hresp_clear(&r);
	hpost(&srv, &a, url,
	    "{\"contact\":[\"mailto:a@example.jp,b@example.jp\"]}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "invalidContact");
	hresp_clear(&r);
	hpost(&srv, &a, url, "{\"contact\":[\"mailto:nobody\"]}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "invalidContact");
	hresp_clear(&r);
	hpost(&srv, &a, url, "{\"contact\":\"mailto:a@example.jp\"}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	assert_no_account(a.key);

	/* An update is checked the same way and leaves the contact alone. */
	hnew_account(&srv, &b, NULL, NULL);
	hpost(&srv, &b, b.kid, "{\"contact\":[\"tel:+81312345678\"]}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "unsupportedContact");
	hresp_clear(&r);
	hpost(&srv, &b, b.kid, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(
	                     cJSON_GetObjectItem(r.json, "contact"), 0)),
	    "mailto:admin@example.jp");
	hresp_clear(&r);
	free(url);
	hacct_clear(&a);
	hacct_clear(&b);
}

Test(acme_errors, deactivated_account_is_unauthorized)
{
	struct hacct a = {0};
	struct hresp r;
	char *url = hurl(&srv, "newOrder"),
	     *acct_url = hurl(&srv, "newAccount");

	hnew_account(&srv, &a, NULL, NULL);
	/* Only "deactivated" may be asked for. */
	hpost(&srv, &a, a.kid, "{\"status\":\"revoked\"}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	hpost(&srv, &a, a.kid, "{\"status\":\"deactivated\"}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "deactivated");
	hresp_clear(&r);

	hpost(&srv, &a, url,
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"}]}", &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	hpost(&srv, &a, a.kid, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	/* It cannot be brought back by asking again. */
	hpost(&srv, &a, a.kid, "{\"status\":\"valid\"}", &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	/* Nor by newAccount with its key (RFC 8555 7.3.6: no further
	 * request authorized by that key). */
	{
		struct hacct same = {.key = a.key};

		hpost(&srv, &same, acct_url, NEW_ACCOUNT_BODY, &r);
		HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
		hresp_clear(&r);
		/* A request that could not make an account finds it too. */
		hpost(
		    &srv, &same, acct_url, "{\"onlyReturnExisting\":true}", &r);
		HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
		hresp_clear(&r);
	}
	free(url);
	free(acct_url);
	hacct_clear(&a);
}

/* Key rollover. */

/* keyChange of a to new_key; *r holds the answer. */
static void
key_change(const struct hacct *a, EVP_PKEY *new_key, EVP_PKEY *old_claimed,
    struct hresp *r)
{
	char *url = hurl(&srv, "keyChange"), *inner, *payload;
	const char *alg;
	cJSON *hdr, *p = cJSON_CreateObject(), *old = NULL;

	cr_assert_eq(jwk_alg_for_key(new_key, &alg), KK_OK);
	hdr = hheader(alg, NULL, new_key, NULL, url);
	cr_assert_eq(jwk_from_pkey(old_claimed, &old), KK_OK);
	cJSON_AddStringToObject(p, "account", a->kid);
	cJSON_AddItemToObject(p, "oldKey", old);
	payload = cJSON_PrintUnformatted(p);
	inner = hjws(new_key, hdr, payload);
	hpost(&srv, a, url, inner, r);
	cJSON_Delete(hdr);
	cJSON_Delete(p);
	free(payload);
	free(inner);
	free(url);
}

Test(acme_errors, key_change_rolls_the_key)
{
	struct hacct a = {0}, old = {0}, renewed = {0};
	struct hresp r;
	EVP_PKEY *new_key = hkey("ec-p256");

	hnew_account(&srv, &a, NULL, NULL);
	key_change(&a, new_key, a.key, &r);
	cr_assert_eq(r.status, 200, "keyChange: %ld %s", r.status, r.body);
	hresp_clear(&r);

	/* The old key with the account's kid no longer signs for it. */
	hpost(&srv, &a, a.kid, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	/* Nor does it find the account by newAccount. */
	old.key = a.key;
	{
		char *url = hurl(&srv, "newAccount");

		hpost(&srv, &old, url, "{\"onlyReturnExisting\":true}", &r);
		HASSERT_ACME_PROBLEM(&r, 400, "accountDoesNotExist");
		hresp_clear(&r);
		/* The new key does. */
		renewed.key = new_key;
		hpost(&srv, &renewed, url, "{\"onlyReturnExisting\":true}", &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_str_eq(r.location, a.kid);
		hresp_clear(&r);
		free(url);
	}
	/* The new key signs with the same kid. */
	renewed.kid = a.kid;
	hpost(&srv, &renewed, a.kid, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	hresp_clear(&r);
	renewed.kid = NULL;
	EVP_PKEY_free(new_key);
	hacct_clear(&a);
}

Test(acme_errors, key_change_with_wrong_inner_data_changes_nothing)
{
	struct hacct a = {0}, other = {0};
	struct hresp r;
	EVP_PKEY *new_key = hkey("ec-p256"), *stranger = hkey("ec-p256");

	hnew_account(&srv, &a, NULL, NULL);
	/* oldKey that is not the account's key. */
	key_change(&a, new_key, stranger, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	/* An inner JWS not signed by the key it carries. */
	{
		char *url = hurl(&srv, "keyChange"), *inner, *payload;
		cJSON *hdr = hheader("ES256", NULL, new_key, NULL, url);
		cJSON *p = cJSON_CreateObject(), *oldjwk;

		cr_assert_eq(jwk_from_pkey(a.key, &oldjwk), KK_OK);
		cJSON_AddStringToObject(p, "account", a.kid);
		cJSON_AddItemToObject(p, "oldKey", oldjwk);
		payload = cJSON_PrintUnformatted(p);
		inner = hjws(stranger, hdr, payload);
		hpost(&srv, &a, url, inner, &r);
		HASSERT_ACME_PROBLEM(&r, 400, "malformed");
		hresp_clear(&r);
		free(inner);
		/* An inner JWS with a nonce. */
		cJSON_AddStringToObject(hdr, "nonce", "AAAA");
		inner = hjws(new_key, hdr, payload);
		hpost(&srv, &a, url, inner, &r);
		HASSERT_ACME_PROBLEM(&r, 400, "malformed");
		hresp_clear(&r);
		cJSON_Delete(hdr);
		cJSON_Delete(p);
		free(inner);
		free(payload);
		free(url);
	}
	/* A new key that is already another account's: 409 naming it. */
	other.key = stranger;
	hnew_account(&srv, &other, NULL, NULL);
	key_change(&a, other.key, a.key, &r);
	HASSERT_ACME_PROBLEM(&r, 409, "malformed");
	cr_assert_not_null(r.location);
	cr_assert_str_eq(r.location, other.kid);
	hresp_clear(&r);

	/* Through all of that the account kept its key. */
	hpost(&srv, &a, a.kid, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	hpost(&srv, &other, other.kid, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	EVP_PKEY_free(new_key);
	hacct_clear(&a);
	hacct_clear(&other);
}
