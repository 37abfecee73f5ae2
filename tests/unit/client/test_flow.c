/*
 * flow_resume's wait for an operator (--wait) against a scripted fake
 * server (a forked child speaking HTTPS on an ephemeral loopback port)
 * whose order stays pending: the client polls for as long as it was told,
 * counted from its start to the nanosecond, then leaves with 75 and keeps
 * the order.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/ssl.h>

#include "acme.h"
#include "fileio.h"
#include "flow.h"
#include "helper_fakeca.h"
#include "helper_loopback.h"
#include "http.h"

/* Every answer's headers: JSON, and a nonce for the next request. */
#define JSON_NONCE "Content-Type: application/json\r\nReplay-Nonce: n\r\n"

static struct fakeca fc;

static void
setup(void)
{
	fakeca_init(&fc, "flow");
}

static void
teardown(void)
{
	fakeca_clear(&fc);
}

TestSuite(flow, .init = setup, .fini = teardown);

/*
 * The fake server, until it is killed: an order that stays pending on an
 * org authorization an operator has yet to verify. Each look at the order
 * takes it 0.3 s.
 */
static void
serve(int lfd, int port)
{
	struct timespec slow = {0, 300 * 1000 * 1000};
	char req[16384], dirjson[512], order[512];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	/* A test that fails to kill it must not leave it behind. */
	alarm(30);
	SSL_CTX_use_certificate(ctx, fc.cert);
	SSL_CTX_use_PrivateKey(ctx, fc.key);
	snprintf(dirjson, sizeof(dirjson),
	    "{\"newNonce\":\"https://127.0.0.1:%d/nonce\","
	    "\"newAccount\":\"https://127.0.0.1:%d/acct\","
	    "\"newOrder\":\"https://127.0.0.1:%d/order\"}",
	    port, port, port);
	snprintf(order, sizeof(order),
	    "{\"status\":\"pending\",\"authorizations\":"
	    "[\"https://127.0.0.1:%d/authz/1\"]}",
	    port);
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		SSL *ssl;

		if (c < 0)
			break;
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) == 1 &&
		    fakeca_read(ssl, req, sizeof(req)) == 0) {
			if (strncmp(req, "GET /dir ", 9) == 0) {
				fakeca_respond(ssl, 200, JSON_NONCE, dirjson);
			} else if (strncmp(req, "HEAD /nonce", 11) == 0) {
				fakeca_respond(ssl, 200, JSON_NONCE, "");
			} else if (strncmp(req, "POST /order/1 ", 14) == 0) {
				nanosleep(&slow, NULL);
				fakeca_respond(ssl, 200, JSON_NONCE, order);
			} else if (strncmp(req, "POST /authz/1 ", 14) == 0) {
				fakeca_respond(ssl, 200, JSON_NONCE,
				    "{\"status\":\"pending\",\"identifier\":"
				    "{\"type\":\"org\",\"value\":\"NTRJP-1\"},"
				    "\"challenges\":[{\"type\":\"oob-01\","
				    "\"url\":\"https://127.0.0.1/ch/1\","
				    "\"status\":\"processing\"}]}");
			} else {
				fakeca_respond(ssl, 404, JSON_NONCE, "{}");
			}
		}
		SSL_shutdown(ssl);
		SSL_free(ssl);
		close(c);
	}
	_exit(0);
}

/* Starts the fake server; *port is where it listens. */
static pid_t
start(int *port)
{
	int lfd = loopback_listen(port);
	pid_t pid;

	pid = fork();
	if (pid == 0)
		serve(lfd, *port);
	close(lfd);
	return pid;
}

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(flow, wait_counts_from_the_start, .timeout = 60)
{
	struct cert_config cfg = {.name = "h", .org = "NTRJP-1"};
	struct session s = {0};
	struct flow f = {0};
	struct pending p = {0};
	struct kc_err err = {0};
	struct timespec ts, pause = {0, 0};
	enum kk_status st;
	char url[96], *path = NULL;
	double t0, took;
	int port, status;
	pid_t pid;

	pid = start(&port);
	cr_assert_eq(
	    state_open(fc.dir, 1, &s.state, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(state_cert_path(s.state, "h", NULL, &path), KK_OK);
	cr_assert_eq(file_mkdirs(path, 0700, &err), KK_OK, "%s", err.msg);
	free(path);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/order/1", port);
	p.order_url = url;
	p.created = time(NULL);
	cr_assert_eq(
	    state_pending_save(s.state, "h", &p, &err), KK_OK, "%s", err.msg);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/dir", port);
	cr_assert_eq(http_new(fc.ca_path, &s.http, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(
	    acme_open(s.http, url, &s.acme, &err), KK_OK, "%s", err.msg);
	s.account_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	cr_assert_eq(
	    acme_set_account(s.acme, s.account_key, "https://127.0.0.1/acct/1"),
	    KK_OK);
	f.s = &s;
	f.cfg = &cfg;
	f.wait_seconds = 1;
	/*
	 * Start at .9 of a second of the wall clock: a deadline kept in
	 * whole seconds of it would fall 0.1 s later, so the client would
	 * leave after its first look at the order (0.3 s) instead of waiting
	 * out its one second and looking again.
	 */
	clock_gettime(CLOCK_REALTIME, &ts);
	pause.tv_nsec = (1900000000L - ts.tv_nsec) % 1000000000L;
	nanosleep(&pause, NULL);
	t0 = now();
	st = flow_resume(&f, &err);
	took = now() - t0;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	cr_assert_eq(st, KK_ECONFLICT, "%s", err.msg);
	cr_assert_eq(err.code, EX_TEMPFAIL, "%d %s", err.code, err.msg);
	cr_assert_not_null(
	    strstr(err.msg, "waiting for an operator"), "%s", err.msg);
	cr_assert_geq(
	    took, 1.0, "left after %.2f s of a one-second wait", took);
	cr_assert_lt(took, 10.0, "took %.2f s", took);
	memset(&p, 0, sizeof(p));
	cr_assert_eq(state_pending_load(s.state, "h", &p, &err), KK_OK,
	    "the order was not kept: %s", err.msg);
	pending_clear(&p);
	acme_free(s.acme);
	http_free(s.http);
	EVP_PKEY_free(s.account_key);
	state_free(s.state);
}
