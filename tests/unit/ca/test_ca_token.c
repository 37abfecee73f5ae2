/*
 * test_ca_token.c - the issuing key in a PKCS#11 token (SoftHSM2, skipped
 * when missing): datadir_init generates it there and writes only its URI,
 * ca_open signs leaves and CRLs with it, also from several threads at once
 * (civetweb's workers), and refuses a missing token.
 */
#include <pthread.h>
#include <time.h>

#include "ca.h"
#include "ca_test.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define URI "pkcs11:token=unit-ca;object=issuing?module-path=" SOFTHSM
#define THREADS 4
#define PER_THREAD 5

static char dir[64];
static char data[TPATH];

static int
token_setup(void)
{
	char conf[TPATH], tokens[TPATH], policy[TPATH], *err = NULL;
	struct datadir_opts o = {0};
	FILE *f;

	if (access(SOFTHSM, R_OK) != 0 ||
	    system("command -v softhsm2-util >/dev/null") != 0)
		return 0;
	tdir_make(dir, sizeof(dir));
	tjoin(tokens, dir, "tokens");
	cr_assert_eq(mkdir(tokens, 0700), 0);
	tjoin(conf, dir, "softhsm2.conf");
	cr_assert_not_null(f = fopen(conf, "w"));
	fprintf(f,
	    "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = ERROR\n",
	    tokens);
	fclose(f);
	setenv("SOFTHSM2_CONF", conf, 1);
	cr_assert_eq(trun("softhsm2-util --init-token --free --label unit-ca "
	                  "--so-pin 5678 --pin 1234 >/dev/null"),
	    0);
	setenv("KAKUIN_CA_PIN", "1234", 1);
	tjoin(policy, dir, "policy-src.json");
	twrite(policy, "{}\n", 3);
	tjoin(data, dir, "data");
	o.dir = data;
	o.default_policy = policy;
	o.ca_key = URI;
	cr_assert_eq(datadir_init(&o, &err), KK_OK, "datadir_init: %s",
	    err != NULL ? err : "");
	free(err);
	return 1;
}

static void
teardown(void)
{
	if (dir[0] != '\0')
		tdir_remove(dir);
	unsetenv("KAKUIN_CA_PIN");
}

TestSuite(ca_token, .fini = teardown);

struct job {
	struct ca *ca;
	EVP_PKEY *issuer_key;
	int failures;
};

static void *
issue_some(void *arg)
{
	struct job *j = arg;
	struct ca_leaf l = {
	    .country = "JP",
	    .org_name = "Example Electric Power Co., Inc.",
	    .org_id = "NTRJP-9234567890123",
	    .cn = "meter-gw-01.example.jp",
	    .validity_days = 90,
	    .crl_url = "http://127.0.0.1:8443/crl/x.crl",
	};
	struct ca_revoked r = {"4242", 1000, 1};
	unsigned char *der;
	const unsigned char *p;
	char *pem, *serial;
	time_t nb, na;
	X509_CRL *crl;
	size_t len;
	BIO *b;
	X509 *x;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		l.key = tkey_ec("P-256");
		if (ca_issue(j->ca, &l, &pem, &serial, &nb, &na) != KK_OK) {
			j->failures++;
			EVP_PKEY_free(l.key);
			continue;
		}
		b = BIO_new_mem_buf(pem, -1);
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (x == NULL || X509_verify(x, j->issuer_key) != 1)
			j->failures++;
		X509_free(x);
		BIO_free(b);
		free(pem);
		free(serial);
		EVP_PKEY_free(l.key);
		if (ca_crl(j->ca, &r, 1, i, time(NULL), time(NULL) + 3600, &der,
		        &len) != KK_OK) {
			j->failures++;
			continue;
		}
		p = der;
		crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (crl == NULL || X509_CRL_verify(crl, j->issuer_key) != 1)
			j->failures++;
		X509_CRL_free(crl);
		OPENSSL_free(der);
	}
	return NULL;
}

Test(ca_token, init_writes_the_uri_and_signing_works_from_threads)
{
	struct job jobs[THREADS];
	pthread_t t[THREADS];
	char path[TPATH], *uri;
	struct ca *ca = NULL;
	X509 *issuing;
	size_t len;
	int i;

	if (!token_setup())
		cr_skip_test("SoftHSM2 is not installed");
	tjoin(path, data, "private/issuing.key");
	cr_assert(!texists(path), "issuing.key written for a token key");
	tjoin(path, data, "private/issuing.uri");
	uri = tread(path, &len);
	cr_assert_not_null(
	    strstr(uri, "pkcs11:token=unit-ca;object=issuing;id="));
	cr_assert_null(strstr(uri, "1234"), "PIN in issuing.uri");
	free(uri);
	cr_assert_eq(ca_load(data, &ca), KK_OK);
	tjoin(path, data, "issuing.pem");
	issuing = tcert_read(path);
	for (i = 0; i < THREADS; i++) {
		jobs[i].ca = ca;
		jobs[i].issuer_key = X509_get0_pubkey(issuing);
		jobs[i].failures = 0;
		cr_assert_eq(
		    pthread_create(&t[i], NULL, issue_some, &jobs[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(jobs[i].failures, 0, "thread %d: %d failures", i,
		    jobs[i].failures);
	}
	X509_free(issuing);
	ca_free(ca);
}

Test(ca_token, open_names_the_uri_when_the_token_is_missing)
{
	struct ca_key_opts ko = {
	    "pkcs11:token=absent;object=issuing?module-path=" SOFTHSM, NULL};
	struct ca *ca = NULL;
	char *err = NULL;

	if (!token_setup())
		cr_skip_test("SoftHSM2 is not installed");
	cr_assert_eq(ca_open(data, &ko, &ca, &err), KK_ENOTFOUND);
	cr_assert_null(ca);
	cr_assert_not_null(err);
	cr_assert_not_null(strstr(err, "pkcs11:token=absent"), "%s", err);
	free(err);
	err = NULL;
	unsetenv("KAKUIN_CA_PIN");
	cr_assert_eq(ca_open(data, NULL, &ca, &err), KK_EKEY);
	cr_assert_not_null(strstr(err, "needs a PIN"), "%s", err);
	free(err);
}
