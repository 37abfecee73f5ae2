/*
 * csr.h - reading a PKCS#10 certificate signing request from a finalize
 * call (RFC 8555 section 7.4). Only the public key, the
 * organizationIdentifier, the CN and the subjectAltName dNSNames are taken
 * from it.
 */
#ifndef CSR_H
#define CSR_H

#include <stddef.h>

#include <openssl/evp.h>

#include "kk_status.h"

#define CSR_MAX_DNS 100

struct csr_info {
	EVP_PKEY *key;
	const char *key_type; /* static: "ec-p256", "ec-p384", "rsa-2048",
	                         "rsa-3072", "rsa-4096" or "ed25519" */
	char *org_id;         /* organizationIdentifier, NULL if absent */
	char *cn;             /* commonName, NULL if absent */
	char **dns;           /* subjectAltName dNSNames, as in the CSR */
	size_t n_dns;
	const char *why; /* static: after a failure, why (for people) */
};

/*
 * Parses DER, checks the CSR's self-signature (KK_ESIG), refuses keys
 * other than EC P-256/P-384, RSA 2048/3072/4096 with e = 65537 and Ed25519
 * (KK_EKEY; RSA sizes between are rounded down to the named class only if
 * exact), and a
 * subject with more than one organizationIdentifier or CN, or with one
 * that is too long (over 64 characters for the CN, RFC 5280's
 * ub-common-name) or has control characters, and a subjectAltName with
 * anything but dNSNames or with more than CSR_MAX_DNS of them (KK_EINVAL).
 * On failure only
 * out->why is set. Release with csr_info_clear().
 */
enum kk_status csr_parse(
    const unsigned char *der, size_t len, struct csr_info *out);
void csr_info_clear(struct csr_info *info);

/*
 * The class of a public key as in csr_info.key_type (a static string), or
 * KK_EKEY for anything csr_parse() would refuse: other curves, explicit
 * curve parameters, other RSA sizes, RSA exponents other than 65537, RSA
 * that fails the SP 800-56B public key checks.
 */
enum kk_status csr_key_type(EVP_PKEY *key, const char **type);

#endif
