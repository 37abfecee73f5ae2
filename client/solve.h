/*
 * solve.h - answers the challenges of dns identifiers for the time it
 * takes the CA to validate them: a file under a webroot or a standalone
 * HTTP server (http-01, RFC 8555 8.3), a TXT record through the user's
 * hook (dns-01, 8.4), or a TLS server with an acmeIdentifier certificate
 * (tls-alpn-01, RFC 8737). solve_start makes every item answerable,
 * solve_stop takes it all down again.
 *
 * The standalone servers run in a child process that serves only the
 * given tokens, one connection at a time, each bounded in size and time,
 * and exits when solve_stop closes its pipe, when this process dies, or
 * after SOLVE_SERVE_MAX seconds, whichever comes first.
 */
#ifndef KC_SOLVE_H
#define KC_SOLVE_H

#include <stddef.h>

#include <netinet/in.h>

#include "err.h"
#include "solve_cfg.h"

#define SOLVE_SERVE_MAX 600  /* seconds a standalone server lives at most */
#define SOLVE_CONN_TIMEOUT 5 /* seconds one connection may take */

/* One challenge to answer; all borrowed. */
struct solve_item {
	const char *name;    /* the dns identifier */
	const char *token;   /* the challenge's token */
	const char *keyauth; /* token "." account key thumbprint */
};

struct solver;

/*
 * Makes the n items answerable the way c says. *out (solve_stop frees)
 * is set even on failure when something must be undone.
 */
enum kk_status solve_start(const struct solve_cfg *c,
    const struct solve_item *items, size_t n, struct solver **out,
    struct kc_err *err);

/* Undoes solve_start (files, records, server); sv may be NULL. */
enum kk_status solve_stop(struct solver *sv, struct kc_err *err);

/* For the standalone servers (solve_http.c, solve_alpn.c). */

/*
 * Parses "[ADDR:]PORT" (ADDR an IPv4 address, default all); 0 when valid,
 * with *sa set unless it is NULL, -1 otherwise.
 */
int solve_listen_parse(const char *spec, struct sockaddr_in *sa);

/* A listening TCP socket on spec (solve_listen_parse). */
enum kk_status solve_listen(const char *spec, int *fd, struct kc_err *err);

/*
 * In the server child: the next connection, with SOLVE_CONN_TIMEOUT
 * applied to its reads and writes, or -1 when it is time to exit.
 */
int solve_accept(int lfd, int quitfd);

#endif
