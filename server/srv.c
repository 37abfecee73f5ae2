#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "kk_log.h"
#include "oper.h"
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
	if ((s->base_url = strdup(base_url)) == NULL ||
	    (crl_url = srv_url(s, "/crl/%s.crl", ca_issuer_id(ca))) == NULL)
		goto fail;
	if ((rc = nonce_pool_new(&s->nonces)) != KK_OK)
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

void
srv_free(struct srv *s)
{
	if (s == NULL)
		return;
	ra_clear(&s->ra);
	crl_free(s->crl);
	store_close(s->store);
	ca_free(s->ca);
	policy_free(s->policy);
	nonce_pool_free(s->nonces);
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

/* Ids in URLs are base64url or hex; anything else is not ours. */
static int
valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64)
		return 0;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                  "0123456789-_") == n;
}

/*
 * Matches path against "<prefix><id><suffix>" and copies id out; returns 1
 * on a match with a valid id.
 */
static int
match_id(const char *path, const char *prefix, const char *suffix, char *id,
    size_t idsz)
{
	size_t plen = strlen(prefix), slen = strlen(suffix), len;

	if (strncmp(path, prefix, plen) != 0)
		return 0;
	path += plen;
	len = strlen(path);
	if (len < slen || strcmp(path + len - slen, suffix) != 0)
		return 0;
	len -= slen;
	if (len == 0 || len >= idsz)
		return 0;
	memcpy(id, path, len);
	id[len] = '\0';
	return valid_id(id);
}

static int
is(const struct http_req *req, const char *method)
{
	return strcmp(req->method, method) == 0;
}

static void
route_acme(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	const char *p = req->path;
	char id[65], *index = NULL;
	int post = is(req, "POST");

	resp->want_nonce = 1;
	if (strcmp(p, "/acme/directory") == 0 && is(req, "GET"))
		acme_directory(s, req, resp);
	else if (strcmp(p, "/acme/new-nonce") == 0 &&
	         (is(req, "GET") || is(req, "HEAD")))
		acme_new_nonce(s, req, resp);
	else if (strcmp(p, "/acme/new-account") == 0 && post)
		acme_new_account(s, req, resp);
	else if (strcmp(p, "/acme/new-order") == 0 && post)
		acme_new_order(s, req, resp);
	else if (strcmp(p, "/acme/revoke-cert") == 0 && post)
		acme_revoke(s, req, resp);
	else if (strcmp(p, "/acme/key-change") == 0 && post)
		acme_key_change(s, req, resp);
	else if (match_id(p, "/acme/acct/", "/orders", id, sizeof(id)) && post)
		acme_account_orders(s, req, resp, id);
	else if (match_id(p, "/acme/acct/", "", id, sizeof(id)) && post)
		acme_account(s, req, resp, id);
	else if (match_id(p, "/acme/order/", "/finalize", id, sizeof(id)) &&
	         post)
		acme_finalize(s, req, resp, id);
	else if (match_id(p, "/acme/order/", "", id, sizeof(id)) && post)
		acme_order(s, req, resp, id);
	else if (match_id(p, "/acme/authz/", "", id, sizeof(id)) && post)
		acme_authz(s, req, resp, id);
	else if (match_id(p, "/acme/chall/", "", id, sizeof(id)) && post)
		acme_challenge(s, req, resp, id);
	else if (match_id(p, "/acme/cert/", "", id, sizeof(id)) && post)
		acme_cert(s, req, resp, id);
	else if (match_id(p, "/acme/oob/", "", id, sizeof(id)) &&
	         is(req, "GET")) {
		resp->want_nonce = 0;
		acme_oob_page(s, req, resp, id);
	} else
		http_resp_error(resp, ACME_MALFORMED, 404,
		    "no ACME resource %s %s", req->method, p);
	/* RFC 8555 7.1: every resource but the directory links to it. */
	if (strcmp(p, "/acme/directory") != 0 && resp->want_nonce &&
	    (index = srv_url(s, "/acme/directory")) != NULL)
		http_resp_link(resp, index, "index");
	free(index);
}

void
srv_handle(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	char id[65];

	memset(resp, 0, sizeof(*resp));
	if (strncmp(req->path, "/acme/", 6) == 0)
		route_acme(s, req, resp);
	else if (strncmp(req->path, "/operator/v1/", 13) == 0)
		oper_handle(s, req, resp, req->path + 13);
	else if (match_id(req->path, "/crl/", ".crl", id, sizeof(id)) &&
	         (is(req, "GET") || is(req, "HEAD")))
		acme_crl(s, req, resp, id);
	else
		http_resp_error(resp, ACME_MALFORMED, 404,
		    "nothing at %s; the ACME directory is %s/acme/directory",
		    req->path, s->base_url);
}

void
srv_maintain(struct srv *s, time_t now)
{
	int changed = 0;

	if (store_expire(s->store, now, &changed) == KK_OK && changed > 0)
		kk_log("expired %d stale orders and authorizations", changed);
	crl_maintain(s->crl, now);
}
