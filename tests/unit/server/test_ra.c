/*
 * The registration authority's rules, one at a time, on records put
 * straight into a real store: issuance re-checks the account, the order,
 * its authorization and the organization; suspension withdraws ready
 * orders, valid authorizations and (on request) certificates; revocation
 * audits the RFC 5280 reason name whoever asks.
 */
#include <time.h>

#include <openssl/evp.h>

#include "../ca/ca_test.h"
#include "acme_status.h"
#include "crl.h"
#include "json.h"
#include "policy.h"
#include "ra.h"
#include "ra_attach.h"
#include "store.h"

#define ORG "NTRJP-7000012050002"

static char dir[64];
static struct store *st;
static struct ca *ca;
static struct policy *pol;
static struct crl *crl;
static struct ra ra;
static EVP_PKEY *leaf_key;
static time_t now;

/* A bound account with a ready order for a verified organization. */
static void
records(void)
{
	struct account a = {.id = "acct1",
	    .status = ACME_STATUS_VALID,
	    .jwk = "{}",
	    .thumbprint = "thumb1",
	    .contacts = "[]",
	    .org = ORG,
	    .created_at = now};
	struct authz z = {.id = "authz1",
	    .account_id = "acct1",
	    .id_type = "org",
	    .id_value = ORG,
	    .status = ACME_STATUS_VALID,
	    .expires = now + 3600,
	    .created_at = now};
	struct challenge c = {.id = "chall1",
	    .authz_id = "authz1",
	    .type = "oob-01",
	    .status = ACME_STATUS_VALID,
	    .token = "tok1",
	    .validated = now};
	struct order o = {.id = "order1",
	    .account_id = "acct1",
	    .status = ACME_STATUS_READY,
	    .org = ORG,
	    .authz_id = "authz1",
	    .profile = pol->profiles[0].name,
	    .created_at = now,
	    .expires = now + 3600};
	struct org g = {.id = ORG,
	    .legal_name = "Kansai Grid K.K.",
	    .country = "JP",
	    .method = "phone",
	    .verified_at = now,
	    .expires = now + 86400};

	cr_assert_eq(store_account_insert(st, &a), KK_OK);
	cr_assert_eq(store_authz_insert(st, &z), KK_OK);
	cr_assert_eq(store_challenge_insert(st, &c), KK_OK);
	cr_assert_eq(store_order_insert(st, &o), KK_OK);
	cr_assert_eq(store_org_put(st, &g), KK_OK);
}

static void
setup(void)
{
	char data[TPATH], path[TPATH], url[TPATH + 16], *err = NULL;
	EVP_PKEY_CTX *kc;

	now = time(NULL);
	tdir_make(dir, sizeof(dir));
	tdatadir(dir, data, NULL);
	cr_assert_eq(ca_load(data, &ca), KK_OK);
	cr_assert_eq(
	    policy_load(KAKUIN_SOURCE_DIR "/policy/default.json", &pol, &err),
	    KK_OK, "%s", err);
	tjoin(path, dir, "ra.db");
	snprintf(url, sizeof(url), "sqlite:%s", path);
	cr_assert_eq(store_open(url, &st), KK_OK);
	cr_assert_eq(crl_new(st, ca, &crl), KK_OK);
	cr_assert_eq(
	    ra_init(&ra, st, ca, pol, crl, "http://x/crl/i.crl"), KK_OK);
	cr_assert_not_null(kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL));
	cr_assert_eq(EVP_PKEY_keygen_init(kc), 1);
	cr_assert_eq(
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1),
	    1);
	cr_assert_eq(EVP_PKEY_keygen(kc, &leaf_key), 1);
	EVP_PKEY_CTX_free(kc);
	records();
}

static void
teardown(void)
{
	ra_clear(&ra);
	crl_free(crl);
	store_close(st);
	policy_free(pol);
	ca_free(ca);
	EVP_PKEY_free(leaf_key);
	leaf_key = NULL;
	tdir_remove(dir);
}

TestSuite(ra, .init = setup, .fini = teardown, .timeout = 60);

static enum kk_status
finalize(const char **why)
{
	struct order *o = NULL;
	enum kk_status rc;

	*why = NULL;
	rc = ra_order_finalize(
	    &ra, "acct1", "order1", leaf_key, "host1", now, &o, why);
	if (rc == KK_OK) {
		cr_assert_eq(o->status, ACME_STATUS_VALID);
		cr_assert_not_null(o->cert_serial);
	} else
		cr_assert_null(o);
	order_free(o);
	return rc;
}

/* The order is still what it was and no certificate was issued. */
static void
assert_not_issued(enum acme_status order_status)
{
	struct order *o = NULL;
	struct cert **cs = NULL;
	size_t n = 0;

	cr_assert_eq(store_order_get(st, "order1", &o), KK_OK);
	cr_assert_eq(o->status, order_status);
	cr_assert_null(o->cert_serial);
	order_free(o);
	cr_assert_eq(
	    store_cert_list(st, ORG, ACME_STATUS_NONE, NULL, &cs, &n), KK_OK);
	cr_assert_eq(n, 0, "a certificate was issued");
	free(cs);
}

/* The detail of the last audit event with action, as JSON; caller frees. */
static cJSON *
last_audit(const char *action, char **actor)
{
	struct audit_event **es = NULL;
	size_t n = 0;
	cJSON *d = NULL;

	cr_assert_eq(store_audit_list(st, 0, NULL, &es, &n), KK_OK);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(es[i]->action, action) == 0) {
			cJSON_Delete(d);
			d = NULL;
			if (es[i]->detail != NULL)
				cr_assert_eq(json_parse(es[i]->detail,
				                 strlen(es[i]->detail), &d),
				    KK_OK);
			if (actor != NULL) {
				free(*actor);
				*actor = strdup(es[i]->actor);
			}
		}
		audit_event_free(es[i]);
	}
	free(es);
	cr_assert_not_null(d, "no %s event", action);
	return d;
}

Test(ra, issues_when_every_rule_holds)
{
	const char *why;
	cJSON *d;

	cr_assert_eq(finalize(&why), KK_OK, "%s", why ? why : "");
	d = last_audit("cert.issue", NULL);
	cr_assert_str_eq(json_get_string(d, "order"), "order1");
	cJSON_Delete(d);
	/* Once valid, the order cannot issue again. */
	cr_assert_eq(finalize(&why), KK_ECONFLICT);
}

Test(ra, suspended_org_does_not_issue)
{
	struct ra_suspension done;
	const char *why;

	cr_assert_eq(ra_org_suspend(&ra, "op1", ORG, "approved by mistake", 0,
	                 now, NULL, &done),
	    KK_OK);
	cr_assert_eq(finalize(&why), KK_ECONFLICT);
	assert_not_issued(ACME_STATUS_INVALID);
}

Test(ra, expired_verification_does_not_issue)
{
	struct org *g = NULL;
	const char *why;

	cr_assert_eq(store_org_get(st, ORG, &g), KK_OK);
	g->expires = now;
	cr_assert_eq(store_org_put(st, g), KK_OK);
	org_free(g);
	cr_assert_eq(finalize(&why), KK_ECONFLICT);
	cr_assert_not_null(strstr(why, "organization"), "%s", why);
	assert_not_issued(ACME_STATUS_READY);
}

Test(ra, unbound_account_does_not_issue)
{
	struct account *a = NULL;
	const char *why;

	cr_assert_eq(store_account_get(st, "acct1", &a), KK_OK);
	free(a->org);
	a->org = NULL;
	cr_assert_eq(store_account_update(st, a), KK_OK);
	account_free(a);
	cr_assert_eq(finalize(&why), KK_ECONFLICT);
	cr_assert_not_null(strstr(why, "bound"), "%s", why);
	assert_not_issued(ACME_STATUS_READY);
}

Test(ra, own_approved_verification_binds_for_that_order)
{
	struct account *a = NULL;
	struct verification v = {.id = "ver1",
	    .org = ORG,
	    .account_id = "acct1",
	    .authz_id = "authz1",
	    .challenge_id = "chall1",
	    .status = ACME_STATUS_VALID,
	    .requested_at = now,
	    .decided_at = now};
	const char *why;

	/* Bound to another organization, verified for this one. */
	cr_assert_eq(store_account_get(st, "acct1", &a), KK_OK);
	free(a->org);
	cr_assert_not_null(a->org = strdup("NTRJP-9234567890123"));
	cr_assert_eq(store_account_update(st, a), KK_OK);
	account_free(a);
	cr_assert_eq(store_verification_insert(st, &v), KK_OK);
	cr_assert_eq(finalize(&why), KK_OK, "%s", why ? why : "");
}

Test(ra, deactivated_account_does_not_issue)
{
	struct account *a = NULL;
	const char *why;

	cr_assert_eq(store_account_get(st, "acct1", &a), KK_OK);
	a->status = ACME_STATUS_DEACTIVATED;
	cr_assert_eq(store_account_update(st, a), KK_OK);
	account_free(a);
	cr_assert_eq(finalize(&why), KK_ECONFLICT);
	assert_not_issued(ACME_STATUS_READY);
}

Test(ra, invalid_or_expired_authz_does_not_issue)
{
	struct authz *z = NULL;
	const char *why;

	cr_assert_eq(store_authz_get(st, "authz1", &z), KK_OK);
	z->status = ACME_STATUS_INVALID;
	cr_assert_eq(store_authz_update(st, z), KK_OK);
	cr_assert_eq(finalize(&why), KK_ECONFLICT);
	assert_not_issued(ACME_STATUS_READY);

	z->status = ACME_STATUS_VALID;
	z->expires = now;
	cr_assert_eq(store_authz_update(st, z), KK_OK);
	authz_free(z);
	cr_assert_eq(finalize(&why), KK_ECONFLICT);
	assert_not_issued(ACME_STATUS_READY);
}

Test(ra, suspension_withdraws_orders_authzs_and_certificates)
{
	struct ra_suspension done;
	struct authz *z = NULL;
	struct order *o = NULL;
	struct cert **cs = NULL;
	struct org *g = NULL;
	size_t n = 0;
	const char *why;
	char *actor = NULL;
	cJSON *d;

	/* One certificate out, then a second ready order. */
	cr_assert_eq(finalize(&why), KK_OK);
	cr_assert_eq(store_order_get(st, "order1", &o), KK_OK);
	free(o->id);
	cr_assert_not_null(o->id = strdup("order2"));
	o->status = ACME_STATUS_READY;
	free(o->cert_serial);
	o->cert_serial = NULL;
	cr_assert_eq(store_order_insert(st, o), KK_OK);
	order_free(o);

	cr_assert_eq(ra_org_suspend(
	                 &ra, "op1", ORG, "left the market", 1, now, &g, &done),
	    KK_OK);
	cr_assert_leq(g->expires, now);
	org_free(g);
	cr_assert_eq(done.orders, 1);
	cr_assert_eq(done.authzs, 1);
	cr_assert_eq(done.certs, 1);
	cr_assert_eq(store_order_get(st, "order2", &o), KK_OK);
	cr_assert_eq(o->status, ACME_STATUS_INVALID);
	cr_assert_not_null(o->error);
	order_free(o);
	cr_assert_eq(store_order_get(st, "order1", &o), KK_OK);
	cr_assert_eq(
	    o->status, ACME_STATUS_VALID, "a valid order keeps its state");
	order_free(o);
	cr_assert_eq(store_authz_get(st, "authz1", &z), KK_OK);
	cr_assert_eq(z->status, ACME_STATUS_REVOKED);
	authz_free(z);
	cr_assert_eq(
	    store_cert_list(st, ORG, ACME_STATUS_REVOKED, NULL, &cs, &n),
	    KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(cs[0]->reason, ACME_CRL_PRIVILEGE_WITHDRAWN);
	cert_free(cs[0]);
	free(cs);
	d = last_audit("cert.revoke", &actor);
	cr_assert_str_eq(json_get_string(d, "reason"), "privilegeWithdrawn");
	cr_assert_str_eq(actor, "op1");
	cJSON_Delete(d);
	d = last_audit("org.suspend", &actor);
	cr_assert_str_eq(json_get_string(d, "reason"), "left the market");
	cJSON_Delete(d);
	free(actor);
}

Test(ra, suspension_without_revocation_keeps_certificates)
{
	struct ra_suspension done;
	struct cert **cs = NULL;
	size_t n = 0;
	const char *why;

	cr_assert_eq(finalize(&why), KK_OK);
	cr_assert_eq(
	    ra_org_suspend(&ra, "op1", ORG, "check again", 0, now, NULL, &done),
	    KK_OK);
	cr_assert_eq(done.certs, 0);
	cr_assert_eq(
	    store_cert_list(st, ORG, ACME_STATUS_VALID, NULL, &cs, &n), KK_OK);
	cr_assert_eq(n, 1);
	cert_free(cs[0]);
	free(cs);
	cr_assert_eq(ra_org_suspend(&ra, "op1", "NTRJP-0000000000000", "x", 0,
	                 now, NULL, NULL),
	    KK_ENOTFOUND);
}

Test(ra, revocation_audits_the_reason_name_once)
{
	struct order *o = NULL;
	const char *why;
	char *actor = NULL;
	cJSON *d;

	cr_assert_eq(finalize(&why), KK_OK);
	cr_assert_eq(store_order_get(st, "order1", &o), KK_OK);
	cr_assert_eq(ra_cert_revoke(&ra, "acme:acct1", o->cert_serial,
	                 ACME_CRL_KEY_COMPROMISE, now, &why),
	    KK_OK);
	d = last_audit("cert.revoke", &actor);
	cr_assert_str_eq(json_get_string(d, "reason"), "keyCompromise");
	cr_assert_str_eq(actor, "acme:acct1");
	cJSON_Delete(d);
	cr_assert_eq(ra_cert_revoke(&ra, "op1", o->cert_serial,
	                 ACME_CRL_SUPERSEDED, now, &why),
	    KK_ECONFLICT);
	cr_assert_not_null(why);
	cr_assert_eq(
	    ra_cert_revoke(&ra, "op1", "00", 0, now, &why), KK_ENOTFOUND);
	order_free(o);
	free(actor);
}

/* An unbound account's pending order whose oob-01 waits for operators. */
static void
queued(void)
{
	struct account a = {.id = "acct2",
	    .status = ACME_STATUS_VALID,
	    .jwk = "{}",
	    .thumbprint = "thumb2",
	    .contacts = "[]",
	    .created_at = now};
	struct authz z = {.id = "authz2",
	    .account_id = "acct2",
	    .id_type = "org",
	    .id_value = "NTRJP-9234567890123",
	    .status = ACME_STATUS_PENDING,
	    .expires = now + 3600,
	    .created_at = now};
	struct challenge c = {.id = "chall2",
	    .authz_id = "authz2",
	    .type = "oob-01",
	    .status = ACME_STATUS_PENDING,
	    .token = "tok2"};
	struct order o = {.id = "order2",
	    .account_id = "acct2",
	    .status = ACME_STATUS_PENDING,
	    .org = "NTRJP-9234567890123",
	    .authz_id = "authz2",
	    .profile = pol->profiles[0].name,
	    .created_at = now,
	    .expires = now + 3600};
	struct challenge *got = NULL;

	cr_assert_eq(store_account_insert(st, &a), KK_OK);
	cr_assert_eq(store_authz_insert(st, &z), KK_OK);
	cr_assert_eq(store_challenge_insert(st, &c), KK_OK);
	cr_assert_eq(store_order_insert(st, &o), KK_OK);
	cr_assert_eq(
	    ra_challenge_respond(&ra, "acct2", "chall2", now, &got), KK_OK);
	cr_assert_eq(got->status, ACME_STATUS_PROCESSING);
	challenge_free(got);
	/* A second POST queues nothing more. */
	cr_assert_eq(
	    ra_challenge_respond(&ra, "acct2", "chall2", now, &got), KK_OK);
	challenge_free(got);
}

/* The id of the one verification in the queue. */
static char *
queued_id(void)
{
	struct verification **vs = NULL;
	size_t n = 0;
	char *id;

	cr_assert_eq(store_verification_list(
	                 st, ACME_STATUS_PROCESSING, NULL, NULL, &vs, &n),
	    KK_OK);
	cr_assert_eq(n, 1, "%zu verifications queued", n);
	id = strdup(vs[0]->id);
	verification_free(vs[0]);
	free(vs);
	return id;
}

static struct approval
approval(const char *op, const char *legal_name)
{
	struct approval ap = {.operator_name = (char *)op,
	    .method = "phone",
	    .legal_name = (char *)legal_name,
	    .country = "JP",
	    .evidence = "called the representative number",
	    .at = now};

	return ap;
}

Test(ra, approval_completes_binds_and_readies_the_order)
{
	struct approval ap = approval("op1", "Example K.K.");
	struct verification *v = NULL;
	struct account *a = NULL;
	struct order *o = NULL;
	struct org *g = NULL;
	const char *why = NULL;
	char *id;

	queued();
	id = queued_id();
	cr_assert_eq(
	    ra_verification_approve(&ra, "op1", id, &ap, now, &v, &why), KK_OK,
	    "%s", why ? why : "");
	cr_assert_eq(v->status, ACME_STATUS_VALID);
	verification_free(v);
	cr_assert_eq(store_order_get(st, "order2", &o), KK_OK);
	cr_assert_eq(o->status, ACME_STATUS_READY);
	order_free(o);
	cr_assert_eq(store_account_get(st, "acct2", &a), KK_OK);
	cr_assert_str_eq(a->org, "NTRJP-9234567890123");
	account_free(a);
	cr_assert_eq(store_org_get(st, "NTRJP-9234567890123", &g), KK_OK);
	cr_assert_str_eq(g->legal_name, "Example K.K.");
	cr_assert_gt(g->expires, now);
	org_free(g);
	/* Decided: a second approval is refused. */
	cr_assert_eq(
	    ra_verification_approve(&ra, "op2", id, &ap, now, &v, &why),
	    KK_ECONFLICT);
	free(id);
}

Test(ra, withdrawn_request_is_closed_not_approved)
{
	struct approval ap = approval("op1", "Example K.K.");
	struct verification *v = NULL;
	struct authz *z = NULL;
	struct order *o = NULL;
	struct org *g = NULL;
	const char *why = NULL;
	char *id;

	queued();
	id = queued_id();
	cr_assert_eq(
	    ra_authz_deactivate(&ra, "acct2", "authz2", now, &z, &why), KK_OK);
	cr_assert_eq(z->status, ACME_STATUS_DEACTIVATED);
	authz_free(z);
	cr_assert_eq(store_order_get(st, "order2", &o), KK_OK);
	cr_assert_eq(o->status, ACME_STATUS_INVALID);
	order_free(o);
	/* Deactivation took it out of the queue already. */
	cr_assert_eq(store_verification_get(st, id, &v), KK_OK);
	cr_assert_eq(v->status, ACME_STATUS_INVALID);
	verification_free(v);
	v = NULL;
	cr_assert_eq(
	    ra_verification_approve(&ra, "op1", id, &ap, now, &v, &why),
	    KK_ECONFLICT);
	cr_assert_null(v);
	cr_assert_eq(
	    store_org_get(st, "NTRJP-9234567890123", &g), KK_ENOTFOUND);
	/* Another account cannot deactivate it, nor twice. */
	cr_assert_eq(ra_authz_deactivate(&ra, "acct1", "authz2", now, &z, &why),
	    KK_ECONFLICT);
	cr_assert_eq(ra_authz_deactivate(&ra, "acct2", "authz2", now, &z, &why),
	    KK_ECONFLICT);
	free(id);
}

Test(ra, dual_control_needs_a_second_agreeing_operator)
{
	struct approval a1 = approval("op1", "Example K.K."),
	                again = approval("op1", "Example K.K."),
	                other = approval("op2", "Other K.K."),
	                a2 = approval("op2", "Example K.K.");
	struct verification *v = NULL;
	const char *why = NULL;
	char *id;

	pol->approvals_required = 2;
	queued();
	id = queued_id();
	cr_assert_eq(
	    ra_verification_approve(&ra, "op1", id, &a1, now, &v, &why), KK_OK);
	cr_assert_eq(v->status, ACME_STATUS_PROCESSING);
	verification_free(v);
	v = NULL;
	cr_assert_eq(
	    ra_verification_approve(&ra, "op1", id, &again, now, &v, &why),
	    KK_EEXIST);
	cr_assert_eq(
	    ra_verification_approve(&ra, "op2", id, &other, now, &v, &why),
	    KK_EINVAL);
	cr_assert_eq(
	    ra_verification_approve(&ra, "op2", id, &a2, now, &v, &why), KK_OK);
	cr_assert_eq(v->status, ACME_STATUS_VALID);
	cr_assert_eq(v->n_approvals, 2);
	verification_free(v);
	free(id);
}

Test(ra, rejection_ends_challenge_authz_and_order)
{
	struct verification *v = NULL;
	struct challenge *c = NULL;
	struct order *o = NULL;
	const char *why = NULL;
	char *id;

	queued();
	id = queued_id();
	cr_assert_eq(ra_verification_reject(
	                 &ra, "op1", id, "unknown company", now, &v, &why),
	    KK_OK);
	cr_assert_eq(v->status, ACME_STATUS_INVALID);
	verification_free(v);
	cr_assert_eq(store_challenge_get(st, "chall2", &c), KK_OK);
	cr_assert_eq(c->status, ACME_STATUS_INVALID);
	cr_assert_not_null(strstr(c->error, "unknown company"));
	challenge_free(c);
	cr_assert_eq(store_order_get(st, "order2", &o), KK_OK);
	cr_assert_eq(o->status, ACME_STATUS_INVALID);
	order_free(o);
	cr_assert_eq(ra_verification_reject(&ra, "op1", id, "x", now, &v, &why),
	    KK_ECONFLICT);
	free(id);
}

Test(ra, new_order_is_ready_only_for_a_bound_account)
{
	struct order *o = NULL;
	const char *why = NULL;

	cr_assert_eq(
	    ra_order_new(&ra, "acct1", ORG, "client", now, &o, &why), KK_OK);
	cr_assert_eq(o->status, ACME_STATUS_READY);
	order_free(o);
	/* Suspended: the next order needs an operator again. */
	cr_assert_eq(
	    ra_org_suspend(&ra, "op1", ORG, "check", 0, now, NULL, NULL),
	    KK_OK);
	cr_assert_eq(
	    ra_order_new(&ra, "acct1", ORG, "client", now, &o, &why), KK_OK);
	cr_assert_eq(o->status, ACME_STATUS_PENDING);
	order_free(o);
}

Test(ra, approval_closes_the_request_of_a_deactivated_account)
{
	struct approval ap = approval("op1", "Example K.K.");
	struct verification *v = NULL;
	struct account *a = NULL;
	const char *why = NULL;
	char *id;

	queued();
	id = queued_id();
	cr_assert_eq(
	    ra_account_update(&ra, "acct2", NULL, 1, now, &a, &why), KK_OK);
	cr_assert_eq(a->status, ACME_STATUS_DEACTIVATED);
	account_free(a);
	cr_assert_eq(
	    ra_verification_approve(&ra, "op1", id, &ap, now, &v, &why),
	    KK_ECONFLICT);
	cr_assert_not_null(strstr(why, "deactivated"), "%s", why);
	/* Closed, so that it leaves the queue. */
	cr_assert_eq(store_verification_get(st, id, &v), KK_OK);
	cr_assert_eq(v->status, ACME_STATUS_INVALID);
	cr_assert_not_null(v->reason);
	verification_free(v);
	free(id);
}

/*
 * An expiry sweep is a state change like any other: one audit event
 * saying how many records it changed, none when nothing was due.
 */
Test(ra, expiry_sweep_is_audited_once)
{
	struct audit_event **es = NULL;
	struct order *o = NULL;
	size_t n = 0, sweeps = 0;
	int changed = -1;
	cJSON *d;

	cr_assert_eq(ra_expire(&ra, now, &changed), KK_OK);
	cr_assert_eq(changed, 0);
	cr_assert_eq(store_audit_list(st, 0, NULL, &es, &n), KK_OK);
	for (size_t i = 0; i < n; i++) {
		sweeps += strcmp(es[i]->action, "expiry.sweep") == 0;
		audit_event_free(es[i]);
	}
	free(es);
	cr_assert_eq(sweeps, 0, "a sweep that changed nothing was audited");

	/* Past the order's and the authorization's expiry. */
	cr_assert_eq(ra_expire(&ra, now + 7200, &changed), KK_OK);
	cr_assert_eq(changed, 2);
	cr_assert_eq(store_order_get(st, "order1", &o), KK_OK);
	cr_assert_eq(o->status, ACME_STATUS_INVALID);
	order_free(o);
	d = last_audit("expiry.sweep", NULL);
	cr_assert_eq(cJSON_GetObjectItem(d, "records")->valueint, 2);
	cJSON_Delete(d);
}

/* Attachments: what a type says must be what the bytes are; one copy per
 * document; at most 20; the audit names each; an approval may only name
 * documents of its own verification, and its event lists them. */
Test(ra, attachments_are_checked_kept_once_and_audited)
{
	static const unsigned char pdf[] = "%PDF-1.4 a registry extract";
	static const unsigned char png[] = "\x89PNG\r\n\x1a\n....";
	unsigned char page[64];
	struct approval ap = approval("op1", "Example K.K.");
	struct verification *v = NULL;
	struct attachment *a = NULL;
	const char *why = NULL, *shas[1];
	struct ra_docs docs = {shas, 1};
	char sha[65], hex[65], *id, *actor = NULL;
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	int created = -1;
	cJSON *d;

	queued();
	id = queued_id();
	cr_assert_eq(ra_attachment_add(&ra, "op1", id, "image/png", pdf,
	                 sizeof(pdf) - 1, now, &a, NULL, &why),
	    KK_ECONFLICT, "a PDF sent as a PNG");
	cr_assert_null(a);
	cr_assert_eq(ra_attachment_add(&ra, "op1", id, "application/pdf", pdf,
	                 0, now, &a, NULL, &why),
	    KK_ECONFLICT, "an empty document");
	cr_assert_eq(ra_attachment_add(&ra, "op1", "nope", "application/pdf",
	                 pdf, sizeof(pdf) - 1, now, &a, NULL, &why),
	    KK_ENOTFOUND);
	cr_assert_eq(ra_attachment_add(&ra, "op1", id, "application/pdf", pdf,
	                 sizeof(pdf) - 1, now, &a, &created, &why),
	    KK_OK, "%s", why ? why : "");
	cr_assert_eq(created, 1);
	cr_assert_null(a->data);
	cr_assert_eq(a->size, sizeof(pdf) - 1);
	cr_assert_eq(strlen(a->sha256), 64);
	strcpy(sha, a->sha256);
	attachment_free(a);
	a = NULL;
	/* The name is the content's SHA-256. */
	EVP_Digest(pdf, sizeof(pdf) - 1, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	cr_assert_str_eq(sha, hex);
	d = last_audit("verification.attach", &actor);
	cr_assert_str_eq(actor, "op1");
	cr_assert_str_eq(json_get_string(d, "sha256"), sha);
	cr_assert_str_eq(json_get_string(d, "content_type"), "application/pdf");
	cJSON_Delete(d);
	/* The same document again: nothing new. */
	cr_assert_eq(ra_attachment_add(&ra, "op2", id, "application/pdf", pdf,
	                 sizeof(pdf) - 1, now, &a, &created, &why),
	    KK_OK);
	cr_assert_eq(created, 0);
	cr_assert_str_eq(a->uploaded_by, "op1");
	attachment_free(a);
	a = NULL;
	/* 19 more fit, the 21st does not. */
	cr_assert_eq(ra_attachment_add(&ra, "op1", id, "image/png", png,
	                 sizeof(png) - 1, now, &a, NULL, &why),
	    KK_OK);
	attachment_free(a);
	a = NULL;
	memcpy(page, "%PDF-", 5);
	for (int i = 0; i < 19; i++) {
		memset(page + 5, 'a' + i, sizeof(page) - 5);
		cr_assert_eq(
		    ra_attachment_add(&ra, "op1", id, "application/pdf", page,
		        sizeof(page), now, &a, NULL, &why),
		    i < 18 ? KK_OK : KK_ECONFLICT, "document %d", i + 3);
		attachment_free(a);
		a = NULL;
	}
	/* An approval naming a document it does not have is refused... */
	shas[0] = "0000000000000000000000000000000000000000000000000000000000"
	          "000000";
	cr_assert_eq(ra_verification_approve_docs(
	                 &ra, "op1", id, &ap, &docs, now, &v, &why),
	    KK_ECONFLICT);
	cr_assert_null(v);
	/* ... one naming its own is audited with them. */
	shas[0] = sha;
	cr_assert_eq(ra_verification_approve_docs(
	                 &ra, "op1", id, &ap, &docs, now, &v, &why),
	    KK_OK, "%s", why ? why : "");
	cr_assert_eq(v->status, ACME_STATUS_VALID);
	verification_free(v);
	d = last_audit("verification.approve", NULL);
	cr_assert_str_eq(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(d, "attachments"), 0)
	        ->valuestring,
	    sha);
	cJSON_Delete(d);
	free(actor);
	free(id);
}
