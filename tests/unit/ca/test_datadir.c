/*
 * test_datadir.c - datadir_init() and datadir_ensure(): files, modes, the
 * generated CA, the TLS certificate, imports, and what is refused.
 */
#include <time.h>

#include "ca.h"
#include "ca_test.h"

#define POLICY "{\"approvals_required\": 1}\n"

static char dir[64];
static char data[TPATH];
static char policy[TPATH];

static void
setup(void)
{
	tdir_make(dir, sizeof(dir));
	tjoin(data, dir, "data");
	tjoin(policy, dir, "policy-src.json");
	twrite(policy, POLICY, strlen(POLICY));
}

static void
teardown(void)
{
	tdir_remove(dir);
}

TestSuite(datadir, .init = setup, .fini = teardown);

static struct datadir_opts
opts(const char *listen_host)
{
	struct datadir_opts o = {
	    .dir = data,
	    .listen_host = listen_host,
	    .default_policy = policy,
	};
	return o;
}

static void
in_data(char *out, const char *name)
{
	tjoin(out, data, name);
}

static enum kk_status
run(int init, const struct datadir_opts *o, char **err)
{
	*err = NULL;
	return init ? datadir_init(o, err) : datadir_ensure(o, err);
}

static void
expect_ok(int init, const struct datadir_opts *o)
{
	enum kk_status st;
	char *err;

	st = run(init, o, &err);
	cr_assert_eq(st, KK_OK, "%s: %s", kk_strerror(st),
	    err != NULL ? err : "(no message)");
	free(err);
}

/* Fails with want and a message that names what. */
static void
expect_fail(int init, const struct datadir_opts *o, enum kk_status want,
    const char *what)
{
	enum kk_status st;
	char *err;

	st = run(init, o, &err);
	cr_assert_eq(st, want, "got %s (%s), want %s", kk_strerror(st),
	    err != NULL ? err : "no message", kk_strerror(want));
	cr_assert_not_null(err);
	cr_assert_not_null(
	    strstr(err, what), "\"%s\" does not name %s", err, what);
	free(err);
}

/* The TLS certificate: the first certificate in private/tls.pem. */
static X509 *
tls_cert(void)
{
	char path[TPATH];

	in_data(path, "private/tls.pem");
	return tcert_read(path);
}

static char *
file_of(const char *name)
{
	char path[TPATH];

	in_data(path, name);
	return tread(path, NULL);
}

Test(datadir, init_creates_everything_with_the_right_modes)
{
	struct datadir_opts o = opts(NULL);
	const char *names[] = {
	    "root.pem", "issuing.pem", "policy.json", "private"};
	char path[TPATH], *s;
	struct dirent *e;
	DIR *d;
	size_t i;
	int n;

	umask(022);
	expect_ok(1, &o);
	cr_assert_eq(tmode(data), 0755);
	in_data(path, "private");
	cr_assert_eq(tmode(path), 0700);
	in_data(path, "private/root.key");
	cr_assert_eq(tmode(path), 0600);
	in_data(path, "private/issuing.key");
	cr_assert_eq(tmode(path), 0600);
	in_data(path, "private/tls.pem");
	cr_assert_eq(tmode(path), 0600);
	in_data(path, "root.pem");
	cr_assert_eq(tmode(path), 0644);
	in_data(path, "issuing.pem");
	cr_assert_eq(tmode(path), 0644);
	s = file_of("policy.json");
	cr_assert_str_eq(s, POLICY);
	free(s);
	/* The database is the store's; no temporary file is left behind. */
	in_data(path, "kakuin.db");
	cr_assert(!texists(path));
	cr_assert_not_null(d = opendir(data));
	for (n = 0; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(e->d_name, names[i]) == 0)
				break;
		cr_assert_lt(i, sizeof(names) / sizeof(names[0]),
		    "unexpected %s", e->d_name);
		n++;
	}
	closedir(d);
	cr_assert_eq(n, 4);
	in_data(path, "private");
	cr_assert_not_null(d = opendir(path));
	for (n = 0; (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	cr_assert_eq(n, 3);
}

Test(datadir, init_keeps_modes_under_a_loose_umask)
{
	struct datadir_opts o = opts(NULL);
	char path[TPATH];

	umask(0);
	expect_ok(1, &o);
	in_data(path, "private");
	cr_assert_eq(tmode(path), 0700);
	in_data(path, "private/issuing.key");
	cr_assert_eq(tmode(path), 0600);
	umask(022);
}

Test(datadir, init_keeps_modes_under_a_strict_umask)
{
	struct datadir_opts o = opts(NULL);
	char path[TPATH];

	umask(077);
	expect_ok(1, &o);
	umask(022);
	cr_assert_eq(tmode(data), 0755);
	in_data(path, "root.pem");
	cr_assert_eq(tmode(path), 0644);
	in_data(path, "policy.json");
	cr_assert_eq(tmode(path), 0644);
}

Test(datadir, init_creates_missing_parents)
{
	struct datadir_opts o = opts(NULL);
	char nested[TPATH], path[TPATH];

	tjoin(nested, dir, "a/b/data");
	o.dir = nested;
	expect_ok(1, &o);
	tjoin(path, nested, "root.pem");
	cr_assert(texists(path));
}

Test(datadir, second_init_is_refused_and_touches_nothing)
{
	struct datadir_opts o = opts(NULL);
	char *before, *after;

	expect_ok(1, &o);
	before = file_of("root.pem");
	expect_fail(1, &o, KK_EEXIST, "root.pem");
	after = file_of("root.pem");
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
}

Test(datadir, init_is_refused_where_a_database_exists)
{
	struct datadir_opts o = opts(NULL);
	char path[TPATH];

	cr_assert_eq(mkdir(data, 0755), 0);
	in_data(path, "kakuin.db");
	twrite(path, "", 0);
	expect_fail(1, &o, KK_EEXIST, "kakuin.db");
	in_data(path, "root.pem");
	cr_assert(!texists(path));
	in_data(path, "private");
	cr_assert(!texists(path));
}

Test(datadir, init_into_an_existing_empty_directory)
{
	struct datadir_opts o = opts(NULL);
	char path[TPATH];

	cr_assert_eq(mkdir(data, 0750), 0);
	expect_ok(1, &o);
	in_data(path, "issuing.pem");
	cr_assert(texists(path));
}

Test(datadir, generated_ca_is_a_p384_root_and_a_p256_issuing_ca)
{
	struct datadir_opts o = opts(NULL);
	char path[TPATH], root_path[TPATH], cn[128];
	BASIC_CONSTRAINTS *bc;
	EVP_PKEY *rk, *ik;
	X509 *root, *iss;
	struct ca *ca;
	int crit;

	expect_ok(1, &o);
	in_data(root_path, "root.pem");
	root = tcert_read(root_path);
	in_data(path, "issuing.pem");
	iss = tcert_read(path);

	cr_assert_eq(EVP_PKEY_get_bits(X509_get0_pubkey(root)), 384);
	cr_assert(EVP_PKEY_is_a(X509_get0_pubkey(root), "EC"));
	cr_assert_eq(X509_check_issued(root, root), X509_V_OK);
	cr_assert_eq(X509_verify(root, X509_get0_pubkey(root)), 1);
	cr_assert_gt(X509_check_ca(root), 0);
	cr_assert_eq(X509_get_key_usage(root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	cr_assert_not_null(X509_get0_subject_key_id(root));
	cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(root),
	                 NID_commonName, cn, sizeof(cn)),
	    0);
	cr_assert_eq(strncmp(cn, "Kakuin Root CA ", 15), 0, "%s", cn);
	cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(root),
	                 NID_organizationName, cn, sizeof(cn)),
	    0);
	cr_assert_str_eq(cn, "Kakuin");
	bc = X509_get_ext_d2i(root, NID_basic_constraints, &crit, NULL);
	cr_assert(bc != NULL && bc->ca && crit == 1);
	BASIC_CONSTRAINTS_free(bc);

	cr_assert_eq(EVP_PKEY_get_bits(X509_get0_pubkey(iss)), 256);
	cr_assert_eq(X509_verify(iss, X509_get0_pubkey(root)), 1);
	cr_assert_eq(X509_get_key_usage(iss), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	cr_assert_eq(X509_get_pathlen(iss), 0);
	cr_assert_eq(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(iss),
	                 X509_get0_subject_key_id(root)),
	    0);
	cr_assert_lt(ASN1_TIME_compare(
	                 X509_get0_notAfter(iss), X509_get0_notAfter(root)),
	    0);
	cr_assert_eq(trun("openssl verify -CAfile %s %s", root_path, path), 0);

	/* The keys on disk belong to the certificates. */
	in_data(path, "private/root.key");
	rk = tkey_read(path);
	in_data(path, "private/issuing.key");
	ik = tkey_read(path);
	cr_assert_eq(X509_check_private_key(root, rk), 1);
	cr_assert_eq(X509_check_private_key(iss, ik), 1);
	cr_assert_eq(ca_load(data, &ca), KK_OK);
	ca_free(ca);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	X509_free(root);
	X509_free(iss);
}

Test(datadir, two_inits_make_different_roots)
{
	struct datadir_opts o = opts(NULL);
	char other[TPATH], path[TPATH];
	X509 *a, *b;

	expect_ok(1, &o);
	tjoin(other, dir, "data2");
	o.dir = other;
	expect_ok(1, &o);
	in_data(path, "root.pem");
	a = tcert_read(path);
	tjoin(path, other, "root.pem");
	b = tcert_read(path);
	cr_assert_neq(
	    X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)),
	    0);
	X509_free(a);
	X509_free(b);
}

static int
has_san_ip(X509 *x, const char *ip)
{
	return X509_check_ip_asc(x, ip, 0) == 1;
}

static int
has_san_dns(X509 *x, const char *name)
{
	return X509_check_host(
	           x, name, 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL) == 1;
}

Test(datadir, tls_pem_is_key_then_a_server_certificate_from_the_root)
{
	struct datadir_opts o = opts("192.0.2.7");
	char path[TPATH], root[TPATH], cert[TPATH], *pem;
	EVP_PKEY *key;
	X509 *x;

	expect_ok(1, &o);
	in_data(path, "private/tls.pem");
	pem = tread(path, NULL);
	cr_assert_eq(strncmp(pem, "-----BEGIN PRIVATE KEY-----", 27), 0);
	cr_assert_not_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	key = tkey_read(path);
	x = tls_cert();
	cr_assert_eq(X509_check_private_key(x, key), 1);
	cr_assert(EVP_PKEY_is_a(key, "EC"));
	cr_assert_eq(EVP_PKEY_get_bits(key), 256);
	cr_assert(has_san_ip(x, "127.0.0.1"));
	cr_assert(has_san_dns(x, "localhost"));
	cr_assert(has_san_ip(x, "192.0.2.7"));
	cr_assert(!has_san_ip(x, "192.0.2.8"));
	cr_assert(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	cr_assert_eq(X509_check_ca(x), 0);
	/* About a year. */
	cr_assert_gt(X509_cmp_time(X509_get0_notAfter(x),
	                 &(time_t){time(NULL) + 360 * 86400L}),
	    0);
	cr_assert_lt(X509_cmp_time(X509_get0_notAfter(x),
	                 &(time_t){time(NULL) + 370 * 86400L}),
	    0);
	in_data(root, "root.pem");
	tjoin(cert, dir, "tls-cert.pem");
	twrite_pem(cert, NULL, x, NULL);
	cr_assert_eq(
	    trun("openssl verify -purpose sslserver -CAfile %s %s", root, cert),
	    0);
	X509_free(x);
	EVP_PKEY_free(key);
	free(pem);
}

Test(datadir, tls_names_a_dns_listen_host_and_an_ipv6_one)
{
	struct datadir_opts o = opts("ca.example.org");
	X509 *x;

	expect_ok(1, &o);
	x = tls_cert();
	cr_assert(has_san_dns(x, "ca.example.org"));
	cr_assert(has_san_ip(x, "127.0.0.1"));
	X509_free(x);

	tdir_remove(data);
	o.listen_host = "[::1]";
	expect_ok(1, &o);
	x = tls_cert();
	cr_assert(has_san_ip(x, "::1"));
	X509_free(x);
}

Test(datadir, listen_host_cannot_smuggle_names)
{
	struct datadir_opts o = opts("a.example,DNS:evil.example");
	char path[TPATH];

	expect_fail(1, &o, KK_EINVAL, "a.example,DNS:evil.example");
	in_data(path, "private/tls.pem");
	cr_assert(!texists(path));
}

Test(datadir, ensure_creates_then_keeps)
{
	struct datadir_opts o = opts("127.0.0.1");
	char *root1, *tls1, *root2, *tls2;

	expect_ok(0, &o);
	root1 = file_of("root.pem");
	tls1 = file_of("private/tls.pem");
	expect_ok(0, &o);
	root2 = file_of("root.pem");
	tls2 = file_of("private/tls.pem");
	cr_assert_str_eq(root1, root2);
	cr_assert_str_eq(tls1, tls2);
	free(root1);
	free(root2);
	free(tls1);
	free(tls2);
}

Test(datadir, ensure_restores_a_missing_policy_and_keeps_an_edited_one)
{
	struct datadir_opts o = opts(NULL);
	char path[TPATH], *s;

	expect_ok(1, &o);
	in_data(path, "policy.json");
	cr_assert_eq(unlink(path), 0);
	expect_ok(0, &o);
	s = file_of("policy.json");
	cr_assert_str_eq(s, POLICY);
	free(s);
	twrite(path, "{\"edited\": true}", 16);
	expect_ok(0, &o);
	s = file_of("policy.json");
	cr_assert_str_eq(s, "{\"edited\": true}");
	free(s);
}

Test(datadir, missing_default_policy_is_named)
{
	struct datadir_opts o = opts(NULL);
	char missing[TPATH];

	tjoin(missing, dir, "no-such-policy.json");
	o.default_policy = missing;
	expect_fail(1, &o, KK_EIO, "no-such-policy.json");
}

/* Replaces tls.pem with a certificate for host valid for days. */
static void
put_tls(EVP_PKEY *signer_key, X509 *signer, long days)
{
	static const struct text exts[] = {
	    {"extendedKeyUsage", "serverAuth"},
	    {"subjectAltName", "IP:127.0.0.1"},
	    {NULL, NULL},
	};
	EVP_PKEY *key = tkey_ec("P-256");
	char path[TPATH];
	X509 *x;

	x = tcert(key, "old", signer, signer_key, days, exts);
	in_data(path, "private/tls.pem");
	twrite_pem(path, key, x, NULL);
	cr_assert_eq(chmod(path, 0600), 0);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(datadir, ensure_renews_tls_expiring_within_30_days)
{
	struct datadir_opts o = opts("127.0.0.1");
	char path[TPATH];
	EVP_PKEY *rk;
	X509 *root, *x;

	expect_ok(1, &o);
	in_data(path, "private/root.key");
	rk = tkey_read(path);
	in_data(path, "root.pem");
	root = tcert_read(path);

	/* 40 days left: kept. */
	put_tls(rk, root, 40);
	expect_ok(0, &o);
	x = tls_cert();
	cr_assert_lt(X509_cmp_time(X509_get0_notAfter(x),
	                 &(time_t){time(NULL) + 41 * 86400L}),
	    0);
	X509_free(x);

	/* 10 days left: renewed for a year. */
	put_tls(rk, root, 10);
	expect_ok(0, &o);
	x = tls_cert();
	cr_assert_gt(X509_cmp_time(X509_get0_notAfter(x),
	                 &(time_t){time(NULL) + 360 * 86400L}),
	    0);
	cr_assert_eq(X509_verify(x, X509_get0_pubkey(root)), 1);
	in_data(path, "private/tls.pem");
	cr_assert_eq(tmode(path), 0600);
	X509_free(x);
	X509_free(root);
	EVP_PKEY_free(rk);
}

Test(datadir, ensure_leaves_a_foreign_tls_certificate_alone)
{
	struct datadir_opts o = opts("127.0.0.1");
	EVP_PKEY *other = tkey_ec("P-256");
	char *before, *after;

	expect_ok(1, &o);
	put_tls(other, NULL, 10);
	before = file_of("private/tls.pem");
	expect_ok(0, &o);
	after = file_of("private/tls.pem");
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
	EVP_PKEY_free(other);
}

Test(datadir, ensure_renews_tls_for_a_new_listen_host)
{
	struct datadir_opts o = opts("127.0.0.1");
	X509 *x;

	expect_ok(1, &o);
	x = tls_cert();
	cr_assert(!has_san_dns(x, "ca.example.org"));
	X509_free(x);
	o.listen_host = "ca.example.org";
	expect_ok(0, &o);
	x = tls_cert();
	cr_assert(has_san_dns(x, "ca.example.org"));
	X509_free(x);
}

Test(datadir, ensure_refuses_an_incomplete_ca)
{
	struct datadir_opts o = opts(NULL);
	char path[TPATH];

	expect_ok(1, &o);
	in_data(path, "issuing.pem");
	cr_assert_eq(unlink(path), 0);
	expect_fail(0, &o, KK_ECONFLICT, "issuing.pem");
	cr_assert(!texists(path));
}

Test(datadir, ensure_refuses_keys_readable_by_others)
{
	struct datadir_opts o = opts(NULL);
	char path[TPATH];

	expect_ok(1, &o);
	in_data(path, "private/issuing.key");
	cr_assert_eq(chmod(path, 0644), 0);
	expect_fail(0, &o, KK_EINVAL, "issuing.key");
	cr_assert_eq(chmod(path, 0600), 0);
	in_data(path, "private");
	cr_assert_eq(chmod(path, 0755), 0);
	expect_fail(0, &o, KK_EINVAL, "private");
}

Test(datadir, ensure_works_with_the_root_key_offline)
{
	struct datadir_opts o = opts("127.0.0.1");
	char path[TPATH], root[TPATH], iss[TPATH], cert[TPATH];
	X509 *x;

	expect_ok(1, &o);
	in_data(path, "private/root.key");
	cr_assert_eq(unlink(path), 0);
	in_data(path, "private/tls.pem");
	cr_assert_eq(unlink(path), 0);
	expect_ok(0, &o);
	/* Now the issuing CA signs and its certificate follows. */
	x = tls_cert();
	in_data(iss, "issuing.pem");
	in_data(root, "root.pem");
	tjoin(cert, dir, "tls-cert.pem");
	twrite_pem(cert, NULL, x, NULL);
	cr_assert_eq(trun("openssl verify -purpose sslserver -CAfile %s "
	                  "-untrusted %s %s",
	                 root, path, cert),
	    0);
	X509_free(x);
}

/* An outside CA: a root and an issuing CA under it, made here. */
struct outside {
	EVP_PKEY *root_key, *iss_key;
	X509 *root, *iss;
	char cert[TPATH], key[TPATH];
};

static void
outside_make(struct outside *c, const struct text *iss_exts)
{
	c->root_key = tkey_ec("P-384");
	c->iss_key = tkey_ec("P-256");
	c->root = tcert(c->root_key, "Outside Root", NULL, NULL, 365, tca_exts);
	c->iss = tcert(
	    c->iss_key, "Outside Issuing", c->root, c->root_key, 100, iss_exts);
	tjoin(c->cert, dir, "outside.pem");
	tjoin(c->key, dir, "outside.key");
	twrite_pem(c->cert, NULL, c->iss, c->root, NULL);
	twrite_pem(c->key, c->iss_key, NULL);
}

static void
outside_free(struct outside *c)
{
	EVP_PKEY_free(c->root_key);
	EVP_PKEY_free(c->iss_key);
	X509_free(c->root);
	X509_free(c->iss);
}

static const struct text iss_exts[] = {
    {"basicConstraints", "critical,CA:TRUE,pathlen:0"},
    {"keyUsage", "critical,keyCertSign,cRLSign"},
    {"subjectKeyIdentifier", "hash"},
    {"authorityKeyIdentifier", "keyid:always"},
    {NULL, NULL},
};

Test(datadir, import_uses_the_given_ca)
{
	struct datadir_opts o = opts("127.0.0.1");
	char path[TPATH], root[TPATH], cert[TPATH];
	struct outside c;
	struct ca *ca;
	STACK_OF(X509) * certs;
	X509 *x;
	BIO *b;

	outside_make(&c, iss_exts);
	o.ca_cert = c.cert;
	o.ca_key = c.key;
	expect_ok(1, &o);
	in_data(root, "root.pem");
	x = tcert_read(root);
	cr_assert_eq(X509_cmp(x, c.root), 0);
	X509_free(x);
	in_data(path, "issuing.pem");
	x = tcert_read(path);
	cr_assert_eq(X509_cmp(x, c.iss), 0);
	X509_free(x);
	in_data(path, "private/root.key");
	cr_assert(!texists(path));
	in_data(path, "private/issuing.key");
	cr_assert_eq(tmode(path), 0600);
	cr_assert_eq(ca_load(data, &ca), KK_OK);
	ca_free(ca);

	/* tls.pem: key, TLS certificate, then the imported issuing CA. */
	in_data(path, "private/tls.pem");
	cr_assert_not_null(b = BIO_new_file(path, "r"));
	cr_assert_not_null(certs = sk_X509_new_null());
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		sk_X509_push(certs, x);
	ERR_clear_error();
	BIO_free(b);
	cr_assert_eq(sk_X509_num(certs), 2);
	cr_assert_eq(X509_cmp(sk_X509_value(certs, 1), c.iss), 0);
	cr_assert_eq(
	    X509_verify(sk_X509_value(certs, 0), X509_get0_pubkey(c.iss)), 1);
	tjoin(cert, dir, "tls-cert.pem");
	twrite_pem(cert, NULL, sk_X509_value(certs, 0), NULL);
	cr_assert_eq(trun("openssl verify -purpose sslserver -CAfile %s "
	                  "-untrusted %s %s",
	                 root, path, cert),
	    0);
	sk_X509_pop_free(certs, X509_free);

	/* Ensure with the same import is fine; with another, refused. */
	expect_ok(0, &o);
	outside_free(&c);
	outside_make(&c, iss_exts);
	expect_fail(0, &o, KK_ECONFLICT, "outside.pem");
	outside_free(&c);
}

Test(datadir, import_of_a_single_self_signed_ca)
{
	struct datadir_opts o = opts(NULL);
	EVP_PKEY *key = tkey_ec("P-256");
	char cert[TPATH], keyp[TPATH], *a, *b;
	X509 *x;
	struct ca *ca;

	x = tcert(key, "Solo CA", NULL, NULL, 365, tca_exts);
	tjoin(cert, dir, "solo.pem");
	tjoin(keyp, dir, "solo.key");
	twrite_pem(cert, NULL, x, NULL);
	twrite_pem(keyp, key, NULL);
	o.ca_cert = cert;
	o.ca_key = keyp;
	expect_ok(1, &o);
	a = file_of("root.pem");
	b = file_of("issuing.pem");
	cr_assert_str_eq(a, b);
	cr_assert_eq(ca_load(data, &ca), KK_OK);
	ca_free(ca);
	free(a);
	free(b);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(datadir, import_refuses_a_key_that_does_not_match)
{
	struct datadir_opts o = opts(NULL);
	EVP_PKEY *stranger = tkey_ec("P-256");
	char path[TPATH];
	struct outside c;

	outside_make(&c, iss_exts);
	twrite_pem(c.key, stranger, NULL);
	o.ca_cert = c.cert;
	o.ca_key = c.key;
	expect_fail(1, &o, KK_EKEY, "outside.key");
	in_data(path, "root.pem");
	cr_assert(!texists(path));
	in_data(path, "private/issuing.key");
	cr_assert(!texists(path));
	outside_free(&c);
	EVP_PKEY_free(stranger);
}

Test(datadir, import_refuses_a_certificate_that_is_not_a_ca)
{
	static const struct text leaf_exts[] = {
	    {"basicConstraints", "critical,CA:FALSE"},
	    {"subjectKeyIdentifier", "hash"},
	    {"authorityKeyIdentifier", "keyid:always"},
	    {NULL, NULL},
	};
	struct datadir_opts o = opts(NULL);
	struct outside c;

	outside_make(&c, leaf_exts);
	o.ca_cert = c.cert;
	o.ca_key = c.key;
	expect_fail(1, &o, KK_EINVAL, "outside.pem");
	outside_free(&c);
}

Test(datadir, import_refuses_a_ca_without_crl_sign)
{
	static const struct text no_crl[] = {
	    {"basicConstraints", "critical,CA:TRUE,pathlen:0"},
	    {"keyUsage", "critical,keyCertSign"},
	    {"subjectKeyIdentifier", "hash"},
	    {"authorityKeyIdentifier", "keyid:always"},
	    {NULL, NULL},
	};
	struct datadir_opts o = opts(NULL);
	struct outside c;

	outside_make(&c, no_crl);
	o.ca_cert = c.cert;
	o.ca_key = c.key;
	expect_fail(1, &o, KK_EINVAL, "outside.pem");
	outside_free(&c);
}

Test(datadir, import_refuses_a_chain_that_does_not_link)
{
	struct datadir_opts o = opts(NULL);
	struct outside c, d;

	outside_make(&c, iss_exts);
	outside_make(&d, iss_exts);
	/* c's issuing CA, d's root; c's key. */
	twrite_pem(c.cert, NULL, c.iss, d.root, NULL);
	twrite_pem(c.key, c.iss_key, NULL);
	o.ca_cert = c.cert;
	o.ca_key = c.key;
	expect_fail(1, &o, KK_EINVAL, "does not chain");
	outside_free(&c);
	outside_free(&d);
}

Test(datadir, import_needs_both_files_and_a_readable_key)
{
	struct datadir_opts o = opts(NULL);
	char junk[TPATH];
	struct outside c;

	outside_make(&c, iss_exts);
	o.ca_cert = c.cert;
	expect_fail(1, &o, KK_EINVAL, "both");
	tjoin(junk, dir, "junk.key");
	twrite(junk, "not a key\n", 10);
	o.ca_key = junk;
	expect_fail(1, &o, KK_EKEY, "junk.key");
	o.ca_key = c.key;
	o.ca_cert = junk;
	expect_fail(1, &o, KK_EINVAL, "junk.key");
	outside_free(&c);
}
