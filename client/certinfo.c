#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certinfo.h"
#include "fileio.h"

static char *
name_entry(const X509_NAME *name, int nid)
{
	const ASN1_STRING *s;
	unsigned char *utf8;
	char *copy;
	int i, n;

	i = X509_NAME_get_index_by_NID(name, nid, -1);
	if (i < 0)
		return NULL;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	n = ASN1_STRING_to_UTF8(&utf8, s);
	if (n < 0)
		return NULL;
	copy = strndup((const char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return copy;
}

static int
asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm))
		return 0;
	*out = timegm(&tm);
	return 1;
}

enum kk_status
certinfo_from_x509(X509 *cert, struct certinfo *ci)
{
	BIGNUM *bn = NULL;
	char *hex = NULL;
	size_t i;

	memset(ci, 0, sizeof(*ci));
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	if (bn == NULL || (hex = BN_bn2hex(bn)) == NULL)
		goto fail;
	ci->serial = strdup(hex);
	if (ci->serial == NULL)
		goto fail;
	for (i = 0; ci->serial[i] != '\0'; i++)
		ci->serial[i] =
		    (char)(ci->serial[i] >= 'A' && ci->serial[i] <= 'F'
		               ? ci->serial[i] - 'A' + 'a'
		               : ci->serial[i]);
	if (!asn1_time(X509_get0_notBefore(cert), &ci->not_before) ||
	    !asn1_time(X509_get0_notAfter(cert), &ci->not_after))
		goto fail;
	ci->org =
	    name_entry(X509_get_subject_name(cert), NID_organizationIdentifier);
	ci->cn = name_entry(X509_get_subject_name(cert), NID_commonName);
	OPENSSL_free(hex);
	BN_free(bn);
	return KK_OK;
fail:
	OPENSSL_free(hex);
	BN_free(bn);
	certinfo_clear(ci);
	return KK_EINVAL;
}

enum kk_status
certinfo_read(const char *path, struct certinfo *ci, struct kc_err *err)
{
	enum kk_status st;
	X509 *cert = NULL;
	char *pem;
	size_t len;
	BIO *b;

	memset(ci, 0, sizeof(*ci));
	if ((st = file_read(path, FILE_MAX_LEN, &pem, &len, err)) != KK_OK)
		return st;
	b = BIO_new_mem_buf(pem, (int)len);
	if (b != NULL)
		cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	free(pem);
	if (cert == NULL || certinfo_from_x509(cert, ci) != KK_OK)
		st = err_set(err, KK_EINVAL, 1,
		    "%s: not a readable PEM certificate", path);
	X509_free(cert);
	return st;
}

/*
 * Steps over one DER element at *p, which must end by *end (its
 * parent's end); with enter, into it instead, and *end becomes its end.
 * 0 when the element is malformed, of indefinite length or not the tag
 * wanted in class cls.
 */
static int
der_step(const unsigned char **p, const unsigned char **end, int cls, int tag,
    int enter)
{
	const unsigned char *q = *p;
	long len;
	int t, c, rc;

	if (q >= *end)
		return 0;
	rc = ASN1_get_object(&q, &len, &t, &c, *end - q);
	if ((rc & 0x80) != 0 || (rc & 0x01) != 0 || c != cls || t != tag)
		return 0;
	if (enter) {
		*p = q;
		*end = q + len;
	} else
		*p = q + len;
	return 1;
}

static int
der_time(const unsigned char **p, const unsigned char *end, time_t *out)
{
	ASN1_TIME *t;
	int ok;

	if (*p >= end || (t = d2i_ASN1_TIME(NULL, p, end - *p)) == NULL)
		return 0;
	ok = asn1_time(t, out);
	ASN1_TIME_free(t);
	return ok;
}

/*
 * The first certificate of the PEM file at path, as DER in *der (caller
 * frees with OPENSSL_free), with *p and *end around the content of its
 * tbsCertificate, past the [0] version if any: where the cheap readers
 * below start. 0 when the file holds no certificate that far.
 */
static int
tbs_open(const char *path, unsigned char **der, const unsigned char **p,
    const unsigned char **end, struct kc_err *err, enum kk_status *st)
{
	const unsigned char *q;
	char *pem;
	size_t len;
	long dlen = 0;
	BIO *b;
	int ok = 0;

	*der = NULL;
	if ((*st = file_read(path, FILE_MAX_LEN, &pem, &len, err)) != KK_OK)
		return 0;
	b = BIO_new_mem_buf(pem, (int)len);
	if (b != NULL && PEM_bytes_read_bio(der, &dlen, NULL, PEM_STRING_X509,
	                     b, NULL, NULL) == 1) {
		*p = *der;
		*end = *der + dlen;
		ok = der_step(p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 1) &&
		     der_step(p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 1);
		q = *p;
		if (ok && der_step(&q, end, V_ASN1_CONTEXT_SPECIFIC, 0, 0))
			*p = q;
	}
	BIO_free(b);
	free(pem);
	return ok;
}

/* The content octets of the DER element at *p (tag tag, class cls) in
 * *out and *n, borrowed from the buffer; *p steps over it. */
static int
der_content(const unsigned char **p, const unsigned char *end, int cls, int tag,
    const unsigned char **out, size_t *n)
{
	const unsigned char *q = *p, *e = end;

	if (!der_step(&q, &e, cls, tag, 1))
		return 0;
	*out = q;
	*n = (size_t)(e - q);
	*p = e;
	return 1;
}

/*
 * The authority key identifier's keyIdentifier among the extensions of
 * tbsCertificate at p (just after subjectPublicKeyInfo): into *keyid, a
 * copy the caller frees. 0 when malformed or absent, -1 when out of
 * memory for the copy.
 */
static int
der_aki(const unsigned char *p, const unsigned char *end, unsigned char **keyid,
    size_t *n)
{
	const unsigned char *q, *r, *ext_end, *v;
	AUTHORITY_KEYID *aki;
	ASN1_OBJECT *oid;
	size_t vlen;
	int nid, ok = 0;

	/* Optional issuerUniqueID [1] and subjectUniqueID [2]. */
	for (int tag = 1; tag <= 2; tag++) {
		q = p;
		if (der_step(&q, &end, V_ASN1_CONTEXT_SPECIFIC, tag, 0))
			p = q;
	}
	if (!der_step(&p, &end, V_ASN1_CONTEXT_SPECIFIC, 3, 1) ||
	    !der_step(&p, &end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 1))
		return 0;
	while (p < end) {
		ext_end = end;
		q = p;
		if (!der_step(
		        &q, &ext_end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 1) ||
		    (oid = d2i_ASN1_OBJECT(NULL, &q, ext_end - q)) == NULL)
			return 0;
		nid = OBJ_obj2nid(oid);
		ASN1_OBJECT_free(oid);
		if (nid == NID_authority_key_identifier) {
			/* critical BOOLEAN DEFAULT FALSE, then extnValue. */
			r = q;
			if (der_step(&r, &ext_end, V_ASN1_UNIVERSAL,
			        V_ASN1_BOOLEAN, 0))
				q = r;
			if (!der_content(&q, ext_end, V_ASN1_UNIVERSAL,
			        V_ASN1_OCTET_STRING, &v, &vlen) ||
			    (aki = d2i_AUTHORITY_KEYID(NULL, &v, (long)vlen)) ==
			        NULL)
				return 0;
			if (aki->keyid != NULL && aki->keyid->length > 0) {
				*keyid = malloc((size_t)aki->keyid->length);
				ok = *keyid != NULL ? 1 : -1;
			}
			if (ok == 1) {
				memcpy(*keyid, aki->keyid->data,
				    (size_t)aki->keyid->length);
				*n = (size_t)aki->keyid->length;
			}
			AUTHORITY_KEYID_free(aki);
			return ok;
		}
		if (!der_step(&p, &end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 0))
			return 0;
	}
	return 0;
}

/*
 * From tbsCertificate's content at p (past the version): the validity
 * into b, 0 when it cannot be read; then the serial and keyIdentifier,
 * copies into b, when all of them can be read (the signature algorithm,
 * issuer, subject and key are stepped over). -1 when out of memory.
 */
static int
tbs_brief(
    const unsigned char *p, const unsigned char *end, struct certinfo_brief *b)
{
	const unsigned char *sn, *v, *vend;
	size_t snlen;
	int found;

	if (!der_content(
	        &p, end, V_ASN1_UNIVERSAL, V_ASN1_INTEGER, &sn, &snlen) ||
	    !der_step(&p, &end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 0) ||
	    !der_step(&p, &end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 0))
		return 0;
	v = p;
	vend = end;
	if (!der_step(&v, &vend, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 1) ||
	    !der_time(&v, vend, &b->not_before) ||
	    !der_time(&v, vend, &b->not_after))
		return 0;
	/* Validity, subject and key stepped over; then the extensions. */
	for (int i = 0; i < 3; i++)
		if (!der_step(&p, &end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 0))
			return 1;
	if (snlen == 0 ||
	    (found = der_aki(p, end, &b->keyid, &b->n_keyid)) == 0)
		return 1;
	if (found < 0 || (b->serial = malloc(snlen)) == NULL) {
		free(b->keyid);
		b->keyid = NULL;
		b->n_keyid = 0;
		return -1;
	}
	memcpy(b->serial, sn, snlen);
	b->n_serial = snlen;
	return 1;
}

enum kk_status
certinfo_read_brief(
    const char *path, struct certinfo_brief *b, struct kc_err *err)
{
	const unsigned char *p = NULL, *end = NULL;
	unsigned char *der = NULL;
	enum kk_status st = KK_OK;
	int ok = 0;

	memset(b, 0, sizeof(*b));
	if (tbs_open(path, &der, &p, &end, err, &st))
		ok = tbs_brief(p, end, b);
	OPENSSL_free(der);
	if (st != KK_OK)
		return st;
	if (ok < 0)
		return KK_ENOMEM;
	if (ok == 0)
		return err_set(err, KK_EINVAL, 1,
		    "%s: not a readable PEM certificate", path);
	return KK_OK;
}

void
certinfo_brief_clear(struct certinfo_brief *b)
{
	if (b == NULL)
		return;
	free(b->serial);
	free(b->keyid);
	memset(b, 0, sizeof(*b));
}

void
certinfo_clear(struct certinfo *ci)
{
	if (ci == NULL)
		return;
	free(ci->serial);
	free(ci->org);
	free(ci->cn);
	memset(ci, 0, sizeof(*ci));
}

void
certinfo_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}
