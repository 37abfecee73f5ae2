/*
 * json.h - bounded JSON parsing and small cJSON helpers.
 *
 * Everything that parses JSON from the network goes through json_parse so
 * that hostile input cannot exhaust memory or the stack: the length and the
 * nesting depth are checked before cJSON allocates anything.
 */
#ifndef KK_JSON_H
#define KK_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "kk_status.h"

#define JSON_MAX_LEN (64 * 1024) /* the server's request body limit */
#define JSON_MAX_DEPTH 16        /* ACME objects nest 4 deep at most */

/*
 * Parses len bytes of buf (need not be NUL-terminated). KK_ETOOBIG when
 * len > JSON_MAX_LEN or nesting exceeds JSON_MAX_DEPTH, KK_EINVAL when it is
 * not exactly one JSON value. *out is owned by the caller (cJSON_Delete).
 */
enum kk_status json_parse(const char *buf, size_t len, cJSON **out);

/*
 * Returns the string member name of obj, or NULL if absent or not a string.
 * The pointer is borrowed from obj.
 */
const char *json_get_string(const cJSON *obj, const char *name);

#endif
