/*
 * test_csr.c - csr_parse(): what it takes from a CSR and what it refuses.
 */
#include "ca_test.h"
#include "csr.h"

#include <openssl/core_names.h>

#define ORG "NTRJP-9234567890123"

/* A signed CSR with organizationIdentifier and CN for key. */
static unsigned char *
good_csr(EVP_PKEY *key, const char *cn, size_t *len)
{
	return treq_der(
	    treq(key, NID_countryName, "JP", NID_organizationIdentifier, ORG,
	        NID_commonName, cn, 0),
	    key, len);
}

static void
expect_ok(EVP_PKEY *key, const char *type)
{
	struct csr_info info;
	unsigned char *der;
	size_t len;

	der = good_csr(key, "host1.example.jp", &len);
	cr_assert_eq(csr_parse(der, len, &info), KK_OK, "%s", type);
	cr_assert_str_eq(info.key_type, type);
	cr_assert_str_eq(info.org_id, ORG);
	cr_assert_str_eq(info.cn, "host1.example.jp");
	cr_assert_eq(EVP_PKEY_eq(info.key, key), 1);
	csr_info_clear(&info);
	cr_assert_null(info.key);
	cr_assert_null(info.cn);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

static void
expect_status(const unsigned char *der, size_t len, enum kk_status want)
{
	struct csr_info info;

	memset(&info, 0xa5, sizeof(info));
	cr_assert_eq(csr_parse(der, len, &info), want, "got %s, want %s",
	    kk_strerror(csr_parse(der, len, &info)), kk_strerror(want));
	/* Nothing is owed after a failure. */
	cr_assert_null(info.key);
	cr_assert_null(info.org_id);
	cr_assert_null(info.cn);
	cr_assert_null(info.key_type);
}

Test(csr, accepts_every_allowed_key_class)
{
	expect_ok(tkey_ec("P-256"), "ec-p256");
	expect_ok(tkey_ec("P-384"), "ec-p384");
	expect_ok(tkey_rsa(2048), "rsa-2048");
	expect_ok(tkey_rsa(3072), "rsa-3072");
	expect_ok(tkey_named("ED25519"), "ed25519");
}

Test(csr, accepts_rsa_4096, .timeout = 120)
{
	expect_ok(tkey_rsa(4096), "rsa-4096");
}

Test(csr, absent_names_are_null)
{
	EVP_PKEY *key = tkey_ec("P-256");
	struct csr_info info;
	unsigned char *der;
	size_t len;

	der =
	    treq_der(treq(key, NID_organizationName, "Anything", 0), key, &len);
	cr_assert_eq(csr_parse(der, len, &info), KK_OK);
	cr_assert_null(info.org_id);
	cr_assert_null(info.cn);
	csr_info_clear(&info);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

Test(csr, strings_come_out_as_utf8)
{
	/* "東京" as UTF-8 and as a BMPString (UCS-2, big-endian). */
	static const char tokyo[] = "\xe6\x9d\xb1\xe4\xba\xac";
	static const unsigned char bmp[] = {0x67, 0x71, 0x4e, 0xac};
	EVP_PKEY *key = tkey_ec("P-256");
	X509_REQ *req;
	X509_NAME *name = X509_NAME_new();
	struct csr_info info;
	unsigned char *der;
	size_t len;

	cr_assert_eq(
	    X509_NAME_add_entry_by_NID(name, NID_organizationIdentifier,
	        V_ASN1_BMPSTRING, bmp, sizeof(bmp), -1, 0),
	    1);
	cr_assert_eq(
	    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	        (const unsigned char *)tokyo, -1, -1, 0),
	    1);
	req = X509_REQ_new();
	cr_assert_eq(X509_REQ_set_subject_name(req, name), 1);
	cr_assert_eq(X509_REQ_set_pubkey(req, key), 1);
	der = treq_der(req, key, &len);
	cr_assert_eq(csr_parse(der, len, &info), KK_OK);
	cr_assert_str_eq(info.org_id, tokyo);
	cr_assert_str_eq(info.cn, tokyo);
	csr_info_clear(&info);
	X509_NAME_free(name);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

Test(csr, rejects_a_bad_signature)
{
	EVP_PKEY *key = tkey_ec("P-256");
	X509_REQ *req = treq(key, NID_organizationIdentifier, ORG,
	    NID_commonName, "a.example", 0);
	X509_NAME *other = X509_NAME_new();
	unsigned char *der = NULL;
	size_t len;
	int n;

	/* A subject changed after signing: the signature no longer covers
	 * what the CSR says. */
	cr_assert_gt(X509_REQ_sign(req, key, EVP_sha256()), 0);
	cr_assert_eq(
	    X509_NAME_add_entry_by_NID(other, NID_commonName, MBSTRING_UTF8,
	        (const unsigned char *)"b.example", -1, -1, 0),
	    1);
	cr_assert_eq(X509_REQ_set_subject_name(req, other), 1);
	n = i2d_X509_REQ(req, &der);
	cr_assert_gt(n, 0);
	expect_status(der, (size_t)n, KK_ESIG);
	OPENSSL_free(der);
	X509_NAME_free(other);
	X509_REQ_free(req);

	/* And a signature made by another key over the same request. */
	{
		EVP_PKEY *thief = tkey_ec("P-256");

		req = treq(key, NID_commonName, "a.example", 0);
		der = treq_der(req, thief, &len);
		expect_status(der, len, KK_ESIG);
		OPENSSL_free(der);
		EVP_PKEY_free(thief);
	}
	EVP_PKEY_free(key);
}

Test(csr, rejects_rsa_1024)
{
	EVP_PKEY *key = tkey_rsa(1024);
	unsigned char *der;
	size_t len;

	der = good_csr(key, "a.example", &len);
	expect_status(der, len, KK_EKEY);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

/* An RSA key of the given size whose public exponent is e. */
static EVP_PKEY *
rsa_with_exponent(unsigned int bits, unsigned int e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM params[3];
	EVP_PKEY *key = NULL;
	size_t ebits = e;

	cr_assert_not_null(ctx);
	params[0] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_BITS, &bits);
	params[1] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_E, &ebits);
	params[2] = OSSL_PARAM_construct_end();
	cr_assert_eq(EVP_PKEY_keygen_init(ctx), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_params(ctx, params), 1);
	cr_assert_eq(EVP_PKEY_generate(ctx, &key), 1, "keygen e=%u", e);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/*
 * e = 3 makes unpadded or badly padded RSA fall to cube roots; anything
 * but 65537 is unusual enough to be refused outright.
 */
Test(csr, rejects_rsa_exponents_other_than_65537)
{
	const unsigned int exps[] = {3, 17, 65539};
	const char *type;
	unsigned char *der;
	EVP_PKEY *key;
	size_t i, len;

	for (i = 0; i < sizeof(exps) / sizeof(exps[0]); i++) {
		key = rsa_with_exponent(2048, exps[i]);
		cr_assert_eq(
		    csr_key_type(key, &type), KK_EKEY, "e = %u", exps[i]);
		cr_assert_null(type);
		der = good_csr(key, "a.example", &len);
		expect_status(der, len, KK_EKEY);
		OPENSSL_free(der);
		EVP_PKEY_free(key);
	}
	key = rsa_with_exponent(2048, 65537);
	cr_assert_eq(csr_key_type(key, &type), KK_OK);
	cr_assert_str_eq(type, "rsa-2048");
	EVP_PKEY_free(key);
}

Test(csr, rejects_rsa_sizes_between_the_classes)
{
	EVP_PKEY *key = tkey_rsa(2560);
	unsigned char *der;
	size_t len;

	der = good_csr(key, "a.example", &len);
	expect_status(der, len, KK_EKEY);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

Test(csr, rejects_p521_and_other_curves)
{
	const char *curves[] = {"P-521", "secp256k1", "brainpoolP256r1"};
	unsigned char *der;
	EVP_PKEY *key;
	size_t i, len;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		key = tkey_ec(curves[i]);
		der = good_csr(key, "a.example", &len);
		expect_status(der, len, KK_EKEY);
		OPENSSL_free(der);
		EVP_PKEY_free(key);
	}
}

Test(csr, rejects_ed448)
{
	EVP_PKEY *key = tkey_named("ED448");
	unsigned char *der;
	size_t len;

	der = good_csr(key, "a.example", &len);
	expect_status(der, len, KK_EKEY);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

Test(csr, rejects_two_cns)
{
	EVP_PKEY *key = tkey_ec("P-256");
	unsigned char *der;
	size_t len;

	der =
	    treq_der(treq(key, NID_organizationIdentifier, ORG, NID_commonName,
	                 "a.example", NID_commonName, "b.example", 0),
	        key, &len);
	expect_status(der, len, KK_EINVAL);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

Test(csr, rejects_two_organization_identifiers)
{
	EVP_PKEY *key = tkey_ec("P-256");
	unsigned char *der;
	size_t len;

	der = treq_der(treq(key, NID_organizationIdentifier, ORG,
	                   NID_organizationIdentifier, "NTRJP-7000012050002",
	                   NID_commonName, "a.example", 0),
	    key, &len);
	expect_status(der, len, KK_EINVAL);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

Test(csr, rejects_a_cn_with_an_embedded_nul)
{
	static const unsigned char cn[] = "good.example\0.evil.example";
	EVP_PKEY *key = tkey_ec("P-256");
	X509_NAME *name = X509_NAME_new();
	X509_REQ *req = X509_REQ_new();
	unsigned char *der;
	size_t len;

	cr_assert_eq(X509_NAME_add_entry_by_NID(name, NID_commonName,
	                 V_ASN1_UTF8STRING, cn, sizeof(cn) - 1, -1, 0),
	    1);
	cr_assert_eq(X509_REQ_set_subject_name(req, name), 1);
	cr_assert_eq(X509_REQ_set_pubkey(req, key), 1);
	der = treq_der(req, key, &len);
	expect_status(der, len, KK_EINVAL);
	OPENSSL_free(der);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
}

Test(csr, rejects_a_cn_over_64_characters)
{
	struct csr_info info;
	char cn[66];
	EVP_PKEY *key = tkey_ec("P-256");
	X509_NAME *name = X509_NAME_new();
	X509_REQ *req = X509_REQ_new();
	unsigned char *der;
	size_t len;

	memset(cn, 'a', sizeof(cn) - 1);
	cn[sizeof(cn) - 1] = '\0';
	/* Raw type: OpenSSL's own length check would refuse it here. */
	cr_assert_eq(X509_NAME_add_entry_by_NID(name, NID_commonName,
	                 V_ASN1_UTF8STRING, (unsigned char *)cn, -1, -1, 0),
	    1);
	cr_assert_eq(X509_REQ_set_subject_name(req, name), 1);
	cr_assert_eq(X509_REQ_set_pubkey(req, key), 1);
	der = treq_der(req, key, &len);
	expect_status(der, len, KK_EINVAL);
	/* Said as it is, not as a parse error. */
	cr_assert_eq(csr_parse(der, len, &info), KK_EINVAL);
	cr_assert_not_null(strstr(info.why, "CN is longer than 64 characters"),
	    "%s", info.why);
	OPENSSL_free(der);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
}

/* The bound is in characters: 64 three-byte ones are 192 bytes. */
Test(csr, accepts_a_cn_of_64_multibyte_characters)
{
	char cn[64 * 3 + 1] = "";
	EVP_PKEY *key = tkey_ec("P-256");
	struct csr_info info;
	unsigned char *der;
	size_t len;

	for (int i = 0; i < 64; i++)
		strcat(cn, "\u96fb");
	der = good_csr(key, cn, &len);
	cr_assert_eq(csr_parse(der, len, &info), KK_OK, "%s", info.why);
	cr_assert_str_eq(info.cn, cn);
	csr_info_clear(&info);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

Test(csr, says_why_it_refuses)
{
	EVP_PKEY *key = tkey_ec("P-256");
	struct csr_info info;
	unsigned char *der;
	size_t len;

	der =
	    treq_der(treq(key, NID_organizationIdentifier, ORG, NID_commonName,
	                 "a.example", NID_commonName, "b.example", 0),
	        key, &len);
	cr_assert_eq(csr_parse(der, len, &info), KK_EINVAL);
	cr_assert_str_eq(info.why, "its subject has more than one CN");
	OPENSSL_free(der);
	cr_assert_eq(
	    csr_parse((const unsigned char *)"0", 1, &info), KK_EINVAL);
	cr_assert_str_eq(info.why, "it is not a DER PKCS#10 request");
	EVP_PKEY_free(key);
}

Test(csr, rejects_malformed_der)
{
	static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	EVP_PKEY *key = tkey_ec("P-256");
	unsigned char *der, *longer;
	size_t len;

	expect_status(junk, sizeof(junk), KK_EINVAL);
	expect_status(junk, 0, KK_EINVAL);
	der = good_csr(key, "a.example", &len);
	/* Truncated, and with bytes after the CSR. */
	expect_status(der, len - 1, KK_EINVAL);
	longer = malloc(len + 1);
	cr_assert_not_null(longer);
	memcpy(longer, der, len);
	longer[len] = 0;
	expect_status(longer, len + 1, KK_EINVAL);
	free(longer);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

/* The key is built from its bytes: a point off the curve, or a key whose
 * bit string has unused bits, is no key. */
Test(csr, rejects_a_point_off_the_curve)
{
	EVP_PKEY *key = tkey_ec("P-256");
	struct csr_info info;
	unsigned char point[65], *der, *at;
	size_t len, plen;

	cr_assert_eq(EVP_PKEY_get_octet_string_param(key,
	                 OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
	                 sizeof(point), &plen),
	    1);
	cr_assert_eq(plen, sizeof(point));
	der = good_csr(key, "a.example", &len);
	at = memmem(der, len, point, plen);
	cr_assert_not_null(at, "the point is in the CSR");
	at[plen - 1] ^= 0x01; /* y + or - 1 is not on the curve */
	expect_status(der, len, KK_EKEY);
	at[plen - 1] ^= 0x01;
	/* The byte before the point says how many bits are unused. */
	cr_assert_eq(at[-1], 0x00);
	at[-1] = 0x01;
	expect_status(der, len, KK_EKEY);
	at[-1] = 0x00;
	cr_assert_eq(csr_parse(der, len, &info), KK_OK, "restored");
	csr_info_clear(&info);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

Test(csr, rejects_oversized_input)
{
	size_t len = 64 * 1024;
	unsigned char *big = calloc(1, len);

	cr_assert_not_null(big);
	expect_status(big, len, KK_ETOOBIG);
	free(big);
}

Test(csr, key_type_of_keys)
{
	EVP_PKEY *k = tkey_ec("P-384");
	const char *type = "unset";

	cr_assert_eq(csr_key_type(k, &type), KK_OK);
	cr_assert_str_eq(type, "ec-p384");
	EVP_PKEY_free(k);
	k = tkey_ec("P-521");
	cr_assert_eq(csr_key_type(k, &type), KK_EKEY);
	cr_assert_null(type);
	EVP_PKEY_free(k);
	cr_assert_eq(csr_key_type(NULL, &type), KK_EKEY);
}
