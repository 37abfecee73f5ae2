/*
 * ca_test.h - fixtures for the kakuin_ca tests: temporary directories,
 * keys, CSRs and certificates made with OpenSSL directly (not with the code
 * under test), files, and running the openssl command.
 */
#ifndef CA_TEST_H
#define CA_TEST_H

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "datadir.h"

#define TPATH 512

static inline void
tjoin(char *out, const char *dir, const char *name)
{
	cr_assert(snprintf(out, TPATH, "%s/%s", dir, name) < TPATH);
}

static inline void
tdir_make(char *buf, size_t n)
{
	cr_assert(snprintf(buf, n, "/tmp/kakuin-ca-test-XXXXXX") < (int)n);
	cr_assert_not_null(mkdtemp(buf), "mkdtemp");
}

/* rm -rf, without a shell. */
static inline void
tdir_remove(const char *path)
{
	char sub[TPATH];
	struct dirent *e;
	struct stat sb;
	DIR *d;

	if (lstat(path, &sb) != 0)
		return;
	if (!S_ISDIR(sb.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			tjoin(sub, path, e->d_name);
			tdir_remove(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static inline void
twrite(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "fopen %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* The whole file, NUL-terminated; caller frees. */
static inline char *
tread(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "fopen %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_geq(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static inline int
tmode(const char *path)
{
	struct stat sb;

	cr_assert_eq(stat(path, &sb), 0, "stat %s", path);
	return (int)(sb.st_mode & 07777);
}

static inline int
texists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* Runs a shell command quietly; its exit status. */
static inline int
trun(const char *fmt, ...)
{
	char cmd[4 * TPATH];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	cr_assert_lt(
	    vsnprintf(cmd, sizeof(cmd) - 20, fmt, ap), (int)sizeof(cmd) - 20);
	va_end(ap);
	strcat(cmd, " >/dev/null 2>&1");
	rc = system(cmd);
	cr_assert_neq(rc, -1);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static inline EVP_PKEY *
tkey_ec(const char *curve)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	cr_assert_not_null(k, "keygen EC %s", curve);
	return k;
}

static inline EVP_PKEY *
tkey_rsa(size_t bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);

	cr_assert_not_null(k, "keygen RSA %zu", bits);
	return k;
}

static inline EVP_PKEY *
tkey_named(const char *type)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, type);

	cr_assert_not_null(k, "keygen %s", type);
	return k;
}

static inline const EVP_MD *
tmd(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
		return NULL;
	return EVP_sha256();
}

/* Adds (nid, UTF-8 value) pairs until nid 0. */
static inline void
tname_add(X509_NAME *name, va_list ap)
{
	int nid;

	while ((nid = va_arg(ap, int)) != 0) {
		const char *v = va_arg(ap, const char *);

		cr_assert_eq(
		    X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
		        (const unsigned char *)v, -1, -1, 0),
		    1);
	}
}

/* An unsigned CSR for key with the subject (nid, value, ..., 0). */
static inline X509_REQ *
treq(EVP_PKEY *key, ...)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	va_list ap;

	cr_assert(req != NULL && name != NULL);
	va_start(ap, key);
	tname_add(name, ap);
	va_end(ap);
	cr_assert_eq(X509_REQ_set_subject_name(req, name), 1);
	cr_assert_eq(X509_REQ_set_pubkey(req, key), 1);
	X509_NAME_free(name);
	return req;
}

/* Signs req with key and returns its DER (OPENSSL_free()); frees req. */
static inline unsigned char *
treq_der(X509_REQ *req, EVP_PKEY *key, size_t *len)
{
	unsigned char *der = NULL;
	int n;

	cr_assert_gt(X509_REQ_sign(req, key, tmd(key)), 0);
	n = i2d_X509_REQ(req, &der);
	cr_assert_gt(n, 0);
	*len = (size_t)n;
	X509_REQ_free(req);
	return der;
}

/* Extensions as {name, value} pairs ending with {NULL, NULL}. */
struct text {
	const char *name;
	const char *value;
};

/*
 * A certificate for key with subject CN=cn, signed by issuer_key under
 * issuer (self-signed if issuer is NULL), valid from an hour ago for days.
 */
static inline X509 *
tcert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
    long days, const struct text *exts)
{
	static long serial = 1000;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;

	cr_assert(x != NULL && name != NULL);
	cr_assert_eq(X509_NAME_add_entry_by_NID(name, NID_commonName,
	                 MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0),
	    1);
	cr_assert_eq(X509_set_version(x, X509_VERSION_3), 1);
	cr_assert_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
	cr_assert_eq(X509_set_subject_name(x, name), 1);
	cr_assert_eq(X509_set_issuer_name(x,
	                 issuer != NULL ? X509_get_subject_name(issuer) : name),
	    1);
	cr_assert_not_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	cr_assert_not_null(
	    X509_gmtime_adj(X509_getm_notAfter(x), days * 86400));
	cr_assert_eq(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	for (; exts != NULL && exts->name != NULL; exts++) {
		X509_EXTENSION *e =
		    X509V3_EXT_nconf(NULL, &ctx, exts->name, exts->value);

		cr_assert_not_null(e, "extension %s", exts->name);
		cr_assert_eq(X509_add_ext(x, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	cr_assert_gt(X509_sign(x, issuer_key != NULL ? issuer_key : key,
	                 tmd(issuer_key != NULL ? issuer_key : key)),
	    0);
	X509_NAME_free(name);
	return x;
}

static const struct text tca_exts[] = {
    {"basicConstraints", "critical,CA:TRUE"},
    {"keyUsage", "critical,keyCertSign,cRLSign"},
    {"subjectKeyIdentifier", "hash"},
    {NULL, NULL},
};

/* Writes key (if not NULL) then the certificates (until NULL) as PEM. */
static inline void
twrite_pem(const char *path, EVP_PKEY *key, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;
	X509 *x;

	cr_assert_not_null(f, "fopen %s", path);
	if (key != NULL)
		cr_assert_eq(
		    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	va_start(ap, key);
	while ((x = va_arg(ap, X509 *)) != NULL)
		cr_assert_eq(PEM_write_X509(f, x), 1);
	va_end(ap);
	cr_assert_eq(fclose(f), 0);
}

/* The first certificate in a PEM file. */
static inline X509 *
tcert_read(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	cr_assert_not_null(f, "fopen %s", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert_not_null(x, "no certificate in %s", path);
	return x;
}

static inline EVP_PKEY *
tkey_read(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	cr_assert_not_null(f, "fopen %s", path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert_not_null(k, "no key in %s", path);
	return k;
}

/* A data directory dir/data made by datadir_init(), with a small policy. */
static inline void
tdatadir(const char *dir, char *data, const char *listen_host)
{
	char policy[TPATH];
	struct datadir_opts o = {0};
	char *err = NULL;

	tjoin(policy, dir, "policy-src.json");
	if (!texists(policy))
		twrite(policy, "{}\n", 3);
	tjoin(data, dir, "data");
	o.dir = data;
	o.listen_host = listen_host;
	o.default_policy = policy;
	cr_assert_eq(datadir_init(&o, &err), KK_OK, "datadir_init: %s",
	    err != NULL ? err : "");
	free(err);
}

#endif
