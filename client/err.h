/*
 * err.h - what went wrong, for a person, and which exit code it earns.
 *
 * Functions return enum kk_status; when they fail they also fill a
 * struct kc_err the caller passed, so that the command at the top can print
 * one clear line and exit with the sysexits(3) code the failure maps to
 * (see the exit-code table in main.c's help).
 */
#ifndef KC_ERR_H
#define KC_ERR_H

#include <sysexits.h>

#include "kk_status.h"

#define KC_ERR_MAX 1024

struct kc_err {
	int code;    /* EX_* or 1; 0 while nothing failed */
	long status; /* HTTP status of a server problem, else 0 */
	char msg[KC_ERR_MAX];
	/* The server's RFC 7807 problem behind the failure, "" when none:
	 * its type and detail (server text, hostile: never for a shell). */
	char type[128];
	char detail[512];
	long retry_after; /* seconds the server asked to wait, 0 unknown */
};

/*
 * Records a failure: the first failure wins, so that the root cause is
 * what gets printed. Returns st so that callers can write
 * "return err_set(e, st, EX_CONFIG, ...)". e may be NULL.
 */
enum kk_status err_set(struct kc_err *e, enum kk_status st, int code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Notes the server's problem (type, detail; either may be NULL) and the
 * Retry-After (seconds, > 0) behind the failure just recorded in e, when
 * none is noted yet. e may be NULL.
 */
void err_problem(struct kc_err *e, const char *type, const char *detail);
void err_retry_after(struct kc_err *e, long seconds);

/* Clears e for reuse. */
void err_clear(struct kc_err *e);

/*
 * Replaces the exit code of a failure already recorded (e.g. a write error
 * that, for the caller, means "--out is unwritable"). e may be NULL.
 */
void err_recode(struct kc_err *e, int code);

/*
 * 1 when e is the server's definitive refusal: a 4xx problem that is not
 * rateLimited. Such an answer will not change by retrying, unlike a
 * timeout or a lost response, whose outcome is unknown.
 */
int err_definitive(const struct kc_err *e);

/*
 * The process exit status for e, restricted to the documented table:
 * 0, 1, 64, 69, 73 (--out only), 75, 78. Any other code becomes 1.
 */
int err_exit_code(const struct kc_err *e);

#endif
