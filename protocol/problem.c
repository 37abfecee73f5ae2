/*
 * problem.c - ACME error types (RFC 8555 section 6.7) and RFC 7807
 * problem documents.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"

#define URN_PREFIX "urn:ietf:params:acme:error:"
#define URN_PREFIX_LEN (sizeof(URN_PREFIX) - 1)

struct problem_type {
	const char *urn;
	int status;
};

/*
 * Indexed by enum acme_problem. RFC 8555 fixes few statuses: 403 for
 * unauthorized and for orderNotReady (section 7.4), 429 for rateLimited;
 * 500 for serverInternal and 403 for userActionRequired follow its
 * examples and RFC 7231; the rest are client errors.
 */
static const struct problem_type types[ACME_PROBLEM_COUNT] = {
    [ACME_ACCOUNT_DOES_NOT_EXIST] = {URN_PREFIX "accountDoesNotExist", 400},
    [ACME_ALREADY_REVOKED] = {URN_PREFIX "alreadyRevoked", 400},
    [ACME_ALREADY_REPLACED] = {URN_PREFIX "alreadyReplaced", 409},
    [ACME_BAD_CSR] = {URN_PREFIX "badCSR", 400},
    [ACME_BAD_NONCE] = {URN_PREFIX "badNonce", 400},
    [ACME_BAD_PUBLIC_KEY] = {URN_PREFIX "badPublicKey", 400},
    [ACME_BAD_REVOCATION_REASON] = {URN_PREFIX "badRevocationReason", 400},
    [ACME_BAD_SIGNATURE_ALGORITHM] = {URN_PREFIX "badSignatureAlgorithm", 400},
    [ACME_CAA] = {URN_PREFIX "caa", 400},
    [ACME_COMPOUND] = {URN_PREFIX "compound", 400},
    [ACME_CONNECTION] = {URN_PREFIX "connection", 400},
    [ACME_DNS] = {URN_PREFIX "dns", 400},
    [ACME_EXTERNAL_ACCOUNT_REQUIRED] = {URN_PREFIX "externalAccountRequired",
        400},
    [ACME_INCORRECT_RESPONSE] = {URN_PREFIX "incorrectResponse", 400},
    [ACME_INVALID_CONTACT] = {URN_PREFIX "invalidContact", 400},
    [ACME_INVALID_PROFILE] = {URN_PREFIX "invalidProfile", 400},
    [ACME_MALFORMED] = {URN_PREFIX "malformed", 400},
    [ACME_ORDER_NOT_READY] = {URN_PREFIX "orderNotReady", 403},
    [ACME_RATE_LIMITED] = {URN_PREFIX "rateLimited", 429},
    [ACME_REJECTED_IDENTIFIER] = {URN_PREFIX "rejectedIdentifier", 400},
    [ACME_SERVER_INTERNAL] = {URN_PREFIX "serverInternal", 500},
    [ACME_TLS] = {URN_PREFIX "tls", 400},
    [ACME_UNAUTHORIZED] = {URN_PREFIX "unauthorized", 403},
    [ACME_UNSUPPORTED_CONTACT] = {URN_PREFIX "unsupportedContact", 400},
    [ACME_UNSUPPORTED_IDENTIFIER] = {URN_PREFIX "unsupportedIdentifier", 400},
    [ACME_USER_ACTION_REQUIRED] = {URN_PREFIX "userActionRequired", 403},
};

/* An out-of-range type is a bug in the caller: report it as ours. */
static const struct problem_type *
type_of(enum acme_problem type)
{
	if ((unsigned)type >= ACME_PROBLEM_COUNT)
		return &types[ACME_SERVER_INTERNAL];
	return &types[type];
}

const char *
problem_type_urn(enum acme_problem type)
{
	return type_of(type)->urn;
}

const char *
problem_type_name(enum acme_problem type)
{
	return type_of(type)->urn + URN_PREFIX_LEN;
}

enum kk_status
problem_from_urn(const char *urn, enum acme_problem *out)
{
	int i;

	*out = ACME_SERVER_INTERNAL;
	if (urn == NULL)
		return KK_ENOTFOUND;
	for (i = 0; i < ACME_PROBLEM_COUNT; i++) {
		if (strcmp(types[i].urn, urn) == 0) {
			*out = (enum acme_problem)i;
			return KK_OK;
		}
	}
	return KK_ENOTFOUND;
}

int
problem_default_status(enum acme_problem type)
{
	return type_of(type)->status;
}

enum kk_status
problem_new(
    cJSON **out, enum acme_problem type, int status, const char *fmt, ...)
{
	cJSON *p = NULL;
	char *detail = NULL;
	va_list ap;
	int n;
	enum kk_status st = KK_EINVAL;

	*out = NULL;
	if (status == 0)
		status = problem_default_status(type);
	if (status < 400 || status > 599)
		goto out;
	if (fmt != NULL) {
		va_start(ap, fmt);
		n = vsnprintf(NULL, 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			goto out;
		st = KK_ENOMEM;
		if ((detail = malloc((size_t)n + 1)) == NULL)
			goto out;
		va_start(ap, fmt);
		vsnprintf(detail, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	st = KK_ENOMEM;
	if ((p = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(p, "type", problem_type_urn(type)) ==
	        NULL ||
	    (detail != NULL &&
	        cJSON_AddStringToObject(p, "detail", detail) == NULL) ||
	    cJSON_AddNumberToObject(p, "status", status) == NULL)
		goto out;
	*out = p;
	p = NULL;
	st = KK_OK;
out:
	cJSON_Delete(p);
	free(detail);
	return st;
}

enum kk_status
problem_add_subproblem(cJSON *problem, enum acme_problem type,
    const char *id_type, const char *id_value, const char *detail)
{
	cJSON *subs, *sub = NULL, *id;
	enum kk_status st = KK_EINVAL;

	if (!cJSON_IsObject(problem) || id_type == NULL || id_value == NULL)
		goto out;
	subs = cJSON_GetObjectItemCaseSensitive(problem, "subproblems");
	if (subs != NULL && !cJSON_IsArray(subs))
		goto out;

	st = KK_ENOMEM;
	if ((sub = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(sub, "type", problem_type_urn(type)) ==
	        NULL ||
	    (detail != NULL &&
	        cJSON_AddStringToObject(sub, "detail", detail) == NULL) ||
	    (id = cJSON_AddObjectToObject(sub, "identifier")) == NULL ||
	    cJSON_AddStringToObject(id, "type", id_type) == NULL ||
	    cJSON_AddStringToObject(id, "value", id_value) == NULL)
		goto out;
	if (subs == NULL &&
	    (subs = cJSON_AddArrayToObject(problem, "subproblems")) == NULL)
		goto out;
	if (!cJSON_AddItemToArray(subs, sub))
		goto out;
	sub = NULL;
	st = KK_OK;
out:
	cJSON_Delete(sub);
	return st;
}

enum kk_status
problem_add_algorithms(cJSON *problem, const char *const *algorithms)
{
	cJSON *list = NULL, *s;
	size_t i;
	enum kk_status st = KK_EINVAL;

	if (!cJSON_IsObject(problem) || algorithms == NULL)
		goto out;
	st = KK_ENOMEM;
	if ((list = cJSON_CreateArray()) == NULL)
		goto out;
	for (i = 0; algorithms[i] != NULL; i++) {
		if ((s = cJSON_CreateString(algorithms[i])) == NULL ||
		    !cJSON_AddItemToArray(list, s)) {
			cJSON_Delete(s);
			goto out;
		}
	}
	/* Replace rather than duplicate: one "algorithms" member only. */
	cJSON_DeleteItemFromObjectCaseSensitive(problem, "algorithms");
	if (!cJSON_AddItemToObject(problem, "algorithms", list))
		goto out;
	list = NULL;
	st = KK_OK;
out:
	cJSON_Delete(list);
	return st;
}

int
problem_status(const cJSON *problem)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(problem, "status");
	double v;

	if (!cJSON_IsNumber(s))
		return 500;
	v = s->valuedouble;
	if (!(v >= 100 && v <= 599) || v != (int)v)
		return 500;
	return (int)v;
}
