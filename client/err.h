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
	int code; /* EX_* or 1; 0 while nothing failed */
	char msg[KC_ERR_MAX];
};

/*
 * Records a failure: the first failure wins, so that the root cause is
 * what gets printed. Returns st so that callers can write
 * "return err_set(e, st, EX_CONFIG, ...)". e may be NULL.
 */
enum kk_status err_set(struct kc_err *e, enum kk_status st, int code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Clears e for reuse. */
void err_clear(struct kc_err *e);

#endif
