/*
 * fuzz_common.h - helpers shared by the libFuzzer targets (each target is
 * its own executable, so these are static and included, not linked).
 *
 * FUZZ_ASSERT aborts with a message: libFuzzer reports it as a crash and
 * keeps the input, so an invariant that breaks is as visible as a segfault.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#define FUZZ_HELPER __attribute__((unused))

#define FUZZ_ASSERT(cond, ...)                                                 \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
			    "%s:%d: invariant broken: %s: ", __FILE__,         \
			    __LINE__, #cond);                                  \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

/* A valid policy: no rate limits, so that fuzzing never runs into them. */
static const char FUZZ_POLICY[] =
    "{\"org_identifier\": {\"pattern\": \"^NTRJP-[0-9]{13}$\","
    " \"ntrjp_check_digit\": true},"
    " \"verification\": {\"methods\": [\"phone\", \"document\"],"
    " \"lifetime_days\": 397, \"approvals_required\": 1},"
    " \"eab_required\": false,"
    " \"rate_limits\": {\"orders_per_account_per_hour\": 0,"
    " \"new_accounts_per_ip_per_hour\": 0},"
    " \"order_lifetime_hours\": 168, \"instructions\": \"fuzz\","
    " \"profiles\": [{\"name\": \"client\", \"validity_days\": 90,"
    " \"key_types\": [\"ec-p256\", \"ec-p384\", \"rsa-2048\", \"ed25519\"],"
    " \"cn_pattern\": \"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated copy of the input; free() it. */
static FUZZ_HELPER char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_ASSERT(s != NULL, "out of memory");
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A private key from PEM text (fuzz_keys.h); aborts on failure. */
static FUZZ_HELPER EVP_PKEY *
fuzz_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	FUZZ_ASSERT(k != NULL, "cannot read a fixed key");
	return k;
}

/*
 * A DER PKCS#10 request as the client makes it: organizationIdentifier and
 * CN, signed with key (SHA-256, or none for Ed25519). free() *der.
 */
static FUZZ_HELPER void
fuzz_make_csr(EVP_PKEY *key, const char *org, const char *cn,
    unsigned char **der, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	const EVP_MD *md = EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256();
	unsigned char *p;
	int n;

	FUZZ_ASSERT(req != NULL && name != NULL, "oom");
	FUZZ_ASSERT(
	    X509_NAME_add_entry_by_NID(name, NID_organizationIdentifier,
	        MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0) == 1 &&
	        X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	            (const unsigned char *)cn, -1, -1, 0) == 1 &&
	        X509_REQ_set_subject_name(req, name) == 1 &&
	        X509_REQ_set_pubkey(req, key) == 1 &&
	        X509_REQ_sign(req, key, md) > 0,
	    "cannot make a CSR");
	FUZZ_ASSERT((n = i2d_X509_REQ(req, NULL)) > 0, "i2d");
	FUZZ_ASSERT((*der = p = malloc((size_t)n)) != NULL, "oom");
	i2d_X509_REQ(req, &p);
	*len = (size_t)n;
	X509_NAME_free(name);
	X509_REQ_free(req);
}

static FUZZ_HELPER void
fuzz_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	FUZZ_ASSERT(f != NULL, "cannot write %s", path);
	FUZZ_ASSERT(len == 0 || fwrite(data, 1, len, f) == len, "short write");
	FUZZ_ASSERT(fclose(f) == 0, "cannot close %s", path);
}

static FUZZ_HELPER int
fuzz_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

static char *fuzz_tmp_root;

static FUZZ_HELPER void
fuzz_tmp_cleanup(void)
{
	if (fuzz_tmp_root != NULL)
		nftw(fuzz_tmp_root, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fuzz_tmp_root);
	fuzz_tmp_root = NULL;
}

/*
 * A private scratch directory for the run, removed at exit: under
 * $KAKUIN_FUZZ_TMP (run_fuzz.sh sets it), else /dev/shm when it exists
 * (SQLite's fsyncs cost nothing there), else $TMPDIR or /tmp.
 */
static FUZZ_HELPER const char *
fuzz_tmpdir(void)
{
	const char *base = getenv("KAKUIN_FUZZ_TMP");
	char *t = NULL;

	if (fuzz_tmp_root != NULL)
		return fuzz_tmp_root;
	if (base == NULL || *base == '\0')
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
	if (base == NULL && (base = getenv("TMPDIR")) == NULL)
		base = "/tmp";
	FUZZ_ASSERT(asprintf(&t, "%s/kakuin-fuzz-XXXXXX", base) > 0, "oom");
	FUZZ_ASSERT(mkdtemp(t) != NULL, "mkdtemp under %s", base);
	fuzz_tmp_root = t;
	atexit(fuzz_tmp_cleanup);
	return t;
}

#endif
