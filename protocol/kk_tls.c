/*
 * kk_tls.c - see kk_tls.h.
 */
#include <openssl/err.h>

#include "kk_deadline.h"
#include "kk_tls.h"

int
kk_tls_handshake(SSL *ssl, int fd, const struct timespec *end)
{
	struct pollfd p = {fd, 0, 0};
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
		if ((r = kk_deadline_poll(&p, end)) == 0)
			return -1;
		if (r < 0)
			return 0;
	}
}
