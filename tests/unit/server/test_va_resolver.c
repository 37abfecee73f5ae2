/* va_resolver_ok: what --va-resolver takes. */
#include <criterion/criterion.h>

#include "va.h"

Test(va_resolver, takes_ipv4_and_bracketed_ipv6_with_a_port)
{
	static const char *const good[] = {"127.0.0.1:53", "192.0.2.1:5353",
	    "[::1]:53", "[2001:db8::53]:65535", "[::ffff:192.0.2.1]:1"};

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		cr_expect_eq(va_resolver_ok(good[i]), KK_OK, "%s", good[i]);
}

Test(va_resolver, refuses_the_rest)
{
	static const char *const bad[] = {"", ":53", "127.0.0.1",
	    "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:53x",
	    "localhost:53", "::1:53", "[::1]", "[::1]53", "[::1]:", "[::1]:0",
	    "[]:53", "[::1:53", "::1]:53", "[127.0.0.1]:53", "[[::1]]:53",
	    "[fe80::1%lo]:53", "[::1]x:53"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_expect_eq(
		    va_resolver_ok(bad[i]), KK_EINVAL, "\"%s\"", bad[i]);
	cr_expect_eq(va_resolver_ok(NULL), KK_EINVAL);
}
