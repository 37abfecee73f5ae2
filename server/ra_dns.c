/*
 * The registration authority for dns identifiers (RFC 8555 8.3, 8.4,
 * RFC 8737): orders that carry dns names, alone or with one org
 * identifier, and the state changes of their http-01, dns-01 and
 * tls-alpn-01 challenges. The validation itself (va.c) happens between
 * ra_challenge_start and ra_challenge_result, outside any transaction, so
 * that no network wait holds the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "kk_log.h"
#include "ra_internal.h"

/* The challenge types a dns authorization offers, in this order. */
static const char *const dns_challenges[] = {
    "http-01", "dns-01", "tls-alpn-01"};
#define N_DNS_CHALLENGES (sizeof(dns_challenges) / sizeof(dns_challenges[0]))

int
ra_dns_challenge_type(const char *type)
{
	for (size_t i = 0; i < N_DNS_CHALLENGES; i++)
		if (strcmp(type, dns_challenges[i]) == 0)
			return 1;
	return 0;
}

/* Inserts authorization az and its challenges (types, n of them), each
 * with a fresh token, in status. */
static enum kk_status
insert_authz(struct ra *ra, struct authz *az, const char *const *types,
    size_t n, enum acme_status status, time_t validated)
{
	struct challenge ch;
	enum kk_status st;

	if ((st = store_authz_insert(ra->store, az)) != KK_OK)
		return st;
	for (size_t i = 0; i < n && st == KK_OK; i++) {
		memset(&ch, 0, sizeof(ch));
		if ((st = model_new_id(&ch.id)) != KK_OK ||
		    (st = model_new_id(&ch.token)) != KK_OK) {
			free(ch.id);
			return st;
		}
		ch.authz_id = az->id;
		ch.type = (char *)types[i];
		ch.status = status;
		ch.validated = validated;
		st = store_challenge_insert(ra->store, &ch);
		free(ch.id);
		free(ch.token);
	}
	return st;
}

enum kk_status
ra_dns_authz_insert(struct ra *ra, struct authz *az)
{
	az->status = ACME_STATUS_PENDING;
	return insert_authz(
	    ra, az, dns_challenges, N_DNS_CHALLENGES, ACME_STATUS_PENDING, 0);
}

/*
 * Reuse, as Let's Encrypt does: a valid, unexpired dns authorization of
 * the account for the same name that a challenge proved makes az valid,
 * expiring no later, with a copy of that challenge. One the domain rule
 * granted has no challenge and is not copied, so that suspending the
 * organization still revokes all it granted. Inside the caller's
 * transaction; inserts az when *reused.
 */
static enum kk_status
reuse_dns_authz(struct ra *ra, struct authz *az, time_t now, int *reused)
{
	struct authz *prev = NULL;
	struct challenge **chs = NULL;
	const struct challenge *proof = NULL;
	size_t n = 0;
	enum kk_status st;

	*reused = 0;
	st = store_authz_reusable(
	    ra->store, az->account_id, "dns", az->id_value, now, &prev);
	if (st == KK_ENOTFOUND)
		return KK_OK;
	if (st != KK_OK)
		return st;
	if ((st = store_challenge_list_by_authz(
	         ra->store, prev->id, &chs, &n)) != KK_OK)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (chs[i]->status == ACME_STATUS_VALID &&
		    ra_dns_challenge_type(chs[i]->type))
			proof = chs[i];
	if (proof == NULL)
		goto out;
	az->status = ACME_STATUS_VALID;
	if (az->expires > prev->expires)
		az->expires = prev->expires;
	{
		const char *const type[] = {proof->type};

		st = insert_authz(
		    ra, az, type, 1, ACME_STATUS_VALID, proof->validated);
	}
	*reused = st == KK_OK;
out:
	for (size_t i = 0; i < n; i++)
		challenge_free(chs[i]);
	free(chs);
	authz_free(prev);
	return st;
}

/* Audits order.create for o with the names it holds. */
static enum kk_status
audit_dns_order(struct ra *ra, const struct order *o,
    const struct ra_dns_order *req, int pre, time_t now)
{
	cJSON *detail = cJSON_CreateObject(), *names;
	char *actor = ra_actor(o->account_id);
	enum kk_status st = KK_ENOMEM;

	if (detail == NULL || actor == NULL ||
	    cJSON_AddStringToObject(detail, "org", o->org) == NULL ||
	    (names = cJSON_AddArrayToObject(detail, "dns")) == NULL ||
	    cJSON_AddStringToObject(detail, "profile", o->profile) == NULL ||
	    cJSON_AddBoolToObject(detail, "preverified", pre) == NULL ||
	    (req->replaces != NULL && cJSON_AddStringToObject(detail,
	                                  "replaces", req->replaces) == NULL))
		goto out;
	for (size_t i = 0; i < req->n_names; i++) {
		cJSON *v = cJSON_CreateString(req->names[i]);

		if (v == NULL || !cJSON_AddItemToArray(names, v))
			goto out;
	}
	st = audit_record(ra->store, now, actor, "order.create", o->id, detail);
out:
	free(actor);
	cJSON_Delete(detail);
	return st;
}

/*
 * Which organization the certificate of the order will name: the org
 * identifier's, else the one the account is bound to (verification
 * current), else none ("") where the profile lets unbound accounts order
 * names alone. *pre: the org identifier needs no operator.
 */
static enum kk_status
cert_org(struct ra *ra, const struct account *acct,
    const struct ra_dns_order *req, time_t now, const char **org_id, int *pre,
    const char **why)
{
	struct org *org = NULL;
	enum kk_status st;
	const char *want = req->org != NULL ? req->org : acct->org;

	*pre = 0;
	if (want == NULL) {
		if (!req->profile->dns_unbound)
			return ra_refuse(why,
			    "this account speaks for no verified "
			    "organization: create it with an EAB key of a "
			    "verified organization, or add the org "
			    "identifier to the order");
		*org_id = "";
		return KK_OK;
	}
	st = store_org_get(ra->store, want, &org);
	if (st != KK_OK && st != KK_ENOTFOUND)
		return st;
	*org_id = want;
	if (req->org != NULL)
		*pre = acct->org != NULL && strcmp(acct->org, req->org) == 0 &&
		       org != NULL && org->expires > now;
	else if (org == NULL || org->expires <= now)
		st = ra_refuse(why, "the verification of the organization "
		                    "this account speaks for has expired or "
		                    "was suspended");
	else
		st = KK_OK;
	if (st == KK_ENOTFOUND)
		st = KK_OK;
	org_free(org);
	return st;
}

/* One attempt at ra_order_new_dns. */
static enum kk_status
order_new_dns_once(struct ra *ra, const struct ra_dns_order *req, time_t now,
    struct order **out, const char **why)
{
	static const char *const oob[] = {"oob-01"};
	struct account *acct = NULL;
	struct org *org = NULL;
	struct order o;
	struct authz az;
	const char *org_id = NULL;
	int pre = 0, pos = 0, granted = 0, reused = 0, all_valid = 1;
	enum kk_status st;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	if ((st = store_account_get(ra->store, req->account_id, &acct)) !=
	    KK_OK)
		goto out;
	if (acct->status != ACME_STATUS_VALID) {
		st = ra_refuse(why, "the account is not valid");
		goto out;
	}
	if ((st = ra_order_rate(ra, acct->id, now)) != KK_OK ||
	    (st = cert_org(ra, acct, req, now, &org_id, &pre, why)) != KK_OK ||
	    (st = model_new_id(&o.id)) != KK_OK)
		goto out;
	o.account_id = acct->id;
	o.org = (char *)org_id;
	o.profile = req->profile->name;
	/* Borrowed; recorded below by ra_renewal_replace. */
	o.replaces = (char *)req->replaces;
	o.status = ACME_STATUS_PENDING;
	o.created_at = now;
	o.expires = now + 3600L * ra->policy->order_lifetime_hours;
	if (req->org != NULL) {
		/* The org identifier first, as make_order in ra_order.c
		 * makes it: valid at once for a bound account. */
		if ((st = store_org_get(ra->store, req->org, &org)) != KK_OK &&
		    st != KK_ENOTFOUND)
			goto out;
		memset(&az, 0, sizeof(az));
		if ((st = model_new_id(&az.id)) != KK_OK)
			goto out;
		az.account_id = acct->id;
		az.id_type = "org";
		az.id_value = (char *)req->org;
		az.created_at = now;
		az.order_id = o.id;
		az.order_pos = pos++;
		az.status = pre ? ACME_STATUS_VALID : ACME_STATUS_PENDING;
		all_valid = pre;
		az.expires = pre ? org->expires : o.expires;
		if (pre && o.expires > org->expires)
			o.expires = az.expires = org->expires;
		o.authz_id = az.id;
		st = insert_authz(
		    ra, &az, oob, 1, az.status, pre ? org->verified_at : 0);
		if (st != KK_OK) {
			free(az.id);
			o.authz_id = NULL;
			goto out;
		}
	}
	for (size_t i = 0; i < req->n_names; i++) {
		memset(&az, 0, sizeof(az));
		if ((st = model_new_id(&az.id)) != KK_OK)
			goto out;
		az.account_id = acct->id;
		az.id_type = "dns";
		az.id_value = (char *)req->names[i];
		az.created_at = now;
		az.order_id = o.id;
		az.order_pos = pos++;
		az.status = ACME_STATUS_PENDING;
		az.expires = o.expires;
		/* A name under the bound organization's recorded domains is
		 * valid at once and needs no challenge (ra_domain.c). */
		if ((st = ra_domain_apply(ra, acct, &az, now, &granted)) !=
		    KK_OK) {
			free(az.id);
			goto out;
		}
		if (granted)
			st = store_authz_insert(ra->store, &az);
		else if ((st = reuse_dns_authz(ra, &az, now, &reused)) ==
		             KK_OK &&
		         reused) {
			if (o.expires > az.expires)
				o.expires = az.expires;
		} else if (st == KK_OK) {
			st = ra_dns_authz_insert(ra, &az);
			all_valid = 0;
		}
		if (o.authz_id == NULL && st == KK_OK)
			o.authz_id = az.id;
		else
			free(az.id);
		if (st != KK_OK)
			goto out;
	}
	if (all_valid)
		o.status = ACME_STATUS_READY;
	if ((st = store_order_insert(ra->store, &o)) != KK_OK ||
	    (req->replaces != NULL && (st = ra_renewal_replace(ra, acct,
	                                   req->replaces, &o, why)) != KK_OK))
		goto out;
	st = audit_dns_order(ra, &o, req, pre, now);
out:
	/* The order as committed, without reading it back. */
	if ((st = ra_finish(ra, st)) == KK_OK)
		st = order_dup(&o, out);
	free(o.id);
	free(o.authz_id);
	org_free(org);
	account_free(acct);
	return st;
}

enum kk_status
ra_order_new_dns(struct ra *ra, const struct ra_dns_order *req, time_t now,
    struct order **out, const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st = order_new_dns_once(ra, req, now, out, why);
	while (ra_again(&st, &tries));
	return st;
}

/*
 * A validation that began longer ago than any can take (--va-timeout is
 * at most 300 s) was abandoned: the server stopped during it. Its
 * challenge may be validated again rather than block its authorization
 * until it expires.
 */
#define RA_VALIDATION_ABANDONED 600

static int
abandoned(const struct challenge *c, time_t now)
{
	return c->status == ACME_STATUS_PROCESSING &&
	       ra_dns_challenge_type(c->type) &&
	       c->validated < now - RA_VALIDATION_ABANDONED;
}

/* One attempt at ra_challenge_start. */
static enum kk_status
challenge_start_once(struct ra *ra, const char *account_id,
    const char *challenge_id, time_t now, struct challenge **out,
    struct authz **authz)
{
	struct challenge *c = NULL, **chs = NULL;
	struct authz *a = NULL;
	cJSON *detail = NULL;
	char *actor = NULL;
	size_t n = 0;
	int busy = 0, started = 0;
	enum kk_status st;

	*out = NULL;
	*authz = NULL;
	if ((actor = ra_actor(account_id)) == NULL)
		return KK_ENOMEM;
	if ((st = store_begin(ra->store)) != KK_OK)
		goto done;
	if ((st = ra_owned_challenge(ra, account_id, challenge_id, &c, &a)) !=
	    KK_OK)
		goto out;
	if ((c->status != ACME_STATUS_PENDING && !abandoned(c, now)) ||
	    a->status != ACME_STATUS_PENDING || a->expires <= now)
		goto out; /* nothing to do: a repeated POST is harmless */
	/* One validation at a time per authorization. */
	if ((st = store_challenge_list_by_authz(ra->store, a->id, &chs, &n)) !=
	    KK_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		busy |= chs[i]->status == ACME_STATUS_PROCESSING &&
		        !abandoned(chs[i], now);
		challenge_free(chs[i]);
	}
	free(chs);
	if (busy)
		goto out;
	st = KK_ENOMEM;
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(detail, "type", c->type) == NULL ||
	    cJSON_AddStringToObject(detail, "dns", a->id_value) == NULL)
		goto out;
	c->status = ACME_STATUS_PROCESSING;
	c->validated = now; /* while processing: when it began */
	if ((st = store_challenge_update(ra->store, c)) != KK_OK)
		goto out;
	st = audit_record(
	    ra->store, now, actor, "challenge.start", c->id, detail);
	started = st == KK_OK;
out:
	if ((st = ra_finish(ra, st)) == KK_OK) {
		/* The authorization only to the caller that must validate:
		 * a challenge another request is validating is processing
		 * too. */
		*out = c;
		c = NULL;
		if (started) {
			*authz = a;
			a = NULL;
		}
	}
done:
	cJSON_Delete(detail);
	challenge_free(c);
	authz_free(a);
	free(actor);
	return st;
}

enum kk_status
ra_challenge_start(struct ra *ra, const char *account_id,
    const char *challenge_id, time_t now, struct challenge **out,
    struct authz **authz)
{
	enum kk_status st;
	int tries = 0;

	do
		st = challenge_start_once(
		    ra, account_id, challenge_id, now, out, authz);
	while (ra_again(&st, &tries));
	return st;
}

/* After a valid authorization: its order is ready once all its
 * authorizations are valid. */
static enum kk_status
order_progress(struct ra *ra, const struct authz *a, time_t now)
{
	struct order *o = NULL;
	int ok = 0;
	enum kk_status st;

	if (a->order_id == NULL)
		return KK_OK;
	if ((st = store_order_get(ra->store, a->order_id, &o)) != KK_OK)
		return st == KK_ENOTFOUND ? KK_OK : st;
	if (o->status == ACME_STATUS_PENDING &&
	    (st = ra_order_authzs_valid(ra, o->id, now, &ok)) == KK_OK && ok) {
		o->status = ACME_STATUS_READY;
		st = store_order_update(ra->store, o);
	}
	order_free(o);
	return st;
}

/* After a failed validation: the order fails with the same problem. */
static enum kk_status
order_fail(struct ra *ra, const struct authz *a, const char *problem)
{
	struct order *o = NULL;
	enum kk_status st;

	if (a->order_id == NULL)
		return KK_OK;
	if ((st = store_order_get(ra->store, a->order_id, &o)) != KK_OK)
		return st == KK_ENOTFOUND ? KK_OK : st;
	if (o->status == ACME_STATUS_PENDING ||
	    o->status == ACME_STATUS_READY) {
		o->status = ACME_STATUS_INVALID;
		free(o->error);
		if ((o->error = strdup(problem)) == NULL)
			st = KK_ENOMEM;
		else
			st = store_order_update(ra->store, o);
	}
	order_free(o);
	return st;
}

/* One attempt at ra_challenge_result. */
static enum kk_status
challenge_result_once(struct ra *ra, const char *account_id,
    const char *challenge_id, const struct ra_va_result *res, time_t now,
    struct challenge **out)
{
	struct challenge *c = NULL;
	struct authz *a = NULL;
	cJSON *detail = NULL;
	char *actor = NULL, *ptext = NULL;
	enum kk_status st;

	*out = NULL;
	if ((actor = ra_actor(account_id)) == NULL)
		return KK_ENOMEM;
	if (!res->valid &&
	    (st = ra_problem_text(res->problem, res->detail, &ptext)) != KK_OK)
		goto done;
	if ((st = store_begin(ra->store)) != KK_OK)
		goto done;
	if ((st = store_challenge_get(ra->store, challenge_id, &c)) != KK_OK ||
	    (st = store_authz_get(ra->store, c->authz_id, &a)) != KK_OK)
		goto out;
	if (c->status != ACME_STATUS_PROCESSING ||
	    strcmp(a->account_id, account_id) != 0) {
		st = ra_refuse(NULL, "the challenge is not being validated");
		goto out;
	}
	st = KK_ENOMEM;
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(detail, "type", c->type) == NULL ||
	    cJSON_AddStringToObject(detail, "dns", a->id_value) == NULL ||
	    cJSON_AddBoolToObject(detail, "valid", res->valid) == NULL ||
	    (!res->valid && (cJSON_AddStringToObject(detail, "problem",
	                         problem_type_name(res->problem)) == NULL ||
	                        cJSON_AddStringToObject(
	                            detail, "detail", res->detail) == NULL)))
		goto out;
	/* The authorization may have expired or been deactivated while
	 * the validation ran: then the result changes only the challenge. */
	if (res->valid) {
		c->status = ACME_STATUS_VALID;
		c->validated = now;
	} else {
		c->status = ACME_STATUS_INVALID;
		free(c->error);
		if ((c->error = strdup(ptext)) == NULL)
			goto out;
	}
	if ((st = store_challenge_update(ra->store, c)) != KK_OK)
		goto out;
	if (a->status == ACME_STATUS_PENDING && a->expires > now) {
		a->status =
		    res->valid ? ACME_STATUS_VALID : ACME_STATUS_INVALID;
		if ((st = store_authz_update(ra->store, a)) != KK_OK ||
		    (st = res->valid ? order_progress(ra, a, now)
		                     : order_fail(ra, a, ptext)) != KK_OK)
			goto out;
	}
	st = audit_record(
	    ra->store, now, actor, "challenge.validate", c->id, detail);
out:
	if ((st = ra_finish(ra, st)) == KK_OK) {
		kk_log("%s for %s (account %s): %s", c->type, a->id_value,
		    account_id,
		    res->valid ? "valid" : problem_type_name(res->problem));
		*out = c;
		c = NULL;
	}
done:
	cJSON_Delete(detail);
	cJSON_free(ptext);
	challenge_free(c);
	authz_free(a);
	free(actor);
	return st;
}

enum kk_status
ra_challenge_result(struct ra *ra, const char *account_id,
    const char *challenge_id, const struct ra_va_result *res, time_t now,
    struct challenge **out)
{
	enum kk_status st;
	int tries = 0;

	do
		st = challenge_result_once(
		    ra, account_id, challenge_id, res, now, out);
	while (ra_again(&st, &tries));
	return st;
}

enum kk_status
ra_order_authzs_valid(struct ra *ra, const char *order_id, time_t now, int *ok)
{
	struct authz **list = NULL;
	size_t n = 0;
	enum kk_status st;

	*ok = 0;
	if ((st = store_authz_list_by_order(ra->store, order_id, &list, &n)) !=
	    KK_OK)
		return st;
	*ok = 1;
	for (size_t i = 0; i < n; i++) {
		*ok &= list[i]->status == ACME_STATUS_VALID &&
		       list[i]->expires > now;
		authz_free(list[i]);
	}
	free(list);
	return KK_OK;
}

enum kk_status
ra_order_dns_names(struct ra *ra, const char *order_id, time_t now,
    char ***names, size_t *n, const char **why)
{
	struct authz **list = NULL;
	size_t na = 0;
	enum kk_status st;

	*names = NULL;
	*n = 0;
	if ((st = store_authz_list_by_order(ra->store, order_id, &list, &na)) !=
	    KK_OK)
		return st;
	if (na > 0 && (*names = calloc(na, sizeof(char *))) == NULL)
		st = KK_ENOMEM;
	for (size_t i = 0; i < na && st == KK_OK; i++) {
		if (list[i]->status != ACME_STATUS_VALID ||
		    list[i]->expires <= now)
			st = ra_refuse(why, "an authorization of the order is "
			                    "no longer valid; place a new "
			                    "order");
		else if (strcmp(list[i]->id_type, "dns") == 0) {
			(*names)[*n] = list[i]->id_value;
			list[i]->id_value = NULL;
			(*n)++;
		}
	}
	for (size_t i = 0; i < na; i++)
		authz_free(list[i]);
	free(list);
	if (st != KK_OK) {
		ra_names_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return st;
}

void
ra_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
