/*
 * External Account Binding under a policy that requires it: no account
 * without a binding, and a binding counts only when its MAC, key id,
 * account key, url, expiry and use limit are all right. A refused
 * binding creates no account and spends no use.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "b64url.h"
#include "eab.h"
#include "harness_extra.h"

#define ORG "NTRJP-9234567890123"

static struct hsrv srv;
static char *token;

/* EAB keys the operator made before the policy turned EAB on. */
static char *kid_open, *hmac_open; /* no limit */
static char *kid_once, *hmac_once; /* max_uses 1 */

static void
make_eab(const char *body, char **kid, char **hmac)
{
	struct hresp r;

	hoper(&srv, token, "POST", "orgs/" ORG "/eab-keys", body, &r);
	cr_assert_eq(r.status, 201, "eab-keys: %ld %s", r.status, r.body);
	*kid = strdup(hjstr(r.json, "kid"));
	*hmac = strdup(hjstr(r.json, "hmac_key"));
	hresp_clear(&r);
}

/*
 * EAB keys are issued for verified organizations, and with EAB required
 * no account could ask for a verification: the organization is verified
 * and the keys made under an open policy, then the server restarts with
 * "eab_required": true.
 */
static void
setup(void)
{
	struct hacct first = {0};
	char *policy = hpolicy(NULL, "eab_required", "false"), *order;

	hsrv_start(&srv, policy);
	free(policy);
	order = henroll_verified(&srv, &first, ORG);
	free(order);
	hacct_clear(&first);
	token = hsrv_token(&srv, "eab-op", "operator");
	make_eab("{}", &kid_open, &hmac_open);
	make_eab("{\"max_uses\":1}", &kid_once, &hmac_once);

	hsrv_kill(&srv, SIGTERM);
	policy = hpolicy(NULL, "eab_required", "true");
	hwrite(srv.policy, policy, strlen(policy));
	free(policy);
	hsrv_restart(&srv);
}

static void
teardown(void)
{
	hassert_alive(&srv);
	hsrv_stop(&srv);
	free(token);
	free(kid_open);
	free(hmac_open);
	free(kid_once);
	free(hmac_once);
}

TestSuite(acme_eab, .init = setup, .fini = teardown, .timeout = 180);

#define ACCOUNT_FIELDS                                                         \
	"\"contact\":[\"mailto:admin@example.jp\"],\"termsOfServiceAgreed\":"  \
	"true"

/*
 * newAccount signed by key with an EAB under kid and the base64url MAC key
 * hmac, binding bind_key (NULL = key) for eab_url (NULL = newAccount).
 */
static void
eab_account(EVP_PKEY *key, const char *kid, const char *hmac,
    EVP_PKEY *bind_key, const char *eab_url, struct hresp *r)
{
	struct hacct a = {.key = key};
	char *url = hurl(&srv, "newAccount"), *eab_text, *payload;
	unsigned char *mac = NULL;
	size_t maclen = 0;
	cJSON *eab = NULL;

	cr_assert_eq(b64url_decode(hmac, strlen(hmac), &mac, &maclen), KK_OK);
	cr_assert_eq(eab_build(kid, mac, maclen, bind_key ? bind_key : key,
	                 eab_url ? eab_url : url, &eab),
	    KK_OK);
	eab_text = cJSON_PrintUnformatted(eab);
	cr_assert_geq(
	    asprintf(&payload,
	        "{" ACCOUNT_FIELDS ",\"externalAccountBinding\":%s}", eab_text),
	    0);
	hpost(&srv, &a, url, payload, r);
	free(payload);
	cJSON_free(eab_text);
	cJSON_Delete(eab);
	free(mac);
	free(url);
}

static void
assert_no_account(EVP_PKEY *key)
{
	struct hacct probe = {.key = key};
	struct hresp r;
	char *url = hurl(&srv, "newAccount");

	hpost(&srv, &probe, url, "{\"onlyReturnExisting\":true}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "accountDoesNotExist");
	hresp_clear(&r);
	free(url);
}

/* A 201 account bound to ORG whose orders are ready at once. */
static void
assert_bound_account(EVP_PKEY *key, struct hresp *r)
{
	struct hacct a = {.key = key};
	struct hresp o;
	char *order;

	cr_assert_eq(r->status, 201, "newAccount: %ld %s", r->status, r->body);
	cr_assert_str_eq(hjstr(r->json, "org"), ORG);
	a.kid = strdup(r->location);
	hnew_order(&srv, &a, ORG, &order, &o);
	cr_assert_str_eq(hjstr(o.json, "status"), "ready");
	hresp_clear(&o);
	free(order);
	free(a.kid);
}

Test(acme_eab, required_refuses_new_account_without_eab)
{
	struct hacct a = {.key = hkey("ec-p256")};
	struct hresp r;
	char *url = hurl(&srv, "newAccount"), dir[256];

	snprintf(dir, sizeof(dir), "%s/acme/directory", srv.base);
	hreq(&srv, "GET", dir, NULL, NULL, NULL, 0, &r);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(r.json, "meta"), "externalAccountRequired")));
	hresp_clear(&r);

	hpost(&srv, &a, url, "{" ACCOUNT_FIELDS "}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "externalAccountRequired");
	cr_assert_null(r.location);
	hresp_clear(&r);
	assert_no_account(a.key);
	/* With a binding the same key gets its account. */
	eab_account(a.key, kid_open, hmac_open, NULL, NULL, &r);
	assert_bound_account(a.key, &r);
	hresp_clear(&r);
	/* The binding is asked of new accounts only: without it, the key
	 * finds the account it has (RFC 8555 7.3.1). */
	hpost(&srv, &a, url, "{" ACCOUNT_FIELDS "}", &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_not_null(r.location);
	cr_assert_str_eq(hjstr(r.json, "org"), ORG);
	hresp_clear(&r);
	free(url);
	hacct_clear(&a);
}

Test(acme_eab, wrong_hmac_is_unauthorized)
{
	EVP_PKEY *key = hkey("ec-p256");
	struct hresp r;
	unsigned char wrong[32];
	char *wrong64 = NULL, *tampered = strdup(hmac_open);

	memset(wrong, 0x5a, sizeof(wrong));
	cr_assert_eq(b64url_encode(wrong, sizeof(wrong), &wrong64), KK_OK);
	eab_account(key, kid_open, wrong64, NULL, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	/* The right key with one bit changed. */
	tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
	eab_account(key, kid_open, tampered, NULL, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	/* Another key's MAC under this key id. */
	eab_account(key, kid_open, hmac_once, NULL, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	assert_no_account(key);
	free(wrong64);
	free(tampered);
	EVP_PKEY_free(key);
}

Test(acme_eab, unknown_kid_other_key_or_url_is_unauthorized)
{
	EVP_PKEY *key = hkey("ec-p256"), *other = hkey("ec-p256");
	struct hresp r;
	char *url = hurl(&srv, "newOrder");

	eab_account(key, "no-such-key-id", hmac_open, NULL, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	/* The binding MACs another account key than the one signing. */
	eab_account(key, kid_open, hmac_open, other, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	/* The binding was made for another URL. */
	eab_account(key, kid_open, hmac_open, NULL, url, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	assert_no_account(key);
	assert_no_account(other);
	free(url);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

Test(acme_eab, malformed_binding_is_malformed)
{
	struct hacct a = {.key = hkey("ec-p256")};
	struct hresp r;
	char *url = hurl(&srv, "newAccount");

	hpost(&srv, &a, url,
	    "{" ACCOUNT_FIELDS ",\"externalAccountBinding\":\"yes\"}", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	hpost(&srv, &a, url,
	    "{" ACCOUNT_FIELDS ",\"externalAccountBinding\":{\"protected\":"
	    "\"e30\",\"payload\":\"e30\",\"signature\":\"AAAA\"}}",
	    &r);
	HASSERT_ACME_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	assert_no_account(a.key);
	free(url);
	hacct_clear(&a);
}

Test(acme_eab, max_uses_exhausted_is_unauthorized)
{
	EVP_PKEY *k1 = hkey("ec-p256"), *k2 = hkey("ec-p256"),
	         *k3 = hkey("ec-p256");
	struct hresp r;

	/* A refused attempt does not spend the single use. */
	eab_account(k1, kid_once, hmac_open, NULL, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	eab_account(k2, kid_once, hmac_once, NULL, NULL, &r);
	assert_bound_account(k2, &r);
	hresp_clear(&r);
	/* Asking again with the same account key returns that account
	 * without spending anything. */
	eab_account(k2, kid_once, hmac_once, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	/* A second account with the spent key is refused. */
	eab_account(k3, kid_once, hmac_once, NULL, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	assert_no_account(k1);
	assert_no_account(k3);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
}

Test(acme_eab, expired_key_is_unauthorized)
{
	EVP_PKEY *key = hkey("ec-p256");
	struct hresp r;
	char body[128], ts[32], *kid, *hmac;
	time_t until = time(NULL) + 2;
	struct tm tm;

	gmtime_r(&until, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(body, sizeof(body), "{\"expires\":\"%s\"}", ts);
	make_eab(body, &kid, &hmac);
	while (time(NULL) <= until + 1)
		usleep(200 * 1000);
	eab_account(key, kid, hmac, NULL, NULL, &r);
	HASSERT_ACME_PROBLEM(&r, 403, "unauthorized");
	hresp_clear(&r);
	assert_no_account(key);
	free(kid);
	free(hmac);
	EVP_PKEY_free(key);
}
