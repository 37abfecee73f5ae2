/*
 * The names of RFC 8555 states and RFC 5280 revocation reasons.
 */
#include <stddef.h>
#include <string.h>

#include "acme_status.h"

static const char *const status_names[] = {
    [ACME_STATUS_NONE] = "unknown",
    [ACME_STATUS_PENDING] = "pending",
    [ACME_STATUS_READY] = "ready",
    [ACME_STATUS_PROCESSING] = "processing",
    [ACME_STATUS_VALID] = "valid",
    [ACME_STATUS_INVALID] = "invalid",
    [ACME_STATUS_DEACTIVATED] = "deactivated",
    [ACME_STATUS_EXPIRED] = "expired",
    [ACME_STATUS_REVOKED] = "revoked",
};

#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *
acme_status_name(enum acme_status st)
{
	if ((size_t)st >= N_STATUS)
		return status_names[ACME_STATUS_NONE];
	return status_names[st];
}

enum acme_status
acme_status_parse(const char *s)
{
	if (s == NULL)
		return ACME_STATUS_NONE;
	for (size_t i = 1; i < N_STATUS; i++)
		if (strcmp(status_names[i], s) == 0)
			return (enum acme_status)i;
	return ACME_STATUS_NONE;
}

static const char *const reason_names[] = {
    [ACME_CRL_UNSPECIFIED] = "unspecified",
    [ACME_CRL_KEY_COMPROMISE] = "keyCompromise",
    [ACME_CRL_CA_COMPROMISE] = "cACompromise",
    [ACME_CRL_AFFILIATION_CHANGED] = "affiliationChanged",
    [ACME_CRL_SUPERSEDED] = "superseded",
    [ACME_CRL_CESSATION_OF_OPERATION] = "cessationOfOperation",
    [ACME_CRL_CERTIFICATE_HOLD] = "certificateHold",
    [ACME_CRL_REMOVE_FROM_CRL] = "removeFromCRL",
    [ACME_CRL_PRIVILEGE_WITHDRAWN] = "privilegeWithdrawn",
    [ACME_CRL_AA_COMPROMISE] = "aACompromise",
};

#define N_REASON (sizeof(reason_names) / sizeof(reason_names[0]))

const char *
acme_crl_reason_name(int code)
{
	if (code < 0 || (size_t)code >= N_REASON || reason_names[code] == NULL)
		return reason_names[ACME_CRL_UNSPECIFIED];
	return reason_names[code];
}

enum kk_status
acme_crl_reason_parse(const char *name, int *code)
{
	for (size_t i = 0; name != NULL && i < N_REASON; i++)
		if (reason_names[i] != NULL &&
		    strcmp(reason_names[i], name) == 0) {
			*code = (int)i;
			return KK_OK;
		}
	return KK_ENOTFOUND;
}

int
acme_crl_reason_allowed(int code, int subscriber)
{
	if (code < 0 || (size_t)code >= N_REASON || reason_names[code] == NULL)
		return 0;
	if (code == ACME_CRL_CERTIFICATE_HOLD ||
	    code == ACME_CRL_REMOVE_FROM_CRL)
		return 0;
	return !subscriber || (code != ACME_CRL_CA_COMPROMISE &&
	                          code != ACME_CRL_AA_COMPROMISE);
}
