/*
 * The registration authority, before issuance: orders and their
 * authorizations, the oob-01 challenge's request for verification and the
 * operators' decisions on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "kk_log.h"
#include "ra_attach.h"
#include "ra_internal.h"
#include "ra_notify.h"
#include "ra_registry.h"

enum kk_status
ra_order_rate(struct ra *ra, const char *account_id, time_t now)
{
	int n = 0, max = ra->policy->orders_per_account_per_hour;
	enum kk_status st;

	if (max <= 0)
		return KK_OK;
	if ((st = store_order_count_by_account(
	         ra->store, account_id, now - 3600, &n)) != KK_OK)
		return st;
	return n >= max ? KK_ELIMIT : KK_OK;
}

/* Audits order.create for o, which replaces certificate replaces (or
 * NULL). */
static enum kk_status
audit_order(struct ra *ra, const struct order *o, int pre, const char *replaces,
    time_t now)
{
	cJSON *detail = cJSON_CreateObject();
	char *actor = ra_actor(o->account_id);
	enum kk_status st = KK_ENOMEM;

	if (detail != NULL && actor != NULL &&
	    cJSON_AddStringToObject(detail, "org", o->org) != NULL &&
	    cJSON_AddBoolToObject(detail, "preverified", pre) != NULL &&
	    (replaces == NULL ||
	        cJSON_AddStringToObject(detail, "replaces", replaces) != NULL))
		st = audit_record(
		    ra->store, now, actor, "order.create", o->id, detail);
	free(actor);
	cJSON_Delete(detail);
	return st;
}

/*
 * Fills o, az and ch (ids and token allocated, the rest borrowed from
 * acct, org_id, profile and org) for a new order.
 */
static enum kk_status
make_order(struct ra *ra, const struct account *acct, const char *org_id,
    const char *profile, const struct org *org, time_t now, struct order *o,
    struct authz *az, struct challenge *ch)
{
	/* Nothing for a person to do when the account is bound to the
	 * organization and its verification is current. */
	int pre = acct->org != NULL && strcmp(acct->org, org_id) == 0 &&
	          org != NULL && org->expires > now;

	if (model_new_id(&o->id) != KK_OK || model_new_id(&az->id) != KK_OK ||
	    model_new_id(&ch->id) != KK_OK || model_new_id(&ch->token) != KK_OK)
		return KK_ENOMEM;
	az->account_id = o->account_id = acct->id;
	az->id_type = "org";
	az->id_value = o->org = (char *)org_id;
	az->created_at = o->created_at = now;
	ch->authz_id = az->id;
	ch->type = "oob-01";
	o->profile = (char *)profile;
	o->expires = now + 3600L * ra->policy->order_lifetime_hours;
	if (pre) {
		az->status = ch->status = ACME_STATUS_VALID;
		az->expires = org->expires;
		ch->validated = org->verified_at;
		o->status = ACME_STATUS_READY;
		if (o->expires > org->expires)
			o->expires = org->expires;
	} else {
		az->status = ch->status = o->status = ACME_STATUS_PENDING;
		az->expires = o->expires;
	}
	return KK_OK;
}

/*
 * Points o at the account's valid authorization for its organization, if
 * it holds one: the order is ready at once and no authorization is made.
 * *reused says whether it did.
 */
static enum kk_status
reuse_authz(struct ra *ra, struct order *o, time_t now, int *reused)
{
	struct authz *a = NULL;
	enum kk_status st;

	*reused = 0;
	st = store_authz_reusable(
	    ra->store, o->account_id, "org", o->org, now, &a);
	if (st == KK_ENOTFOUND)
		return KK_OK;
	if (st != KK_OK)
		return st;
	free(o->authz_id);
	o->authz_id = a->id;
	a->id = NULL;
	o->status = ACME_STATUS_READY;
	if (o->expires > a->expires)
		o->expires = a->expires;
	*reused = 1;
	authz_free(a);
	return KK_OK;
}

/* One attempt at ra_order_new. */
static enum kk_status
order_new_once(struct ra *ra, const char *account_id, const char *org_id,
    const char *profile, const char *replaces, time_t now, struct order **out,
    const char **why)
{
	struct account *acct = NULL;
	struct order o;
	struct authz az;
	struct challenge ch;
	struct org *org = NULL;
	enum kk_status st;
	int reused = 0;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	memset(&az, 0, sizeof(az));
	memset(&ch, 0, sizeof(ch));
	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	if ((st = store_account_get(ra->store, account_id, &acct)) != KK_OK)
		goto out;
	if (acct->status != ACME_STATUS_VALID) {
		st = ra_refuse(why, "the account is not valid");
		goto out;
	}
	if ((st = ra_order_rate(ra, acct->id, now)) != KK_OK)
		goto out;
	st = store_org_get(ra->store, org_id, &org);
	if (st != KK_OK && st != KK_ENOTFOUND)
		goto out;
	if ((st = make_order(
	         ra, acct, org_id, profile, org, now, &o, &az, &ch)) != KK_OK)
		goto out;
	/* Borrowed; recorded below by ra_renewal_replace. */
	o.replaces = (char *)replaces;
	/* The order's authz_id is az's until a reusable one replaces it. */
	if ((o.authz_id = strdup(az.id)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	if ((st = reuse_authz(ra, &o, now, &reused)) != KK_OK)
		goto out;
	if ((!reused &&
	        ((st = store_authz_insert(ra->store, &az)) != KK_OK ||
	            (st = store_challenge_insert(ra->store, &ch)) != KK_OK)) ||
	    (st = store_order_insert(ra->store, &o)) != KK_OK ||
	    (replaces != NULL && (st = ra_renewal_replace(
	                              ra, acct, replaces, &o, why)) != KK_OK) ||
	    (st = audit_order(ra, &o, o.status == ACME_STATUS_READY, replaces,
	         now)) != KK_OK)
		goto out;
out:
	/* The order as committed, without reading it back. */
	if ((st = ra_finish(ra, st)) == KK_OK)
		st = order_dup(&o, out);
	free(o.id);
	free(o.authz_id);
	free(az.id);
	free(ch.id);
	free(ch.token);
	org_free(org);
	account_free(acct);
	return st;
}

enum kk_status
ra_order_new(struct ra *ra, const char *account_id, const char *org_id,
    const char *profile, const char *replaces, time_t now, struct order **out,
    const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st = order_new_once(
		    ra, account_id, org_id, profile, replaces, now, out, why);
	while (ra_again(&st, &tries));
	return st;
}

/* Closes verification v with reason why, inside the caller's transaction. */
static enum kk_status
close_verification(struct ra *ra, struct verification *v, const char *why,
    const char *actor, time_t now)
{
	cJSON *detail = NULL;
	enum kk_status st;

	free(v->reason);
	if ((v->reason = strdup(why)) == NULL)
		return KK_ENOMEM;
	v->status = ACME_STATUS_INVALID;
	v->decided_at = now;
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(detail, "reason", why) == NULL)
		st = KK_ENOMEM;
	else if ((st = store_verification_update(ra->store, v)) == KK_OK)
		st = audit_record(
		    ra->store, now, actor, "verification.close", v->id, detail);
	cJSON_Delete(detail);
	return st;
}

/*
 * Takes the authorization's verification requests out of the operator
 * queue: nobody should phone an organization about a request its client
 * has withdrawn.
 */
static enum kk_status
withdraw_verifications(
    struct ra *ra, const struct authz *a, const char *actor, time_t now)
{
	struct challenge **chs = NULL;
	struct verification *v = NULL;
	size_t n = 0;
	enum kk_status st;

	if ((st = store_challenge_list_by_authz(ra->store, a->id, &chs, &n)) !=
	    KK_OK)
		return st;
	for (size_t i = 0; i < n && st == KK_OK; i++) {
		st = store_verification_by_challenge(ra->store, chs[i]->id, &v);
		if (st == KK_ENOTFOUND) {
			st = KK_OK;
			continue;
		}
		if (st == KK_OK && v->status == ACME_STATUS_PROCESSING)
			st = close_verification(ra, v,
			    "the client deactivated the authorization", actor,
			    now);
		verification_free(v);
		v = NULL;
	}
	for (size_t i = 0; i < n; i++)
		challenge_free(chs[i]);
	free(chs);
	return st;
}

/* Makes order id invalid if it is still pending or ready, with problem
 * (NULL for none). */
static enum kk_status
end_one_order(struct ra *ra, const char *id, const char *problem)
{
	struct order *o = NULL;
	enum kk_status st;

	if ((st = store_order_get(ra->store, id, &o)) != KK_OK)
		return st;
	if (o->status == ACME_STATUS_PENDING ||
	    o->status == ACME_STATUS_READY) {
		free(o->error);
		o->error = NULL;
		o->status = ACME_STATUS_INVALID;
		if (problem != NULL && (o->error = strdup(problem)) == NULL)
			st = KK_ENOMEM;
		else
			st = store_order_update(ra->store, o);
	}
	order_free(o);
	return st;
}

/* Ends every order on the authorization (a reused one has several). */
static enum kk_status
end_order(struct ra *ra, const char *authz_id, const char *problem)
{
	char **ids = NULL;
	size_t n = 0;
	enum kk_status st;

	if ((st = store_order_ids_by_authz(ra->store, authz_id, &ids, &n)) !=
	    KK_OK)
		return st;
	for (size_t i = 0; i < n && st == KK_OK; i++)
		st = end_one_order(ra, ids[i], problem);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	if (st == KK_OK) {
		/* A dns name's authorization is not its order's first one,
		 * which the list above goes by: it names its order. */
		struct authz *a = NULL;

		if ((st = store_authz_get(ra->store, authz_id, &a)) == KK_OK &&
		    a->order_id != NULL)
			st = end_one_order(ra, a->order_id, problem);
		authz_free(a);
	}
	return st;
}

/* One attempt at ra_authz_deactivate. */
static enum kk_status
authz_deactivate_once(struct ra *ra, const char *account_id,
    const char *authz_id, time_t now, struct authz **out, const char **why)
{
	struct authz *a = NULL;
	char *actor = NULL;
	enum kk_status st;

	*out = NULL;
	if ((actor = ra_actor(account_id)) == NULL)
		return KK_ENOMEM;
	if ((st = store_begin(ra->store)) != KK_OK)
		goto done;
	if ((st = store_authz_get(ra->store, authz_id, &a)) != KK_OK)
		goto out;
	if (strcmp(a->account_id, account_id) != 0) {
		st = ra_refuse(why, "the authorization belongs to another "
		                    "account");
		goto out;
	}
	if (a->status != ACME_STATUS_PENDING &&
	    a->status != ACME_STATUS_VALID) {
		st = ra_refuse(why, "only a pending or valid authorization "
		                    "can be deactivated");
		goto out;
	}
	a->status = ACME_STATUS_DEACTIVATED;
	if ((st = store_authz_update(ra->store, a)) != KK_OK ||
	    (st = withdraw_verifications(ra, a, actor, now)) != KK_OK ||
	    (st = end_order(ra, a->id, NULL)) != KK_OK)
		goto out;
	st = audit_record(
	    ra->store, now, actor, "authz.deactivate", a->id, NULL);
out:
	if ((st = ra_finish(ra, st)) == KK_OK) {
		*out = a;
		a = NULL;
	}
done:
	authz_free(a);
	free(actor);
	return st;
}

enum kk_status
ra_authz_deactivate(struct ra *ra, const char *account_id, const char *authz_id,
    time_t now, struct authz **out, const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st = authz_deactivate_once(
		    ra, account_id, authz_id, now, out, why);
	while (ra_again(&st, &tries));
	return st;
}

/* Queues verification for challenge c of authorization a; its id in
 * *vid (caller frees; NULL on failure), to be logged once committed. */
static enum kk_status
request_verification(struct ra *ra, const struct authz *a, struct challenge *c,
    const char *actor, time_t now, char **vid)
{
	struct verification v;
	cJSON *detail = NULL;
	enum kk_status st;

	memset(&v, 0, sizeof(v));
	if ((st = model_new_id(&v.id)) != KK_OK)
		return st;
	v.org = a->id_value;
	v.account_id = a->account_id;
	v.authz_id = a->id;
	v.challenge_id = c->id;
	v.status = ACME_STATUS_PROCESSING;
	v.requested_at = now;
	st = KK_ENOMEM;
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(detail, "org", a->id_value) == NULL)
		goto out;
	c->status = ACME_STATUS_PROCESSING;
	if ((st = store_challenge_update(ra->store, c)) != KK_OK ||
	    (st = store_verification_insert(ra->store, &v)) != KK_OK ||
	    (st = audit_record(ra->store, now, actor, "verification.request",
	         v.id, detail)) != KK_OK ||
	    (st = ra_notify_verification(
	         ra, "verification.queued", &v, NULL, NULL, now)) != KK_OK)
		goto out;
	*vid = v.id;
	v.id = NULL;
out:
	free(v.id);
	cJSON_Delete(detail);
	return st;
}

/* One attempt at ra_challenge_respond. */
static enum kk_status
challenge_respond_once(struct ra *ra, const char *account_id,
    const char *challenge_id, time_t now, struct challenge **out)
{
	struct challenge *c = NULL;
	struct authz *a = NULL;
	char *actor = NULL, *vid = NULL;
	enum kk_status st;

	*out = NULL;
	if ((actor = ra_actor(account_id)) == NULL)
		return KK_ENOMEM;
	if ((st = store_begin(ra->store)) != KK_OK)
		goto done;
	if ((st = ra_owned_challenge(ra, account_id, challenge_id, &c, &a)) !=
	    KK_OK)
		goto out;
	/* Read and decided inside the transaction: two racing POSTs queue
	 * one verification. */
	if (c->status == ACME_STATUS_PENDING &&
	    a->status == ACME_STATUS_PENDING && a->expires > now)
		st = request_verification(ra, a, c, actor, now, &vid);
out:
	if ((st = ra_finish(ra, st)) == KK_OK) {
		if (vid != NULL)
			kk_log("verification %s requested for %s by account %s",
			    vid, a->id_value, a->account_id);
		*out = c;
		c = NULL;
	}
done:
	free(vid);
	challenge_free(c);
	authz_free(a);
	free(actor);
	return st;
}

enum kk_status
ra_challenge_respond(struct ra *ra, const char *account_id,
    const char *challenge_id, time_t now, struct challenge **out)
{
	enum kk_status st;
	int tries = 0;

	do
		st = challenge_respond_once(
		    ra, account_id, challenge_id, now, out);
	while (ra_again(&st, &tries));
	return st;
}

/*
 * Whether the request behind a verification still stands: the client may
 * have deactivated its authorization, let it expire, or deactivated its
 * account since it asked. An approval must not revive any of those.
 * *why is NULL if it stands, else a static reason. A storage failure is
 * returned as such: it says nothing about the request, and must end the
 * caller's transaction rather than close a request that still stands.
 */
static enum kk_status
withdrawn(
    struct ra *ra, const struct verification *v, time_t now, const char **why)
{
	struct challenge *c = NULL;
	struct authz *a = NULL;
	struct account *acct = NULL;
	enum kk_status st;

	*why = NULL;
	if ((st = store_challenge_get(ra->store, v->challenge_id, &c)) !=
	        KK_OK ||
	    (st = store_authz_get(ra->store, v->authz_id, &a)) != KK_OK ||
	    (st = store_account_get(ra->store, v->account_id, &acct)) !=
	        KK_OK) {
		if (st == KK_ENOTFOUND) {
			*why = "its records are missing";
			st = KK_OK;
		}
	} else if (c->status != ACME_STATUS_PROCESSING)
		*why = "its challenge is no longer waiting";
	else if (a->status != ACME_STATUS_PENDING || a->expires <= now)
		*why = "the client's authorization is no longer pending";
	else if (acct->status != ACME_STATUS_VALID)
		*why = "the requesting account is deactivated";
	challenge_free(c);
	authz_free(a);
	account_free(acct);
	return st;
}

/* Dual control: a second approval is by another operator and agrees. */
static enum kk_status
agrees(
    const struct verification *v, const struct approval *ap, const char **why)
{
	for (size_t i = 0; i < v->n_approvals; i++) {
		if (strcmp(v->approvals[i].operator_name, ap->operator_name) ==
		    0) {
			if (why != NULL)
				*why = "this operator has already approved "
				       "this verification; dual control needs "
				       "a different operator";
			return KK_EEXIST;
		}
		if (strcmp(v->approvals[i].legal_name, ap->legal_name) != 0 ||
		    strcmp(v->approvals[i].country, ap->country) != 0) {
			if (why != NULL)
				*why = "legal_name/country differ from the "
				       "first approval: reject, or approve "
				       "with the same verified data";
			return KK_EINVAL;
		}
	}
	return KK_OK;
}

/* The organization is verified with ap's data until expires. */
static enum kk_status
verify_org(struct ra *ra, const char *org_id, const struct approval *ap,
    time_t now, time_t expires)
{
	struct org org;

	memset(&org, 0, sizeof(org));
	org.id = (char *)org_id;
	org.legal_name = ap->legal_name;
	org.country = ap->country;
	org.method = ap->method;
	org.verified_at = now;
	org.expires = expires;
	return store_org_put(ra->store, &org);
}

/* An account speaks for one organization: the first it verified. */
static enum kk_status
bind_account(struct ra *ra, const char *account_id, const char *org_id)
{
	struct account *acct = NULL;
	enum kk_status st;

	if ((st = store_account_get(ra->store, account_id, &acct)) != KK_OK)
		return st;
	if (acct->org == NULL) {
		if ((acct->org = strdup(org_id)) == NULL)
			st = KK_ENOMEM;
		else
			st = store_account_update(ra->store, acct);
	}
	account_free(acct);
	return st;
}

/* The last approval: everything behind the verification moves on. */
static enum kk_status
complete_verification(struct ra *ra, struct verification *v,
    const struct approval *ap, time_t now)
{
	struct challenge *c = NULL;
	struct authz *a = NULL;
	struct order *o = NULL;
	time_t expires = now + 86400L * ra->policy->verification_lifetime_days;
	enum kk_status st;

	if ((st = store_challenge_get(ra->store, v->challenge_id, &c)) !=
	        KK_OK ||
	    (st = store_authz_get(ra->store, v->authz_id, &a)) != KK_OK)
		goto out;
	c->status = a->status = v->status = ACME_STATUS_VALID;
	c->validated = now;
	a->expires = expires;
	v->decided_at = now;
	if ((st = store_challenge_update(ra->store, c)) != KK_OK ||
	    (st = store_authz_update(ra->store, a)) != KK_OK ||
	    (st = store_verification_update(ra->store, v)) != KK_OK)
		goto out;
	st = store_order_by_authz(ra->store, a->id, &o);
	if (st == KK_OK && o->status == ACME_STATUS_PENDING) {
		/* An order with dns names waits for those too. */
		int all = 0;

		if ((st = ra_order_authzs_valid(ra, o->id, now, &all)) != KK_OK)
			goto out;
		o->status = all ? ACME_STATUS_READY : o->status;
		if (all && (st = store_order_update(ra->store, o)) != KK_OK)
			goto out;
	} else if (st != KK_OK && st != KK_ENOTFOUND)
		goto out;
	if ((st = verify_org(ra, v->org, ap, now, expires)) != KK_OK)
		goto out;
	st = bind_account(ra, v->account_id, v->org);
out:
	challenge_free(c);
	authz_free(a);
	order_free(o);
	return st;
}

/* The approval's attachments, by SHA-256, when it names any. */
static enum kk_status
audit_attachments(cJSON *d, const struct ra_docs *docs)
{
	cJSON *arr;

	if (docs == NULL || docs->n == 0)
		return KK_OK;
	if ((arr = cJSON_AddArrayToObject(d, "attachments")) == NULL)
		return KK_ENOMEM;
	for (size_t i = 0; i < docs->n; i++)
		if (!cJSON_AddItemToArray(
		        arr, cJSON_CreateString(docs->sha[i])))
			return KK_ENOMEM;
	return KK_OK;
}

/* Audits verification.approve with the approval's data, its documents and
 * what the corporate-number registry said (rv). */
static enum kk_status
audit_approval(struct ra *ra, const struct verification *v,
    const struct approval *ap, const struct ra_docs *docs,
    const struct ra_registry_verdict *rv, int done, time_t now)
{
	cJSON *d = cJSON_CreateObject();
	enum kk_status st = KK_ENOMEM;

	if (d != NULL && cJSON_AddStringToObject(d, "org", v->org) != NULL &&
	    cJSON_AddStringToObject(d, "method", ap->method) != NULL &&
	    cJSON_AddStringToObject(d, "legal_name", ap->legal_name) != NULL &&
	    cJSON_AddStringToObject(d, "country", ap->country) != NULL &&
	    cJSON_AddStringToObject(d, "evidence", ap->evidence) != NULL &&
	    cJSON_AddBoolToObject(d, "completed", done) != NULL &&
	    audit_attachments(d, docs) == KK_OK &&
	    ra_registry_audit(d, rv) == 0)
		st = audit_record(ra->store, now, ap->operator_name,
		    "verification.approve", v->id, d);
	cJSON_Delete(d);
	return st;
}

enum kk_status
ra_verification_approve(struct ra *ra, const char *op, const char *id,
    const struct approval *ap, time_t now, struct verification **out,
    const char **why)
{
	return ra_verification_approve_override(
	    ra, op, id, ap, NULL, NULL, now, out, why);
}

/* One attempt at ra_verification_approve_override. */
static enum kk_status
verification_approve_once(struct ra *ra, const char *op, const char *id,
    const struct approval *ap, const struct ra_docs *docs,
    const char *override_reason, time_t now, struct verification **out,
    const char **why)
{
	struct verification *v = NULL;
	struct ra_registry_verdict rv = {NULL, NULL, 0, 0};
	const char *gone;
	int done = 0;
	enum kk_status st;

	*out = NULL;
	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	if ((st = store_verification_get(ra->store, id, &v)) != KK_OK)
		goto out;
	if (v->status != ACME_STATUS_PROCESSING) {
		st = ra_refuse(why, "it is decided already");
		goto out;
	}
	if ((st = withdrawn(ra, v, now, &gone)) != KK_OK)
		goto out;
	if (gone != NULL) {
		/* Closed, so that it leaves the queue; then refused. Every
		 * failure goes through out: the transaction must end. */
		if ((st = close_verification(ra, v, gone, op, now)) != KK_OK)
			goto out;
		verification_free(v);
		if ((st = ra_finish(ra, KK_OK)) != KK_OK)
			return st;
		return ra_refuse(why, gone);
	}
	if ((st = ra_registry_check(
	         ra, v->org, ap, override_reason, &rv, why)) != KK_OK ||
	    (st = agrees(v, ap, why)) != KK_OK ||
	    (st = ra_attachments_check(ra, id, docs, why)) != KK_OK)
		goto out;
	done = (int)v->n_approvals + 1 >= ra->policy->approvals_required;
	if ((st = store_approval_insert(ra->store, id, ap)) != KK_OK ||
	    (done && (st = complete_verification(ra, v, ap, now)) != KK_OK))
		goto out;
	if ((st = audit_approval(ra, v, ap, docs, &rv, done, now)) == KK_OK &&
	    done)
		st = ra_notify_verification(
		    ra, "verification.approved", v, op, ap->legal_name, now);
out:
	ra_registry_verdict_clear(&rv);
	verification_free(v);
	if ((st = ra_finish(ra, st)) != KK_OK)
		return st;
	kk_log("verification %s approved by %s (%s)%s", id, op, ap->method,
	    done ? ", complete" : ", awaiting a second operator");
	return store_verification_get(ra->store, id, out);
}

enum kk_status
ra_verification_approve_override(struct ra *ra, const char *op, const char *id,
    const struct approval *ap, const struct ra_docs *docs,
    const char *override_reason, time_t now, struct verification **out,
    const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st = verification_approve_once(
		    ra, op, id, ap, docs, override_reason, now, out, why);
	while (ra_again(&st, &tries));
	return st;
}

enum kk_status
ra_verification_approve_docs(struct ra *ra, const char *op, const char *id,
    const struct approval *ap, const struct ra_docs *docs, time_t now,
    struct verification **out, const char **why)
{
	return ra_verification_approve_override(
	    ra, op, id, ap, docs, NULL, now, out, why);
}

/* A rejection ends the challenge, the authorization and the order. */
static enum kk_status
fail_verification(
    struct ra *ra, struct verification *v, const char *reason, time_t now)
{
	struct challenge *c = NULL;
	struct authz *a = NULL;
	char *ptext = NULL, *detail = NULL;
	enum kk_status st = KK_ENOMEM;

	if (asprintf(&detail, "organization verification rejected: %s",
	        reason) < 0) {
		detail = NULL;
		goto out;
	}
	if ((st = ra_problem_text(ACME_UNAUTHORIZED, detail, &ptext)) !=
	        KK_OK ||
	    (st = store_challenge_get(ra->store, v->challenge_id, &c)) !=
	        KK_OK ||
	    (st = store_authz_get(ra->store, v->authz_id, &a)) != KK_OK)
		goto out;
	st = KK_ENOMEM;
	free(v->reason);
	free(c->error);
	if ((v->reason = strdup(reason)) == NULL ||
	    (c->error = strdup(ptext)) == NULL)
		goto out;
	c->status = a->status = v->status = ACME_STATUS_INVALID;
	v->decided_at = now;
	if ((st = store_challenge_update(ra->store, c)) != KK_OK ||
	    (st = store_authz_update(ra->store, a)) != KK_OK ||
	    (st = store_verification_update(ra->store, v)) != KK_OK)
		goto out;
	st = end_order(ra, a->id, ptext);
out:
	free(detail);
	cJSON_free(ptext);
	challenge_free(c);
	authz_free(a);
	return st;
}

/* One attempt at ra_verification_reject. */
static enum kk_status
verification_reject_once(struct ra *ra, const char *op, const char *id,
    const char *reason, time_t now, struct verification **out, const char **why)
{
	struct verification *v = NULL;
	cJSON *detail = NULL;
	enum kk_status st;

	*out = NULL;
	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	if ((st = store_verification_get(ra->store, id, &v)) != KK_OK)
		goto out;
	if (v->status != ACME_STATUS_PROCESSING) {
		st = ra_refuse(why, "it is decided already");
		goto out;
	}
	st = KK_ENOMEM;
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(detail, "org", v->org) == NULL ||
	    cJSON_AddStringToObject(detail, "reason", reason) == NULL)
		goto out;
	if ((st = fail_verification(ra, v, reason, now)) != KK_OK)
		goto out;
	if ((st = audit_record(ra->store, now, op, "verification.reject", id,
	         detail)) == KK_OK)
		st = ra_notify_verification(
		    ra, "verification.rejected", v, op, NULL, now);
out:
	cJSON_Delete(detail);
	if ((st = ra_finish(ra, st)) == KK_OK) {
		kk_log("verification %s of %s rejected by %s", id, v->org, op);
		*out = v;
		v = NULL;
	}
	verification_free(v);
	return st;
}

enum kk_status
ra_verification_reject(struct ra *ra, const char *op, const char *id,
    const char *reason, time_t now, struct verification **out, const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st =
		    verification_reject_once(ra, op, id, reason, now, out, why);
	while (ra_again(&st, &tries));
	return st;
}

/* One attempt at ra_expire. */
static enum kk_status
expire_once(struct ra *ra, time_t now, int *n)
{
	cJSON *detail = NULL;
	enum kk_status st;
	int changed = 0;

	if (n != NULL)
		*n = 0;
	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	if ((st = store_expire(ra->store, now, &changed)) != KK_OK ||
	    changed == 0)
		goto out;
	/* One event per sweep, not per record: the records' own expires
	 * say which; the event says that the server acted, and when. */
	st = KK_ENOMEM;
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddNumberToObject(detail, "records", changed) == NULL)
		goto out;
	st = audit_record(
	    ra->store, now, "system", "expiry.sweep", "records", detail);
out:
	cJSON_Delete(detail);
	if ((st = ra_finish(ra, st)) == KK_OK && n != NULL)
		*n = changed;
	return st;
}

enum kk_status
ra_expire(struct ra *ra, time_t now, int *n)
{
	enum kk_status st;
	int tries = 0;

	do
		st = expire_once(ra, now, n);
	while (ra_again(&st, &tries));
	return st;
}
