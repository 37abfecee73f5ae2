/*
 * audit.h - the audit log's writer. Every state change is recorded by the
 * code that makes it (ra.c), inside the same store transaction, so that a
 * change and its record commit or vanish together.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <time.h>

#include <cjson/cJSON.h>

#include "kk_status.h"
#include "store.h"

/*
 * Appends one event at time at: actor is an operator name, "acme:<account
 * id>" or "system"; detail is a JSON object or NULL. All inputs are
 * borrowed. A failure is logged (without the detail, which may name
 * people; a lost race, KK_ERACE, is not) and returned, so that the caller
 * rolls its transaction back.
 */
enum kk_status audit_record(struct store *st, time_t at, const char *actor,
    const char *action, const char *object, const cJSON *detail);

#endif
