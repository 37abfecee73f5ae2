/*
 * csr.c - reading a PKCS#10 CSR: its key, organizationIdentifier, CN and
 * subjectAltName dNSNames, and nothing else.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr.h"
#include "eckey.h"

/* Far above a 4096-bit RSA CSR with a long subject; a bound on work. */
#define MAX_CSR_DER 16384
/* X.520 ub-common-name is 64; organizationIdentifier has no bound of its
 * own, so the ETSI form's reasonable maximum. */
#define MAX_CN 64
#define MAX_ORG_ID 128

/*
 * A PKCS#10 request (RFC 2986) read with OpenSSL's ASN.1 templates, as
 * d2i_X509_REQ reads it, except that the public key stays what it is on
 * the wire, an algorithm and a bit string. d2i_X509_REQ hands the key to
 * OpenSSL 3.0's decoder machinery, which sets its provider chain up afresh
 * for every call: the most expensive step of a finalize after the
 * signature itself. csr_key() builds the key directly instead.
 */
typedef struct {
	X509_ALGOR *algor;
	ASN1_BIT_STRING *key;
} csr_asn_spki;

typedef struct {
	ASN1_ENCODING enc; /* the bytes as received, which were signed */
	ASN1_INTEGER *version;
	X509_NAME *subject;
	csr_asn_spki *spki;
	STACK_OF(X509_ATTRIBUTE) * attributes;
} csr_asn_info;

typedef struct {
	csr_asn_info *info;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *sig;
} csr_asn;

// clang-format off
ASN1_SEQUENCE(csr_asn_spki) = {
	ASN1_SIMPLE(csr_asn_spki, algor, X509_ALGOR),
	ASN1_SIMPLE(csr_asn_spki, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(csr_asn_spki);

/* The attributes are not optional, as in OpenSSL's X509_REQ_INFO. */
ASN1_SEQUENCE_enc(csr_asn_info, enc, NULL) = {
	ASN1_SIMPLE(csr_asn_info, version, ASN1_INTEGER),
	ASN1_SIMPLE(csr_asn_info, subject, X509_NAME),
	ASN1_SIMPLE(csr_asn_info, spki, csr_asn_spki),
	ASN1_IMP_SET_OF(csr_asn_info, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(csr_asn_info, csr_asn_info);

ASN1_SEQUENCE(csr_asn) = {
	ASN1_SIMPLE(csr_asn, info, csr_asn_info),
	ASN1_SIMPLE(csr_asn, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(csr_asn, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(csr_asn);
// clang-format on

/* An EC public key on the named curve nid from its encoded point. */
static enum kk_status
ec_key(int nid, const unsigned char *point, size_t len, EVP_PKEY **out)
{
	const char *group;

	if ((group = OBJ_nid2sn(nid)) == NULL)
		return KK_EKEY;
	/* EC_POINT_oct2point underneath refuses points off the curve. */
	return eckey_from_point(group, point, len, out);
}

/*
 * The request's public key. EC keys on named curves and Ed25519 keys are
 * built from their bytes; anything else (RSA, and what csr_key_type will
 * refuse) goes through d2i_PUBKEY, which knows every type.
 */
static enum kk_status
csr_key(const csr_asn_spki *spki, EVP_PKEY **out)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	const unsigned char *bits, *p;
	unsigned char *der = NULL;
	int ptype, len, n;
	enum kk_status st = KK_EKEY;

	*out = NULL;
	X509_ALGOR_get0(&obj, &ptype, &pval, spki->algor);
	bits = ASN1_STRING_get0_data(spki->key);
	len = ASN1_STRING_length(spki->key);
	/* A key is whole bytes: no unused bits at the end. */
	if (len <= 0 || ((spki->key->flags & ASN1_STRING_FLAG_BITS_LEFT) &&
	                    (spki->key->flags & 0x07) != 0))
		return KK_EKEY;
	switch (OBJ_obj2nid(obj)) {
	case NID_X9_62_id_ecPublicKey:
		/* Explicit curve parameters are refused: named curves only. */
		if (ptype != V_ASN1_OBJECT)
			return KK_EKEY;
		return ec_key(OBJ_obj2nid(pval), bits, (size_t)len, out);
	case NID_ED25519:
		/* RFC 8410: the parameters are absent. */
		if (ptype != V_ASN1_UNDEF ||
		    (*out = EVP_PKEY_new_raw_public_key(
		         EVP_PKEY_ED25519, NULL, bits, (size_t)len)) == NULL)
			return KK_EKEY;
		return KK_OK;
	default:
		break;
	}
	if ((n = ASN1_item_i2d((const ASN1_VALUE *)spki, &der,
	         ASN1_ITEM_rptr(csr_asn_spki))) <= 0)
		return KK_EKEY;
	p = der;
	if ((*out = d2i_PUBKEY(NULL, &p, n)) != NULL)
		st = KK_OK;
	OPENSSL_free(der);
	return st;
}

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
	/*
	 * The quick check for our EC curves: P-256 and P-384 have cofactor
	 * 1, so a point on the curve (and not at infinity) has the group's
	 * order already, and the full check's scalar multiplication proving
	 * it costs as much as a signature verification.
	 */
	if ((strncmp(*type, "ec-", 3) == 0 ? EVP_PKEY_public_check_quick(ctx)
	                                   : EVP_PKEY_public_check(ctx)) != 1)
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
 * The extensionRequest attribute's extensions (RFC 2986, RFC 2985 5.4.2),
 * as X509_REQ_get_extensions finds them: *out (caller frees with
 * sk_X509_EXTENSION_pop_free) is NULL when the request has none. An
 * attribute given twice, with other than one value, or whose value is not
 * exactly one DER list of extensions is refused.
 */
static enum kk_status
req_extensions(const STACK_OF(X509_ATTRIBUTE) * attrs,
    STACK_OF(X509_EXTENSION) * *out, const char **why)
{
	static const int nids[] = {NID_ext_req, NID_ms_ext_req};
	const unsigned char *p, *end;
	X509_ATTRIBUTE *attr = NULL;
	ASN1_TYPE *t;
	int i = -1;

	*out = NULL;
	for (size_t k = 0; k < sizeof(nids) / sizeof(nids[0]); k++) {
		int at = X509at_get_attr_by_NID(attrs, nids[k], -1);

		if (at < 0)
			continue;
		if (i >= 0 || X509at_get_attr_by_NID(attrs, nids[k], at) >= 0)
			goto bad;
		i = at;
	}
	if (i < 0)
		return KK_OK;
	attr = X509at_get_attr(attrs, i);
	if (X509_ATTRIBUTE_count(attr) != 1 ||
	    (t = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL ||
	    t->type != V_ASN1_SEQUENCE)
		goto bad;
	p = t->value.sequence->data;
	end = p + t->value.sequence->length;
	if ((*out = d2i_X509_EXTENSIONS(NULL, &p, end - p)) == NULL ||
	    p != end) {
		sk_X509_EXTENSION_pop_free(*out, X509_EXTENSION_free);
		*out = NULL;
		goto bad;
	}
	return KK_OK;
bad:
	*why = "its extension request is repeated or does not parse";
	return KK_EINVAL;
}

/*
 * The dNSNames of the request's subjectAltName extension, if any, into
 * info. Names are copied as they are; the caller compares them with the
 * order's identifiers, which were validated.
 */
static enum kk_status
san_names(const STACK_OF(X509_ATTRIBUTE) * attrs, struct csr_info *info,
    const char **why)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	enum kk_status st;
	int n, crit = 0;

	if ((st = req_extensions(attrs, &exts, why)) != KK_OK || exts == NULL)
		return st;
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
	struct csr_info info = {0};
	csr_asn *req = NULL;
	const char *why = "it is not a DER PKCS#10 request";

	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0)
		goto out;
	if (len > MAX_CSR_DER) {
		st = KK_ETOOBIG;
		why = "it is over 16384 bytes";
		goto out;
	}
	if ((req = (csr_asn *)ASN1_item_d2i(
	         NULL, &p, (long)len, ASN1_ITEM_rptr(csr_asn))) == NULL ||
	    p != der + len)
		goto out;
	/* RFC 2986 4.1: version 1, encoded 0; nothing else is defined. */
	why = "its version is not 1 (encoded 0)";
	if (ASN1_INTEGER_get(req->info->version) != 0)
		goto out;
	st = KK_EKEY;
	why = "its key is not an accepted type or size (EC P-256/P-384, RSA "
	      "2048/3072/4096 with exponent 65537, Ed25519)";
	if (csr_key(req->info->spki, &info.key) != KK_OK)
		goto out;
	/* The key class first: no time is spent verifying a signature made
	 * with a key that would be refused anyway. */
	if ((st = csr_key_type(info.key, &info.key_type)) != KK_OK)
		goto out;
	st = KK_ESIG;
	why = "its signature does not verify";
	if (ASN1_item_verify(ASN1_ITEM_rptr(csr_asn_info), req->sig_alg,
	        req->sig, req->info, info.key) != 1)
		goto out;
	if ((st = subject_value(req->info->subject, NID_organizationIdentifier,
	         MAX_ORG_ID, &info.org_id, &why)) != KK_OK ||
	    (st = subject_value(req->info->subject, NID_commonName, MAX_CN,
	         &info.cn, &why)) != KK_OK ||
	    (st = san_names(req->info->attributes, &info, &why)) != KK_OK)
		goto out;
	*out = info;
	memset(&info, 0, sizeof(info));
out:
	ERR_clear_error();
	csr_info_clear(&info);
	ASN1_item_free((ASN1_VALUE *)req, ASN1_ITEM_rptr(csr_asn));
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
