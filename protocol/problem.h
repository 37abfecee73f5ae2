/*
 * problem.h - ACME error types (RFC 8555 section 6.7) and RFC 7807 problem
 * documents, shared by the server (which builds them) and the client
 * (which names them).
 */
#ifndef PROBLEM_H
#define PROBLEM_H

#include <cjson/cJSON.h>

#include "kk_status.h"

#define PROBLEM_CONTENT_TYPE "application/problem+json"

enum acme_problem {
	ACME_ACCOUNT_DOES_NOT_EXIST,
	ACME_ALREADY_REVOKED,
	ACME_ALREADY_REPLACED, /* RFC 9773 */
	ACME_BAD_CSR,
	ACME_BAD_NONCE,
	ACME_BAD_PUBLIC_KEY,
	ACME_BAD_REVOCATION_REASON,
	ACME_BAD_SIGNATURE_ALGORITHM,
	ACME_CAA,
	ACME_COMPOUND,
	ACME_CONNECTION,
	ACME_DNS,
	ACME_EXTERNAL_ACCOUNT_REQUIRED,
	ACME_INCORRECT_RESPONSE,
	ACME_INVALID_CONTACT,
	ACME_INVALID_PROFILE, /* draft-ietf-acme-profiles */
	ACME_MALFORMED,
	ACME_ORDER_NOT_READY,
	ACME_RATE_LIMITED,
	ACME_REJECTED_IDENTIFIER,
	ACME_SERVER_INTERNAL,
	ACME_TLS,
	ACME_UNAUTHORIZED,
	ACME_UNSUPPORTED_CONTACT,
	ACME_UNSUPPORTED_IDENTIFIER,
	ACME_USER_ACTION_REQUIRED,
	ACME_PROBLEM_COUNT
};

/* "urn:ietf:params:acme:error:malformed" etc.; static, never NULL. */
const char *problem_type_urn(enum acme_problem type);

/*
 * The short name after the last colon ("malformed"), static. Parses a
 * full URN back with problem_from_urn: KK_ENOTFOUND if it is not an ACME
 * error type.
 */
const char *problem_type_name(enum acme_problem type);
enum kk_status problem_from_urn(const char *urn, enum acme_problem *out);

/*
 * The HTTP status RFC 8555 implies for the type (400 for most, 403
 * unauthorized, 429 rateLimited, 500 serverInternal, ...).
 */
int problem_default_status(enum acme_problem type);

/*
 * Builds {"type": urn, "detail": printf(fmt, ...), "status": status}.
 * status 0 means problem_default_status(type). *out is owned by the caller
 * (cJSON_Delete).
 */
enum kk_status problem_new(cJSON **out, enum acme_problem type, int status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Appends {"type", "detail", "identifier": {"type", "value"}} to the
 * problem's "subproblems" array (RFC 8555 section 6.7.1), creating it.
 */
enum kk_status problem_add_subproblem(cJSON *problem, enum acme_problem type,
    const char *id_type, const char *id_value, const char *detail);

/* Sets "algorithms" (for badSignatureAlgorithm) from a NULL-ended list. */
enum kk_status problem_add_algorithms(
    cJSON *problem, const char *const *algorithms);

/* The "status" member of a problem built here, 500 when missing. */
int problem_status(const cJSON *problem);

#endif
