/*
 * helper_loopback.c - see helper_loopback.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "helper_loopback.h"

int
loopback_listen(int *port)
{
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);
	int lfd;

	cr_assert_geq(lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 8), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return lfd;
}
