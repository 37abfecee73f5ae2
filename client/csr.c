#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "csr.h"

enum kk_status
csr_build(EVP_PKEY *key, const char *org, const char *cn, unsigned char **der,
    size_t *len, struct kc_err *err)
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
	if (!X509_NAME_add_entry_by_NID(name, NID_organizationIdentifier,
	        MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	        (const unsigned char *)cn, -1, -1, 0)) {
		st = err_set(err, KK_EINVAL, EX_USAGE,
		    "cannot put organization '%s' and name '%s' in a CSR", org,
		    cn);
		goto out;
	}
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
