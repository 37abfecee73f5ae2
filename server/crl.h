/*
 * crl.h - the CRL cache: the current DER CRL of the issuing CA, rebuilt
 * from the store's revoked certificates after each revocation and before
 * it expires. Shared by all threads; it does its own locking.
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

/* An empty cache over st and ca (both borrowed, and must outlive it);
 * *out is released with crl_free. */
enum kk_status crl_new(struct store *st, struct ca *ca, struct crl **out);
void crl_free(struct crl *c);

/*
 * Regenerates the CRL from the store now. One regeneration runs at a
 * time, from reading the revoked list to installing the result, so an
 * older list can never replace a newer one; a failure is logged and
 * leaves the CRL due, so that crl_maintain tries again.
 */
enum kk_status crl_refresh(struct crl *c, time_t now);

/* Regenerates the CRL if it is missing or within CRL_REFRESH of expiry. */
void crl_maintain(struct crl *c, time_t now);

/*
 * A copy of the current CRL in *der (caller frees with free()) and *len,
 * regenerated first if there is none yet.
 */
enum kk_status crl_get(struct crl *c, unsigned char **der, size_t *len);

#endif
