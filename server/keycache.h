/*
 * keycache.h - account public keys, built once from their stored JWK.
 *
 * Turning a stored JWK into an EVP_PKEY (a JSON parse, then
 * EVP_PKEY_fromdata, which builds the curve afresh each time) costs about
 * as much as verifying the signature it is needed for. The cache keeps,
 * per account, the JWK text it last built a key from and that key.
 *
 * A key is handed out only for the very text the caller read from the
 * store in the same request, compared byte for byte: a key change rewrites
 * the stored JWK, so the next request builds the new key at once, on this
 * server and on every replica sharing the store, with no invalidation to
 * forget. Deactivation needs none either: the caller checks the account's
 * status on the record it read. Bounded: a fixed number of slots, an
 * account hashing to a taken slot takes it over.
 *
 * Thread-safe: one mutex, held only to compare and to swap a slot.
 */
#ifndef KEYCACHE_H
#define KEYCACHE_H

#include <stddef.h>

#include <openssl/evp.h>

#include "kk_status.h"

/* Slots of the server's cache: about 2 KiB each when full. */
#define KEYCACHE_SLOTS 4096

struct keycache;

/* A cache of slots entries (at least 1); *out freed with keycache_free. */
enum kk_status keycache_new(size_t slots, struct keycache **out);
void keycache_free(struct keycache *kc);

/*
 * The public key of account_id whose stored JWK is jwk_text: the cached
 * one when this account's cached text is the same, else built from the
 * text (and cached). KK_EKEY when the text is not an accepted JWK. *out is
 * a new reference: the caller frees it with EVP_PKEY_free, and it stays
 * valid however the cache changes meanwhile.
 */
enum kk_status keycache_get(struct keycache *kc, const char *account_id,
    const char *jwk_text, EVP_PKEY **out);

/*
 * Caches key (borrowed; the cache takes its own reference) as the key of
 * account_id's stored JWK jwk_text, which the caller made from that very
 * key: a new account's key is then never built again from its text.
 */
void keycache_put(struct keycache *kc, const char *account_id,
    const char *jwk_text, EVP_PKEY *key);

#endif
