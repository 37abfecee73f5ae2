/*
 * Admission of validations (--va-per-account, --va-max): http-01 against
 * a target that accepts connections and never answers, so that each
 * validation holds its worker for the whole --va-timeout. While one of an
 * account's runs, its next is refused at once with rateLimited and
 * Retry-After and its challenge stays pending; another account still
 * validates, up to the process's cap, beyond which the answer is 503; and
 * once the first has ended the refused challenge can be sent again.
 * And the point of it all: an account that answers many challenges at
 * once leaves workers for everybody else.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "harness_extra.h"

#define ORG "NTRJP-9234567890123"
#define TIMEOUT 3 /* --va-timeout */

static struct hsrv srv;
static char *op;
static pid_t dns_pid;
static int slow_fd = -1; /* the target: listens, accepts, never answers */
static char va_resolver[32], va_http[8], va_timeout[8];
static const char *va_args[] = {"--va-resolver", va_resolver, "--va-http-port",
    va_http, "--va-timeout", va_timeout, "--va-allow-private",
    "--va-per-account", "1", "--va-max", "2", NULL};
/* Eight workers, all of which validations may hold (--va-max 8) but for
 * the account limit (KAKUIN_STARVE_PER_ACCOUNT=0 lifts it, to measure
 * what it prevents). */
#define STARVE_THREADS 8
#define STR_(x) #x
#define STR(x) STR_(x)
static char starve_conf[64], starve_per_account[8];
static const char *starve_args[] = {"--config", starve_conf, "--va-resolver",
    va_resolver, "--va-http-port", va_http, "--va-timeout", va_timeout,
    "--va-allow-private", "--va-per-account", starve_per_account, "--va-max",
    STR(STARVE_THREADS), NULL};

/* One request at work at a time (--active 1): a validation must not hold
 * that place while it waits on the network. */
static const char *gate_args[] = {"--va-resolver", va_resolver,
    "--va-http-port", va_http, "--va-timeout", va_timeout, "--va-allow-private",
    "--va-per-account", "2", "--va-max", "2", "--active", "1", NULL};

/* A loopback socket bound to a free port, listening when listen_too. */
static int
loopback_socket(int listen_too, int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	if (listen_too)
		cr_assert_eq(listen(fd, 16), 0);
	return fd;
}

static void
start(const char *const *args)
{
	char dns[32], mgmt[32];
	int dport, mport, hport, fd;

	if (access("/usr/bin/pebble-challtestsrv", X_OK) != 0)
		cr_skip_test("pebble-challtestsrv is not installed");
	fd = loopback_socket(0, &dport);
	close(fd);
	fd = loopback_socket(0, &mport);
	close(fd);
	slow_fd = loopback_socket(1, &hport);
	snprintf(dns, sizeof(dns), "127.0.0.1:%d", dport);
	snprintf(mgmt, sizeof(mgmt), "127.0.0.1:%d", mport);
	snprintf(va_resolver, sizeof(va_resolver), "127.0.0.1:%d", dport);
	snprintf(va_http, sizeof(va_http), "%d", hport);
	snprintf(va_timeout, sizeof(va_timeout), "%d", TIMEOUT);
	/* Every name is 127.0.0.1. */
	dns_pid = fork();
	cr_assert_neq(dns_pid, -1);
	if (dns_pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("pebble-challtestsrv", "pebble-challtestsrv",
		    "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01",
		    dns, "-management", mgmt, "-http01", "", "-https01", "",
		    "-tlsalpn01", "", (char *)NULL);
		_exit(127);
	}
	hwait_port(mport);
	hsrv_start_args(&srv, NULL, args);
	op = hsrv_token(&srv, "limit-op", "operator");
}

static void
setup(void)
{
	start(va_args);
}

static void
setup_gate(void)
{
	start(gate_args);
}

static void
setup_starve(void)
{
	const char *env = getenv("KAKUIN_STARVE_PER_ACCOUNT");
	char json[64];

	snprintf(starve_conf, sizeof(starve_conf),
	    "/tmp/kakuin-va-starve-%d.json", (int)getpid());
	snprintf(json, sizeof(json), "{\"threads\": %d}", STARVE_THREADS);
	hwrite(starve_conf, json, strlen(json));
	snprintf(starve_per_account, sizeof(starve_per_account), "%s",
	    env != NULL ? env : "2");
	start(starve_args);
}

static void
teardown(void)
{
	free(op);
	op = NULL;
	hsrv_stop(&srv);
	if (dns_pid > 0) {
		kill(dns_pid, SIGTERM);
		waitpid(dns_pid, NULL, 0);
		dns_pid = 0;
	}
	if (slow_fd >= 0)
		close(slow_fd);
	slow_fd = -1;
	if (starve_conf[0] != '\0')
		unlink(starve_conf);
	starve_conf[0] = '\0';
}

TestSuite(va_limit, .init = setup, .fini = teardown, .timeout = 90);

/* The http-01 challenge URL of a new pending authorization for name. */
static char *
http01(const struct hacct *a, const char *name)
{
	char *url = hurl(&srv, "newAuthz"), body[256], *chall = NULL;
	const cJSON *ch;
	struct hresp r;

	snprintf(body, sizeof(body),
	    "{\"identifier\":{\"type\":\"dns\",\"value\":\"%s\"}}", name);
	hpost(&srv, a, url, body, &r);
	cr_assert_eq(r.status, 201, "%s: %ld %s", name, r.status, r.body);
	cJSON_ArrayForEach(ch, cJSON_GetObjectItem(r.json, "challenges"))
	{
		if (strcmp(hjstr(ch, "type"), "http-01") == 0)
			chall = strdup(hjstr(ch, "url"));
	}
	cr_assert_not_null(chall, "%s", r.body);
	hresp_clear(&r);
	free(url);
	return chall;
}

/* A challenge POST {} in a thread of its own: it waits for validation. */
struct answer {
	const struct hacct *a;
	const char *url;
	struct hresp r;
	pthread_t t;
};

static void *
post_thread(void *arg)
{
	struct answer *x = arg;

	hpost(&srv, x->a, x->url, "{}", &x->r);
	return NULL;
}

static void
post_start(struct answer *x, const struct hacct *a, const char *url)
{
	x->a = a;
	x->url = url;
	cr_assert_eq(pthread_create(&x->t, NULL, post_thread, x), 0);
}

/* Waits for the server's next connection to the target: the validation
 * it is for runs now, and will until --va-timeout. Returns its fd. */
static int
target_accept(void)
{
	struct pollfd pfd = {.fd = slow_fd, .events = POLLIN};
	int fd;

	cr_assert_eq(
	    poll(&pfd, 1, 5000), 1, "no validation reached the target");
	fd = accept(slow_fd, NULL, NULL);
	cr_assert_geq(fd, 0);
	return fd;
}

/* The challenge's status now (POST-as-GET). */
static void
assert_status(const struct hacct *a, const char *url, const char *want)
{
	struct hresp r;

	hpost(&srv, a, url, NULL, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), want, "%s", r.body);
	hresp_clear(&r);
}

/* A validation that ended on the silent target: invalid, within about
 * --va-timeout, its error a connection problem. */
static void
assert_failed_normally(const struct hresp *r)
{
	const cJSON *err;

	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_assert_str_eq(hjstr(r->json, "status"), "invalid", "%s", r->body);
	err = cJSON_GetObjectItem(r->json, "error");
	cr_assert_not_null(err, "%s", r->body);
	cr_assert_str_eq(hjstr(err, "type"),
	    "urn:ietf:params:acme:error:connection", "%s", r->body);
}

Test(va_limit, one_account_at_a_time_others_up_to_the_cap)
{
	struct hacct a = {0}, b = {0}, c = {0};
	struct answer a1, b1;
	struct hresp r;
	char *order, *ca1, *ca2, *cb1, *cc1;
	int fds[3], nfd = 0;
	time_t t0;

	order = henroll_verified(&srv, &a, ORG);
	hnew_bound_account(&srv, op, ORG, &b);
	hnew_bound_account(&srv, op, ORG, &c);
	ca1 = http01(&a, "a1.example.com");
	ca2 = http01(&a, "a2.example.com");
	cb1 = http01(&b, "b1.example.com");
	cc1 = http01(&c, "c1.example.com");

	/* a's first validation runs... */
	post_start(&a1, &a, ca1);
	fds[nfd++] = target_accept();
	/* ...so its second, of another authorization, is refused at once,
	 * and nothing is recorded: the challenge is still pending. */
	t0 = time(NULL);
	hpost(&srv, &a, ca2, "{}", &r);
	cr_assert_leq(time(NULL) - t0, 1, "the refusal waited");
	HASSERT_ACME_PROBLEM(&r, 429, "rateLimited");
	cr_assert_eq(r.retry_after, TIMEOUT, "Retry-After %ld", r.retry_after);
	hresp_clear(&r);
	assert_status(&a, ca2, "pending");
	assert_status(&a, ca1, "processing");

	/* Another account is not affected... */
	post_start(&b1, &b, cb1);
	fds[nfd++] = target_accept();
	/* ...up to the process's cap (--va-max 2): a third account then
	 * hears 503, also with Retry-After, also with nothing recorded. */
	hpost(&srv, &c, cc1, "{}", &r);
	HASSERT_ACME_PROBLEM(&r, 503, "serverInternal");
	cr_assert_eq(r.retry_after, TIMEOUT, "Retry-After %ld", r.retry_after);
	hresp_clear(&r);
	assert_status(&c, cc1, "pending");

	/* The running ones end as they would have anyway. */
	cr_assert_eq(pthread_join(a1.t, NULL), 0);
	cr_assert_eq(pthread_join(b1.t, NULL), 0);
	assert_failed_normally(&a1.r);
	assert_failed_normally(&b1.r);
	hresp_clear(&a1.r);
	hresp_clear(&b1.r);

	/* Every slot was given back: a's refused challenge, sent again,
	 * now validates (and fails on the silent target as any would). */
	post_start(&a1, &a, ca2);
	fds[nfd++] = target_accept();
	assert_status(&a, ca2, "processing");
	cr_assert_eq(pthread_join(a1.t, NULL), 0);
	assert_failed_normally(&a1.r);
	hresp_clear(&a1.r);

	for (int i = 0; i < nfd; i++)
		close(fds[i]);
	free(ca1);
	free(ca2);
	free(cb1);
	free(cc1);
	free(order);
	hacct_clear(&a);
	hacct_clear(&b);
	hacct_clear(&c);
}

TestSuite(va_starve, .init = setup_starve, .fini = teardown, .timeout = 90);

/* Milliseconds since t0. */
static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000L +
	       (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

Test(va_starve, many_validations_of_one_account_leave_workers)
{
	struct hacct a = {0};
	struct answer x[STARVE_THREADS];
	char *order, *chall[STARVE_THREADS], name[32];
	int fds[STARVE_THREADS], nfd = 0, limited = 0;
	struct timespec t0;
	struct pollfd pfd = {.fd = slow_fd, .events = POLLIN};
	long ms;
	char *nonce;

	order = henroll_verified(&srv, &a, ORG);
	for (int i = 0; i < STARVE_THREADS; i++) {
		snprintf(name, sizeof(name), "s%d.example.com", i);
		chall[i] = http01(&a, name);
	}
	/* Every challenge at once, as a careless client would. */
	for (int i = 0; i < STARVE_THREADS; i++)
		post_start(&x[i], &a, chall[i]);
	/* The validations admitted reach the target within a second. */
	while (nfd < STARVE_THREADS && poll(&pfd, 1, 1000) == 1)
		fds[nfd++] = accept(slow_fd, NULL, NULL);
	/* Another client meanwhile: a nonce (a request as small as any). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nonce = hnonce(&srv);
	ms = ms_since(&t0);
	cr_log_info("%d validations running on %d workers (--va-per-account "
	            "%s): newNonce took %ld ms",
	    nfd, STARVE_THREADS, starve_per_account, ms);
	for (int i = 0; i < STARVE_THREADS; i++) {
		cr_assert_eq(pthread_join(x[i].t, NULL), 0);
		if (x[i].r.status == 429)
			limited++;
		hresp_clear(&x[i].r);
		free(chall[i]);
	}
	cr_log_info("%d of %d refused with 429", limited, STARVE_THREADS);
	cr_assert_eq(nfd, atoi(starve_per_account) > 0
	                      ? atoi(starve_per_account)
	                      : STARVE_THREADS);
	/* A validation on a silent target takes TIMEOUT seconds; waiting
	 * for one to free a worker would take as long. */
	if (atoi(starve_per_account) > 0)
		cr_assert_lt(ms, 1000, "newNonce waited %ld ms", ms);
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
	free(nonce);
	free(order);
	hacct_clear(&a);
}

TestSuite(va_gate, .init = setup_gate, .fini = teardown, .timeout = 90);

Test(va_gate, validations_wait_on_the_network_without_a_place)
{
	struct hacct a = {0};
	struct answer x[2];
	char *order, *chall[2], *nonce;
	int fds[2];
	struct timespec t0;
	long ms;

	order = henroll_verified(&srv, &a, ORG);
	chall[0] = http01(&a, "g0.example.com");
	chall[1] = http01(&a, "g1.example.com");
	/* Both run at once although only one request may be at work: each
	 * gave its place up while it waits for the silent target. */
	post_start(&x[0], &a, chall[0]);
	fds[0] = target_accept();
	post_start(&x[1], &a, chall[1]);
	fds[1] = target_accept();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nonce = hnonce(&srv);
	ms = ms_since(&t0);
	cr_assert_lt(ms, 1000, "newNonce waited %ld ms behind validations", ms);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(pthread_join(x[i].t, NULL), 0);
		/* And each came back for its result, recorded as usual. */
		assert_failed_normally(&x[i].r);
		hresp_clear(&x[i].r);
		close(fds[i]);
		free(chall[i]);
	}
	free(nonce);
	free(order);
	hacct_clear(&a);
}
