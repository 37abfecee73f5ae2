/*
 * http.h - the HTTPS listener: civetweb on one side, srv_handle on the
 * other. This is the only module that knows civetweb.
 */
#ifndef HTTP_H
#define HTTP_H

#include "kk_status.h"
#include "srv.h"

struct http_server;

/*
 * Initialises civetweb's TLS (refusing to go on if it did not: see
 * server/sslshim/) and listens on host:port (port 0 picks a free one) with
 * the key and certificate in tls_pem, serving with threads workers of which
 * one peer address may hold per_addr at a time (more connections from it
 * are closed before their TLS handshake). *port gets the port bound. *out
 * is released with http_stop(). On failure *err (caller frees) says why.
 */
enum kk_status http_start(struct srv *s, const char *host, int port,
    const char *tls_pem, int threads, int per_addr, struct http_server **out,
    int *bound, char **err);

/* Stops listening and waits for the workers (civetweb takes ~2 s). */
void http_stop(struct http_server *h);

#endif
