/*
 * ra.h - the registration authority: the only code that changes the state
 * of accounts, orders, authorizations, challenges, verifications,
 * organizations and certificates. The ACME handlers and the operator API
 * parse a request, call one ra_* function and render what it returns.
 *
 * Every ra_* function that changes something is one store transaction: it
 * reads the records it decides on inside the transaction, checks every
 * rule against them, makes the change and appends its audit event, and
 * commits all of it or nothing. A rule checked once, here, holds on every
 * path.
 *
 * Conventions:
 * - Returns KK_OK or: KK_ENOTFOUND (a named record does not exist),
 *   KK_ECONFLICT (a rule refuses: *why, a static sentence for a problem
 *   detail, says which), KK_ENOMEM, KK_EIO (storage), KK_ECRYPTO (the CA),
 *   and the few others a function documents (KK_ELIMIT for rate limits,
 *   KK_EEXIST and KK_EINVAL for dual control). why may be NULL; it is left
 *   NULL on success.
 * - actor is what the audit log records: an operator's name, or
 *   "acme:<account id>" (ra_actor makes it).
 * - Inputs are borrowed. Records returned in *out are owned by the caller
 *   and released with their model.h *_free; on failure *out is NULL.
 */
#ifndef RA_H
#define RA_H

#include <time.h>

#include <openssl/evp.h>

#include "ca.h"
#include "crl.h"
#include "eab.h"
#include "kk_status.h"
#include "model.h"
#include "notify_conf.h"
#include "policy.h"
#include "problem.h"
#include "store.h"

struct ra {
	struct store *store;         /* borrowed */
	struct ca *ca;               /* borrowed */
	const struct policy *policy; /* borrowed */
	struct crl *crl;             /* borrowed: refreshed on revocation */
	char *crl_url;               /* owned: distribution point of leaves */
	/* borrowed, NULL: no notifications (ra_notify.h) */
	const struct notify_conf *notify;
};

/* Fills ra; crl_url is copied. Released with ra_clear. */
enum kk_status ra_init(struct ra *ra, struct store *st, struct ca *ca,
    const struct policy *pol, struct crl *crl, const char *crl_url);
void ra_clear(struct ra *ra);

/* "acme:<account_id>", or "acme:certificate-key" for NULL; caller frees.
 * NULL when out of memory. */
char *ra_actor(const char *account_id);

/*
 * Finalize (RFC 8555 7.4): issues a certificate for key and cn (the CSR,
 * already checked against the order and its profile) on order_id of
 * account_id, and makes the order valid. Inside the issuing transaction
 * it requires: the account valid and bound to the order's organization
 * (by EAB or by its own approved verification), the order ready and not
 * expired, its authorization valid and not expired, the organization's
 * verification current (not expired, not suspended). The leaf is signed
 * inside the transaction too, so that no suspension or revocation can
 * slip between the checks and the issuance (the store's lock is held for
 * one signature). *out: the order as now stored.
 */
enum kk_status ra_order_finalize(struct ra *ra, const char *account_id,
    const char *order_id, EVP_PKEY *key, const char *cn, time_t now,
    struct order **out, const char **why);

/* What a suspension changed. */
struct ra_suspension {
	int orders; /* ready orders made invalid */
	int authzs; /* valid authorizations revoked */
	int certs;  /* certificates revoked (privilegeWithdrawn) */
};

/*
 * Withdraws an organization's verification at once: it expires now, its
 * ready orders become invalid and its valid authorizations revoked, so
 * that nothing issues until an operator verifies it again; with
 * revoke_certs, its valid certificates are revoked as privilegeWithdrawn,
 * in the same transaction, and the CRL regenerated. reason is the
 * operator's text for the audit log. *out (may be NULL) gets the
 * organization, *done (may be NULL) the counts.
 */
enum kk_status ra_org_suspend(struct ra *ra, const char *actor,
    const char *org_id, const char *reason, int revoke_certs, time_t now,
    struct org **out, struct ra_suspension *done);

/*
 * Revokes a certificate with an RFC 5280 reason code, for ACME revokeCert
 * and the operator API alike: the caller has checked that actor may. The
 * audit event "cert.revoke" has the detail {"reason": "<RFC 5280 name>"}.
 * KK_ECONFLICT if it is already revoked. Regenerates the CRL after the
 * commit.
 */
enum kk_status ra_cert_revoke(struct ra *ra, const char *actor,
    const char *serial, int reason, time_t now, const char **why);

/*
 * newOrder for account_id (which must be valid) for one org identifier
 * (already accepted by the policy) and a profile name: a pending order
 * with a pending authorization and oob-01 challenge or, when the account
 * is bound to the organization and its verification is current, a ready
 * order whose authorization is valid at once. A valid authorization the
 * account holds for the identifier already (e.g. from newAuthz) is reused:
 * the order is ready at once. KK_ELIMIT when the account has placed the
 * policy's orders_per_account_per_hour already.
 *
 * replaces (RFC 9773; NULL for none) is the serial of the certificate the
 * order replaces, recorded with the order: KK_ENOTFOUND when no such
 * certificate exists, KK_ECONFLICT (*why) when it belongs to another
 * account, KK_EINVAL (*why) when it shares no identifier with the order,
 * KK_EEXIST when an order that is not invalid replaces it already.
 */
enum kk_status ra_order_new(struct ra *ra, const char *account_id,
    const char *org, const char *profile, const char *replaces, time_t now,
    struct order **out, const char **why);

/*
 * The client deactivates its authorization (RFC 8555 7.5.2): pending or
 * valid becomes deactivated, its pending or ready order invalid, and a
 * verification still waiting for an operator leaves the queue.
 * KK_ECONFLICT in any other state. *out: the authorization now.
 */
enum kk_status ra_authz_deactivate(struct ra *ra, const char *account_id,
    const char *authz_id, time_t now, struct authz **out, const char **why);

/*
 * The client asks for validation of its oob-01 challenge: a pending
 * challenge of a pending, unexpired authorization becomes processing and
 * a verification enters the operator queue. In any other state nothing
 * changes (a repeated POST is harmless). *out: the challenge now.
 */
enum kk_status ra_challenge_respond(struct ra *ra, const char *account_id,
    const char *challenge_id, time_t now, struct challenge **out);

/*
 * An operator's approval, with the verified data in ap (operator_name is
 * op; the caller has checked the fields). With dual control the first
 * approval only records; the last one completes the verification: the
 * challenge and authorization valid until now + the verification
 * lifetime, the order ready, the organization verified with ap's data and
 * the account bound to it if it speaks for no organization yet. Refusals:
 * KK_ECONFLICT, the verification is decided already, or its request was
 * withdrawn (then it is closed, committed, and *why says so); KK_EEXIST,
 * op approved it already (dual control needs another operator);
 * KK_EINVAL, ap's legal name or country differ from the first approval's.
 * The completing approval is announced (ra_notify.h) in its transaction,
 * as are queued verifications and rejections. *out: the verification now.
 */
enum kk_status ra_verification_approve(struct ra *ra, const char *op,
    const char *id, const struct approval *ap, time_t now,
    struct verification **out, const char **why);

/*
 * An operator's rejection: the verification, challenge, authorization and
 * order invalid, the challenge and order with an unauthorized problem
 * whose detail is reason. KK_ECONFLICT when already decided.
 */
enum kk_status ra_verification_reject(struct ra *ra, const char *op,
    const char *id, const char *reason, time_t now, struct verification **out,
    const char **why);

/* A newAccount request, its fields checked by the caller. */
struct ra_account_req {
	EVP_PKEY *key;        /* the account's public key */
	const char *contacts; /* JSON array text */
	const char *ip;       /* where it came from, for the rate limit */
	int tos_agreed;
	const struct eab *eab; /* parsed externalAccountBinding, or NULL */
	const char *url;       /* the newAccount URL the EAB must name */
};

/*
 * newAccount (RFC 8555 7.3): a valid account for req->key, bound to the
 * EAB key's organization when req->eab verifies (its use counted in the
 * same transaction). *created is 1 for a new account and 0 when one
 * exists for the key already (returned unchanged, RFC 8555 7.3.1).
 * KK_ECONFLICT, *why: the existing account is deactivated, or the EAB is
 * unknown, expired, used up or does not verify. KK_ELIMIT: the policy's
 * new accounts per IP per hour were made from req->ip.
 */
enum kk_status ra_account_new(struct ra *ra, const struct ra_account_req *req,
    time_t now, struct account **out, int *created, const char **why);

/*
 * The account's own update (RFC 8555 7.3.2, 7.3.6): new contacts (JSON
 * array text, NULL to keep them) and/or deactivation, which is final.
 * KK_ECONFLICT when the account is not valid.
 */
enum kk_status ra_account_update(struct ra *ra, const char *account_id,
    const char *contacts, int deactivate, time_t now, struct account **out,
    const char **why);

/*
 * Key rollover (RFC 8555 7.3.5) to new_key, whose inner JWS the caller
 * verified. KK_EEXIST when the key belongs to an account already;
 * KK_ECONFLICT when the account was deactivated since the request was
 * authenticated.
 */
enum kk_status ra_account_key_change(struct ra *ra, const char *account_id,
    EVP_PKEY *new_key, time_t now, struct account **out);

/*
 * A new EAB key for org_id (accepted by the policy; it need not be
 * verified yet: under a policy that requires EAB the key is how its first
 * account gets in at all). expires 0 = never, max_uses 0 = unlimited.
 * *kid and *hmac_b64 (the key, base64url, shown once) are the caller's:
 * it wipes *hmac_b64 before freeing it. The audit log gets the kid, never
 * the key.
 */
enum kk_status ra_eab_create(struct ra *ra, const char *op, const char *org_id,
    time_t expires, int max_uses, time_t now, char **kid, char **hmac_b64);

/* A leaked or no longer needed EAB key stops working at now. */
enum kk_status ra_eab_revoke(
    struct ra *ra, const char *op, const char *kid, time_t now);

/*
 * Operator tokens, for `kakuin-server token`. These two use only
 * ra->store, so a command that loads no CA may fill just that member.
 * Create: name is letters, digits and "-_." (KK_EINVAL otherwise, or for a
 * role other than "operator" and "auditor"; KK_EEXIST if an active token
 * has the name); *token (caller wipes and frees; shown once) is 43
 * base64url characters of which only the SHA-256 is stored. Revoke:
 * KK_ENOTFOUND if no active token has the name.
 */
enum kk_status ra_token_create(struct ra *ra, const char *actor,
    const char *name, const char *role, time_t now, char **token);
enum kk_status ra_token_revoke(
    struct ra *ra, const char *actor, const char *name, time_t now);

/*
 * Expires what time has overtaken (RFC 8555 7.1.6): pending and ready
 * orders become invalid, pending and valid authorizations expired, in one
 * transaction with one "expiry.sweep" audit event naming how many records
 * changed (none when nothing did). *n (may be NULL) gets that number.
 */
enum kk_status ra_expire(struct ra *ra, time_t now, int *n);

/* dns identifiers (ra_dns.c). */

/* A newOrder with dns names, checked by the caller (dnsname_check, the
 * profile's identifier types, the org identifier by the policy). */
struct ra_dns_order {
	const char *account_id;
	const char *org;          /* the one org identifier's value, or NULL */
	const char *const *names; /* at least one, no duplicates */
	size_t n_names;
	const struct policy_profile *profile;
	const char *replaces; /* RFC 9773: the serial it replaces, or NULL */
};

/*
 * newOrder for dns names (RFC 8555 7.4), with or without an org
 * identifier: a pending order with one authorization per identifier
 * (the org identifier's first, as ra_order_new makes it; then each name's
 * with http-01, dns-01 and tls-alpn-01 challenges). The certificate will
 * name the org identifier's organization or, for names alone, the one
 * the account is bound to, whose verification must be current; an
 * account bound to none may order names alone only where the profile
 * allows it (then the order's org is ""). KK_ECONFLICT with *why when
 * refused; KK_ELIMIT as ra_order_new.
 */
enum kk_status ra_order_new_dns(struct ra *ra, const struct ra_dns_order *req,
    time_t now, struct order **out, const char **why);

/* 1 for the challenge types a dns authorization has, else 0. */
int ra_dns_challenge_type(const char *type);

/*
 * The client asks for validation of an http-01, dns-01 or tls-alpn-01
 * challenge: a pending challenge of a pending, unexpired authorization
 * with no other challenge being validated becomes processing (audited
 * "challenge.start"; a validation begun over 600 s ago was abandoned by
 * a stopped server and no longer counts); then *authz is its
 * authorization and the caller
 * validates and reports with ra_challenge_result. In any other state
 * nothing changes, *out is the challenge as it is (possibly processing,
 * when another request validates it) and *authz stays NULL: the caller
 * validates only when *authz is set. Both outputs are the caller's.
 */
enum kk_status ra_challenge_start(struct ra *ra, const char *account_id,
    const char *challenge_id, time_t now, struct challenge **out,
    struct authz **authz);

/* What the validation authority found. */
struct ra_va_result {
	int valid;
	enum acme_problem problem; /* when not valid */
	const char *detail;        /* when not valid: for the client */
};

/*
 * Records a validation: the challenge valid or invalid (with the
 * problem), its authorization likewise, and the order ready once all its
 * authorizations are valid, or invalid with the same problem. Audited
 * "challenge.validate". KK_ECONFLICT if the challenge is not processing.
 */
enum kk_status ra_challenge_result(struct ra *ra, const char *account_id,
    const char *challenge_id, const struct ra_va_result *res, time_t now,
    struct challenge **out);
/* --- Renewal information (RFC 9773, ARI; ra_ari.c) --- */

/* A suggested renewal window. */
struct ra_window {
	time_t start;
	time_t end;
	int moved; /* set by an operator, not derived from the validity */
};

/*
 * The suggested window of certificate serial: the one an operator
 * set, if any; for a revoked certificate one that has passed (renew at
 * once); otherwise the default, from a third of the lifetime left to a
 * sixth left. Read only. KK_ENOTFOUND for an unknown serial.
 */
enum kk_status ra_renewal_window(
    struct ra *ra, const char *serial, struct ra_window *out);

/* A mass-renewal drill: which certificates, and the window they get. */
struct ra_window_move {
	const char *org;            /* every valid certificate of it, or */
	const char *const *serials; /* these (n_serials of them) */
	size_t n_serials;
	time_t start, end;  /* start < end */
	const char *reason; /* for the audit log, may be NULL */
};

/*
 * Moves the suggested window of the chosen certificates, in one
 * transaction with one "cert.renewal_window" audit event per certificate.
 * KK_ENOTFOUND when a listed serial is unknown (*missing names it,
 * borrowed from m; nothing changes). *moved counts the certificates.
 */
enum kk_status ra_renewal_window_move(struct ra *ra, const char *actor,
    const struct ra_window_move *m, time_t now, int *moved,
    const char **missing);

/* --- Organization domains (ra_domain.c) --- */

/*
 * A dns name as the server keeps it: *out (caller frees) is name in lower
 * case. KK_EINVAL unless it is 1 to 253 bytes of LDH labels (1 to 63
 * bytes each, no leading or trailing hyphen) with at least two labels,
 * no trailing dot, no wildcard and not all digits and dots (an address).
 */
enum kk_status ra_domain_normalize(const char *name, char **out);

/*
 * Records names (normalized) as org_id's domains, in one transaction with
 * one "org.domains.add" audit event naming those added. Names the
 * organization has already are left alone; KK_ECONFLICT (*why; nothing
 * changes) when one belongs to another organization. *added (may be NULL)
 * counts the names new to it.
 */
enum kk_status ra_org_domains_add(struct ra *ra, const char *actor,
    const char *org_id, char *const *names, size_t n, time_t now, int *added,
    const char **why);

/*
 * The domain rule, for a dns authorization az of acct being created
 * inside the caller's transaction: when acct is valid and bound to an
 * organization whose verification is current at now, and az's name equals
 * or lies under one of that organization's domains, az becomes valid
 * until the verification expires and the grant is recorded (so that a
 * suspension revokes it). *granted says whether it applied. az's other
 * fields are untouched; the caller inserts it.
 */
enum kk_status ra_domain_apply(struct ra *ra, const struct account *acct,
    struct authz *az, time_t now, int *granted);

/* --- Pre-authorization (RFC 8555 7.4.1; ra_preauth.c) --- */

/*
 * newAuthz: a new authorization of account_id (which must be valid) for
 * one identifier, accepted by the policy (org) or normalized (dns) by the
 * caller. org: pending with an oob-01 challenge, as in newOrder, or valid
 * at once when the account is bound to the organization and its
 * verification is current. dns: valid at once under the domain rule;
 * KK_ECONFLICT (*why) otherwise. Audited as "authz.create". *out: the
 * authorization as stored. KK_ELIMIT when the account was given the
 * policy's orders_per_account_per_hour authorizations in the last hour.
 */
enum kk_status ra_authz_new(struct ra *ra, const char *account_id,
    const char *type, const char *value, time_t now, struct authz **out,
    const char **why);

#endif
