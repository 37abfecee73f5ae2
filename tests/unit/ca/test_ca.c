/*
 * test_ca.c - ca_load, leaf issuance, certificate checks and CRLs, each
 * result parsed back and, where it matters, checked by the openssl command.
 */
#include <time.h>

#include <openssl/bn.h>

#include "ca.h"
#include "ca_test.h"

#define CRL_URL "http://127.0.0.1:8443/crl/x.crl"

static char dir[64];
static char data[TPATH];
static struct ca *ca;

static void
setup(void)
{
	tdir_make(dir, sizeof(dir));
	tdatadir(dir, data, NULL);
	cr_assert_eq(ca_load(data, &ca), KK_OK);
}

static void
teardown(void)
{
	ca_free(ca);
	ca = NULL;
	tdir_remove(dir);
}

TestSuite(ca, .init = setup, .fini = teardown);

static struct ca_leaf
leaf_for(EVP_PKEY *key)
{
	struct ca_leaf l = {
	    .key = key,
	    .country = "JP",
	    .org_name = "Example Electric Power Co., Inc.",
	    .org_id = "NTRJP-9234567890123",
	    .cn = "meter-gw-01.example.jp",
	    .validity_days = 90,
	    .crl_url = CRL_URL,
	};
	return l;
}

static X509 *
parse_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;

	cr_assert_not_null(b);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	cr_assert_not_null(x);
	return x;
}

static X509 *
issuing_cert(void)
{
	char path[TPATH];

	tjoin(path, data, "issuing.pem");
	return tcert_read(path);
}

/* Issues a leaf for key; the caller frees pem and serial. */
static X509 *
issue(EVP_PKEY *key, char **pem, char **serial)
{
	struct ca_leaf l = leaf_for(key);
	time_t nb, na;

	cr_assert_eq(ca_issue(ca, &l, pem, serial, &nb, &na), KK_OK);
	return parse_pem(*pem);
}

static void
expect_refused(const struct ca_leaf *l, enum kk_status want)
{
	char *pem = (char *)"x", *serial = (char *)"x";
	time_t nb = 1, na = 1;

	cr_assert_eq(ca_issue(ca, l, &pem, &serial, &nb, &na), want);
	cr_assert_null(pem);
	cr_assert_null(serial);
}

static char *
entry(X509_NAME *name, int i, int *nid)
{
	X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
	unsigned char *s = NULL;

	*nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
	cr_assert_gt(ASN1_STRING_to_UTF8(&s, X509_NAME_ENTRY_get_data(e)), 0);
	return (char *)s;
}

Test(ca, load_exposes_chain_and_issuer_id)
{
	X509 *iss = issuing_cert(), *chain;
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(iss);
	const unsigned char *p;
	char want[41];
	int i;

	chain = parse_pem(ca_chain_pem(ca));
	cr_assert_eq(X509_cmp(chain, iss), 0);
	cr_assert_not_null(skid);
	cr_assert_eq(ASN1_STRING_length(skid), 20);
	p = ASN1_STRING_get0_data(skid);
	for (i = 0; i < 20; i++)
		snprintf(want + 2 * i, 3, "%02x", p[i]);
	cr_assert_str_eq(ca_issuer_id(ca), want);
	X509_free(chain);
	X509_free(iss);
}

Test(ca, load_refuses_missing_and_mismatched_material)
{
	char other_dir[64], other[TPATH], from[TPATH], to[TPATH];
	struct ca *c = (struct ca *)1;
	char *buf;
	size_t len;

	cr_assert_eq(ca_load("/nonexistent/kakuin", &c), KK_ENOTFOUND);
	cr_assert_null(c);

	tdir_make(other_dir, sizeof(other_dir));
	tdatadir(other_dir, other, NULL);
	/* Another CA's issuing key. */
	tjoin(from, other, "private/issuing.key");
	tjoin(to, data, "private/issuing.key");
	buf = tread(to, &len);
	{
		char *o = tread(from, NULL);

		twrite(to, o, strlen(o));
		free(o);
	}
	cr_assert_eq(ca_load(data, &c), KK_EKEY);
	twrite(to, buf, len);
	free(buf);
	cr_assert_eq(ca_load(data, &c), KK_OK);
	ca_free(c);
	/* Another CA's root: issuing.pem no longer chains. */
	tjoin(from, other, "root.pem");
	tjoin(to, data, "root.pem");
	buf = tread(from, &len);
	twrite(to, buf, len);
	free(buf);
	cr_assert_eq(ca_load(data, &c), KK_EINVAL);
	cr_assert_null(c);
	tdir_remove(other_dir);
}

Test(ca, issue_builds_the_subject_from_ca_leaf_only)
{
	EVP_PKEY *key = tkey_ec("P-256");
	const int want_nid[] = {NID_countryName, NID_organizationName,
	    NID_organizationIdentifier, NID_commonName};
	struct ca_leaf l = leaf_for(key);
	const char *want_val[] = {l.country, l.org_name, l.org_id, l.cn};
	char *pem, *serial, *v;
	X509_NAME *name;
	X509 *x;
	int i, nid;

	x = issue(key, &pem, &serial);
	name = X509_get_subject_name(x);
	cr_assert_eq(X509_NAME_entry_count(name), 4);
	for (i = 0; i < 4; i++) {
		v = entry(name, i, &nid);
		cr_assert_eq(nid, want_nid[i], "entry %d", i);
		cr_assert_str_eq(v, want_val[i]);
		OPENSSL_free(v);
	}
	/* C is a PrintableString, the others UTF8String. */
	cr_assert_eq(ASN1_STRING_type(X509_NAME_ENTRY_get_data(
	                 X509_NAME_get_entry(name, 0))),
	    V_ASN1_PRINTABLESTRING);
	cr_assert_eq(ASN1_STRING_type(X509_NAME_ENTRY_get_data(
	                 X509_NAME_get_entry(name, 3))),
	    V_ASN1_UTF8STRING);
	X509_free(x);
	free(pem);
	free(serial);
	EVP_PKEY_free(key);
}

Test(ca, issue_makes_a_client_auth_leaf)
{
	EVP_PKEY *key = tkey_ec("P-256");
	X509 *x, *iss = issuing_cert();
	BASIC_CONSTRAINTS *bc;
	EXTENDED_KEY_USAGE *eku;
	CRL_DIST_POINTS *dps;
	DIST_POINT *dp;
	GENERAL_NAME *gn;
	BIGNUM *bn;
	char *pem, *serial, *hex;
	int crit;

	x = issue(key, &pem, &serial);
	cr_assert_eq(X509_get_version(x), X509_VERSION_3);
	cr_assert_eq(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
	cr_assert_eq(X509_verify(x, X509_get0_pubkey(iss)), 1);
	cr_assert_eq(
	    X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(iss)),
	    0);

	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	cr_assert_not_null(bc);
	cr_assert_eq(crit, 1);
	cr_assert_eq(bc->ca, 0);
	BASIC_CONSTRAINTS_free(bc);

	cr_assert(X509_get_extension_flags(x) & EXFLAG_KUSAGE);
	cr_assert_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	cr_assert_eq(X509_EXTENSION_get_critical(X509_get_ext(
	                 x, X509_get_ext_by_NID(x, NID_key_usage, -1))),
	    1);

	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	cr_assert_not_null(eku);
	cr_assert_eq(sk_ASN1_OBJECT_num(eku), 1);
	cr_assert_eq(
	    OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_client_auth);
	EXTENDED_KEY_USAGE_free(eku);

	cr_assert_not_null(X509_get0_subject_key_id(x));
	cr_assert_eq(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
	                 X509_get0_subject_key_id(iss)),
	    0);

	dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	cr_assert_not_null(dps);
	cr_assert_eq(sk_DIST_POINT_num(dps), 1);
	dp = sk_DIST_POINT_value(dps, 0);
	cr_assert_eq(dp->distpoint->type, 0);
	cr_assert_eq(sk_GENERAL_NAME_num(dp->distpoint->name.fullname), 1);
	gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
	cr_assert_eq(gn->type, GEN_URI);
	cr_assert_str_eq((const char *)ASN1_STRING_get0_data(
	                     gn->d.uniformResourceIdentifier),
	    CRL_URL);
	CRL_DIST_POINTS_free(dps);

	/* Serial: positive, at least 64 bits, the one reported. */
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	cr_assert_not_null(bn);
	cr_assert_eq(BN_is_negative(bn), 0);
	cr_assert_geq(BN_num_bits(bn), 64);
	hex = BN_bn2hex(bn);
	cr_assert_eq(OPENSSL_strcasecmp(hex, serial), 0);
	for (char *p = serial; *p; p++)
		cr_assert(!(*p >= 'A' && *p <= 'F'), "lower-case hex");
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	X509_free(iss);
	free(pem);
	free(serial);
	EVP_PKEY_free(key);
}

Test(ca, issue_validity_is_backdated_and_as_asked)
{
	EVP_PKEY *key = tkey_ec("P-256");
	struct ca_leaf l = leaf_for(key);
	char *pem, *serial;
	time_t before = time(NULL), nb, na, got;
	struct tm tm;
	X509 *x;

	cr_assert_eq(ca_issue(ca, &l, &pem, &serial, &nb, &na), KK_OK);
	x = parse_pem(pem);
	cr_assert(nb >= before - 300 && nb <= time(NULL) - 300);
	cr_assert_eq(na - nb, (time_t)90 * 86400);
	cr_assert_eq(ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm), 1);
	got = timegm(&tm);
	cr_assert_eq(got, nb);
	cr_assert_eq(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	got = timegm(&tm);
	cr_assert_eq(got, na);
	X509_free(x);
	free(pem);
	free(serial);
	EVP_PKEY_free(key);
}

Test(ca, issue_never_outlives_the_issuing_ca)
{
	EVP_PKEY *key = tkey_ec("P-256");
	struct ca_leaf l = leaf_for(key);
	X509 *x, *iss = issuing_cert();
	char *pem, *serial;
	time_t nb, na;

	/* Ten years asked, five-year issuing CA. */
	l.validity_days = 3650;
	cr_assert_eq(ca_issue(ca, &l, &pem, &serial, &nb, &na), KK_OK);
	x = parse_pem(pem);
	cr_assert_eq(
	    ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(iss)),
	    0);
	cr_assert_eq(ASN1_TIME_cmp_time_t(X509_get0_notAfter(iss), na), 0);
	X509_free(x);
	X509_free(iss);
	free(pem);
	free(serial);
	EVP_PKEY_free(key);
}

Test(ca, issue_is_accepted_by_openssl_verify_for_client_auth)
{
	EVP_PKEY *key = tkey_ec("P-384");
	char *pem, *serial, leaf[TPATH], root[TPATH], iss[TPATH];
	X509 *x;

	x = issue(key, &pem, &serial);
	tjoin(leaf, dir, "leaf.pem");
	tjoin(root, data, "root.pem");
	tjoin(iss, data, "issuing.pem");
	twrite(leaf, pem, strlen(pem));
	cr_assert_eq(trun("openssl verify -purpose sslclient -CAfile %s "
	                  "-untrusted %s %s",
	                 root, iss, leaf),
	    0);
	/* The same check refuses it as a server certificate (EKU). */
	cr_assert_neq(trun("openssl verify -purpose sslserver -CAfile %s "
	                   "-untrusted %s %s",
	                  root, iss, leaf),
	    0);
	X509_free(x);
	free(pem);
	free(serial);
	EVP_PKEY_free(key);
}

Test(ca, issue_rsa_adds_key_encipherment_and_ed25519_works)
{
	EVP_PKEY *rsa = tkey_rsa(2048), *ed = tkey_named("ED25519");
	char *pem, *serial, leaf[TPATH], root[TPATH], iss[TPATH];
	X509 *x;

	x = issue(rsa, &pem, &serial);
	cr_assert_eq(
	    X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	X509_free(x);
	free(pem);
	free(serial);

	x = issue(ed, &pem, &serial);
	cr_assert_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	tjoin(leaf, dir, "leaf.pem");
	tjoin(root, data, "root.pem");
	tjoin(iss, data, "issuing.pem");
	twrite(leaf, pem, strlen(pem));
	cr_assert_eq(trun("openssl verify -purpose sslclient -CAfile %s "
	                  "-untrusted %s %s",
	                 root, iss, leaf),
	    0);
	X509_free(x);
	free(pem);
	free(serial);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

Test(ca, issue_serials_differ)
{
	EVP_PKEY *key = tkey_ec("P-256");
	char *pem1, *s1, *pem2, *s2;
	X509 *a, *b;

	a = issue(key, &pem1, &s1);
	b = issue(key, &pem2, &s2);
	cr_assert_str_neq(s1, s2);
	cr_assert_geq(strlen(s1), 16);
	X509_free(a);
	X509_free(b);
	free(pem1);
	free(pem2);
	free(s1);
	free(s2);
	EVP_PKEY_free(key);
}

Test(ca, issue_keeps_utf8_names)
{
	EVP_PKEY *key = tkey_ec("P-256");
	struct ca_leaf l = leaf_for(key);
	char *pem, *serial, *v;
	time_t nb, na;
	X509 *x;
	int nid;

	l.org_name = "\xe6\x9d\xb1\xe4\xba\xac\xe9\x9b\xbb\xe5\x8a\x9b";
	cr_assert_eq(ca_issue(ca, &l, &pem, &serial, &nb, &na), KK_OK);
	x = parse_pem(pem);
	v = entry(X509_get_subject_name(x), 1, &nid);
	cr_assert_str_eq(v, l.org_name);
	OPENSSL_free(v);
	X509_free(x);
	free(pem);
	free(serial);
	EVP_PKEY_free(key);
}

Test(ca, issue_puts_a_url_with_commas_in_one_distribution_point)
{
	EVP_PKEY *key = tkey_ec("P-256");
	struct ca_leaf l = leaf_for(key);
	CRL_DIST_POINTS *dps;
	char *pem, *serial;
	time_t nb, na;
	X509 *x;

	l.crl_url = "http://a.example/x.crl,URI:http://evil.example/";
	cr_assert_eq(ca_issue(ca, &l, &pem, &serial, &nb, &na), KK_OK);
	x = parse_pem(pem);
	dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	cr_assert_eq(sk_GENERAL_NAME_num(
	                 sk_DIST_POINT_value(dps, 0)->distpoint->name.fullname),
	    1);
	CRL_DIST_POINTS_free(dps);
	X509_free(x);
	free(pem);
	free(serial);
	EVP_PKEY_free(key);
}

Test(ca, issue_refuses_bad_leaf_data)
{
	EVP_PKEY *key = tkey_ec("P-256"), *ca_key;
	char long_cn[70], path[TPATH];
	struct ca_leaf l;

	l = leaf_for(key);
	l.country = "JPN";
	expect_refused(&l, KK_EINVAL);
	l = leaf_for(key);
	memset(long_cn, 'a', sizeof(long_cn) - 1);
	long_cn[sizeof(long_cn) - 1] = '\0';
	l.cn = long_cn;
	expect_refused(&l, KK_EINVAL);
	l = leaf_for(key);
	l.org_id = "";
	expect_refused(&l, KK_EINVAL);
	l = leaf_for(key);
	l.org_name = NULL;
	expect_refused(&l, KK_EINVAL);
	l = leaf_for(key);
	l.validity_days = 0;
	expect_refused(&l, KK_EINVAL);
	l = leaf_for(key);
	l.crl_url = "ldap://x/crl";
	expect_refused(&l, KK_EINVAL);
	l = leaf_for(key);
	l.crl_url = "http://x/a b";
	expect_refused(&l, KK_EINVAL);
	l = leaf_for(NULL);
	expect_refused(&l, KK_EINVAL);
	/* The CA's own key as a subject key. */
	tjoin(path, data, "private/issuing.key");
	ca_key = tkey_read(path);
	l = leaf_for(ca_key);
	expect_refused(&l, KK_EKEY);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
}

static unsigned char *
to_der(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	cr_assert_gt(n, 0);
	*len = (size_t)n;
	return der;
}

Test(ca, cert_check_accepts_ours)
{
	EVP_PKEY *key = tkey_named("ED25519"), *got = NULL;
	char *pem, *serial, *s = NULL;
	unsigned char *der;
	size_t len;
	X509 *x;

	x = issue(key, &pem, &serial);
	der = to_der(x, &len);
	cr_assert_eq(ca_cert_check(ca, der, len, &s, &got), KK_OK);
	cr_assert_str_eq(s, serial);
	cr_assert_eq(EVP_PKEY_eq(got, key), 1);
	OPENSSL_free(der);
	EVP_PKEY_free(got);
	free(s);
	X509_free(x);
	free(pem);
	free(serial);
	EVP_PKEY_free(key);
}

static void
expect_check(const unsigned char *der, size_t len, enum kk_status want)
{
	EVP_PKEY *got = (EVP_PKEY *)1;
	char *s = (char *)"x";

	cr_assert_eq(ca_cert_check(ca, der, len, &s, &got), want);
	cr_assert_null(s);
	cr_assert_null(got);
}

Test(ca, cert_check_rejects_another_cas_certificate)
{
	char other_dir[64], other[TPATH];
	EVP_PKEY *key = tkey_ec("P-256");
	struct ca_leaf l = leaf_for(key);
	struct ca *them;
	char *pem, *serial;
	unsigned char *der;
	time_t nb, na;
	size_t len;
	X509 *x;

	tdir_make(other_dir, sizeof(other_dir));
	tdatadir(other_dir, other, NULL);
	cr_assert_eq(ca_load(other, &them), KK_OK);
	cr_assert_eq(ca_issue(them, &l, &pem, &serial, &nb, &na), KK_OK);
	x = parse_pem(pem);
	der = to_der(x, &len);
	expect_check(der, len, KK_ENOTFOUND);
	OPENSSL_free(der);
	X509_free(x);
	free(pem);
	free(serial);
	ca_free(them);
	tdir_remove(other_dir);
	EVP_PKEY_free(key);
}

Test(ca, cert_check_rejects_a_forgery_under_our_name)
{
	/* Our issuer name and key id, someone else's signature. */
	EVP_PKEY *key = tkey_ec("P-256"), *forger = tkey_ec("P-256");
	static const struct text exts[] = {
	    {"authorityKeyIdentifier", "keyid:always"},
	    {NULL, NULL},
	};
	X509 *iss = issuing_cert(), *x;
	unsigned char *der;
	size_t len;

	x = tcert(key, "forged", iss, forger, 30, exts);
	cr_assert_eq(X509_check_issued(iss, x), X509_V_OK);
	der = to_der(x, &len);
	expect_check(der, len, KK_ENOTFOUND);
	OPENSSL_free(der);
	X509_free(x);
	X509_free(iss);
	EVP_PKEY_free(key);
	EVP_PKEY_free(forger);
}

Test(ca, cert_check_rejects_garbage)
{
	static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	EVP_PKEY *key = tkey_ec("P-256");
	char *pem, *serial;
	unsigned char *der, *longer;
	size_t len;
	X509 *x;

	expect_check(junk, sizeof(junk), KK_EINVAL);
	expect_check(junk, 0, KK_EINVAL);
	x = issue(key, &pem, &serial);
	der = to_der(x, &len);
	longer = malloc(len + 2);
	cr_assert_not_null(longer);
	memcpy(longer, der, len);
	longer[len] = longer[len + 1] = 0;
	expect_check(longer, len + 2, KK_EINVAL);
	expect_check(der, len - 1, KK_EINVAL);
	free(longer);
	OPENSSL_free(der);
	X509_free(x);
	free(pem);
	free(serial);
	EVP_PKEY_free(key);
}

Test(ca, spki_sha256_is_the_hash_of_the_spki)
{
	EVP_PKEY *a = tkey_ec("P-256"), *b = tkey_ec("P-256");
	unsigned char *der = NULL, md[32];
	char *ha, *hb, want[65];
	size_t mdlen;
	int n, i;

	cr_assert_eq(ca_spki_sha256(a, &ha), KK_OK);
	cr_assert_eq(ca_spki_sha256(b, &hb), KK_OK);
	n = i2d_PUBKEY(a, &der);
	cr_assert_gt(n, 0);
	cr_assert_eq(
	    EVP_Q_digest(NULL, "SHA256", NULL, der, (size_t)n, md, &mdlen), 1);
	for (i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	cr_assert_str_eq(ha, want);
	cr_assert_str_neq(ha, hb);
	OPENSSL_free(der);
	free(ha);
	free(hb);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

/* The hash is of the very SPKI bytes OpenSSL's encoder makes, for every
 * key type a CSR may carry, whichever path the key takes (EC and Ed25519
 * a shorter one, whose buffer P-521's point fills exactly). */
Test(ca, spki_sha256_matches_the_encoder_for_every_key_type)
{
	EVP_PKEY *keys[] = {tkey_ec("P-256"), tkey_ec("P-384"),
	    tkey_ec("P-521"), tkey_named("ED25519"), tkey_rsa(2048)};
	unsigned char *der = NULL, md[32];
	char *h, want[65];
	size_t mdlen;
	int n;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		cr_assert_eq(ca_spki_sha256(keys[k], &h), KK_OK);
		n = i2d_PUBKEY(keys[k], &der);
		cr_assert_gt(n, 0);
		cr_assert_eq(EVP_Q_digest(NULL, "SHA256", NULL, der, (size_t)n,
		                 md, &mdlen),
		    1);
		for (int i = 0; i < 32; i++)
			snprintf(want + 2 * i, 3, "%02x", md[i]);
		cr_assert_str_eq(h, want, "key %zu", k);
		OPENSSL_free(der);
		der = NULL;
		free(h);
		EVP_PKEY_free(keys[k]);
	}
}

static X509_CRL *
crl_parse(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);

	cr_assert_not_null(crl);
	cr_assert_eq(p, der + len);
	return crl;
}

/* The reason code of the entry for serial, 0 if it has none, -1 if the
 * serial is not listed; *has_ext says whether the extension is there. */
static int
crl_reason(X509_CRL *crl, const char *serial_hex, int *has_ext)
{
	ASN1_INTEGER *serial;
	ASN1_ENUMERATED *reason;
	X509_REVOKED *rev = NULL;
	BIGNUM *bn = NULL;
	int r;

	cr_assert_gt(BN_hex2bn(&bn, serial_hex), 0);
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	r = X509_CRL_get0_by_serial(crl, &rev, serial);
	ASN1_INTEGER_free(serial);
	if (r == 0)
		return -1;
	*has_ext = X509_REVOKED_get_ext_by_NID(rev, NID_crl_reason, -1) >= 0;
	reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
	if (reason == NULL)
		return 0;
	r = (int)ASN1_ENUMERATED_get(reason);
	ASN1_ENUMERATED_free(reason);
	return r;
}

Test(ca, crl_lists_serials_with_reasons_and_is_signed)
{
	EVP_PKEY *key = tkey_ec("P-256");
	char *pem[3], *serial[3];
	X509 *x[3], *iss = issuing_cert();
	struct ca_revoked rev[3];
	time_t now = time(NULL);
	unsigned char *der;
	ASN1_INTEGER *num;
	AUTHORITY_KEYID *akid;
	X509_CRL *crl;
	size_t len;
	int i, has_ext;

	for (i = 0; i < 3; i++)
		x[i] = issue(key, &pem[i], &serial[i]);
	rev[0] = (struct ca_revoked){serial[0], now - 60, 1};
	rev[1] = (struct ca_revoked){serial[1], now - 30, 0};
	/* Upper-case hex is the same serial. */
	for (char *p = serial[2]; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	rev[2] = (struct ca_revoked){serial[2], now - 10, 4};
	cr_assert_eq(
	    ca_crl(ca, rev, 3, 42, now, now + 86400, &der, &len), KK_OK);
	crl = crl_parse(der, len);
	cr_assert_eq(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	cr_assert_eq(X509_CRL_verify(crl, X509_get0_pubkey(iss)), 1);
	cr_assert_eq(
	    X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(iss)),
	    0);
	cr_assert_eq(
	    ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(crl), now), 0);
	cr_assert_eq(
	    ASN1_TIME_cmp_time_t(X509_CRL_get0_nextUpdate(crl), now + 86400),
	    0);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	cr_assert_not_null(num);
	cr_assert_eq(ASN1_INTEGER_get(num), 42);
	ASN1_INTEGER_free(num);
	akid =
	    X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	cr_assert_not_null(akid);
	cr_assert_eq(
	    ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(iss)),
	    0);
	AUTHORITY_KEYID_free(akid);
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 3);
	cr_assert_eq(crl_reason(crl, serial[0], &has_ext), 1);
	cr_assert(has_ext);
	/* unspecified (0) is said by leaving the extension out (5.3.1). */
	cr_assert_eq(crl_reason(crl, serial[1], &has_ext), 0);
	cr_assert(!has_ext);
	cr_assert_eq(crl_reason(crl, serial[2], &has_ext), 4);
	cr_assert_eq(crl_reason(crl, "0123456789abcdef", &has_ext), -1);
	X509_CRL_free(crl);
	OPENSSL_free(der);
	for (i = 0; i < 3; i++) {
		X509_free(x[i]);
		free(pem[i]);
		free(serial[i]);
	}
	X509_free(iss);
	EVP_PKEY_free(key);
}

Test(ca, crl_is_used_by_openssl_to_refuse_a_revoked_leaf)
{
	EVP_PKEY *key = tkey_ec("P-256");
	char *pem[2], *serial[2], crlp[TPATH], crlder[TPATH], root[TPATH],
	    iss[TPATH], leaf[TPATH];
	struct ca_revoked rev;
	time_t now = time(NULL);
	unsigned char *der;
	X509_CRL *crl;
	X509 *x[2];
	size_t len;
	FILE *f;
	int i;

	for (i = 0; i < 2; i++)
		x[i] = issue(key, &pem[i], &serial[i]);
	rev = (struct ca_revoked){serial[0], now - 60, 1};
	cr_assert_eq(
	    ca_crl(ca, &rev, 1, 1, now - 60, now + 86400, &der, &len), KK_OK);
	tjoin(crlder, dir, "crl.der");
	twrite(crlder, der, len);
	cr_assert_eq(
	    trun("openssl crl -inform DER -in %s -noout -text", crlder), 0);
	crl = crl_parse(der, len);
	tjoin(crlp, dir, "crl.pem");
	f = fopen(crlp, "w");
	cr_assert_not_null(f);
	cr_assert_eq(PEM_write_X509_CRL(f, crl), 1);
	fclose(f);
	tjoin(root, data, "root.pem");
	tjoin(iss, data, "issuing.pem");
	tjoin(leaf, dir, "leaf.pem");
	/* -crl_check checks the leaf against the issuing CA's CRL. */
	twrite(leaf, pem[0], strlen(pem[0]));
	cr_assert_neq(trun("openssl verify -crl_check -CAfile %s -untrusted "
	                   "%s -CRLfile %s %s",
	                  root, iss, crlp, leaf),
	    0);
	twrite(leaf, pem[1], strlen(pem[1]));
	cr_assert_eq(trun("openssl verify -crl_check -CAfile %s -untrusted "
	                  "%s -CRLfile %s %s",
	                 root, iss, crlp, leaf),
	    0);
	X509_CRL_free(crl);
	OPENSSL_free(der);
	for (i = 0; i < 2; i++) {
		X509_free(x[i]);
		free(pem[i]);
		free(serial[i]);
	}
	EVP_PKEY_free(key);
}

Test(ca, crl_may_be_empty)
{
	X509 *iss = issuing_cert();
	time_t now = time(NULL);
	unsigned char *der;
	X509_CRL *crl;
	size_t len;

	cr_assert_eq(
	    ca_crl(ca, NULL, 0, 0, now, now + 3600, &der, &len), KK_OK);
	crl = crl_parse(der, len);
	/* An empty list is encoded by leaving it out. */
	cr_assert_null(X509_CRL_get_REVOKED(crl));
	cr_assert_eq(X509_CRL_verify(crl, X509_get0_pubkey(iss)), 1);
	X509_CRL_free(crl);
	X509_free(iss);
	OPENSSL_free(der);
}

Test(ca, crl_refuses_bad_entries)
{
	struct ca_revoked rev = {"00ff", 0, 1};
	unsigned char *der = (unsigned char *)"x";
	time_t now = time(NULL);
	size_t len = 1;

	rev.serial_hex = "not-hex";
	cr_assert_eq(
	    ca_crl(ca, &rev, 1, 1, now, now + 60, &der, &len), KK_EINVAL);
	cr_assert_null(der);
	cr_assert_eq(len, 0);
	rev.serial_hex = "00";
	cr_assert_eq(
	    ca_crl(ca, &rev, 1, 1, now, now + 60, &der, &len), KK_EINVAL);
	rev.serial_hex = "0123456789abcdef0123456789abcdef0123456789";
	cr_assert_eq(
	    ca_crl(ca, &rev, 1, 1, now, now + 60, &der, &len), KK_EINVAL);
	rev.serial_hex = "0a";
	rev.reason = 7;
	cr_assert_eq(
	    ca_crl(ca, &rev, 1, 1, now, now + 60, &der, &len), KK_EINVAL);
	rev.reason = 8;
	cr_assert_eq(
	    ca_crl(ca, &rev, 1, 1, now, now + 60, &der, &len), KK_EINVAL);
	rev.reason = -1;
	cr_assert_eq(
	    ca_crl(ca, &rev, 1, 1, now, now + 60, &der, &len), KK_EINVAL);
	rev.reason = 11;
	cr_assert_eq(
	    ca_crl(ca, &rev, 1, 1, now, now + 60, &der, &len), KK_EINVAL);
	rev.reason = 1;
	cr_assert_eq(ca_crl(ca, &rev, 1, 1, now, now, &der, &len), KK_EINVAL);
	cr_assert_eq(
	    ca_crl(ca, &rev, 1, -1, now, now + 60, &der, &len), KK_EINVAL);
	cr_assert_eq(ca_crl(ca, &rev, 1, 1, now, now + 60, &der, &len), KK_OK);
	OPENSSL_free(der);
}

Test(ca, dns_names_go_into_the_subject_alt_name)
{
	EVP_PKEY *key = tkey_ec("P-256");
	const char *names[] = {"a.example.jp", "b.example.jp"};
	struct ca_leaf l = leaf_for(key);
	EXTENDED_KEY_USAGE *eku;
	GENERAL_NAMES *g;
	char *pem, *serial, cn[80];
	time_t nb, na;
	int crit;
	X509 *x;

	l.cn = names[0];
	l.dns = names;
	l.n_dns = 2;
	l.server_auth = 1;
	cr_assert_eq(ca_issue(ca, &l, &pem, &serial, &nb, &na), KK_OK);
	x = parse_pem(pem);
	g = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	cr_assert_not_null(g);
	cr_assert_eq(crit, 0, "critical SAN beside a subject");
	cr_assert_eq(sk_GENERAL_NAME_num(g), 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(sk_GENERAL_NAME_value(g, i)->type, GEN_DNS);
		cr_assert_str_eq((const char *)ASN1_STRING_get0_data(
		                     sk_GENERAL_NAME_value(g, i)->d.dNSName),
		    names[i]);
	}
	GENERAL_NAMES_free(g);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	cr_assert_eq(sk_ASN1_OBJECT_num(eku), 2);
	cr_assert_eq(
	    OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
	cr_assert_eq(
	    OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)), NID_client_auth);
	EXTENDED_KEY_USAGE_free(eku);
	X509_NAME_get_text_by_NID(
	    X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	cr_assert_str_eq(cn, "a.example.jp");
	X509_free(x);
	free(pem);
	free(serial);

	/* Names alone: no organization, no CN; the SAN is then critical
	 * (RFC 5280 4.2.1.6). */
	l.country = l.org_name = l.org_id = NULL;
	l.cn = NULL;
	l.server_auth = 0;
	cr_assert_eq(ca_issue(ca, &l, &pem, &serial, &nb, &na), KK_OK);
	x = parse_pem(pem);
	cr_assert_eq(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
	g = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	cr_assert_not_null(g);
	cr_assert_eq(crit, 1);
	GENERAL_NAMES_free(g);
	X509_free(x);
	free(pem);
	free(serial);

	/* Nothing at all to name: refused. */
	l.n_dns = 0;
	expect_refused(&l, KK_EINVAL);
	EVP_PKEY_free(key);
}
