/*
 * The ACME engine against a scripted fake server (a forked child speaking
 * HTTPS on an ephemeral loopback port): badNonce retried with the nonce
 * the error carried, up to ACME_NONCE_TRIES; Retry-After on a 503 waited
 * for when short, exit 75 when long; the directory found as given or by
 * the base URL rule.
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
#include "helper_fakeca.h"
#include "helper_loopback.h"
#include "http.h"
#include "jws.h"

static struct fakeca fc;

static void
setup(void)
{
	fakeca_init(&fc, "nonce");
}

static void
teardown(void)
{
	fakeca_clear(&fc);
}

TestSuite(nonce, .init = setup, .fini = teardown);

/* The nonce in the JWS body of a request, or "" */
static void
request_nonce(const char *req, char *nonce, size_t len)
{
	const char *body = strstr(req, "\r\n\r\n");
	struct jws j;

	nonce[0] = '\0';
	if (body != NULL &&
	    jws_parse(body + 4, strlen(body + 4), &j) == KK_OK) {
		if (j.nonce != NULL)
			snprintf(nonce, len, "%s", j.nonce);
		jws_clear(&j);
	}
}

#define BAD_NONCE                                                              \
	"{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"detail\":"        \
	"\"stale\"}"

/* What the fake server does to the newAccount POSTs. */
struct script {
	int bad; /* answer this many with badNonce (nonce "fresh-N") */
	long ra; /* >= 0: answer the first with 503 and Retry-After: ra */
};

/* How many POSTs a correct client sends for a script. */
static int
expected_posts(const struct script *sc)
{
	if (sc->ra > ACME_WAIT_MAX)
		return 1;
	return (sc->ra >= 0) +
	       (sc->bad < ACME_NONCE_TRIES ? sc->bad + 1 : ACME_NONCE_TRIES);
}

/*
 * The fake server: answers requests in order as sc says, then 201. After
 * the POSTs a correct client sends it exits: 0 when each POST carried the
 * nonce it should (the HEAD's, then the error's), 3 otherwise. GET /dir
 * and GET /base/acme/directory give the directory, other GETs 404.
 */
static void
serve(int lfd, int port, const struct script *sc)
{
	char req[16384], dirjson[512], hdr[128], nonce[128], want[32] = "first";
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int posts = 0, ok = 1, limit = expected_posts(sc), unavailable = 0;

	/* A client that stops early must fail the test, not hang it. */
	alarm(20);
	SSL_CTX_use_certificate(ctx, fc.cert);
	SSL_CTX_use_PrivateKey(ctx, fc.key);
	snprintf(dirjson, sizeof(dirjson),
	    "{\"newNonce\":\"https://127.0.0.1:%d/nonce\","
	    "\"newAccount\":\"https://127.0.0.1:%d/acct\","
	    "\"newOrder\":\"https://127.0.0.1:%d/order\"}",
	    port, port, port);
	while (posts < limit) {
		int c = accept(lfd, NULL, NULL);
		SSL *ssl;

		if (c < 0)
			break;
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) == 1 &&
		    fakeca_read(ssl, req, sizeof(req)) == 0) {
			if (strncmp(req, "GET /dir ", 9) == 0 ||
			    strncmp(req, "GET /base/acme/directory ", 25) ==
			        0) {
				fakeca_respond(ssl, 200, "", dirjson);
			} else if (strncmp(req, "GET ", 4) == 0) {
				fakeca_respond(ssl, 404, "", "");
			} else if (strncmp(req, "HEAD /nonce", 11) == 0) {
				fakeca_respond(
				    ssl, 200, "Replay-Nonce: first\r\n", "");
			} else {
				request_nonce(req, nonce, sizeof(nonce));
				if (strcmp(nonce, want) != 0)
					ok = 0;
				if (sc->ra >= 0 && !unavailable) {
					unavailable = 1;
					snprintf(want, sizeof(want), "later");
					snprintf(hdr, sizeof(hdr),
					    "Retry-After: %ld\r\n"
					    "Replay-Nonce: later\r\n",
					    sc->ra);
					fakeca_respond(ssl, 503, hdr, "");
				} else if (posts - unavailable < sc->bad) {
					snprintf(want, sizeof(want), "fresh-%d",
					    posts);
					snprintf(hdr, sizeof(hdr),
					    "Replay-Nonce: %s\r\n", want);
					fakeca_respond(
					    ssl, 400, hdr, BAD_NONCE);
				} else {
					fakeca_respond(ssl, 201,
					    "Location: "
					    "https://127.0.0.1/a/1\r\n"
					    "Replay-Nonce: done\r\n",
					    "{\"status\":\"valid\"}");
				}
				posts++;
			}
		}
		SSL_shutdown(ssl);
		SSL_free(ssl);
		close(c);
	}
	SSL_CTX_free(ctx);
	_exit(ok ? 0 : 3);
}

/* Starts the fake server; *port is where it listens. */
static pid_t
start(const struct script *sc, int *port)
{
	int lfd = loopback_listen(port);
	pid_t pid;

	pid = fork();
	if (pid == 0)
		serve(lfd, *port, sc);
	close(lfd);
	return pid;
}

/* Runs acme_account against a fake server playing sc. */
static enum kk_status
run(const struct script *sc, struct kc_err *err, int *server_status)
{
	struct http *h = NULL;
	struct acme *a = NULL;
	enum kk_status st;
	EVP_PKEY *key;
	char url[64];
	int port;
	pid_t pid;

	pid = start(sc, &port);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/dir", port);
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	cr_assert_eq(http_new(fc.ca_path, &h, err), KK_OK);
	st = acme_open(h, url, &a, err);
	cr_assert_eq(st, KK_OK, "%s", err->msg);
	acme_set_account(a, key, NULL);
	st = acme_account(a, NULL, NULL, NULL, 0, err);
	acme_free(a);
	http_free(h);
	EVP_PKEY_free(key);
	cr_assert_eq(waitpid(pid, server_status, 0), pid);
	return st;
}

Test(nonce, bad_nonces_are_retried_with_their_nonce)
{
	struct script sc = {3, -1};
	struct kc_err err = {0};
	int status;

	cr_assert_eq(run(&sc, &err, &status), KK_OK, "%s", err.msg);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a retry did not carry the badNonce answer's nonce");
}

Test(nonce, retried_up_to_the_limit)
{
	struct script sc = {ACME_NONCE_TRIES - 1, -1};
	struct kc_err err = {0};
	int status;

	cr_assert_eq(run(&sc, &err, &status), KK_OK, "%s", err.msg);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(nonce, one_more_bad_nonce_is_an_error_naming_it)
{
	struct script sc = {ACME_NONCE_TRIES, -1};
	struct kc_err err = {0};
	int status;

	cr_assert_eq(run(&sc, &err, &status), KK_EINVAL);
	cr_assert_not_null(strstr(err.msg, "badNonce"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "stale"), "%s", err.msg);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(nonce, short_retry_after_is_waited_for)
{
	struct script sc = {1, 1};
	struct kc_err err = {0};
	time_t t0 = time(NULL);
	int status;

	cr_assert_eq(run(&sc, &err, &status), KK_OK, "%s", err.msg);
	cr_assert_geq(time(NULL) - t0, 1, "Retry-After: 1 was not honoured");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(nonce, long_retry_after_is_exit_75_at_once)
{
	struct script sc = {0, 3600};
	struct kc_err err = {0};
	time_t t0 = time(NULL);
	int status;

	cr_assert_neq(run(&sc, &err, &status), KK_OK);
	cr_assert_eq(err.code, EX_TEMPFAIL, "%d %s", err.code, err.msg);
	cr_assert_not_null(strstr(err.msg, "3600 s"), "%s", err.msg);
	cr_assert_lt(time(NULL) - t0, 5);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* acme_open on path; the server is killed afterwards. */
static enum kk_status
open_at(const char *path, struct kc_err *err)
{
	struct script sc = {0, -1};
	struct http *h = NULL;
	struct acme *a = NULL;
	enum kk_status st;
	char url[96];
	int port, status;
	pid_t pid;

	pid = start(&sc, &port);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
	cr_assert_eq(http_new(fc.ca_path, &h, err), KK_OK);
	st = acme_open(h, url, &a, err);
	if (st == KK_OK)
		cr_assert_not_null(acme_resource(a, "newOrder"));
	acme_free(a);
	http_free(h);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return st;
}

Test(nonce, directory_as_given_or_by_the_base_url_rule)
{
	struct kc_err err = {0};

	cr_assert_eq(open_at("/dir", &err), KK_OK, "%s", err.msg);
	cr_assert_eq(open_at("/base", &err), KK_OK, "%s", err.msg);
	cr_assert_eq(open_at("/base/", &err), KK_OK, "%s", err.msg);
	cr_assert_eq(open_at("/nothing", &err), KK_EINVAL);
	cr_assert_eq(err.code, EX_CONFIG);
	cr_assert_not_null(
	    strstr(err.msg, "/nothing (HTTP 404)"), "%s", err.msg);
	cr_assert_not_null(
	    strstr(err.msg, "/nothing/acme/directory (HTTP 404)"), "%s",
	    err.msg);
}
