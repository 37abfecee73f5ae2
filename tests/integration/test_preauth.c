/*
 * Pre-authorization (newAuthz, RFC 8555 7.4.1) and organization domains:
 * an org authorization asked for before ordering, reused by the order;
 * dns authorizations valid at once for a bound account under its
 * organization's recorded domains, and for nobody else (other names get
 * a pending authorization with challenges, validated for real over
 * http-01 with no order and reused by the next order); the operator API
 * that records the domains.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "harness_extra.h"

#define ORG "NTRJP-9234567890123"
#define OTHER_ORG "NTRJP-7000012050002"

static struct hsrv srv;
static char *op;

static void
setup(void)
{
	hsrv_start(&srv, NULL);
	op = hsrv_token(&srv, "domains-op", "operator");
}

static void
teardown(void)
{
	free(op);
	op = NULL;
	hsrv_stop(&srv);
}

TestSuite(preauth, .init = setup, .fini = teardown, .timeout = 120);

/* newAuthz for type:value into r. */
static void
new_authz(
    const struct hacct *a, const char *type, const char *value, struct hresp *r)
{
	char *url = hurl(&srv, "newAuthz"), body[512];

	snprintf(body, sizeof(body),
	    "{\"identifier\":{\"type\":\"%s\",\"value\":\"%s\"}}", type, value);
	hpost(&srv, a, url, body, r);
	free(url);
}

static void
add_domains(const char *org, const char *json, struct hresp *r)
{
	char path[128];

	snprintf(path, sizeof(path), "orgs/%s/domains", org);
	hoper(&srv, op, "POST", path, json, r);
}

Test(preauth, org_authz_is_pending_then_reused_by_the_order)
{
	struct hacct a = {0};
	struct hresp r, q;
	char *authz, *order;
	const cJSON *ch;

	hnew_account(&srv, &a, NULL, NULL);
	new_authz(&a, "org", ORG, &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	cr_assert_not_null(r.location);
	cr_assert_str_eq(hjstr(r.json, "status"), "pending");
	cr_assert_str_eq(
	    hjstr(cJSON_GetObjectItem(r.json, "identifier"), "value"), ORG);
	ch = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "challenges"), 0);
	cr_assert_str_eq(hjstr(ch, "type"), "oob-01");
	authz = strdup(r.location);
	/* An operator verifies it through the usual queue. */
	hpost(&srv, &a, hjstr(ch, "url"), "{}", &q);
	cr_assert_eq(q.status, 200);
	hresp_clear(&q);
	hresp_clear(&r);
	hoper(&srv, op, "GET", "verifications?status=processing", NULL, &q);
	{
		char path[256];
		const char *vid =
		    hjstr(cJSON_GetArrayItem(
		              cJSON_GetObjectItem(q.json, "verifications"), 0),
		        "id");

		cr_assert_not_null(vid);
		snprintf(path, sizeof(path), "verifications/%s/approve", vid);
		hoper(&srv, op, "POST", path,
		    "{\"method\":\"phone\",\"legal_name\":\"Example Power\","
		    "\"country\":\"JP\",\"evidence\":\"called\"}",
		    &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		hresp_clear(&r);
	}
	hresp_clear(&q);
	hpost(&srv, &a, authz, NULL, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	hresp_clear(&r);
	/* The order is ready at once, on that very authorization. */
	hnew_order(&srv, &a, ORG, &order, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "ready");
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(
	                     cJSON_GetObjectItem(r.json, "authorizations"), 0)),
	    authz);
	hresp_clear(&r);
	{
		/* So is the next; deactivating the shared authorization ends
		 * both. */
		char *second;

		hnew_order(&srv, &a, ORG, &second, &r);
		cr_assert_str_eq(hjstr(r.json, "status"), "ready");
		hresp_clear(&r);
		hpost(&srv, &a, authz, "{\"status\":\"deactivated\"}", &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		hresp_clear(&r);
		hpost(&srv, &a, order, NULL, &r);
		cr_assert_str_eq(hjstr(r.json, "status"), "invalid");
		hresp_clear(&r);
		hpost(&srv, &a, second, NULL, &r);
		cr_assert_str_eq(hjstr(r.json, "status"), "invalid");
		hresp_clear(&r);
		free(second);
	}
	free(order);
	free(authz);
	hacct_clear(&a);
}

Test(preauth, bound_account_of_a_verified_org_is_valid_at_once)
{
	struct hacct a = {0};
	struct hresp r;
	char *order;

	order = henroll_verified(&srv, &a, ORG);
	new_authz(&a, "org", ORG, &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	hresp_clear(&r);
	free(order);
	hacct_clear(&a);
}

Test(preauth, domains_are_recorded_listed_and_validated)
{
	struct hresp r;
	char *aud = hsrv_token(&srv, "reader", "auditor");

	add_domains(
	    ORG, "{\"domains\":[\"Example.JP\",\"grid.example.com\"]}", &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_eq(cJSON_GetObjectItem(r.json, "added")->valueint, 2);
	hresp_clear(&r);
	/* Again: nothing new; the names are kept in lower case. */
	add_domains(ORG, "{\"domains\":[\"example.jp\"]}", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(cJSON_GetObjectItem(r.json, "added")->valueint, 0);
	hresp_clear(&r);
	hoper(&srv, aud, "GET", "orgs/" ORG "/domains", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(
	    cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "domains")), 2);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(
	                     cJSON_GetObjectItem(r.json, "domains"), 0)),
	    "example.jp");
	hresp_clear(&r);
	/* Auditors read only. */
	hoper(&srv, aud, "POST", "orgs/" ORG "/domains",
	    "{\"domains\":[\"b.example.jp\"]}", &r);
	cr_assert_eq(r.status, 403);
	hresp_clear(&r);
	/* A name belongs to one organization. */
	add_domains(OTHER_ORG, "{\"domains\":[\"example.jp\"]}", &r);
	HASSERT_PROBLEM(&r, 409, "malformed");
	hresp_clear(&r);
	/* Names must be names. */
	add_domains(ORG, "{\"domains\":[\"*.example.jp\"]}", &r);
	HASSERT_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	add_domains(ORG, "{\"domains\":[\"jp\"]}", &r);
	HASSERT_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	add_domains(ORG, "{\"domains\":[\"192.0.2.1\"]}", &r);
	HASSERT_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	add_domains(ORG, "{\"domains\":[\"-bad.example.jp\"]}", &r);
	HASSERT_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	add_domains(ORG, "{\"domains\":[]}", &r);
	HASSERT_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	add_domains("not-an-org", "{\"domains\":[\"x.example.jp\"]}", &r);
	HASSERT_PROBLEM(&r, 400, "malformed");
	hresp_clear(&r);
	/* Every change audited. */
	hoper(&srv, aud, "GET", "audit", NULL, &r);
	{
		const cJSON *e;
		int n = 0;

		cJSON_ArrayForEach(e, cJSON_GetObjectItem(r.json, "events"))
		    n += strcmp(hjstr(e, "action"), "org.domains.add") == 0;
		cr_assert_eq(n, 1, "%d org.domains.add events", n);
	}
	hresp_clear(&r);
	free(aud);
}

/* r is a new pending dns authorization for name that offers http-01,
 * dns-01 and tls-alpn-01, each pending with a token. */
static void
assert_pending_dns(struct hresp *r, const char *name)
{
	static const char *const want[] = {"http-01", "dns-01", "tls-alpn-01"};
	const cJSON *chs, *ch;
	int i = 0;

	cr_assert_eq(r->status, 201, "%s: %ld %s", name, r->status, r->body);
	cr_assert_str_eq(hjstr(r->json, "status"), "pending");
	cr_assert_str_eq(
	    hjstr(cJSON_GetObjectItem(r->json, "identifier"), "type"), "dns");
	cr_assert_str_eq(
	    hjstr(cJSON_GetObjectItem(r->json, "identifier"), "value"), name);
	cr_assert_not_null(hjstr(r->json, "expires"));
	chs = cJSON_GetObjectItem(r->json, "challenges");
	cr_assert_eq(cJSON_GetArraySize(chs), 3, "%s", r->body);
	cJSON_ArrayForEach(ch, chs)
	{
		cr_assert_str_eq(hjstr(ch, "type"), want[i]);
		cr_assert_str_eq(hjstr(ch, "status"), "pending");
		cr_assert_not_null(hjstr(ch, "token"));
		cr_assert_not_null(hjstr(ch, "url"));
		i++;
	}
}

Test(preauth, dns_authz_under_the_org_domains_is_valid_at_once)
{
	struct hacct a = {0}, other = {0}, unbound = {0};
	struct hresp r;
	char *order, *authz;

	order = henroll_verified(&srv, &a, ORG);
	add_domains(ORG, "{\"domains\":[\"example.jp\"]}", &r);
	cr_assert_eq(r.status, 200);
	hresp_clear(&r);
	add_domains(OTHER_ORG, "{\"domains\":[\"sub.example.jp\"]}", &r);
	cr_assert_eq(r.status, 200);
	hresp_clear(&r);

	/* Under the domain, and the domain itself. */
	new_authz(&a, "dns", "host-a.Example.jp", &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	cr_assert_str_eq(
	    hjstr(cJSON_GetObjectItem(r.json, "identifier"), "value"),
	    "host-a.example.jp");
	authz = strdup(r.location);
	hresp_clear(&r);
	new_authz(&a, "dns", "example.jp", &r);
	cr_assert_eq(r.status, 201);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid");
	hresp_clear(&r);

	/* Not under it, or under another organization's subdomain: a
	 * pending authorization whose name must be proved by a challenge. */
	{
		const char *names[] = {
		    "example.com", "notexample.jp", "x.sub.example.jp"};

		for (size_t i = 0; i < 3; i++) {
			new_authz(&a, "dns", names[i], &r);
			assert_pending_dns(&r, names[i]);
			hresp_clear(&r);
		}
	}

	/* Another organization's account (not verified) and an unbound
	 * one (the profile takes no unbound dns names) get nothing. */
	hnew_bound_account(&srv, op, OTHER_ORG, &other);
	new_authz(&other, "dns", "host-b.example.jp", &r);
	HASSERT_ACME_PROBLEM(&r, 403, "rejectedIdentifier");
	hresp_clear(&r);
	hnew_account(&srv, &unbound, NULL, NULL);
	new_authz(&unbound, "dns", "host-c.example.jp", &r);
	HASSERT_ACME_PROBLEM(&r, 403, "rejectedIdentifier");
	hresp_clear(&r);

	/* Hostile identifiers. */
	new_authz(&a, "dns", "*.example.jp", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "rejectedIdentifier");
	hresp_clear(&r);
	new_authz(&a, "ip", "192.0.2.1", &r);
	HASSERT_ACME_PROBLEM(&r, 400, "unsupportedIdentifier");
	hresp_clear(&r);

	/* Suspending the organization revokes what its domains granted. */
	hoper(&srv, op, "POST", "orgs/" ORG "/suspend",
	    "{\"reason\":\"drill\"}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_clear(&r);
	hpost(&srv, &a, authz, NULL, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "revoked");
	hresp_clear(&r);
	new_authz(&a, "dns", "host-d.example.jp", &r);
	HASSERT_ACME_PROBLEM(&r, 403, "rejectedIdentifier");
	hresp_clear(&r);

	free(authz);
	free(order);
	hacct_clear(&a);
	hacct_clear(&other);
	hacct_clear(&unbound);
}

static void
setup_limited(void)
{
	char *pol = hpolicy("rate_limits", "orders_per_account_per_hour", "2");

	hsrv_start(&srv, pol);
	free(pol);
	op = hsrv_token(&srv, "domains-op", "operator");
}

TestSuite(
    preauth_limit, .init = setup_limited, .fini = teardown, .timeout = 60);

Test(preauth_limit, new_authz_counts_against_the_order_limit)
{
	struct hacct a = {0};
	struct hresp r;

	hnew_account(&srv, &a, NULL, NULL);
	for (int i = 0; i < 2; i++) {
		new_authz(&a, "org", ORG, &r);
		cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
		hresp_clear(&r);
	}
	new_authz(&a, "org", ORG, &r);
	HASSERT_ACME_PROBLEM(&r, 429, "rateLimited");
	cr_assert_gt(r.retry_after, 0);
	hresp_clear(&r);
	hacct_clear(&a);
}

/*
 * A real http-01 validation of a pre-authorization, with no order: the
 * server resolves names through pebble-challtestsrv (every name is
 * 127.0.0.1) and fetches the key authorization from a tiny responder on
 * a free port, which computes the account key's thumbprint (RFC 7638)
 * from the jwk file the test writes.
 */
static pid_t va_pids[2];
static char va_dir[64], va_resolver[32], va_http[8];
static const char *va_args[] = {"--va-resolver", va_resolver, "--va-http-port",
    va_http, "--va-timeout", "5", "--va-allow-private", NULL};

static pid_t
run(const char *const *argv)
{
	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static const char responder[] =
    "import base64, hashlib, http.server, json, sys\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        j = json.load(open(sys.argv[2]))\n"
    "        c = json.dumps({k: j[k] for k in ('crv', 'kty', 'x', 'y')},\n"
    "                       sort_keys=True, separators=(',', ':'))\n"
    "        t = base64.urlsafe_b64encode(hashlib.sha256(c.encode())\n"
    "                                     .digest()).rstrip(b'=')\n"
    "        body = self.path.rsplit('/', 1)[-1].encode() + b'.' + t\n"
    "        self.send_response(200)\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H)"
    ".serve_forever()\n";

static void
setup_va(void)
{
	char dns[32], mgmt[32], http[8], script[128], jwk[128];
	int dport = hfree_port(), mport = hfree_port(), hport = hfree_port();

	if (access("/usr/bin/pebble-challtestsrv", X_OK) != 0)
		cr_skip_test("pebble-challtestsrv is not installed");
	snprintf(va_dir, sizeof(va_dir), "/tmp/kakuin-va-XXXXXX");
	cr_assert_not_null(mkdtemp(va_dir));
	snprintf(dns, sizeof(dns), "127.0.0.1:%d", dport);
	snprintf(mgmt, sizeof(mgmt), "127.0.0.1:%d", mport);
	snprintf(va_resolver, sizeof(va_resolver), "127.0.0.1:%d", dport);
	snprintf(http, sizeof(http), "%d", hport);
	snprintf(va_http, sizeof(va_http), "%d", hport);
	snprintf(script, sizeof(script), "%s/responder.py", va_dir);
	snprintf(jwk, sizeof(jwk), "%s/jwk.json", va_dir);
	hwrite(script, responder, strlen(responder));
	{
		const char *c[] = {"pebble-challtestsrv", "-defaultIPv4",
		    "127.0.0.1", "-defaultIPv6", "", "-dns01", dns,
		    "-management", mgmt, "-http01", "", "-https01", "",
		    "-tlsalpn01", "", NULL};
		const char *r[] = {"python3", script, http, jwk, NULL};

		va_pids[0] = run(c);
		va_pids[1] = run(r);
	}
	hwait_port(mport);
	hwait_port(hport);
	hsrv_start_args(&srv, NULL, va_args);
	op = hsrv_token(&srv, "domains-op", "operator");
}

static void
teardown_va(void)
{
	teardown();
	for (size_t i = 0; i < 2; i++)
		if (va_pids[i] > 0) {
			kill(va_pids[i], SIGTERM);
			waitpid(va_pids[i], NULL, 0);
			va_pids[i] = 0;
		}
	if (va_dir[0] != '\0')
		hsh("rm -rf '%s'", va_dir);
}

TestSuite(preauth_va, .init = setup_va, .fini = teardown_va, .timeout = 60);

Test(preauth_va, dns_authz_is_validated_over_http01_then_reused)
{
	struct hacct a = {0}, b = {0};
	struct hresp r, q;
	char *order, *authz, *chall = NULL, jwk[128], *text, *url;
	const cJSON *ch;
	cJSON *hdr;

	order = henroll_verified(&srv, &a, ORG);
	/* The responder answers for this account's key. */
	hdr = hheader("ES256", NULL, a.key, NULL, NULL);
	text = cJSON_PrintUnformatted(cJSON_GetObjectItem(hdr, "jwk"));
	snprintf(jwk, sizeof(jwk), "%s/jwk.json", va_dir);
	hwrite(jwk, text, strlen(text));
	cJSON_free(text);
	cJSON_Delete(hdr);

	new_authz(&a, "dns", "va.example.com", &r);
	assert_pending_dns(&r, "va.example.com");
	authz = strdup(r.location);
	cJSON_ArrayForEach(ch,
	    cJSON_GetObjectItem(r.json,
	        "challenges")) if (strcmp(hjstr(ch, "type"), "http-01") == 0)
	    chall = strdup(hjstr(ch, "url"));
	cr_assert_not_null(chall);
	hresp_clear(&r);
	/* Another account of the same organization may neither read nor
	 * answer it: refused before any validation, which would otherwise
	 * fail (its key is not the responder's) and spoil the challenge. */
	hnew_bound_account(&srv, op, ORG, &b);
	hpost(&srv, &b, chall, "{}", &r);
	cr_assert_eq(r.status, 403, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "type"),
	    "urn:ietf:params:acme:error:unauthorized", "%s", r.body);
	hresp_clear(&r);
	hpost(&srv, &b, authz, NULL, &r);
	cr_assert_eq(r.status, 403, "%ld %s", r.status, r.body);
	hresp_clear(&r);
	/* Validated during the request; no order to move on. */
	hpost(&srv, &a, chall, "{}", &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid", "%s", r.body);
	hresp_clear(&r);
	hpost(&srv, &a, authz, NULL, &r);
	cr_assert_str_eq(hjstr(r.json, "status"), "valid", "%s", r.body);
	hresp_clear(&r);

	/* The account's next order for the name reuses it: ready at once,
	 * its authorization valid with the proving challenge. */
	url = hurl(&srv, "newOrder");
	hpost(&srv, &a, url,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"va.example.com\"}]"
	    "}",
	    &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	cr_assert_str_eq(hjstr(r.json, "status"), "ready", "%s", r.body);
	hpost(&srv, &a,
	    cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "authorizations"), 0)
	        ->valuestring,
	    NULL, &q);
	cr_assert_str_eq(hjstr(q.json, "status"), "valid", "%s", q.body);
	ch = cJSON_GetArrayItem(cJSON_GetObjectItem(q.json, "challenges"), 0);
	cr_assert_str_eq(hjstr(ch, "type"), "http-01", "%s", q.body);
	cr_assert_str_eq(hjstr(ch, "status"), "valid", "%s", q.body);
	hresp_clear(&q);
	hresp_clear(&r);
	free(url);
	free(chall);
	free(authz);
	free(order);
	hacct_clear(&a);
	hacct_clear(&b);
}
