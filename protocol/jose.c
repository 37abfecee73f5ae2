/*
 * jose.c - flattened-JWS plumbing shared by jws.c and eab.c.
 */
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "jose.h"
#include "json.h"

enum kk_status
jose_split(const cJSON *obj, struct jose_parts *parts)
{
	const cJSON *c;
	const char **slot;

	memset(parts, 0, sizeof(*parts));
	if (!cJSON_IsObject(obj))
		return KK_EINVAL;
	/* json_parse refused duplicate names, so each slot fills once. */
	for (c = obj->child; c != NULL; c = c->next) {
		if (strcmp(c->string, "protected") == 0)
			slot = &parts->protected_b64;
		else if (strcmp(c->string, "payload") == 0)
			slot = &parts->payload_b64;
		else if (strcmp(c->string, "signature") == 0)
			slot = &parts->signature_b64;
		else
			goto fail; /* "header", "signatures", anything else */
		if (!cJSON_IsString(c) || *slot != NULL)
			goto fail;
		*slot = c->valuestring;
	}
	if (parts->protected_b64 == NULL || parts->payload_b64 == NULL ||
	    parts->signature_b64 == NULL)
		goto fail;
	return KK_OK;
fail:
	memset(parts, 0, sizeof(*parts));
	return KK_EINVAL;
}

enum kk_status
jose_header(const char *protected_b64, cJSON **hdr)
{
	unsigned char *text = NULL;
	size_t len;
	cJSON *obj = NULL;
	enum kk_status st;

	*hdr = NULL;
	if ((st = b64url_decode(
	         protected_b64, strlen(protected_b64), &text, &len)) != KK_OK)
		goto out;
	if ((st = json_parse((const char *)text, len, &obj)) != KK_OK)
		goto out;
	if (!cJSON_IsObject(obj)) {
		st = KK_EINVAL;
		goto out;
	}
	*hdr = obj;
	obj = NULL;
out:
	cJSON_Delete(obj);
	free(text);
	return st;
}

enum kk_status
jose_join(const char *a, const char *b, char **out)
{
	size_t alen = strlen(a), blen = strlen(b);
	char *s;

	*out = NULL;
	if ((s = malloc(alen + blen + 2)) == NULL)
		return KK_ENOMEM;
	memcpy(s, a, alen);
	s[alen] = '.';
	memcpy(s + alen + 1, b, blen + 1);
	*out = s;
	return KK_OK;
}
