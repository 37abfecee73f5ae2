/*
 * Two replicas of the server on one PostgreSQL database, as behind a load
 * balancer: requests alternate between them and the client cannot tell.
 * A nonce one replica issued is redeemed by either, once. A server that
 * loses its database answers 503 with Retry-After and recovers by itself.
 * With SQLite storage (one process per database) there is nothing to
 * test.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/x509v3.h>

#include "b64url.h"
#include "eab.h"
#include "harness.h"
#include "harness_extra.h"

#define ORG "NTRJP-9234567890123"
#define ORDER_PAYLOAD                                                          \
	"{\"identifiers\":[{\"type\":\"org\",\"value\":\"" ORG "\"}]}"

static struct hsrv a, b;

/*
 * Nothing starts without shared storage: each test then skips, and a
 * skipped test's .fini does not run, so a server started here would be
 * left behind.
 */
static void
setup(void)
{
	if (!hstorage_pg())
		return;
	hsrv_start(&a, NULL);
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
	/* A request racing the end of the sessions may find its connection
	 * gone: "try again", nothing changed... */
	hpost_nonce(&a, &acc, acc.kid, NULL, n, &r);
	if (r.status == 503) {
		cr_assert_gt(r.retry_after, 0);
		cr_assert_str_eq(hproblem(&r), "serverInternal");
		hresp_clear(&r);
		/* ...and the server has reconnected for the next one; the
		 * nonce was not spent. */
		hpost_nonce(&a, &acc, acc.kid, NULL, n, &r);
	}
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	hresp_clear(&r);
	free(n);

	/* Sessions that ended while idle are noticed before use: the
	 * request is served on new ones, with no 503 at all. */
	n = hnonce(&a);
	hsrv_db_disconnect(&a);
	usleep(500 * 1000); /* the backends have exited */
	hpost_nonce(&a, &acc, acc.kid, NULL, n, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	hresp_clear(&r);
	free(n);
	hacct_clear(&acc);
}

/*
 * Accounts made at once through both replicas with one EAB key: every
 * newAccount counts a use of the same row and appends to the audit log,
 * so the replicas' transactions keep losing serialization races to each
 * other. The server runs a loser again; no client may see a 503 for it.
 */
#define RACERS 8 /* threads, half of them on each replica */
#define RACES 6  /* accounts each */

struct racer {
	struct hsrv *h;
	const char *kid, *hmac;
	long status[RACES];
	char problem[RACES][128];
};

static void *
race_accounts(void *arg)
{
	struct racer *r = arg;
	struct hacct acc = {0};
	struct hresp resp;
	unsigned char *mac = NULL;
	size_t maclen = 0;
	cJSON *eab = NULL;
	char *url = hurl(r->h, "newAccount"), *text, *payload;
	int i;

	(void)b64url_decode(r->hmac, strlen(r->hmac), &mac, &maclen);
	for (i = 0; i < RACES; i++) {
		acc.key = hkey("ec-p256");
		r->status[i] = -1;
		if (eab_build(r->kid, mac, maclen, acc.key, url, &eab) != KK_OK)
			break;
		text = cJSON_PrintUnformatted(eab);
		if (text == NULL || asprintf(&payload,
		                        "{\"termsOfServiceAgreed\":true,"
		                        "\"externalAccountBinding\":%s}",
		                        text) < 0)
			break;
		hpost(r->h, &acc, url, payload, &resp);
		r->status[i] = resp.status;
		snprintf(r->problem[i], sizeof(r->problem[i]), "%s",
		    resp.body != NULL ? resp.body : "");
		hresp_clear(&resp);
		free(payload);
		cJSON_free(text);
		cJSON_Delete(eab);
		eab = NULL;
		EVP_PKEY_free(acc.key);
		acc.key = NULL;
	}
	cJSON_Delete(eab);
	free(mac);
	free(url);
	return NULL;
}

Test(replicas, racing_on_one_eab_key_never_answers_503)
{
	struct racer r[RACERS];
	pthread_t t[RACERS];
	struct hacct acc = {0};
	struct hresp resp;
	char *token, *order, *kid, *hmac, body[64];
	int i, j, made = 0;

	need_shared_storage();
	/* EAB keys are for a verified organization. */
	free(order = henroll_verified(&a, &acc, ORG));
	token = hsrv_token(&a, "eab-op", "operator");
	snprintf(body, sizeof(body), "{\"max_uses\":%d}", RACERS * RACES);
	hoper(&a, token, "POST", "orgs/" ORG "/eab-keys", body, &resp);
	cr_assert_eq(
	    resp.status, 201, "eab-keys: %ld %s", resp.status, resp.body);
	kid = strdup(hjstr(resp.json, "kid"));
	hmac = strdup(hjstr(resp.json, "hmac_key"));
	hresp_clear(&resp);

	for (i = 0; i < RACERS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].h = i % 2 ? &b : &a;
		r[i].kid = kid;
		r[i].hmac = hmac;
		cr_assert_eq(
		    pthread_create(&t[i], NULL, race_accounts, &r[i]), 0);
	}
	for (i = 0; i < RACERS; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	for (i = 0; i < RACERS; i++)
		for (j = 0; j < RACES; j++) {
			cr_assert_neq(r[i].status[j], 503,
			    "replica %c answered 503: %s", i % 2 ? 'b' : 'a',
			    r[i].problem[j]);
			cr_assert_eq(r[i].status[j], 201, "%ld %s",
			    r[i].status[j], r[i].problem[j]);
			made++;
		}
	cr_assert_eq(made, RACERS * RACES);

	/* Every use was counted once, none lost: the key is used up. */
	memset(&r[0], 0, sizeof(r[0]));
	r[0].h = &b;
	r[0].kid = kid;
	r[0].hmac = hmac;
	race_accounts(&r[0]);
	cr_assert(r[0].status[0] >= 400 && r[0].status[0] < 500,
	    "a use past max_uses: %ld %s", r[0].status[0], r[0].problem[0]);
	free(kid);
	free(hmac);
	free(token);
	hacct_clear(&acc);
}

/* The CRL number of the CRL that h serves at url; *der (caller frees)
 * and *len get its bytes. */
static long
crl_number(struct hsrv *h, const char *url, char **der, size_t *len)
{
	struct hresp r;
	const unsigned char *p;
	X509_CRL *crl;
	ASN1_INTEGER *num;
	long n;

	hreq(h, "GET", url, NULL, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200, "GET %s: %ld", url, r.status);
	p = (const unsigned char *)r.body;
	cr_assert_not_null(crl = d2i_X509_CRL(NULL, &p, (long)r.len));
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	cr_assert_not_null(num, "the CRL has no number");
	n = ASN1_INTEGER_get(num);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	cr_assert_not_null(*der = malloc(r.len));
	memcpy(*der, r.body, r.len);
	*len = r.len;
	hresp_clear(&r);
	return n;
}

/* Both replicas serve the same CRL, numbered n or later; returns its
 * number. */
static long
same_crl(const char *url, long n)
{
	char *da, *db;
	size_t la, lb;
	long na, nb;

	na = crl_number(&a, url, &da, &la);
	nb = crl_number(&b, url, &db, &lb);
	cr_assert_eq(na, nb, "replica a serves CRL %ld, b %ld", na, nb);
	cr_assert_geq(na, n);
	cr_assert_eq(la, lb);
	cr_assert_arr_eq(da, db, la, "the replicas serve different CRLs");
	free(da);
	free(db);
	return na;
}

/* revokeCert of pem, signed by its account, sent to h. */
static void
revoke_at(struct hsrv *h, const struct hacct *acc, const char *pem)
{
	unsigned char *der;
	size_t len;
	char *url, *b64, *serial, payload[4096];
	struct hresp r;

	serial = hleaf_der(pem, &der, &len);
	cr_assert_eq(b64url_encode(der, len, &b64), KK_OK);
	snprintf(payload, sizeof(payload),
	    "{\"certificate\":\"%s\",\"reason\":4}", b64);
	url = hurl(h, "revokeCert");
	hpost(h, acc, url, payload, &r);
	cr_assert_eq(r.status, 200, "revoke: %ld %s", r.status, r.body);
	hresp_clear(&r);
	free(url);
	free(b64);
	free(serial);
	OPENSSL_free(der);
}

Test(replicas, every_replica_serves_the_latest_crl)
{
	struct hacct acc1 = {0}, acc2 = {0};
	EVP_PKEY *k1, *k2;
	char *pem1, *pem2, *s1, *s2, *url;
	unsigned char *der;
	size_t len;
	long n0, n1, n2;

	need_shared_storage();
	free(hissue(&a, &acc1, ORG, "host-c1.example.jp", &k1, &pem1));
	free(hissue(&a, &acc2, ORG, "host-c2.example.jp", &k2, &pem2));
	s1 = hleaf_der(pem1, &der, &len);
	OPENSSL_free(der);
	s2 = hleaf_der(pem2, &der, &len);
	OPENSSL_free(der);
	url = hcrl_url(pem1);

	n0 = same_crl(url, 1);
	cr_assert_eq(hcrl_reason(&b, url, pem1, s1), -1);

	/* Revoked through a: at once in the CRL that b serves, under a
	 * higher number, and b serves what a does. */
	revoke_at(&a, &acc1, pem1);
	cr_assert_eq(hcrl_reason(&b, url, pem1, s1), 4,
	    "replica b does not serve a's revocation");
	n1 = same_crl(url, n0 + 1);

	/* And the other way round. */
	revoke_at(&b, &acc2, pem2);
	cr_assert_eq(hcrl_reason(&a, url, pem2, s2), 4,
	    "replica a does not serve b's revocation");
	cr_assert_eq(hcrl_reason(&a, url, pem1, s1), 4);
	n2 = same_crl(url, n1 + 1);

	/* A restarted replica serves the stored CRL, not a new one. */
	hsrv_kill(&b, SIGTERM);
	hsrv_restart(&b);
	cr_assert_eq(same_crl(url, n2), n2);

	free(url);
	free(s1);
	free(s2);
	free(pem1);
	free(pem2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	hacct_clear(&acc1);
	hacct_clear(&acc2);
}
