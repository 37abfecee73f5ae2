/*
 * conntrack.h - the connections the HTTPS workers serve, seen from their
 * TLS handshakes: one peer address may hold only so many (connlimit.h), and
 * a request that has not arrived in full by its deadline loses its
 * connection. Knows OpenSSL, not civetweb.
 *
 * It relies on one property of a thread-per-connection server such as
 * civetweb 1.15: a connection is served from its handshake to its close on
 * one thread, so the "current connection" of a thread is well defined.
 */
#ifndef CONNTRACK_H
#define CONNTRACK_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "kk_status.h"

struct conntrack;

/*
 * Tracks at most slots connections at a time (one per worker is enough:
 * only connections being served are tracked), per_addr of them from one
 * address, each request allowed deadline_ms. Starts the thread that
 * enforces the deadlines. Release with conntrack_free(), after every SSL of
 * ctx has been freed.
 */
enum kk_status conntrack_new(
    size_t slots, int per_addr, int deadline_ms, struct conntrack **out);
void conntrack_free(struct conntrack *ct);

/*
 * Watches the handshakes of ctx: a connection from an address over its
 * limit has its socket shut down before anything is read from it, so the
 * handshake fails at once; others are tracked until their SSL is freed,
 * and their first request's clock starts.
 */
enum kk_status conntrack_attach(struct conntrack *ct, SSL_CTX *ctx);

/* 1 if ctx is still watched (a server could replace the callback). */
int conntrack_attached(SSL_CTX *ctx);

/*
 * For the calling thread's connection: the request has been read (its
 * clock stops while the server answers); the answer is sent (the next
 * request's clock starts, idle keep-alive time included); and whether the
 * request ran past its deadline, its socket then being shut down.
 */
void conntrack_request_read(void);
void conntrack_request_done(void);
int conntrack_expired(void);

/*
 * 1 if the calling thread's connection was refused for its address (its
 * failed handshake is then no news), and how many were refused since the
 * last call.
 */
int conntrack_refused(void);
unsigned long conntrack_refusals(struct conntrack *ct);

#endif
