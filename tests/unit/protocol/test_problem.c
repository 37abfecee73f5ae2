#include <string.h>

#include <criterion/criterion.h>

#include "jws.h"
#include "problem.h"

static const char prefix[] = "urn:ietf:params:acme:error:";

/* RFC 8555 section 6.7's table (and RFC 9773's alreadyReplaced and
 * draft-ietf-acme-profiles' invalidProfile), in the enum's order. */
static const char *const rfc_names[] = {"accountDoesNotExist", "alreadyRevoked",
    "alreadyReplaced", "badCSR", "badNonce", "badPublicKey",
    "badRevocationReason", "badSignatureAlgorithm", "caa", "compound",
    "connection", "dns", "externalAccountRequired", "incorrectResponse",
    "invalidContact", "invalidProfile", "malformed", "orderNotReady",
    "rateLimited", "rejectedIdentifier", "serverInternal", "tls",
    "unauthorized", "unsupportedContact", "unsupportedIdentifier",
    "userActionRequired"};

Test(problem, every_type_has_its_urn)
{
	enum acme_problem t, back;
	char want[128];

	cr_assert_eq(
	    sizeof(rfc_names) / sizeof(rfc_names[0]), ACME_PROBLEM_COUNT);
	for (t = 0; t < ACME_PROBLEM_COUNT; t++) {
		snprintf(want, sizeof(want), "%s%s", prefix, rfc_names[t]);
		cr_assert_str_eq(problem_type_urn(t), want);
		cr_assert_str_eq(problem_type_name(t), rfc_names[t]);
		cr_assert_eq(problem_from_urn(want, &back), KK_OK);
		cr_assert_eq(back, t);
	}
}

Test(problem, from_urn_refuses_others)
{
	enum acme_problem t;

	cr_assert_eq(problem_from_urn("malformed", &t), KK_ENOTFOUND);
	cr_assert_eq(
	    problem_from_urn("urn:ietf:params:acme:error:Malformed", &t),
	    KK_ENOTFOUND);
	cr_assert_eq(
	    problem_from_urn("urn:ietf:params:acme:error:", &t), KK_ENOTFOUND);
	cr_assert_eq(problem_from_urn("about:blank", &t), KK_ENOTFOUND);
	cr_assert_eq(problem_from_urn(NULL, &t), KK_ENOTFOUND);
}

Test(problem, default_statuses)
{
	enum acme_problem t;

	cr_assert_eq(problem_default_status(ACME_BAD_NONCE), 400);
	cr_assert_eq(problem_default_status(ACME_UNAUTHORIZED), 403);
	cr_assert_eq(problem_default_status(ACME_RATE_LIMITED), 429);
	cr_assert_eq(problem_default_status(ACME_SERVER_INTERNAL), 500);
	cr_assert_eq(problem_default_status(ACME_ACCOUNT_DOES_NOT_EXIST), 400);
	cr_assert_eq(problem_default_status(ACME_ORDER_NOT_READY), 403);
	cr_assert_eq(problem_default_status(ACME_USER_ACTION_REQUIRED), 403);
	cr_assert_eq(
	    problem_default_status(ACME_EXTERNAL_ACCOUNT_REQUIRED), 400);
	cr_assert_eq(problem_default_status(ACME_MALFORMED), 400);
	for (t = 0; t < ACME_PROBLEM_COUNT; t++) {
		int s = problem_default_status(t);

		cr_assert(s >= 400 && s <= 599, "%s: %d", rfc_names[t], s);
	}
}

Test(problem, out_of_range_type_is_server_internal)
{
	cr_assert_str_eq(
	    problem_type_name(ACME_PROBLEM_COUNT), "serverInternal");
	cr_assert_eq(problem_default_status((enum acme_problem) - 1), 500);
}

Test(problem, new_formats_detail_and_status)
{
	cJSON *p = NULL, *s;

	cr_assert_eq(
	    problem_new(&p, ACME_BAD_NONCE, 0, "nonce %s is %d%%", "abc", 42),
	    KK_OK);
	cr_assert_str_eq(
	    cJSON_GetObjectItemCaseSensitive(p, "type")->valuestring,
	    "urn:ietf:params:acme:error:badNonce");
	cr_assert_str_eq(
	    cJSON_GetObjectItemCaseSensitive(p, "detail")->valuestring,
	    "nonce abc is 42%");
	s = cJSON_GetObjectItemCaseSensitive(p, "status");
	cr_assert(cJSON_IsNumber(s));
	cr_assert_eq(s->valueint, 400);
	cr_assert_eq(problem_status(p), 400);
	cJSON_Delete(p);

	cr_assert_eq(problem_new(&p, ACME_MALFORMED, 415, "%s", "x"), KK_OK);
	cr_assert_eq(problem_status(p), 415);
	cJSON_Delete(p);
}

Test(problem, long_detail_is_not_truncated)
{
	char big[5000];
	cJSON *p = NULL;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(problem_new(&p, ACME_MALFORMED, 0, "<%s>", big), KK_OK);
	cr_assert_eq(
	    strlen(cJSON_GetObjectItemCaseSensitive(p, "detail")->valuestring),
	    sizeof(big) + 1);
	cJSON_Delete(p);
}

Test(problem, invalid_status_is_refused)
{
	cJSON *p = (cJSON *)1;

	cr_assert_eq(problem_new(&p, ACME_MALFORMED, 200, "ok?"), KK_EINVAL);
	cr_assert_null(p);
	cr_assert_eq(problem_new(&p, ACME_MALFORMED, 600, "x"), KK_EINVAL);
}

Test(problem, status_of_foreign_documents)
{
	cJSON *p = cJSON_Parse("{\"type\":\"about:blank\"}");

	cr_assert_eq(problem_status(p), 500, "missing");
	cJSON_AddStringToObject(p, "status", "404");
	cr_assert_eq(problem_status(p), 500, "not a number");
	cJSON_Delete(p);
	p = cJSON_Parse("{\"status\":404.5}");
	cr_assert_eq(problem_status(p), 500, "not an integer");
	cJSON_Delete(p);
	p = cJSON_Parse("{\"status\":99999}");
	cr_assert_eq(problem_status(p), 500, "out of range");
	cJSON_Delete(p);
	cr_assert_eq(problem_status(NULL), 500);
}

Test(problem, subproblems)
{
	cJSON *p = NULL, *subs, *sub, *id;

	cr_assert_eq(problem_new(&p, ACME_COMPOUND, 0, "two problems"), KK_OK);
	cr_assert_eq(problem_add_subproblem(p, ACME_REJECTED_IDENTIFIER, "dns",
	                 "a.example", "not ours"),
	    KK_OK);
	cr_assert_eq(problem_add_subproblem(
	                 p, ACME_MALFORMED, "dns", "b..example", NULL),
	    KK_OK);
	subs = cJSON_GetObjectItemCaseSensitive(p, "subproblems");
	cr_assert(cJSON_IsArray(subs));
	cr_assert_eq(cJSON_GetArraySize(subs), 2);
	sub = cJSON_GetArrayItem(subs, 0);
	cr_assert_str_eq(
	    cJSON_GetObjectItemCaseSensitive(sub, "type")->valuestring,
	    "urn:ietf:params:acme:error:rejectedIdentifier");
	cr_assert_str_eq(
	    cJSON_GetObjectItemCaseSensitive(sub, "detail")->valuestring,
	    "not ours");
	id = cJSON_GetObjectItemCaseSensitive(sub, "identifier");
	cr_assert_str_eq(
	    cJSON_GetObjectItemCaseSensitive(id, "type")->valuestring, "dns");
	cr_assert_str_eq(
	    cJSON_GetObjectItemCaseSensitive(id, "value")->valuestring,
	    "a.example");
	sub = cJSON_GetArrayItem(subs, 1);
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(sub, "detail"));

	/* A "subproblems" that is not an array is not silently replaced. */
	cJSON_DeleteItemFromObjectCaseSensitive(p, "subproblems");
	cJSON_AddStringToObject(p, "subproblems", "oops");
	cr_assert_eq(
	    problem_add_subproblem(p, ACME_MALFORMED, "dns", "c", NULL),
	    KK_EINVAL);
	cJSON_Delete(p);
}

Test(problem, algorithms)
{
	cJSON *p = NULL, *list;
	const char *const one[] = {"ES256", NULL};
	int i;

	cr_assert_eq(problem_new(&p, ACME_BAD_SIGNATURE_ALGORITHM, 0,
	                 "alg %s is not accepted", "HS256"),
	    KK_OK);
	cr_assert_eq(problem_add_algorithms(p, one), KK_OK);
	cr_assert_eq(problem_add_algorithms(p, jws_algorithms), KK_OK);
	list = cJSON_GetObjectItemCaseSensitive(p, "algorithms");
	cr_assert(cJSON_IsArray(list));
	for (i = 0; jws_algorithms[i] != NULL; i++)
		cr_assert_str_eq(cJSON_GetArrayItem(list, i)->valuestring,
		    jws_algorithms[i]);
	cr_assert_eq(cJSON_GetArraySize(list), i, "replaced, not appended");
	/* Only one "algorithms" member. */
	cr_assert_eq(cJSON_GetArraySize(p), 4);
	cJSON_Delete(p);
}
