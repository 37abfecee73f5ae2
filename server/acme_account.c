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
#include "acme_status.h"
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
	    cJSON_AddStringToObject(j, "status", acme_status_name(a->status)) ==
	        NULL)
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
 * A newAccount that would be refused (resp holds the problem) for a key
 * that has an account already (RFC 8555 7.3.1, 7.3.6): the answer becomes
 * 200 with the account, or unauthorized when it is deactivated. Only a
 * refused request looks here: one that may create an account has the
 * registration authority look the key up, once, inside its transaction.
 */
static void
existing_account(struct srv *s, EVP_PKEY *key, struct http_resp *resp)
{
	struct account *found = NULL;
	char *thumb = NULL;
	int want_nonce = resp->want_nonce;
	enum kk_status st;

	if ((st = jwk_thumbprint(key, &thumb)) != KK_OK) {
		http_resp_clear(resp);
		resp->want_nonce = want_nonce;
		/* The key was parsed and its signature checked already: only
		 * a key the thumbprint cannot describe is the client's fault.
		 */
		if (st == KK_EKEY)
			http_resp_error(resp, ACME_BAD_PUBLIC_KEY, 0,
			    "cannot compute the key's thumbprint");
		else
			http_resp_error(resp, ACME_SERVER_INTERNAL, 0,
			    "cannot compute the key's thumbprint");
		goto out;
	}
	if ((st = store_account_by_thumbprint(s->store, thumb, &found)) ==
	    KK_ENOTFOUND)
		goto out; /* no account: the refusal stands */
	http_resp_clear(resp);
	resp->want_nonce = want_nonce;
	/* A store that cannot say is no answer: accountDoesNotExist would
	 * tell the client, for good, that the key has none. */
	if (st != KK_OK)
		acme_store_error(resp, st, "account");
	else if (found->status != ACME_STATUS_VALID)
		http_resp_error(resp, ACME_UNAUTHORIZED, 0,
		    "the account for this key is %s",
		    acme_status_name(found->status));
	else
		send_account(s, resp, found, 200);
out:
	free(thumb);
	account_free(found);
}

/* The request's policy checks: EAB when required, terms of service. */
static int
new_account_allowed(struct srv *s, const cJSON *payload, struct http_resp *resp)
{
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	        payload, "onlyReturnExisting"))) {
		http_resp_error(resp, ACME_ACCOUNT_DOES_NOT_EXIST, 0,
		    "no account exists for this key");
		return 0;
	}
	if (s->policy->eab_required && cJSON_GetObjectItemCaseSensitive(payload,
	                                   "externalAccountBinding") == NULL) {
		http_resp_error(resp, ACME_EXTERNAL_ACCOUNT_REQUIRED, 0,
		    "this CA requires an external account binding: ask the "
		    "operator for an EAB key for your organization");
		return 0;
	}
	if (s->policy->terms_of_service != NULL &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	        payload, "termsOfServiceAgreed"))) {
		http_resp_error(resp, ACME_USER_ACTION_REQUIRED, 0,
		    "agree to the terms of service at %s",
		    s->policy->terms_of_service);
		return 0;
	}
	return 1;
}

/* A newAccount request's parts, owned; released with account_in_clear. */
struct account_in {
	char *contacts; /* JSON array text */
	struct eab eab; /* parsed when has_eab */
	int has_eab;
	char *url; /* this server's newAccount URL */
};

static void
account_in_clear(struct account_in *in)
{
	free(in->contacts);
	eab_clear(&in->eab);
	free(in->url);
	memset(in, 0, sizeof(*in));
}

/* Reads contacts and the EAB; returns 0, or -1 with resp answered. */
static int
account_in_read(struct srv *s, const cJSON *payload, struct account_in *in,
    struct http_resp *resp)
{
	const cJSON *eabj;
	enum kk_status st;

	memset(in, 0, sizeof(*in));
	if (check_contacts(cJSON_GetObjectItemCaseSensitive(payload, "contact"),
	        resp, &in->contacts) != 0) {
		if (resp->status == 0)
			http_resp_error(
			    resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		return -1;
	}
	eabj =
	    cJSON_GetObjectItemCaseSensitive(payload, "externalAccountBinding");
	if (eabj != NULL && (st = eab_parse(eabj, &in->eab)) != KK_OK) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "externalAccountBinding is not a valid HS256 JWS: %s",
		    kk_strerror(st));
		return -1;
	}
	in->has_eab = eabj != NULL;
	if ((in->url = srv_url(s, "/acme/new-account")) == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		return -1;
	}
	return 0;
}

void
acme_new_account(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	struct acme_post p;
	struct account_in in;
	struct ra_account_req ar;
	struct account *a = NULL;
	const char *why = NULL;
	int created = 0;
	enum kk_status st;

	memset(&in, 0, sizeof(in));
	if (acme_post_open(s, req, ACME_AUTH_JWK, &p, resp) != KK_OK)
		return;
	if (p.payload == NULL) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "newAccount needs a JSON object payload");
		goto out;
	}
	if (!new_account_allowed(s, p.payload, resp) ||
	    account_in_read(s, p.payload, &in, resp) != 0) {
		existing_account(s, p.key, resp);
		goto out;
	}
	memset(&ar, 0, sizeof(ar));
	ar.key = p.key;
	ar.contacts = in.contacts;
	ar.ip = req->remote_ip;
	ar.tos_agreed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    p.payload, "termsOfServiceAgreed"));
	ar.eab = in.has_eab ? &in.eab : NULL;
	ar.url = in.url;
	st = ra_account_new(&s->ra, &ar, time(NULL), &a, &created, &why);
	if (st == KK_ELIMIT) {
		http_resp_error(resp, ACME_RATE_LIMITED, 0,
		    "too many new accounts from %s in the last hour (limit "
		    "%d)",
		    req->remote_ip, s->policy->new_accounts_per_ip_per_hour);
		resp->retry_after = 600;
	} else if (st == KK_ECONFLICT)
		http_resp_error(resp, ACME_UNAUTHORIZED, 0, "%s", why);
	else if (st != KK_OK)
		acme_store_error(resp, st, "account");
	else {
		/* Its next requests are signed by kid: the key is at hand. */
		keycache_put(s->keys, a->id, a->jwk, p.key);
		send_account(s, resp, a, created ? 201 : 200);
	}
out:
	account_in_clear(&in);
	account_free(a);
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
acme_account(struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	const char *id = call->id;
	struct acme_post p;
	struct account *a = NULL;
	const cJSON *status, *contact;
	char *contacts = NULL;
	const char *why = NULL;
	enum kk_status st;

	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if (!own_account(&p, id, resp))
		goto out;
	status = p.payload
	             ? cJSON_GetObjectItemCaseSensitive(p.payload, "status")
	             : NULL;
	contact = p.payload
	              ? cJSON_GetObjectItemCaseSensitive(p.payload, "contact")
	              : NULL;
	if (status == NULL && contact == NULL) {
		send_account(s, resp, p.account, 200);
		goto out;
	}
	if (status != NULL && acme_status_parse(cJSON_GetStringValue(status)) !=
	                          ACME_STATUS_DEACTIVATED) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "the only status a client may set is \"deactivated\"");
		goto out;
	}
	if (contact != NULL && check_contacts(contact, resp, &contacts) != 0) {
		if (resp->status == 0)
			http_resp_error(
			    resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	st = ra_account_update(
	    &s->ra, id, contacts, status != NULL, time(NULL), &a, &why);
	if (st == KK_ECONFLICT)
		http_resp_error(resp, ACME_UNAUTHORIZED, 0, "%s", why);
	else if (st != KK_OK)
		acme_store_error(resp, st, "account");
	else
		send_account(s, resp, a, 200);
out:
	free(contacts);
	account_free(a);
	acme_post_clear(&p);
}

void
acme_account_orders(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	const char *id = call->id;
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
 * Checks keyChange's inner JWS (RFC 8555 7.3.5): signed by the new key
 * with its jwk, the same url as the outer one and no nonce, naming this
 * account and its current key as oldKey. Returns 0, or -1 with resp
 * answered.
 */
static int
key_change_inner(struct srv *s, const struct acme_post *p, struct jws *inner,
    struct http_resp *resp)
{
	cJSON *ipay = NULL;
	const cJSON *old;
	EVP_PKEY *oldkey = NULL;
	char *acct_url = NULL;
	const char *why = NULL;

	if (p->jws.payload_len == 0 ||
	    jws_parse((const char *)p->jws.payload, p->jws.payload_len,
	        inner) != KK_OK ||
	    inner->jwk == NULL)
		why = "the keyChange payload must be a JWS signed by the new "
		      "key with its jwk";
	else if (inner->nonce != NULL || inner->url == NULL ||
	         strcmp(inner->url, p->jws.url) != 0)
		why = "the inner JWS must have the same url as the outer one "
		      "and no nonce";
	else if (jws_verify(inner, inner->jwk) != KK_OK)
		why = "the inner JWS signature does not verify";
	else if ((acct_url = srv_url(s, "/acme/acct/%s", p->account->id)) ==
	             NULL ||
	         json_parse((const char *)inner->payload, inner->payload_len,
	             &ipay) != KK_OK ||
	         json_get_string(ipay, "account") == NULL ||
	         strcmp(json_get_string(ipay, "account"), acct_url) != 0 ||
	         (old = cJSON_GetObjectItemCaseSensitive(ipay, "oldKey")) ==
	             NULL ||
	         jwk_to_pkey(old, &oldkey) != KK_OK ||
	         !jwk_equal(oldkey, p->account_key))
		why = "the inner payload must name this account and its "
		      "current key as oldKey";
	if (why != NULL)
		http_resp_error(resp, ACME_MALFORMED, 0, "%s", why);
	cJSON_Delete(ipay);
	EVP_PKEY_free(oldkey);
	free(acct_url);
	return why != NULL ? -1 : 0;
}

/* The conflict of a key change: 409 with the other account's URL. */
static void
key_taken(struct srv *s, EVP_PKEY *key, struct http_resp *resp)
{
	struct account *other = NULL;
	char *thumb = NULL, *url = NULL;

	http_resp_error(resp, ACME_MALFORMED, 409,
	    "the new key already belongs to an account");
	if (jwk_thumbprint(key, &thumb) == KK_OK &&
	    store_account_by_thumbprint(s->store, thumb, &other) == KK_OK &&
	    (url = srv_url(s, "/acme/acct/%s", other->id)) != NULL)
		http_resp_location(resp, url);
	account_free(other);
	free(thumb);
	free(url);
}

/* keyChange (RFC 8555 7.3.5): the account's key is replaced. */
void
acme_key_change(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	struct acme_post p;
	struct jws inner;
	struct account *a = NULL;
	enum kk_status st;

	memset(&inner, 0, sizeof(inner));
	if (acme_post_open(s, call->req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if (key_change_inner(s, &p, &inner, resp) != 0)
		goto out;
	st = ra_account_key_change(
	    &s->ra, p.account->id, inner.jwk, time(NULL), &a);
	if (st == KK_EEXIST)
		key_taken(s, inner.jwk, resp);
	else if (st == KK_ECONFLICT)
		http_resp_error(
		    resp, ACME_UNAUTHORIZED, 0, "the account is deactivated");
	else if (st != KK_OK)
		acme_store_error(resp, st, "account");
	else
		send_account(s, resp, a, 200);
out:
	jws_clear(&inner);
	account_free(a);
	acme_post_clear(&p);
}
