/*
 * srv.h - the server context: everything a request handler may use, built
 * once at start and shared read-only by all worker threads (the store, the
 * nonce pool and the CRL cache do their own locking), and the one entry
 * point of request handling.
 */
#ifndef SRV_H
#define SRV_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "ca.h"
#include "crl.h"
#include "http_msg.h"
#include "keycache.h"
#include "kk_status.h"
#include "nonce.h"
#include "policy.h"
#include "ra.h"
#include "store.h"
#include "va.h"
#include "valimit.h"

struct srv {
	char *base_url; /* "https://127.0.0.1:8443", no trailing / */
	struct store *store;
	struct ca *ca;
	struct policy *policy;
	struct nonce_pool *nonces;
	struct crl *crl;
	struct keycache *keys; /* account keys by their stored JWK */
	struct ra ra;          /* every state change goes through it */
	struct va_config va;   /* how challenges are validated: defaults
	                          from srv_new; the caller may change them
	                          before serving (va_config_clear in srv_free) */
	/* Validations running, per account and in all: the valimit.h
	 * defaults until srv_va_limits. */
	struct valimit *valimit;
	/* Requests at work at once (gate.h): no limit until srv_active. */
	struct gate *gate;
};

/* One request as the routing table hands it to a handler. */
struct srv_call {
	const struct http_req *req;
	const char *id;             /* the path's {id} segment, or NULL */
	const char *sub;            /* a second segment after the suffix */
	const struct op_token *tok; /* the operator, on /operator/v1/ */
	int gated;                  /* holds a place in s->gate */
};

/* A resource handler: fills resp, never fails otherwise. */
typedef void srv_handler(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

/*
 * Builds the context from an open store, a loaded CA and policy, all of
 * which it takes over (srv_free releases them). *out owned by the caller.
 */
enum kk_status srv_new(const char *base_url, struct store *st, struct ca *ca,
    struct policy *pol, struct srv **out);
void srv_free(struct srv *s);

/*
 * Sets how many validations may run at a time in this process (max >= 1)
 * and per account (0: no limit). Before serving only: it replaces the
 * table, which must not have a validation running.
 */
enum kk_status srv_va_limits(struct srv *s, int max, int per_account);

/*
 * Lets at most n requests be worked on at a time (0: no limit), the others
 * waiting in the order they came (gate.h). A request holds its place from
 * routing until its answer is ready, not while settle() waits for a store
 * that defers durability (SQLite's group commit) nor while a validation
 * waits on the network (srv_gate_pause). Before serving only.
 */
enum kk_status srv_active(struct srv *s, int n);

/*
 * For a handler about to wait on the network: gives up c's place for the
 * wait (pause) and waits for one again after it (resume). Nothing when c
 * holds no place.
 */
void srv_gate_pause(struct srv *s, const struct srv_call *c);
void srv_gate_resume(struct srv *s, const struct srv_call *c);

/*
 * Answers one request: the single entry point the HTTP layer (and the
 * fuzzer) calls. One routing table maps method and path to the ACME,
 * operator and CRL handlers; operator paths are authenticated first.
 * Fills resp (caller clears it); never fails, since every error becomes a
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
 * The most bytes the body of req (headers only, no body yet) may have:
 * HTTP_MAX_BODY, but RA_ATTACH_MAX where an operator uploads a document,
 * once its token is known to be an operator's (so that nobody else can
 * make a worker hold megabytes).
 */
size_t srv_body_limit(struct srv *s, const struct http_req *req);

/* "<base_url><path>"; caller frees. NULL on allocation failure. */
char *srv_url(const struct srv *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
