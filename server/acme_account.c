/*
 * Accounts (RFC 8555 sections 7.3-7.3.7): creation with optional External
 * Account Binding, lookup, contact update, deactivation, the orders list
 * and key rollover.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "acme.h"
#include "audit.h"
#include "kk_log.h"
#include "b64url.h"
#include "eab.h"
#include "json.h"
#include "jwk.h"

#define MAX_CONTACTS 4
#define MAX_CONTACT_LEN 256

static enum kk_status
account_json(struct srv *s, const struct account *a, cJSON **out)
{
	cJSON *j = NULL, *contacts = NULL;
	char *orders = NULL;

	*out = NULL;
	if ((j = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(j, "status", a->status) == NULL)
		goto oom;
	if (json_parse(a->contacts, strlen(a->contacts), &contacts) != KK_OK)
		contacts = cJSON_CreateArray();
	if (contacts == NULL)
		goto oom;
	cJSON_AddItemToObject(j, "contact", contacts);
	if (cJSON_AddBoolToObject(j, "termsOfServiceAgreed", a->tos_agreed) ==
	        NULL ||
	    (orders = srv_url(s, "/acme/acct/%s/orders", a->id)) == NULL ||
	    cJSON_AddStringToObject(j, "orders", orders) == NULL)
		goto oom;
	/* Not in RFC 8555: tells the client which organization binds it. */
	if (a->org != NULL && cJSON_AddStringToObject(j, "org", a->org) == NULL)
		goto oom;
	free(orders);
	*out = j;
	return KK_OK;
oom:
	free(orders);
	cJSON_Delete(j);
	return KK_ENOMEM;
}

static void
send_account(
    struct srv *s, struct http_resp *resp, const struct account *a, int status)
{
	cJSON *j = NULL;
	char *url = srv_url(s, "/acme/acct/%s", a->id);

	if (url == NULL || account_json(s, a, &j) != KK_OK ||
	    http_resp_json(resp, status, "application/json", j) != KK_OK ||
	    http_resp_location(resp, url) != KK_OK)
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
	cJSON_Delete(j);
	free(url);
}

/*
 * Validates a "contact" array: mailto: URIs only (RFC 8555 7.3), one
 * address each, no header fields, bounded. *out is a compact JSON copy.
 */
static int
check_contacts(const cJSON *contact, struct http_resp *resp, char **out)
{
	const cJSON *c;
	int n = 0;

	*out = NULL;
	if (contact == NULL) {
		*out = strdup("[]");
		return *out == NULL ? -1 : 0;
	}
	if (!cJSON_IsArray(contact)) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "contact must be an array of mailto: URIs");
		return -1;
	}
	cJSON_ArrayForEach(c, contact)
	{
		const char *v = cJSON_GetStringValue(c), *at;

		if (++n > MAX_CONTACTS) {
			http_resp_error(resp, ACME_INVALID_CONTACT, 0,
			    "at most %d contacts are accepted", MAX_CONTACTS);
			return -1;
		}
		if (v == NULL || strncmp(v, "mailto:", 7) != 0) {
			http_resp_error(resp, ACME_UNSUPPORTED_CONTACT, 0,
			    "only mailto: contacts are supported");
			return -1;
		}
		at = strchr(v + 7, '@');
		if (strlen(v) > MAX_CONTACT_LEN || at == NULL || at == v + 7 ||
		    at[1] == '\0' || strpbrk(v + 7, ",?%<> \t\r\n") != NULL ||
		    strchr(at + 1, '@') != NULL) {
			http_resp_error(resp, ACME_INVALID_CONTACT, 0,
			    "contact \"%.64s\" is not a single plain e-mail "
			    "address",
			    v);
			return -1;
		}
	}
	if ((*out = cJSON_PrintUnformatted(contact)) == NULL)
		return -1;
	return 0;
}

/*
 * Checks the externalAccountBinding of a newAccount request and binds the
 * account to the key's organization. Runs inside the caller's transaction
 * so that a use is only counted for an account that gets created.
 */
static int
bind_eab(struct srv *s, const cJSON *obj, EVP_PKEY *key, const char *url,
    struct account *a, struct http_resp *resp)
{
	struct eab eab;
	struct eab_key *k = NULL;
	enum kk_status st;
	int rc = -1;

	memset(&eab, 0, sizeof(eab));
	if ((st = eab_parse(obj, &eab)) != KK_OK) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "externalAccountBinding is not a valid HS256 JWS: %s",
		    kk_strerror(st));
		goto out;
	}
	st = store_eab_get(s->store, eab.kid, &k);
	if (st == KK_ENOTFOUND) {
		http_resp_error(resp, ACME_UNAUTHORIZED, 0,
		    "unknown external account key id");
		goto out;
	}
	if (st != KK_OK) {
		acme_store_error(resp, st, "external account key");
		goto out;
	}
	if (k->expires != 0 && k->expires <= time(NULL)) {
		http_resp_error(resp, ACME_UNAUTHORIZED, 0,
		    "the external account key has expired; ask the CA for a "
		    "new one");
		goto out;
	}
	if ((st = eab_verify(&eab, k->hmac_key, k->hmac_key_len, key, url)) !=
	    KK_OK) {
		http_resp_error(resp, ACME_UNAUTHORIZED, 0,
		    "externalAccountBinding does not verify: %s",
		    st == KK_ESIG   ? "wrong MAC (check the HMAC key)"
		    : st == KK_EKEY ? "it binds a different account key"
		                    : "its url is not the newAccount URL");
		goto out;
	}
	st = store_eab_use(s->store, k->kid);
	if (st == KK_ELIMIT) {
		http_resp_error(resp, ACME_UNAUTHORIZED, 0,
		    "the external account key has been used %d times, its "
		    "limit",
		    k->max_uses);
		goto out;
	}
	if (st != KK_OK) {
		acme_store_error(resp, st, "external account key");
		goto out;
	}
	if ((a->org = strdup(k->org)) == NULL ||
	    (a->eab_kid = strdup(k->kid)) == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	rc = 0;
out:
	eab_clear(&eab);
	eab_key_free(k);
	return rc;
}

void
acme_new_account(
    struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	struct acme_post p;
	struct account a, *found = NULL;
	cJSON *jwk = NULL, *detail = NULL;
	const cJSON *eab, *tos;
	char *thumb = NULL, *url = NULL, *actor = NULL;
	int n = 0, in_txn = 0;
	enum kk_status st;
	time_t now = time(NULL);

	memset(&a, 0, sizeof(a));
	if (acme_post_open(s, req, ACME_AUTH_JWK, &p, resp) != KK_OK)
		return;
	if (p.payload == NULL) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "newAccount needs a JSON object payload");
		goto out;
	}
	if (jwk_thumbprint(p.key, &thumb) != KK_OK) {
		http_resp_error(resp, ACME_BAD_PUBLIC_KEY, 0,
		    "cannot compute the key's thumbprint");
		goto out;
	}
	st = store_account_by_thumbprint(s->store, thumb, &found);
	if (st == KK_OK && strcmp(found->status, "valid") != 0) {
		/* RFC 8555 7.3.6: a deactivated account's key is done. */
		http_resp_error(resp, ACME_UNAUTHORIZED, 0,
		    "the account for this key is %s", found->status);
		goto out;
	}
	if (st == KK_OK) {
		/* RFC 8555 7.3.1: the existing account, 200, no change. */
		send_account(s, resp, found, 200);
		goto out;
	}
	if (st != KK_ENOTFOUND) {
		acme_store_error(resp, st, "account");
		goto out;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	        p.payload, "onlyReturnExisting"))) {
		http_resp_error(resp, ACME_ACCOUNT_DOES_NOT_EXIST, 0,
		    "no account exists for this key");
		goto out;
	}
	eab = cJSON_GetObjectItemCaseSensitive(
	    p.payload, "externalAccountBinding");
	if (eab == NULL && s->policy->eab_required) {
		http_resp_error(resp, ACME_EXTERNAL_ACCOUNT_REQUIRED, 0,
		    "this CA requires an external account binding: ask the "
		    "operator for an EAB key for your organization");
		goto out;
	}
	tos =
	    cJSON_GetObjectItemCaseSensitive(p.payload, "termsOfServiceAgreed");
	if (s->policy->terms_of_service != NULL && !cJSON_IsTrue(tos)) {
		http_resp_error(resp, ACME_USER_ACTION_REQUIRED, 0,
		    "agree to the terms of service at %s",
		    s->policy->terms_of_service);
		goto out;
	}
	if (check_contacts(
	        cJSON_GetObjectItemCaseSensitive(p.payload, "contact"), resp,
	        &a.contacts) != 0) {
		if (resp->status == 0)
			http_resp_error(
			    resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	if (s->policy->new_accounts_per_ip_per_hour > 0 &&
	    store_account_count_by_ip(
	        s->store, req->remote_ip, now - 3600, &n) == KK_OK &&
	    n >= s->policy->new_accounts_per_ip_per_hour) {
		http_resp_error(resp, ACME_RATE_LIMITED, 0,
		    "too many new accounts from %s in the last hour (limit "
		    "%d)",
		    req->remote_ip, s->policy->new_accounts_per_ip_per_hour);
		resp->retry_after = 600;
		goto out;
	}
	if (model_new_id(&a.id) != KK_OK ||
	    jwk_from_pkey(p.key, &jwk) != KK_OK ||
	    (a.jwk = cJSON_PrintUnformatted(jwk)) == NULL ||
	    (a.created_ip = strdup(req->remote_ip)) == NULL ||
	    (url = srv_url(s, "/acme/new-account")) == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	a.status = "valid";
	a.thumbprint = thumb;
	a.created_at = now;
	a.tos_agreed = cJSON_IsTrue(tos);

	if (store_begin(s->store) != KK_OK) {
		acme_store_error(resp, KK_EIO, "account");
		goto out;
	}
	in_txn = 1;
	if (eab != NULL && bind_eab(s, eab, p.key, url, &a, resp) != 0)
		goto out;
	st = store_account_insert(s->store, &a);
	if (st == KK_EEXIST) {
		/* A concurrent newAccount with this key won the race: answer
		 * as for any existing account (and count no EAB use). */
		store_rollback(s->store);
		in_txn = 0;
		if ((st = store_account_by_thumbprint(
		         s->store, thumb, &found)) != KK_OK) {
			acme_store_error(resp, st, "account");
			goto out;
		}
		send_account(s, resp, found, 200);
		goto out;
	}
	if (st != KK_OK) {
		acme_store_error(resp, st, "account");
		goto out;
	}
	detail = cJSON_CreateObject();
	if (detail != NULL) {
		cJSON_AddStringToObject(detail, "ip", req->remote_ip);
		if (a.org != NULL)
			cJSON_AddStringToObject(detail, "eab_org", a.org);
	}
	if (asprintf(&actor, "acme:%s", a.id) < 0)
		actor = NULL;
	if (audit_record(s->store, time(NULL), actor ? actor : "acme",
	        "account.create", a.id, detail) != KK_OK) {
		acme_store_error(resp, KK_EIO, "audit log");
		goto out;
	}
	if (store_commit(s->store) != KK_OK) {
		in_txn = 0;
		acme_store_error(resp, KK_EIO, "account");
		goto out;
	}
	in_txn = 0;
	send_account(s, resp, &a, 201);
out:
	if (in_txn)
		store_rollback(s->store);
	a.status = NULL;
	a.thumbprint = NULL;
	free(a.id);
	free(a.jwk);
	free(a.contacts);
	free(a.org);
	free(a.eab_kid);
	free(a.created_ip);
	free(thumb);
	free(url);
	free(actor);
	cJSON_Delete(jwk);
	cJSON_Delete(detail);
	account_free(found);
	acme_post_clear(&p);
}

/* The signer must be the account the URL names. */
static int
own_account(const struct acme_post *p, const char *id, struct http_resp *resp)
{
	if (strcmp(p->account->id, id) != 0) {
		http_resp_error(resp, ACME_UNAUTHORIZED, 0,
		    "the request is signed by another account");
		return 0;
	}
	return 1;
}

void
acme_account(struct srv *s, const struct http_req *req, struct http_resp *resp,
    const char *id)
{
	struct acme_post p;
	const cJSON *status, *contact;
	char *contacts = NULL, *actor = NULL;
	const char *action = NULL;
	char *old_contacts = NULL;
	enum kk_status st;

	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if (!own_account(&p, id, resp))
		goto out;
	if (p.payload == NULL) {
		send_account(s, resp, p.account, 200);
		goto out;
	}
	status = cJSON_GetObjectItemCaseSensitive(p.payload, "status");
	contact = cJSON_GetObjectItemCaseSensitive(p.payload, "contact");
	if (status != NULL) {
		if (!cJSON_IsString(status) ||
		    strcmp(status->valuestring, "deactivated") != 0) {
			http_resp_error(resp, ACME_MALFORMED, 0,
			    "the only status a client may set is "
			    "\"deactivated\"");
			goto out;
		}
		free(p.account->status);
		p.account->status = strdup("deactivated");
		action = "account.deactivate";
	}
	if (contact != NULL) {
		if (check_contacts(contact, resp, &contacts) != 0) {
			if (resp->status == 0)
				http_resp_error(resp, ACME_SERVER_INTERNAL, 0,
				    "out of memory");
			goto out;
		}
		old_contacts = p.account->contacts;
		p.account->contacts = contacts;
		contacts = NULL;
		if (action == NULL)
			action = "account.update";
	}
	if (action == NULL) {
		send_account(s, resp, p.account, 200);
		goto out;
	}
	if (p.account->status == NULL || p.account->contacts == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	if (asprintf(&actor, "acme:%s", id) < 0)
		actor = NULL;
	if ((st = store_begin(s->store)) != KK_OK) {
		acme_store_error(resp, st, "account");
		goto out;
	}
	if ((st = store_account_update(s->store, p.account)) != KK_OK ||
	    (st = audit_record(s->store, time(NULL), actor ? actor : "acme",
	         action, id, NULL)) != KK_OK ||
	    (st = store_commit(s->store)) != KK_OK) {
		store_rollback(s->store);
		acme_store_error(resp, st, "account");
		goto out;
	}
	send_account(s, resp, p.account, 200);
out:
	free(contacts);
	free(old_contacts);
	free(actor);
	acme_post_clear(&p);
}

void
acme_account_orders(struct srv *s, const struct http_req *req,
    struct http_resp *resp, const char *id)
{
	struct acme_post p;
	char **ids = NULL, *url;
	size_t n = 0;
	cJSON *j = NULL, *arr;
	enum kk_status st;

	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if (!own_account(&p, id, resp))
		goto out;
	if ((st = store_order_ids_by_account(s->store, id, &ids, &n)) !=
	    KK_OK) {
		acme_store_error(resp, st, "orders");
		goto out;
	}
	if ((j = cJSON_CreateObject()) == NULL ||
	    (arr = cJSON_AddArrayToObject(j, "orders")) == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		if ((url = srv_url(s, "/acme/order/%s", ids[i])) == NULL)
			goto oom;
		cJSON_AddItemToArray(arr, cJSON_CreateString(url));
		free(url);
	}
	if (http_resp_json(resp, 200, "application/json", j) != KK_OK)
		goto oom;
	goto out;
oom:
	http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
out:
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	cJSON_Delete(j);
	acme_post_clear(&p);
}

/*
 * keyChange (RFC 8555 7.3.5): the outer JWS is signed by the account, the
 * inner one (the payload) by the new key, binding the account URL and the
 * old key.
 */
void
acme_key_change(
    struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	struct acme_post p;
	struct jws inner;
	struct account *other = NULL;
	cJSON *ipay = NULL, *jwk = NULL;
	const cJSON *old;
	EVP_PKEY *oldkey = NULL;
	char *thumb = NULL, *newjwk = NULL, *acct_url = NULL, *actor = NULL;
	enum kk_status st;

	memset(&inner, 0, sizeof(inner));
	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if (p.jws.payload_len == 0 ||
	    jws_parse((const char *)p.jws.payload, p.jws.payload_len, &inner) !=
	        KK_OK ||
	    inner.jwk == NULL) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "the keyChange payload must be a JWS signed by the new "
		    "key with its jwk");
		goto out;
	}
	if (inner.nonce != NULL || inner.url == NULL ||
	    strcmp(inner.url, p.jws.url) != 0) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "the inner JWS must have the same url as the outer one "
		    "and no nonce");
		goto out;
	}
	if (jws_verify(&inner, inner.jwk) != KK_OK) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "the inner JWS signature does not verify");
		goto out;
	}
	acct_url = srv_url(s, "/acme/acct/%s", p.account->id);
	if (acct_url == NULL ||
	    json_parse((const char *)inner.payload, inner.payload_len, &ipay) !=
	        KK_OK ||
	    json_get_string(ipay, "account") == NULL ||
	    strcmp(json_get_string(ipay, "account"), acct_url) != 0 ||
	    (old = cJSON_GetObjectItemCaseSensitive(ipay, "oldKey")) == NULL ||
	    jwk_to_pkey(old, &oldkey) != KK_OK ||
	    !jwk_equal(oldkey, p.account_key)) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "the inner payload must name this account and its "
		    "current key as oldKey");
		goto out;
	}
	if (jwk_thumbprint(inner.jwk, &thumb) != KK_OK ||
	    jwk_from_pkey(inner.jwk, &jwk) != KK_OK ||
	    (newjwk = cJSON_PrintUnformatted(jwk)) == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	if ((st = store_begin(s->store)) != KK_OK) {
		acme_store_error(resp, st, "account");
		goto out;
	}
	st = store_account_by_thumbprint(s->store, thumb, &other);
	if (st == KK_OK) {
		char *url = srv_url(s, "/acme/acct/%s", other->id);

		store_rollback(s->store);
		http_resp_error(resp, ACME_MALFORMED, 409,
		    "the new key already belongs to an account");
		if (url != NULL)
			http_resp_location(resp, url);
		free(url);
		goto out;
	}
	free(p.account->jwk);
	free(p.account->thumbprint);
	p.account->jwk = newjwk;
	p.account->thumbprint = thumb;
	newjwk = thumb = NULL;
	if (asprintf(&actor, "acme:%s", p.account->id) < 0)
		actor = NULL;
	if ((st = store_account_update(s->store, p.account)) != KK_OK ||
	    (st = audit_record(s->store, time(NULL), actor ? actor : "acme",
	         "account.key-change", p.account->id, NULL)) != KK_OK ||
	    (st = store_commit(s->store)) != KK_OK) {
		store_rollback(s->store);
		acme_store_error(resp, st, "account");
		goto out;
	}
	send_account(s, resp, p.account, 200);
out:
	jws_clear(&inner);
	account_free(other);
	cJSON_Delete(ipay);
	cJSON_Delete(jwk);
	EVP_PKEY_free(oldkey);
	free(thumb);
	free(newjwk);
	free(acct_url);
	free(actor);
	acme_post_clear(&p);
}
