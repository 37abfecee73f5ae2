#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "certinfo.h"
#include "csr.h"
#include "fileio.h"
#include "install.h"
#include "keys.h"

static char out[64];

static void
setup(void)
{
	snprintf(out, sizeof(out), "/tmp/kk-install-XXXXXX");
	cr_assert_not_null(mkdtemp(out));
}

static void
teardown(void)
{
	file_remove_tree(out, NULL);
}

TestSuite(install, .init = setup, .fini = teardown);

/* A self-signed certificate for key with a random serial, as PEM text. */
static char *
self_signed(EVP_PKEY *key, const char *cn)
{
	unsigned char rnd[8];
	X509 *x = X509_new();
	BIGNUM *bn;
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *pem;
	long n;

	cr_assert(RAND_bytes(rnd, sizeof(rnd)) == 1);
	rnd[0] &= 0x7f;
	bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	cr_assert(X509_sign(x, key,
	              EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256()) > 0);
	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &data);
	pem = strndup(data, (size_t)n);
	BIO_free(b);
	X509_free(x);
	return pem;
}

/* leaf + a second certificate standing for the issuing CA. */
static char *
chain_for(EVP_PKEY *key)
{
	EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *leaf = self_signed(key, "leaf"), *cac = self_signed(ca, "ca");
	char *all;

	cr_assert(asprintf(&all, "junk before\n%s%s", leaf, cac) > 0);
	free(leaf);
	free(cac);
	EVP_PKEY_free(ca);
	return all;
}

static char *
serial_of(const char *file)
{
	struct certinfo ci;
	struct kc_err err = {0};
	char *path, *s;

	cr_assert_eq(file_join(out, file, &path), KK_OK);
	cr_assert_eq(certinfo_read(path, &ci, &err), KK_OK, "%s", err.msg);
	s = strdup(ci.serial);
	certinfo_clear(&ci);
	free(path);
	return s;
}

/* The installed key.pem belongs to the installed cert.pem. */
static void
assert_pair(void)
{
	struct kc_err err = {0};
	char *kp, *cp, *pem;
	EVP_PKEY *k;
	X509 *x;
	size_t len;
	BIO *b;

	cr_assert_eq(file_join(out, "key.pem", &kp), KK_OK);
	cr_assert_eq(file_join(out, "cert.pem", &cp), KK_OK);
	cr_assert_eq(keys_read(kp, &k, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(file_read(cp, FILE_MAX_LEN, &pem, &len, &err), KK_OK);
	b = BIO_new_mem_buf(pem, (int)len);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	cr_assert_not_null(x);
	cr_assert_eq(X509_check_private_key(x, k), 1, "key/cert mismatch");
	X509_free(x);
	BIO_free(b);
	free(pem);
	EVP_PKEY_free(k);
	free(kp);
	free(cp);
}

static enum kk_status
install(EVP_PKEY *key, const char *chain, const char *pass, char **serial,
    struct kc_err *err)
{
	struct install_req r = {
	    out, "n", key, chain, strlen(chain), pass, NULL};

	return install_set(&r, serial, err);
}

Test(install, first_install_layout_and_modes)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *chain = chain_for(k), *serial, *s2, path[128], buf[128];
	struct kc_err err = {0};
	struct stat sb;
	ssize_t n;

	cr_assert_eq(
	    install(k, chain, NULL, &serial, &err), KK_OK, "%s", err.msg);
	assert_pair();
	s2 = serial_of("cert.pem");
	cr_assert_str_eq(serial, s2);
	snprintf(path, sizeof(path), "%s/key.pem", out);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	n = readlink(path, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "live/key.pem");
	snprintf(path, sizeof(path), "%s/chain.pem", out);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_gt(sb.st_size, 0);
	snprintf(path, sizeof(path), "%s/bundle.p12", out);
	cr_assert_neq(stat(path, &sb), 0, "p12 without asking");
	free(serial);
	free(s2);
	free(chain);
	EVP_PKEY_free(k);
}

Test(install, mismatched_key_touches_nothing)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *chain = chain_for(k), *chain2 = chain_for(other), *serial, *s;
	struct kc_err err = {0};

	cr_assert_eq(install(k, chain, NULL, &serial, &err), KK_OK);
	cr_assert_eq(install(k, chain2, NULL, &s, &err), KK_EKEY);
	cr_assert_null(s);
	cr_assert_not_null(strstr(err.msg, "does not match"));
	s = serial_of("cert.pem");
	cr_assert_str_eq(s, serial);
	assert_pair();
	free(s);
	free(serial);
	free(chain);
	free(chain2);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

Test(install, second_install_keeps_previous)
{
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *c1 = chain_for(k1), *c2 = chain_for(k2), *s1, *s2, *prev;
	struct kc_err err = {0};

	cr_assert_eq(install(k1, c1, NULL, &s1, &err), KK_OK);
	cr_assert_eq(install(k2, c2, NULL, &s2, &err), KK_OK);
	assert_pair();
	prev = serial_of("previous/cert.pem");
	cr_assert_str_eq(prev, s1);
	free(prev);
	prev = serial_of("cert.pem");
	cr_assert_str_eq(prev, s2);
	free(prev);
	free(s1);
	free(s2);
	free(c1);
	free(c2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

/* Installs in a child that SIGKILLs itself after step; checks the pair. */
static void
crash_at(const char *step, int expect_new)
{
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *c1 = chain_for(k1), *c2 = chain_for(k2), *s1, *s2 = NULL, *now;
	struct kc_err err = {0};
	int status;
	pid_t pid;

	cr_assert_eq(install(k1, c1, NULL, &s1, &err), KK_OK);
	pid = fork();
	if (pid == 0) {
		setenv("KAKUIN_TEST_CRASH_AT", step, 1);
		install(k2, c2, NULL, &s2, &err);
		_exit(0); /* reached only if the crash point is missing */
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "no crash at %s", step);
	assert_pair();
	now = serial_of("cert.pem");
	if (expect_new)
		cr_assert_str_neq(now, s1, "old cert live after %s", step);
	else
		cr_assert_str_eq(now, s1, "new cert live after %s", step);
	free(now);
	/* The next run completes and cleans up after the crash. */
	cr_assert_eq(install(k2, c2, NULL, &s2, &err), KK_OK, "%s", err.msg);
	assert_pair();
	now = serial_of("cert.pem");
	cr_assert_str_eq(now, s2);
	free(now);
	free(s1);
	free(s2);
	free(c1);
	free(c2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

Test(install, crash_after_files)
{
	crash_at("files", 0);
}
Test(install, crash_after_set)
{
	crash_at("set", 0);
}
Test(install, crash_after_previous)
{
	crash_at("previous", 0);
}
Test(install, crash_after_live)
{
	crash_at("live", 1);
}
Test(install, crash_after_links)
{
	crash_at("links", 1);
}

Test(install, p12_opens_with_the_passphrase)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), *pk = NULL;
	char *chain = chain_for(k), *serial, *path, *der;
	struct kc_err err = {0};
	const unsigned char *p;
	X509 *x = NULL;
	PKCS12 *p12;
	size_t len;

	cr_assert_eq(
	    install(k, chain, "pw", &serial, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(file_join(out, "bundle.p12", &path), KK_OK);
	cr_assert_eq(file_read(path, FILE_MAX_LEN, &der, &len, &err), KK_OK);
	p = (const unsigned char *)der;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	cr_assert_not_null(p12);
	cr_assert_eq(PKCS12_parse(p12, "wrong", &pk, &x, NULL), 0);
	cr_assert_eq(PKCS12_parse(p12, "pw", &pk, &x, NULL), 1);
	cr_assert_eq(X509_check_private_key(x, k), 1);
	PKCS12_free(p12);
	X509_free(x);
	EVP_PKEY_free(pk);
	free(der);
	free(path);
	free(serial);
	free(chain);
	EVP_PKEY_free(k);
}

Test(csr, subject_has_org_identifier_and_cn)
{
	static const char *const types[] = {"ec-p256", "ed25519", "rsa-2048"};
	struct kc_err err = {0};
	unsigned char *der;
	const unsigned char *p;
	char buf[128];
	X509_REQ *req;
	EVP_PKEY *k;
	size_t len, i;

	for (i = 0; i < 3; i++) {
		cr_assert_eq(keys_generate(types[i], &k, &err), KK_OK);
		cr_assert_str_eq(keys_type_of(k), types[i]);
		cr_assert_eq(csr_build(k, "NTRJP-9234567890123", "host-a", NULL,
		                 0, &der, &len, &err),
		    KK_OK);
		p = der;
		req = d2i_X509_REQ(NULL, &p, (long)len);
		cr_assert_not_null(req);
		cr_assert_eq(X509_REQ_verify(req, k), 1);
		cr_assert_gt(
		    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req),
		        NID_organizationIdentifier, buf, sizeof(buf)),
		    0);
		cr_assert_str_eq(buf, "NTRJP-9234567890123");
		X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req),
		    NID_commonName, buf, sizeof(buf));
		cr_assert_str_eq(buf, "host-a");
		X509_REQ_free(req);
		free(der);
		EVP_PKEY_free(k);
	}
}

Test(keys, written_0600_and_read_back)
{
	struct kc_err err = {0};
	EVP_PKEY *k, *back;
	struct stat sb;
	char *path;

	cr_assert_eq(keys_generate("dsa", &k, &err), KK_EINVAL);
	cr_assert_eq(err.code, EX_USAGE);
	cr_assert_eq(keys_generate("ec-p256", &k, &err), KK_OK);
	cr_assert_eq(file_join(out, "k.pem", &path), KK_OK);
	cr_assert_eq(keys_write(path, k, &err), KK_OK);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(keys_read(path, &back, &err), KK_OK);
	cr_assert_eq(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	cr_assert_eq(truncate(path, 20), 0);
	err_clear(&err);
	cr_assert_eq(keys_read(path, &back, &err), KK_EKEY);
	cr_assert_not_null(strstr(err.msg, path));
	free(path);
	EVP_PKEY_free(k);
}
