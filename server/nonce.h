/*
 * nonce.h - ACME anti-replay nonces (RFC 8555 section 6.5): single use,
 * in bounded memory.
 *
 * A nonce is a 64-bit sequence number and a MAC over it under a key drawn
 * at start. Only the last NONCE_WINDOW sequence numbers are redeemable, and
 * a bitmap over that window remembers which are still unused, so memory is
 * fixed whatever the load; older nonces, forged ones and all nonces of a
 * previous run are refused (the client retries with the fresh nonce that
 * comes with badNonce).
 */
#ifndef NONCE_H
#define NONCE_H

#include "kk_status.h"
#include "store.h"

#define NONCE_WINDOW 65536
#define NONCE_LEN 32 /* base64url characters, without the NUL */

struct nonce_pool;

/* *out is released with nonce_pool_free(). */
enum kk_status nonce_pool_new(struct nonce_pool **out);
void nonce_pool_free(struct nonce_pool *np);

/*
 * From now on, keeps the pool's nonces in st (store_shares_nonces() true),
 * which replicas of the server share: a nonce is then a random value
 * recorded there until NONCE_TTL seconds from its issue, and redeeming it
 * deletes it there, so that any replica redeems it and only once. st is
 * borrowed and must outlive the pool.
 */
#define NONCE_TTL 3600
void nonce_pool_share(struct nonce_pool *np, struct store *st);

/* Writes a fresh nonce and its NUL into buf. Thread-safe. */
enum kk_status nonce_issue(struct nonce_pool *np, char buf[NONCE_LEN + 1]);

/*
 * Redeems a nonce: KK_OK the first time for a nonce this pool (or, shared,
 * any replica) issued and still remembers, KK_EINVAL otherwise; KK_EAGAIN
 * when the shared store cannot answer now. Thread-safe.
 */
enum kk_status nonce_redeem(struct nonce_pool *np, const char *nonce);

#endif
