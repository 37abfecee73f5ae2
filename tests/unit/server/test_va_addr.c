/*
 * The addresses validation refuses to connect to without
 * --va-allow-private: everything but global unicast.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <criterion/criterion.h>

#include "va_internal.h"

Test(va_addr, refuses_what_is_not_public)
{
	const char *bad[] = {"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255",
	    "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.8.9.10",
	    "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8",
	    "192.0.2.7", "192.88.99.1", "192.168.1.1", "198.18.0.1",
	    "198.19.255.255", "198.51.100.1", "203.0.113.9", "224.0.0.1",
	    "239.255.255.250", "240.0.0.1", "255.255.255.255", "::", "::1",
	    "::ffff:127.0.0.1", "::ffff:8.8.8.8", "64:ff9b::a00:1", "fc00::1",
	    "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1", "2001::1",
	    "2001:1ff::1", "2001:db8::1", "2002:7f00:1::1", "100::1",
	    "not an address", "", NULL};

	for (int i = 0; bad[i] != NULL; i++)
		cr_expect_eq(va_addr_public(bad[i]), 0, "%s", bad[i]);
}

Test(va_addr, allows_global_unicast)
{
	const char *ok[] = {"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.1",
	    "100.63.255.255", "100.128.0.1", "126.255.255.255", "128.0.0.1",
	    "169.253.0.1", "172.15.255.255", "172.32.0.1", "192.0.1.1",
	    "192.167.1.1", "192.169.0.1", "198.20.0.1", "223.255.255.254",
	    "2001:200::1", "2001:4860:4860::8888", "2400:cb00::1",
	    "2a00:1450::1", NULL};

	for (int i = 0; ok[i] != NULL; i++)
		cr_expect_eq(va_addr_public(ok[i]), 1, "%s", ok[i]);
}

Test(va_addr, sockaddr_matches_only_the_checked_address)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "203.0.113.5", &sin.sin_addr);
	cr_expect(va_sockaddr_is((struct sockaddr *)&sin, "203.0.113.5"));
	cr_expect(!va_sockaddr_is((struct sockaddr *)&sin, "127.0.0.1"));
	cr_expect(!va_sockaddr_is((struct sockaddr *)&sin, "::1"));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::5", &sin6.sin6_addr);
	cr_expect(va_sockaddr_is((struct sockaddr *)&sin6, "2001:db8::5"));
	cr_expect(!va_sockaddr_is((struct sockaddr *)&sin6, "2001:db8::6"));
}
