/*
 * The registration authority's rules seen from outside: suspending an
 * organization stops issuance at once, even for an order that was ready,
 * withdraws its ready orders, and can revoke its certificates; ACME
 * revokeCert and the operator API revoke alike and audit the same shape.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/crypto.h>

#include "b64url.h"
#include "harness_extra.h"

#define ORG "NTRJP-9234567890123"
#define ORG2 "NTRJP-7000012050002"
#define CN "host-a.example.jp"

static struct hsrv srv;
static char *op;

static void
setup(void)
{
	hsrv_start(&srv, NULL);
	op = hsrv_token(&srv, "op1", "operator");
}

static void
teardown(void)
{
	hassert_alive(&srv);
	hsrv_stop(&srv);
	free(op);
}

TestSuite(suspend, .init = setup, .fini = teardown, .timeout = 120);

static int
count_certs(const char *query)
{
	struct hresp r;
	char path[128];
	int n;

	snprintf(path, sizeof(path), "certificates?%s", query);
	hoper(&srv, op, "GET", path, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	n = cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "certificates"));
	hresp_clear(&r);
	return n;
}

/* A bound account's next certificate for org: its order is ready at once.
 * Returns the PEM chain (caller frees); *key (caller frees) is new. */
static char *
issue_again(struct hacct *a, const char *org, EVP_PKEY **key)
{
	struct hresp r;
	char *order, *cert, *pem;

	hnew_order(&srv, a, org, &order, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "ready");
	hresp_clear(&r);
	*key = hkey("ec-p256");
	hfinalize(&srv, a, order, *key, org, CN, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cert = strdup(hjstr(r.json, "certificate"));
	hresp_clear(&r);
	hpost(&srv, a, cert, NULL, &r);
	cr_assert_eq(r.status, 200);
	pem = strdup(r.body);
	hresp_clear(&r);
	free(cert);
	free(order);
	return pem;
}

/* A new account verified for org by op1 (not the harness's approver, who
 * may approve once per server). */
static void
verified_by_op(struct hacct *a, const char *org)
{
	struct hresp r, q;
	const cJSON *v;
	const char *vid = NULL;
	char *order, path[256];

	hnew_account(&srv, a, NULL, NULL);
	hnew_order(&srv, a, org, &order, &r);
	hpost(&srv, a,
	    cJSON_GetStringValue(cJSON_GetArrayItem(
	        cJSON_GetObjectItem(r.json, "authorizations"), 0)),
	    NULL, &q);
	hresp_clear(&r);
	hpost(&srv, a,
	    hjstr(cJSON_GetArrayItem(
	              cJSON_GetObjectItem(q.json, "challenges"), 0),
	        "url"),
	    "{}", &r);
	cr_assert_eq(r.status, 200);
	hresp_clear(&r);
	hresp_clear(&q);
	hoper(&srv, op, "GET", "verifications?status=processing", NULL, &q);
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(q.json, "verifications"))
	{
		if (strcmp(hjstr(v, "org"), org) == 0)
			vid = hjstr(v, "id");
	}
	cr_assert_not_null(vid);
	snprintf(path, sizeof(path), "verifications/%s/approve", vid);
	hoper(&srv, op, "POST", path,
	    "{\"method\":\"document\",\"legal_name\":\"Other K.K.\","
	    "\"country\":\"JP\",\"evidence\":\"registry extract\"}",
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	hresp_clear(&q);
	free(order);
}

/* The HIGH bug: a ready order must not issue after a suspension. */
Test(suspend, ready_order_does_not_issue_after_suspension)
{
	struct hacct a = {0};
	struct hresp r;
	EVP_PKEY *key = hkey("ec-p256");
	char *order = henroll_verified(&srv, &a, ORG);
	double withdrawn;

	hoper(&srv, op, "POST", "orgs/" ORG "/suspend",
	    "{\"reason\":\"approved by mistake\"}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	withdrawn = cJSON_GetNumberValue(
	    cJSON_GetObjectItem(r.json, "orders_invalidated"));
	hresp_clear(&r);

	hfinalize(&srv, &a, order, key, ORG, CN, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "orderNotReady");
	hresp_clear(&r);
	cr_assert_eq(count_certs("org=" ORG), 0, "a certificate was issued");
	cr_assert_eq(withdrawn, 1, "the ready order was not withdrawn");
	hpost(&srv, &a, order, NULL, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "invalid");
	cr_assert_not_null(cJSON_GetObjectItem(r.json, "error"));
	hresp_clear(&r);

	/* The bound account's next order needs an operator again. */
	free(order);
	hnew_order(&srv, &a, ORG, &order, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "pending");
	hresp_clear(&r);
	free(order);
	EVP_PKEY_free(key);
	hacct_clear(&a);
}

Test(suspend, revoke_certificates_in_the_same_call)
{
	struct hacct a = {0}, b = {0};
	struct hresp r;
	EVP_PKEY *ka = NULL, *kb = NULL;
	unsigned char *der;
	size_t len;
	char *pa = NULL, *pb = NULL, *ua, *serial, *crl;

	ua = hissue(&srv, &a, ORG, CN, &ka, &pa);
	verified_by_op(&b, ORG2);
	pb = issue_again(&b, ORG2, &kb);
	hoper(&srv, op, "POST", "orgs/" ORG "/suspend",
	    "{\"reason\":\"x\",\"revoke_certificates\":\"yes\"}", &r);
	HASSERT_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	hoper(&srv, op, "POST", "orgs/" ORG "/suspend",
	    "{\"reason\":\"left the market\",\"revoke_certificates\":true}",
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(cJSON_GetNumberValue(
	                 cJSON_GetObjectItem(r.json, "certificates_revoked")),
	    1);
	hresp_clear(&r);
	cr_assert_eq(count_certs("org=" ORG "&status=revoked"), 1);
	cr_assert_eq(count_certs("org=" ORG2 "&status=valid"), 1,
	    "another organization's certificate was touched");
	/* Published at once, as privilegeWithdrawn (9). */
	serial = hleaf_der(pa, &der, &len);
	OPENSSL_free(der);
	crl = hcrl_url(pa);
	cr_assert_eq(hcrl_reason(&srv, crl, pa, serial), 9);
	free(serial);
	free(crl);
	free(ua);
	free(pa);
	free(pb);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	hacct_clear(&a);
	hacct_clear(&b);
}

/* The cert.revoke events' details, in order. */
static cJSON *
revoke_events(void)
{
	struct hresp r;
	const cJSON *e;
	cJSON *out = cJSON_CreateArray();

	hoper(&srv, op, "GET", "audit", NULL, &r);
	cr_assert_eq(r.status, 200);
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(r.json, "events"))
	{
		if (strcmp(hjstr(e, "action"), "cert.revoke") == 0)
			cJSON_AddItemToArray(
			    out, cJSON_Duplicate(
			             cJSON_GetObjectItem(e, "detail"), 1));
	}
	hresp_clear(&r);
	return out;
}

Test(suspend, both_revocation_paths_audit_the_reason_name)
{
	struct hacct a = {0};
	struct hresp r;
	EVP_PKEY *ka = NULL, *kb = NULL;
	unsigned char *der;
	size_t len;
	char *pa = NULL, *pb = NULL, *ua, *sa, *sb, *b64, *url, payload[4096],
	     path[128];
	cJSON *ev;

	ua = hissue(&srv, &a, ORG, CN, &ka, &pa);
	pb = issue_again(&a, ORG, &kb);

	sa = hleaf_der(pa, &der, &len);
	cr_assert_eq(b64url_encode(der, len, &b64), KK_OK);
	OPENSSL_free(der);
	snprintf(payload, sizeof(payload),
	    "{\"certificate\":\"%s\",\"reason\":1}", b64);
	url = hurl(&srv, "revokeCert");
	hpost(&srv, &a, url, payload, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);

	sb = hleaf_der(pb, &der, &len);
	OPENSSL_free(der);
	for (char *c = sb; *c != '\0'; c++) /* the API's serials are lower */
		*c = (char)tolower((unsigned char)*c);
	snprintf(path, sizeof(path), "certificates/%s/revoke", sb);
	hoper(&srv, op, "POST", path, "{\"reason\":\"keyCompromise\"}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(hjstr(r.json, "reason"), "keyCompromise");
	hresp_clear(&r);

	ev = revoke_events();
	cr_assert_eq(cJSON_GetArraySize(ev), 2);
	for (int i = 0; i < 2; i++) {
		const cJSON *d = cJSON_GetArrayItem(ev, i);

		cr_assert(cJSON_IsString(cJSON_GetObjectItem(d, "reason")),
		    "event %d: reason is not a name", i);
		cr_assert_str_eq(hjstr(d, "reason"), "keyCompromise");
	}
	cJSON_Delete(ev);

	/* Both paths refuse a second revocation the same way. */
	hpost(&srv, &a, url, payload, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "alreadyRevoked");
	hresp_clear(&r);
	hoper(&srv, op, "POST", path, "{\"reason\":\"superseded\"}", &r);
	HASSERT_PROBLEM(&r, 409, "alreadyRevoked");
	hresp_clear(&r);

	free(url);
	free(b64);
	free(sa);
	free(sb);
	free(ua);
	free(pa);
	free(pb);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	hacct_clear(&a);
}
