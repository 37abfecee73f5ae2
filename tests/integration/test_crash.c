/*
 * A certificate the server returned is recorded: SIGKILL right after the
 * finalize response, restart on the same data, and the certificate is
 * still there for download and in the operator API.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
