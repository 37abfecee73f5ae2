/*
 * rfc3339.h - RFC 3339 timestamps in UTC ("2026-11-24T20:30:00Z"), the
 * form ACME and the operator API use for every time.
 */
#ifndef RFC3339_H
#define RFC3339_H

#include <time.h>

#include "kk_status.h"

#define RFC3339_LEN 21 /* "YYYY-MM-DDTHH:MM:SSZ" and its NUL */

/* Formats t into buf (at least RFC3339_LEN bytes); a t whose year is not
 * 0000-9999 gives the epoch, as rfc3339_parse never returns one. */
void rfc3339_format(time_t t, char buf[RFC3339_LEN]);

/*
 * Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"; fractions are
 * dropped, a leap second (:60) reads as the next second. KK_EINVAL for
 * anything else, including days a month does not have (February 30) and
 * instants whose UTC year is not 0000-9999, which rfc3339_format could not
 * write back.
 */
enum kk_status rfc3339_parse(const char *s, time_t *out);

#endif
