/*
 * fuzz_json: json_parse against a reference built from cJSON itself. It
 * must accept exactly the texts that are one JSON value (no trailing
 * garbage, no NUL), at most JSON_MAX_LEN bytes, nested at most
 * JSON_MAX_DEPTH deep, without a repeated member name in any object; and
 * what it returns must print and parse back to the same text.
 */
#include "fuzz_common.h"

#include "json.h"

static int
depth(const cJSON *item)
{
	int d = 0, best = 0;

	if (!cJSON_IsArray(item) && !cJSON_IsObject(item))
		return 0;
	for (const cJSON *c = item->child; c != NULL; c = c->next)
		if ((d = depth(c)) > best)
			best = d;
	return best + 1;
}

static int
has_duplicates(const cJSON *item)
{
	for (const cJSON *c = item->child; c != NULL; c = c->next) {
		if (has_duplicates(c))
			return 1;
		if (!cJSON_IsObject(item))
			continue;
		for (const cJSON *d = c->next; d != NULL; d = d->next)
			if (strcmp(c->string, d->string) == 0)
				return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char *text, *printed = NULL, *printed2 = NULL;
	const char *end = NULL;
	cJSON *out = NULL, *ref = NULL, *again = NULL;
	enum kk_status st;
	int want_ok = 0;

	st = json_parse(buf, size, &out);
	if (size > JSON_MAX_LEN) {
		FUZZ_ASSERT(
		    st == KK_ETOOBIG, "%zu bytes gave %d", size, (int)st);
		return 0;
	}
	/* The reference: cJSON on a NUL-terminated copy, then our limits.
	 * The depth is only computed on what cJSON could parse; cJSON itself
	 * stops at 1000 levels. */
	text = fuzz_strndup(data, size);
	if (memchr(buf, '\0', size) == NULL &&
	    (ref = cJSON_ParseWithOpts(text, &end, 1)) != NULL)
		want_ok = depth(ref) <= JSON_MAX_DEPTH && !has_duplicates(ref);

	if (st == KK_OK) {
		FUZZ_ASSERT(want_ok,
		    "json_parse accepted what it must refuse "
		    "(depth %d)",
		    ref ? depth(ref) : -1);
		FUZZ_ASSERT(out != NULL, "KK_OK without a value");
		/* The same tree as cJSON's (compared as printed, since
		 * cJSON_Compare finds 1e999 unequal to itself); and printing
		 * is a fixed point after one round. */
		printed = cJSON_PrintUnformatted(out);
		printed2 = cJSON_PrintUnformatted(ref);
		FUZZ_ASSERT(
		    printed != NULL && printed2 != NULL, "cannot print");
		FUZZ_ASSERT(strcmp(printed, printed2) == 0,
		    "differs from cJSON: %s / %s", printed, printed2);
		cJSON_free(printed2);
		FUZZ_ASSERT(
		    json_parse(printed, strlen(printed), &again) == KK_OK,
		    "own output refused: %s", printed);
		printed2 = cJSON_PrintUnformatted(again);
		FUZZ_ASSERT(printed2 != NULL && strcmp(printed, printed2) == 0,
		    "print/parse/print differs");
		if (cJSON_IsObject(out) && out->child != NULL &&
		    cJSON_IsString(out->child))
			FUZZ_ASSERT(json_get_string(out, out->child->string) ==
			                out->child->valuestring,
			    "json_get_string missed a member");
	} else {
		FUZZ_ASSERT(out == NULL, "output on failure");
		FUZZ_ASSERT(
		    st == KK_EINVAL || st == KK_ETOOBIG || st == KK_ENOMEM,
		    "status %d", (int)st);
		FUZZ_ASSERT(!want_ok || st == KK_ENOMEM,
		    "json_parse refused a valid text (status %d)", (int)st);
		if (st == KK_ETOOBIG)
			FUZZ_ASSERT(ref == NULL || depth(ref) > JSON_MAX_DEPTH,
			    "ETOOBIG for depth %d", depth(ref));
	}
	cJSON_Delete(out);
	cJSON_Delete(ref);
	cJSON_Delete(again);
	cJSON_free(printed);
	cJSON_free(printed2);
	free(text);
	return 0;
}
