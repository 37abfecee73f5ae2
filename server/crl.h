/*
 * crl.h - the CRL of the issuing CA, kept in the store so that every
 * replica sharing it serves the same one.
 *
 * The store holds the current CRL (DER, number, update times and how many
 * revoked certificates it lists). A replica regenerates it after each
 * revocation it makes and whenever the stored one is stale: it lists fewer
 * certificates than the store has revoked (its maker failed or died before
 * regenerating), or it is within CRL_REFRESH of its nextUpdate. One
 * replica regenerates at a time, holding the stored CRL's row lock from
 * reading the revoked list to storing the result, and the number comes
 * from the store's counter, so numbers only grow, across replicas too.
 *
 * Every replica answers a CRL request with the stored CRL, read at the
 * time of the request: a revocation is in the CRL that every replica
 * serves once the revoking request has been answered. If that replica
 * could not regenerate, the first maintenance pass of any replica does it
 * (crl_maintain, every MAINTAIN_EVERY seconds in main.c). While the store
 * is out of reach a replica serves the last CRL it read.
 *
 * Shared by all threads; it does its own locking.
 */
#ifndef CRL_H
#define CRL_H

#include <stddef.h>
#include <time.h>

#include "ca.h"
#include "kk_status.h"
#include "store.h"

#define CRL_VALIDITY (7 * 24 * 3600)
#define CRL_REFRESH (24 * 3600) /* regenerate this long before expiry */

struct crl;

/* A cache over st and ca (both borrowed, and must outlive it); *out is
 * released with crl_free. */
enum kk_status crl_new(struct store *st, struct ca *ca, struct crl **out);
void crl_free(struct crl *c);

/*
 * Brings the stored CRL up to date, regenerating it if it is stale (see
 * above) or missing, and installs it here. One regeneration runs at a time
 * in this process and, through the store's lock, across replicas; a
 * failure is logged and leaves the CRL due, so that crl_maintain tries
 * again.
 */
enum kk_status crl_refresh(struct crl *c, time_t now);

/* Checks the stored CRL (two cheap reads) and refreshes it if it is
 * stale, missing or failed to regenerate here last time. */
void crl_maintain(struct crl *c, time_t now);

/*
 * A copy of the current CRL in *der (caller frees with free()) and *len:
 * the stored one, regenerated first if there is none yet, or the last
 * one read if the store is out of reach.
 */
enum kk_status crl_get(struct crl *c, unsigned char **der, size_t *len);

#endif
