/*
 * The registration authority runs a transaction that lost a race with
 * another replica's again, rather than fail the request: another store
 * handle on the same PostgreSQL database (a second replica) holds a lock
 * the authority's transaction needs, and commits once that transaction
 * waits for it. PostgreSQL then fails the waiting transaction to
 * serialize (KK_ERACE); the entry point must succeed all the same. With
 * SQLite (one writer per file, no such failure) there is nothing to test.
 */
#include <pthread.h>
#include <time.h>

#include "../store/store_fixture.h"
#include "notify_conf.h"
#include "policy.h"
#include "ra.h"
#include "ra_notify.h"
#include "ra_registry.h"

#define ORG "NTRJP-9234567890123"

static struct fixture fx;
static struct policy *pol;
static struct ra ra;
static struct notify_conf conf;
static time_t now;

static void
setup(void)
{
	char *err = NULL;

	now = time(NULL);
	fixture_setup(&fx);
	cr_assert_eq(
	    policy_load(KAKUIN_SOURCE_DIR "/policy/default.json", &pol, &err),
	    KK_OK, "%s", err);
	/* Neither transaction under test signs or revokes: no CA, no CRL. */
	cr_assert_eq(
	    ra_init(&ra, fx.st, NULL, pol, NULL, "http://x/crl/i.crl"), KK_OK);
	/* One target, never reached: the outbox is only written. */
	memset(&conf, 0, sizeof(conf));
	conf.relay = "smtp://127.0.0.1:9";
	ra.notify = &conf;
}

static void
teardown(void)
{
	ra_clear(&ra);
	policy_free(pol);
	fixture_teardown(&fx);
}

TestSuite(ra_race, .init = setup, .fini = teardown, .timeout = 60);

/* The entry point under test, run in a thread of its own. */
struct attempt {
	enum kk_status (*run)(struct attempt *);
	const char *id;
	enum kk_status rc;
	int sent;
	int finished; /* guarded by lock */
	pthread_mutex_t lock;
};

static void *
run_attempt(void *arg)
{
	struct attempt *at = arg;
	enum kk_status rc = at->run(at);

	pthread_mutex_lock(&at->lock);
	at->rc = rc;
	at->finished = 1;
	pthread_mutex_unlock(&at->lock);
	return NULL;
}

static int
finished(struct attempt *at)
{
	int f;

	pthread_mutex_lock(&at->lock);
	f = at->finished;
	pthread_mutex_unlock(&at->lock);
	return f;
}

/*
 * Runs at while other's open transaction holds what it needs: waits until
 * at's transaction waits for a lock, then commits other's, and returns
 * at's outcome.
 */
static enum kk_status
race(struct attempt *at, struct store *other)
{
	struct timespec pause = {0, 20L * 1000000L};
	pthread_t t;
	int waited = 0;

	pthread_mutex_init(&at->lock, NULL);
	cr_assert_eq(pthread_create(&t, NULL, run_attempt, at), 0);
	for (int i = 0; i < 500 && !waited && !finished(at); i++) {
		waited =
		    fixture_raw_int(&fx, "SELECT count(*) FROM pg_stat_activity"
		                         " WHERE datname = current_database()"
		                         " AND wait_event_type = 'Lock'");
		if (!waited)
			nanosleep(&pause, NULL);
	}
	cr_assert_eq(store_commit(other), KK_OK);
	cr_assert_eq(pthread_join(t, NULL), 0);
	pthread_mutex_destroy(&at->lock);
	cr_assert(waited, "the transaction never waited for the other one");
	return at->rc;
}

/* A verification queued for ORG by a client, through the authority. */
static char *
queued(void)
{
	struct account a = {.id = "acct1",
	    .status = ACME_STATUS_VALID,
	    .jwk = "{}",
	    .thumbprint = "thumb1",
	    .contacts = "[]",
	    .created_at = now};
	struct authz z = {.id = "authz1",
	    .account_id = "acct1",
	    .id_type = "org",
	    .id_value = ORG,
	    .status = ACME_STATUS_PENDING,
	    .expires = now + 3600,
	    .created_at = now};
	struct challenge c = {.id = "chall1",
	    .authz_id = "authz1",
	    .type = "oob-01",
	    .status = ACME_STATUS_PENDING,
	    .token = "tok1"};
	struct order o = {.id = "order1",
	    .account_id = "acct1",
	    .status = ACME_STATUS_PENDING,
	    .org = ORG,
	    .authz_id = "authz1",
	    .profile = pol->profiles[0].name,
	    .created_at = now,
	    .expires = now + 3600};
	struct challenge *got = NULL;
	struct verification **vs = NULL;
	size_t n = 0;
	char *id;

	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	cr_assert_eq(store_authz_insert(fx.st, &z), KK_OK);
	cr_assert_eq(store_challenge_insert(fx.st, &c), KK_OK);
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	cr_assert_eq(
	    ra_challenge_respond(&ra, "acct1", "chall1", now, &got), KK_OK);
	challenge_free(got);
	cr_assert_eq(store_verification_list(
	                 fx.st, ACME_STATUS_PROCESSING, NULL, NULL, &vs, &n),
	    KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_not_null(id = strdup(vs[0]->id));
	verification_free(vs[0]);
	free(vs);
	return id;
}

static enum kk_status
approve(struct attempt *at)
{
	struct approval ap = {.operator_name = "op1",
	    .method = "phone",
	    .legal_name = "Example K.K.",
	    .country = "JP",
	    .evidence = "called the representative number",
	    .at = now};
	struct verification *v = NULL;
	const char *why = NULL;
	enum kk_status rc;

	rc = ra_verification_approve_override(&ra, "op1", at->id, &ap, NULL,
	    "the registry lags behind", now, &v, &why);
	if (rc == KK_OK && v->status != ACME_STATUS_VALID)
		rc = KK_EIO;
	verification_free(v);
	return rc;
}

Test(ra_race, approval_that_loses_a_race_runs_again)
{
	struct attempt at = {.run = approve};
	struct verification *v = NULL;
	struct store *other = NULL;
	struct order *o = NULL;
	char *id;

	fixture_only_pg(&fx, "replicas share a PostgreSQL database");
	at.id = id = queued();
	/* Another replica touches the verification, as an approval
	 * there would, and holds it until the approval here waits. */
	cr_assert_eq(store_open(fx.url, &other), KK_OK);
	cr_assert_eq(store_begin(other), KK_OK);
	cr_assert_eq(store_verification_get(other, id, &v), KK_OK);
	cr_assert_eq(store_verification_update(other, v), KK_OK);
	verification_free(v);
	cr_assert_eq(
	    race(&at, other), KK_OK, "approval: %s", kk_strerror(at.rc));
	store_close(other);
	/* Approved once: one approval, one audit event, one notice. */
	cr_assert_eq(store_order_get(fx.st, "order1", &o), KK_OK);
	cr_assert_eq(o->status, ACME_STATUS_READY);
	order_free(o);
	cr_assert_eq(fixture_raw_int(&fx, "SELECT count(*) FROM approvals"), 1);
	cr_assert_eq(
	    fixture_raw_int(&fx, "SELECT count(*) FROM audit"
	                         " WHERE action = 'verification.approve'"),
	    1);
	cr_assert_eq(
	    fixture_raw_int(&fx, "SELECT count(*) FROM outbox"
	                         " WHERE event = 'verification.approved'"),
	    1);
	free(id);
}

static enum kk_status
remind(struct attempt *at)
{
	return ra_remind(&ra, now, &at->sent);
}

Test(ra_race, reminder_round_that_loses_a_race_runs_again)
{
	struct org g = {.id = ORG,
	    .legal_name = "Example K.K.",
	    .country = "JP",
	    .method = "phone",
	    .verified_at = now,
	    .expires = now + 20L * 86400};
	struct attempt at = {.run = remind, .sent = -1};
	struct store *other = NULL;
	int fresh = 0;

	fixture_only_pg(&fx, "replicas share a PostgreSQL database");
	cr_assert_eq(store_org_put(fx.st, &g), KK_OK);
	/* Another replica's round marks the 30-day reminder first. */
	cr_assert_eq(store_open(fx.url, &other), KK_OK);
	cr_assert_eq(store_begin(other), KK_OK);
	cr_assert_eq(
	    store_reminder_mark(other, ORG, 30, g.expires, &fresh), KK_OK);
	cr_assert_eq(fresh, 1);
	cr_assert_eq(
	    race(&at, other), KK_OK, "reminders: %s", kk_strerror(at.rc));
	store_close(other);
	/* That replica sends it (its outbox item is its own business);
	 * this one, having read the mark anew, sends none. */
	cr_assert_eq(at.sent, 0);
	cr_assert_eq(fixture_raw_int(&fx, "SELECT count(*) FROM outbox"), 0);
	cr_assert_eq(
	    fixture_raw_int(&fx, "SELECT count(*) FROM audit"
	                         " WHERE action = 'org.expiry_reminder'"),
	    0);
}
