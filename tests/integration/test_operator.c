/*
 * The operator API: authentication and roles, the verification queue,
 * approval with evidence, dual control, rejection, organizations, EAB keys,
 * certificate revocation and the audit log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "b64url.h"
#include "eab.h"
#include "harness.h"
#include "harness_extra.h"

#define ORG "NTRJP-7000012050002"
#define APPROVAL                                                               \
	"{\"method\":\"phone\",\"legal_name\":\"Kansai Grid K.K.\","           \
	"\"country\":\"JP\",\"evidence\":\"TSR representative number, spoke "  \
	"to the facilities manager\"}"

static struct hsrv srv;

static void
setup(void)
{
	hsrv_start(&srv, NULL);
}

static void
setup_dual(void)
{
	char *pol = hpolicy("verification", "approvals_required", "2");

	hsrv_start(&srv, pol);
	free(pol);
}

static void
teardown(void)
{
	hsrv_stop(&srv);
}

TestSuite(oper, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(dual, .init = setup_dual, .fini = teardown, .timeout = 120);

/* An account with an order whose oob-01 challenge is in the queue. */
static char *
queued(struct hacct *a, char **order)
{
	struct hresp r, q;
	const char *az;
	char *chall, *vid = NULL, *tok;
	const cJSON *v;

	hnew_account(&srv, a, NULL, NULL);
	hnew_order(&srv, a, ORG, order, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "pending");
	az = cJSON_GetStringValue(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(r.json, "authorizations"), 0));
	hpost(&srv, a, az, NULL, &q);
	chall = strdup(hjstr(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(q.json, "challenges"), 0),
	    "url"));
	cr_assert_str_eq(
	    hjstr(cJSON_GetArrayItem(
	              cJSON_GetObjectItem(q.json, "challenges"), 0),
	        "type"),
	    "oob-01");
	hresp_clear(&q);
	hresp_clear(&r);
	hpost(&srv, a, chall, "{}", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "status"), "processing");
	cr_assert_gt(r.retry_after, 0, "processing carries Retry-After");
	hresp_clear(&r);

	tok = hsrv_token(&srv, "lister", "auditor");
	hoper(&srv, tok, "GET", "verifications?status=processing", NULL, &q);
	cr_assert_eq(q.status, 200);
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(q.json, "verifications"))
	{
		if (strcmp(hjstr(v, "org"), ORG) == 0)
			vid = strdup(hjstr(v, "id"));
		cr_assert_str_eq(hjstr(v, "status"), "processing");
		cr_assert_not_null(hjstr(v, "requested_at"));
		cr_assert_str_eq(hjstr(v, "account"), a->kid);
		cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(
		                     cJSON_GetObjectItem(v, "contacts"), 0)),
		    "mailto:admin@example.jp");
	}
	cr_assert_not_null(vid);
	hresp_clear(&q);
	free(tok);
	free(chall);
	return vid;
}

/* The events of action on token name by "cli" in an audit answer. */
static int
token_events(const cJSON *audit, const char *action, const char *name)
{
	const cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(audit, "events")) n +=
	    strcmp(hjstr(e, "action"), action) == 0 &&
	    strcmp(hjstr(e, "actor"), "cli") == 0 &&
	    hjstr(e, "object") != NULL && strcmp(hjstr(e, "object"), name) == 0;
	return n;
}

Test(oper, no_or_wrong_token_is_401)
{
	struct hresp r;
	char *tok;

	hoper(&srv, NULL, "GET", "verifications", NULL, &r);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(hproblem(&r), "unauthorized");
	hresp_clear(&r);
	hoper(&srv, "not-a-token", "GET", "verifications", NULL, &r);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(hproblem(&r), "unauthorized");
	hresp_clear(&r);

	/* A revoked token stops working at once. */
	tok = hsrv_token(&srv, "leaver", "operator");
	hoper(&srv, tok, "GET", "verifications", NULL, &r);
	cr_assert_eq(r.status, 200);
	hresp_clear(&r);
	cr_assert_eq(hsh("'%s' --data-dir '%s'%s token revoke leaver "
	                 "2>/dev/null",
	                 KAKUIN_SERVER_BIN, srv.data, srv.storage_flag),
	    0);
	hoper(&srv, tok, "GET", "verifications", NULL, &r);
	cr_assert_eq(r.status, 401);
	hresp_clear(&r);
	free(tok);

	/* Both changes are in the audit log, by the command line. */
	tok = hsrv_token(&srv, "reader", "auditor");
	hoper(&srv, tok, "GET", "audit", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(token_events(r.json, "token.create", "leaver"), 1);
	cr_assert_eq(token_events(r.json, "token.revoke", "leaver"), 1);
	cr_assert_eq(token_events(r.json, "token.create", "reader"), 1);
	hresp_clear(&r);
	free(tok);
}

Test(oper, tokens_are_stored_hashed)
{
	char *tok;

	if (srv.storage[0] != '\0') {
		/* A skipped test's .fini does not run: stop it here. */
		hsrv_stop(&srv);
		cr_skip_test("reads the SQLite file; the PostgreSQL schema "
		             "stores the same hash (store_pg.c)");
	}
	tok = hsrv_token(&srv, "hashcheck", "operator");
	/* The database must not contain the token itself. */
	cr_assert_neq(
	    hsh("grep -q -a '%s' '%s'/kakuin.db* 2>/dev/null", tok, srv.data),
	    0);
	free(tok);
}

Test(oper, auditor_reads_but_cannot_approve)
{
	struct hacct a = {0};
	struct hresp r;
	char *order, *vid, *aud, path[256];

	vid = queued(&a, &order);
	aud = hsrv_token(&srv, "aud", "auditor");
	snprintf(path, sizeof(path), "verifications/%s", vid);
	hoper(&srv, aud, "GET", path, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "id"), vid);
	hresp_clear(&r);
	snprintf(path, sizeof(path), "verifications/%s/approve", vid);
	hoper(&srv, aud, "POST", path, APPROVAL, &r);
	cr_assert_eq(r.status, 403);
	cr_assert_str_eq(hproblem(&r), "unauthorized");
	hresp_clear(&r);
	/* Nothing changed. */
	hpost(&srv, &a, order, NULL, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "pending");
	hresp_clear(&r);
	free(aud);
	free(vid);
	free(order);
	hacct_clear(&a);
}

Test(oper, approval_needs_method_and_evidence)
{
	struct hacct a = {0};
	struct hresp r;
	char *order, *vid, *op, path[256];

	vid = queued(&a, &order);
	op = hsrv_token(&srv, "op1", "operator");
	snprintf(path, sizeof(path), "verifications/%s/approve", vid);
	hoper(&srv, op, "POST", path,
	    "{\"legal_name\":\"X K.K.\",\"country\":\"JP\","
	    "\"evidence\":\"e\"}",
	    &r);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(hproblem(&r), "malformed");
	cr_assert_not_null(strstr(hjstr(r.json, "detail"), "method"));
	hresp_clear(&r);
	hoper(&srv, op, "POST", path,
	    "{\"method\":\"phone\",\"legal_name\":\"X K.K.\","
	    "\"country\":\"JP\"}",
	    &r);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(hproblem(&r), "malformed");
	cr_assert_not_null(strstr(hjstr(r.json, "detail"), "evidence"));
	hresp_clear(&r);
	hoper(&srv, op, "POST", path,
	    "{\"method\":\"fax\",\"legal_name\":\"X K.K.\","
	    "\"country\":\"JP\",\"evidence\":\"e\"}",
	    &r);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(hproblem(&r), "malformed");
	hresp_clear(&r);
	hoper(&srv, op, "POST", path, "not json", &r);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(hproblem(&r), "malformed");
	hresp_clear(&r);
	hpost(&srv, &a, order, NULL, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "pending");
	hresp_clear(&r);
	free(op);
	free(vid);
	free(order);
	hacct_clear(&a);
}

Test(oper, legal_name_must_fit_the_certificate)
{
	struct hacct a = {0};
	struct hresp r;
	char *order, *vid, *op, path[256], body[512];
	static const char *const bad[] = {
	    /* 65 characters: over RFC 5280's 64 for O. */
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "Kansai\\u0007Grid",  /* a control character */
	    "Kansai Grid\xff",    /* not UTF-8 */
	    "",                   /* empty */
	    "Kansai \\u202Edirg", /* a right-to-left override */
	    "Kansai\\u200BGrid",  /* a zero-width space */
	    "\\uFEFFKansai Grid", /* a BOM */
	    "Kansai Grid\\uE000", /* private use */
	    "Kansai Grid\\uFDD0", /* a noncharacter */
	};

	vid = queued(&a, &order);
	op = hsrv_token(&srv, "op1", "operator");
	snprintf(path, sizeof(path), "verifications/%s/approve", vid);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body),
		    "{\"method\":\"phone\",\"legal_name\":\"%s\","
		    "\"country\":\"JP\",\"evidence\":\"e\"}",
		    bad[i]);
		hoper(&srv, op, "POST", path, body, &r);
		cr_assert_eq(
		    r.status, 400, "legal_name %s: %ld", bad[i], r.status);
		cr_assert_not_null(
		    strstr(hjstr(r.json, "detail"), "legal_name"));
		hresp_clear(&r);
	}
	/* 64 characters, some of them Japanese, are fine. */
	hoper(&srv, op, "POST", path,
	    "{\"method\":\"phone\",\"legal_name\":\"\u95a2\u897f\u96fb"
	    "\u529b\u682a\u5f0f\u4f1a\u793e "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	    "\"country\":\"JP\",\"evidence\":\"e\"}",
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	free(op);
	free(vid);
	free(order);
	hacct_clear(&a);
}

Test(oper, approval_cannot_revive_a_withdrawn_request)
{
	struct hacct a = {0};
	struct hresp r;
	char *order, *vid, *op, path[256], *az;

	vid = queued(&a, &order);
	op = hsrv_token(&srv, "op1", "operator");
	hpost(&srv, &a, order, NULL, &r);
	az = strdup(cJSON_GetStringValue(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(r.json, "authorizations"), 0)));
	hresp_clear(&r);
	/* The client withdraws: the request leaves the queue. */
	hpost(&srv, &a, az, "{\"status\":\"deactivated\"}", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "status"), "deactivated");
	hresp_clear(&r);
	hoper(&srv, op, "GET", "verifications?status=processing", NULL, &r);
	cr_assert_eq(
	    cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "verifications")),
	    0);
	hresp_clear(&r);
	snprintf(path, sizeof(path), "verifications/%s/approve", vid);
	hoper(&srv, op, "POST", path, APPROVAL, &r);
	cr_assert_eq(r.status, 409);
	hresp_clear(&r);
	hpost(&srv, &a, az, NULL, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "deactivated");
	hresp_clear(&r);
	/* Nothing was verified and the account is not bound. */
	hoper(&srv, op, "GET", "orgs", NULL, &r);
	cr_assert_eq(
	    cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "orgs")), 0);
	hresp_clear(&r);
	free(az);
	free(op);
	free(vid);
	free(order);
	hacct_clear(&a);
}

Test(oper, rejection_ends_the_order_with_the_reason)
{
	struct hacct a = {0};
	struct hresp r;
	char *order, *vid, *op, path[256];
	const cJSON *err;

	vid = queued(&a, &order);
	op = hsrv_token(&srv, "op1", "operator");
	snprintf(path, sizeof(path), "verifications/%s/reject", vid);
	hoper(&srv, op, "POST", path, "{}", &r);
	cr_assert_eq(r.status, 400, "a reason is required");
	hresp_clear(&r);
	hoper(&srv, op, "POST", path,
	    "{\"reason\":\"the representative number does not know this "
	    "request\"}",
	    &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "status"), "invalid");
	hresp_clear(&r);
	hpost(&srv, &a, order, NULL, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "invalid");
	err = cJSON_GetObjectItem(r.json, "error");
	cr_assert_not_null(err);
	cr_assert_str_eq(
	    hjstr(err, "type"), "urn:ietf:params:acme:error:unauthorized");
	cr_assert_not_null(strstr(hjstr(err, "detail"), "does not know"));
	hresp_clear(&r);
	/* A decided verification cannot be approved any more. */
	snprintf(path, sizeof(path), "verifications/%s/approve", vid);
	hoper(&srv, op, "POST", path, APPROVAL, &r);
	cr_assert_eq(r.status, 409);
	hresp_clear(&r);
	free(op);
	free(vid);
	free(order);
	hacct_clear(&a);
}

Test(oper, orgs_eab_revoke_and_audit)
{
	struct hacct a = {0};
	struct hresp r;
	char *order, *vid, *op, path[256];
	const cJSON *e;
	int approves = 0;

	vid = queued(&a, &order);
	op = hsrv_token(&srv, "op1", "operator");
	/* An identifier the policy refuses gets no key. */
	hoper(&srv, op, "POST", "orgs/NTRJP-1234567890123/eab-keys", "{}", &r);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(hproblem(&r), "malformed");
	hresp_clear(&r);
	snprintf(path, sizeof(path), "verifications/%s/approve", vid);
	hoper(&srv, op, "POST", path, APPROVAL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	cr_assert_str_eq(hjstr(cJSON_GetArrayItem(
	                           cJSON_GetObjectItem(r.json, "approvals"), 0),
	                     "operator"),
	    "op1");
	hresp_clear(&r);

	hoper(&srv, op, "GET", "orgs/" ORG, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "legal_name"), "Kansai Grid K.K.");
	cr_assert_str_eq(hjstr(r.json, "status"), "verified");
	cr_assert_eq(
	    cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "verifications")),
	    1);
	hresp_clear(&r);
	hoper(&srv, op, "GET", "orgs", NULL, &r);
	cr_assert_eq(
	    cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "orgs")), 1);
	hresp_clear(&r);

	hoper(&srv, op, "POST", "orgs/" ORG "/eab-keys",
	    "{\"expires\":\"2099-01-01T00:00:00Z\",\"max_uses\":3}", &r);
	cr_assert_eq(r.status, 201);
	cr_assert_str_eq(hjstr(r.json, "expires"), "2099-01-01T00:00:00Z");
	cr_assert_eq(cJSON_GetObjectItem(r.json, "max_uses")->valueint, 3);
	cr_assert_geq(strlen(hjstr(r.json, "hmac_key")), 43);
	/* The HMAC key is never written to the audit log. */
	{
		struct hresp au;

		hoper(&srv, op, "GET", "audit", NULL, &au);
		cr_assert_eq(au.status, 200);
		cr_assert_null(strstr(au.body, hjstr(r.json, "hmac_key")));
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(au.json, "events"))
		    approves +=
		    strcmp(hjstr(e, "action"), "verification.approve") == 0 &&
		    strcmp(hjstr(e, "actor"), "op1") == 0;
		cr_assert_eq(approves, 1);
		hresp_clear(&au);
	}
	hresp_clear(&r);
	hoper(
	    &srv, op, "POST", "orgs/" ORG "/eab-keys", "{\"max_uses\":-1}", &r);
	cr_assert_eq(r.status, 400);
	cr_assert_not_null(strstr(hjstr(r.json, "detail"), "max_uses"));
	hresp_clear(&r);

	free(op);
	free(vid);
	free(order);
	hacct_clear(&a);
}

/*
 * Under a policy that requires EAB from the first day, the organization's
 * first account comes in with a key issued before any verification: it is
 * bound, but waits for an operator like anyone else.
 */
static void
setup_eab(void)
{
	char *pol = hpolicy(NULL, "eab_required", "true");

	/* The suite's .init has started a server already: this test's runs
	 * under another policy. */
	hsrv_stop(&srv);
	hsrv_start(&srv, pol);
	free(pol);
}

Test(oper, eab_before_verification_still_needs_an_operator, .init = setup_eab)
{
	struct hacct a = {0}, b = {0};
	struct hresp r;
	char *op, *kid, *hmac, *order;

	op = hsrv_token(&srv, "op1", "operator");
	hoper(
	    &srv, op, "POST", "orgs/" ORG "/eab-keys", "{\"max_uses\":2}", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	kid = strdup(hjstr(r.json, "kid"));
	hmac = strdup(hjstr(r.json, "hmac_key"));
	hresp_clear(&r);

	hnew_account(&srv, &a, kid, hmac);
	hnew_order(&srv, &a, ORG, &order, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "pending",
	    "an unverified organization needs an operator first");
	hresp_clear(&r);
	free(order);
	order = henroll_verified(&srv, &a, ORG);
	free(order);

	/* Once verified, the next host with the same key is done at once. */
	hnew_account(&srv, &b, kid, hmac);
	hnew_order(&srv, &b, ORG, &order, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "ready");
	hresp_clear(&r);
	free(order);
	free(kid);
	free(hmac);
	free(op);
	hacct_clear(&a);
	hacct_clear(&b);
}

/* newAccount with an EAB key, expecting a refusal. */
static void
eab_account_refused(const char *kid, const char *hmac)
{
	struct hacct b = {0};
	struct hresp r;
	char *url = hurl(&srv, "newAccount"), *payload;
	unsigned char *mac = NULL;
	size_t maclen = 0;
	cJSON *p = cJSON_CreateObject(), *eab = NULL;

	b.key = hkey("ec-p256");
	cr_assert_eq(b64url_decode(hmac, strlen(hmac), &mac, &maclen), KK_OK);
	cr_assert_eq(eab_build(kid, mac, maclen, b.key, url, &eab), KK_OK);
	cJSON_AddItemToObject(p, "externalAccountBinding", eab);
	payload = cJSON_PrintUnformatted(p);
	hpost(&srv, &b, url, payload, &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(hproblem(&r), "unauthorized");
	hresp_clear(&r);
	free(payload);
	free(mac);
	free(url);
	cJSON_Delete(p);
	hacct_clear(&b);
}

Test(oper, suspend_org_and_revoke_eab_key)
{
	struct hacct a = {0};
	struct hresp r;
	char *order, *op, *kid, *hmac, path[256];

	order = henroll_verified(&srv, &a, ORG);
	free(order);
	op = hsrv_token(&srv, "op1", "operator");
	hoper(&srv, op, "POST", "orgs/" ORG "/eab-keys", "{}", &r);
	cr_assert_eq(r.status, 201);
	kid = strdup(hjstr(r.json, "kid"));
	hmac = strdup(hjstr(r.json, "hmac_key"));
	hresp_clear(&r);

	/* A leaked EAB key stops working at once. */
	snprintf(path, sizeof(path), "eab-keys/%s/revoke", kid);
	hoper(&srv, op, "POST", path, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	eab_account_refused(kid, hmac);
	hoper(&srv, op, "POST", "eab-keys/unknownkid/revoke", NULL, &r);
	cr_assert_eq(r.status, 404);
	hresp_clear(&r);

	/* A suspended organization needs an operator again. */
	hoper(&srv, op, "POST", "orgs/" ORG "/suspend", "{}", &r);
	cr_assert_eq(r.status, 400, "a reason is required");
	hresp_clear(&r);
	hoper(&srv, op, "POST", "orgs/" ORG "/suspend",
	    "{\"reason\":\"approved by mistake\"}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "expired");
	hresp_clear(&r);
	hnew_order(&srv, &a, ORG, &order, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "pending");
	hresp_clear(&r);
	free(order);
	free(kid);
	free(hmac);
	free(op);
	hacct_clear(&a);
}

Test(dual, two_distinct_operators_are_needed)
{
	struct hacct a = {0};
	struct hresp r;
	char *order, *vid, *op1, *op2, path[256];

	vid = queued(&a, &order);
	op1 = hsrv_token(&srv, "op1", "operator");
	op2 = hsrv_token(&srv, "op2", "operator");
	snprintf(path, sizeof(path), "verifications/%s/approve", vid);
	hoper(&srv, op1, "POST", path, APPROVAL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "status"), "processing");
	hresp_clear(&r);
	hpost(&srv, &a, order, NULL, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "pending");
	hresp_clear(&r);

	/* The same operator twice does not make two approvals. */
	hoper(&srv, op1, "POST", path, APPROVAL, &r);
	cr_assert_eq(r.status, 403);
	cr_assert_str_eq(hproblem(&r), "unauthorized");
	hresp_clear(&r);
	hpost(&srv, &a, order, NULL, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "pending");
	hresp_clear(&r);

	hoper(&srv, op2, "POST", path, APPROVAL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	cr_assert_eq(
	    cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "approvals")), 2);
	hresp_clear(&r);
	hpost(&srv, &a, order, NULL, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "ready");
	hresp_clear(&r);
	free(op1);
	free(op2);
	free(vid);
	free(order);
	hacct_clear(&a);
}

Test(dual, second_approval_must_agree_on_the_legal_name)
{
	struct hacct a = {0};
	struct hresp r;
	char *order, *vid, *op1, *op2, path[256];

	vid = queued(&a, &order);
	op1 = hsrv_token(&srv, "op1", "operator");
	op2 = hsrv_token(&srv, "op2", "operator");
	snprintf(path, sizeof(path), "verifications/%s/approve", vid);
	hoper(&srv, op1, "POST", path, APPROVAL, &r);
	cr_assert_eq(r.status, 200);
	hresp_clear(&r);
	hoper(&srv, op2, "POST", path,
	    "{\"method\":\"document\",\"legal_name\":\"Other K.K.\","
	    "\"country\":\"JP\",\"evidence\":\"registry certificate\"}",
	    &r);
	cr_assert_eq(r.status, 409);
	hresp_clear(&r);
	free(op1);
	free(op2);
	free(vid);
	free(order);
	hacct_clear(&a);
}

/*
 * Lists come in pages: more audit events than two pages hold, walked with
 * ?limit=100 and the "next" cursor, arrive each once and in order, and
 * the last page has no "next".
 */
Test(oper, audit_log_is_paged)
{
	struct hresp r;
	char *op, path[1024], *next = NULL;
	const cJSON *e;
	double last = 0;
	int i, events = 0, keys = 0, pages = 0;

	op = hsrv_token(&srv, "pager", "operator");
	for (i = 0; i < 250; i++) {
		hoper(&srv, op, "POST", "orgs/" ORG "/eab-keys", "{}", &r);
		cr_assert_eq(r.status, 201);
		hresp_clear(&r);
	}
	do {
		if (next == NULL)
			snprintf(path, sizeof(path), "audit?limit=100");
		else
			snprintf(path, sizeof(path),
			    "audit?since=2000-01-01T00:00:00Z&limit=100&"
			    "cursor=%s",
			    next);
		hoper(&srv, op, "GET", path, NULL, &r);
		cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
		pages++;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(r.json, "events"))
		{
			double seq = cJSON_GetObjectItem(e, "seq")->valuedouble;

			cr_assert_gt(seq, last, "lost order or a repeat");
			last = seq;
			events++;
			keys += strcmp(hjstr(e, "action"), "eab.create") == 0;
		}
		free(next);
		next = NULL;
		if (hjstr(r.json, "next") != NULL) {
			cr_assert_eq(cJSON_GetArraySize(
			                 cJSON_GetObjectItem(r.json, "events")),
			    100, "a page before the last is full");
			next = strdup(hjstr(r.json, "next"));
		}
		hresp_clear(&r);
	} while (next != NULL && pages < 10);
	cr_assert_null(next, "the walk ends with a page without \"next\"");
	cr_assert_eq(keys, 250);
	cr_assert_eq(pages, 3);
	cr_assert_gt(events, 250);
	cr_assert_lt(events, 300);
	free(op);
}

static void
expect_400(const char *tok, const char *path, const char *field)
{
	struct hresp r;

	hoper(&srv, tok, "GET", path, NULL, &r);
	cr_assert_eq(r.status, 400, "%s: %ld", path, (long)r.status);
	cr_assert_str_eq(hproblem(&r), "malformed");
	cr_assert_not_null(strstr(hjstr(r.json, "detail"), field), "%s: %s",
	    path, hjstr(r.json, "detail"));
	hresp_clear(&r);
}

Test(oper, bad_limit_or_cursor_is_400)
{
	struct hresp r;
	char *tok, path[256];
	unsigned char *raw = NULL;
	size_t len = 0;

	tok = hsrv_token(&srv, "lister", "auditor");
	expect_400(tok, "audit?limit=0", "limit");
	expect_400(tok, "audit?limit=1001", "limit");
	expect_400(tok, "audit?limit=-5", "limit");
	expect_400(tok, "certificates?limit=10x", "limit");
	expect_400(tok, "orgs?limit=%2B5", "limit");
	expect_400(tok, "verifications?limit=99999999999999999999", "limit");
	expect_400(tok, "audit?cursor=not*base64", "cursor");
	/* "audit:abc" and "audit:99999" (no such event) */
	expect_400(tok, "audit?cursor=YXVkaXQ6YWJj", "cursor");
	expect_400(tok, "audit?cursor=YXVkaXQ6OTk5OTk", "cursor");
	/* A cursor is good only for the list that gave it:
	 * "certificates:1" on the audit log. */
	expect_400(tok, "audit?cursor=Y2VydGlmaWNhdGVzOjE", "cursor");
	expect_400(tok, "orgs?cursor=YXVkaXQ6MQ", "cursor");

	/* The largest page is allowed, and a page of one gives a cursor
	 * that the next request accepts. */
	hoper(&srv, tok, "GET", "audit?limit=1000", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_null(hjstr(r.json, "next"));
	hresp_clear(&r);
	free(hsrv_token(&srv, "second", "auditor"));
	hoper(&srv, tok, "GET", "audit?limit=1", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(hjstr(r.json, "next"));
	cr_assert_eq(b64url_decode(hjstr(r.json, "next"),
	                 strlen(hjstr(r.json, "next")), &raw, &len),
	    KK_OK);
	cr_assert_eq(strncmp((char *)raw, "audit:", 6), 0);
	snprintf(path, sizeof(path), "audit?limit=1&cursor=%s",
	    hjstr(r.json, "next"));
	hresp_clear(&r);
	hoper(&srv, tok, "GET", path, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(
	    cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "events")), 1);
	cr_assert_null(hjstr(r.json, "next"));
	hresp_clear(&r);
	free(raw);
	free(tok);
}
