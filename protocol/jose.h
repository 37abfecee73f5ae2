/*
 * jose.h - internal to the protocol library: the flattened-JWS plumbing
 * that jws.c and eab.c share. Not for use outside protocol/.
 */
#ifndef JOSE_H
#define JOSE_H

#include <cjson/cJSON.h>

#include "kk_status.h"

/* The three members of a flattened JWS, borrowed from the object. */
struct jose_parts {
	const char *protected_b64;
	const char *payload_b64;
	const char *signature_b64;
};

/*
 * Checks that obj is an object holding exactly "protected", "payload" and
 * "signature", all strings (no unprotected "header", nothing else), and
 * points parts into it. KK_EINVAL otherwise.
 */
enum kk_status jose_split(const cJSON *obj, struct jose_parts *parts);

/*
 * Decodes and parses a protected header, which must be a JSON object
 * (KK_EINVAL otherwise). *hdr is owned by the caller (cJSON_Delete).
 */
enum kk_status jose_header(const char *protected_b64, cJSON **hdr);

/* *out (caller frees with free()) is "a.b". */
enum kk_status jose_join(const char *a, const char *b, char **out);

#endif
