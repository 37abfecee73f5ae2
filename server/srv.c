/*
 * The server context and the top of request handling: one routing table
 * from method and path to the ACME, operator and CRL handlers. Handlers
 * depend on the context (srv.h); the context and the router depend on
 * them, the registration authority and nothing else of the HTTP side.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "console.h"
#include "gate.h"
#include "kk_log.h"
#include "oper.h"
#include "oper_attach.h"
#include "ra_attach.h"
#include "srv.h"

enum kk_status
srv_new(const char *base_url, struct store *st, struct ca *ca,
    struct policy *pol, struct srv **out)
{
	struct srv *s;
	char *crl_url = NULL;
	enum kk_status rc = KK_ENOMEM;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return KK_ENOMEM;
	s->store = st;
	s->ca = ca;
	s->policy = pol;
	va_config_defaults(&s->va);
	if ((s->base_url = strdup(base_url)) == NULL ||
	    (crl_url = srv_url(s, "/crl/%s.crl", ca_issuer_id(ca))) == NULL)
		goto fail;
	if ((rc = nonce_pool_new(&s->nonces)) != KK_OK ||
	    (rc = keycache_new(KEYCACHE_SLOTS, &s->keys)) != KK_OK ||
	    (rc = valimit_new(VALIMIT_MAX, VALIMIT_PER_ACCOUNT, &s->valimit)) !=
	        KK_OK ||
	    (rc = gate_new(0, &s->gate)) != KK_OK)
		goto fail;
	/* Replicas sharing the store must redeem each other's nonces. */
	if (store_shares_nonces(st))
		nonce_pool_share(s->nonces, st);
	if ((rc = crl_new(st, ca, &s->crl)) != KK_OK ||
	    (rc = ra_init(&s->ra, st, ca, pol, s->crl, crl_url)) != KK_OK)
		goto fail;
	free(crl_url);
	*out = s;
	return KK_OK;
fail:
	/* The caller keeps what it gave on failure. */
	s->store = NULL;
	s->ca = NULL;
	s->policy = NULL;
	free(crl_url);
	srv_free(s);
	return rc;
}

enum kk_status
srv_va_limits(struct srv *s, int max, int per_account)
{
	struct valimit *vl;
	enum kk_status rc;

	if ((rc = valimit_new(max, per_account, &vl)) != KK_OK)
		return rc;
	valimit_free(s->valimit);
	s->valimit = vl;
	return KK_OK;
}

enum kk_status
srv_active(struct srv *s, int n)
{
	struct gate *g;
	enum kk_status rc;

	if ((rc = gate_new(n, &g)) != KK_OK)
		return rc;
	gate_free(s->gate);
	s->gate = g;
	return KK_OK;
}

void
srv_gate_pause(struct srv *s, const struct srv_call *c)
{
	if (c->gated)
		gate_leave(s->gate);
}

void
srv_gate_resume(struct srv *s, const struct srv_call *c)
{
	if (c->gated)
		gate_enter(s->gate);
}

void
srv_free(struct srv *s)
{
	if (s == NULL)
		return;
	ra_clear(&s->ra);
	va_config_clear(&s->va);
	crl_free(s->crl);
	store_close(s->store);
	ca_free(s->ca);
	policy_free(s->policy);
	nonce_pool_free(s->nonces);
	keycache_free(s->keys);
	valimit_free(s->valimit);
	gate_free(s->gate);
	free(s->base_url);
	free(s);
}

char *
srv_url(const struct srv *s, const char *fmt, ...)
{
	char *path = NULL, *url = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&path, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if (asprintf(&url, "%s%s", s->base_url, path) < 0)
		url = NULL;
	free(path);
	return url;
}

/* Ids in ACME and CRL URLs are base64url or hex; anything else is not ours. */
static int
acme_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64)
		return 0;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                  "0123456789-_") == n;
}

enum { M_GET = 1, M_HEAD = 2, M_POST = 4 };

/* A check of one path segment: 1 when seg may name a resource. */
typedef int seg_check(const char *seg);

/*
 * The routing table: method, and the path as prefix, then (when suffix is
 * not NULL) one id segment and suffix, then (when suffix ends in '/') one
 * more segment, each segment checked by seg_ok: operator ids by the
 * operator API's rules, console files by console_name_ok, certIDs (which
 * hold a dot) by acme_cert_id_ok, the rest by acme_id_ok. A route with a
 * segment and no check matches nothing. First match wins.
 */
static const struct route {
	unsigned methods;
	const char *prefix;
	const char *suffix;
	seg_check *seg_ok;
	srv_handler *fn;
} routes[] = {
    {M_GET, "/acme/directory", NULL, NULL, acme_directory},
    {M_GET | M_HEAD, "/acme/new-nonce", NULL, NULL, acme_new_nonce},
    {M_POST, "/acme/new-account", NULL, NULL, acme_new_account},
    {M_POST, "/acme/new-order", NULL, NULL, acme_new_order},
    {M_POST, "/acme/new-authz", NULL, NULL, acme_new_authz},
    {M_GET, "/acme/renewal-info/", "", acme_cert_id_ok, acme_renewal_info},
    {M_POST, "/acme/revoke-cert", NULL, NULL, acme_revoke},
    {M_POST, "/acme/key-change", NULL, NULL, acme_key_change},
    {M_POST, "/acme/acct/", "/orders", acme_id_ok, acme_account_orders},
    {M_POST, "/acme/acct/", "", acme_id_ok, acme_account},
    {M_POST, "/acme/order/", "/finalize", acme_id_ok, acme_finalize},
    {M_POST, "/acme/order/", "", acme_id_ok, acme_order},
    {M_POST, "/acme/authz/", "", acme_id_ok, acme_authz},
    {M_POST, "/acme/chall/", "", acme_id_ok, acme_challenge},
    {M_POST, "/acme/cert/", "", acme_id_ok, acme_cert},
    {M_GET, "/acme/oob/", "", acme_id_ok, acme_oob_page},
    {M_GET | M_HEAD, "/crl/", ".crl", acme_id_ok, acme_crl},
    {M_GET, "/operator/v1/verifications", NULL, NULL, oper_verifications},
    {M_GET, "/operator/v1/verifications/", "", oper_segment_ok,
        oper_verification},
    {M_POST, "/operator/v1/verifications/", "/approve", oper_segment_ok,
        oper_approve},
    {M_POST, "/operator/v1/verifications/", "/reject", oper_segment_ok,
        oper_reject},
    {M_GET, "/operator/v1/orgs", NULL, NULL, oper_orgs},
    {M_GET, "/operator/v1/orgs/", "", oper_segment_ok, oper_org},
    {M_POST, "/operator/v1/orgs/", "/eab-keys", oper_segment_ok,
        oper_eab_create},
    {M_POST, "/operator/v1/orgs/", "/suspend", oper_segment_ok,
        oper_org_suspend},
    {M_GET, "/operator/v1/orgs/", "/domains", oper_segment_ok,
        oper_org_domains},
    {M_POST, "/operator/v1/orgs/", "/domains", oper_segment_ok,
        oper_org_domains_add},
    {M_POST, "/operator/v1/renewal-window", NULL, NULL, oper_renewal_window},
    {M_POST, "/operator/v1/eab-keys/", "/revoke", oper_segment_ok,
        oper_eab_revoke},
    {M_GET, "/operator/v1/certificates", NULL, NULL, oper_certificates},
    {M_POST, "/operator/v1/certificates/", "/revoke", oper_segment_ok,
        oper_certificate_revoke},
    {M_GET, "/operator/v1/audit", NULL, NULL, oper_audit},
    {M_GET, "/operator/v1/whoami", NULL, NULL, oper_whoami},
    {M_POST, "/operator/v1/verifications/", "/attachments", oper_segment_ok,
        oper_attachment_add},
    {M_GET, "/operator/v1/verifications/", "/attachments", oper_segment_ok,
        oper_attachments},
    {M_GET, "/operator/v1/verifications/", "/attachments/", oper_segment_ok,
        oper_attachment_get},
    {M_GET | M_HEAD, "/console", NULL, NULL, console_redirect},
    {M_GET | M_HEAD, "/console/", NULL, NULL, console_index},
    {M_GET | M_HEAD, "/console/", "", console_name_ok, console_file},
};

#define OPER_PREFIX "/operator/v1/"

static unsigned
method_bit(const char *m)
{
	return strcmp(m, "GET") == 0    ? M_GET
	       : strcmp(m, "HEAD") == 0 ? M_HEAD
	       : strcmp(m, "POST") == 0 ? M_POST
	                                : 0;
}

/* Whether r's path goes on with a second segment after its suffix. */
static int
has_sub(const struct route *r)
{
	size_t n = r->suffix != NULL ? strlen(r->suffix) : 0;

	return n > 0 && r->suffix[n - 1] == '/';
}

/* Whether seg passes r's check; a route without one takes no segment. */
static int
segment_ok(const struct route *r, const char *seg)
{
	return r->seg_ok != NULL && r->seg_ok(seg);
}

/*
 * Matches path against r; copies the id segment (if r has one) to id and
 * the second segment (if r has one) to sub, each checked by segment_ok.
 */
static int
route_match(const struct route *r, const char *path, char *id, size_t idsz,
    char *sub, size_t subsz)
{
	size_t plen = strlen(r->prefix), slen, len;
	const char *end;

	if (r->suffix == NULL)
		return strcmp(path, r->prefix) == 0;
	if (strncmp(path, r->prefix, plen) != 0)
		return 0;
	path += plen;
	slen = strlen(r->suffix);
	if (has_sub(r)) {
		/* id, suffix (ending in '/'), then the second segment. */
		len = strcspn(path, "/");
		end = path + len;
		if (strncmp(end, r->suffix, slen) != 0 ||
		    strlen(end + slen) >= subsz)
			return 0;
		strcpy(sub, end + slen);
		if (!segment_ok(r, sub))
			return 0;
	} else {
		len = strlen(path);
		if (len <= slen || strcmp(path + len - slen, r->suffix) != 0)
			return 0;
		len -= slen;
	}
	if (len >= idsz)
		return 0;
	memcpy(id, path, len);
	id[len] = '\0';
	return segment_ok(r, id);
}

static const struct route *
route_find(
    const struct http_req *req, char *id, size_t idsz, char *sub, size_t subsz)
{
	unsigned m = method_bit(req->method);

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if ((routes[i].methods & m) != 0 &&
		    route_match(&routes[i], req->path, id, idsz, sub, subsz))
			return &routes[i];
	return NULL;
}

size_t
srv_body_limit(struct srv *s, const struct http_req *req)
{
	static const char pre[] = OPER_PREFIX "verifications/";
	static const char suf[] = "/attachments";
	const char *path = req->path;
	size_t n = strlen(path), max = HTTP_MAX_BODY;
	struct http_resp unused;
	struct op_token *tok;

	if (strcmp(req->method, "POST") != 0 ||
	    strncmp(path, pre, sizeof(pre) - 1) != 0 || n <= sizeof(suf) - 1 ||
	    strcmp(path + n - (sizeof(suf) - 1), suf) != 0)
		return max;
	memset(&unused, 0, sizeof(unused));
	tok = oper_authenticate(s, req, &unused);
	if (tok != NULL && strcmp(tok->role, "operator") == 0)
		max = RA_ATTACH_MAX;
	op_token_free(tok);
	http_resp_clear(&unused);
	return max;
}

/*
 * What resp shows may have been committed by this request, whose commits
 * do not wait (store_defer_durability), or by another request that is
 * still making it durable: the answer waits for both (store_settle). A
 * store that cannot make it durable turns the answer into a 500.
 */
static void
settle(struct srv *s, struct srv_call *c, struct http_resp *resp)
{
	int want_nonce = resp->want_nonce;

	/* The wait for the disk holds no place: others' commits join it. */
	if (c->gated) {
		gate_leave(s->gate);
		c->gated = 0;
	}
	if (store_settle(s->store) == KK_OK)
		return;
	http_resp_clear(resp);
	resp->want_nonce = want_nonce;
	http_resp_error(resp, ACME_SERVER_INTERNAL, 0,
	    "the storage cannot make changes durable; try again later");
}

/* ACME: a nonce on every answer, and (RFC 8555 7.1) a link to the
 * directory on every resource but the directory. */
static void
serve_acme(struct srv *s, const struct route *r, struct srv_call *c,
    struct http_resp *resp)
{
	char *index = NULL;

	resp->want_nonce = 1;
	if (r != NULL)
		r->fn(s, c, resp);
	else
		http_resp_error(resp, ACME_MALFORMED, 404,
		    "no ACME resource %s %s", c->req->method, c->req->path);
	settle(s, c, resp);
	if (strcmp(c->req->path, "/acme/directory") != 0 && resp->want_nonce &&
	    (index = srv_url(s, "/acme/directory")) != NULL)
		http_resp_link(resp, index, "index");
	free(index);
}

/* Operators: the token first (401 before 404), then the role. */
static void
serve_oper(struct srv *s, const struct route *r, struct srv_call *c,
    struct http_resp *resp)
{
	struct op_token *tok;

	if ((tok = oper_authenticate(s, c->req, resp)) == NULL) {
		settle(s, c, resp);
		return;
	}
	c->tok = tok;
	if (strcmp(c->req->method, "POST") == 0 &&
	    strcmp(tok->role, "operator") != 0)
		http_resp_error(resp, ACME_UNAUTHORIZED, 403,
		    "%s has the role %s, which may only read", tok->name,
		    tok->role);
	else if (r != NULL)
		r->fn(s, c, resp);
	else
		http_resp_error(resp, ACME_MALFORMED, 404,
		    "no operator API resource %s %.64s", c->req->method,
		    c->req->path);
	op_token_free(tok);
	settle(s, c, resp);
}

void
srv_handle(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	const struct route *r;
	struct srv_call c;
	char id[129], sub[129];

	memset(resp, 0, sizeof(*resp));
	memset(&c, 0, sizeof(c));
	c.req = req;
	/* Commits wait for the disk in settle(), which every answer below
	 * passes through, together with whatever the request read. */
	store_defer_durability(s->store, 1);
	gate_enter(s->gate);
	c.gated = 1;
	r = route_find(req, id, sizeof(id), sub, sizeof(sub));
	if (r != NULL && r->suffix != NULL)
		c.id = id;
	if (r != NULL && has_sub(r))
		c.sub = sub;
	if (strncmp(req->path, "/acme/", 6) == 0)
		serve_acme(s, r, &c, resp);
	else if (strncmp(req->path, OPER_PREFIX, strlen(OPER_PREFIX)) == 0)
		serve_oper(s, r, &c, resp);
	else if (r != NULL) {
		r->fn(s, &c, resp);
		settle(s, &c, resp); /* the CRL */
	} else
		http_resp_error(resp, ACME_MALFORMED, 404,
		    "nothing at %s; the ACME directory is %s/acme/directory",
		    req->path, s->base_url);
	if (c.gated)
		gate_leave(s->gate);
	store_defer_durability(s->store, 0);
}

void
srv_maintain(struct srv *s, time_t now)
{
	int changed = 0;

	if (ra_expire(&s->ra, now, &changed) == KK_OK && changed > 0)
		kk_log("expired %d stale orders and authorizations", changed);
	crl_maintain(s->crl, now);
}
