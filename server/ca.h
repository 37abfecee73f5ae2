/*
 * ca.h - the certificate authority: the issuing CA's key and certificate,
 * leaf issuance from verified data, certificate checks for revocation, and
 * CRLs. Knows nothing of HTTP, storage or ACME.
 */
#ifndef CA_H
#define CA_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "kk_status.h"

struct ca;

/*
 * Loads root.pem, issuing.pem and private/issuing.key from the data
 * directory dir and checks that the key matches issuing.pem and that
 * issuing.pem chains to root.pem. *out is released with ca_free().
 * When private/issuing.uri exists the key is the token object it names
 * (PIN from KAKUIN_CA_PIN), as with ca_open.
 */
enum kk_status ca_load(const char *dir, struct ca **out);

/* Where the issuing key is when it is not private/issuing.key. */
struct ca_key_opts {
	const char *uri;      /* a pkcs11: URI; NULL: private/issuing.uri */
	const char *pin_file; /* the token's PIN; NULL: KAKUIN_CA_PIN */
};

/*
 * ca_load with the key in a PKCS#11 token (opts may be NULL). The key
 * signs inside the token, one signature at a time (ca_issue and ca_crl
 * may be called from several threads). On failure *err (caller frees; may
 * be NULL) names the key's URI, without any PIN, and what is missing.
 */
enum kk_status ca_open(const char *dir, const struct ca_key_opts *opts,
    struct ca **out, char **err);
void ca_free(struct ca *ca);

/* The issuing CA certificate as PEM, borrowed from ca (the chain that
 * follows a leaf in application/pem-certificate-chain). */
const char *ca_chain_pem(const struct ca *ca);

/* A short stable name of the issuing CA for URLs: the lower-case hex of
 * its subject key identifier. Borrowed from ca. */
const char *ca_issuer_id(const struct ca *ca);

/* What the server, not the CSR, decides about a leaf certificate. */
struct ca_leaf {
	EVP_PKEY *key;          /* subject public key, from the CSR */
	const char *country;    /* C, verified; NULL with org_name and org_id
	                           for a subject of CN alone */
	const char *org_name;   /* O, the verified legal name */
	const char *org_id;     /* organizationIdentifier (2.5.4.97) */
	const char *cn;         /* CN, checked by the caller; NULL for none */
	const char *const *dns; /* validated dns names for subjectAltName */
	size_t n_dns;
	int server_auth; /* add serverAuth to the extended key usage */
	int validity_days;
	const char *crl_url; /* for the CRL distribution point */
};

/*
 * Issues an X.509 v3 clientAuth leaf: random 128-bit serial (positive, from
 * the CSPRNG), notBefore backdated 5 minutes, basicConstraints CA:FALSE
 * critical, keyUsage digitalSignature (+ keyEncipherment for RSA) critical,
 * extendedKeyUsage clientAuth (and serverAuth when asked), subjectAltName
 * with the dns names (critical when the subject is empty, RFC 5280
 * 4.2.1.6), SKI, AKI, CRL distribution point; signed by
 * the issuing CA. *pem and *serial_hex (lower-case hex) are owned by the
 * caller (free()).
 */
enum kk_status ca_issue(struct ca *ca, const struct ca_leaf *leaf, char **pem,
    char **serial_hex, time_t *not_before, time_t *not_after);

/*
 * Checks that der is a certificate signed by this issuing CA (KK_EINVAL if
 * it does not parse, KK_ENOTFOUND if it is not ours) and returns its serial
 * as lower-case hex and its public key. Outputs owned by the caller.
 */
enum kk_status ca_cert_check(const struct ca *ca, const unsigned char *der,
    size_t len, char **serial_hex, EVP_PKEY **key);

/* Hex SHA-256 of the DER SubjectPublicKeyInfo of key; caller frees. */
enum kk_status ca_spki_sha256(EVP_PKEY *key, char **hex);

struct ca_revoked {
	const char *serial_hex;
	time_t revoked_at;
	int reason; /* RFC 5280 CRLReason; 0 unspecified is omitted */
};

/*
 * A DER CRL v2 signed by the issuing CA listing the n revoked certificates
 * with their reason codes, with CRL number and AKI extensions. *der
 * (caller frees with OPENSSL_free()) is *len bytes.
 */
enum kk_status ca_crl(struct ca *ca, const struct ca_revoked *revoked, size_t n,
    long crl_number, time_t this_update, time_t next_update,
    unsigned char **der, size_t *len);

#endif
