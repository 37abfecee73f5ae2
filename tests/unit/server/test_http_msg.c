/* Query parameters and responses as the handlers build them. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "http_msg.h"
#include "rfc3339.h"

Test(query, finds_and_decodes)
{
	char *v;

	v = http_query_param("status=processing&org=NTRJP-1", "org");
	cr_assert_str_eq(v, "NTRJP-1");
	free(v);
	v = http_query_param("since=2026-11-24T00%3A00%3A00Z", "since");
	cr_assert_str_eq(v, "2026-11-24T00:00:00Z");
	free(v);
	v = http_query_param("a=x+y", "a");
	cr_assert_str_eq(v, "x y");
	free(v);
	/* A name that is only a prefix of another does not match. */
	cr_assert_null(http_query_param("orgs=1", "org"));
	cr_assert_null(http_query_param(NULL, "org"));
	cr_assert_null(http_query_param("", "org"));
	v = http_query_param("org=", "org");
	cr_assert_null(v, "an empty value is absent");
}

Test(resp, problem_replaces_success)
{
	struct http_resp r;

	memset(&r, 0, sizeof(r));
	cr_assert_eq(http_resp_location(&r, "https://x/acme/order/1"), KK_OK);
	r.retry_after = 30;
	http_resp_error(&r, ACME_ORDER_NOT_READY, 0, "order %s", "pending");
	cr_assert_eq(r.status, 403);
	cr_assert_null(r.location);
	cr_assert_eq(r.retry_after, 0);
	cr_assert_str_eq(r.content_type, PROBLEM_CONTENT_TYPE);
	cr_assert_not_null(strstr(r.body, "orderNotReady"));
	cr_assert_not_null(strstr(r.body, "order pending"));
	http_resp_clear(&r);
}

Test(resp, links_are_bounded)
{
	struct http_resp r;

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < HTTP_MAX_LINKS; i++)
		cr_assert_eq(http_resp_link(&r, "https://x/", "up"), KK_OK);
	cr_assert_eq(http_resp_link(&r, "https://x/", "up"), KK_ETOOBIG);
	cr_assert_str_eq(r.links[0], "<https://x/>;rel=\"up\"");
	http_resp_clear(&r);
}

Test(rfc3339, round_trip_and_offsets)
{
	char buf[RFC3339_LEN];
	time_t t;

	rfc3339_format(1795553332, buf);
	cr_assert_eq(rfc3339_parse(buf, &t), KK_OK);
	cr_assert_eq(t, 1795553332);
	/* 09:00 in Japan is midnight UTC; fractions are dropped. */
	cr_assert_eq(rfc3339_parse("2026-11-24T09:00:00+09:00", &t), KK_OK);
	rfc3339_format(t, buf);
	cr_assert_str_eq(buf, "2026-11-24T00:00:00Z");
	cr_assert_eq(rfc3339_parse("2026-11-24T00:00:00.123Z", &t), KK_OK);
	rfc3339_format(t, buf);
	cr_assert_str_eq(buf, "2026-11-24T00:00:00Z");
	cr_assert_eq(rfc3339_parse("2026-11-24 00:00:00Z", &t), KK_EINVAL);
	cr_assert_eq(rfc3339_parse("2026-13-01T00:00:00Z", &t), KK_EINVAL);
	cr_assert_eq(rfc3339_parse("2026-11-24T00:00:00", &t), KK_EINVAL);
	cr_assert_eq(rfc3339_parse("2026-11-24T00:00:00Zjunk", &t), KK_EINVAL);
	cr_assert_eq(rfc3339_parse(NULL, &t), KK_EINVAL);
}
