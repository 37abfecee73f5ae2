/*
 * srv.h - the server context: everything a request handler may use, built
 * once at start and shared read-only by all worker threads (the store, the
 * nonce pool and the CRL cache do their own locking).
 */
#ifndef SRV_H
#define SRV_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "ca.h"
#include "http_msg.h"
#include "kk_status.h"
#include "nonce.h"
#include "policy.h"
#include "store.h"

#define SRV_CRL_VALIDITY (7 * 24 * 3600)
#define SRV_CRL_REFRESH (24 * 3600) /* regenerate this long before expiry */

struct srv {
	char *base_url; /* "https://127.0.0.1:8443", no trailing / */
	struct store *store;
	struct ca *ca;
	struct policy *policy;
	struct nonce_pool *nonces;

	pthread_mutex_t crl_refresh; /* one regeneration at a time */
	pthread_mutex_t crl_lock;    /* guards the three members below */
	unsigned char *crl_der;
	size_t crl_len;
	time_t crl_next_update;
};

/*
 * Builds the context from an open store, a loaded CA and policy, all of
 * which it takes over (srv_free releases them). *out owned by the caller.
 */
enum kk_status srv_new(const char *base_url, struct store *st, struct ca *ca,
    struct policy *pol, struct srv **out);
void srv_free(struct srv *s);

/*
 * Answers one request: the single entry point the HTTP layer calls. Fills
 * resp (caller clears it); never fails, since every error becomes a
 * problem document.
 */
void srv_handle(
    struct srv *s, const struct http_req *req, struct http_resp *resp);

/*
 * Periodic upkeep, called by a timer thread: expires stale orders and
 * authorizations and regenerates the CRL before its nextUpdate.
 */
void srv_maintain(struct srv *s, time_t now);

/*
 * Regenerates the CRL from the store now (after a revocation). One
 * regeneration runs at a time, from reading the revoked list to installing
 * the result, so an older list can never replace a newer one; a failure
 * leaves the CRL due, and srv_maintain tries again within a minute.
 */
enum kk_status srv_crl_refresh(struct srv *s, time_t now);

/* Appends an audit event; detail is a JSON object (borrowed) or NULL.
 * Failures are logged: the caller's transaction decides. */
enum kk_status srv_audit(struct srv *s, const char *actor, const char *action,
    const char *object, const cJSON *detail);

/* "<base_url><path>"; caller frees. NULL on allocation failure. */
char *srv_url(const struct srv *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs one line to stderr with a timestamp; never pass secrets. */
void srv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
