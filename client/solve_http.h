/*
 * solve_http.h - http-01 (RFC 8555 8.3): the key authorization served at
 * http://NAME/.well-known/acme-challenge/TOKEN, from a file under the
 * user's webroot or from a standalone server (solve.c forks it).
 */
#ifndef KC_SOLVE_HTTP_H
#define KC_SOLVE_HTTP_H

#include "solve.h"

#define SOLVE_HTTP_PATH "/.well-known/acme-challenge/"
#define SOLVE_HTTP_MAX_REQUEST 4096

/* Writes ROOT/.well-known/acme-challenge/TOKEN (0644), making the dirs. */
enum kk_status solve_http_put(
    const char *root, const struct solve_item *it, struct kc_err *err);
/* Removes that file (missing is fine); the directories stay. */
enum kk_status solve_http_remove(const char *root, const struct solve_item *it);

/*
 * The standalone server's loop (in the child): GET of the path of one of
 * the n tokens gets its key authorization, anything else 404.
 */
void solve_http_serve(
    int lfd, int quitfd, const struct solve_item *items, size_t n);

/*
 * The answer to one request (exposed for the unit tests): the status and
 * the body (borrowed from items; "" for a 404).
 */
int solve_http_answer(const char *req, const struct solve_item *items, size_t n,
    const char **body);

#endif
