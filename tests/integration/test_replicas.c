/*
 * Two replicas of the server on one PostgreSQL database, as behind a load
 * balancer: requests alternate between them and the client cannot tell.
 * A nonce one replica issued is redeemed by either, once. A server that
 * loses its database answers 503 with Retry-After and recovers by itself.
 * With SQLite storage (one process per database) there is nothing to
 * test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "harness_extra.h"

#define ORG "NTRJP-9234567890123"
#define ORDER_PAYLOAD                                                          \
	"{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"}]}"

static struct hsrv a, b;

static void
setup(void)
{
	hsrv_start(&a, NULL);
	if (a.storage[0] != '\0')
		hsrv_start_replica(&b, &a);
}

static void
teardown(void)
{
	hsrv_stop(&b);
	hsrv_stop(&a);
}

static void
need_shared_storage(void)
{
	if (a.storage[0] == '\0')
		cr_skip_test("replicas share a PostgreSQL database; "
		             "run with KAKUIN_TEST_STORAGE (the @pg tests)");
}

TestSuite(replicas, .init = setup, .fini = teardown, .timeout = 120);

Test(replicas, a_nonce_is_redeemed_once_by_either_replica)
{
	struct hacct acc = {0};
	struct hresp r;
	char *url, *n;

	need_shared_storage();
	hnew_account(&a, &acc, NULL, NULL);
	url = hurl(&a, "newOrder");

	/* Issued by a, redeemed by b. */
	n = hnonce(&a);
	hpost_nonce(&b, &acc, url, ORDER_PAYLOAD, n, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	hresp_clear(&r);
	/* And then by neither. */
	hpost_nonce(&a, &acc, url, ORDER_PAYLOAD, n, &r);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(hproblem(&r), "badNonce");
	hresp_clear(&r);
	hpost_nonce(&b, &acc, url, ORDER_PAYLOAD, n, &r);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(hproblem(&r), "badNonce");
	hresp_clear(&r);
	free(n);

	/* The other way round. */
	n = hnonce(&b);
	hpost_nonce(&a, &acc, url, ORDER_PAYLOAD, n, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	hresp_clear(&r);
	free(n);
	free(url);
	hacct_clear(&acc);
}

Test(replicas, enrollment_alternating_between_replicas)
{
	struct hacct acc = {0};
	struct hresp r;
	EVP_PKEY *key;
	unsigned char *der;
	size_t len;
	char *order, *payload, *cert, fin[512];

	need_shared_storage();
	/* Account, order and verification through a... */
	order = henroll_verified(&a, &acc, ORG);
	/* ...seen ready through b... */
	hpost(&b, &acc, order, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "ready");
	hresp_clear(&r);
	/* ...finalized through b... */
	key = hkey("ec-p256");
	der = hcsr(key, ORG, "host-r.example.jp", &len);
	payload = hcsr_payload(der, len);
	snprintf(fin, sizeof(fin), "%s/finalize", order);
	hpost(&b, &acc, fin, payload, &r);
	cr_assert_eq(r.status, 200, "finalize: %s", r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	cert = strdup(hjstr(r.json, "certificate"));
	hresp_clear(&r);
	/* ...and downloaded through a. */
	hpost(&a, &acc, cert, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(r.ctype, "application/pem-certificate-chain");
	cr_assert_not_null(strstr(r.body, "BEGIN CERTIFICATE"));
	hresp_clear(&r);

	free(cert);
	free(payload);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	free(order);
	hacct_clear(&acc);
}

Test(replicas, lost_database_is_503_then_recovers)
{
	struct hacct acc = {0};
	struct hresp r;
	char *n;

	need_shared_storage();
	hnew_account(&a, &acc, NULL, NULL);
	n = hnonce(&a);
	hsrv_db_disconnect(&a);
	/* The first request to need the database finds its connection
	 * gone: "try again", nothing changed... */
	hpost_nonce(&a, &acc, acc.kid, NULL, n, &r);
	cr_assert_eq(r.status, 503, "%ld %s", r.status, r.body);
	cr_assert_gt(r.retry_after, 0);
	cr_assert_str_eq(hproblem(&r), "serverInternal");
	hresp_clear(&r);
	/* ...and the server has reconnected for the next one; the nonce
	 * was not spent. */
	hpost_nonce(&a, &acc, acc.kid, NULL, n, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	hresp_clear(&r);
	free(n);
	hacct_clear(&acc);
}
