/*
 * The operator API's organization domains and renewal-window drill:
 *
 *   GET  /operator/v1/orgs/{id}/domains    {"org", "domains": [...]}
 *   POST /operator/v1/orgs/{id}/domains    {"domains": ["example.jp"]}
 *   POST /operator/v1/renewal-window       {"org" | "serials", "start"?,
 *                                           "end"?, "reason"?}
 *
 * Handlers parse and answer; the registration authority changes and
 * audits.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme.h"
#include "json.h"
#include "oper.h"
#include "rfc3339.h"

#define DOMAINS_MAX 100  /* names per request */
#define SERIALS_MAX 1000 /* serials per drill request */
#define SERIAL_HEX_MAX 42
#define REASON_MAX 2048
#define DRILL_DEFAULT_SECONDS 60 /* window length when no end is given */

/* {"org": id, "domains": [...]} for org_id as stored; NULL on failure
 * (*st says why). */
static cJSON *
domains_json(struct srv *s, const char *org_id, enum kk_status *st)
{
	char **names = NULL;
	size_t n = 0;
	cJSON *j = NULL, *arr;

	if ((*st = store_org_domain_list(s->store, org_id, &names, &n)) !=
	    KK_OK)
		return NULL;
	*st = KK_ENOMEM;
	if ((j = cJSON_CreateObject()) != NULL &&
	    cJSON_AddStringToObject(j, "org", org_id) != NULL &&
	    (arr = cJSON_AddArrayToObject(j, "domains")) != NULL) {
		*st = KK_OK;
		for (size_t i = 0; i < n && *st == KK_OK; i++)
			if (!cJSON_AddItemToArray(
			        arr, cJSON_CreateString(names[i])))
				*st = KK_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (*st != KK_OK) {
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

void
oper_org_domains(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	enum kk_status st;
	cJSON *j = domains_json(s, call->id, &st);

	if (j == NULL)
		acme_store_error(resp, st, "domains");
	else
		oper_send(resp, 200, j);
}

/*
 * The "domains" of a body, each normalized: *names (caller frees each and
 * the array) of *n. Returns 0, or -1 with a 400 naming the entry.
 */
static int
domain_list(const cJSON *body, char ***names, size_t *n, struct http_resp *resp)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "domains");
	const cJSON *d;
	int size = cJSON_GetArraySize(arr), i = 0;

	*names = NULL;
	*n = 0;
	if (!cJSON_IsArray(arr) || size < 1 || size > DOMAINS_MAX) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "domains: required, an array of 1 to %d dns names",
		    DOMAINS_MAX);
		return -1;
	}
	if ((*names = calloc((size_t)size, sizeof(**names))) == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(d, arr)
	{
		if (!cJSON_IsString(d) || ra_domain_normalize(d->valuestring,
		                              &(*names)[i]) != KK_OK) {
			http_resp_error(resp, ACME_MALFORMED, 0,
			    "domains[%d]: not a dns name (letters, digits and "
			    "hyphens in dot-separated labels, at least two, "
			    "no wildcard, no trailing dot)",
			    i);
			*n = (size_t)i;
			return -1;
		}
		i++;
	}
	*n = (size_t)i;
	return 0;
}

void
oper_org_domains_add(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const char *org_id = call->id, *why = NULL;
	cJSON *body = NULL, *j;
	char **names = NULL;
	size_t n = 0;
	int added = 0;
	enum kk_status st;

	if (oper_body(call->req, &body, resp) != 0)
		goto out;
	/* As for EAB keys, the organization need not be verified yet: the
	 * rule applies once it is, and only while it is. */
	if (policy_check_org(s->policy, org_id, &why) != KK_OK) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "organization %s is not accepted by the policy: %s", org_id,
		    why ? why : "it does not match the pattern");
		goto out;
	}
	if (domain_list(body, &names, &n, resp) != 0)
		goto out;
	st = ra_org_domains_add(&s->ra, call->tok->name, org_id, names, n,
	    time(NULL), &added, &why);
	if (st == KK_ECONFLICT) {
		http_resp_error(resp, ACME_MALFORMED, 409, "%s", why);
		goto out;
	}
	if (st != KK_OK || (j = domains_json(s, org_id, &st)) == NULL) {
		acme_store_error(resp, st, "domains");
		goto out;
	}
	if (cJSON_AddNumberToObject(j, "added", added) == NULL) {
		cJSON_Delete(j);
		j = NULL;
	}
	oper_send(resp, 200, j);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	cJSON_Delete(body);
}

/* An optional RFC 3339 time member; def when absent. -1 with a 400. */
static int
time_member(const cJSON *body, const char *name, time_t def, time_t *out,
    struct http_resp *resp)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);

	*out = def;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsString(v) && rfc3339_parse(v->valuestring, out) == KK_OK)
		return 0;
	http_resp_error(resp, ACME_MALFORMED, 0,
	    "%s: must be an RFC 3339 time such as 2026-12-01T00:00:00Z", name);
	return -1;
}

/* The drill's certificates: "org" or "serials", exactly one. */
static int
drill_target(const cJSON *body, struct ra_window_move *m, const char ***serials,
    struct http_resp *resp)
{
	const cJSON *org = cJSON_GetObjectItemCaseSensitive(body, "org");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "serials");
	const cJSON *v;
	int size = cJSON_GetArraySize(arr), i = 0;

	*serials = NULL;
	if ((org == NULL) == (arr == NULL)) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "give \"org\" (every valid certificate of it) or "
		    "\"serials\", not both");
		return -1;
	}
	if (org != NULL) {
		if (!cJSON_IsString(org) || org->valuestring[0] == '\0' ||
		    !oper_segment_ok(org->valuestring)) {
			http_resp_error(resp, ACME_MALFORMED, 0,
			    "org: must be an organization identifier");
			return -1;
		}
		m->org = org->valuestring;
		return 0;
	}
	if (!cJSON_IsArray(arr) || size < 1 || size > SERIALS_MAX) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "serials: an array of 1 to %d certificate serials (hex)",
		    SERIALS_MAX);
		return -1;
	}
	if ((*serials = calloc((size_t)size, sizeof(**serials))) == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
		    strlen(v->valuestring) > SERIAL_HEX_MAX ||
		    strspn(v->valuestring, "0123456789abcdef") !=
		        strlen(v->valuestring)) {
			http_resp_error(resp, ACME_MALFORMED, 0,
			    "serials[%d]: must be a serial in lower-case hex, "
			    "as the certificates list shows it",
			    i);
			return -1;
		}
		(*serials)[i++] = v->valuestring;
	}
	m->serials = *serials;
	m->n_serials = (size_t)i;
	return 0;
}

void
oper_renewal_window(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	struct ra_window_move m;
	const char **serials = NULL, *missing = NULL;
	char a[RFC3339_LEN], b[RFC3339_LEN];
	cJSON *body = NULL, *j = NULL;
	time_t now = time(NULL);
	int moved = 0;
	enum kk_status st;

	memset(&m, 0, sizeof(m));
	if (oper_body(call->req, &body, resp) != 0 ||
	    drill_target(body, &m, &serials, resp) != 0 ||
	    time_member(body, "start", now, &m.start, resp) != 0 ||
	    time_member(body, "end", m.start + DRILL_DEFAULT_SECONDS, &m.end,
	        resp) != 0)
		goto out;
	if (m.end <= m.start) {
		http_resp_error(
		    resp, ACME_MALFORMED, 0, "end: must be after start");
		goto out;
	}
	m.reason = json_get_string(body, "reason");
	if (m.reason != NULL && strlen(m.reason) > REASON_MAX) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "reason: at most %d bytes", REASON_MAX);
		goto out;
	}
	st = ra_renewal_window_move(
	    &s->ra, call->tok->name, &m, now, &moved, &missing);
	if (st == KK_ENOTFOUND && missing != NULL) {
		http_resp_error(resp, ACME_MALFORMED, 404,
		    "no certificate has the serial %s; nothing was changed",
		    missing);
		goto out;
	}
	if (st != KK_OK) {
		acme_store_error(resp, st, "certificates");
		goto out;
	}
	rfc3339_format(m.start, a);
	rfc3339_format(m.end, b);
	if ((j = cJSON_CreateObject()) != NULL &&
	    (cJSON_AddNumberToObject(j, "moved", moved) == NULL ||
	        cJSON_AddStringToObject(j, "start", a) == NULL ||
	        cJSON_AddStringToObject(j, "end", b) == NULL)) {
		cJSON_Delete(j);
		j = NULL;
	}
	oper_send(resp, 200, j);
out:
	free(serials);
	cJSON_Delete(body);
}

void
oper_certs_renewal(
    struct srv *s, const struct cert *const *cs, cJSON *const *js, size_t n)
{
	const char **serials = NULL, **orders = NULL;
	struct renewal **rs = NULL;
	struct order **os = NULL;
	const struct renewal *r;
	const struct order *o;
	char a[RFC3339_LEN], b[RFC3339_LEN];
	size_t i, replaced = 0;
	cJSON *w;

	if (n == 0 || (serials = calloc(n, sizeof(*serials))) == NULL ||
	    (orders = calloc(n, sizeof(*orders))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		serials[i] = cs[i]->serial;
	if (store_renewal_get_many(s->store, serials, n, &rs) != KK_OK) {
		rs = NULL;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (rs[i] != NULL && (orders[i] = rs[i]->replaced_by) != NULL)
			replaced++;
	/* Replacements are rare: most pages need no second call. */
	if (replaced > 0 &&
	    store_order_get_many(s->store, orders, n, &os) != KK_OK)
		os = NULL;
	for (i = 0; i < n; i++) {
		if ((r = rs[i]) == NULL || js[i] == NULL)
			continue;
		if (r->end > r->start && (w = cJSON_AddObjectToObject(js[i],
		                              "renewal_window")) != NULL) {
			rfc3339_format(r->start, a);
			rfc3339_format(r->end, b);
			cJSON_AddStringToObject(w, "start", a);
			cJSON_AddStringToObject(w, "end", b);
		}
		o = os != NULL ? os[i] : NULL;
		if (o != NULL && o->status == ACME_STATUS_VALID &&
		    o->cert_serial != NULL)
			cJSON_AddStringToObject(
			    js[i], "replaced_by", o->cert_serial);
	}
out:
	for (i = 0; i < n; i++) {
		renewal_free(rs != NULL ? rs[i] : NULL);
		order_free(os != NULL ? os[i] : NULL);
	}
	free(rs);
	free(os);
	free(serials);
	free(orders);
}
