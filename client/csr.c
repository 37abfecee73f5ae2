#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr.h"

/* The subjectAltName extension, as the request's only extension. */
static int
add_sans(X509_REQ *req, char *const *dns, size_t n)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens;
	GENERAL_NAME *gen;
	ASN1_IA5STRING *ia5;
	X509_EXTENSION *ext = NULL;
	size_t i;
	int ok = 0;

	if ((gens = GENERAL_NAMES_new()) == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		if ((gen = GENERAL_NAME_new()) == NULL)
			goto out;
		if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(ia5, dns[i], -1)) {
			ASN1_IA5STRING_free(ia5);
			GENERAL_NAME_free(gen);
			goto out;
		}
		GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
		if (!sk_GENERAL_NAME_push(gens, gen)) {
			GENERAL_NAME_free(gen);
			goto out;
		}
	}
	if ((ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    !sk_X509_EXTENSION_push(exts, ext))
		goto out;
	ok = X509_REQ_add_extensions(req, exts);
out:
	sk_X509_EXTENSION_free(exts);
	X509_EXTENSION_free(ext);
	GENERAL_NAMES_free(gens);
	return ok;
}

enum kk_status
csr_build(EVP_PKEY *key, const char *org, const char *cn, char *const *dns,
    size_t ndns, unsigned char **der, size_t *len, struct kc_err *err)
{
	enum kk_status st = KK_ECRYPTO;
	unsigned char *buf = NULL, *p;
	X509_REQ *req = NULL;
	X509_NAME *name;
	const EVP_MD *md;
	int n;

	*der = NULL;
	*len = 0;
	req = X509_REQ_new();
	if (req == NULL || !X509_REQ_set_version(req, X509_REQ_VERSION_1))
		goto out;
	name = X509_REQ_get_subject_name(req);
	if ((org != NULL &&
	        !X509_NAME_add_entry_by_NID(name, NID_organizationIdentifier,
	            MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0)) ||
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	        (const unsigned char *)cn, -1, -1, 0)) {
		st = err_set(err, KK_EINVAL, EX_USAGE,
		    "cannot put organization '%s' and name '%s' in a CSR",
		    org != NULL ? org : "(none)", cn);
		goto out;
	}
	if (ndns > 0 && !add_sans(req, dns, ndns))
		goto out;
	if (!X509_REQ_set_pubkey(req, key))
		goto out;
	/* Ed25519 signs the message itself: no digest may be named. */
	md = EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256();
	if (X509_REQ_sign(req, key, md) <= 0)
		goto out;
	n = i2d_X509_REQ(req, NULL);
	if (n <= 0 || (buf = malloc((size_t)n)) == NULL)
		goto out;
	p = buf;
	if (i2d_X509_REQ(req, &p) != n)
		goto out;
	*der = buf;
	*len = (size_t)n;
	buf = NULL;
	st = KK_OK;
out:
	if (st == KK_ECRYPTO)
		err_set(err, st, 1, "cannot build the certificate request");
	free(buf);
	X509_REQ_free(req);
	return st;
}
