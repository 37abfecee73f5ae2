/*
 * test_p11.c - RFC 7512 URIs, PINs, and keys in a SoftHSM2 token made for
 * the test (skipped when SoftHSM2 is not installed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "p11.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"

Test(p11_uri, parses_path_and_query)
{
	struct p11_uri u;
	char *err = NULL, *s = NULL;

	cr_assert_eq(p11_uri_parse("pkcs11:token=my%20hsm;object=ca;"
	                           "id=%01%ff;type=private?module-path=/usr/"
	                           "lib/x.so&pin-value=1234&other=x",
	                 &u, &err),
	    KK_OK, "%s", err);
	cr_assert_str_eq(u.token, "my hsm");
	cr_assert_str_eq(u.object, "ca");
	cr_assert_eq(u.id_len, 2);
	cr_assert_eq(u.id[0], 0x01);
	cr_assert_eq(u.id[1], 0xff);
	cr_assert_str_eq(u.module_path, "/usr/lib/x.so");
	cr_assert_str_eq(u.pin_value, "1234");
	cr_assert_eq(p11_uri_format(&u, &s), KK_OK);
	/* Never the PIN in what may be written down. */
	cr_assert_str_eq(s, "pkcs11:token=my%20hsm;object=ca;id=%01%ff;"
	                    "type=private?module-path=/usr/lib/x.so");
	free(s);
	p11_uri_clear(&u);
}

Test(p11_uri, refuses_what_it_cannot_honour)
{
	static const char *bad[] = {
	    "file:x", "pkcs11:token=t",  /* no object or id */
	    "pkcs11:object=a;object=b",  /* twice */
	    "pkcs11:object=a;type=cert", /* not a private key */
	    "pkcs11:object=a;slot-id=3", /* unsupported */
	    "pkcs11:object=%4",          /* bad escape */
	    "pkcs11:object=a%00b",       /* NUL inside */
	    "pkcs11:object",             /* no value */
	};
	struct p11_uri u;
	char *err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		cr_expect_neq(
		    p11_uri_parse(bad[i], &u, &err), KK_OK, "%s", bad[i]);
		cr_expect_not_null(err, "%s", bad[i]);
		free(err);
	}
	cr_assert(p11_is_uri("pkcs11:object=a"));
	cr_assert(!p11_is_uri("/etc/key.pem"));
}

Test(p11_uri, pin_sources_in_order)
{
	struct p11_pin pin = {NULL, "KAKUIN_TEST_PIN"};
	char path[] = "/tmp/kakuin-pin-XXXXXX", *p = NULL, *err = NULL;
	struct p11_uri u;
	FILE *f;
	int fd;

	cr_assert_eq(p11_uri_parse("pkcs11:object=a", &u, NULL), KK_OK);
	unsetenv("KAKUIN_TEST_PIN");
	cr_assert_eq(p11_pin_get(&u, &pin, &p, &err), KK_OK);
	cr_assert_null(p);
	setenv("KAKUIN_TEST_PIN", "env-pin", 1);
	cr_assert_eq(p11_pin_get(&u, &pin, &p, &err), KK_OK);
	cr_assert_str_eq(p, "env-pin");
	free(p);
	cr_assert((fd = mkstemp(path)) >= 0);
	cr_assert_not_null(f = fdopen(fd, "w"));
	fputs("file-pin\n", f);
	fclose(f);
	pin.file = path;
	cr_assert_eq(p11_pin_get(&u, &pin, &p, &err), KK_OK);
	cr_assert_str_eq(p, "file-pin");
	free(p);
	p11_uri_clear(&u);
	cr_assert_eq(
	    p11_uri_parse("pkcs11:object=a?pin-value=uri-pin", &u, NULL),
	    KK_OK);
	cr_assert_eq(p11_pin_get(&u, &pin, &p, &err), KK_OK);
	cr_assert_str_eq(p, "uri-pin");
	free(p);
	p11_uri_clear(&u);
	pin.file = "/nonexistent/pin";
	cr_assert_eq(p11_uri_parse("pkcs11:object=a", &u, NULL), KK_OK);
	cr_assert_eq(p11_pin_get(&u, &pin, &p, &err), KK_ENOTFOUND);
	cr_assert_not_null(err);
	free(err);
	p11_uri_clear(&u);
	unlink(path);
	unsetenv("KAKUIN_TEST_PIN");
}

/* Like ssh's keys: a PIN file others may read is refused, naming it. */
Test(p11_uri, pin_file_readable_by_others_is_refused)
{
	static const mode_t bad[] = {0640, 0604, 0660, 0620};
	char path[] = "/tmp/kk-pin-XXXXXX", *p = NULL, *err = NULL;
	struct p11_pin pin = {path, NULL};
	struct p11_uri u;
	size_t i;
	int fd;

	cr_assert((fd = mkstemp(path)) >= 0);
	cr_assert_eq(write(fd, "1234\n", 5), 5);
	close(fd);
	cr_assert_eq(p11_uri_parse("pkcs11:object=a", &u, NULL), KK_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(chmod(path, bad[i]), 0);
		cr_assert_eq(p11_pin_get(&u, &pin, &p, &err), KK_EKEY,
		    "mode %o accepted", (unsigned)bad[i]);
		cr_assert_null(p);
		cr_assert_not_null(strstr(err, path), "%s", err);
		cr_assert_not_null(strstr(err, "chmod 600"), "%s", err);
		free(err);
		err = NULL;
	}
	cr_assert_eq(chmod(path, 0400), 0);
	cr_assert_eq(p11_pin_get(&u, &pin, &p, &err), KK_OK);
	cr_assert_str_eq(p, "1234");
	free(p);
	p11_uri_clear(&u);
	unlink(path);
}

/* A fresh SoftHSM2 token in a temporary directory; 0 when unavailable. */
static int
token(char *dir, size_t len)
{
	char cmd[1024], conf[512];
	FILE *f;

	if (access(SOFTHSM, R_OK) != 0 ||
	    system("command -v softhsm2-util >/dev/null") != 0)
		return 0;
	snprintf(dir, len, "/tmp/kakuin-p11-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	cr_assert_not_null(f = fopen(conf, "w"));
	fprintf(f,
	    "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = ERROR\n",
	    dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", conf, 1);
	snprintf(cmd, sizeof(cmd),
	    "softhsm2-util --init-token --free --label unit --so-pin 5678 "
	    "--pin 1234 >/dev/null");
	cr_assert_eq(system(cmd), 0);
	return 1;
}

static void
token_remove(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

static int
sign_verify(EVP_PKEY *key)
{
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	ok = EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestSign(c, sig, &siglen, (const unsigned char *)"abc", 3) ==
	         1;
	EVP_MD_CTX_free(c);
	if (!ok)
		return 0;
	c = EVP_MD_CTX_new();
	ok = EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestVerify(
	         c, sig, siglen, (const unsigned char *)"abc", 3) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

Test(p11_token, generate_open_sign_prune)
{
	static const char base[] =
	    "pkcs11:token=unit;object=host?module-path=" SOFTHSM;
	struct p11_pin pin = {NULL, "KAKUIN_TEST_PIN"};
	struct p11_key *a = NULL, *b = NULL, *k = NULL;
	char dir[64], *err = NULL, *ua = NULL, *ub = NULL;
	const char *keep[1];
	int gone = -1;

	if (!token(dir, sizeof(dir)))
		cr_skip_test("SoftHSM2 is not installed");
	setenv("KAKUIN_TEST_PIN", "1234", 1);
	cr_assert_eq(p11_key_generate(base, &pin, "ec-p256", &a, &err), KK_OK,
	    "%s", err);
	cr_assert(sign_verify(p11_key_pkey(a)));
	cr_assert_not_null(strstr(p11_key_uri(a), ";id="));
	cr_assert_null(strstr(p11_key_uri(a), "1234"));
	ua = strdup(p11_key_uri(a));
	p11_key_free(a);
	cr_assert_eq(p11_key_generate(base, &pin, "rsa-2048", &b, &err), KK_OK,
	    "%s", err);
	ub = strdup(p11_key_uri(b));
	p11_key_free(b);
	/* Two keys under one label: the bare label is ambiguous. */
	cr_assert_eq(p11_key_open(base, &pin, &k, &err), KK_ECONFLICT);
	free(err);
	err = NULL;
	cr_assert_eq(p11_key_open(ua, &pin, &k, &err), KK_OK, "%s", err);
	cr_assert(EVP_PKEY_is_a(p11_key_pkey(k), "EC"));
	cr_assert(sign_verify(p11_key_pkey(k)));
	p11_key_free(k);
	/* A wrong PIN, no PIN, a missing token. */
	setenv("KAKUIN_TEST_PIN", "0000", 1);
	cr_assert_eq(p11_key_open(ua, &pin, &k, &err), KK_EKEY);
	free(err);
	err = NULL;
	unsetenv("KAKUIN_TEST_PIN");
	cr_assert_eq(p11_key_open(ua, &pin, &k, &err), KK_EKEY);
	free(err);
	err = NULL;
	cr_assert_eq(
	    p11_key_open("pkcs11:token=none;object=host?module-path=" SOFTHSM,
	        &pin, &k, &err),
	    KK_ENOTFOUND);
	cr_assert_not_null(strstr(err, "none"));
	free(err);
	err = NULL;
	cr_assert_eq(
	    p11_key_open("pkcs11:object=host?module-path=/nonexistent.so", &pin,
	        &k, &err),
	    KK_ENOTFOUND);
	cr_assert_not_null(strstr(err, "/nonexistent.so"));
	free(err);
	err = NULL;
	setenv("KAKUIN_TEST_PIN", "1234", 1);
	keep[0] = ub;
	cr_assert_eq(
	    p11_key_prune(base, &pin, keep, 1, &gone, &err), KK_OK, "%s", err);
	cr_assert_eq(gone, 1);
	cr_assert_eq(p11_key_open(ua, &pin, &k, &err), KK_ENOTFOUND);
	free(err);
	err = NULL;
	cr_assert_eq(p11_key_open(base, &pin, &k, &err), KK_OK, "%s", err);
	cr_assert(EVP_PKEY_is_a(p11_key_pkey(k), "RSA"));
	p11_key_free(k);
	free(ua);
	free(ub);
	token_remove(dir);
}
