/*
 * The challenge solvers: the standalone http-01 server answers only its
 * tokens and is gone after solve_stop; webroot files come and go; the
 * tls-alpn-01 certificate is what RFC 8737 says; the dns-01 hook gets
 * ACTION NAME VALUE; the remembered choices survive a round trip and a
 * corrupted file is a configuration error; CSRs carry the dns names.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "csr.h"
#include "fileio.h"
#include "solve.h"
#include "solve_alpn.h"
#include "solve_dns.h"
#include "solve_http.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/kk-solve-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	file_remove_tree(dir, NULL);
}

TestSuite(solve, .init = setup, .fini = teardown);

static const struct solve_item items[] = {
    {"a.test", "tokA-_1", "tokA-_1.thumb"},
    {"b.test", "tokB", "tokB.thumb"},
};

Test(solve, http_answers_only_its_tokens)
{
	const char *body;

	cr_assert_eq(solve_http_answer("GET /.well-known/acme-challenge/tokB "
	                               "HTTP/1.1\r\n\r\n",
	                 items, 2, &body),
	    200);
	cr_assert_str_eq(body, "tokB.thumb");
	cr_assert_eq(solve_http_answer("GET /.well-known/acme-challenge/tok "
	                               "HTTP/1.1\r\n\r\n",
	                 items, 2, &body),
	    404);
	cr_assert_str_eq(body, "");
	cr_assert_eq(solve_http_answer("GET /.well-known/acme-challenge/tokBB "
	                               "HTTP/1.1\r\n\r\n",
	                 items, 2, &body),
	    404);
	cr_assert_eq(solve_http_answer("POST /.well-known/acme-challenge/tokB "
	                               "HTTP/1.1\r\n\r\n",
	                 items, 2, &body),
	    404);
	cr_assert_eq(solve_http_answer(
	                 "GET /etc/passwd HTTP/1.1\r\n\r\n", items, 2, &body),
	    404);
}

/* A free loopback port (there is a small window; fine for a test). */
static int
free_port(void)
{
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(s, (struct sockaddr *)&sa, &sl);
	port = ntohs(sa.sin_port);
	close(s);
	return port;
}

/* GET path from 127.0.0.1:port into buf; -1 when nothing listens. */
static int
get(int port, const char *path, char *buf, size_t cap)
{
	struct sockaddr_in sa = {0};
	char req[256];
	size_t n = 0;
	ssize_t r;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(s);
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	cr_assert_eq(write(s, req, strlen(req)), (ssize_t)strlen(req));
	while (n < cap - 1 && (r = read(s, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(s);
	return 0;
}

Test(solve, standalone_http_serves_then_stops)
{
	struct solve_cfg c = {.type = SOLVE_HTTP, .nnames = 2};
	struct kc_err err = {0};
	struct solver *sv = NULL;
	char spec[32], buf[1024];
	int port = free_port();

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	c.listen = spec;
	cr_assert_eq(
	    solve_start(&c, items, 2, &sv, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(
	    get(port, "/.well-known/acme-challenge/tokA-_1", buf, sizeof(buf)),
	    0);
	cr_assert(strncmp(buf, "HTTP/1.1 200", 12) == 0, "%s", buf);
	cr_assert_not_null(strstr(buf, "\r\n\r\ntokA-_1.thumb"), "%s", buf);
	cr_assert_eq(get(port, "/", buf, sizeof(buf)), 0);
	cr_assert(strncmp(buf, "HTTP/1.1 404", 12) == 0, "%s", buf);
	cr_assert_eq(solve_stop(sv, &err), KK_OK);
	cr_assert_eq(get(port, "/", buf, sizeof(buf)), -1,
	    "still listening after solve_stop");
}

/* A TCP connection to 127.0.0.1:port, reads bounded to 10 s. */
static int
connect_to(int port)
{
	struct timeval tv = {10, 0};
	struct sockaddr_in sa = {0};
	int s = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

/*
 * A TLS handshake with the responder on port: SNI name, the ALPN list
 * protos (wire format, NULL for no extension). 1 when it completed with
 * acme-tls/1 negotiated and a certificate for name, else 0.
 */
static int
tls_hello(int port, const char *name, const char *protos, size_t plen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const unsigned char *sel;
	unsigned int slen;
	X509 *cert = NULL;
	SSL *ssl;
	int s = connect_to(port), ok = 0;

	cr_assert_not_null(ctx);
	cr_assert_not_null(ssl = SSL_new(ctx));
	SSL_set_fd(ssl, s);
	SSL_set_tlsext_host_name(ssl, name);
	if (protos != NULL)
		cr_assert_eq(SSL_set_alpn_protos(ssl,
		                 (const unsigned char *)protos, (unsigned)plen),
		    0);
	if (SSL_connect(ssl) == 1) {
		SSL_get0_alpn_selected(ssl, &sel, &slen);
		cert = SSL_get1_peer_certificate(ssl);
		cr_assert_eq(slen, 10, "no ALPN negotiated");
		cr_assert_eq(memcmp(sel, "acme-tls/1", 10), 0);
		cr_assert_not_null(cert);
		cr_assert_eq(X509_check_host(cert, name, 0, 0, NULL), 1);
		ok = 1;
	}
	X509_free(cert);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(s);
	return ok;
}

#define ACME_TLS                                                               \
	"\x0a"                                                                 \
	"acme-tls/1"

/* RFC 8737 4: the certificate only with ALPN acme-tls/1, and a name. */
Test(solve, alpn_responder_answers_only_acme_tls_1, .timeout = 60)
{
	struct solve_cfg c = {.type = SOLVE_ALPN, .nnames = 2};
	struct kc_err err = {0};
	struct solver *sv = NULL;
	char spec[32];
	int port = free_port();

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	c.listen = spec;
	cr_assert_eq(
	    solve_start(&c, items, 2, &sv, &err), KK_OK, "%s", err.msg);
	cr_assert(tls_hello(port, "a.test", ACME_TLS, 11));
	cr_assert(tls_hello(port, "b.test", "\x02h2" ACME_TLS, 14));
	cr_assert_not(tls_hello(port, "a.test", NULL, 0),
	    "the certificate went to a hello without ALPN");
	cr_assert_not(tls_hello(port, "a.test", "\x02h2", 3),
	    "the certificate went to a hello without acme-tls/1");
	cr_assert_not(tls_hello(port, "c.test", ACME_TLS, 11));
	cr_assert(tls_hello(port, "a.test", ACME_TLS, 11), "server gone");
	cr_assert_eq(solve_stop(sv, &err), KK_OK);
}

/*
 * A peer that sends a byte at a time never lets a read time out; the
 * connection's total deadline (SOLVE_CONN_TIMEOUT) still ends it, and
 * the responder answers the next one.
 */
Test(solve, alpn_responder_drops_a_slow_peer_in_time, .timeout = 60)
{
	struct solve_cfg c = {.type = SOLVE_ALPN, .nnames = 2};
	struct pollfd pfd;
	struct kc_err err = {0};
	struct solver *sv = NULL;
	time_t start;
	char spec[32], b;
	int port = free_port(), s, closed = 0, i;

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	c.listen = spec;
	cr_assert_eq(
	    solve_start(&c, items, 2, &sv, &err), KK_OK, "%s", err.msg);
	s = connect_to(port);
	start = time(NULL);
	/* A handshake record header announcing 16 KiB, then a trickle. */
	cr_assert_eq(write(s, "\x16\x03\x01\x40\x00", 5), 5);
	for (i = 0; i < 60 && !closed; i++) {
		pfd.fd = s;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 250) > 0 && read(s, &b, 1) <= 0)
			closed = 1;
		else if (send(s, "x", 1, MSG_NOSIGNAL) != 1)
			closed = 1;
	}
	cr_assert(closed, "a slow peer held the responder for 15 s");
	cr_assert_leq(time(NULL) - start, SOLVE_CONN_TIMEOUT + 2,
	    "dropped after %ld s", (long)(time(NULL) - start));
	close(s);
	cr_assert(tls_hello(port, "a.test", ACME_TLS, 11));
	cr_assert_eq(solve_stop(sv, &err), KK_OK);
}

/*
 * A request head may take SOLVE_CONN_TIMEOUT in all. Connected at .9 of a
 * second of the wall clock, a deadline kept in whole seconds of it would
 * fall 4.1 s later: a head whose middle comes after 4.3 s, and its end
 * 0.1 s later, would be dropped though it came within its 5 s (0.6 s to
 * spare on a busy machine).
 */
Test(solve, standalone_http_gives_a_head_its_whole_time, .timeout = 60)
{
	static const char *const parts[] = {"GET /.well-known/acme-challenge/",
	    "tokB HTTP/1.1\r\n", "Host: x\r\n\r\n"};
	const struct timespec gaps[] = {
	    {4, 300 * 1000 * 1000}, {0, 100 * 1000 * 1000}};
	struct solve_cfg c = {.type = SOLVE_HTTP, .nnames = 2};
	struct timespec ts, pause = {0, 0};
	struct kc_err err = {0};
	struct solver *sv = NULL;
	char spec[32], buf[1024];
	size_t i, n = 0;
	ssize_t r;
	int port = free_port(), s;

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	c.listen = spec;
	cr_assert_eq(
	    solve_start(&c, items, 2, &sv, &err), KK_OK, "%s", err.msg);
	clock_gettime(CLOCK_REALTIME, &ts);
	pause.tv_nsec = (1900000000L - ts.tv_nsec) % 1000000000L;
	nanosleep(&pause, NULL);
	s = connect_to(port);
	for (i = 0; i < 3; i++) {
		if (i > 0)
			nanosleep(&gaps[i - 1], NULL);
		/* Dropped, the server's end is closed: no SIGPIPE. */
		if (send(s, parts[i], strlen(parts[i]), MSG_NOSIGNAL) !=
		    (ssize_t)strlen(parts[i]))
			break;
	}
	while (n < sizeof(buf) - 1 &&
	       (r = read(s, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(s);
	cr_assert(strncmp(buf, "HTTP/1.1 200", 12) == 0,
	    "no answer to a head that came within %d s: \"%s\"",
	    SOLVE_CONN_TIMEOUT, buf);
	cr_assert_eq(solve_stop(sv, &err), KK_OK);
}

/*
 * A head that stops coming is dropped when its time is up, not a socket
 * timeout later: each read waits only for the time left.
 */
Test(solve, standalone_http_ends_a_stalled_head_on_time, .timeout = 60)
{
	static const char part1[] = "GET /.well-known/acme-challenge/";
	static const char part2[] = "tokB HTTP/1.1\r\n";
	const struct timespec gap = {4, 500 * 1000 * 1000};
	struct solve_cfg c = {.type = SOLVE_HTTP, .nnames = 2};
	struct timespec t0, t1;
	struct kc_err err = {0};
	struct solver *sv = NULL;
	char spec[32], buf[256];
	int port = free_port(), s;
	double took;

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	c.listen = spec;
	cr_assert_eq(
	    solve_start(&c, items, 2, &sv, &err), KK_OK, "%s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = connect_to(port);
	cr_assert_eq(send(s, part1, strlen(part1), MSG_NOSIGNAL),
	    (ssize_t)strlen(part1));
	nanosleep(&gap, NULL);
	cr_assert_eq(send(s, part2, strlen(part2), MSG_NOSIGNAL),
	    (ssize_t)strlen(part2));
	/* The end of the head never comes; the server closes. */
	while (read(s, buf, sizeof(buf)) > 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(s);
	took = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert(
	    took >= SOLVE_CONN_TIMEOUT - 0.2 && took < SOLVE_CONN_TIMEOUT + 1.5,
	    "a stalled head was dropped after %.2f s, not %d s", took,
	    SOLVE_CONN_TIMEOUT);
	cr_assert_eq(solve_stop(sv, &err), KK_OK);
}

Test(solve, webroot_files_come_and_go)
{
	struct solve_cfg c = {.type = SOLVE_HTTP, .nnames = 2, .webroot = dir};
	struct kc_err err = {0};
	struct solver *sv = NULL;
	char path[128], *buf = NULL;
	size_t len;

	cr_assert_eq(
	    solve_start(&c, items, 2, &sv, &err), KK_OK, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge/tokB", dir);
	cr_assert_eq(file_read(path, 1024, &buf, &len, &err), KK_OK);
	cr_assert_str_eq(buf, "tokB.thumb");
	free(buf);
	cr_assert_eq(solve_stop(sv, &err), KK_OK);
	cr_assert_neq(access(path, F_OK), 0, "token file left behind");
}

Test(solve, webroot_refuses_a_token_that_is_a_path)
{
	static const struct solve_item evil = {"a.test", "../x", "k"};
	struct kc_err err = {0};

	cr_assert_neq(solve_http_put(dir, &evil, &err), KK_OK);
}

Test(solve, alpn_certificate_is_rfc8737)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char want[2 + 32];
	const ASN1_OCTET_STRING *v;
	GENERAL_NAMES *gens;
	X509_EXTENSION *ext;
	ASN1_OBJECT *oid;
	X509 *x = NULL;
	int i;

	cr_assert_eq(solve_alpn_cert(key, &items[0], &x), KK_OK);
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	cr_assert_eq(sk_GENERAL_NAME_num(gens), 1);
	cr_assert_str_eq((const char *)ASN1_STRING_get0_data(
	                     sk_GENERAL_NAME_value(gens, 0)->d.dNSName),
	    "a.test");
	GENERAL_NAMES_free(gens);
	oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	i = X509_get_ext_by_OBJ(x, oid, -1);
	cr_assert_geq(i, 0, "no acmeIdentifier");
	ext = X509_get_ext(x, i);
	cr_assert(
	    X509_EXTENSION_get_critical(ext), "acmeIdentifier not critical");
	v = X509_EXTENSION_get_data(ext);
	want[0] = 0x04;
	want[1] = 32;
	EVP_Digest("tokA-_1.thumb", 13, want + 2, NULL, EVP_sha256(), NULL);
	cr_assert_eq(ASN1_STRING_length(v), (int)sizeof(want));
	cr_assert_arr_eq(ASN1_STRING_get0_data(v), want, sizeof(want));
	ASN1_OBJECT_free(oid);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(solve, dns_hook_gets_action_name_value)
{
	struct kc_err err = {0};
	char cmd[256], path[96], *value = NULL, *buf = NULL, want[256];
	size_t len;

	snprintf(path, sizeof(path), "%s/log", dir);
	snprintf(cmd, sizeof(cmd),
	    "f() { echo \"$1|$2|$3|$KAKUIN_DNS_NAME\" >>%s; }; f", path);
	cr_assert_eq(solve_dns_hook(cmd, 5, "add", &items[1], &err), KK_OK,
	    "%s", err.msg);
	cr_assert_eq(solve_dns_value("tokB.thumb", &value), KK_OK);
	cr_assert_eq(strlen(value), 43);
	cr_assert_eq(file_read(path, 1024, &buf, &len, &err), KK_OK);
	snprintf(want, sizeof(want),
	    "add|_acme-challenge.b.test|%s|"
	    "_acme-challenge.b.test\n",
	    value);
	cr_assert_str_eq(buf, want);
	free(buf);
	free(value);
	cr_assert_eq(
	    solve_dns_hook("exit 3", 5, "add", &items[1], &err), KK_EIO);
	cr_assert_not_null(strstr(err.msg, "exit status 3"), "%s", err.msg);
}

Test(solve, config_round_trip_and_corruption)
{
	struct solve_cfg c = {.type = SOLVE_DNS, .nnames = 2}, d;
	struct kc_err err = {0};
	struct state *st = NULL;
	char path[128];

	c.names[0] = "a.test";
	c.names[1] = "b.test";
	c.dns_hook = "/bin/hook";
	c.hook_timeout = 30;
	cr_assert_eq(state_open(dir, 1, &st, &err), KK_OK);
	snprintf(path, sizeof(path), "%s/certs/a", dir);
	cr_assert_eq(file_mkdirs(path, 0700, &err), KK_OK);
	cr_assert_eq(solve_cfg_save(st, "a", &c, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(solve_cfg_load(st, "a", &d, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(d.type, SOLVE_DNS);
	cr_assert_eq(d.nnames, 2);
	cr_assert_str_eq(d.names[1], "b.test");
	cr_assert_str_eq(d.dns_hook, "/bin/hook");
	cr_assert_eq(d.hook_timeout, 30);
	solve_cfg_clear(&d);
	/* Missing: an org-only certificate. */
	cr_assert_eq(solve_cfg_load(st, "none", &d, &err), KK_OK);
	cr_assert_eq(d.type, SOLVE_NONE);
	/* A hook-less dns-01 cannot have been written by enroll. */
	snprintf(path, sizeof(path), "%s/certs/a/solve.json", dir);
	cr_assert_eq(
	    file_write_atomic(path,
	        "{\"challenge\":\"dns-01\",\"dns\":[\"a\"]}", 34, 0600, &err),
	    KK_OK);
	cr_assert_eq(solve_cfg_load(st, "a", &d, &err), KK_EINVAL);
	cr_assert_eq(err.code, EX_CONFIG);
	cr_assert_not_null(strstr(err.msg, "--dns-hook"), "%s", err.msg);
	state_free(st);
}

Test(solve, csr_carries_the_dns_names)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *names[] = {"a.test", "b.test"};
	STACK_OF(X509_EXTENSION) * exts;
	struct kc_err err = {0};
	unsigned char *der = NULL;
	const unsigned char *p;
	GENERAL_NAMES *gens;
	X509_REQ *req;
	size_t len;

	cr_assert_eq(csr_build(key, NULL, "a.test", names, 2, &der, &len, &err),
	    KK_OK, "%s", err.msg);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	cr_assert_not_null(req);
	cr_assert_eq(X509_NAME_get_index_by_NID(X509_REQ_get_subject_name(req),
	                 NID_organizationIdentifier, -1),
	    -1);
	exts = X509_REQ_get_extensions(req);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	cr_assert_eq(sk_GENERAL_NAME_num(gens), 2);
	cr_assert_str_eq((const char *)ASN1_STRING_get0_data(
	                     sk_GENERAL_NAME_value(gens, 1)->d.dNSName),
	    "b.test");
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	free(der);
	EVP_PKEY_free(key);
}
