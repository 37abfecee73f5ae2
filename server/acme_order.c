/*
 * Orders (RFC 8555 sections 7.4 and 7.1.3): newOrder for exactly one "org"
 * identifier, reading an order, and finalize, which issues the certificate
 * synchronously from verified data.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme.h"
#include "acme_status.h"
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
	    cJSON_AddStringToObject(j, "status", acme_status_name(o->status)) ==
	        NULL ||
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
	if (acme_order_add_replaces(s, o, j) != KK_OK)
		goto oom;
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

void
acme_new_order(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	struct acme_post p;
	struct order *o = NULL;
	const struct policy_profile *prof;
	const char *value, *pname, *why = NULL;
	char *replaces = NULL;
	enum kk_status st;

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
	if (acme_order_replaces(s, p.payload, &replaces, resp) != KK_OK)
		goto out;
	st = ra_order_new(&s->ra, p.account->id, value, prof->name, replaces,
	    time(NULL), &o, &why);
	if (st == KK_ELIMIT) {
		http_resp_error(resp, ACME_RATE_LIMITED, 0,
		    "this account created %d orders in the last hour, the "
		    "limit",
		    s->policy->orders_per_account_per_hour);
		resp->retry_after = 600;
	} else if (st == KK_ECONFLICT)
		http_resp_error(resp, ACME_UNAUTHORIZED, 0, "%s", why);
	else if (st == KK_EINVAL)
		http_resp_error(resp, ACME_MALFORMED, 0, "%s", why);
	else if (st == KK_EEXIST)
		http_resp_error(resp, ACME_ALREADY_REPLACED, 409,
		    "the certificate named by \"replaces\" is being replaced "
		    "by another order already");
	else if (st == KK_ENOTFOUND && replaces != NULL)
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "replaces: no certificate of this CA has that certID");
	else if (st != KK_OK)
		acme_store_error(resp, st, "order");
	else
		send_order(s, resp, o, 201);
out:
	free(replaces);
	order_free(o);
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
	    (o->status == ACME_STATUS_PENDING ||
	        o->status == ACME_STATUS_READY)) {
		/* Stale: let the expiry rules run before answering. */
		order_free(o);
		o = NULL;
		ra_expire(&s->ra, time(NULL), NULL);
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
acme_order(struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	const char *id = call->id;
	struct acme_post p;
	struct order *o;

	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if ((o = owned_order(s, &p, id, resp)) != NULL) {
		send_order(s, resp, o, 200);
		if (o->status == ACME_STATUS_PENDING &&
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

/*
 * Finalize: the handler checks the CSR against the order and its profile;
 * the registration authority re-checks the order, its authorization, the
 * organization and the account inside the issuing transaction.
 */
void
acme_finalize(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	const char *id = call->id;
	struct acme_post p;
	struct order *o = NULL, *done = NULL;
	struct csr_info info;
	const struct policy_profile *prof;
	const char *why = NULL;
	enum kk_status st;

	memset(&info, 0, sizeof(info));
	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if ((o = owned_order(s, &p, id, resp)) == NULL)
		goto out;
	if (o->status != ACME_STATUS_READY) {
		/* Before the CSR, so that a client polling too early learns
		 * why; the RA checks again when it issues. */
		http_resp_error(resp, ACME_ORDER_NOT_READY, 0,
		    "the order is %s, not ready%s", acme_status_name(o->status),
		    o->status == ACME_STATUS_PENDING
		        ? ": its organization verification is not complete"
		        : "");
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
	st = ra_order_finalize(&s->ra, p.account->id, o->id, info.key, info.cn,
	    time(NULL), &done, &why);
	if (st == KK_ECONFLICT)
		http_resp_error(resp, ACME_ORDER_NOT_READY, 0, "%s", why);
	else if (st == KK_ECRYPTO)
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0,
		    "the certificate could not be signed; try again later");
	else if (st != KK_OK)
		acme_store_error(resp, st, "certificate");
	else
		send_order(s, resp, done, 200);
out:
	csr_info_clear(&info);
	order_free(o);
	order_free(done);
	acme_post_clear(&p);
}
