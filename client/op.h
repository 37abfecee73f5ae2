/*
 * op.h - the operator API client (/operator/v1/ on the ACME server's
 * host), authenticated with a bearer token from --token or KAKUIN_TOKEN.
 */
#ifndef KC_OP_H
#define KC_OP_H

#include <cjson/cJSON.h>

#include "err.h"
#include "http.h"

struct op {
	struct http *http; /* borrowed */
	char *base;        /* https://host:port/operator/v1/ */
	char *auth;        /* "Authorization: Bearer ..." */
};

/* server as for --server (base or directory URL). Clear with op_clear. */
enum kk_status op_init(struct op *o, struct http *http, const char *server,
    const char *token, struct kc_err *err);
void op_clear(struct op *o);

/*
 * method "GET" or "POST" on base + path (body NULL for GET). A JSON answer
 * lands in *out (caller frees); a problem is an error with its type and
 * detail (401/403 say the token is wrong or lacks the role).
 */
enum kk_status op_call(struct op *o, const char *method, const char *path,
    const cJSON *body, cJSON **out, struct kc_err *err);

/*
 * GET of a paged list (path may carry a query already): follows each
 * page's "next" cursor to the end and answers one object whose array
 * member `array` holds the records of every page, in order, and no
 * "next". Stops with an error after OP_MAX_PAGES pages, so a server that
 * never ends the list cannot keep the client forever.
 */
#define OP_MAX_PAGES 10000
enum kk_status op_get_all(struct op *o, const char *path, const char *array,
    cJSON **out, struct kc_err *err);

/* Percent-encodes s for a URL path segment or query value; caller frees. */
enum kk_status op_escape(const char *s, char **out);

#endif
