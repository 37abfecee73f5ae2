/*
 * A certificate the server returned is recorded: SIGKILL right after the
 * finalize response, restart on the same data, and the certificate is
 * still there for download and in the operator API. A kill leaves the page
 * cache intact, so that alone passes even with PRAGMA synchronous = OFF:
 * the record must also have been synced before the response began, which
 * the server is watched for with tests/preload/syncspy.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define ORG "NTRJP-9234567890123"

static struct hsrv srv;

static void
teardown(void)
{
	hsrv_stop(&srv);
}

Test(crash, certificate_survives_sigkill, .fini = teardown, .timeout = 120)
{
	struct hacct a = {0};
	struct hresp r;
	EVP_PKEY *key = hkey("ec-p384");
	unsigned char *der;
	size_t len;
	char *order, *payload, *cert, *serial, url[512], *tok;

	hsrv_start(&srv, NULL);
	order = henroll_verified(&srv, &a, ORG);
	der = hcsr(key, ORG, "host-k.example.jp", &len);
	payload = hcsr_payload(der, len);
	snprintf(url, sizeof(url), "%s/finalize", order);
	hpost(&srv, &a, url, payload, &r);
	cr_assert_eq(r.status, 200);
	cert = strdup(
	    cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "certificate")));
	hresp_clear(&r);

	/* No shutdown path runs: only what was committed survives. */
	hsrv_kill(&srv, SIGKILL);
	hsrv_restart(&srv);

	hpost(&srv, &a, cert, NULL, &r);
	cr_assert_eq(r.status, 200, "download after restart: %s", r.body);
	cr_assert_not_null(strstr(r.body, "BEGIN CERTIFICATE"));
	hresp_clear(&r);
	hpost(&srv, &a, order, NULL, &r);
	cr_assert_str_eq(
	    cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "status")),
	    "valid");
	hresp_clear(&r);
	serial = strrchr(cert, '/') + 1;
	tok = hsrv_token(&srv, "aud", "auditor");
	hoper(&srv, tok, "GET", "certificates", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(
	    cJSON_GetStringValue(cJSON_GetObjectItem(
	        cJSON_GetArrayItem(
	            cJSON_GetObjectItem(r.json, "certificates"), 0),
	        "serial")),
	    serial);
	hresp_clear(&r);
	free(tok);
	free(cert);
	free(payload);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	free(order);
	hacct_clear(&a);
}

/* The lines of the syncspy log (see tests/preload/syncspy.c); caller
 * frees *buf and the array. */
static char **
spy_lines(const char *path, char **buf, size_t *n)
{
	char **lines = NULL, *p, *nl;
	size_t len = 0, cap = 0;
	FILE *f;

	cr_assert_not_null(f = fopen(path, "r"), "no %s", path);
	cr_assert_eq(getdelim(buf, &len, '\0', f) > 0, 1, "%s is empty", path);
	fclose(f);
	*n = 0;
	for (p = *buf; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			cr_assert_not_null(
			    lines = realloc(lines, cap * sizeof(*lines)));
		}
		lines[(*n)++] = p;
	}
	return lines;
}

static char spy[] = "/tmp/kakuin-syncspy-XXXXXX";

/* The server logs until it has stopped: the log goes after it. */
static void
teardown_spy(void)
{
	hsrv_stop(&srv);
	unlink(spy);
}

Test(crash, certificate_is_synced_before_it_is_returned, .fini = teardown_spy,
    .timeout = 120)
{
	char url[512], *order, *payload;
	char *buf = NULL, **lines;
	const char *env[] = {
	    "SYNCSPY_LOG", spy, "SYNCSPY_MATCH", "kakuin.db", NULL};
	size_t n, i, fin, prev;
	struct hacct a = {0};
	struct hresp r;
	EVP_PKEY *key = hkey("ec-p256");
	unsigned char *der;
	size_t len;
	int fd, synced = 0;

	/* PostgreSQL syncs its WAL in its own server process, which the spy
	 * does not see (synchronous_commit = on is the contract there). */
	if (hstorage_pg())
		cr_skip_test("SQLite only: the server's own syncs");
	cr_assert_geq(fd = mkstemp(spy), 0);
	close(fd);
	/* Only the server is watched. */
	hsrv_start_preloaded(&srv, KAKUIN_SYNCSPY, env);

	order = henroll_verified(&srv, &a, ORG);
	der = hcsr(key, ORG, "host-s.example.jp", &len);
	payload = hcsr_payload(der, len);
	snprintf(url, sizeof(url), "%s/finalize", order);
	hpost(&srv, &a, url, payload, &r);
	cr_assert_eq(r.status, 200);
	hresp_clear(&r);

	lines = spy_lines(spy, &buf, &n);
	/* The finalize response, and the response before it. */
	for (fin = n; fin > 0; fin--)
		if (strncmp(lines[fin - 1], "respond POST ", 13) == 0 &&
		    strstr(lines[fin - 1], "/finalize") != NULL)
			break;
	cr_assert_gt(fin, 0, "no finalize response logged: is %s preloaded?",
	    KAKUIN_SYNCSPY);
	fin--;
	for (prev = fin; prev > 0; prev--)
		if (strncmp(lines[prev - 1], "respond ", 8) == 0)
			break;
	for (i = prev; i < fin; i++)
		synced |= strncmp(lines[i], "sync ", 5) == 0;
	cr_assert(synced,
	    "the finalize response began before the certificate's record "
	    "was synced (log lines %zu to %zu of %s)",
	    prev, fin + 1, spy);
	free(lines);
	free(buf);
	free(payload);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	free(order);
	hacct_clear(&a);
}
