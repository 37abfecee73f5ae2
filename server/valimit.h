/*
 * valimit.h - admission control for validations: how many run now in this
 * process, in all and per account, so that one account cannot hold every
 * worker thread with validations against slow targets (a validation runs
 * in the worker that serves the challenge POST, for up to --va-timeout).
 * It decides nothing about state: a refused validation is simply not
 * started, and the registration authority never hears of it.
 */
#ifndef VALIMIT_H
#define VALIMIT_H

#include "kk_status.h"

struct valimit;

/*
 * The defaults: half of the default 128 worker threads may validate at a
 * time, so that the other half keeps answering everything else while
 * validations wait on slow targets; and one account may run a few at a
 * time (an order for several names), not many.
 */
#define VALIMIT_MAX 64
#define VALIMIT_PER_ACCOUNT 4

/* What valimit_enter decided. */
enum valimit_verdict {
	VALIMIT_ADMITTED, /* counted: call valimit_leave once when done */
	VALIMIT_ACCOUNT,  /* the account has per_account running already */
	VALIMIT_FULL,     /* max validations run already in this process */
};

/*
 * A table for at most max validations at a time (max >= 1), of which one
 * account may run per_account (0: no per-account limit). max bounds the
 * memory too: an account is in the table only while it has a validation
 * running, so there are never more entries than max. *out owned by the
 * caller, released with valimit_free.
 */
enum kk_status valimit_new(int max, int per_account, struct valimit **out);
void valimit_free(struct valimit *vl);

/*
 * Counts one validation for account (a resource id; copied) if both
 * limits allow it. Safe from any thread. KK_ENOMEM is reported as
 * VALIMIT_FULL: nothing was counted either way.
 */
enum valimit_verdict valimit_enter(struct valimit *vl, const char *account);
/* Ends one validation valimit_enter admitted for account. */
void valimit_leave(struct valimit *vl, const char *account);

/* Validations running now: account's, or all of them with NULL. */
int valimit_count(struct valimit *vl, const char *account);

#endif
