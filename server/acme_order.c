/*
 * Orders (RFC 8555 sections 7.4 and 7.1.3): newOrder for exactly one "org"
 * identifier, reading an order, and finalize, which issues the certificate
 * synchronously from verified data.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme.h"
#include "b64url.h"
#include "csr.h"
#include "json.h"
#include "jwk.h"
#include "rfc3339.h"

static enum kk_status
add_time(cJSON *j, const char *name, time_t t)
{
	char buf[RFC3339_LEN];

	rfc3339_format(t, buf);
	return cJSON_AddStringToObject(j, name, buf) ? KK_OK : KK_ENOMEM;
}

enum kk_status
acme_order_json(struct srv *s, const struct order *o, cJSON **out)
{
	cJSON *j = NULL, *ids, *id, *authzs, *err = NULL;
	char *url = NULL;

	*out = NULL;
	if ((j = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(j, "status", o->status) == NULL ||
	    add_time(j, "expires", o->expires) != KK_OK ||
	    (ids = cJSON_AddArrayToObject(j, "identifiers")) == NULL ||
	    (id = cJSON_CreateObject()) == NULL)
		goto oom;
	cJSON_AddItemToArray(ids, id);
	if (cJSON_AddStringToObject(id, "type", "org") == NULL ||
	    cJSON_AddStringToObject(id, "value", o->org) == NULL ||
	    (authzs = cJSON_AddArrayToObject(j, "authorizations")) == NULL ||
	    (url = srv_url(s, "/acme/authz/%s", o->authz_id)) == NULL)
		goto oom;
	cJSON_AddItemToArray(authzs, cJSON_CreateString(url));
	free(url);
	if ((url = srv_url(s, "/acme/order/%s/finalize", o->id)) == NULL ||
	    cJSON_AddStringToObject(j, "finalize", url) == NULL)
		goto oom;
	free(url);
	url = NULL;
	if (o->profile != NULL &&
	    cJSON_AddStringToObject(j, "profile", o->profile) == NULL)
		goto oom;
	if (o->cert_serial != NULL) {
		if ((url = srv_url(s, "/acme/cert/%s", o->cert_serial)) ==
		        NULL ||
		    cJSON_AddStringToObject(j, "certificate", url) == NULL)
			goto oom;
		free(url);
		url = NULL;
	}
	if (o->error != NULL &&
	    json_parse(o->error, strlen(o->error), &err) == KK_OK)
		cJSON_AddItemToObject(j, "error", err);
	*out = j;
	return KK_OK;
oom:
	free(url);
	cJSON_Delete(j);
	return KK_ENOMEM;
}

static void
send_order(
    struct srv *s, struct http_resp *resp, const struct order *o, int status)
{
	cJSON *j = NULL;
	char *url = srv_url(s, "/acme/order/%s", o->id);

	if (url == NULL || acme_order_json(s, o, &j) != KK_OK ||
	    http_resp_json(resp, status, "application/json", j) != KK_OK ||
	    http_resp_location(resp, url) != KK_OK)
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
	cJSON_Delete(j);
	free(url);
}

/*
 * Reads the identifiers of a newOrder: exactly one "org" identifier whose
 * value the policy accepts. *value is borrowed from payload.
 */
static int
order_identifier(struct srv *s, const cJSON *payload, const char **value,
    struct http_resp *resp)
{
	const cJSON *ids, *id;
	const char *type, *v = NULL, *why = NULL;
	int n_org = 0;

	ids = cJSON_GetObjectItemCaseSensitive(payload, "identifiers");
	if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) == 0) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "identifiers must be a non-empty array");
		return -1;
	}
	cJSON_ArrayForEach(id, ids)
	{
		type = json_get_string(id, "type");
		if (type == NULL || json_get_string(id, "value") == NULL) {
			http_resp_error(resp, ACME_MALFORMED, 0,
			    "each identifier needs a string type and value");
			return -1;
		}
		if (strcmp(type, "org") != 0) {
			http_resp_error(resp, ACME_UNSUPPORTED_IDENTIFIER, 0,
			    "identifier type \"%.32s\" is not supported; this "
			    "CA certifies organizations (type \"org\")",
			    type);
			return -1;
		}
		v = json_get_string(id, "value");
		n_org++;
	}
	if (n_org != 1) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "an order holds exactly one org identifier, not %d", n_org);
		return -1;
	}
	if (policy_check_org(s->policy, v, &why) != KK_OK) {
		http_resp_error(resp, ACME_REJECTED_IDENTIFIER, 0,
		    "organization identifier \"%.64s\" is not accepted: %s", v,
		    why ? why : "it does not match the policy");
		return -1;
	}
	*value = v;
	return 0;
}

/* 1 when the account may skip verification for org right now. */
static int
org_preverified(const struct account *a, const struct org *org, time_t now)
{
	return a->org != NULL && org != NULL && strcmp(a->org, org->id) == 0 &&
	       org->expires > now;
}

void
acme_new_order(
    struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	struct acme_post p;
	struct order o;
	struct authz az;
	struct challenge ch;
	struct org *org = NULL;
	const struct policy_profile *prof;
	const char *value, *pname;
	char *actor = NULL;
	cJSON *detail = NULL;
	time_t now = time(NULL);
	int n = 0, pre;
	enum kk_status st;

	memset(&o, 0, sizeof(o));
	memset(&az, 0, sizeof(az));
	memset(&ch, 0, sizeof(ch));
	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if (p.payload == NULL) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "newOrder needs a JSON object payload");
		goto out;
	}
	if (order_identifier(s, p.payload, &value, resp) != 0)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(p.payload, "notBefore") ||
	    cJSON_GetObjectItemCaseSensitive(p.payload, "notAfter")) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "notBefore and notAfter are set by the certificate "
		    "profile and cannot be requested");
		goto out;
	}
	pname = json_get_string(p.payload, "profile");
	if ((prof = policy_profile(s->policy, pname)) == NULL) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "unknown certificate profile \"%.32s\"",
		    pname ? pname : "");
		goto out;
	}
	if (s->policy->orders_per_account_per_hour > 0 &&
	    store_order_count_by_account(
	        s->store, p.account->id, now - 3600, &n) == KK_OK &&
	    n >= s->policy->orders_per_account_per_hour) {
		http_resp_error(resp, ACME_RATE_LIMITED, 0,
		    "this account created %d orders in the last hour, the "
		    "limit",
		    n);
		resp->retry_after = 600;
		goto out;
	}
	st = store_org_get(s->store, value, &org);
	if (st != KK_OK && st != KK_ENOTFOUND) {
		acme_store_error(resp, st, "organization");
		goto out;
	}
	pre = org_preverified(p.account, org, now);

	if (model_new_id(&o.id) != KK_OK || model_new_id(&az.id) != KK_OK ||
	    model_new_id(&ch.id) != KK_OK || model_new_id(&ch.token) != KK_OK) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	az.account_id = o.account_id = p.account->id;
	az.id_type = "org";
	az.id_value = o.org = (char *)value;
	az.created_at = o.created_at = now;
	ch.authz_id = az.id;
	ch.type = "oob-01";
	o.authz_id = az.id;
	o.profile = prof->name;
	o.expires = now + 3600L * s->policy->order_lifetime_hours;
	if (pre) {
		/* The organization is verified and this account is bound
		 * to it: nothing for a person to do. */
		az.status = ch.status = "valid";
		az.expires = org->expires;
		ch.validated = org->verified_at;
		o.status = "ready";
		if (o.expires > org->expires)
			o.expires = org->expires;
	} else {
		az.status = ch.status = "pending";
		az.expires = o.expires;
		o.status = "pending";
	}

	if (asprintf(&actor, "acme:%s", p.account->id) < 0)
		actor = NULL;
	if ((detail = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(detail, "org", value);
		cJSON_AddBoolToObject(detail, "preverified", pre);
	}
	if ((st = store_begin(s->store)) != KK_OK) {
		acme_store_error(resp, st, "order");
		goto out;
	}
	if ((st = store_authz_insert(s->store, &az)) != KK_OK ||
	    (st = store_challenge_insert(s->store, &ch)) != KK_OK ||
	    (st = store_order_insert(s->store, &o)) != KK_OK ||
	    (st = srv_audit(s, actor ? actor : "acme", "order.create", o.id,
	         detail)) != KK_OK ||
	    (st = store_commit(s->store)) != KK_OK) {
		store_rollback(s->store);
		acme_store_error(resp, st, "order");
		goto out;
	}
	send_order(s, resp, &o, 201);
out:
	free(o.id);
	free(az.id);
	free(ch.id);
	free(ch.token);
	free(actor);
	cJSON_Delete(detail);
	org_free(org);
	acme_post_clear(&p);
}

/* Loads an order the signer owns; answers and returns NULL otherwise. */
static struct order *
owned_order(struct srv *s, const struct acme_post *p, const char *id,
    struct http_resp *resp)
{
	struct order *o = NULL;
	enum kk_status st;

	st = store_order_get(s->store, id, &o);
	if (st == KK_OK && o->expires < time(NULL) &&
	    (strcmp(o->status, "pending") == 0 ||
	        strcmp(o->status, "ready") == 0)) {
		/* Stale: let the expiry rules run before answering. */
		order_free(o);
		o = NULL;
		store_expire(s->store, time(NULL), NULL);
		st = store_order_get(s->store, id, &o);
	}
	if (st != KK_OK) {
		acme_store_error(resp, st, "order");
		return NULL;
	}
	if (strcmp(o->account_id, p->account->id) != 0) {
		http_resp_error(resp, ACME_UNAUTHORIZED, 0,
		    "the order belongs to another account");
		order_free(o);
		return NULL;
	}
	return o;
}

void
acme_order(struct srv *s, const struct http_req *req, struct http_resp *resp,
    const char *id)
{
	struct acme_post p;
	struct order *o;

	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if ((o = owned_order(s, &p, id, resp)) != NULL) {
		send_order(s, resp, o, 200);
		if (strcmp(o->status, "pending") == 0 &&
		    acme_authz_awaiting_operator(s, o->authz_id))
			resp->retry_after = ACME_RETRY_AFTER;
		order_free(o);
	}
	acme_post_clear(&p);
}

/*
 * Checks the CSR against the order and the profile. Returns 0 and fills
 * info when the certificate may be issued.
 */
static int
check_csr(struct srv *s, const struct acme_post *p, const struct order *o,
    const struct policy_profile *prof, struct csr_info *info,
    struct http_resp *resp)
{
	const char *b64 = json_get_string(p->payload, "csr");
	unsigned char *der = NULL;
	size_t len = 0;
	struct account *holder = NULL;
	char *thumb = NULL;
	enum kk_status st;
	int rc = -1;

	if (b64 == NULL ||
	    b64url_decode(b64, strlen(b64), &der, &len) != KK_OK) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "finalize needs \"csr\": the base64url DER of a PKCS#10 "
		    "request");
		goto out;
	}
	st = csr_parse(der, len, info);
	if (st != KK_OK) {
		http_resp_error(
		    resp, ACME_BAD_CSR, 0, "the CSR is refused: %s", info->why);
		goto out;
	}
	if (info->org_id == NULL || strcmp(info->org_id, o->org) != 0) {
		http_resp_error(resp, ACME_BAD_CSR, 0,
		    "the CSR subject's organizationIdentifier must be %s",
		    o->org);
		goto out;
	}
	if (info->cn == NULL || !policy_cn_ok(prof, info->cn)) {
		http_resp_error(resp, ACME_BAD_CSR, 0,
		    "the CSR's CN is missing or not accepted by the profile "
		    "\"%s\" (pattern %s)",
		    prof->name, prof->cn_pattern);
		goto out;
	}
	if ((prof->key_types & policy_key_bit(info->key_type)) == 0) {
		http_resp_error(resp, ACME_BAD_CSR, 0,
		    "key type %s is not allowed by the profile \"%s\"",
		    info->key_type, prof->name);
		goto out;
	}
	if (jwk_thumbprint(info->key, &thumb) == KK_OK &&
	    store_account_by_thumbprint(s->store, thumb, &holder) == KK_OK) {
		http_resp_error(resp, ACME_BAD_CSR, 0,
		    "the CSR's key is an ACME account key; use a separate key "
		    "for the certificate");
		goto out;
	}
	rc = 0;
out:
	free(der);
	free(thumb);
	account_free(holder);
	return rc;
}

/* Records the certificate and the order's new state in one commit. */
static enum kk_status
record_issue(
    struct srv *s, struct order *o, const struct cert *c, const char *actor)
{
	struct order *now = NULL;
	enum kk_status st;
	cJSON *detail = cJSON_CreateObject();

	if (detail != NULL) {
		cJSON_AddStringToObject(detail, "order", o->id);
		cJSON_AddStringToObject(detail, "org", c->org);
		cJSON_AddStringToObject(detail, "cn", c->cn);
	}
	if ((st = store_begin(s->store)) != KK_OK)
		goto out;
	/* Another finalize may have won the race since we read it. */
	if ((st = store_order_get(s->store, o->id, &now)) != KK_OK)
		goto fail;
	if (strcmp(now->status, "ready") != 0) {
		st = KK_ECONFLICT;
		goto fail;
	}
	free(o->status);
	if ((o->status = strdup("valid")) == NULL ||
	    (o->cert_serial = strdup(c->serial)) == NULL) {
		st = KK_ENOMEM;
		goto fail;
	}
	if ((st = store_cert_insert(s->store, c)) != KK_OK ||
	    (st = store_order_update(s->store, o)) != KK_OK ||
	    (st = srv_audit(s, actor, "cert.issue", c->serial, detail)) !=
	        KK_OK)
		goto fail;
	st = store_commit(s->store);
	goto out;
fail:
	store_rollback(s->store);
out:
	order_free(now);
	cJSON_Delete(detail);
	return st;
}

void
acme_finalize(struct srv *s, const struct http_req *req, struct http_resp *resp,
    const char *id)
{
	struct acme_post p;
	struct order *o = NULL;
	struct authz *az = NULL;
	struct org *org = NULL;
	struct csr_info info;
	struct ca_leaf leaf;
	struct cert c;
	const struct policy_profile *prof;
	char *crl_url = NULL, *actor = NULL;
	time_t now = time(NULL);
	enum kk_status st;

	memset(&info, 0, sizeof(info));
	memset(&c, 0, sizeof(c));
	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if ((o = owned_order(s, &p, id, resp)) == NULL)
		goto out;
	if (strcmp(o->status, "ready") != 0) {
		http_resp_error(resp, ACME_ORDER_NOT_READY, 0,
		    "the order is %s, not ready%s", o->status,
		    strcmp(o->status, "pending") == 0
		        ? ": its organization verification is not complete"
		        : "");
		goto out;
	}
	if (store_authz_get(s->store, o->authz_id, &az) != KK_OK ||
	    strcmp(az->status, "valid") != 0 || az->expires <= now ||
	    store_org_get(s->store, o->org, &org) != KK_OK) {
		http_resp_error(resp, ACME_ORDER_NOT_READY, 0,
		    "the organization's verification has expired; place a "
		    "new order");
		goto out;
	}
	if (p.payload == NULL) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "finalize needs a JSON object payload with \"csr\"");
		goto out;
	}
	if ((prof = policy_profile(s->policy, o->profile)) == NULL)
		prof = policy_profile(s->policy, NULL);
	if (check_csr(s, &p, o, prof, &info, resp) != 0)
		goto out;
	if ((crl_url = srv_url(s, "/crl/%s.crl", ca_issuer_id(s->ca))) ==
	    NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	leaf.key = info.key;
	leaf.country = org->country;
	leaf.org_name = org->legal_name;
	leaf.org_id = org->id;
	leaf.cn = info.cn;
	leaf.validity_days = prof->validity_days;
	leaf.crl_url = crl_url;
	if ((st = ca_issue(s->ca, &leaf, &c.pem, &c.serial, &c.not_before,
	         &c.not_after)) != KK_OK ||
	    (st = ca_spki_sha256(info.key, &c.spki_sha256)) != KK_OK) {
		srv_log("issue: %s", kk_strerror(st));
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0,
		    "the certificate could not be signed; try again later");
		goto out;
	}
	c.account_id = p.account->id;
	c.order_id = o->id;
	c.org = org->id;
	c.cn = info.cn;
	c.status = "valid";
	if (asprintf(&actor, "acme:%s", p.account->id) < 0)
		actor = NULL;
	st = record_issue(s, o, &c, actor ? actor : "acme");
	if (st == KK_ECONFLICT) {
		http_resp_error(resp, ACME_ORDER_NOT_READY, 0,
		    "the order was finalized by a concurrent request");
		goto out;
	}
	if (st != KK_OK) {
		acme_store_error(resp, st, "certificate");
		goto out;
	}
	srv_log("issued %s to %s (CN %s) for account %s", c.serial, org->id,
	    info.cn, p.account->id);
	send_order(s, resp, o, 200);
out:
	free(c.pem);
	free(c.serial);
	free(c.spki_sha256);
	free(crl_url);
	free(actor);
	csr_info_clear(&info);
	order_free(o);
	authz_free(az);
	org_free(org);
	acme_post_clear(&p);
}
