/* connlimit: open connections counted per peer address. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <criterion/criterion.h>

#include "connlimit.h"

static struct sockaddr_in
v4(const char *ip, int port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	return sa;
}

static struct sockaddr_in6
v6(const char *ip)
{
	struct sockaddr_in6 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	cr_assert_eq(inet_pton(AF_INET6, ip, &sa.sin6_addr), 1);
	return sa;
}

#define SA(x) ((struct sockaddr *)&(x))

Test(connlimit, caps_each_address_not_the_others)
{
	struct sockaddr_in a = v4("127.0.0.2", 1000), b = v4("127.0.0.1", 1);
	struct connlimit *cl;

	cr_assert_eq(connlimit_new(8, 3, &cl), KK_OK);
	for (int i = 0; i < 3; i++) {
		a.sin_port = htons((uint16_t)(1000 + i)); /* ports differ */
		cr_assert_eq(connlimit_enter(cl, SA(a)), 1);
	}
	cr_assert_eq(
	    connlimit_enter(cl, SA(a)), 0, "a fourth from one address");
	cr_assert_eq(connlimit_count(cl, SA(a)), 3);
	cr_assert_eq(connlimit_enter(cl, SA(b)), 1, "another address");
	connlimit_leave(cl, SA(a));
	cr_assert_eq(connlimit_enter(cl, SA(a)), 1, "a slot was freed");
	connlimit_free(cl);
}

Test(connlimit, mapped_ipv4_is_the_same_address)
{
	struct sockaddr_in a = v4("192.0.2.7", 1);
	struct sockaddr_in6 m = v6("::ffff:192.0.2.7"), o = v6("2001:db8::7");
	struct connlimit *cl;

	cr_assert_eq(connlimit_new(8, 2, &cl), KK_OK);
	cr_assert_eq(connlimit_enter(cl, SA(a)), 1);
	cr_assert_eq(connlimit_enter(cl, SA(m)), 1);
	cr_assert_eq(connlimit_enter(cl, SA(a)), 0);
	cr_assert_eq(connlimit_enter(cl, SA(o)), 1);
	connlimit_free(cl);
}

Test(connlimit, a_full_table_refuses_new_addresses)
{
	struct sockaddr_in a = v4("10.0.0.1", 1), b = v4("10.0.0.2", 1);
	struct connlimit *cl;

	cr_assert_eq(connlimit_new(1, 4, &cl), KK_OK);
	cr_assert_eq(connlimit_enter(cl, SA(a)), 1);
	cr_assert_eq(connlimit_enter(cl, SA(b)), 0);
	connlimit_leave(cl, SA(a));
	/* The slot is free again once its last connection left. */
	cr_assert_eq(connlimit_count(cl, SA(a)), 0);
	cr_assert_eq(connlimit_enter(cl, SA(b)), 1);
	connlimit_free(cl);
}

Test(connlimit, refuses_bad_arguments_and_families)
{
	struct sockaddr sa = {.sa_family = AF_UNIX};
	struct connlimit *cl;

	cr_assert_eq(connlimit_new(0, 1, &cl), KK_EINVAL);
	cr_assert_null(cl);
	cr_assert_eq(connlimit_new(1, 0, &cl), KK_EINVAL);
	cr_assert_eq(connlimit_new(1, 1, &cl), KK_OK);
	cr_assert_eq(connlimit_enter(cl, &sa), 0);
	cr_assert_eq(connlimit_enter(cl, NULL), 0);
	connlimit_leave(cl, &sa); /* harmless */
	connlimit_free(cl);
}
