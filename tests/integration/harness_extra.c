#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64url.h"
#include "harness_extra.h"
#include "jwk.h"
#include "jws.h"

const char *
hjstr(const cJSON *j, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, name));
}

cJSON *
hheader(const char *alg, const char *kid, EVP_PKEY *jwk_key, const char *nonce,
    const char *url)
{
	cJSON *hdr = cJSON_CreateObject(), *jwk = NULL;

	cr_assert_not_null(hdr);
	cJSON_AddStringToObject(hdr, "alg", alg);
	if (kid != NULL)
		cJSON_AddStringToObject(hdr, "kid", kid);
	else if (jwk_key != NULL) {
		cr_assert_eq(jwk_from_pkey(jwk_key, &jwk), KK_OK);
		cJSON_AddItemToObject(hdr, "jwk", jwk);
	}
	if (nonce != NULL)
		cJSON_AddStringToObject(hdr, "nonce", nonce);
	if (url != NULL)
		cJSON_AddStringToObject(hdr, "url", url);
	return hdr;
}

char *
hjws(EVP_PKEY *key, const cJSON *hdr, const char *payload)
{
	char *out = NULL;

	cr_assert_eq(jws_sign_header(key, hdr, (const unsigned char *)payload,
	                 payload ? strlen(payload) : 0, &out),
	    KK_OK);
	return out;
}

char *
htamper_sig(const char *body)
{
	cJSON *j = cJSON_Parse(body);
	const char *sig = hjstr(j, "signature");
	unsigned char *raw = NULL;
	size_t len = 0;
	char *enc = NULL, *out;

	cr_assert_not_null(sig);
	cr_assert_eq(b64url_decode(sig, strlen(sig), &raw, &len), KK_OK);
	cr_assert_gt(len, 0);
	raw[len / 2] ^= 0x01;
	cr_assert_eq(b64url_encode(raw, len, &enc), KK_OK);
	cJSON_ReplaceItemInObject(j, "signature", cJSON_CreateString(enc));
	out = cJSON_PrintUnformatted(j);
	cr_assert_not_null(out);
	free(raw);
	free(enc);
	cJSON_Delete(j);
	return out;
}

void
hpost_body(struct hsrv *h, const char *url, const char *body, struct hresp *r)
{
	hreq(h, "POST", url, NULL, "application/jose+json", body, strlen(body),
	    r);
}

void
hpost_with(struct hsrv *h, const struct hacct *a, const char *url,
    const char *hdr_url, const char *nonce, const char *payload,
    struct hresp *r)
{
	const char *alg;
	cJSON *hdr;
	char *body;

	cr_assert_eq(jwk_alg_for_key(a->key, &alg), KK_OK);
	hdr = hheader(alg, a->kid, a->key, nonce, hdr_url ? hdr_url : url);
	body = hjws(a->key, hdr, payload);
	hpost_body(h, url, body, r);
	free(body);
	cJSON_Delete(hdr);
}

void
hfinalize(struct hsrv *h, const struct hacct *a, const char *order,
    EVP_PKEY *key, const char *org, const char *cn, struct hresp *r)
{
	unsigned char *der;
	size_t len;
	char *payload, url[512];

	der = hcsr(key, org, cn, &len);
	payload = hcsr_payload(der, len);
	snprintf(url, sizeof(url), "%s/finalize", order);
	hpost(h, a, url, payload, r);
	free(payload);
	OPENSSL_free(der);
}

char *
hissue(struct hsrv *h, struct hacct *a, const char *org, const char *cn,
    EVP_PKEY **cert_key, char **pem)
{
	struct hresp r;
	char *order, *cert;

	order = henroll_verified(h, a, org);
	*cert_key = hkey("ec-p256");
	hfinalize(h, a, order, *cert_key, org, cn, &r);
	cr_assert_eq(
	    r.status, 200, "finalize: %ld %s", r.status, r.body ? r.body : "");
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	cr_assert_not_null(hjstr(r.json, "certificate"));
	cert = strdup(hjstr(r.json, "certificate"));
	hresp_clear(&r);
	hpost(h, a, cert, NULL, &r);
	cr_assert_eq(r.status, 200, "download: %ld", r.status);
	cr_assert_str_eq(r.ctype, "application/pem-certificate-chain");
	*pem = strdup(r.body);
	hresp_clear(&r);
	free(order);
	return cert;
}

/* The n-th (0-based) certificate of a PEM chain. */
static X509 *
chain_cert(const char *pem, int n)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = NULL;

	cr_assert_not_null(b);
	for (int i = 0; i <= n; i++) {
		X509_free(x);
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		cr_assert_not_null(x, "certificate %d of the chain", i);
	}
	BIO_free(b);
	return x;
}

char *
hleaf_der(const char *pem, unsigned char **der, size_t *len)
{
	X509 *x = chain_cert(pem, 0);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex, *out;
	int n;

	cr_assert_not_null(bn);
	*der = NULL;
	n = i2d_X509(x, der);
	cr_assert_gt(n, 0);
	*len = (size_t)n;
	cr_assert_not_null(hex = BN_bn2hex(bn));
	out = strdup(hex);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	return out;
}

char *
hcrl_url(const char *pem)
{
	X509 *x = chain_cert(pem, 0);
	STACK_OF(DIST_POINT) * dps;
	char *url = NULL;

	dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	cr_assert_not_null(dps, "the leaf has no CRL distribution point");
	for (int i = 0; i < sk_DIST_POINT_num(dps) && url == NULL; i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (int k = 0;
		     k < sk_GENERAL_NAME_num(dp->distpoint->name.fullname);
		     k++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(
			    dp->distpoint->name.fullname, k);

			if (gn->type == GEN_URI) {
				url = strndup(
				    (const char *)ASN1_STRING_get0_data(
				        gn->d.uniformResourceIdentifier),
				    (size_t)ASN1_STRING_length(
				        gn->d.uniformResourceIdentifier));
				break;
			}
		}
	}
	cr_assert_not_null(url, "no URI in the CRL distribution point");
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	X509_free(x);
	return url;
}

int
hcrl_reason(
    struct hsrv *h, const char *url, const char *pem, const char *serial)
{
	struct hresp r;
	X509 *issuer = chain_cert(pem, 1);
	X509_CRL *crl;
	X509_REVOKED *rev = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn;
	ASN1_ENUMERATED *reason;
	const unsigned char *p;
	int rc = -1;

	hreq(h, "GET", url, NULL, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200, "GET %s: %ld", url, r.status);
	cr_assert_str_eq(r.ctype, "application/pkix-crl");
	p = (const unsigned char *)r.body;
	crl = d2i_X509_CRL(NULL, &p, (long)r.len);
	cr_assert_not_null(crl, "the CRL is not DER");
	cr_assert_eq(X509_CRL_verify(crl, X509_get0_pubkey(issuer)), 1,
	    "the CRL is not signed by the issuing CA");
	cr_assert_eq(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	                 X509_get_subject_name(issuer)),
	    0);
	cr_assert_gt(BN_hex2bn(&bn, serial), 0);
	cr_assert_not_null(sn = BN_to_ASN1_INTEGER(bn, NULL));
	if (X509_CRL_get0_by_serial(crl, &rev, sn) == 1) {
		reason =
		    X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
		rc = reason ? (int)ASN1_ENUMERATED_get(reason) : 0;
		ASN1_ENUMERATED_free(reason);
	}
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	X509_CRL_free(crl);
	X509_free(issuer);
	hresp_clear(&r);
	return rc;
}

void
hassert_alive(struct hsrv *h)
{
	char url[256];
	struct hresp r;

	snprintf(url, sizeof(url), "%s/acme/directory", h->base);
	hreq(h, "GET", url, NULL, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200, "the server stopped answering");
	cr_assert_not_null(hjstr(r.json, "newNonce"));
	hresp_clear(&r);
}

void
hnew_bound_account(
    struct hsrv *h, const char *token, const char *org, struct hacct *a)
{
	struct hresp r;
	char path[128], *kid, *hmac;

	snprintf(path, sizeof(path), "orgs/%s/eab-keys", org);
	hoper(h, token, "POST", path, "{}", &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	kid = strdup(hjstr(r.json, "kid"));
	hmac = strdup(hjstr(r.json, "hmac_key"));
	hresp_clear(&r);
	hnew_account(h, a, kid, hmac);
	free(kid);
	free(hmac);
}
