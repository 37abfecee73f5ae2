/*
 * The registration authority: every state change of the server's records,
 * each in one transaction with its audit event. The rules live in small
 * predicates (may_issue, speaks_for) that every path shares.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme_status.h"
#include "audit.h"
#include "kk_log.h"
#include "ra.h"
#include "ra_internal.h"

enum kk_status
ra_init(struct ra *ra, struct store *st, struct ca *ca,
    const struct policy *pol, struct crl *crl, const char *crl_url)
{
	memset(ra, 0, sizeof(*ra));
	if ((ra->crl_url = strdup(crl_url)) == NULL)
		return KK_ENOMEM;
	ra->store = st;
	ra->ca = ca;
	ra->policy = pol;
	ra->crl = crl;
	return KK_OK;
}

void
ra_clear(struct ra *ra)
{
	free(ra->crl_url);
	memset(ra, 0, sizeof(*ra));
}

char *
ra_actor(const char *account_id)
{
	char *s;

	if (asprintf(
	        &s, "acme:%s", account_id ? account_id : "certificate-key") < 0)
		return NULL;
	return s;
}

enum kk_status
ra_owned_challenge(struct ra *ra, const char *account_id, const char *id,
    struct challenge **c, struct authz **a)
{
	enum kk_status st;

	*c = NULL;
	*a = NULL;
	if ((st = store_challenge_get(ra->store, id, c)) != KK_OK ||
	    (st = store_authz_get(ra->store, (*c)->authz_id, a)) != KK_OK)
		return st;
	return strcmp((*a)->account_id, account_id) == 0 ? KK_OK : KK_ENOTFOUND;
}

enum kk_status
ra_refuse(const char **why, const char *sentence)
{
	if (why != NULL)
		*why = sentence;
	return KK_ECONFLICT;
}

enum kk_status
ra_finish(struct ra *ra, enum kk_status st)
{
	if (st == KK_OK)
		return store_commit(ra->store);
	store_rollback(ra->store);
	return st;
}

/*
 * Attempts at a transaction that loses races: a loser retries after a
 * pause drawn at random (so that two replicas that collided do not
 * collide again in step) from a window that doubles with each attempt up
 * to 32 ms: under 0.2 s of pauses in all. Every round has a
 * winner (the first to commit), so ten losses in a row take a crowd.
 */
#define RA_TRIES 10
#define RA_PAUSE_MS 2
#define RA_PAUSE_MAX_MS 32

int
ra_again(enum kk_status *st, int *tries)
{
	struct timespec ts;
	uint32_t window;
	long ms;

	if (*st != KK_ERACE)
		return 0;
	if (++*tries >= RA_TRIES) {
		kk_log("store: a transaction lost %d races in a row; "
		       "answering try again later",
		    *tries);
		*st = KK_EAGAIN;
		return 0;
	}
	window = *tries > 5 ? RA_PAUSE_MAX_MS
	                    : (uint32_t)RA_PAUSE_MS << (*tries - 1);
	ms = (long)arc4random_uniform(window) + 1;
	ts.tv_sec = 0;
	ts.tv_nsec = ms * 1000000L;
	nanosleep(&ts, NULL);
	return 1;
}

enum kk_status
ra_problem_text(enum acme_problem type, const char *detail, char **out)
{
	cJSON *p = NULL;
	enum kk_status st;

	*out = NULL;
	if ((st = problem_new(&p, type, 0, "%s", detail)) == KK_OK &&
	    (*out = cJSON_PrintUnformatted(p)) == NULL)
		st = KK_ENOMEM;
	cJSON_Delete(p);
	return st;
}

/* 1 when the organization's verification is current at now. */
static int
org_current(const struct org *o, time_t now)
{
	return o != NULL && o->expires > now;
}

/*
 * Whether the account speaks for the organization behind authorization a:
 * it is bound to it (by EAB, or by the first verification it completed),
 * or an operator approved this very authorization's verification for it.
 */
static enum kk_status
speaks_for(
    struct ra *ra, const struct account *acct, const struct authz *a, int *yes)
{
	struct challenge **chs = NULL;
	struct verification *v = NULL;
	size_t n = 0;
	enum kk_status st;

	*yes = acct->org != NULL && strcmp(acct->org, a->id_value) == 0;
	if (*yes)
		return KK_OK;
	if ((st = store_challenge_list_by_authz(ra->store, a->id, &chs, &n)) !=
	    KK_OK)
		return st;
	for (size_t i = 0; i < n && st == KK_OK && !*yes; i++) {
		st = store_verification_by_challenge(ra->store, chs[i]->id, &v);
		if (st == KK_ENOTFOUND) {
			st = KK_OK;
			continue;
		}
		*yes = st == KK_OK && v->status == ACME_STATUS_VALID &&
		       strcmp(v->account_id, acct->id) == 0;
		verification_free(v);
		v = NULL;
	}
	for (size_t i = 0; i < n; i++)
		challenge_free(chs[i]);
	free(chs);
	return st;
}

/*
 * The rules of issuance, on records read inside the issuing transaction.
 * Returns KK_OK when order o of account acct may be finalized now.
 */
static enum kk_status
may_issue(struct ra *ra, const struct account *acct, const struct order *o,
    const struct authz *a, const struct org *org, time_t now, const char **why)
{
	enum kk_status st;
	int bound = 0;

	if (acct->status != ACME_STATUS_VALID)
		return ra_refuse(why, "the account is not valid");
	if (strcmp(o->account_id, acct->id) != 0)
		return ra_refuse(why, "the order belongs to another account");
	if (o->status == ACME_STATUS_PENDING)
		return ra_refuse(why, "the order is pending, not ready: its "
		                      "organization verification is not "
		                      "complete");
	if (o->status != ACME_STATUS_READY)
		return ra_refuse(why,
		    "the order is not ready (it was finalized "
		    "already, or is invalid)");
	if (o->expires <= now)
		return ra_refuse(
		    why, "the order has expired; place a new order");
	if (a->status != ACME_STATUS_VALID || a->expires <= now)
		return ra_refuse(why, "the order's authorization is no longer "
		                      "valid; place a new order");
	if (o->org[0] == '\0') { /* dns names for an unbound account */
		const struct policy_profile *pr =
		    policy_profile(ra->policy, o->profile);

		return pr != NULL && pr->dns_unbound
		           ? KK_OK
		           : ra_refuse(why, "the profile no longer issues to "
		                            "accounts without an organization");
	}
	if (!org_current(org, now))
		return ra_refuse(why, "the organization's verification has "
		                      "expired or was suspended; place a new "
		                      "order");
	/* Names alone: the certificate names the account's organization. */
	if (strcmp(a->id_type, "dns") == 0)
		bound = acct->org != NULL && strcmp(acct->org, o->org) == 0;
	else if ((st = speaks_for(ra, acct, a, &bound)) != KK_OK)
		return st;
	if (!bound)
		return ra_refuse(why, "the account is not bound to the order's "
		                      "organization");
	return KK_OK;
}

/* The dns names of an order, for its certificate. */
struct names {
	char **v;
	size_t n;
};

/*
 * Signs the leaf for org (NULL: a subject of dns names alone) with the
 * order's names and fills c (its strings owned by c's caller).
 */
static enum kk_status
sign_leaf(struct ra *ra, const struct org *org, const struct order *o,
    EVP_PKEY *key, const char *cn, const struct names *nm, struct cert *c)
{
	const struct policy_profile *prof;
	struct ca_leaf leaf;
	enum kk_status st;

	if ((prof = policy_profile(ra->policy, o->profile)) == NULL)
		prof = policy_profile(ra->policy, NULL);
	memset(&leaf, 0, sizeof(leaf));
	leaf.key = key;
	if (org != NULL) {
		leaf.country = org->country;
		leaf.org_name = org->legal_name;
		leaf.org_id = org->id;
	}
	leaf.cn = cn;
	leaf.dns = (const char *const *)nm->v;
	leaf.n_dns = nm->n;
	leaf.server_auth = (prof->eku & POLICY_EKU_SERVER) != 0;
	leaf.validity_days = prof->validity_days;
	leaf.crl_url = ra->crl_url;
	if ((st = ca_issue(ra->ca, &leaf, &c->pem, &c->serial, &c->not_before,
	         &c->not_after)) != KK_OK ||
	    (st = ca_spki_sha256(key, &c->spki_sha256)) != KK_OK) {
		kk_log("issue: %s", kk_strerror(st));
		if (st != KK_ENOMEM)
			st = KK_ECRYPTO;
	}
	return st;
}

/* Certificate c for order o: stored, the order valid, audited. */
static enum kk_status
record_issue(struct ra *ra, struct order *o, const struct cert *c, time_t now)
{
	cJSON *detail = cJSON_CreateObject();
	char *actor = ra_actor(o->account_id);
	enum kk_status st = KK_ENOMEM;

	if (detail == NULL || actor == NULL ||
	    cJSON_AddStringToObject(detail, "order", o->id) == NULL ||
	    cJSON_AddStringToObject(detail, "org", c->org) == NULL ||
	    cJSON_AddStringToObject(detail, "cn", c->cn) == NULL)
		goto out;
	o->status = ACME_STATUS_VALID;
	free(o->cert_serial);
	if ((o->cert_serial = strdup(c->serial)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	if ((st = store_cert_insert(ra->store, c)) != KK_OK ||
	    (st = store_order_update(ra->store, o)) != KK_OK)
		goto out;
	st = audit_record(
	    ra->store, now, actor, "cert.issue", c->serial, detail);
out:
	free(actor);
	cJSON_Delete(detail);
	return st;
}

/* One attempt at ra_order_finalize. */
static enum kk_status
order_finalize_once(struct ra *ra, const char *account_id, const char *order_id,
    EVP_PKEY *key, const char *cn, time_t now, struct order **out,
    const char **why)
{
	struct account *acct = NULL;
	struct order *o = NULL;
	struct authz *a = NULL;
	struct org *org = NULL;
	struct names nm = {NULL, 0};
	struct cert c;
	enum kk_status st;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	if ((st = store_account_get(ra->store, account_id, &acct)) != KK_OK ||
	    (st = store_order_get(ra->store, order_id, &o)) != KK_OK ||
	    (st = store_authz_get(ra->store, o->authz_id, &a)) != KK_OK)
		goto out;
	st = store_org_get(ra->store, o->org, &org);
	if (st != KK_OK && st != KK_ENOTFOUND)
		goto out;
	if ((st = may_issue(ra, acct, o, a, org, now, why)) != KK_OK ||
	    (st = ra_order_dns_names(ra, o->id, now, &nm.v, &nm.n, why)) !=
	        KK_OK)
		goto out;
	/* With dns names, the CN is the first (if it fits, RFC 5280
	 * ub-common-name), never what the CSR says. */
	if (nm.n > 0)
		cn = strlen(nm.v[0]) <= 64 ? nm.v[0] : NULL;
	if ((st = sign_leaf(ra, o->org[0] != '\0' ? org : NULL, o, key, cn, &nm,
	         &c)) != KK_OK)
		goto out;
	c.account_id = acct->id;
	c.order_id = o->id;
	c.org = o->org;
	c.cn = (char *)(cn != NULL ? cn : "");
	c.status = ACME_STATUS_VALID;
	st = record_issue(ra, o, &c, now);
out:
	if ((st = ra_finish(ra, st)) == KK_OK) {
		kk_log("issued %s to %s (CN %s, %zu dns names) for account %s",
		    c.serial, o->org[0] ? o->org : "(no organization)", c.cn,
		    nm.n, account_id);
		*out = o;
		o = NULL;
	}
	free(c.pem);
	free(c.serial);
	free(c.spki_sha256);
	ra_names_free(nm.v, nm.n);
	account_free(acct);
	order_free(o);
	authz_free(a);
	org_free(org);
	return st;
}

enum kk_status
ra_order_finalize(struct ra *ra, const char *account_id, const char *order_id,
    EVP_PKEY *key, const char *cn, time_t now, struct order **out,
    const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st = order_finalize_once(
		    ra, account_id, order_id, key, cn, now, out, why);
	while (ra_again(&st, &tries));
	return st;
}

/* Revokes one certificate inside the caller's transaction. */
static enum kk_status
revoke_one(struct ra *ra, const char *actor, const char *serial, int reason,
    time_t now, const char **why)
{
	struct cert *c = NULL;
	cJSON *detail = NULL;
	enum kk_status st;

	if ((st = store_cert_get(ra->store, serial, &c)) != KK_OK)
		return st;
	if (c->status == ACME_STATUS_REVOKED) {
		st = ra_refuse(why, "the certificate is already revoked");
		goto out;
	}
	st = KK_ENOMEM;
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(
	        detail, "reason", acme_crl_reason_name(reason)) == NULL)
		goto out;
	st = store_cert_revoke(ra->store, serial, now, reason);
	if (st == KK_ECONFLICT)
		st = ra_refuse(why, "the certificate is already revoked");
	if (st == KK_OK)
		st = audit_record(
		    ra->store, now, actor, "cert.revoke", serial, detail);
out:
	cJSON_Delete(detail);
	cert_free(c);
	return st;
}

/* One attempt at ra_cert_revoke. */
static enum kk_status
cert_revoke_once(struct ra *ra, const char *actor, const char *serial,
    int reason, time_t now, const char **why)
{
	enum kk_status st;

	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	st = revoke_one(ra, actor, serial, reason, now, why);
	if ((st = ra_finish(ra, st)) != KK_OK)
		return st;
	kk_log("certificate %s revoked by %s (%s)", serial, actor,
	    acme_crl_reason_name(reason));
	crl_refresh(ra->crl, now);
	return KK_OK;
}

enum kk_status
ra_cert_revoke(struct ra *ra, const char *actor, const char *serial, int reason,
    time_t now, const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st = cert_revoke_once(ra, actor, serial, reason, now, why);
	while (ra_again(&st, &tries));
	return st;
}

/* A store query for ids by organization and status, and a change made to
 * each id found. */
typedef enum kk_status ra_list_fn(
    struct store *, const char *, enum acme_status, char ***, size_t *);
typedef enum kk_status ra_id_fn(struct ra *ra, const char *id, time_t now);

/*
 * Applies fn to each id that list finds for the organization in status,
 * counting the changes in *n.
 */
static enum kk_status
each_id(struct ra *ra, ra_list_fn *list, const char *org,
    enum acme_status status, ra_id_fn *fn, time_t now, int *n)
{
	char **ids = NULL;
	size_t count = 0;
	enum kk_status st;

	if ((st = list(ra->store, org, status, &ids, &count)) != KK_OK)
		return st;
	for (size_t i = 0; i < count && st == KK_OK; i++)
		if ((st = fn(ra, ids[i], now)) == KK_OK)
			(*n)++;
	for (size_t i = 0; i < count; i++)
		free(ids[i]);
	free(ids);
	return st;
}

/* A ready order of a suspended organization: invalid, with the problem. */
static enum kk_status
invalidate_order(struct ra *ra, const char *id, time_t now)
{
	struct order *o = NULL;
	enum kk_status st;

	if ((st = store_order_get(ra->store, id, &o)) != KK_OK)
		return st;
	free(o->error);
	o->error = NULL;
	if ((st = ra_problem_text(ACME_UNAUTHORIZED,
	         "the organization's verification was suspended", &o->error)) ==
	    KK_OK) {
		o->status = ACME_STATUS_INVALID;
		st = store_order_update(ra->store, o);
	}
	order_free(o);
	return st;
}

/* A valid authorization of a suspended organization: revoked (RFC 8555
 * 7.1.6: the server revokes a valid authorization). */
static enum kk_status
revoke_authz(struct ra *ra, const char *id, time_t now)
{
	struct authz *a = NULL;
	enum kk_status st;

	if ((st = store_authz_get(ra->store, id, &a)) != KK_OK)
		return st;
	a->status = ACME_STATUS_REVOKED;
	st = store_authz_update(ra->store, a);
	authz_free(a);
	return st;
}

/* Revokes the organization's valid certificates. */
static enum kk_status
revoke_org_certs(
    struct ra *ra, const char *actor, const char *org_id, time_t now, int *n)
{
	struct cert **cs = NULL;
	size_t count = 0;
	enum kk_status st;

	if ((st = store_cert_list(ra->store, org_id, ACME_STATUS_VALID, NULL,
	         &cs, &count)) != KK_OK)
		return st;
	for (size_t i = 0; i < count && st == KK_OK; i++)
		if ((st = revoke_one(ra, actor, cs[i]->serial,
		         ACME_CRL_PRIVILEGE_WITHDRAWN, now, NULL)) == KK_OK)
			(*n)++;
	for (size_t i = 0; i < count; i++)
		cert_free(cs[i]);
	free(cs);
	return st;
}

/* One attempt at ra_org_suspend. */
static enum kk_status
org_suspend_once(struct ra *ra, const char *actor, const char *org_id,
    const char *reason, int revoke_certs, time_t now, struct org **out,
    struct ra_suspension *done)
{
	struct ra_suspension sum = {0, 0, 0};
	struct org *o = NULL;
	cJSON *detail = NULL;
	enum kk_status st;

	if (out != NULL)
		*out = NULL;
	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	if ((st = store_org_get(ra->store, org_id, &o)) != KK_OK)
		goto out;
	if (o->expires > now)
		o->expires = now;
	if ((st = store_org_put(ra->store, o)) != KK_OK ||
	    (st = each_id(ra, store_order_ids_by_org, org_id, ACME_STATUS_READY,
	         invalidate_order, now, &sum.orders)) != KK_OK ||
	    (st = each_id(ra, store_authz_ids_by_org, org_id, ACME_STATUS_VALID,
	         revoke_authz, now, &sum.authzs)) != KK_OK ||
	    (st = each_id(ra, store_org_domain_authz_ids, org_id,
	         ACME_STATUS_VALID, revoke_authz, now, &sum.authzs)) != KK_OK)
		goto out;
	if (revoke_certs && (st = revoke_org_certs(
	                         ra, actor, org_id, now, &sum.certs)) != KK_OK)
		goto out;
	st = KK_ENOMEM;
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(detail, "reason", reason) == NULL ||
	    cJSON_AddNumberToObject(detail, "orders", sum.orders) == NULL ||
	    cJSON_AddNumberToObject(detail, "authorizations", sum.authzs) ==
	        NULL ||
	    cJSON_AddNumberToObject(detail, "certificates", sum.certs) == NULL)
		goto out;
	st = audit_record(ra->store, now, actor, "org.suspend", org_id, detail);
out:
	cJSON_Delete(detail);
	if ((st = ra_finish(ra, st)) != KK_OK) {
		org_free(o);
		return st;
	}
	kk_log("organization %s suspended by %s: %d orders, %d "
	       "authorizations, %d certificates withdrawn",
	    org_id, actor, sum.orders, sum.authzs, sum.certs);
	if (sum.certs > 0)
		crl_refresh(ra->crl, now);
	if (done != NULL)
		*done = sum;
	if (out != NULL)
		*out = o;
	else
		org_free(o);
	return KK_OK;
}

enum kk_status
ra_org_suspend(struct ra *ra, const char *actor, const char *org_id,
    const char *reason, int revoke_certs, time_t now, struct org **out,
    struct ra_suspension *done)
{
	enum kk_status st;
	int tries = 0;

	do
		st = org_suspend_once(
		    ra, actor, org_id, reason, revoke_certs, now, out, done);
	while (ra_again(&st, &tries));
	return st;
}
