/*
 * ra_internal.h - what the registration authority's files (ra.c,
 * ra_order.c, ra_account.c) share and nobody else uses.
 */
#ifndef RA_INTERNAL_H
#define RA_INTERNAL_H

#include "acme_status.h"
#include "problem.h"
#include "ra.h"

/* Sets *why (why may be NULL) and returns KK_ECONFLICT: a rule refused. */
enum kk_status ra_refuse(const char **why, const char *sentence);

/* Ends the transaction: commits on KK_OK, else rolls back; returns the
 * outcome. */
enum kk_status ra_finish(struct ra *ra, enum kk_status st);

/*
 * The retry of a transaction that lost a race with another replica's.
 * Every entry point that changes state runs its whole transaction (from
 * store_begin, reading everything anew) as
 *
 *	int tries = 0;
 *	do
 *		st = one_attempt(...);
 *	while (ra_again(&st, &tries));
 *
 * ra_again returns 1, after a short random pause, while *st is KK_ERACE
 * and attempts are left; else 0, with a KK_ERACE left turned into
 * KK_EAGAIN (the client is told to come back later). An attempt must have
 * no effect outside its transaction before it commits.
 */
int ra_again(enum kk_status *st, int *tries);

/*
 * Inside the caller's transaction: challenge id and its authorization
 * (*c and *a, caller frees both with challenge_free and authz_free, also
 * when this fails), KK_ENOTFOUND unless the authorization is account_id's
 * (another account's challenge looks like none).
 */
enum kk_status ra_owned_challenge(struct ra *ra, const char *account_id,
    const char *id, struct challenge **c, struct authz **a);

/* A problem document's JSON text (*out, caller frees) for a record's
 * error member. */
enum kk_status ra_problem_text(
    enum acme_problem type, const char *detail, char **out);

/* Rate limit of newOrder: KK_ELIMIT when the account is at the limit. */
enum kk_status ra_order_rate(struct ra *ra, const char *account_id, time_t now);

/* *ok is 1 when every authorization made for the order is valid and
 * unexpired (vacuously for an order made before authzs named orders). */
enum kk_status ra_order_authzs_valid(
    struct ra *ra, const char *order_id, time_t now, int *ok);

/*
 * The order's dns names in identifier order (*names, caller frees with
 * ra_names_free; none for an org-only order), when every authorization of
 * the order is valid; KK_ECONFLICT and *why otherwise.
 */
enum kk_status ra_order_dns_names(struct ra *ra, const char *order_id,
    time_t now, char ***names, size_t *n, const char **why);
void ra_names_free(char **names, size_t n);
/*
 * Inserts dns authorization az, pending, with its http-01, dns-01 and
 * tls-alpn-01 challenges (fresh ids and tokens, the caller's az->id),
 * inside the caller's transaction; az->order_id may be NULL (newAuthz).
 */
enum kk_status ra_dns_authz_insert(struct ra *ra, struct authz *az);

/*
 * RFC 9773 replacement, inside the caller's newOrder transaction: checks
 * that certificate serial may be replaced by order o of acct and records
 * it. Statuses as ra_order_new documents for replaces.
 */
enum kk_status ra_renewal_replace(struct ra *ra, const struct account *acct,
    const char *serial, const struct order *o, const char **why);

#endif
