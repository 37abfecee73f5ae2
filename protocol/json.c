/*
 * json.c - bounded JSON parsing.
 *
 * cJSON recurses once per nesting level and allocates as it goes, so the
 * limits are enforced by a linear scan before it sees the text. Duplicate
 * member names are refused as well: two readers of the same object (a JWS
 * header checked here and used elsewhere) must never disagree on a value.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"

/*
 * The deepest nesting of arrays and objects in buf, counting brackets
 * outside strings only. Stops counting once past JSON_MAX_DEPTH.
 */
static int
max_depth(const char *buf, size_t len)
{
	int depth = 0, deepest = 0, in_string = 0, escaped = 0;
	size_t i;

	for (i = 0; i < len && deepest <= JSON_MAX_DEPTH; i++) {
		char c = buf[i];

		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (c == '\\')
				escaped = 1;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_string = 1;
			break;
		case '[':
		case '{':
			if (++depth > deepest)
				deepest = depth;
			break;
		case ']':
		case '}':
			/* Unbalanced text is cJSON's to refuse. */
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
	}
	return deepest;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* KK_EINVAL when some object in the tree under item repeats a name. */
static enum kk_status
check_duplicates(const cJSON *item)
{
	enum kk_status st;
	const cJSON *c;
	const char **names = NULL;
	size_t n = 0, i;

	for (c = item->child; c != NULL; c = c->next) {
		if ((st = check_duplicates(c)) != KK_OK)
			return st;
		n++;
	}
	if (!cJSON_IsObject(item) || n < 2)
		return KK_OK;

	/* Sorting keeps a 64 KiB object of tiny members from costing n^2. */
	if ((names = calloc(n, sizeof(*names))) == NULL)
		return KK_ENOMEM;
	for (i = 0, c = item->child; c != NULL; c = c->next)
		names[i++] = c->string;
	qsort(names, n, sizeof(*names), cmp_names);
	st = KK_OK;
	for (i = 1; i < n && st == KK_OK; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			st = KK_EINVAL;
	free(names);
	return st;
}

enum kk_status
json_parse(const char *buf, size_t len, cJSON **out)
{
	enum kk_status st = KK_EINVAL;
	const char *end = NULL;
	char *text = NULL;
	cJSON *root = NULL;

	*out = NULL;
	if (buf == NULL)
		goto out;
	if (len > JSON_MAX_LEN || max_depth(buf, len) > JSON_MAX_DEPTH) {
		st = KK_ETOOBIG;
		goto out;
	}
	/*
	 * A NUL would end cJSON's reading early and hide what follows it, so
	 * the text is refused rather than truncated.
	 */
	if (memchr(buf, '\0', len) != NULL)
		goto out;
	if ((text = malloc(len + 1)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	memcpy(text, buf, len);
	text[len] = '\0';

	/* require_null_terminated: trailing garbage makes the parse fail. */
	if ((root = cJSON_ParseWithOpts(text, &end, 1)) == NULL)
		goto out;
	if ((st = check_duplicates(root)) != KK_OK)
		goto out;
	*out = root;
	root = NULL;
	st = KK_OK;
out:
	cJSON_Delete(root);
	free(text);
	return st;
}

const char *
json_get_string(const cJSON *obj, const char *name)
{
	const cJSON *item;

	if (!cJSON_IsObject(obj) || name == NULL)
		return NULL;
	/* Case-sensitive: "ALG" is not "alg". */
	item = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(item) ? item->valuestring : NULL;
}
