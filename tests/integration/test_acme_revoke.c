/*
 * revokeCert against the real server: who may revoke (the certificate's
 * key, its account; nobody else), reasons, revoking twice, and the CRL at
 * the certificate's distribution point listing exactly what was revoked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>
#include <openssl/x509.h>

#include "b64url.h"
#include "harness_extra.h"

#define ORG "NTRJP-9234567890123"
#define CN "host-a.example.jp"

static struct hsrv srv;

static void
setup(void)
{
	hsrv_start(&srv, NULL);
}

static void
teardown(void)
{
	hassert_alive(&srv);
	hsrv_stop(&srv);
}

TestSuite(acme_revoke, .init = setup, .fini = teardown, .timeout = 120);

/* An issued certificate and everything about it. */
struct issued {
	struct hacct owner;
	EVP_PKEY *key;
	char *url, *pem, *serial, *b64, *crl;
};

static void
issue(struct issued *c)
{
	unsigned char *der;
	size_t len;

	memset(c, 0, sizeof(*c));
	c->url = hissue(&srv, &c->owner, ORG, CN, &c->key, &c->pem);
	c->serial = hleaf_der(c->pem, &der, &len);
	cr_assert_eq(b64url_encode(der, len, &c->b64), KK_OK);
	OPENSSL_free(der);
	c->crl = hcrl_url(c->pem);
	/* The certificate URL names the same serial. */
	cr_assert_eq(strcasecmp(strrchr(c->url, '/') + 1, c->serial), 0,
	    "%s vs %s", c->url, c->serial);
}

static void
issued_clear(struct issued *c)
{
	hacct_clear(&c->owner);
	EVP_PKEY_free(c->key);
	free(c->url);
	free(c->pem);
	free(c->serial);
	free(c->b64);
	free(c->crl);
}

/* revokeCert of c signed by a (kid or jwk); reason < 0 omits it. */
static void
revoke(
    const struct hacct *a, const struct issued *c, int reason, struct hresp *r)
{
	char *url = hurl(&srv, "revokeCert"), payload[4096];

	if (reason >= 0)
		snprintf(payload, sizeof(payload),
		    "{\"certificate\":\"%s\",\"reason\":%d}", c->b64, reason);
	else
		snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\"}",
		    c->b64);
	hpost(&srv, a, url, payload, r);
	free(url);
}

static void
revoke_payload(const struct hacct *a, const char *payload, struct hresp *r)
{
	char *url = hurl(&srv, "revokeCert");

	hpost(&srv, a, url, payload, r);
	free(url);
}

/* Number of certificates the operator API lists with status. */
static int
oper_count(const char *status)
{
	char *tok = hsrv_token(&srv, "reader", "auditor"), path[128];
	struct hresp r;
	int n;

	snprintf(path, sizeof(path), "certificates?status=%s", status);
	hoper(&srv, tok, "GET", path, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	n = cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "certificates"));
	hresp_clear(&r);
	free(tok);
	return n;
}

Test(acme_revoke, by_certificate_key_then_already_revoked)
{
	struct issued c;
	struct hacct holder = {0};
	struct hresp r;
	char path[PATH_MAX], prefix[256];

	issue(&c);
	/* The distribution point is this server's /crl/<issuer>.crl. */
	snprintf(prefix, sizeof(prefix), "%s/crl/", srv.base);
	cr_assert_eq(strncmp(c.crl, prefix, strlen(prefix)), 0, "%s", c.crl);
	cr_assert_str_eq(c.crl + strlen(c.crl) - 4, ".crl");
	cr_assert_eq(hcrl_reason(&srv, c.crl, c.pem, c.serial), -1);

	/* Signed with the certificate's own key, as a jwk. */
	holder.key = c.key;
	revoke(&holder, &c, 1, &r);
	cr_assert_eq(r.status, 200, "revoke: %ld %s", r.status, r.body);
	cr_assert_not_null(r.nonce);
	hresp_clear(&r);
	cr_assert_eq(hcrl_reason(&srv, c.crl, c.pem, c.serial), 1,
	    "the CRL does not list %s as keyCompromise", c.serial);
	/* openssl itself finds the serial in the DER CRL. */
	hreq(&srv, "GET", c.crl, NULL, NULL, NULL, 0, &r);
	snprintf(path, sizeof(path), "%s/crl.der", srv.dir);
	hwrite(path, r.body, r.len);
	hresp_clear(&r);
	cr_assert_eq(hsh("openssl crl -inform DER -in '%s' -noout -text | "
	                 "grep -qi 'Serial Number: %s$'",
	                 path, c.serial),
	    0, "openssl crl does not show %s", c.serial);
	cr_assert_eq(oper_count("revoked"), 1);

	/* Twice: by the key again, and by the owning account. */
	revoke(&holder, &c, 1, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "alreadyRevoked");
	hresp_clear(&r);
	revoke(&c.owner, &c, 4, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "alreadyRevoked");
	hresp_clear(&r);
	/* The second attempt did not rewrite the reason. */
	cr_assert_eq(hcrl_reason(&srv, c.crl, c.pem, c.serial), 1);
	issued_clear(&c);
}

Test(acme_revoke, by_owning_account_without_reason)
{
	struct issued c;
	struct hresp r;

	issue(&c);
	revoke(&c.owner, &c, -1, &r);
	cr_assert_eq(r.status, 200, "revoke: %ld %s", r.status, r.body);
	hresp_clear(&r);
	/* Listed; "unspecified" carries no reason code (RFC 5280 5.3.1). */
	cr_assert_eq(hcrl_reason(&srv, c.crl, c.pem, c.serial), 0);
	issued_clear(&c);
}

Test(acme_revoke, unrelated_account_or_key_is_unauthorized)
{
	struct issued c;
	struct hacct b = {0}, stranger = {0};
	struct hresp r;

	issue(&c);
	hnew_account(&srv, &b, NULL, NULL);
	revoke(&b, &c, 1, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	/* A key that is neither an account nor the certificate's. */
	stranger.key = hkey("ec-p256");
	revoke(&stranger, &c, 1, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	/* The owner's account key as a jwk is not the certificate's key. */
	{
		struct hacct owner_jwk = {.key = c.owner.key};

		revoke(&owner_jwk, &c, 1, &r);
		HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
		hresp_clear(&r);
	}
	cr_assert_eq(hcrl_reason(&srv, c.crl, c.pem, c.serial), -1);
	cr_assert_eq(oper_count("revoked"), 0);
	/* The certificate is still the owner's to revoke. */
	revoke(&c.owner, &c, 4, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	cr_assert_eq(hcrl_reason(&srv, c.crl, c.pem, c.serial), 4);
	hacct_clear(&b);
	hacct_clear(&stranger);
	issued_clear(&c);
}

Test(acme_revoke, bad_reason_is_refused)
{
	struct issued c;
	struct hresp r;
	const int bad[] = {7, 2, 6, 8, 10, 11, -1, 255};
	const char *fmts[] = {"{\"certificate\":\"%s\",\"reason\":1.5}",
	    "{\"certificate\":\"%s\",\"reason\":\"1\"}", NULL};
	char payload[4096];

	issue(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(payload, sizeof(payload),
		    "{\"certificate\":\"%s\",\"reason\":%d}", c.b64, bad[i]);
		revoke_payload(&c.owner, payload, &r);
		HASSERT_ACME_PROBLEM(&r, 400, "badRevocationReason");
		hresp_clear(&r);
	}
	for (int i = 0; fmts[i] != NULL; i++) {
		snprintf(payload, sizeof(payload), fmts[i], c.b64);
		revoke_payload(&c.owner, payload, &r);
		HASSERT_ACME_PROBLEM(&r, 400, "badRevocationReason");
		hresp_clear(&r);
	}
	cr_assert_eq(hcrl_reason(&srv, c.crl, c.pem, c.serial), -1);
	/* A good reason then works. */
	revoke(&c.owner, &c, 5, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	cr_assert_eq(hcrl_reason(&srv, c.crl, c.pem, c.serial), 5);
	issued_clear(&c);
}

Test(acme_revoke, certificate_not_ours_or_garbage)
{
	struct issued c;
	struct hresp r;
	EVP_PKEY *key = hkey("ec-p256");
	X509 *x = X509_new();
	unsigned char *der = NULL;
	char *b64 = NULL, payload[4096];
	int n;

	issue(&c);
	/* A self-signed certificate with the same subject, not ours. */
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 12345);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_commonName,
	    MBSTRING_UTF8, (const unsigned char *)CN, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	cr_assert_gt(X509_sign(x, key, EVP_sha256()), 0);
	cr_assert_gt(n = i2d_X509(x, &der), 0);
	cr_assert_eq(b64url_encode(der, (size_t)n, &b64), KK_OK);
	snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\"}", b64);
	{
		struct hacct self = {.key = key};

		revoke_payload(&self, payload, &r);
		HASSERT_ACME_PROBLEM(&r, 404, "malformed");
		hresp_clear(&r);
	}
	revoke_payload(&c.owner, "{\"certificate\":\"AAAA\"}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	revoke_payload(&c.owner, "{\"certificate\":\"!!\"}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	revoke_payload(&c.owner, "{\"reason\":1}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	revoke_payload(&c.owner, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	cr_assert_eq(hcrl_reason(&srv, c.crl, c.pem, c.serial), -1);
	free(b64);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(key);
	issued_clear(&c);
}

Test(acme_revoke, unknown_crl_issuer_is_404)
{
	struct hresp r;
	char url[256];

	snprintf(url, sizeof(url), "%s/crl/AAAAAAAA.crl", srv.base);
	hreq(&srv, "GET", url, NULL, NULL, NULL, 0, &r);
	HASSERT_PROBLEM(&r, 404, "malformed");
	hresp_clear(&r);
}
