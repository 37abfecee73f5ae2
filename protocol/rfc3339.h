/*
 * rfc3339.h - RFC 3339 timestamps in UTC ("2026-11-24T20:30:00Z"), the
 * form ACME and the operator API use for every time.
 */
#ifndef RFC3339_H
#define RFC3339_H

#include <time.h>

#include "kk_status.h"

#define RFC3339_LEN 21 /* "YYYY-MM-DDTHH:MM:SSZ" and its NUL */

/* Formats t into buf (at least RFC3339_LEN bytes). */
void rfc3339_format(time_t t, char buf[RFC3339_LEN]);

/*
 * Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"; fractions are
 * dropped. KK_EINVAL for anything else.
 */
enum kk_status rfc3339_parse(const char *s, time_t *out);

#endif
