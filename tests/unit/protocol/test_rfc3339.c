#include <string.h>

#include <criterion/criterion.h>

#include "rfc3339.h"

static void
roundtrip(const char *in, const char *want)
{
	char buf[RFC3339_LEN];
	time_t t;

	cr_assert_eq(rfc3339_parse(in, &t), KK_OK, "%s refused", in);
	rfc3339_format(t, buf);
	cr_assert_str_eq(buf, want, "%s", in);
}

Test(rfc3339, canonical_forms_round_trip)
{
	roundtrip("2026-11-24T20:30:00Z", "2026-11-24T20:30:00Z");
	roundtrip("2026-11-24t20:30:00.123z", "2026-11-24T20:30:00Z");
	roundtrip("2026-11-25T05:30:00+09:00", "2026-11-24T20:30:00Z");
	roundtrip("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z");
	roundtrip("2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z");
	roundtrip("2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z");
}

/* Found by tests/fuzz/fuzz_rfc3339: years before 1000 were written with
 * fewer than four digits, which nothing parses back. */
Test(rfc3339, years_keep_four_digits)
{
	roundtrip("0026-11-24T20:30:00Z", "0026-11-24T20:30:00Z");
	roundtrip("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z");
	roundtrip("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z");
}

/* Found by tests/fuzz/fuzz_rfc3339: timegm carried impossible days into
 * the next month, and offsets carried instants out of four-digit years,
 * which rfc3339_format then wrote as the epoch. */
Test(rfc3339, impossible_instants_are_refused)
{
	static const char *const bad[] = {"2026-02-30T00:00:00Z",
	    "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
	    "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
	    "2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z",
	    "9999-12-31T23:30:00-01:00", "0000-01-01T00:30:00+01:00",
	    "2026-11-24T20:30:00", "2026-11-24 20:30:00Z",
	    "2026-11-24T20:30:00Zx", "2026-11-24T24:00:00Z", ""};
	time_t t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(rfc3339_parse(bad[i], &t), KK_EINVAL,
		    "%s accepted", bad[i]);
}
