#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "rfc3339.h"

/* The four-digit years RFC 3339 can write. */
#define YEAR_MIN 0
#define YEAR_MAX 9999

void
rfc3339_format(time_t t, char buf[RFC3339_LEN])
{
	struct tm tm;
	long year;

	/* %Y would write 26 for the year 0026, not the four digits RFC 3339
	 * requires; years beyond four digits cannot be written at all. */
	if (gmtime_r(&t, &tm) == NULL ||
	    (year = (long)tm.tm_year + 1900) < YEAR_MIN || year > YEAR_MAX ||
	    snprintf(buf, RFC3339_LEN, "%04ld-%02d-%02dT%02d:%02d:%02dZ", year,
	        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	        tm.tm_sec) != RFC3339_LEN - 1)
		strcpy(buf, "1970-01-01T00:00:00Z");
}

static int
days_in_month(int y, int mo)
{
	static const int days[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mo == 2 && leap ? 29 : days[mo - 1];
}

/* Reads exactly n digits. */
static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

static int
expect(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

enum kk_status
rfc3339_parse(const char *s, time_t *out)
{
	struct tm tm;
	const char *p = s;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	time_t t;

	*out = 0;
	if (s == NULL)
		return KK_EINVAL;
	if (digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) ||
	    expect(&p, '-') || digits(&p, 2, &d))
		return KK_EINVAL;
	if (*p != 'T' && *p != 't')
		return KK_EINVAL;
	p++;
	if (digits(&p, 2, &h) || expect(&p, ':') || digits(&p, 2, &mi) ||
	    expect(&p, ':') || digits(&p, 2, &sec))
		return KK_EINVAL;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return KK_EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om))
			return KK_EINVAL;
	} else {
		return KK_EINVAL;
	}
	/* A day the month does not have (February 30) is refused, not
	 * carried into the next month by timegm. */
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 ||
	    oh > 23 || om > 59)
		return KK_EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return KK_EINVAL;
	/* The offset may carry the instant out of the years 0000-9999
	 * ("9999-12-31T23:30:00-01:00"), which rfc3339_format cannot
	 * write back. */
	t -= sign * (oh * 3600 + om * 60);
	if (gmtime_r(&t, &tm) == NULL || (long)tm.tm_year + 1900 < YEAR_MIN ||
	    (long)tm.tm_year + 1900 > YEAR_MAX)
		return KK_EINVAL;
	*out = t;
	return KK_OK;
}
