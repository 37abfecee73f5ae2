/*
 * Authorizations and the oob-01 challenge (RFC 8555 sections 7.5, 7.5.1,
 * 7.5.2; SPEC "The organization identifier and the oob-01 challenge"): a
 * client's POST of {} to a pending challenge puts a verification request
 * into the operator queue; an operator's decision (oper.c) moves it on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme.h"
#include "acme_status.h"
#include "json.h"
#include "rfc3339.h"

enum kk_status
acme_challenge_json(struct srv *s, const struct challenge *c, cJSON **out)
{
	cJSON *j = NULL, *err = NULL;
	char *url = NULL, *href = NULL, ts[RFC3339_LEN];

	*out = NULL;
	/* Only oob-01 has a page for a person. */
	if ((url = srv_url(s, "/acme/chall/%s", c->id)) == NULL ||
	    (strcmp(c->type, "oob-01") == 0 &&
	        (href = srv_url(s, "/acme/oob/%s", c->id)) == NULL) ||
	    (j = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(j, "type", c->type) == NULL ||
	    cJSON_AddStringToObject(j, "url", url) == NULL ||
	    cJSON_AddStringToObject(j, "status", acme_status_name(c->status)) ==
	        NULL ||
	    cJSON_AddStringToObject(j, "token", c->token) == NULL ||
	    (href != NULL && cJSON_AddStringToObject(j, "href", href) == NULL))
		goto oom;
	/* While processing, validated is when the validation began. */
	if (c->validated != 0 && c->status == ACME_STATUS_VALID) {
		rfc3339_format(c->validated, ts);
		if (cJSON_AddStringToObject(j, "validated", ts) == NULL)
			goto oom;
	}
	if (c->error != NULL &&
	    json_parse(c->error, strlen(c->error), &err) == KK_OK)
		cJSON_AddItemToObject(j, "error", err);
	free(url);
	free(href);
	*out = j;
	return KK_OK;
oom:
	free(url);
	free(href);
	cJSON_Delete(j);
	return KK_ENOMEM;
}

static enum kk_status
authz_json(struct srv *s, const struct authz *a, cJSON **out)
{
	struct challenge **chs = NULL;
	size_t n = 0;
	cJSON *j = NULL, *id, *arr, *cj;
	char ts[RFC3339_LEN];
	enum kk_status st;

	*out = NULL;
	if ((st = store_challenge_list_by_authz(s->store, a->id, &chs, &n)) !=
	    KK_OK)
		return st;
	st = KK_ENOMEM;
	rfc3339_format(a->expires, ts);
	if ((j = cJSON_CreateObject()) == NULL ||
	    (id = cJSON_AddObjectToObject(j, "identifier")) == NULL ||
	    cJSON_AddStringToObject(id, "type", a->id_type) == NULL ||
	    cJSON_AddStringToObject(id, "value", a->id_value) == NULL ||
	    cJSON_AddStringToObject(j, "status", acme_status_name(a->status)) ==
	        NULL ||
	    cJSON_AddStringToObject(j, "expires", ts) == NULL ||
	    (arr = cJSON_AddArrayToObject(j, "challenges")) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (acme_challenge_json(s, chs[i], &cj) != KK_OK)
			goto out;
		cJSON_AddItemToArray(arr, cj);
	}
	*out = j;
	j = NULL;
	st = KK_OK;
out:
	for (size_t i = 0; i < n; i++)
		challenge_free(chs[i]);
	free(chs);
	cJSON_Delete(j);
	return st;
}

int
acme_authz_awaiting_operator(struct srv *s, const char *authz_id)
{
	struct challenge **chs = NULL;
	size_t n = 0;
	int busy = 0;

	if (store_challenge_list_by_authz(s->store, authz_id, &chs, &n) !=
	    KK_OK)
		return 0;
	for (size_t i = 0; i < n; i++) {
		busy |= chs[i]->status == ACME_STATUS_PROCESSING;
		challenge_free(chs[i]);
	}
	free(chs);
	return busy;
}

/* Loads an authorization the signer owns; answers otherwise. */
static struct authz *
owned_authz(struct srv *s, const struct acme_post *p, const char *id,
    struct http_resp *resp)
{
	struct authz *a = NULL;
	enum kk_status st;

	st = store_authz_get(s->store, id, &a);
	if (st == KK_OK && a->expires < time(NULL) &&
	    (a->status == ACME_STATUS_PENDING ||
	        a->status == ACME_STATUS_VALID)) {
		authz_free(a);
		a = NULL;
		ra_expire(&s->ra, time(NULL), NULL);
		st = store_authz_get(s->store, id, &a);
	}
	if (st != KK_OK) {
		acme_store_error(resp, st, "authorization");
		return NULL;
	}
	if (strcmp(a->account_id, p->account->id) != 0) {
		http_resp_error(resp, ACME_UNAUTHORIZED, 0,
		    "the authorization belongs to another account");
		authz_free(a);
		return NULL;
	}
	return a;
}

static void
send_authz(struct srv *s, struct http_resp *resp, const struct authz *a)
{
	cJSON *j = NULL;
	enum kk_status st;

	if ((st = authz_json(s, a, &j)) != KK_OK ||
	    http_resp_json(resp, 200, "application/json", j) != KK_OK)
		acme_store_error(
		    resp, st == KK_OK ? KK_ENOMEM : st, "authorization");
	else if (a->status == ACME_STATUS_PENDING &&
	         acme_authz_awaiting_operator(s, a->id))
		resp->retry_after = ACME_RETRY_AFTER;
	cJSON_Delete(j);
}

void
acme_authz(struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	const char *id = call->id;
	struct acme_post p;
	struct authz *a = NULL, *now = NULL;
	const char *want, *why = NULL;
	enum kk_status st;

	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if ((a = owned_authz(s, &p, id, resp)) == NULL)
		goto out;
	want = p.payload != NULL ? json_get_string(p.payload, "status") : NULL;
	if (want == NULL) {
		send_authz(s, resp, a);
		goto out;
	}
	if (acme_status_parse(want) != ACME_STATUS_DEACTIVATED) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "the only status a client may set is \"deactivated\"");
		goto out;
	}
	st = ra_authz_deactivate(
	    &s->ra, p.account->id, a->id, time(NULL), &now, &why);
	if (st == KK_ECONFLICT)
		http_resp_error(resp, ACME_MALFORMED, 0, "%s", why);
	else if (st != KK_OK)
		acme_store_error(resp, st, "authorization");
	else
		send_authz(s, resp, now);
out:
	authz_free(a);
	authz_free(now);
	acme_post_clear(&p);
}

/*
 * http-01, dns-01, tls-alpn-01: the RA marks the challenge processing,
 * the VA looks at the network (bounded by --va-timeout, in this worker:
 * the client's POST waits for the result), the RA records what it found.
 * *out: the challenge now.
 */
static enum kk_status
validate(struct srv *s, const struct srv_call *call, const struct account *acct,
    const char *id, struct challenge **out)
{
	struct challenge *c = NULL;
	struct authz *a = NULL;
	struct va_result vr;
	struct ra_va_result rr;
	char *key_auth = NULL;
	enum kk_status st;

	*out = NULL;
	if ((st = ra_challenge_start(
	         &s->ra, acct->id, id, time(NULL), &c, &a)) != KK_OK)
		return st;
	if (a == NULL) {
		*out = c; /* not ours to validate (decided, or busy) */
		return KK_OK;
	}
	if (asprintf(&key_auth, "%s.%s", c->token, acct->thumbprint) < 0) {
		key_auth = NULL;
		memset(&vr, 0, sizeof(vr));
		vr.problem = ACME_SERVER_INTERNAL;
		snprintf(vr.detail, sizeof(vr.detail), "out of memory");
	} else {
		/* The network may take --va-timeout: others work meanwhile. */
		srv_gate_pause(s, call);
		st = va_validate(
		    &s->va, c->type, a->id_value, c->token, key_auth, &vr);
		srv_gate_resume(s, call);
		if (st != KK_OK) {
			memset(&vr, 0, sizeof(vr));
			vr.problem = ACME_SERVER_INTERNAL;
			snprintf(vr.detail, sizeof(vr.detail),
			    "the validation could not run");
		}
	}
	rr.valid = vr.valid;
	rr.problem = vr.problem;
	rr.detail = vr.detail;
	/* Recorded even if the validation could not run: a challenge left
	 * processing would block its authorization until it expires. */
	st = ra_challenge_result(&s->ra, acct->id, c->id, &rr, time(NULL), out);
	free(key_auth);
	challenge_free(c);
	authz_free(a);
	return st;
}

/*
 * Admission of one validation for acct: 1 when it may run (then
 * valimit_leave once it has ended), else 0 with resp answered. The
 * account's own limit is its doing: 429 rateLimited. The process's is
 * nobody's in particular, the server being busy: 503, as when the store
 * is out of reach. Either way a validation that runs now ends within
 * --va-timeout, so that is when to try again; nothing was recorded, and
 * the challenge is still pending.
 */
static int
admit(struct srv *s, const char *acct, struct http_resp *resp)
{
	int wait = s->va.timeout > 0 ? s->va.timeout : 1;

	switch (valimit_enter(s->valimit, acct)) {
	case VALIMIT_ADMITTED:
		return 1;
	case VALIMIT_ACCOUNT:
		http_resp_error(resp, ACME_RATE_LIMITED, 0,
		    "this account has as many validations running as it may "
		    "(--va-per-account); send the challenge again when one "
		    "has ended");
		break;
	case VALIMIT_FULL:
		http_resp_error(resp, ACME_SERVER_INTERNAL, 503,
		    "the server runs as many validations as it may "
		    "(--va-max); send the challenge again later");
		break;
	}
	resp->retry_after = wait;
	return 0;
}

void
acme_challenge(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	const char *id = call->id;
	struct acme_post p;
	struct challenge *c = NULL, *now = NULL;
	struct authz *a = NULL;
	cJSON *j = NULL;
	char *up = NULL;
	int held = 0;
	enum kk_status st;

	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	st = store_challenge_get(s->store, id, &c);
	if (st != KK_OK) {
		acme_store_error(resp, st, "challenge");
		goto out;
	}
	if ((a = owned_authz(s, &p, c->authz_id, resp)) == NULL)
		goto out;
	/* A payload (normally {}) asks for validation; POST-as-GET reads. */
	if (p.payload != NULL && ra_dns_challenge_type(c->type)) {
		/* Only a POST that would start a validation counts: reading
		 * a challenge already processing or decided is never
		 * refused. Admission is not a state change; the RA still
		 * decides whether this one starts. */
		if (c->status == ACME_STATUS_PENDING &&
		    a->status == ACME_STATUS_PENDING) {
			if (!admit(s, p.account->id, resp))
				goto out;
			held = 1;
		}
		if ((st = validate(s, call, p.account, c->id, &now)) != KK_OK) {
			acme_store_error(resp, st, "challenge");
			goto out;
		}
		challenge_free(c);
		c = now;
	} else if (p.payload != NULL) {
		if ((st = ra_challenge_respond(&s->ra, p.account->id, c->id,
		         time(NULL), &now)) != KK_OK) {
			acme_store_error(resp, st, "challenge");
			goto out;
		}
		challenge_free(c);
		c = now;
	}
	if ((up = srv_url(s, "/acme/authz/%s", a->id)) == NULL ||
	    acme_challenge_json(s, c, &j) != KK_OK ||
	    http_resp_json(resp, 200, "application/json", j) != KK_OK ||
	    http_resp_link(resp, up, "up") != KK_OK) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	if (c->status == ACME_STATUS_PROCESSING)
		resp->retry_after = ACME_RETRY_AFTER;
out:
	if (held)
		valimit_leave(s->valimit, p.account->id);
	free(up);
	cJSON_Delete(j);
	challenge_free(c);
	authz_free(a);
	acme_post_clear(&p);
}

/* Escapes text for HTML; caller frees. */
static char *
html_escape(const char *in)
{
	size_t n = 0;
	char *out, *o;

	for (const char *p = in; *p; p++)
		n += strchr("<>&\"'", *p) ? 6 : 1;
	if ((out = o = malloc(n + 1)) == NULL)
		return NULL;
	for (const char *p = in; *p; p++) {
		switch (*p) {
		case '<':
			o = stpcpy(o, "&lt;");
			break;
		case '>':
			o = stpcpy(o, "&gt;");
			break;
		case '&':
			o = stpcpy(o, "&amp;");
			break;
		case '"':
			o = stpcpy(o, "&quot;");
			break;
		case '\'':
			o = stpcpy(o, "&#39;");
			break;
		default:
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/*
 * The page an oob-01 challenge's href points to: what happens next, for a
 * person. Challenge ids are unguessable, so it shows only the
 * organization identifier and the status, nothing about the account.
 */
void
acme_oob_page(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const char *id = call->id;
	struct challenge *c = NULL;
	struct authz *a = NULL;
	char *org = NULL, *text = NULL, *page = NULL;
	int n;

	/* A page for a person, not an ACME resource: no nonce. */
	resp->want_nonce = 0;
	if (store_challenge_get(s->store, id, &c) != KK_OK ||
	    store_authz_get(s->store, c->authz_id, &a) != KK_OK) {
		http_resp_error(resp, ACME_MALFORMED, 404, "no such challenge");
		goto out;
	}
	org = html_escape(a->id_value);
	text = html_escape(
	    s->policy->instructions
	        ? s->policy->instructions
	        : "An operator of this certificate authority will verify "
	          "your organization.");
	if (org == NULL || text == NULL)
		goto oom;
	n = asprintf(&page,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>Organization verification</title></head><body>\n"
	    "<h1>Organization verification for %s</h1>\n"
	    "<p>Status of this request: <strong>%s</strong>.</p>\n"
	    "<p>%s</p>\n"
	    "<p>Once an operator has approved the verification, the "
	    "requesting host completes its enrollment by itself (for "
	    "<code>kakuin</code>, at its next <code>kakuin renew</code>).</p>\n"
	    "</body></html>\n",
	    org, acme_status_name(c->status), text);
	if (n < 0 || http_resp_bytes(resp, 200, "text/html; charset=utf-8",
	                 page, (size_t)n) != KK_OK)
		goto oom;
	goto out;
oom:
	http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
out:
	free(org);
	free(text);
	free(page);
	challenge_free(c);
	authz_free(a);
}

/*
 * newAuthz's identifier: "org" accepted by the policy, or "dns" (a name
 * ra_domain_normalize accepts, *norm its lower-case form; caller frees).
 * Returns 0, or -1 with the problem answered.
 */
static int
preauth_identifier(struct srv *s, const cJSON *payload, const char **type,
    const char **value, char **norm, struct http_resp *resp)
{
	const cJSON *id =
	    cJSON_GetObjectItemCaseSensitive(payload, "identifier");
	const char *why = NULL;

	*norm = NULL;
	*type = json_get_string(id, "type");
	*value = json_get_string(id, "value");
	if (!cJSON_IsObject(id) || *type == NULL || *value == NULL) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "newAuthz needs \"identifier\" with a string type and "
		    "value");
		return -1;
	}
	if (strcmp(*type, "org") == 0) {
		if (policy_check_org(s->policy, *value, &why) == KK_OK)
			return 0;
		http_resp_error(resp, ACME_REJECTED_IDENTIFIER, 0,
		    "organization identifier \"%.64s\" is not accepted: %s",
		    *value, why ? why : "it does not match the policy");
		return -1;
	}
	if (strcmp(*type, "dns") != 0) {
		http_resp_error(resp, ACME_UNSUPPORTED_IDENTIFIER, 0,
		    "identifier type \"%.32s\" is not supported here (org, "
		    "dns)",
		    *type);
		return -1;
	}
	if (ra_domain_normalize(*value, norm) == KK_OK) {
		*value = *norm;
		return 0;
	}
	http_resp_error(resp, ACME_REJECTED_IDENTIFIER, 0,
	    "\"%.64s\" is not a dns name this server certifies (no wildcards "
	    "or addresses)",
	    *value);
	return -1;
}

void
acme_new_authz(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	struct acme_post p;
	struct authz *a = NULL;
	const char *type, *value, *why = NULL;
	char *norm = NULL, *url = NULL;
	cJSON *j = NULL;
	enum kk_status st;

	if (acme_post_open(s, call->req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if (p.payload == NULL) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "newAuthz needs a JSON object payload");
		goto out;
	}
	if (preauth_identifier(s, p.payload, &type, &value, &norm, resp) != 0)
		goto out;
	st = ra_authz_new(
	    &s->ra, p.account->id, type, value, time(NULL), &a, &why);
	if (st == KK_ECONFLICT)
		http_resp_error(resp, ACME_REJECTED_IDENTIFIER, 403, "%s", why);
	else if (st == KK_ELIMIT) {
		http_resp_error(resp, ACME_RATE_LIMITED, 0,
		    "this account was given %d authorizations in the last "
		    "hour, the limit",
		    s->policy->orders_per_account_per_hour);
		resp->retry_after = 600;
	} else if (st != KK_OK)
		acme_store_error(resp, st, "authorization");
	else if ((st = authz_json(s, a, &j)) != KK_OK ||
	         (url = srv_url(s, "/acme/authz/%s", a->id)) == NULL ||
	         http_resp_json(resp, 201, "application/json", j) != KK_OK ||
	         http_resp_location(resp, url) != KK_OK)
		acme_store_error(
		    resp, st == KK_OK ? KK_ENOMEM : st, "authorization");
out:
	free(norm);
	free(url);
	cJSON_Delete(j);
	authz_free(a);
	acme_post_clear(&p);
}
