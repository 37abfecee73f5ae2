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

#define NONCE_WINDOW 65536
#define NONCE_LEN 32 /* base64url characters, without the NUL */

struct nonce_pool;

/* *out is released with nonce_pool_free(). */
enum kk_status nonce_pool_new(struct nonce_pool **out);
void nonce_pool_free(struct nonce_pool *np);

/* Writes a fresh nonce and its NUL into buf. Thread-safe. */
enum kk_status nonce_issue(struct nonce_pool *np, char buf[NONCE_LEN + 1]);

/*
 * Redeems a nonce: KK_OK the first time for a nonce this pool issued and
 * still remembers, KK_EINVAL otherwise. Thread-safe.
 */
enum kk_status nonce_redeem(struct nonce_pool *np, const char *nonce);

#endif
