/*
 * kk_tls.c - see kk_tls.h.
 */
#include <errno.h>
#include <poll.h>

#include <openssl/err.h>

#include "kk_deadline.h"
#include "kk_tls.h"

int
kk_tls_handshake(SSL *ssl, int fd, const struct timespec *end)
{
	struct pollfd p = {fd, 0, 0};
	long left;
	int r;

	for (;;) {
		/* SSL_get_error reads the queue: nothing older in it. */
		ERR_clear_error();
		if ((r = SSL_do_handshake(ssl)) == 1)
			return 1;
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_READ:
			p.events = POLLIN;
			break;
		case SSL_ERROR_WANT_WRITE:
			p.events = POLLOUT;
			break;
		default:
			return 0;
		}
		do {
			if ((left = kk_deadline_left_ms(end)) <= 0)
				return -1;
			r = poll(&p, 1, (int)left);
		} while (r == -1 && errno == EINTR);
		if (r == 0)
			return -1;
		if (r < 0)
			return 0;
	}
}
