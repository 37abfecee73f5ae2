/*
 * The operator API (SPEC "Operator API"). Every request carries a bearer
 * token; only its SHA-256 is stored, so the lookup is by hash and a leaked
 * database does not leak tokens. Every change is audited with the
 * operator's name, in the same transaction as the change.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "acme.h"
#include "b64url.h"
#include "json.h"
#include "oper.h"
#include "rfc3339.h"
#include "text.h"

#define OPER_TOKEN_BYTES 32
#define MAX_TEXT 2048 /* legal names, evidence, reasons */

static void
sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

/* Names and path segments: letters, digits, "-_." and extra. */
static int
valid_name(const char *s, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL &&
		    strchr(extra, *s) == NULL)
			return 0;
	return 1;
}

enum kk_status
oper_token_create(
    struct store *st, const char *name, const char *role, char **token)
{
	unsigned char raw[OPER_TOKEN_BYTES];
	struct op_token t;
	struct audit_event e;
	enum kk_status rc;
	char *tok = NULL;

	*token = NULL;
	if (!valid_name(name, "") ||
	    (strcmp(role, "operator") != 0 && strcmp(role, "auditor") != 0))
		return KK_EINVAL;
	rc = model_random_b64(raw, sizeof(raw), &tok);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (rc != KK_OK)
		return rc;
	memset(&t, 0, sizeof(t));
	t.name = (char *)name;
	t.role = (char *)role;
	t.created_at = time(NULL);
	sha256(tok, strlen(tok), t.hash);
	memset(&e, 0, sizeof(e));
	e.at = t.created_at;
	e.actor = "cli";
	e.action = "token.create";
	e.object = (char *)name;
	if ((rc = store_begin(st)) != KK_OK)
		goto out;
	if ((rc = store_token_insert(st, &t)) != KK_OK ||
	    (rc = store_audit_append(st, &e)) != KK_OK) {
		store_rollback(st);
		goto out;
	}
	if ((rc = store_commit(st)) != KK_OK)
		goto out;
	*token = tok;
	tok = NULL;
out:
	if (tok != NULL) {
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
	}
	return rc;
}

/* The caller's token, or an answered 401. */
static struct op_token *
authenticate(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	const char *h = req->authorization;
	struct op_token *t = NULL;
	unsigned char hash[32];

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 ||
	    strlen(h + 7) == 0 || strlen(h + 7) > 256) {
		http_resp_error(resp, ACME_UNAUTHORIZED, 401,
		    "an operator token is required (Authorization: Bearer "
		    "TOKEN)");
		return NULL;
	}
	sha256(h + 7, strlen(h + 7), hash);
	if (store_token_by_hash(s->store, hash, &t) != KK_OK ||
	    t->revoked_at != 0) {
		op_token_free(t);
		http_resp_error(resp, ACME_UNAUTHORIZED, 401,
		    "the operator token is not valid");
		return NULL;
	}
	return t;
}

static void
add_time(cJSON *j, const char *name, time_t t)
{
	char buf[RFC3339_LEN];

	if (t == 0) {
		cJSON_AddNullToObject(j, name);
		return;
	}
	rfc3339_format(t, buf);
	cJSON_AddStringToObject(j, name, buf);
}

static void
add_str(cJSON *j, const char *name, const char *v)
{
	if (v == NULL)
		cJSON_AddNullToObject(j, name);
	else
		cJSON_AddStringToObject(j, name, v);
}

static cJSON *
verification_json(struct srv *s, const struct verification *v)
{
	struct account *a = NULL;
	cJSON *j = cJSON_CreateObject(), *arr, *ap, *contacts = NULL;
	char *url;

	if (j == NULL)
		return NULL;
	add_str(j, "id", v->id);
	add_str(j, "org", v->org);
	add_str(j, "status", v->status);
	url = srv_url(s, "/acme/acct/%s", v->account_id);
	add_str(j, "account", url);
	free(url);
	if (store_account_get(s->store, v->account_id, &a) == KK_OK &&
	    json_parse(a->contacts, strlen(a->contacts), &contacts) == KK_OK)
		cJSON_AddItemToObject(j, "contacts", contacts);
	else
		cJSON_AddArrayToObject(j, "contacts");
	account_free(a);
	url = srv_url(s, "/acme/chall/%s", v->challenge_id);
	add_str(j, "challenge", url);
	free(url);
	add_time(j, "requested_at", v->requested_at);
	add_time(j, "decided_at", v->decided_at);
	if (v->reason != NULL)
		add_str(j, "reason", v->reason);
	cJSON_AddNumberToObject(
	    j, "approvals_required", s->policy->approvals_required);
	arr = cJSON_AddArrayToObject(j, "approvals");
	for (size_t i = 0; arr != NULL && i < v->n_approvals; i++) {
		const struct approval *p = &v->approvals[i];

		if ((ap = cJSON_CreateObject()) == NULL)
			break;
		add_str(ap, "operator", p->operator_name);
		add_str(ap, "method", p->method);
		add_str(ap, "legal_name", p->legal_name);
		add_str(ap, "country", p->country);
		add_str(ap, "evidence", p->evidence);
		add_time(ap, "at", p->at);
		cJSON_AddItemToArray(arr, ap);
	}
	return j;
}

static void
send_json(struct http_resp *resp, int status, cJSON *j)
{
	if (j == NULL ||
	    http_resp_json(resp, status, "application/json", j) != KK_OK)
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
	cJSON_Delete(j);
}

static void
list_verifications(
    struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	char *status = http_query_param(req->query, "status");
	char *org = http_query_param(req->query, "org");
	struct verification **vs = NULL;
	size_t n = 0;
	cJSON *j = NULL, *arr;
	enum kk_status st;

	if ((st = store_verification_list(s->store, status, org, &vs, &n)) !=
	    KK_OK) {
		acme_store_error(resp, st, "verifications");
		goto out;
	}
	if ((j = cJSON_CreateObject()) != NULL &&
	    (arr = cJSON_AddArrayToObject(j, "verifications")) != NULL)
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, verification_json(s, vs[i]));
	send_json(resp, 200, j);
out:
	for (size_t i = 0; i < n; i++)
		verification_free(vs[i]);
	free(vs);
	free(status);
	free(org);
}

/* Reads a required string field of at most MAX_TEXT bytes. */
static const char *
need_text(const cJSON *body, const char *name, struct http_resp *resp)
{
	const char *v = json_get_string(body, name);

	if (v == NULL || v[0] == '\0' || strlen(v) > MAX_TEXT) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "%s: required, a non-empty string of at most %d bytes",
		    name, MAX_TEXT);
		return NULL;
	}
	return v;
}

static int
parse_body(const struct http_req *req, cJSON **body, struct http_resp *resp)
{
	if (req->body == NULL || req->body_len == 0) {
		*body = cJSON_CreateObject();
		return *body == NULL ? -1 : 0;
	}
	if (json_parse(req->body, req->body_len, body) != KK_OK ||
	    !cJSON_IsObject(*body)) {
		cJSON_Delete(*body);
		*body = NULL;
		http_resp_error(
		    resp, ACME_MALFORMED, 0, "the body must be a JSON object");
		return -1;
	}
	return 0;
}

/*
 * The last approval completes the verification: the challenge, the
 * authorization and the order move on, the organization is recorded as
 * verified and the account is bound to it.
 */
static enum kk_status
complete_verification(struct srv *s, struct verification *v,
    const struct approval *ap, time_t now)
{
	struct challenge *c = NULL;
	struct authz *a = NULL;
	struct order *o = NULL;
	struct account *acct = NULL;
	struct org org;
	time_t expires = now + 86400L * s->policy->verification_lifetime_days;
	enum kk_status st;

	if ((st = store_challenge_get(s->store, v->challenge_id, &c)) !=
	        KK_OK ||
	    (st = store_authz_get(s->store, v->authz_id, &a)) != KK_OK ||
	    (st = store_account_get(s->store, v->account_id, &acct)) != KK_OK)
		goto out;
	st = KK_ENOMEM;
	free(c->status);
	free(a->status);
	free(v->status);
	if ((c->status = strdup("valid")) == NULL ||
	    (a->status = strdup("valid")) == NULL ||
	    (v->status = strdup("valid")) == NULL)
		goto out;
	c->validated = now;
	a->expires = expires;
	v->decided_at = now;
	if ((st = store_challenge_update(s->store, c)) != KK_OK ||
	    (st = store_authz_update(s->store, a)) != KK_OK ||
	    (st = store_verification_update(s->store, v)) != KK_OK)
		goto out;
	st = store_order_by_authz(s->store, a->id, &o);
	if (st == KK_OK && strcmp(o->status, "pending") == 0) {
		free(o->status);
		if ((o->status = strdup("ready")) == NULL) {
			st = KK_ENOMEM;
			goto out;
		}
		if ((st = store_order_update(s->store, o)) != KK_OK)
			goto out;
	} else if (st != KK_OK && st != KK_ENOTFOUND)
		goto out;
	memset(&org, 0, sizeof(org));
	org.id = v->org;
	org.legal_name = ap->legal_name;
	org.country = ap->country;
	org.method = ap->method;
	org.verified_at = now;
	org.expires = expires;
	if ((st = store_org_put(s->store, &org)) != KK_OK)
		goto out;
	/* An account speaks for one organization: the first it verified. */
	if (acct->org == NULL) {
		if ((acct->org = strdup(v->org)) == NULL) {
			st = KK_ENOMEM;
			goto out;
		}
		if ((st = store_account_update(s->store, acct)) != KK_OK)
			goto out;
	}
	st = KK_OK;
out:
	challenge_free(c);
	authz_free(a);
	order_free(o);
	account_free(acct);
	return st;
}

/*
 * Whether the request behind a verification still stands: the client may
 * have deactivated its authorization, let it expire, or deactivated its
 * account since it asked. An approval must not revive any of those.
 * Returns NULL if it stands, else a static reason.
 */
static const char *
withdrawn(struct srv *s, const struct verification *v, time_t now)
{
	struct challenge *c = NULL;
	struct authz *a = NULL;
	struct account *acct = NULL;
	const char *why = NULL;

	if (store_challenge_get(s->store, v->challenge_id, &c) != KK_OK ||
	    store_authz_get(s->store, v->authz_id, &a) != KK_OK ||
	    store_account_get(s->store, v->account_id, &acct) != KK_OK)
		why = "its records are missing";
	else if (strcmp(c->status, "processing") != 0)
		why = "its challenge is no longer waiting";
	else if (strcmp(a->status, "pending") != 0 || a->expires <= now)
		why = "the client's authorization is no longer pending";
	else if (strcmp(acct->status, "valid") != 0)
		why = "the requesting account is deactivated";
	challenge_free(c);
	authz_free(a);
	account_free(acct);
	return why;
}

/* Closes a verification nobody can use any more, inside the caller's
 * transaction. */
static enum kk_status
close_verification(struct srv *s, struct verification *v, const char *why,
    const char *actor, time_t now)
{
	cJSON *detail = cJSON_CreateObject();
	enum kk_status st;

	free(v->status);
	free(v->reason);
	v->status = strdup("invalid");
	v->reason = strdup(why);
	v->decided_at = now;
	if (v->status == NULL || v->reason == NULL) {
		cJSON_Delete(detail);
		return KK_ENOMEM;
	}
	if (detail != NULL)
		cJSON_AddStringToObject(detail, "reason", why);
	if ((st = store_verification_update(s->store, v)) == KK_OK)
		st = srv_audit(s, actor, "verification.close", v->id, detail);
	cJSON_Delete(detail);
	return st;
}

/*
 * A legal name goes into the certificate's O: UTF-8, 1 to 64 characters
 * (RFC 5280's ub-organization-name), nothing invisible or that reorders
 * the text (text.h). Checked at approval, because a name the CA cannot
 * sign would block the organization until its verification expires.
 */
static int
legal_name_ok(const char *name)
{
	return text_display_ok(name, 64);
}

static void
approve(struct srv *s, const struct op_token *tok, const char *id,
    const struct http_req *req, struct http_resp *resp)
{
	struct verification *v = NULL;
	struct approval ap;
	cJSON *body = NULL, *detail = NULL;
	const char *method, *why;
	time_t now = time(NULL);
	enum kk_status st;
	int in_txn = 0, done;
	unsigned mbit;

	memset(&ap, 0, sizeof(ap));
	if (parse_body(req, &body, resp) != 0)
		goto out;
	if ((method = need_text(body, "method", resp)) == NULL)
		goto out;
	mbit = strcmp(method, "phone") == 0      ? POLICY_METHOD_PHONE
	       : strcmp(method, "document") == 0 ? POLICY_METHOD_DOCUMENT
	                                         : 0;
	if ((mbit & s->policy->methods) == 0) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "method: must be one of the methods the policy allows "
		    "(phone, document)");
		goto out;
	}
	if ((ap.legal_name = (char *)need_text(body, "legal_name", resp)) ==
	        NULL ||
	    (ap.evidence = (char *)need_text(body, "evidence", resp)) == NULL)
		goto out;
	if (!legal_name_ok(ap.legal_name)) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "legal_name: must be 1 to 64 characters of UTF-8 text "
		    "without control, formatting, invisible, private-use "
		    "or noncharacters (it becomes the certificate's O)");
		goto out;
	}
	ap.country = (char *)json_get_string(body, "country");
	if (ap.country == NULL || strlen(ap.country) != 2 ||
	    strspn(ap.country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 2) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "country: required, an ISO 3166 two-letter code such as "
		    "\"JP\"");
		goto out;
	}
	ap.method = (char *)method;
	ap.operator_name = tok->name;
	ap.at = now;

	if ((st = store_begin(s->store)) != KK_OK) {
		acme_store_error(resp, st, "verification");
		goto out;
	}
	in_txn = 1;
	if ((st = store_verification_get(s->store, id, &v)) != KK_OK) {
		acme_store_error(resp, st, "verification");
		goto out;
	}
	if (strcmp(v->status, "processing") != 0) {
		http_resp_error(resp, ACME_MALFORMED, 409,
		    "verification %s is already %s", id, v->status);
		goto out;
	}
	if ((why = withdrawn(s, v, now)) != NULL) {
		/* Close it, so that it leaves the queue, and say why. */
		if (close_verification(s, v, why, tok->name, now) != KK_OK ||
		    store_commit(s->store) != KK_OK) {
			acme_store_error(resp, KK_EIO, "verification");
			goto out;
		}
		in_txn = 0;
		http_resp_error(resp, ACME_MALFORMED, 409,
		    "verification %s can no longer be approved: %s; it is "
		    "closed",
		    id, why);
		goto out;
	}
	for (size_t i = 0; i < v->n_approvals; i++) {
		if (strcmp(v->approvals[i].operator_name, tok->name) == 0) {
			http_resp_error(resp, ACME_UNAUTHORIZED, 403,
			    "operator %s has already approved this "
			    "verification; dual control needs a different "
			    "operator",
			    tok->name);
			goto out;
		}
		if (strcmp(v->approvals[i].legal_name, ap.legal_name) != 0 ||
		    strcmp(v->approvals[i].country, ap.country) != 0) {
			http_resp_error(resp, ACME_MALFORMED, 409,
			    "legal_name/country differ from the first "
			    "approval (\"%s\", %s): reject, or approve with "
			    "the same verified data",
			    v->approvals[i].legal_name,
			    v->approvals[i].country);
			goto out;
		}
	}
	done = (int)v->n_approvals + 1 >= s->policy->approvals_required;
	if ((detail = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(detail, "org", v->org);
		cJSON_AddStringToObject(detail, "method", ap.method);
		cJSON_AddStringToObject(detail, "legal_name", ap.legal_name);
		cJSON_AddStringToObject(detail, "country", ap.country);
		cJSON_AddStringToObject(detail, "evidence", ap.evidence);
		cJSON_AddBoolToObject(detail, "completed", done);
	}
	if ((st = store_approval_insert(s->store, id, &ap)) != KK_OK ||
	    (done && (st = complete_verification(s, v, &ap, now)) != KK_OK) ||
	    (st = srv_audit(
	         s, tok->name, "verification.approve", id, detail)) != KK_OK) {
		acme_store_error(resp, st, "verification");
		goto out;
	}
	in_txn = 0;
	if ((st = store_commit(s->store)) != KK_OK) {
		acme_store_error(resp, st, "verification");
		goto out;
	}
	srv_log("verification %s of %s approved by %s (%s)%s", id, v->org,
	    tok->name, ap.method,
	    done ? ", complete"
	         : ", awaiting a second "
	           "operator");
	verification_free(v);
	v = NULL;
	if ((st = store_verification_get(s->store, id, &v)) != KK_OK) {
		acme_store_error(resp, st, "verification");
		goto out;
	}
	send_json(resp, 200, verification_json(s, v));
out:
	if (in_txn)
		store_rollback(s->store);
	verification_free(v);
	cJSON_Delete(body);
	cJSON_Delete(detail);
}

/* A rejection ends the challenge, the authorization and the order. */
static enum kk_status
fail_verification(
    struct srv *s, struct verification *v, const char *reason, time_t now)
{
	struct challenge *c = NULL;
	struct authz *a = NULL;
	struct order *o = NULL;
	cJSON *prob = NULL;
	char *ptext = NULL;
	enum kk_status st;

	if ((st = problem_new(&prob, ACME_UNAUTHORIZED, 0,
	         "organization verification rejected: %s", reason)) != KK_OK)
		goto out;
	st = KK_ENOMEM;
	if ((ptext = cJSON_PrintUnformatted(prob)) == NULL)
		goto out;
	if ((st = store_challenge_get(s->store, v->challenge_id, &c)) !=
	        KK_OK ||
	    (st = store_authz_get(s->store, v->authz_id, &a)) != KK_OK)
		goto out;
	st = KK_ENOMEM;
	free(c->status);
	free(a->status);
	free(v->status);
	free(v->reason);
	free(c->error);
	if ((c->status = strdup("invalid")) == NULL ||
	    (a->status = strdup("invalid")) == NULL ||
	    (v->status = strdup("invalid")) == NULL ||
	    (v->reason = strdup(reason)) == NULL ||
	    (c->error = strdup(ptext)) == NULL)
		goto out;
	v->decided_at = now;
	if ((st = store_challenge_update(s->store, c)) != KK_OK ||
	    (st = store_authz_update(s->store, a)) != KK_OK ||
	    (st = store_verification_update(s->store, v)) != KK_OK)
		goto out;
	st = store_order_by_authz(s->store, a->id, &o);
	if (st == KK_OK) {
		free(o->status);
		free(o->error);
		if ((o->status = strdup("invalid")) == NULL ||
		    (o->error = strdup(ptext)) == NULL) {
			st = KK_ENOMEM;
			goto out;
		}
		st = store_order_update(s->store, o);
	} else if (st == KK_ENOTFOUND)
		st = KK_OK;
out:
	cJSON_Delete(prob);
	cJSON_free(ptext);
	challenge_free(c);
	authz_free(a);
	order_free(o);
	return st;
}

static void
reject(struct srv *s, const struct op_token *tok, const char *id,
    const struct http_req *req, struct http_resp *resp)
{
	struct verification *v = NULL;
	cJSON *body = NULL, *detail = NULL;
	const char *reason;
	enum kk_status st;
	int in_txn = 0;

	if (parse_body(req, &body, resp) != 0 ||
	    (reason = need_text(body, "reason", resp)) == NULL)
		goto out;
	if ((st = store_begin(s->store)) != KK_OK) {
		acme_store_error(resp, st, "verification");
		goto out;
	}
	in_txn = 1;
	if ((st = store_verification_get(s->store, id, &v)) != KK_OK) {
		acme_store_error(resp, st, "verification");
		goto out;
	}
	if (strcmp(v->status, "processing") != 0) {
		http_resp_error(resp, ACME_MALFORMED, 409,
		    "verification %s is already %s", id, v->status);
		goto out;
	}
	if ((detail = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(detail, "org", v->org);
		cJSON_AddStringToObject(detail, "reason", reason);
	}
	if ((st = fail_verification(s, v, reason, time(NULL))) != KK_OK ||
	    (st = srv_audit(s, tok->name, "verification.reject", id, detail)) !=
	        KK_OK) {
		acme_store_error(resp, st, "verification");
		goto out;
	}
	in_txn = 0;
	if ((st = store_commit(s->store)) != KK_OK) {
		acme_store_error(resp, st, "verification");
		goto out;
	}
	srv_log("verification %s of %s rejected by %s", id, v->org, tok->name);
	send_json(resp, 200, verification_json(s, v));
out:
	if (in_txn)
		store_rollback(s->store);
	verification_free(v);
	cJSON_Delete(body);
	cJSON_Delete(detail);
}

static cJSON *
org_json(const struct org *o, time_t now)
{
	cJSON *j = cJSON_CreateObject();

	if (j == NULL)
		return NULL;
	add_str(j, "id", o->id);
	add_str(j, "legal_name", o->legal_name);
	add_str(j, "country", o->country);
	add_str(j, "method", o->method);
	add_time(j, "verified_at", o->verified_at);
	add_time(j, "expires", o->expires);
	add_str(j, "status", o->expires > now ? "verified" : "expired");
	return j;
}

static void
list_orgs(struct srv *s, struct http_resp *resp)
{
	struct org **os = NULL;
	size_t n = 0;
	cJSON *j = NULL, *arr;
	enum kk_status st;

	if ((st = store_org_list(s->store, &os, &n)) != KK_OK) {
		acme_store_error(resp, st, "organizations");
		return;
	}
	if ((j = cJSON_CreateObject()) != NULL &&
	    (arr = cJSON_AddArrayToObject(j, "orgs")) != NULL)
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, org_json(os[i], time(NULL)));
	send_json(resp, 200, j);
	for (size_t i = 0; i < n; i++)
		org_free(os[i]);
	free(os);
}

static void
show_org(struct srv *s, const char *id, struct http_resp *resp)
{
	struct org *o = NULL;
	struct verification **vs = NULL;
	size_t n = 0;
	cJSON *j, *arr;
	enum kk_status st;

	if ((st = store_org_get(s->store, id, &o)) != KK_OK) {
		acme_store_error(resp, st, "organization");
		return;
	}
	if ((st = store_verification_list(s->store, NULL, id, &vs, &n)) !=
	    KK_OK) {
		acme_store_error(resp, st, "verifications");
		goto out;
	}
	if ((j = org_json(o, time(NULL))) != NULL &&
	    (arr = cJSON_AddArrayToObject(j, "verifications")) != NULL)
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, verification_json(s, vs[i]));
	send_json(resp, 200, j);
out:
	for (size_t i = 0; i < n; i++)
		verification_free(vs[i]);
	free(vs);
	org_free(o);
}

static void
create_eab(struct srv *s, const struct op_token *tok, const char *org_id,
    const struct http_req *req, struct http_resp *resp)
{
	unsigned char key[32];
	struct eab_key k;
	struct org *o = NULL;
	cJSON *body = NULL, *j = NULL, *detail = NULL;
	const cJSON *exp, *max;
	const char *why = NULL;
	char *b64 = NULL;
	enum kk_status st;

	memset(&k, 0, sizeof(k));
	if (parse_body(req, &body, resp) != 0)
		goto out;
	/*
	 * The organization need not be verified yet: under a policy that
	 * requires EAB, the key is how its first account gets in at all.
	 * Accounts made with it are bound to the organization but get a
	 * pending oob-01 until an operator has verified it.
	 */
	if (policy_check_org(s->policy, org_id, &why) != KK_OK) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "organization %s is not accepted by the policy: %s", org_id,
		    why ? why : "it does not match the pattern");
		goto out;
	}
	st = store_org_get(s->store, org_id, &o);
	if (st != KK_OK && st != KK_ENOTFOUND) {
		acme_store_error(resp, st, "organization");
		goto out;
	}
	exp = cJSON_GetObjectItemCaseSensitive(body, "expires");
	if (exp != NULL && !cJSON_IsNull(exp) &&
	    (!cJSON_IsString(exp) ||
	        rfc3339_parse(exp->valuestring, &k.expires) != KK_OK ||
	        k.expires <= time(NULL))) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "expires: must be a future RFC 3339 time");
		goto out;
	}
	max = cJSON_GetObjectItemCaseSensitive(body, "max_uses");
	if (max != NULL && !cJSON_IsNull(max) &&
	    (!cJSON_IsNumber(max) || max->valuedouble < 0 ||
	        max->valuedouble > 1000000 ||
	        max->valuedouble != (double)max->valueint)) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "max_uses: must be an integer from 0 (unlimited) to "
		    "1000000");
		goto out;
	}
	k.max_uses = max && cJSON_IsNumber(max) ? max->valueint : 0;
	if (model_random_b64(key, sizeof(key), &b64) != KK_OK ||
	    model_new_id(&k.kid) != KK_OK) {
		http_resp_error(
		    resp, ACME_SERVER_INTERNAL, 0, "cannot generate a key");
		goto out;
	}
	k.hmac_key = key;
	k.hmac_key_len = sizeof(key);
	k.org = (char *)org_id;
	k.created_by = tok->name;
	k.created_at = time(NULL);
	/* The audit log records the key id, never the key. */
	if ((detail = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(detail, "org", org_id);
		cJSON_AddNumberToObject(detail, "max_uses", k.max_uses);
		cJSON_AddBoolToObject(detail, "org_verified",
		    o != NULL && o->expires > time(NULL));
	}
	if ((st = store_begin(s->store)) != KK_OK) {
		acme_store_error(resp, st, "EAB key");
		goto out;
	}
	if ((st = store_eab_insert(s->store, &k)) != KK_OK ||
	    (st = srv_audit(s, tok->name, "eab.create", k.kid, detail)) !=
	        KK_OK) {
		store_rollback(s->store);
		acme_store_error(resp, st, "EAB key");
		goto out;
	}
	if ((st = store_commit(s->store)) != KK_OK) {
		acme_store_error(resp, st, "EAB key");
		goto out;
	}
	if ((j = cJSON_CreateObject()) != NULL) {
		add_str(j, "kid", k.kid);
		add_str(j, "hmac_key", b64);
		add_str(j, "org", org_id);
		add_time(j, "expires", k.expires);
		cJSON_AddNumberToObject(j, "max_uses", k.max_uses);
	}
	send_json(resp, 201, j);
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (b64 != NULL) {
		OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
	}
	free(k.kid);
	org_free(o);
	cJSON_Delete(body);
	cJSON_Delete(detail);
}

static const char *const reason_names[] = {
    "unspecified",
    "keyCompromise",
    "cACompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "certificateHold",
    NULL,
    "removeFromCRL",
    "privilegeWithdrawn",
    "aACompromise",
};

static cJSON *
cert_json(struct srv *s, const struct cert *c)
{
	cJSON *j = cJSON_CreateObject();
	char *url;

	if (j == NULL)
		return NULL;
	add_str(j, "serial", c->serial);
	add_str(j, "org", c->org);
	add_str(j, "cn", c->cn);
	add_time(j, "not_before", c->not_before);
	add_time(j, "not_after", c->not_after);
	add_str(j, "status", c->status);
	url = srv_url(s, "/acme/acct/%s", c->account_id);
	add_str(j, "account", url);
	free(url);
	if (strcmp(c->status, "revoked") == 0) {
		add_time(j, "revoked_at", c->revoked_at);
		add_str(j, "reason",
		    c->reason >= 0 && c->reason <= 10 && reason_names[c->reason]
		        ? reason_names[c->reason]
		        : "unspecified");
	}
	return j;
}

static void
list_certs(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	char *org = http_query_param(req->query, "org");
	char *status = http_query_param(req->query, "status");
	struct cert **cs = NULL;
	size_t n = 0;
	cJSON *j = NULL, *arr;
	enum kk_status st;

	if ((st = store_cert_list(s->store, org, status, &cs, &n)) != KK_OK) {
		acme_store_error(resp, st, "certificates");
		goto out;
	}
	if ((j = cJSON_CreateObject()) != NULL &&
	    (arr = cJSON_AddArrayToObject(j, "certificates")) != NULL)
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, cert_json(s, cs[i]));
	send_json(resp, 200, j);
out:
	for (size_t i = 0; i < n; i++)
		cert_free(cs[i]);
	free(cs);
	free(org);
	free(status);
}

static void
revoke_cert(struct srv *s, const struct op_token *tok, const char *serial,
    const struct http_req *req, struct http_resp *resp)
{
	struct cert *c = NULL;
	cJSON *body = NULL, *detail = NULL;
	const char *rname;
	int reason = -1;
	time_t now = time(NULL);
	enum kk_status st;

	if (parse_body(req, &body, resp) != 0)
		goto out;
	rname = json_get_string(body, "reason");
	if (rname == NULL)
		rname = "unspecified";
	for (int i = 0; i <= 10; i++)
		if (reason_names[i] != NULL && i != 6 && i != 8 &&
		    strcmp(reason_names[i], rname) == 0)
			reason = i;
	if (reason < 0) {
		http_resp_error(resp, ACME_BAD_REVOCATION_REASON, 0,
		    "reason: one of unspecified, keyCompromise, cACompromise, "
		    "affiliationChanged, superseded, cessationOfOperation, "
		    "privilegeWithdrawn, aACompromise");
		goto out;
	}
	if ((st = store_cert_get(s->store, serial, &c)) != KK_OK) {
		acme_store_error(resp, st, "certificate");
		goto out;
	}
	if (strcmp(c->status, "revoked") == 0) {
		http_resp_error(resp, ACME_ALREADY_REVOKED, 409,
		    "certificate %s is already revoked", serial);
		goto out;
	}
	if ((detail = cJSON_CreateObject()) != NULL)
		cJSON_AddStringToObject(detail, "reason", rname);
	if ((st = store_begin(s->store)) != KK_OK) {
		acme_store_error(resp, st, "certificate");
		goto out;
	}
	st = store_cert_revoke(s->store, serial, now, reason);
	if (st == KK_ECONFLICT) {
		/* Lost a race with another revocation. */
		store_rollback(s->store);
		http_resp_error(resp, ACME_ALREADY_REVOKED, 409,
		    "certificate %s is already revoked", serial);
		goto out;
	}
	if (st != KK_OK || (st = srv_audit(s, tok->name, "cert.revoke", serial,
	                        detail)) != KK_OK) {
		store_rollback(s->store);
		acme_store_error(resp, st, "certificate");
		goto out;
	}
	if ((st = store_commit(s->store)) != KK_OK) {
		acme_store_error(resp, st, "certificate");
		goto out;
	}
	srv_log("certificate %s revoked by %s (%s)", serial, tok->name, rname);
	srv_crl_refresh(s, now);
	cert_free(c);
	c = NULL;
	if (store_cert_get(s->store, serial, &c) == KK_OK)
		send_json(resp, 200, cert_json(s, c));
	else
		resp->status = 200;
out:
	cert_free(c);
	cJSON_Delete(body);
	cJSON_Delete(detail);
}

static void
list_audit(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	char *since_s = http_query_param(req->query, "since");
	time_t since = 0;
	struct audit_event **es = NULL;
	size_t n = 0;
	cJSON *j = NULL, *arr, *e, *d;
	enum kk_status st;

	if (since_s != NULL && rfc3339_parse(since_s, &since) != KK_OK) {
		http_resp_error(
		    resp, ACME_MALFORMED, 0, "since: must be an RFC 3339 time");
		goto out;
	}
	if ((st = store_audit_list(s->store, since, &es, &n)) != KK_OK) {
		acme_store_error(resp, st, "audit log");
		goto out;
	}
	if ((j = cJSON_CreateObject()) != NULL &&
	    (arr = cJSON_AddArrayToObject(j, "events")) != NULL)
		for (size_t i = 0; i < n; i++) {
			if ((e = cJSON_CreateObject()) == NULL)
				break;
			cJSON_AddNumberToObject(e, "seq", (double)es[i]->seq);
			add_time(e, "at", es[i]->at);
			add_str(e, "actor", es[i]->actor);
			add_str(e, "action", es[i]->action);
			add_str(e, "object", es[i]->object);
			if (es[i]->detail != NULL &&
			    json_parse(es[i]->detail, strlen(es[i]->detail),
			        &d) == KK_OK)
				cJSON_AddItemToObject(e, "detail", d);
			cJSON_AddItemToArray(arr, e);
		}
	send_json(resp, 200, j);
out:
	for (size_t i = 0; i < n; i++)
		audit_event_free(es[i]);
	free(es);
	free(since_s);
}

/*
 * Withdraws an organization's verification at once (a mistaken approval,
 * an organization that left the market): bound accounts get a pending
 * oob-01 again on their next order. Certificates already issued are
 * revoked separately.
 */
static void
suspend_org(struct srv *s, const struct op_token *tok, const char *org_id,
    const struct http_req *req, struct http_resp *resp)
{
	struct org *o = NULL;
	cJSON *body = NULL, *detail = NULL;
	const char *reason;
	time_t now = time(NULL);
	enum kk_status st;

	if (parse_body(req, &body, resp) != 0 ||
	    (reason = need_text(body, "reason", resp)) == NULL)
		goto out;
	if ((st = store_begin(s->store)) != KK_OK) {
		acme_store_error(resp, st, "organization");
		goto out;
	}
	if ((st = store_org_get(s->store, org_id, &o)) != KK_OK) {
		store_rollback(s->store);
		acme_store_error(resp, st, "organization");
		goto out;
	}
	if (o->expires > now)
		o->expires = now;
	if ((detail = cJSON_CreateObject()) != NULL)
		cJSON_AddStringToObject(detail, "reason", reason);
	if ((st = store_org_put(s->store, o)) != KK_OK ||
	    (st = srv_audit(s, tok->name, "org.suspend", org_id, detail)) !=
	        KK_OK) {
		store_rollback(s->store);
		acme_store_error(resp, st, "organization");
		goto out;
	}
	if ((st = store_commit(s->store)) != KK_OK) {
		acme_store_error(resp, st, "organization");
		goto out;
	}
	srv_log("organization %s suspended by %s", org_id, tok->name);
	send_json(resp, 200, org_json(o, now));
out:
	org_free(o);
	cJSON_Delete(body);
	cJSON_Delete(detail);
}

/* A leaked or no longer needed EAB key stops working at once. */
static void
revoke_eab(struct srv *s, const struct op_token *tok, const char *kid,
    struct http_resp *resp)
{
	time_t now = time(NULL);
	enum kk_status st;
	cJSON *j;

	if ((st = store_begin(s->store)) != KK_OK) {
		acme_store_error(resp, st, "EAB key");
		return;
	}
	if ((st = store_eab_expire(s->store, kid, now)) != KK_OK ||
	    (st = srv_audit(s, tok->name, "eab.revoke", kid, NULL)) != KK_OK) {
		store_rollback(s->store);
		acme_store_error(resp, st, "EAB key");
		return;
	}
	if ((st = store_commit(s->store)) != KK_OK) {
		acme_store_error(resp, st, "EAB key");
		return;
	}
	if ((j = cJSON_CreateObject()) != NULL) {
		add_str(j, "kid", kid);
		add_time(j, "expires", now);
	}
	send_json(resp, 200, j);
}

/* Splits "a/b/c" into at most 3 segments in buf; returns the count. */
static int
split(const char *sub, char *buf, size_t bufsz, char *seg[3])
{
	int n = 0;
	char *p, *save = NULL;

	if (strlen(sub) >= bufsz)
		return -1;
	strcpy(buf, sub);
	for (p = strtok_r(buf, "/", &save); p != NULL;
	     p = strtok_r(NULL, "/", &save)) {
		if (n == 3)
			return -1;
		seg[n++] = p;
	}
	return n;
}

void
oper_handle(struct srv *s, const struct http_req *req, struct http_resp *resp,
    const char *sub)
{
	struct op_token *tok;
	char buf[256], *seg[3] = {NULL, NULL, NULL};
	int n, get = strcmp(req->method, "GET") == 0,
	       post = strcmp(req->method, "POST") == 0;

	if ((tok = authenticate(s, req, resp)) == NULL)
		return;
	n = split(sub, buf, sizeof(buf), seg);
	for (int i = 0; i < n; i++)
		if (!valid_name(seg[i], ":")) {
			n = -1;
			break;
		}
	if (post && strcmp(tok->role, "operator") != 0) {
		http_resp_error(resp, ACME_UNAUTHORIZED, 403,
		    "%s has the role %s, which may only read", tok->name,
		    tok->role);
		goto out;
	}
	if (n == 1 && get && strcmp(seg[0], "verifications") == 0)
		list_verifications(s, req, resp);
	else if (n == 2 && get && strcmp(seg[0], "verifications") == 0) {
		struct verification *v = NULL;
		enum kk_status st =
		    store_verification_get(s->store, seg[1], &v);

		if (st != KK_OK)
			acme_store_error(resp, st, "verification");
		else
			send_json(resp, 200, verification_json(s, v));
		verification_free(v);
	} else if (n == 3 && post && strcmp(seg[0], "verifications") == 0 &&
	           strcmp(seg[2], "approve") == 0)
		approve(s, tok, seg[1], req, resp);
	else if (n == 3 && post && strcmp(seg[0], "verifications") == 0 &&
	         strcmp(seg[2], "reject") == 0)
		reject(s, tok, seg[1], req, resp);
	else if (n == 1 && get && strcmp(seg[0], "orgs") == 0)
		list_orgs(s, resp);
	else if (n == 2 && get && strcmp(seg[0], "orgs") == 0)
		show_org(s, seg[1], resp);
	else if (n == 3 && post && strcmp(seg[0], "orgs") == 0 &&
	         strcmp(seg[2], "eab-keys") == 0)
		create_eab(s, tok, seg[1], req, resp);
	else if (n == 3 && post && strcmp(seg[0], "orgs") == 0 &&
	         strcmp(seg[2], "suspend") == 0)
		suspend_org(s, tok, seg[1], req, resp);
	else if (n == 3 && post && strcmp(seg[0], "eab-keys") == 0 &&
	         strcmp(seg[2], "revoke") == 0)
		revoke_eab(s, tok, seg[1], resp);
	else if (n == 1 && get && strcmp(seg[0], "certificates") == 0)
		list_certs(s, req, resp);
	else if (n == 3 && post && strcmp(seg[0], "certificates") == 0 &&
	         strcmp(seg[2], "revoke") == 0)
		revoke_cert(s, tok, seg[1], req, resp);
	else if (n == 1 && get && strcmp(seg[0], "audit") == 0)
		list_audit(s, req, resp);
	else
		http_resp_error(resp, ACME_MALFORMED, 404,
		    "no operator API resource %s /operator/v1/%.64s",
		    req->method, sub);
out:
	op_token_free(tok);
}
