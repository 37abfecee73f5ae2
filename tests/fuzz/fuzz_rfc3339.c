/*
 * fuzz_rfc3339: what rfc3339_parse accepts formats and parses back to the
 * same instant, and a text already in the canonical form
 * "YYYY-MM-DDTHH:MM:SSZ" formats back to itself: an impossible date such
 * as February 30 must be refused, not normalized. (A leap second, :60,
 * is accepted and read as the next second.)
 */
#include <ctype.h>
#include <strings.h>

#include "fuzz_common.h"

#include "rfc3339.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size), buf[RFC3339_LEN];
	time_t t = 0, t2 = 0;
	enum kk_status st;

	st = rfc3339_parse(s, &t);
	if (st == KK_OK) {
		rfc3339_format(t, buf);
		FUZZ_ASSERT(
		    strlen(buf) == RFC3339_LEN - 1, "format gave %s", buf);
		FUZZ_ASSERT(rfc3339_parse(buf, &t2) == KK_OK && t2 == t,
		    "\"%s\" -> %lld -> \"%s\" -> %lld", s, (long long)t, buf,
		    (long long)t2);
		FUZZ_ASSERT(isdigit((unsigned char)s[0]) && strlen(s) >= 20,
		    "accepted \"%s\"", s);
		if (strlen(s) == 20 && toupper((unsigned char)s[19]) == 'Z' &&
		    strncmp(s + 17, "60", 2) != 0)
			FUZZ_ASSERT(strcasecmp(s, buf) == 0,
			    "\"%s\" read as \"%s\"", s, buf);
	} else {
		FUZZ_ASSERT(st == KK_EINVAL, "status %d", (int)st);
	}
	free(s);
	return 0;
}
