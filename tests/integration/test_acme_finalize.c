/*
 * Finalize refuses what it must (an order not ready, CSRs that do not
 * match the order or the profile, or reuse an account key) without
 * spending the order, and no account reads or moves another account's
 * order, authorization, challenge or certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/x509.h>

#include "b64url.h"
#include "harness_extra.h"

#define ORG "NTRJP-9234567890123"
#define OTHER_ORG "NTRJP-7000012050002"
#define CN "host-a.example.jp"

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

TestSuite(acme_finalize, .init = setup, .fini = teardown, .timeout = 120);

/* The order's status as its owner sees it. */
static char *
order_status(const struct hacct *a, const char *order)
{
	struct hresp r;
	char *st;

	hpost(&srv, a, order, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	st = strdup(hjstr(r.json, "status"));
	hresp_clear(&r);
	return st;
}

static void
assert_order_status(const struct hacct *a, const char *order, const char *want)
{
	char *st = order_status(a, order);

	cr_assert_str_eq(st, want);
	free(st);
}

/* POSTs payload to the order's finalize URL. */
static void
finalize_payload(const struct hacct *a, const char *order, const char *payload,
    struct hresp *r)
{
	char url[512];

	snprintf(url, sizeof(url), "%s/finalize", order);
	hpost(&srv, a, url, payload, r);
}

/*
 * After a refused finalize the order is still ready and a good CSR is
 * still accepted: the refusal spent nothing.
 */
static void
assert_good_csr_still_works(const struct hacct *a, const char *order)
{
	struct hresp r;
	EVP_PKEY *key = hkey("ec-p256");

	assert_order_status(a, order, "ready");
	hfinalize(&srv, a, order, key, ORG, CN, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	hresp_clear(&r);
	EVP_PKEY_free(key);
}

/* A ready order for ORG; finalize with key/org/cn must be badCSR. */
static void
bad_csr(EVP_PKEY *key, const char *org, const char *cn)
{
	struct hacct a = {0};
	struct hresp r;
	char *order = henroll_verified(&srv, &a, ORG);

	hfinalize(&srv, &a, order, key ? key : a.key, org, cn, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "badCSR");
	cr_assert_not_null(hjstr(r.json, "detail"));
	hresp_clear(&r);
	assert_good_csr_still_works(&a, order);
	free(order);
	hacct_clear(&a);
}

Test(acme_finalize, before_ready_is_order_not_ready)
{
	struct hacct a = {0};
	struct hresp r;
	char *order, *chall;
	EVP_PKEY *key = hkey("ec-p256");
	const cJSON *authz;

	hnew_account(&srv, &a, NULL, NULL);
	hnew_order(&srv, &a, ORG, &order, &r);
	authz = cJSON_GetArrayItem(
	    cJSON_GetObjectItem(r.json, "authorizations"), 0);
	cr_assert_not_null(authz);
	hresp_clear(&r);
	hfinalize(&srv, &a, order, key, ORG, CN, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "orderNotReady");
	hresp_clear(&r);
	assert_order_status(&a, order, "pending");

	/* Still not ready while the operator has not decided. */
	hpost(&srv, &a, order, NULL, &r);
	{
		char *az = strdup(cJSON_GetStringValue(cJSON_GetArrayItem(
		    cJSON_GetObjectItem(r.json, "authorizations"), 0)));

		hresp_clear(&r);
		hpost(&srv, &a, az, NULL, &r);
		chall = strdup(
		    hjstr(cJSON_GetArrayItem(
		              cJSON_GetObjectItem(r.json, "challenges"), 0),
		        "url"));
		hresp_clear(&r);
		free(az);
	}
	hpost(&srv, &a, chall, "{}", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "status"), "processing");
	hresp_clear(&r);
	hfinalize(&srv, &a, order, key, ORG, CN, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "orderNotReady");
	hresp_clear(&r);
	assert_order_status(&a, order, "pending");
	free(chall);
	free(order);
	EVP_PKEY_free(key);
	hacct_clear(&a);
}

Test(acme_finalize, finalize_twice_is_order_not_ready)
{
	struct hacct a = {0};
	struct hresp r;
	char *order = henroll_verified(&srv, &a, ORG);
	EVP_PKEY *key = hkey("ec-p256");

	hfinalize(&srv, &a, order, key, ORG, CN, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	hfinalize(&srv, &a, order, key, ORG, "host-b.example.jp", &r);
	HASSERT_ACME_PROBLEM(&r, 403, "orderNotReady");
	hresp_clear(&r);
	assert_order_status(&a, order, "valid");
	free(order);
	EVP_PKEY_free(key);
	hacct_clear(&a);
}

Test(acme_finalize, csr_with_another_organization_identifier)
{
	EVP_PKEY *key = hkey("ec-p256");

	bad_csr(key, OTHER_ORG, CN);
	EVP_PKEY_free(key);
}

Test(acme_finalize, csr_without_organization_identifier)
{
	EVP_PKEY *key = hkey("ec-p256");

	bad_csr(key, NULL, CN);
	EVP_PKEY_free(key);
}

Test(acme_finalize, csr_without_cn)
{
	EVP_PKEY *key = hkey("ec-p256");

	bad_csr(key, ORG, NULL);
	EVP_PKEY_free(key);
}

Test(acme_finalize, csr_with_cn_outside_the_profile_pattern)
{
	EVP_PKEY *key = hkey("ec-p256");
	struct hacct a = {0};
	struct hresp r;
	char *order = henroll_verified(&srv, &a, ORG), longcn[80];
	const char *cns[] = {"-host.example.jp", "host_a.example.jp", "host a",
	    "*.example.jp", "", longcn, NULL};

	memset(longcn, 'a', 64);
	longcn[64] = '\0';
	for (int i = 0; cns[i] != NULL; i++) {
		hfinalize(&srv, &a, order, key, ORG, cns[i], &r);
		HASSERT_ACME_PROBLEM(&r, 400, "badCSR");
		hresp_clear(&r);
	}
	assert_good_csr_still_works(&a, order);
	free(order);
	EVP_PKEY_free(key);
	hacct_clear(&a);
}

/* A CN over RFC 5280's 64 characters is refused for that reason. */
Test(acme_finalize, csr_with_a_65_character_cn_says_so)
{
	EVP_PKEY *key = hkey("ec-p256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	struct hacct a = {0};
	struct hresp r;
	char *order = henroll_verified(&srv, &a, ORG), *payload, cn[66];
	int n;

	memset(cn, 'a', 65);
	cn[65] = '\0';
	/* A raw UTF8String: OpenSSL's own ub-common-name check would refuse
	 * to build it with MBSTRING_UTF8. */
	cr_assert_eq(
	    X509_NAME_add_entry_by_NID(name, NID_organizationIdentifier,
	        MBSTRING_UTF8, (const unsigned char *)ORG, -1, -1, 0),
	    1);
	cr_assert_eq(X509_NAME_add_entry_by_NID(name, NID_commonName,
	                 V_ASN1_UTF8STRING, (unsigned char *)cn, -1, -1, 0),
	    1);
	cr_assert_eq(X509_REQ_set_subject_name(req, name), 1);
	cr_assert_eq(X509_REQ_set_pubkey(req, key), 1);
	cr_assert_gt(X509_REQ_sign(req, key, EVP_sha256()), 0);
	cr_assert_gt(n = i2d_X509_REQ(req, &der), 0);
	payload = hcsr_payload(der, (size_t)n);
	finalize_payload(&a, order, payload, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "badCSR");
	cr_assert_not_null(
	    strstr(hjstr(r.json, "detail"), "CN is longer than 64 characters"),
	    "%s", hjstr(r.json, "detail"));
	hresp_clear(&r);
	assert_good_csr_still_works(&a, order);
	free(payload);
	OPENSSL_free(der);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	free(order);
	hacct_clear(&a);
}

Test(acme_finalize, csr_with_the_account_key)
{
	/* NULL: bad_csr signs the CSR with the ordering account's key. */
	bad_csr(NULL, ORG, CN);
}

Test(acme_finalize, csr_with_another_accounts_key)
{
	struct hacct other = {0};

	hnew_account(&srv, &other, NULL, NULL);
	bad_csr(other.key, ORG, CN);
	hacct_clear(&other);
}

Test(acme_finalize, csr_with_rsa_1024_key)
{
	EVP_PKEY *key = hkey("rsa-1024");

	bad_csr(key, ORG, CN);
	EVP_PKEY_free(key);
}

Test(acme_finalize, csr_that_does_not_parse_is_bad_csr)
{
	struct hacct a = {0};
	struct hresp r;
	char *order = henroll_verified(&srv, &a, ORG), *payload, *b64;
	EVP_PKEY *key = hkey("ec-p256");
	unsigned char *der;
	size_t len;

	/* DER that is not a CSR. */
	finalize_payload(&a, order, "{\"csr\":\"AAAA\"}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "badCSR");
	hresp_clear(&r);
	/* A CSR cut short. */
	der = hcsr(key, ORG, CN, &len);
	cr_assert_eq(b64url_encode(der, len - 10, &b64), KK_OK);
	cr_assert_geq(asprintf(&payload, "{\"csr\":\"%s\"}", b64), 0);
	finalize_payload(&a, order, payload, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "badCSR");
	hresp_clear(&r);
	free(payload);
	free(b64);
	/* A CSR whose self-signature does not verify. */
	der[len - 5] ^= 0x01;
	payload = hcsr_payload(der, len);
	finalize_payload(&a, order, payload, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "badCSR");
	hresp_clear(&r);
	free(payload);
	OPENSSL_free(der);
	/* Not base64url, or no csr at all: the request itself is wrong. */
	finalize_payload(&a, order, "{\"csr\":\"!!!not base64!!!\"}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	finalize_payload(&a, order, "{}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	finalize_payload(&a, order, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	assert_good_csr_still_works(&a, order);
	free(order);
	EVP_PKEY_free(key);
	hacct_clear(&a);
}

Test(acme_finalize, csr_with_two_cns_is_bad_csr)
{
	struct hacct a = {0};
	struct hresp r;
	char *order = henroll_verified(&srv, &a, ORG), *payload;
	EVP_PKEY *key = hkey("ec-p256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	int n;

	/* The CN the profile would accept and a second one it never sees
	 * checked: refused rather than guessed at. */
	X509_NAME_add_entry_by_NID(name, NID_organizationIdentifier,
	    MBSTRING_UTF8, (const unsigned char *)ORG, -1, -1, 0);
	X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)CN, -1, -1, 0);
	X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)"evil.example", -1, -1, 0);
	X509_REQ_set_subject_name(req, name);
	X509_REQ_set_pubkey(req, key);
	cr_assert_gt(X509_REQ_sign(req, key, EVP_sha256()), 0);
	cr_assert_gt(n = i2d_X509_REQ(req, &der), 0);
	payload = hcsr_payload(der, (size_t)n);
	finalize_payload(&a, order, payload, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "badCSR");
	hresp_clear(&r);
	assert_good_csr_still_works(&a, order);
	free(payload);
	OPENSSL_free(der);
	X509_NAME_free(name);
	X509_REQ_free(req);
	free(order);
	EVP_PKEY_free(key);
	hacct_clear(&a);
}

/* Another account's resources. */

/* Asserts 403 unauthorized with nothing of A's in the body. */
static void
assert_foreign(const struct hresp *r)
{
	HASSERT_ACME_PROBLEM(r, 403, "unauthorized");
	cr_assert_null(
	    strstr(r->body, ORG), "A's organization leaked: %s", r->body);
	cr_assert_null(strstr(r->body, "CERTIFICATE"), "a certificate leaked");
	cr_assert_null(strstr(r->body, "mailto:"), "A's contact leaked");
	cr_assert_null(r->location);
}

Test(acme_finalize, other_accounts_resources_are_unauthorized)
{
	struct hacct a = {0}, b = {0};
	struct hresp r;
	EVP_PKEY *cert_key;
	char *cert, *pem, *order, *authz, *chall, url[512];

	cert = hissue(&srv, &a, ORG, CN, &cert_key, &pem);
	/* A's order, authorization and challenge, read by A. */
	snprintf(url, sizeof(url), "%s/orders", a.kid);
	hpost(&srv, &a, url, NULL, &r);
	cr_assert_eq(r.status, 200);
	order = strdup(cJSON_GetStringValue(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "orders"), 0)));
	hresp_clear(&r);
	hpost(&srv, &a, order, NULL, &r);
	authz = strdup(cJSON_GetStringValue(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(r.json, "authorizations"), 0)));
	hresp_clear(&r);
	hpost(&srv, &a, authz, NULL, &r);
	chall = strdup(hjstr(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "challenges"), 0),
	    "url"));
	hresp_clear(&r);

	hnew_account(&srv, &b, NULL, NULL);
	hpost(&srv, &b, order, NULL, &r);
	assert_foreign(&r);
	hresp_clear(&r);
	hpost(&srv, &b, authz, NULL, &r);
	assert_foreign(&r);
	hresp_clear(&r);
	hpost(&srv, &b, chall, NULL, &r);
	assert_foreign(&r);
	hresp_clear(&r);
	hpost(&srv, &b, cert, NULL, &r);
	assert_foreign(&r);
	cr_assert_str_neq(r.ctype, "application/pem-certificate-chain");
	hresp_clear(&r);
	hpost(&srv, &b, a.kid, NULL, &r);
	assert_foreign(&r);
	hresp_clear(&r);
	snprintf(url, sizeof(url), "%s/orders", a.kid);
	hpost(&srv, &b, url, NULL, &r);
	assert_foreign(&r);
	hresp_clear(&r);
	/* Nor can B change them. */
	hpost(&srv, &b, authz, "{\"status\":\"deactivated\"}", &r);
	assert_foreign(&r);
	hresp_clear(&r);
	hpost(&srv, &b, a.kid, "{\"status\":\"deactivated\"}", &r);
	assert_foreign(&r);
	hresp_clear(&r);

	/* A's things are as they were. */
	hpost(&srv, &a, authz, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	hresp_clear(&r);
	hpost(&srv, &a, a.kid, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	hresp_clear(&r);
	hpost(&srv, &a, cert, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, pem);
	hresp_clear(&r);

	free(order);
	free(authz);
	free(chall);
	free(cert);
	free(pem);
	EVP_PKEY_free(cert_key);
	hacct_clear(&a);
	hacct_clear(&b);
}

Test(acme_finalize, other_accounts_pending_order_cannot_be_moved)
{
	struct hacct a = {0}, b = {0};
	struct hresp r;
	EVP_PKEY *key = hkey("ec-p256");
	char *order, *authz, *chall, *tok;

	hnew_account(&srv, &a, NULL, NULL);
	hnew_account(&srv, &b, NULL, NULL);
	hnew_order(&srv, &a, ORG, &order, &r);
	authz = strdup(cJSON_GetStringValue(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(r.json, "authorizations"), 0)));
	hresp_clear(&r);
	hpost(&srv, &a, authz, NULL, &r);
	chall = strdup(hjstr(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "challenges"), 0),
	    "url"));
	hresp_clear(&r);

	/* B asks for verification of A's challenge: refused, and nothing
	 * reaches the operator queue. */
	hpost(&srv, &b, chall, "{}", &r);
	assert_foreign(&r);
	hresp_clear(&r);
	hpost(&srv, &a, chall, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "status"), "pending");
	hresp_clear(&r);
	tok = hsrv_token(&srv, "reader", "auditor");
	hoper(&srv, tok, "GET", "verifications?status=processing", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(
	    cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "verifications")),
	    0);
	hresp_clear(&r);
	/* B finalizes A's order. */
	hfinalize(&srv, &b, order, key, ORG, CN, &r);
	assert_foreign(&r);
	hresp_clear(&r);
	assert_order_status(&a, order, "pending");

	/* Unknown ids are 404, not another account's 403. */
	{
		char url[512];

		snprintf(url, sizeof(url),
		    "%s/acme/order/AAAAAAAAAAAAAAAAAAAAAA", srv.base);
		hpost(&srv, &b, url, NULL, &r);
		HASSERT_ACME_PROBLEM(&r, 404, "malformed");
		hresp_clear(&r);
		snprintf(url, sizeof(url), "%s/acme/cert/00", srv.base);
		hpost(&srv, &b, url, NULL, &r);
		HASSERT_ACME_PROBLEM(&r, 404, "malformed");
		hresp_clear(&r);
	}
	free(tok);
	free(order);
	free(authz);
	free(chall);
	EVP_PKEY_free(key);
	hacct_clear(&a);
	hacct_clear(&b);
}
