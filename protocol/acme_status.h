/*
 * acme_status.h - the states of ACME resources (RFC 8555 section 7.1.6)
 * and of the server's own records, and the RFC 5280 CRLReason codes, as
 * enums shared by the server and the client. Code compares enums; the
 * strings exist only where JSON is read or written and in the database.
 */
#ifndef ACME_STATUS_H
#define ACME_STATUS_H

#include "kk_status.h"

/*
 * One set for every resource, since RFC 8555 gives the same state the
 * same name everywhere: accounts are valid, deactivated or revoked;
 * orders pending, ready, processing, valid or invalid; authorizations
 * pending, valid, invalid, deactivated, expired or revoked; challenges and
 * operator verifications pending, processing, valid or invalid;
 * certificates valid or revoked.
 */
enum acme_status {
	ACME_STATUS_NONE = 0, /* unset, or a string this code does not know */
	ACME_STATUS_PENDING,
	ACME_STATUS_READY,
	ACME_STATUS_PROCESSING,
	ACME_STATUS_VALID,
	ACME_STATUS_INVALID,
	ACME_STATUS_DEACTIVATED,
	ACME_STATUS_EXPIRED,
	ACME_STATUS_REVOKED,
};

/* "valid" etc.; static. ACME_STATUS_NONE (or a value out of range) is
 * "unknown", which no resource ever has. */
const char *acme_status_name(enum acme_status st);

/* The status named s (NULL allowed): ACME_STATUS_NONE when unknown. */
enum acme_status acme_status_parse(const char *s);

/* RFC 5280 section 5.3.1 CRLReason; 7 is not used. */
enum acme_crl_reason {
	ACME_CRL_UNSPECIFIED = 0,
	ACME_CRL_KEY_COMPROMISE = 1,
	ACME_CRL_CA_COMPROMISE = 2,
	ACME_CRL_AFFILIATION_CHANGED = 3,
	ACME_CRL_SUPERSEDED = 4,
	ACME_CRL_CESSATION_OF_OPERATION = 5,
	ACME_CRL_CERTIFICATE_HOLD = 6,
	ACME_CRL_REMOVE_FROM_CRL = 8,
	ACME_CRL_PRIVILEGE_WITHDRAWN = 9,
	ACME_CRL_AA_COMPROMISE = 10,
};

/* The RFC 5280 name ("keyCompromise"); static. "unspecified" for codes
 * that are not CRLReasons. */
const char *acme_crl_reason_name(int code);

/* The code named name: KK_OK, or KK_ENOTFOUND if it is no CRLReason. */
enum kk_status acme_crl_reason_parse(const char *name, int *code);

/*
 * 1 when a revocation may be asked for with this reason: never a hold or
 * removeFromCRL (this CA revokes for good) or 7; a subscriber (an ACME
 * client, subscriber = 1) cannot speak for a CA or attribute authority
 * compromise either, an operator can.
 */
int acme_crl_reason_allowed(int code, int subscriber);

#endif
