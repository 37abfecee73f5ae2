/*
 * failure.h - what a host remembers and tells about failed renewals.
 *
 * certs/NAME/failure.json keeps the last failure of a certificate's
 * renewal (when, exit code, the server's problem) and the moment before
 * which renew makes no new attempt: after each consecutive failure the
 * wait doubles from FAILURE_BACKOFF_MIN up to FAILURE_BACKOFF_MAX, less a
 * random tenth so that hosts broken by the same outage do not come back
 * in step. A broken host thus asks the CA a handful of times a day, not
 * on every cron run. Waiting for an operator (exit 75) is no failure: it
 * keeps the count and only honours a Retry-After longer than
 * FAILURE_RETRY_AFTER_MIN. A success removes the file.
 *
 * The failure hook (renew --failure-hook CMD) is told of each failure
 * through its environment, never through a command line built from the
 * server's text.
 */
#ifndef KC_FAILURE_H
#define KC_FAILURE_H

#include <stddef.h>
#include <time.h>

#include "err.h"
#include "state.h"

#define FAILURE_FILE "failure.json"
#define FAILURE_BACKOFF_MIN 300L   /* seconds after the first failure */
#define FAILURE_BACKOFF_MAX 86400L /* the longest wait */
/* A shorter Retry-After is a polling hint, slept through within a run
 * (ACME_WAIT_MAX): it does not hold back the next run. */
#define FAILURE_RETRY_AFTER_MIN 60L

struct failure {
	int count;     /* consecutive failed attempts; 0 none recorded */
	time_t last;   /* when the last one failed; 0 never */
	time_t next;   /* no new attempt before; 0 any time */
	int exit_code; /* what that run exited with */
	char *type;    /* the server's problem type, or NULL */
	char *detail;  /* the server's problem detail, or NULL */
	char *message; /* kakuin's own line about it, or NULL */
};

/*
 * The wait after the count-th consecutive failure (count >= 1): doubling
 * from FAILURE_BACKOFF_MIN, at most FAILURE_BACKOFF_MAX, less rnd modulo
 * a tenth of it. A pure function, for the tests.
 */
long failure_delay(int count, unsigned int rnd);

/*
 * Reads certs/NAME/failure.json into *f (cleared first; release with
 * failure_clear). KK_ENOTFOUND (err untouched) when there is none; a
 * corrupted file is EX_CONFIG naming it.
 */
enum kk_status failure_load(const struct state *s, const char *name,
    struct failure *f, struct kc_err *err);

/*
 * Records that an attempt for name ended with e at now, and writes the
 * file atomically; *f (may be NULL) receives what was written. An
 * EX_TEMPFAIL e only moves the next attempt to the server's Retry-After
 * (nothing is written without one over FAILURE_RETRY_AFTER_MIN).
 */
enum kk_status failure_record(const struct state *s, const char *name,
    const struct kc_err *e, time_t now, struct failure *f, struct kc_err *err);

/* A success: removes the file (a missing one is fine). */
enum kk_status failure_reset(
    const struct state *s, const char *name, struct kc_err *err);

void failure_clear(struct failure *f);

/*
 * Runs cmd as the deploy hook runs (hook.h: /bin/sh -c, stdin /dev/null,
 * secrets removed, killed after timeout seconds), nothing appended to
 * it but "$1" the certificate's name and "$2" the exit code for it to
 * use, and in its environment
 * KAKUIN_NAME, KAKUIN_EXIT, KAKUIN_PROBLEM_TYPE, KAKUIN_PROBLEM_DETAIL
 * (empty without a server problem), KAKUIN_MESSAGE (kakuin's line),
 * KAKUIN_FAILURES (the count) and KAKUIN_NEXT_ATTEMPT (UTC, or empty).
 * KK_EIO with why saying what went wrong when the hook failed.
 */
enum kk_status failure_hook(const char *cmd, const char *name,
    const struct kc_err *e, const struct failure *f, long timeout, char *why,
    size_t len);

#endif
