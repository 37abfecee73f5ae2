#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certinfo.h"
#include "fileio.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/kk-certinfo-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	file_remove_tree(dir, NULL);
}

TestSuite(certinfo, .init = setup, .fini = teardown);

/*
 * Writes a self-signed certificate valid from now + from to now + to
 * seconds (version v: 0 for v1, which has no [0] version field) into
 * dir/name, after prefix; returns the path (caller frees).
 */
static char *
write_cert(const char *name, const char *prefix, int v, long from, long to)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	char *path;
	FILE *f;

	cr_assert_eq(file_join(dir, name, &path), KK_OK);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
	X509_set_version(x, v);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_UTF8, (const unsigned char *)"t", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	cr_assert(X509_sign(x, k, EVP_sha256()) > 0);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(prefix, f);
	PEM_write_X509(f, x);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
	return path;
}

/* The dates read cheaply are the dates the full parse reads. */
static void
assert_same(const char *path)
{
	struct certinfo ci;
	struct certinfo_brief b;
	struct kc_err err = {0};

	cr_assert_eq(certinfo_read(path, &ci, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(certinfo_read_brief(path, &b, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(b.not_before, ci.not_before);
	cr_assert_eq(b.not_after, ci.not_after);
	cr_assert_lt(b.not_before, b.not_after);
	/* Without an authority key identifier, no ids. */
	cr_assert_null(b.serial);
	cr_assert_null(b.keyid);
	certinfo_brief_clear(&b);
	certinfo_clear(&ci);
}

Test(certinfo, validity_matches_the_full_parse)
{
	char *v3 = write_cert("v3.pem", "", 2, -300, 90 * 86400L);
	char *v1 = write_cert("v1.pem", "", 0, 0, 86400);
	/* After 2049 a date is a GeneralizedTime, before a UTCTime. */
	char *gen = write_cert("gen.pem", "", 2, 0, 40L * 366 * 86400);
	/* Text and other PEM blocks before the certificate are skipped. */
	char *junk = write_cert("junk.pem",
	    "junk\n-----BEGIN X-----\nAAAA\n-----END X-----\n", 2, 0, 3600);

	assert_same(v3);
	assert_same(v1);
	assert_same(gen);
	assert_same(junk);
	free(v3);
	free(v1);
	free(gen);
	free(junk);
}

Test(certinfo, validity_of_missing_and_broken_files)
{
	struct kc_err err = {0};
	char *path = write_cert("c.pem", "", 2, 0, 3600), *pem, *cut;
	struct certinfo_brief cb;
	size_t len;
	FILE *f;

	cr_assert_eq(certinfo_read_brief("/nonexistent/cert.pem", &cb, &err),
	    KK_ENOTFOUND);
	cr_assert_eq(err.msg[0], '\0');

	/* The DER cut short inside the tbsCertificate: the outer length
	 * runs past the end. */
	cr_assert_eq(file_read(path, FILE_MAX_LEN, &pem, &len, &err), KK_OK);
	{
		BIO *b = BIO_new_mem_buf(pem, (int)len);
		unsigned char *der = NULL;
		long dlen = 0;

		cr_assert_eq(PEM_bytes_read_bio(&der, &dlen, NULL,
		                 PEM_STRING_X509, b, NULL, NULL),
		    1);
		cr_assert_eq(file_join(dir, "cut.pem", &cut), KK_OK);
		cr_assert_not_null(f = fopen(cut, "w"));
		PEM_write(f, PEM_STRING_X509, "", der, 40);
		fclose(f);
		OPENSSL_free(der);
		BIO_free(b);
	}
	cr_assert_eq(certinfo_read_brief(cut, &cb, &err), KK_EINVAL);
	cr_assert_not_null(strstr(err.msg, cut), "%s", err.msg);
	cr_assert_null(cb.serial);
	err_clear(&err);

	/* A PEM file without a certificate. */
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	    f);
	fclose(f);
	cr_assert_eq(certinfo_read_brief(path, &cb, &err), KK_EINVAL);
	err_clear(&err);
	certinfo_brief_clear(&cb);
	free(pem);
	free(cut);
	free(path);
}

/* Signs x with k, writes it to path, and reads it back with OpenSSL. */
static X509 *
sign_write_reread(X509 *x, EVP_PKEY *k, const char *path)
{
	X509 *back;
	FILE *f;

	cr_assert(X509_sign(x, k, EVP_sha256()) > 0);
	cr_assert_not_null(f = fopen(path, "w"));
	PEM_write_X509(f, x);
	fclose(f);
	cr_assert_not_null(f = fopen(path, "r"));
	cr_assert_not_null(back = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	return back;
}

/*
 * The ids read by walking the DER are OpenSSL's: the serial's content
 * octets (with the leading zero a set first bit needs) and the authority
 * key identifier, found among other extensions; the dates from the same
 * read; none without one.
 */
Test(certinfo, ids_match_the_full_parse)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new(), *back;
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	unsigned char *der = NULL;
	struct certinfo_brief b;
	struct certinfo ci;
	struct kc_err err = {0};
	const ASN1_OCTET_STRING *aki;
	char *path, *plain;
	BIGNUM *bn = NULL;
	int dlen;

	cr_assert_eq(file_join(dir, "aki.pem", &path), KK_OK);
	cr_assert(BN_hex2bn(&bn, "80112233445566778899AABBCCDDEEFF"));
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_UTF8, (const unsigned char *)"t", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	const char *exts[][2] = {{"basicConstraints", "critical,CA:FALSE"},
	    {"subjectKeyIdentifier", "hash"},
	    {"authorityKeyIdentifier", "keyid:always"},
	    {"extendedKeyUsage", "clientAuth"}};
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		cr_assert_not_null(
		    e = X509V3_EXT_conf(NULL, &ctx, exts[i][0], exts[i][1]));
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	back = sign_write_reread(x, k, path);

	cr_assert_eq(certinfo_read_brief(path, &b, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(certinfo_read(path, &ci, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(b.not_before, ci.not_before);
	cr_assert_eq(b.not_after, ci.not_after);
	certinfo_clear(&ci);
	aki = X509_get0_authority_key_id(back);
	cr_assert_not_null(aki);
	cr_assert_not_null(b.keyid);
	cr_assert_eq(b.n_keyid, (size_t)ASN1_STRING_length(aki));
	cr_assert_eq(memcmp(b.keyid, ASN1_STRING_get0_data(aki), b.n_keyid), 0);
	dlen = i2d_ASN1_INTEGER(X509_get0_serialNumber(back), &der);
	cr_assert_gt(dlen, 2);
	/* Tag and length, then the content: 17 octets, a zero first. */
	cr_assert_not_null(b.serial);
	cr_assert_eq(b.n_serial, 17);
	cr_assert_eq(b.n_serial, (size_t)dlen - 2);
	cr_assert_eq(memcmp(b.serial, der + 2, b.n_serial), 0);
	cr_assert_eq(b.serial[0], 0);
	certinfo_brief_clear(&b);
	cr_assert_null(b.serial);
	OPENSSL_free(der);
	X509_free(back);

	/* A certificate without the extension has its dates, no ids. */
	plain = write_cert("plain.pem", "", 2, 0, 3600);
	cr_assert_eq(
	    certinfo_read_brief(plain, &b, &err), KK_OK, "%s", err.msg);
	cr_assert_lt(b.not_before, b.not_after);
	cr_assert_null(b.serial);
	cr_assert_null(b.keyid);
	certinfo_brief_clear(&b);
	free(plain);

	/* An authority key identifier by issuer and serial only, without a
	 * keyIdentifier: no ids either. (X509_delete_ext hands the old one
	 * back, ours to free.) */
	X509_EXTENSION_free(X509_delete_ext(
	    x, X509_get_ext_by_NID(x, NID_authority_key_identifier, -1)));
	cr_assert_not_null(e = X509V3_EXT_conf(NULL, &ctx,
	                       "authorityKeyIdentifier", "issuer:always"));
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	back = sign_write_reread(x, k, path);
	cr_assert_not_null(X509_get0_authority_issuer(back));
	cr_assert_null(X509_get0_authority_key_id(back));
	X509_free(back);
	cr_assert_eq(certinfo_read_brief(path, &b, &err), KK_OK, "%s", err.msg);
	cr_assert_null(b.serial);
	cr_assert_null(b.keyid);
	certinfo_brief_clear(&b);
	free(path);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(k);
}
