/* The dns names organization domains and newAuthz accept (ra_domain.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ra.h"

static void
ok(const char *in, const char *want)
{
	char *out = NULL;

	cr_assert_eq(ra_domain_normalize(in, &out), KK_OK, "%s", in);
	cr_assert_str_eq(out, want);
	free(out);
}

static void
bad(const char *in)
{
	char *out = NULL;

	cr_assert_eq(ra_domain_normalize(in, &out), KK_EINVAL, "%s", in);
	cr_assert_null(out);
}

Test(ra_domain, normalizes_to_lower_case)
{
	ok("example.jp", "example.jp");
	ok("Host-A.Example.JP", "host-a.example.jp");
	ok("xn--eckwd4c7c.xn--zckzah", "xn--eckwd4c7c.xn--zckzah");
	ok("a1.b2.c3", "a1.b2.c3");
}

Test(ra_domain, refuses_what_is_no_host_name)
{
	char label[80], name[300];

	bad(NULL);
	bad("");
	bad("jp");
	bad("*.example.jp");
	bad("example.jp.");
	bad(".example.jp");
	bad("a..example.jp");
	bad("-a.example.jp");
	bad("a-.example.jp");
	bad("a.example-");
	bad("192.0.2.1");
	bad("host_a.example.jp");
	bad("host a.example.jp");
	bad("h\xc3\xa9.example.jp");
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(name, sizeof(name), "%s.jp", label);
	bad(name);
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.jp", label);
	ok(name, name);
	/* 255 bytes, too long; 253, the most a name may have. */
	memset(name, 'a', 255);
	for (int i = 1; i < 255; i += 2)
		name[i] = '.';
	name[255] = '\0';
	bad(name);
	name[253] = '\0';
	ok(name, name);
}
