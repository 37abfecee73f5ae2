/*
 * policy.h - the CA's policy: which organizations may enroll, how they are
 * verified, what certificates they get, and the rate limits. Loaded once
 * at start from one JSON file (policy/default.json is the default); any
 * invalid field stops the server with a message naming it.
 */
#ifndef POLICY_H
#define POLICY_H

#include <regex.h>
#include <stddef.h>

#include "kk_status.h"

#define POLICY_METHOD_PHONE 0x1
#define POLICY_METHOD_DOCUMENT 0x2

/* Key type bits; names as in csr.h and the client's --key-type. */
#define POLICY_KEY_EC_P256 0x01
#define POLICY_KEY_EC_P384 0x02
#define POLICY_KEY_RSA_2048 0x04
#define POLICY_KEY_RSA_3072 0x08
#define POLICY_KEY_RSA_4096 0x10
#define POLICY_KEY_ED25519 0x20

/* Identifier types a profile takes. */
#define POLICY_ID_ORG 0x1
#define POLICY_ID_DNS 0x2

/* Extended key usages a profile gives. */
#define POLICY_EKU_CLIENT 0x1
#define POLICY_EKU_SERVER 0x2

struct policy_profile {
	char *name;
	char *description;  /* "" when the file gives none */
	int validity_days;  /* 1..825 */
	unsigned key_types; /* POLICY_KEY_* bits, at least one */
	char *cn_pattern;   /* POSIX extended regex, anchored by the loader */
	regex_t cn_re;
	unsigned identifiers; /* POLICY_ID_* bits, default org only */
	int mixed;            /* one org identifier with dns names allowed */
	int dns_unbound;      /* accounts bound to no organization may order
	                         dns names alone (subject: CN only) */
	unsigned eku;         /* POLICY_EKU_* bits, default clientAuth */
};

struct policy {
	char *org_pattern; /* POSIX ERE for org identifier values */
	regex_t org_re;
	int ntrjp_check_digit; /* verify NTRJP- check digits (default 1) */
	unsigned methods;      /* POLICY_METHOD_* bits */
	int verification_lifetime_days; /* default 397 */
	int approvals_required;         /* 1 or 2 */
	int eab_required;
	int orders_per_account_per_hour;  /* 0 = unlimited */
	int new_accounts_per_ip_per_hour; /* 0 = unlimited */
	int order_lifetime_hours; /* pending order/authz life, default 168 */
	char *terms_of_service;   /* URL for the directory meta, or NULL */
	char *website;            /* URL, or NULL */
	char *instructions;       /* text for the oob-01 href page */
	/* Seconds a client waits before asking for a certificate's renewal
	 * information again (RFC 9773 Retry-After); default 21600. */
	int renewal_info_retry_after;
	struct policy_profile *profiles; /* the first is the default */
	size_t n_profiles;
};

/*
 * Reads and validates the policy at path. On failure *err (caller frees)
 * names the file and the field, e.g. "policy.json: profiles[0].validity_days:
 * must be an integer from 1 to 825". *out is released with policy_free().
 * KK_EIO: unreadable; KK_ETOOBIG: over 64 KiB; KK_EINVAL: invalid;
 * KK_ENOMEM (then *err may be NULL). err may be NULL. Fields and defaults:
 * policy/README.md.
 */
enum kk_status policy_load(const char *path, struct policy **out, char **err);
void policy_free(struct policy *p);

/*
 * Checks an org identifier value: KK_EINVAL when it is NULL, empty or
 * over 128 bytes, does not match the pattern or (for NTRJP- values, when
 * enabled) fails the corporate-number check digit. *why (static string,
 * NULL on success; why itself may be NULL) says which.
 */
enum kk_status policy_check_org(
    const struct policy *p, const char *value, const char **why);

/* The 13-digit Japanese corporate number check: 1 valid, 0 not. */
int policy_ntrjp_valid(const char *digits);

/* The named profile, or the default one for NULL; NULL if unknown. */
const struct policy_profile *policy_profile(
    const struct policy *p, const char *name);

/* 1 when the profile's CN pattern accepts cn, at most 64 bytes. */
int policy_cn_ok(const struct policy_profile *pr, const char *cn);

/* The POLICY_KEY_* bit for a key type name, 0 if unknown. */
unsigned policy_key_bit(const char *key_type);

#endif
