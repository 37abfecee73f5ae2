/*
 * http_msg.h - a request and a response as the ACME and operator logic see
 * them: plain data, no civetweb. The HTTP layer (http.c) fills a request
 * from the wire and writes the response back; everything between works on
 * these structures only, so it can be driven by tests or another server.
 */
#ifndef HTTP_MSG_H
#define HTTP_MSG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "kk_status.h"
#include "problem.h"

#define HTTP_MAX_BODY (64 * 1024)
#define HTTP_MAX_LINKS 4

struct http_req {
	const char *method; /* "GET", "HEAD", "POST", ... */
	const char *path;   /* decoded path, e.g. "/acme/new-order" */
	const char *query;  /* raw query string, or NULL */
	const char *body;   /* NULL when there is none */
	size_t body_len;
	const char *remote_ip;
	const char *content_type; /* header value, or NULL */
	const char *authorization;
	const char *accept_language; /* header value, or NULL */
};

/* Every string member is owned by the response (http_resp_clear frees). */
struct http_resp {
	int status;
	const char *content_type; /* static */
	char *body;
	size_t body_len;
	char *location;
	char *links[HTTP_MAX_LINKS]; /* whole Link header values */
	int n_links;
	int retry_after; /* seconds; 0 = no header */
	int want_nonce;  /* add a Replay-Nonce header */
	char nonce[33];  /* that header's value, if issued already; or "" */
	int cache_control_public; /* CRL and directory may be cached */
	/* The console's pages: Content-Security-Policy (static; with it go
	 * the other headers that keep a page from being framed or leaking
	 * its address), and Vary (static). */
	const char *csp;
	const char *vary;
	char *disposition; /* Content-Disposition, owned */
};

void http_resp_clear(struct http_resp *r);

/* Sets the body to the compact text of json (borrowed) with type. */
enum kk_status http_resp_json(
    struct http_resp *r, int status, const char *type, const cJSON *json);

/* Sets the body to a copy of len bytes of data. */
enum kk_status http_resp_bytes(struct http_resp *r, int status,
    const char *type, const void *data, size_t len);

/* Replaces the response with the problem (borrowed); status from it. */
enum kk_status http_resp_problem(struct http_resp *r, const cJSON *problem);

/* Builds and sets a problem in one step; status 0 = the type's default. */
void http_resp_error(struct http_resp *r, enum acme_problem type, int status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

enum kk_status http_resp_location(struct http_resp *r, const char *url);

/* Adds Link: <url>;rel="rel". */
enum kk_status http_resp_link(
    struct http_resp *r, const char *url, const char *rel);

/*
 * The value of query parameter name (percent-decoded), or NULL when it is
 * absent or empty; caller frees.
 */
char *http_query_param(const char *query, const char *name);

#endif
