/*
 * tls-alpn-01 against peers whose handshake fails: the validation ends at
 * once, with a TLS problem that says so, not a connection problem at the
 * end of its time.
 */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helper_loopback.h"
#include "va.h"

/* The peer: answers the ClientHello with what (closes at once if NULL). */
static void
peer(int lfd, const char *what)
{
	char buf[512];
	int c;

	alarm(30);
	if ((c = accept(lfd, NULL, NULL)) == -1)
		_exit(1);
	if (what != NULL) {
		(void)!read(c, buf, sizeof(buf));
		(void)!write(c, what, strlen(what));
	}
	close(c);
	pause();
	_exit(0);
}

/* Validates tls-alpn-01 against the peer, within 5 s; how long it took. */
static double
validate(const char *what, struct va_result *res)
{
	struct timespec t0, t1;
	struct va_config c;
	int port, lfd = loopback_listen(&port), status;
	pid_t pid;

	if ((pid = fork()) == 0)
		peer(lfd, what);
	close(lfd);
	/* As kakuin-server: a write to a peer gone is an error, not death. */
	signal(SIGPIPE, SIG_IGN);
	va_config_defaults(&c);
	c.tls_port = port;
	c.allow_private = 1;
	c.timeout = 5;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(va_validate(&c, "tls-alpn-01", "127.0.0.1", "tok",
	                 "tok.thumb", res),
	    KK_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	va_config_clear(&c);
	return (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

Test(va_tls, a_peer_speaking_http_is_a_tls_problem, .timeout = 30)
{
	struct va_result res;
	double took;

	took = validate("HTTP/1.1 400 Bad Request\r\n\r\n", &res);
	cr_assert_not(res.valid);
	cr_assert_eq(res.problem, ACME_TLS, "%s", res.detail);
	cr_assert(strstr(res.detail, "handshake") != NULL &&
	              strstr(res.detail, "failed: ") != NULL,
	    "%s", res.detail);
	cr_assert_lt(took, 2.5, "took %.2f s of 5: %s", took, res.detail);
}

Test(va_tls, a_peer_that_hangs_up_is_a_tls_problem, .timeout = 30)
{
	struct va_result res;
	double took;

	took = validate(NULL, &res);
	cr_assert_not(res.valid);
	cr_assert_eq(res.problem, ACME_TLS, "%s", res.detail);
	cr_assert(strstr(res.detail, "handshake") != NULL, "%s", res.detail);
	cr_assert_lt(took, 2.5, "took %.2f s of 5: %s", took, res.detail);
}
