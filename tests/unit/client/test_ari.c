/*
 * The client's renewal information (client/ari.c): the certID of a
 * certificate, what is stale, the window renew_due gets, and reading
 * certs/NAME/ari.json.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ari.h"
#include "certinfo.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/kakuin-ari-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(ari, .init = setup, .fini = teardown);

/*
 * A self-signed certificate with the serial (DER content bytes given)
 * and, when aki is set, an AKI keyIdentifier of those 4 bytes, written
 * as PEM to path.
 */
static void
make_cert(const char *path, const unsigned char *serial, size_t n,
    const unsigned char *aki)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	AUTHORITY_KEYID *akid = NULL;
	FILE *f;

	cr_assert_not_null(k);
	cr_assert_not_null(x);
	cr_assert_eq(X509_set_version(x, X509_VERSION_3), 1);
	cr_assert_eq(
	    ASN1_STRING_set(X509_get_serialNumber(x), serial, (int)n), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	if (aki != NULL) {
		akid = AUTHORITY_KEYID_new();
		akid->keyid = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(akid->keyid, aki, 4);
		cr_assert_eq(X509_add1_ext_i2d(
		                 x, NID_authority_key_identifier, akid, 0, 0),
		    1);
		AUTHORITY_KEYID_free(akid);
	}
	cr_assert_gt(X509_sign(x, k, EVP_sha256()), 0);
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

Test(ari, cert_id_is_aki_dot_serial)
{
	static const unsigned char aki[4] = {0x69, 0xb7, 0x1d, 0x79};
	static const unsigned char low[3] = {0x00, 0x87, 0x65};
	static const unsigned char plain[2] = {0x40, 0x01};
	struct kc_err err = {0};
	char path[128], *id = NULL;

	snprintf(path, sizeof(path), "%s/a.pem", dir);
	make_cert(path, plain, sizeof(plain), aki);
	cr_assert_eq(ari_cert_id(path, &id, &err), KK_OK, "%s", err.msg);
	cr_assert_str_eq(id, "abcdeQ.QAE");
	free(id);
	/* A first bit set keeps its leading zero octet (DER). */
	make_cert(path, low + 1, 2, aki);
	cr_assert_eq(ari_cert_id(path, &id, &err), KK_OK);
	cr_assert_str_eq(id, "abcdeQ.AIdl");
	free(id);
	/* No AKI: no renewal information. */
	make_cert(path, plain, sizeof(plain), NULL);
	cr_assert_eq(ari_cert_id(path, &id, &err), KK_ENOTFOUND);
	cr_assert_null(id);
	snprintf(path, sizeof(path), "%s/missing.pem", dir);
	cr_assert_eq(ari_cert_id(path, &id, &err), KK_ENOTFOUND);
	/* Not a certificate: said, with the file's name. */
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	{
		FILE *f = fopen(path, "w");

		cr_assert_not_null(f);
		fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n"
		      "-----END PRIVATE KEY-----\n",
		    f);
		fclose(f);
	}
	cr_assert_eq(ari_cert_id(path, &id, &err), KK_EINVAL);
	cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
	cr_assert_null(id);
}

/*
 * From a brief: nothing without ids, and a serial of up to 21 octets
 * (RFC 5280's 20 and the leading zero a set first bit needs), no longer.
 */
Test(ari, cert_id_of_a_brief)
{
	unsigned char sn[22], kid[4] = {0x69, 0xb7, 0x1d, 0x79};
	struct certinfo_brief cb = {0};
	char *id = NULL;

	memset(sn, 0x40, sizeof(sn));
	cr_assert_eq(ari_cert_id_of(&cb, &id), KK_ENOTFOUND);
	cr_assert_null(id);
	cb.serial = sn;
	cb.n_serial = 1;
	cb.keyid = kid;
	cb.n_keyid = sizeof(kid);
	cr_assert_eq(ari_cert_id_of(&cb, &id), KK_OK);
	cr_assert_str_eq(id, "abcdeQ.QA");
	free(id);
	cb.n_serial = 21;
	cr_assert_eq(ari_cert_id_of(&cb, &id), KK_OK);
	free(id);
	cb.n_serial = 22;
	cr_assert_eq(ari_cert_id_of(&cb, &id), KK_ENOTFOUND);
	cr_assert_null(id);
}

Test(ari, stale_and_window)
{
	struct ari a = {0};
	struct renew_window w;

	cr_assert(ari_stale(&a, "x.y", 100));
	a.cert_id = strdup("x.y");
	a.offered = 1;
	a.start = 1000;
	a.end = 2000;
	a.pick = 1500;
	a.next = 200;
	cr_assert(!ari_stale(&a, "x.y", 199));
	cr_assert(ari_stale(&a, "x.y", 200));
	cr_assert(ari_stale(&a, "other.id", 100));
	/* renew_due gets the chosen moment as the window's start. */
	cr_assert_not_null(ari_window(&a, "x.y", &w));
	cr_assert_eq(w.start, 1500);
	cr_assert_eq(w.end, 2000);
	cr_assert_eq(renew_due(0, 3000, 1499, &w, NULL), 0);
	cr_assert_eq(renew_due(0, 3000, 1500, &w, NULL), 1);
	/* Another certificate's window, or none offered: the lifetime rule. */
	cr_assert_null(ari_window(&a, "other.id", &w));
	a.offered = 0;
	cr_assert_null(ari_window(&a, "x.y", &w));
	ari_clear(&a);
	cr_assert_null(a.cert_id);
}

Test(ari, load_reads_and_refuses_garbage)
{
	struct kc_err err = {0};
	struct state *s = NULL;
	struct ari a = {0};
	char path[160];
	FILE *f;

	cr_assert_eq(state_open(dir, 1, &s, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(ari_load(s, "host-a", &a, &err), KK_ENOTFOUND);
	snprintf(path, sizeof(path), "%s/certs", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/certs/host-a", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/certs/host-a/ari.json", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("{\"cert_id\": \"x.y\", \"offered\": true, \"start\": 10, "
	      "\"end\": 20, \"pick\": 15, \"next\": 30}",
	    f);
	fclose(f);
	cr_assert_eq(ari_load(s, "host-a", &a, &err), KK_OK, "%s", err.msg);
	cr_assert_str_eq(a.cert_id, "x.y");
	cr_assert_eq(a.offered, 1);
	cr_assert_eq(a.start, 10);
	cr_assert_eq(a.end, 20);
	cr_assert_eq(a.pick, 15);
	cr_assert_eq(a.next, 30);
	ari_clear(&a);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("{\"offered\": true}", f);
	fclose(f);
	cr_assert_eq(ari_load(s, "host-a", &a, &err), KK_EINVAL);
	cr_assert_eq(err.code, EX_CONFIG);
	cr_assert_not_null(strstr(err.msg, "ari.json"));
	state_free(s);
}
