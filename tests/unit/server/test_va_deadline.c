/*
 * A validation's deadline (va_config.timeout) counts on the monotonic
 * clock from va_validate's start, to the nanosecond: an http-01 answer
 * that comes after a slow redirect, within the time, is seen; one that
 * never comes ends the validation when that time is up, not before and
 * not much after; a tls-alpn-01 peer that sends its handshake a byte at a
 * time does not hold it longer.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helper_loopback.h"
#include "va.h"

#define KEY_AUTH "tok.thumb"

/* Reads a request head from c; -1 if none came. */
static int
read_head(int c)
{
	char buf[2048];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1) {
		if ((r = read(c, buf + n, sizeof(buf) - 1 - n)) <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return 0;
	}
	return -1;
}

/*
 * The fake http-01 server: redirects the first request after 0.2 s to
 * /next on the same port, and answers that after late_ms milliseconds
 * with the key authorization (never when late_ms is negative).
 */
static void
serve(int lfd, int port, long late_ms)
{
	struct timespec slow = {0, 200 * 1000 * 1000}, late;
	char out[512];
	int c;

	/* A test that fails to kill it must not leave it behind. */
	alarm(30);
	if ((c = accept(lfd, NULL, NULL)) == -1 || read_head(c) != 0)
		_exit(1);
	nanosleep(&slow, NULL);
	snprintf(out, sizeof(out),
	    "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/next\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n",
	    port);
	(void)!write(c, out, strlen(out));
	close(c);
	if ((c = accept(lfd, NULL, NULL)) == -1 || read_head(c) != 0)
		_exit(1);
	if (late_ms < 0)
		pause();
	late.tv_sec = late_ms / 1000;
	late.tv_nsec = (late_ms % 1000) * 1000000;
	nanosleep(&late, NULL);
	snprintf(out, sizeof(out),
	    "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s",
	    strlen(KEY_AUTH), KEY_AUTH);
	(void)!write(c, out, strlen(out));
	close(c);
	_exit(0);
}

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Validates http-01 for 127.0.0.1 within two seconds against the fake
 * server answering after late_ms; *took is how long it took. Starts at .9
 * of a second of the wall clock: a deadline kept in whole seconds of it
 * would leave only one second after the redirect (0.2 s later, past the
 * next second), not 1.8 s.
 */
static void
validate(long late_ms, struct va_result *res, double *took)
{
	struct timespec ts, align = {0, 0};
	struct va_config c;
	double t0;
	int port, lfd = loopback_listen(&port), status;
	pid_t pid;

	if ((pid = fork()) == 0)
		serve(lfd, port, late_ms);
	close(lfd);
	va_config_defaults(&c);
	c.http_port = port;
	c.allow_private = 1;
	c.timeout = 2;
	clock_gettime(CLOCK_REALTIME, &ts);
	align.tv_nsec = (1900000000L - ts.tv_nsec) % 1000000000L;
	nanosleep(&align, NULL);
	t0 = now();
	cr_assert_eq(
	    va_validate(&c, "http-01", "127.0.0.1", "tok", KEY_AUTH, res),
	    KK_OK);
	*took = now() - t0;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	va_config_clear(&c);
}

/* The answer 1.5 s in (0.5 s to spare on a busy machine). */
Test(va_deadline, an_answer_within_the_time_is_seen, .timeout = 30)
{
	struct va_result res;
	double took;

	validate(1300, &res, &took);
	cr_assert(res.valid, "not valid after %.2f s: %s", took, res.detail);
}

/* No answer: the validation ends when its two seconds are up. */
Test(va_deadline, no_answer_ends_it_on_time, .timeout = 30)
{
	struct va_result res;
	double took;

	validate(-1, &res, &took);
	cr_assert_not(res.valid);
	cr_assert_eq(res.problem, ACME_CONNECTION, "%s", res.detail);
	cr_assert_geq(
	    took, 1.95, "ended after %.2f s of 2: %s", took, res.detail);
	cr_assert_lt(
	    took, 3.0, "ended after %.2f s of 2: %s", took, res.detail);
}

/*
 * The fake tls-alpn-01 peer: a TLS record header announcing 16 KiB, then
 * one byte every 0.3 s for 10 s, then silence.
 */
static void
trickle(int lfd)
{
	static const unsigned char head[] = {0x16, 0x03, 0x03, 0x40, 0x00};
	struct timespec gap = {0, 300 * 1000 * 1000};
	int c;

	alarm(30);
	if ((c = accept(lfd, NULL, NULL)) == -1)
		_exit(1);
	for (size_t i = 0; i < 34; i++) {
		if (write(c, i < sizeof(head) ? &head[i] : head, 1) != 1)
			_exit(0);
		nanosleep(&gap, NULL);
	}
	pause();
	_exit(0);
}

/* The handshake's time counts in the validation's: 2 s, not 10. */
Test(va_deadline, a_trickling_tls_peer_ends_it_on_time, .timeout = 30)
{
	struct va_result res;
	struct va_config c;
	double t0, took;
	int port, lfd = loopback_listen(&port), status;
	pid_t pid;

	if ((pid = fork()) == 0)
		trickle(lfd);
	close(lfd);
	va_config_defaults(&c);
	c.tls_port = port;
	c.allow_private = 1;
	c.timeout = 2;
	t0 = now();
	cr_assert_eq(
	    va_validate(&c, "tls-alpn-01", "127.0.0.1", "tok", KEY_AUTH, &res),
	    KK_OK);
	took = now() - t0;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	va_config_clear(&c);
	cr_assert_not(res.valid);
	cr_assert_eq(res.problem, ACME_CONNECTION, "%s", res.detail);
	cr_assert_geq(
	    took, 1.9, "ended after %.2f s of 2: %s", took, res.detail);
	cr_assert_lt(
	    took, 3.5, "ended after %.2f s of 2: %s", took, res.detail);
}
