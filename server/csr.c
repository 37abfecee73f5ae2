/*
 * csr.c - reading a PKCS#10 CSR: its key, organizationIdentifier, CN and
 * subjectAltName dNSNames, and nothing else.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr.h"

/* Far above a 4096-bit RSA CSR with a long subject; a bound on work. */
#define MAX_CSR_DER 16384
/* X.520 ub-common-name is 64; organizationIdentifier has no bound of its
 * own, so the ETSI form's reasonable maximum. */
#define MAX_CN 64
#define MAX_ORG_ID 128

static enum kk_status
ec_type(EVP_PKEY *key, const char **type)
{
	char curve[64];
	size_t n;
	int nid;

	/* Keys with explicit curve parameters have no group name and are
	 * refused: a named curve is the only safe kind. */
	if (EVP_PKEY_get_utf8_string_param(
	        key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve), &n) != 1)
		return KK_EKEY;
	nid = OBJ_sn2nid(curve);
	if (nid == NID_X9_62_prime256v1)
		*type = "ec-p256";
	else if (nid == NID_secp384r1)
		*type = "ec-p384";
	else
		return KK_EKEY;
	return KK_OK;
}

/*
 * Only e = 65537: small exponents such as 3 turn padding mistakes into
 * cube-root forgeries, and no current software makes anything else.
 */
static enum kk_status
rsa_type(EVP_PKEY *key, const char **type)
{
	BIGNUM *e = NULL;
	int f4;

	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		return KK_EKEY;
	f4 = BN_is_word(e, RSA_F4);
	BN_free(e);
	if (!f4)
		return KK_EKEY;
	switch (EVP_PKEY_get_bits(key)) {
	case 2048:
		*type = "rsa-2048";
		break;
	case 3072:
		*type = "rsa-3072";
		break;
	case 4096:
		*type = "rsa-4096";
		break;
	default:
		return KK_EKEY;
	}
	return KK_OK;
}

enum kk_status
csr_key_type(EVP_PKEY *key, const char **type)
{
	enum kk_status st;
	EVP_PKEY_CTX *ctx;

	*type = NULL;
	if (key == NULL)
		return KK_EKEY;
	if (EVP_PKEY_is_a(key, "EC"))
		st = ec_type(key, type);
	else if (EVP_PKEY_is_a(key, "RSA"))
		st = rsa_type(key, type);
	else if (EVP_PKEY_is_a(key, "ED25519")) {
		*type = "ed25519";
		st = KK_OK;
	} else
		st = KK_EKEY;
	if (st != KK_OK)
		goto out;
	/* Point on the curve, RSA modulus sane (odd, no small factors). */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	if (EVP_PKEY_public_check(ctx) != 1)
		st = KK_EKEY;
	EVP_PKEY_CTX_free(ctx);
out:
	if (st != KK_OK)
		*type = NULL;
	ERR_clear_error();
	return st;
}

/*
 * The one value of attribute nid (called attr in *why) in name as a C
 * string (NULL if absent), of at most max characters. Two of them would
 * make "the" CN ambiguous, so they are refused, as are values with control
 * characters (an embedded NUL would make the C string say less than the
 * certificate does).
 */
static enum kk_status
subject_value(
    const X509_NAME *name, int nid, size_t max, char **out, const char **why)
{
	const X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	enum kk_status st = KK_EINVAL;
	size_t chars = 0;
	int i, n;

	*out = NULL;
	if ((i = X509_NAME_get_index_by_NID(name, nid, -1)) < 0)
		return KK_OK;
	if (X509_NAME_get_index_by_NID(name, nid, i) >= 0) {
		*why = nid == NID_commonName
		           ? "its subject has more than one CN"
		           : "its subject has more than one "
		             "organizationIdentifier";
		return KK_EINVAL;
	}
	e = X509_NAME_get_entry(name, i);
	if ((n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e))) <=
	    0) {
		*why = "its subject has a value that is not a string";
		goto out;
	}
	/* Characters, not bytes: the bounds are in characters. */
	for (i = 0; i < n; i++)
		chars += (utf8[i] & 0xc0) != 0x80;
	if (chars > max) {
		*why = nid == NID_commonName
		           ? "its CN is longer than 64 characters (RFC 5280 "
		             "ub-common-name)"
		           : "its organizationIdentifier is longer than 128 "
		             "characters";
		goto out;
	}
	for (i = 0; i < n; i++)
		if (utf8[i] < 0x20 || utf8[i] == 0x7f) {
			*why = "its subject has control characters";
			goto out;
		}
	if ((*out = malloc((size_t)n + 1)) == NULL) {
		st = KK_ENOMEM;
		*why = "out of memory";
		goto out;
	}
	memcpy(*out, utf8, (size_t)n);
	(*out)[n] = '\0';
	st = KK_OK;
out:
	ERR_clear_error();
	OPENSSL_free(utf8);
	return st;
}

/*
 * The dNSNames of the request's subjectAltName extension, if any, into
 * info. Names are copied as they are; the caller compares them with the
 * order's identifiers, which were validated.
 */
static enum kk_status
san_names(X509_REQ *req, struct csr_info *info, const char **why)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = NULL;
	enum kk_status st = KK_OK;
	int n, crit = 0;

	if (exts == NULL)
		return KK_OK;
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		/* -1: none; -2: twice; other: it does not parse. */
		if (crit != -1) {
			*why = "its subjectAltName is repeated or does not "
			       "parse";
			st = KK_EINVAL;
		}
		goto out;
	}
	n = sk_GENERAL_NAME_num(gens);
	if (n > CSR_MAX_DNS) {
		*why = "its subjectAltName has more than 100 names";
		st = KK_EINVAL;
		goto out;
	}
	if ((info->dns = calloc((size_t)n + 1, sizeof(char *))) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *ia5;
		const unsigned char *d;
		int len;

		if (g->type != GEN_DNS) {
			*why = "its subjectAltName has entries other than "
			       "dNSName";
			st = KK_EINVAL;
			goto out;
		}
		ia5 = g->d.dNSName;
		d = ASN1_STRING_get0_data(ia5);
		len = ASN1_STRING_length(ia5);
		if (len <= 0 || memchr(d, '\0', (size_t)len) != NULL) {
			*why = "its subjectAltName has an empty or NUL name";
			st = KK_EINVAL;
			goto out;
		}
		if ((info->dns[i] = strndup((const char *)d, (size_t)len)) ==
		    NULL) {
			st = KK_ENOMEM;
			goto out;
		}
		info->n_dns++;
	}
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return st;
}

enum kk_status
csr_parse(const unsigned char *der, size_t len, struct csr_info *out)
{
	enum kk_status st = KK_EINVAL;
	const unsigned char *p = der;
	const X509_NAME *subject;
	struct csr_info info = {0};
	X509_REQ *req = NULL;
	const char *why = "it is not a DER PKCS#10 request";

	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0)
		goto out;
	if (len > MAX_CSR_DER) {
		st = KK_ETOOBIG;
		why = "it is over 16384 bytes";
		goto out;
	}
	if ((req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL || p != der + len)
		goto out;
	st = KK_EKEY;
	why = "its key is not an accepted type or size (EC P-256/P-384, RSA "
	      "2048/3072/4096 with exponent 65537, Ed25519)";
	if ((info.key = X509_REQ_get_pubkey(req)) == NULL)
		goto out;
	/* The key class first: no time is spent verifying a signature made
	 * with a key that would be refused anyway. */
	if ((st = csr_key_type(info.key, &info.key_type)) != KK_OK)
		goto out;
	st = KK_ESIG;
	why = "its signature does not verify";
	if (X509_REQ_verify(req, info.key) != 1)
		goto out;
	st = KK_EINVAL;
	why = "it has no subject";
	if ((subject = X509_REQ_get_subject_name(req)) == NULL)
		goto out;
	if ((st = subject_value(subject, NID_organizationIdentifier, MAX_ORG_ID,
	         &info.org_id, &why)) != KK_OK ||
	    (st = subject_value(
	         subject, NID_commonName, MAX_CN, &info.cn, &why)) != KK_OK ||
	    (st = san_names(req, &info, &why)) != KK_OK)
		goto out;
	*out = info;
	memset(&info, 0, sizeof(info));
out:
	ERR_clear_error();
	csr_info_clear(&info);
	X509_REQ_free(req);
	if (st != KK_OK)
		out->why = why;
	return st;
}

void
csr_info_clear(struct csr_info *info)
{
	if (info == NULL)
		return;
	EVP_PKEY_free(info->key);
	free(info->org_id);
	free(info->cn);
	for (size_t i = 0; i < info->n_dns; i++)
		free(info->dns[i]);
	free(info->dns);
	memset(info, 0, sizeof(*info));
}
