/*
 * ca_x509.c - certificate building blocks shared by ca.c and datadir.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca_x509.h"
#include "p11.h"

#define SERIAL_BYTES 16

/*
 * Puts key's SubjectPublicKeyInfo together from the key's own encoded
 * point, for named EC curves and Ed25519. OpenSSL 3.0's X509_PUBKEY_set
 * and i2d_PUBKEY get the same bytes by running the key through its encoder
 * and then its decoder, which set up their provider chains afresh on every
 * call: a third of the cost of issuing a certificate. KK_ENOTFOUND for
 * other keys (RSA, keys that do not give out their point), which take that
 * general path.
 */
static enum kk_status
spki_fast(X509_PUBKEY *pub, EVP_PKEY *key)
{
	/*
	 * The largest point we name a curve for: P-521's, uncompressed. The
	 * key's encoding goes straight into it, in one call through the
	 * provider instead of two (one for the length, one for the bytes).
	 */
	unsigned char point[1 + 2 * 66], *enc = NULL;
	char group[64];
	size_t len = 0;
	int nid, ptype, ok;
	void *pval;
	ASN1_OBJECT *alg;

	if (EVP_PKEY_is_a(key, "EC")) {
		/* No group name: explicit parameters, which we never make. */
		if (EVP_PKEY_get_utf8_string_param(key,
		        OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		        NULL) != 1 ||
		    (nid = OBJ_txt2nid(group)) == NID_undef)
			return KK_ENOTFOUND;
		alg = OBJ_nid2obj(NID_X9_62_id_ecPublicKey);
		ptype = V_ASN1_OBJECT;
		pval = OBJ_nid2obj(nid);
		ok = EVP_PKEY_get_octet_string_param(key,
		         OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
		         sizeof(point), &len) == 1;
	} else if (EVP_PKEY_is_a(key, "ED25519")) {
		/* RFC 8410: no parameters at all. */
		alg = OBJ_nid2obj(NID_ED25519);
		ptype = V_ASN1_UNDEF;
		pval = NULL;
		len = sizeof(point);
		ok = EVP_PKEY_get_raw_public_key(key, point, &len) == 1;
	} else
		return KK_ENOTFOUND;
	/* A key in a token may not give its point away like this, nor a
	 * larger curve's fit: the general path asks the key's encoder. */
	if (!ok || len == 0 || len > sizeof(point))
		goto general;
	/* X509_PUBKEY_set0_param takes memory OpenSSL allocated. */
	if ((enc = OPENSSL_memdup(point, len)) == NULL)
		return KK_ENOMEM;
	/* The object and curve are OpenSSL's static ones: nothing to free. */
	if (X509_PUBKEY_set0_param(pub, alg, ptype, pval, enc, (int)len) != 1) {
		OPENSSL_free(enc);
		return KK_ECRYPTO;
	}
	return KK_OK;
general:
	ERR_clear_error();
	return KK_ENOTFOUND;
}

enum kk_status
ca_x509_spki_der(EVP_PKEY *key, unsigned char **der, size_t *len)
{
	X509_PUBKEY *pub = NULL;
	enum kk_status st;
	int n = 0;

	*der = NULL;
	*len = 0;
	if ((pub = X509_PUBKEY_new()) == NULL)
		return KK_ENOMEM;
	st = spki_fast(pub, key);
	if (st == KK_OK)
		n = i2d_X509_PUBKEY(pub, der);
	else if (st == KK_ENOTFOUND)
		n = i2d_PUBKEY(key, der);
	X509_PUBKEY_free(pub);
	if (st != KK_OK && st != KK_ENOTFOUND)
		return st;
	if (n <= 0) {
		OPENSSL_free(*der);
		*der = NULL;
		return KK_ECRYPTO;
	}
	*len = (size_t)n;
	return KK_OK;
}

enum kk_status
ca_x509_new(EVP_PKEY *key, const X509_NAME *subject, const X509 *issuer,
    time_t not_before, time_t not_after, X509 **out)
{
	enum kk_status st = KK_ECRYPTO;
	unsigned char serial[SERIAL_BYTES];
	const X509_NAME *issuer_name;
	X509 *x = NULL;

	*out = NULL;
	if (not_after <= not_before)
		return KK_EINVAL;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	/* Positive (RFC 5280 4.1.2.2) and of constant length, 126 random
	 * bits: far above the 64 the CA/Browser Forum asks for. */
	serial[0] &= 0x7f;
	serial[0] |= 0x40;
	issuer_name = issuer != NULL ? X509_get_subject_name(issuer) : subject;
	if ((x = X509_new()) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_STRING_set(X509_get_serialNumber(x), serial, sizeof(serial)) !=
	        1 ||
	    X509_set_subject_name(x, subject) != 1 ||
	    X509_set_issuer_name(x, issuer_name) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), not_after) == NULL)
		goto out;
	if ((st = spki_fast(X509_get_X509_PUBKEY(x), key)) == KK_ENOTFOUND)
		st = X509_set_pubkey(x, key) == 1 ? KK_OK : KK_ECRYPTO;
	if (st != KK_OK)
		goto out;
	*out = x;
	x = NULL;
	st = KK_OK;
out:
	OPENSSL_cleanse(serial, sizeof(serial));
	X509_free(x);
	return st;
}

enum kk_status
ca_x509_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	enum kk_status st = KK_ECRYPTO;

	X509V3_set_ctx(
	    &ctx, issuer != NULL ? issuer : cert, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
		return KK_ECRYPTO;
	if (X509_add_ext(cert, ext, -1) == 1)
		st = KK_OK;
	X509_EXTENSION_free(ext);
	return st;
}

enum kk_status
ca_x509_name_add(X509_NAME *name, int nid, const char *value)
{
	if (value == NULL || *value == '\0')
		return KK_EINVAL;
	/* OpenSSL enforces the X.520 upper bounds and, for C, the two
	 * printable characters; a refusal here is bad input, not a crash. */
	if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
	        (const unsigned char *)value, -1, -1, 0) != 1) {
		ERR_clear_error();
		return KK_EINVAL;
	}
	return KK_OK;
}

const EVP_MD *
ca_x509_md(const EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
		return NULL;
	if (EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) >= 384)
		return EVP_sha384();
	return EVP_sha256();
}

enum kk_status
ca_x509_sign(X509 *cert, EVP_PKEY *key)
{
	return X509_sign(cert, key, ca_x509_md(key)) > 0 ? KK_OK : KK_ECRYPTO;
}

enum kk_status
ca_x509_hex(const unsigned char *p, size_t n, char **hex)
{
	static const char digits[] = "0123456789abcdef";
	char *s;
	size_t i;

	*hex = NULL;
	if (n > (SIZE_MAX - 1) / 2)
		return KK_ETOOBIG;
	if ((s = malloc(2 * n + 1)) == NULL)
		return KK_ENOMEM;
	for (i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 0x0f];
	}
	s[2 * n] = '\0';
	*hex = s;
	return KK_OK;
}

enum kk_status
ca_x509_serial_hex(const ASN1_INTEGER *serial, char **hex)
{
	const unsigned char *p;
	int n;

	*hex = NULL;
	/* The content octets of an ASN1_INTEGER are its magnitude; the sign
	 * lives in the type. Serials are positive by RFC 5280. */
	if (ASN1_STRING_type(serial) != V_ASN1_INTEGER)
		return KK_EINVAL;
	p = ASN1_STRING_get0_data(serial);
	n = ASN1_STRING_length(serial);
	while (n > 1 && *p == 0) {
		p++;
		n--;
	}
	if (n <= 0)
		return KK_EINVAL;
	return ca_x509_hex(p, (size_t)n, hex);
}

enum kk_status
ca_x509_read_certs(const char *path, STACK_OF(X509) * *out)
{
	enum kk_status st = KK_EINVAL;
	STACK_OF(X509) *certs = NULL;
	X509 *x = NULL;
	BIO *in;
	unsigned long e;

	*out = NULL;
	if ((in = BIO_new_file(path, "r")) == NULL) {
		st = errno == ENOENT ? KK_ENOTFOUND : KK_EIO;
		ERR_clear_error();
		return st;
	}
	if ((certs = sk_X509_new_null()) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(certs, x) == 0) {
			X509_free(x);
			st = KK_ENOMEM;
			goto out;
		}
	}
	/* The loop ends at end of file (no further start line) or at a
	 * broken certificate; only the first is fine. */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
		goto out;
	if (sk_X509_num(certs) == 0)
		goto out;
	*out = certs;
	certs = NULL;
	st = KK_OK;
out:
	ERR_clear_error();
	sk_X509_pop_free(certs, X509_free);
	BIO_free(in);
	return st;
}

/* Refuses to ask: a server never prompts on a terminal for a passphrase. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

enum kk_status
ca_x509_read_key(const char *path, EVP_PKEY **out)
{
	enum kk_status st = KK_OK;
	BIO *in;

	*out = NULL;
	if ((in = BIO_new_file(path, "r")) == NULL) {
		st = errno == ENOENT ? KK_ENOTFOUND : KK_EIO;
		ERR_clear_error();
		return st;
	}
	if ((*out = PEM_read_bio_PrivateKey(in, NULL, no_passphrase, NULL)) ==
	    NULL)
		st = KK_EKEY;
	ERR_clear_error();
	BIO_free(in);
	return st;
}

enum kk_status
ca_x509_chain_check(
    X509 *cert, STACK_OF(X509) * untrusted, X509 *trust, const char **why)
{
	enum kk_status st = KK_ENOMEM;
	X509_STORE *store;
	X509_STORE_CTX *ctx = NULL;

	if (why != NULL)
		*why = NULL;
	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL)
		goto out;
	if (X509_STORE_add_cert(store, trust) != 1 ||
	    X509_STORE_CTX_init(ctx, store, cert, untrusted) != 1)
		goto out;
	/* root.pem is the anchor even when an imported CA stops below a
	 * self-signed root. */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_verify_cert(ctx) == 1) {
		st = KK_OK;
	} else {
		st = KK_EINVAL;
		if (why != NULL)
			*why = X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(ctx));
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return st;
}

enum kk_status
ca_x509_key_uri(const char *dir, const char *uri, char **out)
{
	char buf[4096 + 2], *path = NULL;
	enum kk_status st = KK_OK;
	size_t n;
	FILE *f;

	*out = NULL;
	if (uri != NULL && p11_is_uri(uri))
		return (*out = strdup(uri)) != NULL ? KK_OK : KK_ENOMEM;
	if (asprintf(&path, "%s/%s", dir, CA_KEY_URI_FILE) < 0)
		return KK_ENOMEM;
	if ((f = fopen(path, "re")) == NULL) {
		st = errno == ENOENT ? KK_OK : KK_EIO;
		goto out;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!p11_is_uri(buf))
		st = KK_EINVAL;
	else if ((*out = strdup(buf)) == NULL)
		st = KK_ENOMEM;
out:
	free(path);
	return st;
}
