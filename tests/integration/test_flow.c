/*
 * The product's main story against the real server: an unbound account
 * asks for verification, an operator approves, the certificate is issued
 * from verified data and checked with openssl itself; a bound account then
 * enrolls with no operator; revocation reaches the CRL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "harness_extra.h"

#define ORG "NTRJP-9234567890123"

static struct hsrv srv;

static void
setup(void)
{
	hsrv_start(&srv, NULL);
}

static void
teardown(void)
{
	hsrv_stop(&srv);
}

TestSuite(flow, .init = setup, .fini = teardown, .timeout = 120);

/* Finalizes a ready order with a fresh key; returns the chain PEM. */
static char *
finalize(struct hacct *a, const char *order, const char *cn, EVP_PKEY **key)
{
	struct hresp r;
	unsigned char *der;
	size_t len;
	char *payload, *pem, url[512];

	*key = hkey("ec-p256");
	der = hcsr(*key, ORG, cn, &len);
	payload = hcsr_payload(der, len);
	snprintf(url, sizeof(url), "%s/finalize", order);
	hpost(&srv, a, url, payload, &r);
	cr_assert_eq(r.status, 200, "finalize: %s", r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	cr_assert_not_null(hjstr(r.json, "certificate"));
	{
		struct hresp c;
		char *cert = strdup(hjstr(r.json, "certificate"));

		hresp_clear(&r);
		hpost(&srv, a, cert, NULL, &c);
		cr_assert_eq(c.status, 200);
		cr_assert_str_eq(c.ctype, "application/pem-certificate-chain");
		pem = strdup(c.body);
		hresp_clear(&c);
		free(cert);
	}
	free(payload);
	OPENSSL_free(der);
	return pem;
}

Test(flow, verify_approve_issue_and_check_with_openssl)
{
	struct hacct a = {0};
	struct hresp r;
	EVP_PKEY *key;
	char *order, *pem, path[4096];

	order = henroll_verified(&srv, &a, ORG);
	pem = finalize(&a, order, "host-a.example.jp", &key);

	snprintf(path, sizeof(path), "%s/chain.pem", srv.dir);
	hwrite(path, pem, strlen(pem));
	/* The leaf first, then the issuing CA; openssl must accept it as a
	 * client certificate chaining to the root clients trust. */
	cr_assert_eq(hsh("cd '%s' && awk '/BEGIN/{n++} n==1' chain.pem > "
	                 "leaf.pem && awk '/BEGIN/{n++} n==2' chain.pem > "
	                 "issuing.pem",
	                 srv.dir),
	    0);
	cr_assert_eq(hsh("openssl verify -purpose sslclient -CAfile '%s' "
	                 "-untrusted '%s/issuing.pem' '%s/leaf.pem' "
	                 ">/dev/null",
	                 srv.root, srv.dir, srv.dir),
	    0);
	/* The subject is built from verified data, not from the CSR. */
	cr_assert_eq(hsh("openssl x509 -in '%s/leaf.pem' -noout -subject "
	                 "-nameopt RFC2253 | grep -q 'CN=host-a.example.jp,"
	                 "organizationIdentifier=" ORG ",O=Example Power "
	                 "Co.\\\\, Ltd.,C=JP'",
	                 srv.dir),
	    0);
	cr_assert_eq(hsh("openssl x509 -in '%s/leaf.pem' -noout -ext "
	                 "extendedKeyUsage | grep -q 'TLS Web Client "
	                 "Authentication'",
	                 srv.dir),
	    0);

	/* The operator API lists it. */
	{
		char *tok = hsrv_token(&srv, "auditor1", "auditor");

		hoper(&srv, tok, "GET", "certificates?org=" ORG, NULL, &r);
		cr_assert_eq(r.status, 200);
		cr_assert_eq(cJSON_GetArraySize(
		                 cJSON_GetObjectItem(r.json, "certificates")),
		    1);
		hresp_clear(&r);
		free(tok);
	}
	EVP_PKEY_free(key);
	free(pem);
	free(order);
	hacct_clear(&a);
}

Test(flow, bound_account_enrolls_without_operator)
{
	struct hacct a = {0}, b = {0};
	struct hresp r;
	char *order, *tok, *pem, *kid, *hmac;
	EVP_PKEY *key;

	order = henroll_verified(&srv, &a, ORG);
	free(order);
	/* The operator issues an EAB key for the verified organization. */
	tok = hsrv_token(&srv, "op-eab", "operator");
	hoper(
	    &srv, tok, "POST", "orgs/" ORG "/eab-keys", "{\"max_uses\":5}", &r);
	cr_assert_eq(r.status, 201, "eab: %s", r.body);
	kid = strdup(hjstr(r.json, "kid"));
	hmac = strdup(hjstr(r.json, "hmac_key"));
	cr_assert_str_eq(hjstr(r.json, "org"), ORG);
	hresp_clear(&r);

	hnew_account(&srv, &b, kid, hmac);
	hnew_order(&srv, &b, ORG, &order, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "ready");
	hresp_clear(&r);
	pem = finalize(&b, order, "host-b.example.jp", &key);
	cr_assert_not_null(strstr(pem, "BEGIN CERTIFICATE"));

	/* A's own account is bound too: its next order is ready at once. */
	free(order);
	hnew_order(&srv, &a, ORG, &order, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "ready");
	hresp_clear(&r);

	EVP_PKEY_free(key);
	free(pem);
	free(order);
	free(kid);
	free(hmac);
	free(tok);
	hacct_clear(&a);
	hacct_clear(&b);
}
