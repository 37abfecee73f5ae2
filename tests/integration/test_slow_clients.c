/*
 * Slow clients cannot deny service: one address may hold only a few
 * connections (the rest are closed before their TLS handshake), and a
 * request whose body trickles in is cut at the request deadline however
 * steadily the bytes come. The attacker connects from 127.0.0.2, bound
 * explicitly, so that the legitimate client on 127.0.0.1 is another address.
 * Only loopback is used.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "harness_extra.h"

#define ATTACKERS 500
/* The server's defaults (server/config.h, server/http.c). */
#define PER_ADDR_MAX 16
#define DEADLINE_MS 15000

/* A body announced long and sent one byte at a time. */
#define SLOW_HEAD                                                              \
	"POST /acme/new-order HTTP/1.1\r\n"                                    \
	"Host: 127.0.0.1\r\n"                                                  \
	"Content-Type: application/jose+json\r\n"                              \
	"Content-Length: 60000\r\n\r\n{"

struct tconn {
	int fd;
	SSL *ssl;
};

static struct hsrv srv;
static SSL_CTX *tls;

static void
setup(void)
{
	/* Writes to connections the server closed must fail, not kill. */
	signal(SIGPIPE, SIG_IGN);
	hsrv_start(&srv, NULL);
	cr_assert_not_null(tls = SSL_CTX_new(TLS_client_method()));
	/* The attack does not care who the server is. */
	SSL_CTX_set_verify(tls, SSL_VERIFY_NONE, NULL);
}

static void
teardown(void)
{
	SSL_CTX_free(tls);
	hassert_alive(&srv);
	hsrv_stop(&srv);
}

TestSuite(slow_clients, .init = setup, .fini = teardown, .timeout = 90);

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
tconn_close(struct tconn *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
}

/*
 * A TLS connection from src to the server, every step waiting at most
 * timeout_ms (connect and SSL_connect on a blocking socket honour
 * SO_SNDTIMEO/SO_RCVTIMEO on Linux). Returns 0 and fills c, or -1.
 */
static int
tconn_open(const char *src, int timeout_ms, struct tconn *c)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	struct sockaddr_in sa;
	int one = 1;

	c->ssl = NULL;
	cr_assert_geq(c->fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	cr_assert_eq(inet_pton(AF_INET, src, &sa.sin_addr), 1);
	cr_assert_eq(bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
	    "bind %s: %s", src, strerror(errno));
	cr_assert_eq(inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr), 1);
	sa.sin_port = htons((uint16_t)srv.port);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail;
	cr_assert_not_null(c->ssl = SSL_new(tls));
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1)
		goto fail;
	return 0;
fail:
	ERR_clear_error();
	tconn_close(c);
	return -1;
}

/* Writes all of s; -1 if the server has closed or stalls. */
static int
tconn_send(struct tconn *c, const char *s)
{
	int n = (int)strlen(s);

	ERR_clear_error();
	return SSL_write(c->ssl, s, n) == n ? 0 : -1;
}

/* The time a GET of the directory from 127.0.0.1 takes; 99 if it fails. */
static double
directory_time(void)
{
	char buf[64];
	double t0 = now_s();
	struct tconn c;
	int n;

	if (tconn_open("127.0.0.1", 3000, &c) != 0)
		return 99;
	if (tconn_send(&c, "GET /acme/directory HTTP/1.1\r\nHost: "
	                   "127.0.0.1\r\nConnection: close\r\n\r\n") != 0 ||
	    (n = SSL_read(c.ssl, buf, sizeof(buf) - 1)) < 12) {
		tconn_close(&c);
		return 99;
	}
	buf[n] = '\0';
	tconn_close(&c);
	cr_assert(strncmp(buf, "HTTP/1.1 200", 12) == 0, "%s", buf);
	return now_s() - t0;
}

/* One more body byte to each connection still open; counts them. */
static int
trickle(struct tconn *c, int n)
{
	int open = 0;

	for (int i = 0; i < n; i++) {
		if (c[i].ssl == NULL)
			continue;
		if (tconn_send(&c[i], " ") != 0)
			tconn_close(&c[i]);
		else
			open++;
	}
	return open;
}

/* Lines of the server's log containing s. */
static int
log_lines(const char *s)
{
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	FILE *f;

	cr_assert_not_null(f = fopen(srv.log, "r"));
	while (getline(&line, &cap, f) > 0)
		n += strstr(line, s) != NULL;
	free(line);
	fclose(f);
	return n;
}

Test(slow_clients, cannot_starve_other_addresses)
{
	static struct tconn c[ATTACKERS];
	double t0 = now_s(), worst = 0, t;
	int held = 0, i, round;

	/* 500 slow requests from one address, for at most 10 s: a server
	 * without a cap lets them take every worker, and the connections
	 * past that wait in its queue (200 ms each here). */
	for (i = 0; i < ATTACKERS; i++) {
		c[i].fd = -1;
		c[i].ssl = NULL;
		if (now_s() - t0 > 10)
			continue;
		if (tconn_open("127.0.0.2", 200, &c[i]) != 0)
			continue;
		if (tconn_send(&c[i], SLOW_HEAD) != 0)
			tconn_close(&c[i]);
		else
			held++;
	}
	cr_log_info(
	    "attacker holds %d connections after %.1f s", held, now_s() - t0);
	/* Others are served promptly while the attack goes on. */
	for (round = 0; round < 4; round++) {
		t = directory_time();
		worst = t > worst ? t : worst;
		held = trickle(c, ATTACKERS);
		usleep(500 * 1000);
	}
	cr_assert_lt(worst, 1.0, "a GET took %.2f s during the attack", worst);
	cr_assert_leq(held, PER_ADDR_MAX,
	    "one address holds %d connections (cap %d)", held, PER_ADDR_MAX);
	cr_assert_gt(held, 0, "the attacker got no connection at all");
	/* Hundreds of refusals are one line, not one each. */
	cr_assert_eq(log_lines("refused"), 1, "refusals logged %d times",
	    log_lines("refused"));
	cr_assert_lt(log_lines("http: "), 10, "%d lines of http: logs",
	    log_lines("http: "));
	for (i = 0; i < ATTACKERS; i++)
		tconn_close(&c[i]);
}

Test(slow_clients, a_trickled_body_is_cut_at_the_deadline)
{
	struct tconn c;
	double t0 = now_s(), t;
	char buf[256];
	int n;

	cr_assert_eq(tconn_open("127.0.0.2", 2000, &c), 0);
	cr_assert_eq(tconn_send(&c, SLOW_HEAD), 0);
	/* One byte every 3 s: each read succeeds well within civetweb's
	 * 10 s per-read timeout, so only a deadline for the whole request
	 * ends it. */
	while ((t = now_s() - t0) < DEADLINE_MS / 1000.0 + 8) {
		struct timeval tv = {3, 0};

		setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = SSL_read(c.ssl, buf, sizeof(buf) - 1);
		if (n == 0 ||
		    (n < 0 && SSL_get_error(c.ssl, n) != SSL_ERROR_WANT_READ &&
		        errno != EAGAIN))
			break;
		if (n > 0) {
			buf[n] = '\0';
			cr_log_info("server said: %.40s", buf);
			continue;
		}
		ERR_clear_error();
		if (tconn_send(&c, " ") != 0)
			break;
	}
	t = now_s() - t0;
	tconn_close(&c);
	cr_assert_lt(t, DEADLINE_MS / 1000.0 + 4,
	    "a request trickled in for %.1f s without being cut", t);
	cr_assert_gt(t, DEADLINE_MS / 1000.0 - 4,
	    "cut after %.1f s, before the deadline", t);
}
