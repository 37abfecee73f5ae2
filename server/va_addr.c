/*
 * Which addresses validation may connect to. A CA that fetches
 * http://NAME/ for anyone who asks is a request forgery service unless it
 * refuses addresses that are not on the public Internet: loopback, the
 * CA's own private networks, link-local (cloud metadata at
 * 169.254.169.254), and the other special-purpose blocks of the IANA
 * registries (RFC 6890 and its updates). Only global unicast is allowed.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "va_internal.h"

struct v4net {
	unsigned char net[4];
	int bits;
};

/* IPv4 special-purpose blocks that are not globally reachable. */
static const struct v4net v4_refused[] = {
    {{0, 0, 0, 0}, 8},       /* "this network", unspecified */
    {{10, 0, 0, 0}, 8},      /* RFC 1918 private */
    {{100, 64, 0, 0}, 10},   /* RFC 6598 shared (CGNAT) */
    {{127, 0, 0, 0}, 8},     /* loopback */
    {{169, 254, 0, 0}, 16},  /* link-local, cloud metadata */
    {{172, 16, 0, 0}, 12},   /* RFC 1918 private */
    {{192, 0, 0, 0}, 24},    /* IETF protocol assignments */
    {{192, 0, 2, 0}, 24},    /* TEST-NET-1 */
    {{192, 88, 99, 0}, 24},  /* 6to4 relay anycast */
    {{192, 168, 0, 0}, 16},  /* RFC 1918 private */
    {{198, 18, 0, 0}, 15},   /* benchmarking */
    {{198, 51, 100, 0}, 24}, /* TEST-NET-2 */
    {{203, 0, 113, 0}, 24},  /* TEST-NET-3 */
    {{224, 0, 0, 0}, 4},     /* multicast */
    {{240, 0, 0, 0}, 4},     /* reserved, limited broadcast */
};

static int
v4_public(const unsigned char a[4])
{
	for (size_t i = 0; i < sizeof(v4_refused) / sizeof(*v4_refused); i++) {
		const struct v4net *n = &v4_refused[i];
		unsigned long x =
		    (unsigned long)a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
		unsigned long y = (unsigned long)n->net[0] << 24 |
		                  n->net[1] << 16 | n->net[2] << 8 | n->net[3];
		unsigned long mask =
		    0xffffffffUL << (32 - n->bits) & 0xffffffffUL;

		if ((x & mask) == (y & mask))
			return 0;
	}
	return 1;
}

static int
v6_public(const unsigned char a[16])
{
	static const unsigned char doc[4] = {0x20, 0x01, 0x0d, 0xb8};

	/* Only 2000::/3 is global unicast; inside it, 2001::/23 (IETF
	 * protocol assignments, Teredo), 2001:db8::/32 (documentation) and
	 * 2002::/16 (6to4, an IPv4 address in disguise) are refused.
	 * Mapped (::ffff:a.b.c.d) and NAT64 addresses fall outside 2000::/3
	 * and are refused with the rest. */
	if ((a[0] & 0xe0) != 0x20)
		return 0;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] < 0x02)
		return 0;
	if (memcmp(a, doc, sizeof(doc)) == 0)
		return 0;
	if (a[0] == 0x20 && a[1] == 0x02)
		return 0;
	return 1;
}

int
va_addr_public(const char *addr)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		return v4_public(a);
	if (inet_pton(AF_INET6, addr, a) == 1)
		return v6_public(a);
	return 0;
}

int
va_sockaddr_is(const struct sockaddr *sa, const char *addr)
{
	unsigned char a[16];

	if (sa->sa_family == AF_INET && inet_pton(AF_INET, addr, a) == 1)
		return memcmp(&((const struct sockaddr_in *)(const void *)sa)
		                   ->sin_addr,
		           a, 4) == 0;
	if (sa->sa_family == AF_INET6 && inet_pton(AF_INET6, addr, a) == 1)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)sa)
		                   ->sin6_addr,
		           a, 16) == 0;
	return 0;
}
