/*
 * harness_extra.h - more integration helpers on top of harness.h for the
 * tests of hostile and wrong requests: hand-built JWS headers, tampered
 * signatures, issuance in one call, certificates and the CRL. Like the
 * harness, every function aborts the test on a failure of its own.
 */
#ifndef HARNESS_EXTRA_H
#define HARNESS_EXTRA_H

#include <stddef.h>

#include <openssl/evp.h>
#include <cjson/cJSON.h>

#include "harness.h"

/* Asserts a problem document with this HTTP status and type name. */
#define HASSERT_PROBLEM(r, code, type)                                         \
	do {                                                                   \
		cr_assert_eq((r)->status, (code), "want %d %s, got %ld: %s",   \
		    (code), (type), (r)->status, (r)->body ? (r)->body : "");  \
		cr_assert_not_null((r)->ctype, "no Content-Type");             \
		cr_assert_str_eq((r)->ctype, "application/problem+json");      \
		cr_assert_str_eq(hproblem(r), (type), "want %s, got %s: %s",   \
		    (type), hproblem(r), (r)->body ? (r)->body : "");          \
	} while (0)

/* The same for ACME, where every response carries a Replay-Nonce. */
#define HASSERT_ACME_PROBLEM(r, code, type)                                    \
	do {                                                                   \
		HASSERT_PROBLEM(r, code, type);                                \
		cr_assert_not_null((r)->nonce, "no Replay-Nonce");             \
	} while (0)

/* A string member of a JSON object, or NULL. */
const char *hjstr(const cJSON *j, const char *name);

/*
 * A protected header built member by member: alg always; kid when not
 * NULL, else the public jwk of jwk_key when that is not NULL; nonce and
 * url when not NULL. Caller frees with cJSON_Delete.
 */
cJSON *hheader(const char *alg, const char *kid, EVP_PKEY *jwk_key,
    const char *nonce, const char *url);

/* The flattened JWS of payload (NULL = empty) under hdr, signed by key with
 * its own algorithm whatever hdr says (jws_sign_header); caller frees. */
char *hjws(EVP_PKEY *key, const cJSON *hdr, const char *payload);

/* body with one bit of its decoded signature flipped; caller frees. */
char *htamper_sig(const char *body);

/* POSTs body as application/jose+json to url. */
void hpost_body(
    struct hsrv *h, const char *url, const char *body, struct hresp *r);

/*
 * A signed POST like hpost but with the given nonce (NULL = none) and the
 * header url hdr_url (NULL = url) sent to url.
 */
void hpost_with(struct hsrv *h, const struct hacct *a, const char *url,
    const char *hdr_url, const char *nonce, const char *payload,
    struct hresp *r);

/* POSTs {"csr": base64url(CSR)} for org and cn signed by key to the order's
 * finalize URL; the response is left in r. */
void hfinalize(struct hsrv *h, const struct hacct *a, const char *order,
    EVP_PKEY *key, const char *org, const char *cn, struct hresp *r);

/*
 * The whole story up to a certificate: a's order for org is verified and
 * finalized with a fresh EC key (*cert_key, caller frees) and CN cn.
 * Returns the certificate URL (caller frees); *pem (caller frees) is the
 * downloaded chain.
 */
char *hissue(struct hsrv *h, struct hacct *a, const char *org, const char *cn,
    EVP_PKEY **cert_key, char **pem);

/* The DER of the first certificate of a PEM chain (caller frees *der with
 * OPENSSL_free); the serial in upper-case hex (caller frees) is returned. */
char *hleaf_der(const char *pem, unsigned char **der, size_t *len);

/* The leaf's CRL distribution point URL (caller frees). */
char *hcrl_url(const char *pem);

/*
 * Fetches the CRL at url, checks it is DER signed by the leaf's issuer
 * (the second certificate of pem) and returns the reason code of serial
 * (hex) on it: -1 when not listed, 0 when listed with no reason.
 */
int hcrl_reason(
    struct hsrv *h, const char *url, const char *pem, const char *serial);

/* Asserts that the server still answers the directory. */
void hassert_alive(struct hsrv *h);

/* A new account bound to org (verified or not) by an EAB key that the
 * operator token has the server make. Asserts. */
void hnew_bound_account(
    struct hsrv *h, const char *token, const char *org, struct hacct *a);

#endif
