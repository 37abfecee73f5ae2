/*
 * The dns identifier values newOrder accepts: lower-case LDH names of two
 * or more labels within the RFC 1035 lengths, no wildcard, no IP address.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dnsname.h"

Test(dnsname, accepts_ordinary_names)
{
	const char *ok[] = {"a.jp", "www.example.jp", "x-1.y2.example.jp",
	    "xn--eckwd4c7c.jp", "1a.example.jp", "a.b.c.d.e.f.g", NULL};

	for (int i = 0; ok[i] != NULL; i++)
		cr_assert_eq(dnsname_check(ok[i], NULL), KK_OK, "%s", ok[i]);
}

Test(dnsname, refuses_with_a_reason)
{
	const char *bad[] = {"", "jp", "A.example.jp", "*.example.jp",
	    "a.*.example.jp", "example..jp", ".example.jp", "example.jp.",
	    "-a.example.jp", "a-.example.jp", "a.example-", "a_b.example.jp",
	    "a b.jp", "192.0.2.1", "a.123", "é.example.jp", NULL};
	const char *why;

	for (int i = 0; bad[i] != NULL; i++) {
		why = NULL;
		cr_assert_eq(
		    dnsname_check(bad[i], &why), KK_EINVAL, "%s", bad[i]);
		cr_assert_not_null(why, "%s", bad[i]);
	}
	cr_assert_eq(dnsname_check(NULL, NULL), KK_EINVAL);
	why = NULL;
	dnsname_check("*.example.jp", &why);
	cr_assert_not_null(strstr(why, "wildcard"));
}

Test(dnsname, length_limits)
{
	char label[70], name[300];

	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.jp", label);
	cr_assert_eq(dnsname_check(name, NULL), KK_OK);
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(name, sizeof(name), "%s.jp", label);
	cr_assert_eq(dnsname_check(name, NULL), KK_EINVAL);
	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253, then one more. */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(
	    name, sizeof(name), "%s.%s.%s.%.61s", label, label, label, label);
	cr_assert_eq(strlen(name), 253);
	cr_assert_eq(dnsname_check(name, NULL), KK_OK);
	snprintf(
	    name, sizeof(name), "%s.%s.%s.%.62s", label, label, label, label);
	cr_assert_eq(dnsname_check(name, NULL), KK_EINVAL);
}
