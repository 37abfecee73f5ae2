/*
 * Orders (RFC 8555 sections 7.4 and 7.1.3): newOrder for at most one "org"
 * identifier and dns names, reading an order, and finalize, which issues
 * the certificate synchronously from verified and validated data.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme.h"
#include "acme_status.h"
#include "b64url.h"
#include "csr.h"
#include "dnsname.h"
#include "json.h"
#include "jwk.h"
#include "rfc3339.h"

/*
 * What an order's JSON shows beside the order record: its authorizations,
 * of which it shows only the ids and identifiers (they never change once
 * the order is made). Read from the store by view_load, or filled by a
 * handler from what it has read already; released with view_clear.
 */
struct acme_order_view {
	struct authz **authzs; /* owned; none: the order's authorizations do
	                          not name it (an org order), the JSON shows
	                          its org and authz_id */
	size_t n_authzs;
};

static enum kk_status
add_time(cJSON *j, const char *name, time_t t)
{
	char buf[RFC3339_LEN];

	rfc3339_format(t, buf);
	return cJSON_AddStringToObject(j, name, buf) ? KK_OK : KK_ENOMEM;
}

static void
view_clear(struct acme_order_view *v)
{
	for (size_t i = 0; i < v->n_authzs; i++)
		authz_free(v->authzs[i]);
	free(v->authzs);
	memset(v, 0, sizeof(*v));
}

/* The order's authorizations, read from the store into v (cleared first). */
static enum kk_status
view_load(struct srv *s, const struct order *o, struct acme_order_view *v)
{
	enum kk_status st;

	memset(v, 0, sizeof(*v));
	if ((st = store_authz_list_by_order(
	         s->store, o->id, &v->authzs, &v->n_authzs)) != KK_OK)
		view_clear(v);
	return st;
}

/* Adds one identifier and its authorization's URL. */
static int
add_identifier(struct srv *s, cJSON *ids, cJSON *authzs, const char *type,
    const char *value, const char *authz_id)
{
	cJSON *id;
	char *url = NULL;
	int ok;

	ok = (id = cJSON_CreateObject()) != NULL &&
	     cJSON_AddItemToArray(ids, id) &&
	     cJSON_AddStringToObject(id, "type", type) != NULL &&
	     cJSON_AddStringToObject(id, "value", value) != NULL &&
	     (url = srv_url(s, "/acme/authz/%s", authz_id)) != NULL &&
	     cJSON_AddItemToArray(authzs, cJSON_CreateString(url));
	free(url);
	return ok;
}

static enum kk_status
order_json(struct srv *s, const struct order *o,
    const struct acme_order_view *v, cJSON **out)
{
	cJSON *j = NULL, *ids, *authzs, *err = NULL;
	char *url = NULL;
	enum kk_status st = KK_ENOMEM;

	*out = NULL;
	if ((j = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(j, "status", acme_status_name(o->status)) ==
	        NULL ||
	    add_time(j, "expires", o->expires) != KK_OK ||
	    (ids = cJSON_AddArrayToObject(j, "identifiers")) == NULL ||
	    (authzs = cJSON_AddArrayToObject(j, "authorizations")) == NULL)
		goto oom;
	/* An org order: its one authorization does not name it. */
	if (v->n_authzs == 0 &&
	    !add_identifier(s, ids, authzs, "org", o->org, o->authz_id))
		goto oom;
	for (size_t i = 0; i < v->n_authzs; i++)
		if (!add_identifier(s, ids, authzs, v->authzs[i]->id_type,
		        v->authzs[i]->id_value, v->authzs[i]->id))
			goto oom;
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
	if ((st = acme_order_add_replaces(s, o->replaces, j)) != KK_OK)
		goto oom;
	*out = j;
	j = NULL;
oom:
	free(url);
	cJSON_Delete(j);
	return st;
}

/* Answers with order o and what v says of it. */
static void
send_order(struct srv *s, struct http_resp *resp, const struct order *o,
    const struct acme_order_view *v, int status)
{
	cJSON *j = NULL;
	char *url = srv_url(s, "/acme/order/%s", o->id);

	if (url == NULL || order_json(s, o, v, &j) != KK_OK ||
	    http_resp_json(resp, status, "application/json", j) != KK_OK ||
	    http_resp_location(resp, url) != KK_OK)
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
	cJSON_Delete(j);
	free(url);
}

/* Reads v for o and answers with both; a storage failure is answered. */
static void
load_and_send_order(
    struct srv *s, struct http_resp *resp, const struct order *o, int status)
{
	struct acme_order_view v;
	enum kk_status st;

	if ((st = view_load(s, o, &v)) != KK_OK) {
		acme_store_error(resp, st, "order");
		return;
	}
	send_order(s, resp, o, &v, status);
	view_clear(&v);
}

/* The identifiers of a newOrder: at most one org value, and dns names. */
struct order_ids {
	const char *org; /* borrowed from the payload, or NULL */
	const char *names[CSR_MAX_DNS];
	size_t n_names;
};

/* Reads one dns identifier into ids; answers and returns -1 if refused. */
static int
order_dns(struct order_ids *ids, const char *v, struct http_resp *resp)
{
	const char *why = NULL;

	if (dnsname_check(v, &why) != KK_OK) {
		http_resp_error(resp, ACME_REJECTED_IDENTIFIER, 0,
		    "dns identifier \"%.64s\" is not accepted: %s", v, why);
		return -1;
	}
	for (size_t i = 0; i < ids->n_names; i++)
		if (strcmp(ids->names[i], v) == 0) {
			http_resp_error(resp, ACME_MALFORMED, 0,
			    "dns identifier \"%.64s\" is listed twice", v);
			return -1;
		}
	if (ids->n_names == CSR_MAX_DNS) {
		http_resp_error(resp, ACME_REJECTED_IDENTIFIER, 0,
		    "an order holds at most %d dns identifiers", CSR_MAX_DNS);
		return -1;
	}
	ids->names[ids->n_names++] = v;
	return 0;
}

/*
 * Reads the identifiers of a newOrder: at most one "org" identifier whose
 * value the policy accepts, and dns names (RFC 8555 7.1.4). Values are
 * borrowed from payload.
 */
static int
order_identifiers(struct srv *s, const cJSON *payload, struct order_ids *out,
    struct http_resp *resp)
{
	const cJSON *ids, *id;
	const char *type, *v, *why = NULL;
	int n_org = 0;

	memset(out, 0, sizeof(*out));
	ids = cJSON_GetObjectItemCaseSensitive(payload, "identifiers");
	if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) == 0) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "identifiers must be a non-empty array");
		return -1;
	}
	cJSON_ArrayForEach(id, ids)
	{
		type = json_get_string(id, "type");
		if (type == NULL ||
		    (v = json_get_string(id, "value")) == NULL) {
			http_resp_error(resp, ACME_MALFORMED, 0,
			    "each identifier needs a string type and value");
			return -1;
		}
		if (strcmp(type, "dns") == 0) {
			if (order_dns(out, v, resp) != 0)
				return -1;
			continue;
		}
		if (strcmp(type, "org") != 0) {
			http_resp_error(resp, ACME_UNSUPPORTED_IDENTIFIER, 0,
			    "identifier type \"%.32s\" is not supported; this "
			    "CA certifies organizations (type \"org\") and "
			    "dns names (type \"dns\")",
			    type);
			return -1;
		}
		out->org = v;
		n_org++;
	}
	if (n_org > 1) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "an order holds at most one org identifier, not %d", n_org);
		return -1;
	}
	if (out->org != NULL &&
	    policy_check_org(s->policy, out->org, &why) != KK_OK) {
		http_resp_error(resp, ACME_REJECTED_IDENTIFIER, 0,
		    "organization identifier \"%.64s\" is not accepted: %s",
		    out->org, why ? why : "it does not match the policy");
		return -1;
	}
	return 0;
}

/* Whether the profile takes the identifiers; answers if not. */
static int
profile_takes(const struct policy_profile *prof, const struct order_ids *ids,
    struct http_resp *resp)
{
	if (ids->org != NULL && !(prof->identifiers & POLICY_ID_ORG)) {
		http_resp_error(resp, ACME_REJECTED_IDENTIFIER, 0,
		    "the profile \"%s\" does not take org identifiers",
		    prof->name);
		return -1;
	}
	if (ids->n_names > 0 && !(prof->identifiers & POLICY_ID_DNS)) {
		http_resp_error(resp, ACME_REJECTED_IDENTIFIER, 0,
		    "the profile \"%s\" does not take dns identifiers",
		    prof->name);
		return -1;
	}
	if (ids->org != NULL && ids->n_names > 0 && !prof->mixed) {
		http_resp_error(resp, ACME_REJECTED_IDENTIFIER, 0,
		    "the profile \"%s\" does not take an org identifier "
		    "together with dns names: order them separately",
		    prof->name);
		return -1;
	}
	return 0;
}

/*
 * Answers a newOrder with the order o just made. Only an order with dns
 * names needs its authorizations read: an org order's one is o->authz_id.
 */
static void
send_new_order(
    struct srv *s, struct http_resp *resp, const struct order *o, int dns)
{
	struct acme_order_view v;
	enum kk_status st;

	memset(&v, 0, sizeof(v));
	if (dns && (st = view_load(s, o, &v)) != KK_OK)
		acme_store_error(resp, st, "order");
	else
		send_order(s, resp, o, &v, 201);
	view_clear(&v);
}

void
acme_new_order(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	struct acme_post p;
	struct order *o = NULL;
	const struct policy_profile *prof;
	struct order_ids ids;
	const char *pname, *why = NULL;
	char *replaces = NULL;
	enum kk_status st;

	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if (p.payload == NULL) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "newOrder needs a JSON object payload");
		goto out;
	}
	if (order_identifiers(s, p.payload, &ids, resp) != 0)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(p.payload, "notBefore") ||
	    cJSON_GetObjectItemCaseSensitive(p.payload, "notAfter")) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "notBefore and notAfter are set by the certificate "
		    "profile and cannot be requested");
		goto out;
	}
	/* draft-ietf-acme-profiles: an unknown name is invalidProfile. */
	pname = json_get_string(p.payload, "profile");
	if (cJSON_GetObjectItemCaseSensitive(p.payload, "profile") != NULL &&
	    pname == NULL) {
		http_resp_error(
		    resp, ACME_MALFORMED, 0, "profile must be a string");
		goto out;
	}
	if ((prof = policy_profile(s->policy, pname)) == NULL) {
		http_resp_error(resp, ACME_INVALID_PROFILE, 0,
		    "unknown certificate profile \"%.32s\"; the directory's "
		    "meta.profiles lists them",
		    pname ? pname : "");
		goto out;
	}
	if (profile_takes(prof, &ids, resp) != 0 ||
	    acme_order_replaces(s, p.payload, &replaces, resp) != KK_OK)
		goto out;
	if (ids.n_names == 0)
		st = ra_order_new(&s->ra, p.account->id, ids.org, prof->name,
		    replaces, time(NULL), &o, &why);
	else {
		struct ra_dns_order dreq = {p.account->id, ids.org, ids.names,
		    ids.n_names, prof, replaces};

		st = ra_order_new_dns(&s->ra, &dreq, time(NULL), &o, &why);
	}
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
		send_new_order(s, resp, o, ids.n_names > 0);
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
		load_and_send_order(s, resp, o, 200);
		if (o->status == ACME_STATUS_PENDING &&
		    acme_authz_awaiting_operator(s, o->authz_id))
			resp->retry_after = ACME_RETRY_AFTER;
		order_free(o);
	}
	acme_post_clear(&p);
}

/*
 * For an order with dns names (n_dns of the n authorizations): the CSR's
 * subjectAltName names exactly those (RFC 8555 7.4), its CN if any is one
 * of them (or, in an order with the org identifier too, one the profile's
 * pattern accepts), and its organizationIdentifier if any is the
 * order's.
 */
static int
check_csr_names(const struct order *o, const struct policy_profile *prof,
    struct authz *const *list, size_t n, size_t n_dns,
    const struct csr_info *info, struct http_resp *resp)
{
	/* With the org identifier too, the CN may name the host as for an
	 * org order (kakuin's --name); the certificate's CN is the first
	 * dns name either way. */
	int cn_ok =
	    info->cn == NULL || (n > n_dns && policy_cn_ok(prof, info->cn));

	if (info->org_id != NULL && strcmp(info->org_id, o->org) != 0) {
		http_resp_error(resp, ACME_BAD_CSR, 0,
		    "the CSR's organizationIdentifier is not the order's "
		    "organization");
		return -1;
	}
	for (size_t i = 0; i < info->n_dns; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(info->dns[i], info->dns[k]) == 0) {
				http_resp_error(resp, ACME_BAD_CSR, 0,
				    "the CSR names %.64s twice", info->dns[i]);
				return -1;
			}
	for (size_t i = 0; i < n; i++) {
		int found = 0;

		if (strcmp(list[i]->id_type, "dns") != 0)
			continue;
		for (size_t k = 0; k < info->n_dns && !found; k++)
			found = strcmp(info->dns[k], list[i]->id_value) == 0;
		if (!found) {
			http_resp_error(resp, ACME_BAD_CSR, 0,
			    "the CSR's subjectAltName lacks %.64s",
			    list[i]->id_value);
			return -1;
		}
		cn_ok |= strcmp(info->cn == NULL ? "" : info->cn,
		             list[i]->id_value) == 0;
	}
	if (info->n_dns != n_dns) {
		http_resp_error(resp, ACME_BAD_CSR, 0,
		    "the CSR's subjectAltName must name exactly the order's "
		    "%zu dns identifiers, not %zu names",
		    n_dns, info->n_dns);
		return -1;
	}
	if (!cn_ok) {
		http_resp_error(resp, ACME_BAD_CSR, 0,
		    "the CSR's CN %.64s is not one of the order's dns names",
		    info->cn);
		return -1;
	}
	return 0;
}

/*
 * Checks the CSR against the order and the profile. Returns 0 and fills
 * info when the certificate may be issued. The order's authorizations it
 * reads go to v (the caller clears it), for the answer.
 */
static int
check_csr(struct srv *s, const struct acme_post *p, const struct order *o,
    const struct policy_profile *prof, struct csr_info *info,
    struct acme_order_view *v, struct http_resp *resp)
{
	const char *b64 = json_get_string(p->payload, "csr");
	unsigned char *der = NULL;
	size_t len = 0;
	struct account *holder = NULL;
	struct authz **list;
	size_t n, n_dns = 0;
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
	if ((st = view_load(s, o, v)) != KK_OK) {
		acme_store_error(resp, st, "order");
		goto out;
	}
	list = v->authzs;
	n = v->n_authzs;
	for (size_t i = 0; i < n; i++)
		n_dns += strcmp(list[i]->id_type, "dns") == 0;
	if (n_dns > 0) {
		if (check_csr_names(o, prof, list, n, n_dns, info, resp) != 0)
			goto out;
	} else if (info->org_id == NULL || strcmp(info->org_id, o->org) != 0) {
		http_resp_error(resp, ACME_BAD_CSR, 0,
		    "the CSR subject's organizationIdentifier must be %s",
		    o->org);
		goto out;
	}
	if (n_dns == 0 && (info->cn == NULL || !policy_cn_ok(prof, info->cn))) {
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
	struct acme_order_view v;
	const struct policy_profile *prof;
	const char *why = NULL;
	enum kk_status st;

	memset(&info, 0, sizeof(info));
	memset(&v, 0, sizeof(v));
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
		        ? ": its authorizations (organization verification, "
		          "challenges) are not all valid yet"
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
	if (check_csr(s, &p, o, prof, &info, &v, resp) != 0)
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
	else /* the authorizations check_csr read: their ids and
	        identifiers are the order's for good */
		send_order(s, resp, done, &v, 200);
out:
	view_clear(&v);
	csr_info_clear(&info);
	order_free(o);
	order_free(done);
	acme_post_clear(&p);
}
