/*
 * Pre-authorization (RFC 8555 7.4.1): a client asks for an authorization
 * before it orders. For an organization it is the same authorization a
 * newOrder makes (pending with an oob-01 challenge, or valid at once for
 * a bound account of a verified organization); for a dns name, valid at
 * once under the organization's recorded domains (ra_domain.c), else
 * pending with the challenges a newOrder offers (ra_dns.c). A later order of
 * the account for the identifier reuses it once it is valid (ra_order_new).
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "ra_internal.h"

/* Audits authz.create for az. */
static enum kk_status
audit_authz(struct ra *ra, const struct authz *az, time_t now)
{
	cJSON *d = cJSON_CreateObject();
	char *actor = ra_actor(az->account_id);
	enum kk_status st = KK_ENOMEM;

	if (d != NULL && actor != NULL &&
	    cJSON_AddStringToObject(d, "type", az->id_type) != NULL &&
	    cJSON_AddStringToObject(d, "value", az->id_value) != NULL &&
	    cJSON_AddBoolToObject(
	        d, "preverified", az->status == ACME_STATUS_VALID) != NULL)
		st = audit_record(
		    ra->store, now, actor, "authz.create", az->id, d);
	free(actor);
	cJSON_Delete(d);
	return st;
}

/*
 * An org authorization with its oob-01 challenge: valid at once when acct
 * is bound to the organization and its verification is current, else
 * pending for the order lifetime. Inside the caller's transaction.
 */
static enum kk_status
org_authz(
    struct ra *ra, const struct account *acct, struct authz *az, time_t now)
{
	struct org *org = NULL;
	struct challenge ch;
	enum kk_status st;

	memset(&ch, 0, sizeof(ch));
	st = store_org_get(ra->store, az->id_value, &org);
	if (st != KK_OK && st != KK_ENOTFOUND)
		return st;
	if ((st = model_new_id(&ch.id)) != KK_OK ||
	    (st = model_new_id(&ch.token)) != KK_OK)
		goto out;
	ch.authz_id = az->id;
	ch.type = "oob-01";
	if (acct->org != NULL && strcmp(acct->org, az->id_value) == 0 &&
	    org != NULL && org->expires > now) {
		az->status = ch.status = ACME_STATUS_VALID;
		az->expires = org->expires;
		ch.validated = org->verified_at;
	} else {
		az->status = ch.status = ACME_STATUS_PENDING;
		az->expires = now + 3600L * ra->policy->order_lifetime_hours;
	}
	st = store_challenge_insert(ra->store, &ch);
out:
	free(ch.id);
	free(ch.token);
	org_free(org);
	return st;
}

/*
 * A dns authorization outside the organization's recorded domains:
 * pending with the http-01, dns-01 and tls-alpn-01 challenges, when a
 * profile could certify the name for this account (one takes dns names,
 * and the account is bound to an organization or the profile lets
 * unbound accounts order names alone). Inside the caller's transaction;
 * inserts az.
 */
static enum kk_status
dns_authz(struct ra *ra, const struct account *acct, struct authz *az,
    time_t now, const char **why)
{
	const struct policy *p = ra->policy;
	struct org *org = NULL;
	int bound = 0, takes = 0;
	enum kk_status st;

	if (acct->org != NULL) {
		st = store_org_get(ra->store, acct->org, &org);
		if (st != KK_OK && st != KK_ENOTFOUND)
			return st;
		bound = org != NULL && org->expires > now;
		org_free(org);
		if (!bound)
			return ra_refuse(why,
			    "the verification of the organization this "
			    "account speaks for is not current");
	}
	for (size_t i = 0; i < p->n_profiles; i++)
		takes |= (p->profiles[i].identifiers & POLICY_ID_DNS) &&
		         (bound || p->profiles[i].dns_unbound);
	if (!takes)
		return ra_refuse(why, "no certificate profile of this server "
		                      "takes dns names for this account");
	az->expires = now + 3600L * p->order_lifetime_hours;
	return ra_dns_authz_insert(ra, az);
}

/*
 * newAuthz counts against the orders_per_account_per_hour limit, by the
 * authorizations the account was given in the last hour (an order that
 * made one counts there too): KK_ELIMIT at the limit.
 */
static enum kk_status
authz_rate(struct ra *ra, const char *account_id, time_t now)
{
	int n = 0, max = ra->policy->orders_per_account_per_hour;
	enum kk_status st;

	if (max <= 0)
		return KK_OK;
	if ((st = store_authz_count_by_account(
	         ra->store, account_id, now - 3600, &n)) != KK_OK)
		return st;
	return n >= max ? KK_ELIMIT : KK_OK;
}

/* One attempt at ra_authz_new. */
static enum kk_status
authz_new_once(struct ra *ra, const char *account_id, const char *type,
    const char *value, time_t now, struct authz **out, const char **why)
{
	struct account *acct = NULL;
	struct authz az;
	enum kk_status st;
	int granted = 0;

	*out = NULL;
	memset(&az, 0, sizeof(az));
	if ((st = model_new_id(&az.id)) != KK_OK)
		return st;
	az.account_id = (char *)account_id;
	az.id_type = (char *)type;
	az.id_value = (char *)value;
	az.created_at = now;
	if ((st = store_begin(ra->store)) != KK_OK)
		goto done;
	if ((st = store_account_get(ra->store, account_id, &acct)) != KK_OK)
		goto out;
	if (acct->status != ACME_STATUS_VALID) {
		st = ra_refuse(why, "the account is not valid");
		goto out;
	}
	if ((st = authz_rate(ra, account_id, now)) != KK_OK)
		goto out;
	if (strcmp(type, "org") == 0) {
		if ((st = org_authz(ra, acct, &az, now)) == KK_OK)
			st = store_authz_insert(ra->store, &az);
	} else if ((st = ra_domain_apply(ra, acct, &az, now, &granted)) ==
	           KK_OK)
		st = granted ? store_authz_insert(ra->store, &az)
		             : dns_authz(ra, acct, &az, now, why);
	if (st != KK_OK)
		goto out;
	st = audit_authz(ra, &az, now);
out:
	/* The authorization as committed, without reading it back. */
	if ((st = ra_finish(ra, st)) == KK_OK)
		st = authz_dup(&az, out);
done:
	free(az.id);
	account_free(acct);
	return st;
}

enum kk_status
ra_authz_new(struct ra *ra, const char *account_id, const char *type,
    const char *value, time_t now, struct authz **out, const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st = authz_new_once(ra, account_id, type, value, now, out, why);
	while (ra_again(&st, &tries));
	return st;
}
