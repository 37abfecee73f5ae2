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
#include "acme_status.h"
#include "b64url.h"
#include "json.h"
#include "oper.h"
#include "ra_attach.h"
#include "ra_registry.h"
#include "registry.h"
#include "rfc3339.h"
#include "text.h"

#define OPER_TOKEN_BYTES 32
#define MAX_TEXT 2048    /* legal names, evidence, reasons */
#define PAGE_DEFAULT 100 /* list records per answer without ?limit= */
#define PAGE_MAX 1000    /* keeps an answer far below the client's limits */

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

struct op_token *
oper_authenticate(
    struct srv *s, const struct http_req *req, struct http_resp *resp)
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

/*
 * One verification as the operator API shows it. a is its account (for
 * the contacts) and e the registry's entry for its organization, NULL
 * when there is none or the lookup failed: both are best effort.
 */
static cJSON *
verification_json(struct srv *s, const struct verification *v,
    const struct account *a, const struct registry_entry *e)
{
	cJSON *j = cJSON_CreateObject(), *arr, *ap, *contacts = NULL, *r;
	char *url;

	if (j == NULL)
		return NULL;
	add_str(j, "id", v->id);
	add_str(j, "org", v->org);
	add_str(j, "status", acme_status_name(v->status));
	url = srv_url(s, "/acme/acct/%s", v->account_id);
	add_str(j, "account", url);
	free(url);
	if (a != NULL &&
	    json_parse(a->contacts, strlen(a->contacts), &contacts) == KK_OK)
		cJSON_AddItemToObject(j, "contacts", contacts);
	else
		cJSON_AddArrayToObject(j, "contacts");
	url = srv_url(s, "/acme/chall/%s", v->challenge_id);
	add_str(j, "challenge", url);
	free(url);
	add_time(j, "requested_at", v->requested_at);
	add_time(j, "decided_at", v->decided_at);
	if (v->reason != NULL)
		add_str(j, "reason", v->reason);
	/* "registry": what the corporate-number registry has for the
	 * organization, when it names a corporate number the registry
	 * knows. */
	if (e != NULL && (r = registry_entry_json(e)) != NULL)
		cJSON_AddItemToObject(j, "registry", r);
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

/*
 * Appends the JSON of vs[0..n) to arr. The accounts and registry entries
 * they show are read for all of them at once, two store calls in all:
 * on PostgreSQL each call is a round trip, and two per verification made
 * a page of 100 cost 200 of them. A failed lookup shows nothing of those
 * records, as for one missing.
 */
static void
verifications_add(
    struct srv *s, const struct verification *const *vs, size_t n, cJSON *arr)
{
	const char **ids = NULL, **numbers = NULL;
	struct account **as = NULL;
	struct registry_entry **es = NULL;
	size_t registered = 0;

	if (n == 0)
		return;
	if ((ids = calloc(n, sizeof(*ids))) != NULL &&
	    (numbers = calloc(n, sizeof(*numbers))) != NULL) {
		for (size_t i = 0; i < n; i++) {
			ids[i] = vs[i]->account_id;
			if ((numbers[i] = registry_number(vs[i]->org)) != NULL)
				registered++;
		}
		if (store_account_get_many(s->store, ids, n, &as) != KK_OK)
			as = NULL;
		/* No corporate number on the page: nothing to look up. */
		if (registered > 0 &&
		    store_registry_get_many(s->store, numbers, n, &es) != KK_OK)
			es = NULL;
	}
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(
		    arr, verification_json(s, vs[i], as != NULL ? as[i] : NULL,
		             es != NULL ? es[i] : NULL));
	for (size_t i = 0; i < n; i++) {
		account_free(as != NULL ? as[i] : NULL);
		registry_entry_free(es != NULL ? es[i] : NULL);
	}
	free(as);
	free(es);
	free(ids);
	free(numbers);
}

/* One verification's JSON (caller deletes), NULL when out of memory. */
static cJSON *
verification_one(struct srv *s, const struct verification *v)
{
	cJSON *arr = cJSON_CreateArray(), *j = NULL;

	if (arr != NULL) {
		verifications_add(s, &v, 1, arr);
		j = cJSON_DetachItemFromArray(arr, 0);
	}
	cJSON_Delete(arr);
	return j;
}

void
oper_send_json(struct http_resp *resp, int status, cJSON *j)
{
	if (j == NULL ||
	    http_resp_json(resp, status, "application/json", j) != KK_OK)
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
	cJSON_Delete(j);
}

/*
 * The ?status= filter of a list: ACME_STATUS_NONE when absent. Returns 0,
 * or -1 with a 400 answered for a name that is no state.
 */
static int
status_filter(const char *name, enum acme_status *out, struct http_resp *resp)
{
	*out = acme_status_parse(name);
	if (name != NULL && *out == ACME_STATUS_NONE) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "status: \"%.32s\" is not a state (pending, processing, "
		    "valid, invalid, revoked, ...)",
		    name);
		return -1;
	}
	return 0;
}

/*
 * A list's paging parameters: ?limit= (1 to PAGE_MAX, PAGE_DEFAULT when
 * absent) and ?cursor=, the "next" of the page before. A cursor is
 * base64url of "LIST:KEY", KEY being the store key of that page's last
 * record (store.h): opaque to clients, who must not build one, and good
 * only for the list that gave it. numeric says KEY must be a decimal
 * number (the audit sequence). *key (caller frees) backs pg->after.
 * Returns 0, or -1 with a 400 answered naming the field.
 */
static int
page_params(const struct http_req *req, const char *list, int numeric,
    struct store_page *pg, char **key, struct http_resp *resp)
{
	char *limit = http_query_param(req->query, "limit");
	char *cursor = http_query_param(req->query, "cursor");
	unsigned char *raw = NULL;
	size_t rawlen = 0, pre = strlen(list);
	const char *k;
	char *end;
	long v = PAGE_DEFAULT;
	int rc = -1;

	memset(pg, 0, sizeof(*pg));
	*key = NULL;
	if (limit != NULL) {
		v = strtol(limit, &end, 10);
		if (!isdigit((unsigned char)limit[0]) || *end != '\0' ||
		    v < 1 || v > PAGE_MAX) {
			http_resp_error(resp, ACME_MALFORMED, 0,
			    "limit: must be a number from 1 to %d", PAGE_MAX);
			goto out;
		}
	}
	pg->limit = (size_t)v;
	if (cursor == NULL) {
		rc = 0;
		goto out;
	}
	if (strlen(cursor) > 512 ||
	    b64url_decode(cursor, strlen(cursor), &raw, &rawlen) != KK_OK ||
	    rawlen <= pre + 1 || memcmp(raw, list, pre) != 0 ||
	    raw[pre] != ':' || strlen((char *)raw) != rawlen ||
	    !valid_name(k = (char *)raw + pre + 1, ":") ||
	    (numeric &&
	        (strspn(k, "0123456789") != strlen(k) || strlen(k) > 18))) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "cursor: must be the \"next\" of an earlier page of this "
		    "list");
		goto out;
	}
	if ((*key = strdup(k)) == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	pg->after = *key;
	rc = 0;
out:
	free(raw);
	free(limit);
	free(cursor);
	return rc;
}

/*
 * Answers a page of a list: adds "next", the cursor of the following page,
 * when there is one (its key is that of the page's last record), and
 * sends j. A cursor whose record is gone (KK_ENOTFOUND) is a client error.
 */
static void
page_send(struct http_resp *resp, cJSON *j, const struct store_page *pg,
    const char *list, const char *last_key)
{
	char *text = NULL, *next = NULL;

	if (j != NULL && pg->more && last_key != NULL) {
		if (asprintf(&text, "%s:%s", list, last_key) == -1)
			text = NULL;
		/* A page without its "next" would end the walk early. */
		if (text == NULL ||
		    b64url_encode((const unsigned char *)text, strlen(text),
		        &next) != KK_OK ||
		    cJSON_AddStringToObject(j, "next", next) == NULL) {
			cJSON_Delete(j);
			j = NULL;
		}
	}
	oper_send_json(resp, 200, j);
	free(text);
	free(next);
}

/* A list's store error: an unknown cursor is the client's. */
static void
list_error(struct http_resp *resp, enum kk_status st, const char *what)
{
	if (st == KK_ENOTFOUND)
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "cursor: no such record in the %s", what);
	else
		acme_store_error(resp, st, what);
}

void
oper_verifications(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	char *status = http_query_param(req->query, "status");
	char *org = http_query_param(req->query, "org");
	struct verification **vs = NULL;
	struct store_page pg;
	size_t n = 0;
	cJSON *j = NULL, *arr;
	char *after = NULL;
	enum acme_status want;
	enum kk_status st;

	if (status_filter(status, &want, resp) != 0 ||
	    page_params(req, "verifications", 0, &pg, &after, resp) != 0)
		goto out;
	if ((st = store_verification_list(s->store, want, org, &pg, &vs, &n)) !=
	    KK_OK) {
		list_error(resp, st, "verifications");
		goto out;
	}
	if ((j = cJSON_CreateObject()) != NULL &&
	    (arr = cJSON_AddArrayToObject(j, "verifications")) != NULL)
		verifications_add(
		    s, (const struct verification *const *)vs, n, arr);
	page_send(resp, j, &pg, "verifications", n > 0 ? vs[n - 1]->id : NULL);
out:
	for (size_t i = 0; i < n; i++)
		verification_free(vs[i]);
	free(vs);
	free(after);
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

/*
 * The optional "attachments" of an approval: the SHA-256s (64 lowercase
 * hex digits) of documents attached to the verification, at most 20.
 * ap->attachments (caller frees the array) borrows body's strings.
 */
static int
attachments_from_body(const cJSON *body, const char **sha, struct ra_docs *docs,
    struct http_resp *resp)
{
	const cJSON *arr =
	    cJSON_GetObjectItemCaseSensitive(body, "attachments");
	const cJSON *e;

	docs->sha = sha;
	docs->n = 0;
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > RA_DOCS_MAX)
		goto bad;
	cJSON_ArrayForEach(e, arr)
	{
		if (!cJSON_IsString(e) || strlen(e->valuestring) != 64 ||
		    strspn(e->valuestring, "0123456789abcdef") != 64)
			goto bad;
		sha[docs->n++] = e->valuestring;
	}
	return 0;
bad:
	docs->n = 0;
	http_resp_error(resp, ACME_MALFORMED, 0,
	    "attachments: at most 20 SHA-256s (64 lowercase hex digits) of "
	    "documents attached to the verification");
	return -1;
}

/*
 * The approval in an approve request's body, checked field by field:
 * *out's strings are borrowed from body. Returns 0, or -1 with resp
 * answered naming the field.
 */
static int
approval_from_body(struct srv *s, const cJSON *body, const char *op, time_t now,
    struct approval *out, struct http_resp *resp)
{
	struct approval ap;
	const char *method;
	unsigned mbit;

	memset(&ap, 0, sizeof(ap));
	if ((method = need_text(body, "method", resp)) == NULL)
		return -1;
	mbit = strcmp(method, "phone") == 0      ? POLICY_METHOD_PHONE
	       : strcmp(method, "document") == 0 ? POLICY_METHOD_DOCUMENT
	                                         : 0;
	if ((mbit & s->policy->methods) == 0) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "method: must be one of the methods the policy allows "
		    "(phone, document)");
		return -1;
	}
	if ((ap.legal_name = (char *)need_text(body, "legal_name", resp)) ==
	        NULL ||
	    (ap.evidence = (char *)need_text(body, "evidence", resp)) == NULL)
		return -1;
	if (!legal_name_ok(ap.legal_name)) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "legal_name: must be 1 to 64 characters of UTF-8 text "
		    "without control, formatting, invisible, private-use "
		    "or noncharacters (it becomes the certificate's O)");
		return -1;
	}
	ap.country = (char *)json_get_string(body, "country");
	if (ap.country == NULL || strlen(ap.country) != 2 ||
	    strspn(ap.country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 2) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "country: required, an ISO 3166 two-letter code such as "
		    "\"JP\"");
		return -1;
	}
	ap.method = (char *)method;
	ap.operator_name = (char *)op;
	ap.at = now;
	*out = ap;
	return 0;
}

void
oper_approve(struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct op_token *tok = call->tok;
	const char *id = call->id;
	struct verification *v = NULL;
	struct approval ap;
	struct ra_docs docs;
	const char *sha[RA_DOCS_MAX];
	cJSON *body = NULL;
	const char *why = NULL, *override;
	time_t now = time(NULL);
	enum kk_status st;

	if (parse_body(call->req, &body, resp) != 0 ||
	    approval_from_body(s, body, tok->name, now, &ap, resp) != 0 ||
	    attachments_from_body(body, sha, &docs, resp) != 0)
		goto out;
	/* Optional: why to approve against the corporate-number registry. */
	override = json_get_string(body, "override_reason");
	if (cJSON_GetObjectItemCaseSensitive(body, "override_reason") != NULL &&
	    (override == NULL || override[0] == '\0' ||
	        strlen(override) > MAX_TEXT)) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "override_reason: when given, a non-empty string of at "
		    "most %d bytes",
		    MAX_TEXT);
		goto out;
	}
	st = ra_verification_approve_override(
	    &s->ra, tok->name, id, &ap, &docs, override, now, &v, &why);
	if (st == KK_ECONFLICT)
		http_resp_error(resp, ACME_MALFORMED, 409,
		    "verification %s cannot be approved: %s", id, why);
	else if (st == KK_EEXIST)
		http_resp_error(
		    resp, ACME_UNAUTHORIZED, 403, "%s: %s", tok->name, why);
	else if (st == KK_EINVAL)
		http_resp_error(resp, ACME_MALFORMED, 409, "%s", why);
	else if (st != KK_OK)
		acme_store_error(resp, st, "verification");
	else
		oper_send_json(resp, 200, verification_one(s, v));
out:
	verification_free(v);
	cJSON_Delete(body);
}

void
oper_reject(struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct op_token *tok = call->tok;
	const char *id = call->id;
	const struct http_req *req = call->req;
	struct verification *v = NULL;
	cJSON *body = NULL;
	const char *reason, *why = NULL;
	enum kk_status st;

	if (parse_body(req, &body, resp) != 0 ||
	    (reason = need_text(body, "reason", resp)) == NULL)
		goto out;
	st = ra_verification_reject(
	    &s->ra, tok->name, id, reason, time(NULL), &v, &why);
	if (st == KK_ECONFLICT)
		http_resp_error(resp, ACME_MALFORMED, 409,
		    "verification %s cannot be rejected: %s", id, why);
	else if (st != KK_OK)
		acme_store_error(resp, st, "verification");
	else
		oper_send_json(resp, 200, verification_one(s, v));
out:
	verification_free(v);
	cJSON_Delete(body);
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

void
oper_orgs(struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	struct org **os = NULL;
	struct store_page pg;
	size_t n = 0;
	cJSON *j = NULL, *arr;
	char *after = NULL;
	enum kk_status st;

	if (page_params(call->req, "orgs", 0, &pg, &after, resp) != 0)
		goto out;
	if ((st = store_org_list(s->store, &pg, &os, &n)) != KK_OK) {
		list_error(resp, st, "organizations");
		goto out;
	}
	if ((j = cJSON_CreateObject()) != NULL &&
	    (arr = cJSON_AddArrayToObject(j, "orgs")) != NULL)
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, org_json(os[i], time(NULL)));
	page_send(resp, j, &pg, "orgs", n > 0 ? os[n - 1]->id : NULL);
out:
	for (size_t i = 0; i < n; i++)
		org_free(os[i]);
	free(os);
	free(after);
}

void
oper_org(struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const char *id = call->id;
	struct org *o = NULL;
	struct verification **vs = NULL;
	size_t n = 0;
	cJSON *j, *arr;
	enum kk_status st;

	if ((st = store_org_get(s->store, id, &o)) != KK_OK) {
		acme_store_error(resp, st, "organization");
		return;
	}
	/* An organization has a handful of verifications: all of them. */
	if ((st = store_verification_list(
	         s->store, ACME_STATUS_NONE, id, NULL, &vs, &n)) != KK_OK) {
		acme_store_error(resp, st, "verifications");
		goto out;
	}
	if ((j = org_json(o, time(NULL))) != NULL &&
	    (arr = cJSON_AddArrayToObject(j, "verifications")) != NULL)
		verifications_add(
		    s, (const struct verification *const *)vs, n, arr);
	oper_send_json(resp, 200, j);
out:
	for (size_t i = 0; i < n; i++)
		verification_free(vs[i]);
	free(vs);
	org_free(o);
}

/*
 * An EAB key request's optional limits: expires (a future RFC 3339 time,
 * 0 = never) and max_uses (0 = unlimited). Returns 0, or -1 with resp
 * answered naming the field.
 */
static int
eab_limits(
    const cJSON *body, time_t *expires, int *max_uses, struct http_resp *resp)
{
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(body, "expires");
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(body, "max_uses");

	*expires = 0;
	*max_uses = 0;
	if (exp != NULL && !cJSON_IsNull(exp) &&
	    (!cJSON_IsString(exp) ||
	        rfc3339_parse(exp->valuestring, expires) != KK_OK ||
	        *expires <= time(NULL))) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "expires: must be a future RFC 3339 time");
		return -1;
	}
	if (max != NULL && !cJSON_IsNull(max) &&
	    (!cJSON_IsNumber(max) || max->valuedouble < 0 ||
	        max->valuedouble > 1000000 ||
	        max->valuedouble != (double)max->valueint)) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "max_uses: must be an integer from 0 (unlimited) to "
		    "1000000");
		return -1;
	}
	if (cJSON_IsNumber(max))
		*max_uses = max->valueint;
	return 0;
}

void
oper_eab_create(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const char *org_id = call->id, *why = NULL;
	cJSON *body = NULL, *j = NULL;
	char *b64 = NULL, *kid = NULL;
	time_t expires;
	int max_uses;
	enum kk_status st;

	if (parse_body(call->req, &body, resp) != 0)
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
	if (eab_limits(body, &expires, &max_uses, resp) != 0)
		goto out;
	if ((st = ra_eab_create(&s->ra, call->tok->name, org_id, expires,
	         max_uses, time(NULL), &kid, &b64)) != KK_OK) {
		acme_store_error(resp, st, "EAB key");
		goto out;
	}
	if ((j = cJSON_CreateObject()) != NULL) {
		add_str(j, "kid", kid);
		add_str(j, "hmac_key", b64);
		add_str(j, "org", org_id);
		add_time(j, "expires", expires);
		cJSON_AddNumberToObject(j, "max_uses", max_uses);
	}
	oper_send_json(resp, 201, j);
out:
	if (b64 != NULL) {
		OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
	}
	free(kid);
	cJSON_Delete(body);
}

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
	add_str(j, "status", acme_status_name(c->status));
	url = srv_url(s, "/acme/acct/%s", c->account_id);
	add_str(j, "account", url);
	free(url);
	if (c->status == ACME_STATUS_REVOKED) {
		add_time(j, "revoked_at", c->revoked_at);
		add_str(j, "reason", acme_crl_reason_name(c->reason));
	}
	return j;
}

/*
 * Appends the JSON of cs[0..n) to arr, with their renewal information
 * read for all of them at once (oper_certs_renewal).
 */
static void
certs_add(struct srv *s, const struct cert *const *cs, size_t n, cJSON *arr)
{
	cJSON **js;

	if (n == 0 || (js = calloc(n, sizeof(*js))) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		js[i] = cert_json(s, cs[i]);
	oper_certs_renewal(s, cs, js, n);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, js[i]);
	free(js);
}

/*
 * ?serial=: the one certificate with that serial (hex, any case, colons
 * allowed as openssl prints them) when it also matches org and status: a
 * list of one or none.
 */
static enum kk_status
cert_by_serial(struct srv *s, const char *serial, const char *org,
    enum acme_status want, struct cert ***out, size_t *n)
{
	struct cert *c = NULL;
	char hex[129];
	size_t len = strlen(serial), k = 0;
	enum kk_status st;

	*out = NULL;
	*n = 0;
	if (len >= sizeof(hex) ||
	    strspn(serial, "0123456789abcdefABCDEF:") != len)
		return KK_OK;
	for (size_t i = 0; i < len; i++)
		if (serial[i] != ':')
			hex[k++] = (char)tolower((unsigned char)serial[i]);
	hex[k] = '\0';
	st = store_cert_get(s->store, hex, &c);
	if (st != KK_OK)
		return st == KK_ENOTFOUND ? KK_OK : st;
	if ((org != NULL && strcmp(c->org, org) != 0) ||
	    (want != ACME_STATUS_NONE && c->status != want)) {
		cert_free(c);
		return KK_OK;
	}
	if ((*out = calloc(1, sizeof(**out))) == NULL) {
		cert_free(c);
		return KK_ENOMEM;
	}
	(*out)[0] = c;
	*n = 1;
	return KK_OK;
}

void
oper_certificates(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	char *org = http_query_param(req->query, "org");
	char *status = http_query_param(req->query, "status");
	char *cn = http_query_param(req->query, "cn");
	char *serial = http_query_param(req->query, "serial");
	struct cert **cs = NULL;
	struct store_page pg;
	size_t n = 0;
	cJSON *j = NULL, *arr;
	char *after = NULL;
	enum acme_status want;
	enum kk_status st;

	if (status_filter(status, &want, resp) != 0 ||
	    page_params(req, "certificates", 0, &pg, &after, resp) != 0)
		goto out;
	if (serial != NULL)
		st = cert_by_serial(s, serial, org, want, &cs, &n);
	else if (cn != NULL)
		st = store_cert_list_cn(s->store, cn, org, want, &pg, &cs, &n);
	else
		st = store_cert_list(s->store, org, want, &pg, &cs, &n);
	if (st != KK_OK) {
		list_error(resp, st, "certificates");
		goto out;
	}
	if ((j = cJSON_CreateObject()) != NULL &&
	    (arr = cJSON_AddArrayToObject(j, "certificates")) != NULL)
		certs_add(s, (const struct cert *const *)cs, n, arr);
	page_send(
	    resp, j, &pg, "certificates", n > 0 ? cs[n - 1]->serial : NULL);
out:
	for (size_t i = 0; i < n; i++)
		cert_free(cs[i]);
	free(cs);
	free(after);
	free(org);
	free(status);
	free(cn);
	free(serial);
}

void
oper_certificate_revoke(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct op_token *tok = call->tok;
	const char *serial = call->id;
	const struct http_req *req = call->req;
	struct cert *c = NULL;
	cJSON *body = NULL, *j;
	const char *rname;
	int reason = -1;
	enum kk_status st;

	if (parse_body(req, &body, resp) != 0)
		goto out;
	rname = json_get_string(body, "reason");
	if (rname == NULL)
		rname = acme_crl_reason_name(ACME_CRL_UNSPECIFIED);
	if (acme_crl_reason_parse(rname, &reason) != KK_OK ||
	    !acme_crl_reason_allowed(reason, 0)) {
		http_resp_error(resp, ACME_BAD_REVOCATION_REASON, 0,
		    "reason: one of unspecified, keyCompromise, cACompromise, "
		    "affiliationChanged, superseded, cessationOfOperation, "
		    "privilegeWithdrawn, aACompromise");
		goto out;
	}
	st =
	    ra_cert_revoke(&s->ra, tok->name, serial, reason, time(NULL), NULL);
	if (st == KK_ECONFLICT) {
		http_resp_error(resp, ACME_ALREADY_REVOKED, 409,
		    "certificate %s is already revoked", serial);
		goto out;
	}
	if (st != KK_OK) {
		acme_store_error(resp, st, "certificate");
		goto out;
	}
	if (store_cert_get(s->store, serial, &c) == KK_OK) {
		j = cert_json(s, c);
		oper_certs_renewal(s, (const struct cert *const *)&c, &j, 1);
		oper_send_json(resp, 200, j);
	} else
		resp->status = 200;
out:
	cert_free(c);
	cJSON_Delete(body);
}

void
oper_audit(struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	char *since_s = http_query_param(req->query, "since");
	time_t since = 0;
	struct audit_event **es = NULL;
	struct store_page pg;
	size_t n = 0;
	cJSON *j = NULL, *arr, *e, *d;
	char *after = NULL, last[24];
	enum kk_status st;

	if (since_s != NULL && rfc3339_parse(since_s, &since) != KK_OK) {
		http_resp_error(
		    resp, ACME_MALFORMED, 0, "since: must be an RFC 3339 time");
		goto out;
	}
	if (page_params(req, "audit", 1, &pg, &after, resp) != 0)
		goto out;
	if ((st = store_audit_list(s->store, since, &pg, &es, &n)) != KK_OK) {
		list_error(resp, st, "audit log");
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
	if (n > 0)
		snprintf(last, sizeof(last), "%lld", (long long)es[n - 1]->seq);
	page_send(resp, j, &pg, "audit", n > 0 ? last : NULL);
out:
	for (size_t i = 0; i < n; i++)
		audit_event_free(es[i]);
	free(es);
	free(after);
	free(since_s);
}

/*
 * Withdraws an organization's verification at once (a mistaken approval,
 * an organization that left the market): see ra_org_suspend. Bound
 * accounts get a pending oob-01 again on their next order.
 */
void
oper_org_suspend(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct op_token *tok = call->tok;
	const char *org_id = call->id;
	const struct http_req *req = call->req;
	struct org *o = NULL;
	struct ra_suspension done;
	cJSON *body = NULL, *j;
	const cJSON *rc;
	const char *reason;
	time_t now = time(NULL);
	enum kk_status st;

	if (parse_body(req, &body, resp) != 0 ||
	    (reason = need_text(body, "reason", resp)) == NULL)
		goto out;
	rc = cJSON_GetObjectItemCaseSensitive(body, "revoke_certificates");
	if (rc != NULL && !cJSON_IsBool(rc)) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "revoke_certificates: must be true or false");
		goto out;
	}
	if ((st = ra_org_suspend(&s->ra, tok->name, org_id, reason,
	         cJSON_IsTrue(rc), now, &o, &done)) != KK_OK) {
		acme_store_error(resp, st, "organization");
		goto out;
	}
	if ((j = org_json(o, now)) != NULL) {
		cJSON_AddNumberToObject(j, "orders_invalidated", done.orders);
		cJSON_AddNumberToObject(
		    j, "authorizations_revoked", done.authzs);
		cJSON_AddNumberToObject(j, "certificates_revoked", done.certs);
	}
	oper_send_json(resp, 200, j);
out:
	org_free(o);
	cJSON_Delete(body);
}

/* A leaked or no longer needed EAB key stops working at once. */
void
oper_eab_revoke(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct op_token *tok = call->tok;
	const char *kid = call->id;
	time_t now = time(NULL);
	enum kk_status st;
	cJSON *j;

	if ((st = ra_eab_revoke(&s->ra, tok->name, kid, now)) != KK_OK) {
		acme_store_error(resp, st, "EAB key");
		return;
	}
	if ((j = cJSON_CreateObject()) != NULL) {
		add_str(j, "kid", kid);
		add_time(j, "expires", now);
	}
	oper_send_json(resp, 200, j);
}

void
oper_verification(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	struct verification *v = NULL;
	enum kk_status st = store_verification_get(s->store, call->id, &v);

	if (st != KK_OK)
		acme_store_error(resp, st, "verification");
	else
		oper_send_json(resp, 200, verification_one(s, v));
	verification_free(v);
}

int
oper_segment_ok(const char *seg)
{
	return valid_name(seg, ":");
}

int
oper_body(const struct http_req *req, cJSON **body, struct http_resp *resp)
{
	return parse_body(req, body, resp);
}

void
oper_send(struct http_resp *resp, int status, cJSON *j)
{
	oper_send_json(resp, status, j);
}
