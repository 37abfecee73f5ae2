/*
 * Renewal information (RFC 9773): the directory's renewalInfo, the
 * suggested window and its Retry-After, newOrder's "replaces" (same
 * account, a shared identifier, alreadyReplaced), and the operators'
 * renewal-window drill.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "b64url.h"
#include "harness.h"
#include "harness_extra.h"
#include "rfc3339.h"

#define ORG "NTRJP-9234567890123"
#define OTHER_ORG "NTRJP-7000012050002"

static struct hsrv srv;

static void
setup(void)
{
	hsrv_start(&srv, NULL);
}

static void
teardown(void)
{
	hsrv_stop(&srv);
}

TestSuite(ari, .init = setup, .fini = teardown, .timeout = 120);

/* The leaf of pem. */
static X509 *
leaf(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	cr_assert_not_null(x);
	BIO_free(b);
	return x;
}

/* base64url(AKI keyIdentifier) "." base64url(serial DER content), made
 * here from the certificate itself; caller frees. */
static char *
cert_id(const char *pem)
{
	X509 *x = leaf(pem);
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	unsigned char der[32];
	size_t n = (size_t)ASN1_STRING_length(sn);
	char *a = NULL, *b = NULL, *out;

	cr_assert_not_null(aki, "the leaf has no AKI keyIdentifier");
	cr_assert_lt(n, sizeof(der) - 1);
	memcpy(der + 1, ASN1_STRING_get0_data(sn), n);
	der[0] = 0;
	/* A leading zero only when the first bit is set (DER). */
	cr_assert_eq(b64url_encode(der + (der[1] & 0x80 ? 0 : 1),
	                 n + (der[1] & 0x80 ? 1 : 0), &b),
	    KK_OK);
	cr_assert_eq(b64url_encode(ASN1_STRING_get0_data(aki),
	                 (size_t)ASN1_STRING_length(aki), &a),
	    KK_OK);
	cr_assert_gt(asprintf(&out, "%s.%s", a, b), 0);
	free(a);
	free(b);
	X509_free(x);
	return out;
}

/* Lower-case hex serial, as the operator API shows it; caller frees. */
static char *
serial_of(const char *pem)
{
	unsigned char *der = NULL;
	size_t len = 0;
	char *hex = hleaf_der(pem, &der, &len);

	for (char *p = hex; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	OPENSSL_free(der);
	return hex;
}

static void
validity(const char *pem, time_t *nb, time_t *na)
{
	X509 *x = leaf(pem);
	struct tm t;

	cr_assert_eq(ASN1_TIME_to_tm(X509_get0_notBefore(x), &t), 1);
	*nb = timegm(&t);
	cr_assert_eq(ASN1_TIME_to_tm(X509_get0_notAfter(x), &t), 1);
	*na = timegm(&t);
	X509_free(x);
}

/* GET renewalInfo/id into r. */
static void
renewal_info(const char *id, struct hresp *r)
{
	char *base = hurl(&srv, "renewalInfo"), url[512];

	snprintf(url, sizeof(url), "%s/%s", base, id);
	hreq(&srv, "GET", url, NULL, NULL, NULL, 0, r);
	free(base);
}

static void
window(const struct hresp *r, time_t *start, time_t *end)
{
	const cJSON *w = cJSON_GetObjectItem(r->json, "suggestedWindow");

	cr_assert_not_null(w, "no suggestedWindow: %s", r->body);
	cr_assert_eq(rfc3339_parse(hjstr(w, "start"), start), KK_OK);
	cr_assert_eq(rfc3339_parse(hjstr(w, "end"), end), KK_OK);
}

/* newOrder for org with replaces id (NULL: none). */
static void
order_replacing(
    const struct hacct *a, const char *org, const char *id, struct hresp *r)
{
	char *url = hurl(&srv, "newOrder"), body[512];

	if (id != NULL)
		snprintf(body, sizeof(body),
		    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"%s\"}],"
		    "\"replaces\":\"%s\"}",
		    org, id);
	else
		snprintf(body, sizeof(body),
		    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"%s\"}]}",
		    org);
	hpost(&srv, a, url, body, r);
	free(url);
}

/* An account issued a certificate for ORG: *pem is its chain. */
static void
issued(struct hacct *a, char **pem)
{
	EVP_PKEY *k = NULL;
	char *cert = hissue(&srv, a, ORG, "host-a.example.jp", &k, pem);

	free(cert);
	EVP_PKEY_free(k);
}

Test(ari, directory_offers_renewal_info_and_new_authz)
{
	char *u = hurl(&srv, "renewalInfo"), *v = hurl(&srv, "newAuthz");

	cr_assert_not_null(strstr(u, "/acme/renewal-info"));
	cr_assert_not_null(strstr(v, "/acme/new-authz"));
	free(u);
	free(v);
}

Test(ari, window_is_the_default_with_retry_after)
{
	struct hacct a = {0};
	struct hresp r;
	char *pem, *id;
	time_t nb, na, start, end, life;

	issued(&a, &pem);
	id = cert_id(pem);
	renewal_info(id, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_str_eq(r.ctype, "application/json");
	cr_assert_eq(r.retry_after, 21600, "Retry-After %ld", r.retry_after);
	window(&r, &start, &end);
	validity(pem, &nb, &na);
	life = na - nb;
	/* From a third of the lifetime left to a sixth left. */
	cr_assert_leq(labs((long)(start - (na - life / 3))), 1);
	cr_assert_leq(labs((long)(end - (na - life / 6))), 1);
	cr_assert_lt(start, end);
	hresp_clear(&r);
	free(id);
	free(pem);
	hacct_clear(&a);
}

Test(ari, unknown_or_malformed_cert_ids)
{
	struct hacct a = {0};
	struct hresp r;
	char *pem, *id, bad[256], *dot;

	issued(&a, &pem);
	id = cert_id(pem);
	dot = strchr(id, '.');
	/* A serial this CA never issued. */
	snprintf(bad, sizeof(bad), "%.*s.QUJDREVGR0g", (int)(dot - id), id);
	renewal_info(bad, &r);
	HASSERT_ACME_PROBLEM(&r, 404, "malformed");
	hresp_clear(&r);
	/* Another issuer's key identifier with our serial. */
	snprintf(bad, sizeof(bad), "AAAAAAAAAAAAAAAAAAAAAAAAAAA%s", dot);
	renewal_info(bad, &r);
	HASSERT_ACME_PROBLEM(&r, 404, "malformed");
	hresp_clear(&r);
	/* Not a certID at all. */
	renewal_info("no-dot-here", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	hassert_alive(&srv);
	free(id);
	free(pem);
	hacct_clear(&a);
}

Test(ari, replaces_is_recorded_once)
{
	struct hacct a = {0};
	struct hresp r;
	char *pem, *id, *order;
	const char *az;

	issued(&a, &pem);
	id = cert_id(pem);
	order_replacing(&a, ORG, id, &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "replaces"), id);
	order = strdup(r.location);
	az = cJSON_GetStringValue(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(r.json, "authorizations"), 0));
	cr_assert_not_null(az);
	{
		/* Deactivating the order's authorization makes it invalid:
		 * the certificate is free to be replaced again (RFC 9773
		 * 5: replaced by an order that is not invalid). */
		struct hresp q;
		char *azu = strdup(az);

		hresp_clear(&r);
		order_replacing(&a, ORG, id, &r);
		HASSERT_ACME_PROBLEM(&r, 409, "alreadyReplaced");
		hresp_clear(&r);
		hpost(&srv, &a, azu, "{\"status\":\"deactivated\"}", &q);
		cr_assert_eq(q.status, 200, "%s", q.body);
		hresp_clear(&q);
		hpost(&srv, &a, order, NULL, &q);
		cr_assert_str_eq(hjstr(q.json, "status"), "invalid");
		hresp_clear(&q);
		free(azu);
	}
	order_replacing(&a, ORG, id, &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	hresp_clear(&r);
	free(order);
	free(id);
	free(pem);
	hacct_clear(&a);
}

Test(ari, finalized_replacement_still_names_what_it_replaces)
{
	struct hacct a = {0};
	struct hresp r;
	EVP_PKEY *k = hkey("ec-p256");
	char *pem, *id, *order;

	issued(&a, &pem);
	id = cert_id(pem);
	order_replacing(&a, ORG, id, &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "ready");
	order = strdup(r.location);
	hresp_clear(&r);
	/* The finalize answer, and the order read later, both say it. */
	hfinalize(&srv, &a, order, k, ORG, "host-b.example.jp", &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	cr_assert_str_eq(hjstr(r.json, "replaces"), id);
	hresp_clear(&r);
	hpost(&srv, &a, order, NULL, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "replaces"), id);
	hresp_clear(&r);
	/* An order that replaces nothing says nothing. */
	order_replacing(&a, ORG, NULL, &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	cr_assert_null(cJSON_GetObjectItem(r.json, "replaces"));
	hresp_clear(&r);
	EVP_PKEY_free(k);
	free(order);
	free(id);
	free(pem);
	hacct_clear(&a);
}

Test(ari, replaces_needs_the_same_account_and_identifier)
{
	struct hacct a = {0}, b = {0};
	struct hresp r;
	char *pem, *id, *tok;

	issued(&a, &pem);
	id = cert_id(pem);
	/* Another account, even one bound to the same organization. */
	tok = hsrv_token(&srv, "eab", "operator");
	hnew_bound_account(&srv, tok, ORG, &b);
	order_replacing(&b, ORG, id, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	/* The same account, but an order sharing no identifier. */
	order_replacing(&a, OTHER_ORG, id, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	/* Garbage and unknown certificates. */
	order_replacing(&a, ORG, "nonsense", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	/* Nothing was recorded: the owner may still replace it. */
	order_replacing(&a, ORG, id, &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	hresp_clear(&r);
	free(tok);
	free(id);
	free(pem);
	hacct_clear(&a);
	hacct_clear(&b);
}

/* newOrder with the identifiers (JSON array text) and replaces id. */
static void
order_ids_replacing(
    const struct hacct *a, const char *ids, const char *id, struct hresp *r)
{
	char *url = hurl(&srv, "newOrder"), body[512];

	snprintf(body, sizeof(body), "{\"identifiers\":%s,\"replaces\":\"%s\"}",
	    ids, id);
	hpost(&srv, a, url, body, r);
	free(url);
}

Test(ari, dns_order_replaces_only_a_certificate_sharing_a_name)
{
	struct hacct a = {0};
	struct hresp r;
	char *pem, *id, *tok;

	/* An org certificate of a bound account whose organization has a
	 * domain: a dns order for a name under it is ready at once. */
	issued(&a, &pem);
	id = cert_id(pem);
	tok = hsrv_token(&srv, "domains", "operator");
	hoper(&srv, tok, "POST", "orgs/" ORG "/domains",
	    "{\"domains\":[\"example.jp\"]}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	/* The same organization is not a shared identifier: the names are
	 * (RFC 9773 5); the certificate has none. */
	order_ids_replacing(
	    &a, "[{\"type\":\"dns\",\"value\":\"host-a.example.jp\"}]", id, &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	/* With the org identifier besides the name, it shares one. */
	order_ids_replacing(&a,
	    "[{\"type\":\"org\",\"value\":\"" ORG "\"},"
	    "{\"type\":\"dns\",\"value\":\"host-a.example.jp\"}]",
	    id, &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "ready");
	cr_assert_str_eq(hjstr(r.json, "replaces"), id);
	hresp_clear(&r);
	free(tok);
	free(id);
	free(pem);
	hacct_clear(&a);
}

Test(ari, operator_moves_the_window_audited)
{
	struct hacct a = {0};
	struct hresp r;
	char *pem, *id, *serial, *op, *aud, body[512];
	time_t start, end, now = time(NULL);
	int found = 0;
	const cJSON *e;

	issued(&a, &pem);
	id = cert_id(pem);
	serial = serial_of(pem);
	op = hsrv_token(&srv, "drill", "operator");
	aud = hsrv_token(&srv, "watcher", "auditor");
	snprintf(body, sizeof(body),
	    "{\"serials\":[\"%s\"],\"reason\":\"renewal drill\"}", serial);
	hoper(&srv, aud, "POST", "renewal-window", body, &r);
	cr_assert_eq(r.status, 403);
	hresp_clear(&r);
	hoper(&srv, op, "POST", "renewal-window", body, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_eq(cJSON_GetObjectItem(r.json, "moved")->valueint, 1);
	hresp_clear(&r);
	renewal_info(id, &r);
	cr_assert_eq(r.status, 200);
	window(&r, &start, &end);
	/* Now, for a minute by default. */
	cr_assert_leq(labs((long)(start - now)), 5);
	cr_assert_leq(labs((long)(end - start - 60)), 1);
	hresp_clear(&r);

	/* By organization, with an explicit window in the past. */
	hoper(&srv, op, "POST", "renewal-window",
	    "{\"org\":\"" ORG "\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2026-01-02T00:00:00Z\"}",
	    &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_eq(cJSON_GetObjectItem(r.json, "moved")->valueint, 1);
	hresp_clear(&r);
	renewal_info(id, &r);
	window(&r, &start, &end);
	cr_assert_str_eq(
	    hjstr(cJSON_GetObjectItem(r.json, "suggestedWindow"), "start"),
	    "2026-01-01T00:00:00Z");
	hresp_clear(&r);

	/* Refusals change nothing. */
	snprintf(
	    body, sizeof(body), "{\"serials\":[\"%s\", \"4abc\"]}", serial);
	hoper(&srv, op, "POST", "renewal-window", body, &r);
	HASSERT_PROBLEM(&r, 404, "malformed");
	hresp_clear(&r);
	hoper(&srv, op, "POST", "renewal-window",
	    "{\"org\":\"" ORG "\",\"serials\":[\"ab\"]}", &r);
	HASSERT_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	hoper(&srv, op, "POST", "renewal-window",
	    "{\"org\":\"" ORG "\",\"start\":\"2026-01-02T00:00:00Z\","
	    "\"end\":\"2026-01-01T00:00:00Z\"}",
	    &r);
	HASSERT_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	renewal_info(id, &r);
	cr_assert_str_eq(
	    hjstr(cJSON_GetObjectItem(r.json, "suggestedWindow"), "start"),
	    "2026-01-01T00:00:00Z");
	hresp_clear(&r);

	/* Audited per certificate, with the operator's name. */
	hoper(&srv, aud, "GET", "audit", NULL, &r);
	cr_assert_eq(r.status, 200);
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(r.json, "events"))
	{
		if (strcmp(hjstr(e, "action"), "cert.renewal_window") != 0)
			continue;
		cr_assert_str_eq(hjstr(e, "object"), serial);
		cr_assert_str_eq(hjstr(e, "actor"), "drill");
		found++;
	}
	cr_assert_eq(found, 2, "%d cert.renewal_window events", found);
	hresp_clear(&r);
	free(op);
	free(aud);
	free(serial);
	free(id);
	free(pem);
	hacct_clear(&a);
}

/* The certificates list shows the moved window and the replacement. */
Test(ari, certificates_list_shows_the_replacement)
{
	struct hacct a = {0};
	struct hresp r;
	char *pem, *id, *serial, *order, *tok, body[256];
	const cJSON *c, *found = NULL, *repl = NULL;
	EVP_PKEY *k = hkey("ec-p256");

	issued(&a, &pem);
	id = cert_id(pem);
	serial = serial_of(pem);
	tok = hsrv_token(&srv, "lister", "operator");
	snprintf(body, sizeof(body), "{\"serials\":[\"%s\"]}", serial);
	hoper(&srv, tok, "POST", "renewal-window", body, &r);
	cr_assert_eq(r.status, 200);
	hresp_clear(&r);
	order_replacing(&a, ORG, id, &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "ready");
	order = strdup(r.location);
	hresp_clear(&r);
	hfinalize(&srv, &a, order, k, ORG, "host-a.example.jp", &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	hresp_clear(&r);
	hoper(&srv, tok, "GET", "certificates?org=" ORG, NULL, &r);
	cr_assert_eq(r.status, 200);
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(r.json, "certificates"))
	{
		if (strcmp(hjstr(c, "serial"), serial) == 0)
			found = c;
	}
	cr_assert_not_null(found);
	cr_assert_not_null(hjstr(found, "replaced_by"), "%s", r.body);
	cr_assert_str_neq(hjstr(found, "replaced_by"), serial);
	cr_assert_not_null(cJSON_GetObjectItem(found, "renewal_window"));
	/* The page's renewal records are read at once: each shows on its
	 * own certificate, none on the replacement. */
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(r.json, "certificates"))
	{
		if (strcmp(hjstr(c, "serial"), hjstr(found, "replaced_by")) ==
		    0)
			repl = c;
	}
	cr_assert_not_null(repl, "the replacement is listed: %s", r.body);
	cr_assert_null(cJSON_GetObjectItem(repl, "replaced_by"), "%s", r.body);
	cr_assert_null(cJSON_GetObjectItem(repl, "renewal_window"));
	hresp_clear(&r);
	EVP_PKEY_free(k);
	free(tok);
	free(order);
	free(serial);
	free(id);
	free(pem);
	hacct_clear(&a);
}

Test(ari, revoked_certificate_window_has_passed)
{
	struct hacct a = {0};
	struct hresp r;
	char *pem, *id, *serial, *op, path[256];
	time_t start, end;

	issued(&a, &pem);
	id = cert_id(pem);
	serial = serial_of(pem);
	op = hsrv_token(&srv, "revoker", "operator");
	snprintf(path, sizeof(path), "certificates/%s/revoke", serial);
	hoper(&srv, op, "POST", path, "{\"reason\":\"superseded\"}", &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	hresp_clear(&r);
	renewal_info(id, &r);
	cr_assert_eq(r.status, 200);
	window(&r, &start, &end);
	cr_assert_lt(end, time(NULL));
	hresp_clear(&r);
	free(op);
	free(serial);
	free(id);
	free(pem);
	hacct_clear(&a);
}
