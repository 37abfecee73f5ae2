#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "json.h"

static enum kk_status
parse_str(const char *s, cJSON **out)
{
	return json_parse(s, strlen(s), out);
}

/* "[[[...1...]]]" nested depth deep, with optional text around it. */
static char *
nested(int depth, char open, char close)
{
	char *s = malloc((size_t)depth * 2 + 2);
	int i;

	cr_assert_not_null(s);
	for (i = 0; i < depth; i++)
		s[i] = open;
	s[depth] = '1';
	for (i = 0; i < depth; i++)
		s[depth + 1 + i] = close;
	s[depth * 2 + 1] = '\0';
	return s;
}

Test(json, parses_an_object)
{
	cJSON *o = NULL;

	cr_assert_eq(
	    parse_str(" {\"a\": \"b\", \"n\": [1, {\"c\": null}]} \n", &o),
	    KK_OK);
	cr_assert_str_eq(json_get_string(o, "a"), "b");
	cr_assert_null(json_get_string(o, "n"), "not a string");
	cr_assert_null(json_get_string(o, "missing"));
	cr_assert_null(json_get_string(o, "A"), "names are case-sensitive");
	cJSON_Delete(o);
}

Test(json, needs_no_nul_terminator)
{
	const char buf[] = {'{', '"', 'a', '"', ':', '1', '}', 'x'};
	cJSON *o = NULL;

	cr_assert_eq(json_parse(buf, 7, &o), KK_OK);
	cr_assert(cJSON_IsObject(o));
	cJSON_Delete(o);
}

Test(json, depth_at_limit_parses)
{
	char *s = nested(JSON_MAX_DEPTH, '[', ']');
	cJSON *o = NULL;

	cr_assert_eq(parse_str(s, &o), KK_OK);
	cJSON_Delete(o);
	free(s);
}

Test(json, too_deep_is_refused)
{
	char *s = nested(JSON_MAX_DEPTH + 1, '[', ']');
	cJSON *o = (cJSON *)1;

	cr_assert_eq(parse_str(s, &o), KK_ETOOBIG);
	cr_assert_null(o);
	free(s);

	/* Hostile depth, far beyond what cJSON itself would allow. */
	s = nested(100000, '[', ']');
	cr_assert_eq(parse_str(s, &o), KK_ETOOBIG);
	free(s);
}

Test(json, objects_count_toward_depth)
{
	const char *deep = "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	                   "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	                   "{\"a\":{\"a\":{\"a\":1}}}}}}}}}}}}}}}}}";
	cJSON *o = NULL;

	cr_assert_eq(parse_str(deep, &o), KK_ETOOBIG);
}

/* Brackets inside strings (escaped quotes included) are not nesting. */
Test(json, brackets_in_strings_do_not_count)
{
	char s[256];
	cJSON *o = NULL;

	snprintf(s, sizeof(s), "{\"k\": \"\\\"[[[[[[[[[[[[[[[[[[[[{{{{{{\"}");
	cr_assert_eq(parse_str(s, &o), KK_OK);
	cr_assert_str_eq(
	    json_get_string(o, "k"), "\"[[[[[[[[[[[[[[[[[[[[{{{{{{");
	cJSON_Delete(o);
}

/* An escaped backslash ends the escape: the next quote closes the string. */
Test(json, escaped_backslash_then_brackets_count)
{
	char s[256];
	char *deep = nested(JSON_MAX_DEPTH, '[', ']');
	cJSON *o = NULL;

	snprintf(s, sizeof(s), "{\"k\": \"\\\\\", \"d\": %s}", deep);
	cr_assert_eq(parse_str(s, &o), KK_ETOOBIG);
	free(deep);
}

Test(json, too_long_is_refused)
{
	size_t n = JSON_MAX_LEN + 1;
	char *s = malloc(n);
	cJSON *o = (cJSON *)1;

	cr_assert_not_null(s);
	/* A valid JSON string of n bytes. */
	memset(s, 'a', n);
	s[0] = '"';
	s[n - 1] = '"';
	cr_assert_eq(json_parse(s, n, &o), KK_ETOOBIG);
	cr_assert_null(o);
	/* One byte less is within the limit. */
	s[n - 2] = '"';
	cr_assert_eq(json_parse(s, n - 1, &o), KK_OK);
	cJSON_Delete(o);
	free(s);
}

Test(json, trailing_garbage_is_refused)
{
	cJSON *o = (cJSON *)1;

	cr_assert_eq(parse_str("{\"a\":1}x", &o), KK_EINVAL);
	cr_assert_null(o);
	cr_assert_eq(parse_str("{\"a\":1}{}", &o), KK_EINVAL);
	cr_assert_eq(parse_str("1 2", &o), KK_EINVAL);
	cr_assert_eq(parse_str("{\"a\":1}  \n", &o), KK_OK);
	cJSON_Delete(o);
}

Test(json, embedded_nul_is_refused)
{
	const char buf[] = "{\"a\":1}\0{\"b\":2}";
	cJSON *o = NULL;

	cr_assert_eq(json_parse(buf, sizeof(buf) - 1, &o), KK_EINVAL);
	cr_assert_null(o);
}

Test(json, malformed_is_refused)
{
	cJSON *o = NULL;

	cr_assert_eq(parse_str("", &o), KK_EINVAL);
	cr_assert_eq(parse_str("{", &o), KK_EINVAL);
	cr_assert_eq(parse_str("]]]", &o), KK_EINVAL);
	cr_assert_eq(parse_str("{'a':1}", &o), KK_EINVAL);
	cr_assert_eq(json_parse(NULL, 0, &o), KK_EINVAL);
}

/* Two readers must never see two different values for one name. */
Test(json, duplicate_names_are_refused)
{
	cJSON *o = NULL;

	cr_assert_eq(
	    parse_str("{\"alg\":\"ES256\",\"alg\":\"none\"}", &o), KK_EINVAL);
	cr_assert_eq(
	    parse_str("{\"x\":{\"b\":1,\"a\":2,\"b\":3}}", &o), KK_EINVAL);
	cr_assert_eq(parse_str("[{\"a\":1},{\"a\":1}]", &o), KK_OK,
	    "the same name in two objects is fine");
	cJSON_Delete(o);
}
