/*
 * The registration authority for accounts: creation (with External
 * Account Binding), updates, deactivation and key rollover.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "jwk.h"
#include "ra_internal.h"

/* Rate limit of newAccount by source address. */
static enum kk_status
account_rate(struct ra *ra, const char *ip, time_t now)
{
	int n = 0, max = ra->policy->new_accounts_per_ip_per_hour;
	enum kk_status st;

	if (max <= 0)
		return KK_OK;
	if ((st = store_account_count_by_ip(ra->store, ip, now - 3600, &n)) !=
	    KK_OK)
		return st;
	return n >= max ? KK_ELIMIT : KK_OK;
}

/*
 * Checks the binding and counts one use of its key, inside the caller's
 * transaction so that a use counts only for an account that is created;
 * binds a to the key's organization.
 */
static enum kk_status
bind_eab(struct ra *ra, const struct ra_account_req *req, time_t now,
    struct account *a, const char **why)
{
	struct eab_key *k = NULL;
	enum kk_status st;

	st = store_eab_get(ra->store, req->eab->kid, &k);
	if (st == KK_ENOTFOUND)
		return ra_refuse(why, "unknown external account key id");
	if (st != KK_OK)
		return st;
	if (k->expires != 0 && k->expires <= now) {
		st = ra_refuse(why, "the external account key has expired; "
		                    "ask the CA for a new one");
		goto out;
	}
	switch (eab_verify(
	    req->eab, k->hmac_key, k->hmac_key_len, req->key, req->url)) {
	case KK_OK:
		break;
	case KK_ESIG:
		st = ra_refuse(why, "externalAccountBinding does not verify: "
		                    "wrong MAC (check the HMAC key)");
		goto out;
	case KK_EKEY:
		st = ra_refuse(why, "externalAccountBinding does not verify: "
		                    "it binds a different account key");
		goto out;
	default:
		st = ra_refuse(why, "externalAccountBinding does not verify: "
		                    "its url is not the newAccount URL");
		goto out;
	}
	st = store_eab_use(ra->store, k->kid);
	if (st == KK_ELIMIT)
		st = ra_refuse(why, "the external account key has been used "
		                    "as often as it may");
	if (st != KK_OK)
		goto out;
	if ((a->org = strdup(k->org)) == NULL ||
	    (a->eab_kid = strdup(k->kid)) == NULL)
		st = KK_ENOMEM;
out:
	eab_key_free(k);
	return st;
}

/* Audits account.create. */
static enum kk_status
audit_account(struct ra *ra, const struct account *a, time_t now)
{
	cJSON *d = cJSON_CreateObject();
	char *actor = ra_actor(a->id);
	enum kk_status st = KK_ENOMEM;

	if (d != NULL && actor != NULL &&
	    cJSON_AddStringToObject(d, "ip", a->created_ip) != NULL &&
	    (a->org == NULL ||
	        cJSON_AddStringToObject(d, "eab_org", a->org) != NULL))
		st = audit_record(
		    ra->store, now, actor, "account.create", a->id, d);
	free(actor);
	cJSON_Delete(d);
	return st;
}

/* Fills the new account a from req (a's strings are its own). */
static enum kk_status
make_account(const struct ra_account_req *req, time_t now, char *jwk,
    char *thumb, struct account *a)
{
	memset(a, 0, sizeof(*a));
	a->jwk = jwk;
	a->thumbprint = thumb;
	a->created_at = now;
	a->tos_agreed = req->tos_agreed;
	a->status = ACME_STATUS_VALID;
	if (model_new_id(&a->id) != KK_OK ||
	    (a->contacts = strdup(req->contacts)) == NULL ||
	    (a->created_ip = strdup(req->ip)) == NULL)
		return KK_ENOMEM;
	return KK_OK;
}

/* One attempt at ra_account_new. */
static enum kk_status
account_new_once(struct ra *ra, const struct ra_account_req *req, time_t now,
    struct account **out, int *created, const char **why)
{
	struct account *a = NULL, *found = NULL;
	char *jwk = NULL, *thumb = NULL;
	enum kk_status st;

	*out = NULL;
	*created = 0;
	if ((st = jwk_texts(req->key, &jwk, &thumb)) != KK_OK)
		return st;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		free(jwk);
		free(thumb);
		return KK_ENOMEM;
	}
	if ((st = make_account(req, now, jwk, thumb, a)) != KK_OK)
		goto done;
	if ((st = store_begin(ra->store)) != KK_OK)
		goto done;
	/* Looked up inside the transaction: two racing newAccounts with one
	 * key make one account and count one EAB use. */
	st = store_account_by_thumbprint(ra->store, a->thumbprint, &found);
	if (st == KK_OK) {
		if (found->status != ACME_STATUS_VALID)
			st = ra_refuse(why, "the account for this key is "
			                    "deactivated");
		goto out;
	}
	if (st != KK_ENOTFOUND ||
	    (st = account_rate(ra, req->ip, now)) != KK_OK ||
	    (req->eab != NULL &&
	        (st = bind_eab(ra, req, now, a, why)) != KK_OK) ||
	    (st = store_account_insert(ra->store, a)) != KK_OK)
		goto out;
	st = audit_account(ra, a, now);
out:
	/* Found: nothing was written, so nothing to commit (and no sync to
	 * wait for); the read inside the transaction is what counted. */
	if (st == KK_OK && found != NULL)
		store_rollback(ra->store);
	else
		st = ra_finish(ra, st);
	if (st == KK_OK) {
		*created = found == NULL;
		*out = found != NULL ? found : a;
		if (found != NULL)
			found = NULL;
		else
			a = NULL;
	}
done:
	account_free(a);
	account_free(found);
	return st;
}

enum kk_status
ra_account_new(struct ra *ra, const struct ra_account_req *req, time_t now,
    struct account **out, int *created, const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st = account_new_once(ra, req, now, out, created, why);
	while (ra_again(&st, &tries));
	return st;
}

/* One attempt at ra_account_update. */
static enum kk_status
account_update_once(struct ra *ra, const char *account_id, const char *contacts,
    int deactivate, time_t now, struct account **out, const char **why)
{
	struct account *a = NULL;
	char *actor = NULL;
	enum kk_status st;

	*out = NULL;
	if ((actor = ra_actor(account_id)) == NULL)
		return KK_ENOMEM;
	if ((st = store_begin(ra->store)) != KK_OK)
		goto done;
	if ((st = store_account_get(ra->store, account_id, &a)) != KK_OK)
		goto out;
	if (a->status != ACME_STATUS_VALID) {
		st = ra_refuse(why, "the account is not valid");
		goto out;
	}
	if (contacts != NULL) {
		free(a->contacts);
		if ((a->contacts = strdup(contacts)) == NULL) {
			st = KK_ENOMEM;
			goto out;
		}
	}
	if (deactivate)
		a->status = ACME_STATUS_DEACTIVATED;
	if ((st = store_account_update(ra->store, a)) != KK_OK)
		goto out;
	st = audit_record(ra->store, now, actor,
	    deactivate ? "account.deactivate" : "account.update", a->id, NULL);
out:
	if ((st = ra_finish(ra, st)) == KK_OK) {
		*out = a;
		a = NULL;
	}
done:
	account_free(a);
	free(actor);
	return st;
}

enum kk_status
ra_account_update(struct ra *ra, const char *account_id, const char *contacts,
    int deactivate, time_t now, struct account **out, const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st = account_update_once(
		    ra, account_id, contacts, deactivate, now, out, why);
	while (ra_again(&st, &tries));
	return st;
}

/* One attempt at ra_account_key_change. */
static enum kk_status
account_key_change_once(struct ra *ra, const char *account_id,
    EVP_PKEY *new_key, time_t now, struct account **out)
{
	struct account *a = NULL, *other = NULL;
	char *jwk = NULL, *thumb = NULL, *actor = NULL;
	enum kk_status st;

	*out = NULL;
	if ((st = jwk_texts(new_key, &jwk, &thumb)) != KK_OK)
		return st;
	if ((actor = ra_actor(account_id)) == NULL) {
		st = KK_ENOMEM;
		goto done;
	}
	if ((st = store_begin(ra->store)) != KK_OK)
		goto done;
	st = store_account_by_thumbprint(ra->store, thumb, &other);
	if (st == KK_OK)
		st = KK_EEXIST;
	if (st != KK_ENOTFOUND ||
	    (st = store_account_get(ra->store, account_id, &a)) != KK_OK)
		goto out;
	/* Re-read here: a deactivation may have come since the request was
	 * authenticated. */
	if (a->status != ACME_STATUS_VALID) {
		st = KK_ECONFLICT;
		goto out;
	}
	free(a->jwk);
	free(a->thumbprint);
	a->jwk = jwk;
	a->thumbprint = thumb;
	jwk = thumb = NULL;
	if ((st = store_account_update(ra->store, a)) != KK_OK)
		goto out;
	st = audit_record(
	    ra->store, now, actor, "account.key-change", a->id, NULL);
out:
	if ((st = ra_finish(ra, st)) == KK_OK) {
		*out = a;
		a = NULL;
	}
done:
	account_free(a);
	account_free(other);
	free(jwk);
	free(thumb);
	free(actor);
	return st;
}

enum kk_status
ra_account_key_change(struct ra *ra, const char *account_id, EVP_PKEY *new_key,
    time_t now, struct account **out)
{
	enum kk_status st;
	int tries = 0;

	do
		st = account_key_change_once(ra, account_id, new_key, now, out);
	while (ra_again(&st, &tries));
	return st;
}

/* One attempt at ra_eab_create. */
static enum kk_status
eab_create_once(struct ra *ra, const char *op, const char *org_id,
    time_t expires, int max_uses, time_t now, char **kid, char **hmac_b64)
{
	unsigned char key[32];
	struct eab_key k;
	struct org *o = NULL;
	cJSON *d = NULL;
	enum kk_status st;

	*kid = *hmac_b64 = NULL;
	memset(&k, 0, sizeof(k));
	if ((st = model_random_b64(key, sizeof(key), hmac_b64)) != KK_OK ||
	    (st = model_new_id(&k.kid)) != KK_OK)
		goto done;
	k.hmac_key = key;
	k.hmac_key_len = sizeof(key);
	k.org = (char *)org_id;
	k.created_by = (char *)op;
	k.created_at = now;
	k.expires = expires;
	k.max_uses = max_uses;
	if ((st = store_begin(ra->store)) != KK_OK)
		goto done;
	st = store_org_get(ra->store, org_id, &o);
	if (st != KK_OK && st != KK_ENOTFOUND)
		goto out;
	st = KK_ENOMEM;
	if ((d = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(d, "org", org_id) == NULL ||
	    cJSON_AddNumberToObject(d, "max_uses", max_uses) == NULL ||
	    cJSON_AddBoolToObject(
	        d, "org_verified", o != NULL && o->expires > now) == NULL)
		goto out;
	if ((st = store_eab_insert(ra->store, &k)) != KK_OK)
		goto out;
	st = audit_record(ra->store, now, op, "eab.create", k.kid, d);
out:
	st = ra_finish(ra, st);
done:
	OPENSSL_cleanse(key, sizeof(key));
	if (st == KK_OK) {
		*kid = k.kid;
		k.kid = NULL;
	} else if (*hmac_b64 != NULL) {
		OPENSSL_cleanse(*hmac_b64, strlen(*hmac_b64));
		free(*hmac_b64);
		*hmac_b64 = NULL;
	}
	free(k.kid);
	org_free(o);
	cJSON_Delete(d);
	return st;
}

enum kk_status
ra_eab_create(struct ra *ra, const char *op, const char *org_id, time_t expires,
    int max_uses, time_t now, char **kid, char **hmac_b64)
{
	enum kk_status st;
	int tries = 0;

	do
		st = eab_create_once(
		    ra, op, org_id, expires, max_uses, now, kid, hmac_b64);
	while (ra_again(&st, &tries));
	return st;
}

/* One attempt at ra_eab_revoke. */
static enum kk_status
eab_revoke_once(struct ra *ra, const char *op, const char *kid, time_t now)
{
	enum kk_status st;

	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	if ((st = store_eab_expire(ra->store, kid, now)) == KK_OK)
		st = audit_record(ra->store, now, op, "eab.revoke", kid, NULL);
	return ra_finish(ra, st);
}

enum kk_status
ra_eab_revoke(struct ra *ra, const char *op, const char *kid, time_t now)
{
	enum kk_status st;
	int tries = 0;

	do
		st = eab_revoke_once(ra, op, kid, now);
	while (ra_again(&st, &tries));
	return st;
}
