/*
 * test_store_tx.c - transactions, threads, schema migrations and
 * durability of the store.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "store_fixture.h"

STORE_SUITE(store_tx);

static int
account_exists(struct store *st, const char *id)
{
	struct account *a = NULL;
	enum kk_status rc;

	rc = store_account_get(st, id, &a);
	cr_assert(rc == KK_OK || rc == KK_ENOTFOUND, "get %s: %s", id,
	    kk_strerror(rc));
	account_free(a);
	return rc == KK_OK;
}

Test(store_tx, rollback_discards)
{
	struct account a = mk_account("acc-1", "t1");

	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	cr_assert(account_exists(fx.st, "acc-1"), "visible in its own tx");
	store_rollback(fx.st);
	cr_assert_not(account_exists(fx.st, "acc-1"));
	fixture_reopen(&fx);
	cr_assert_not(account_exists(fx.st, "acc-1"));
}

Test(store_tx, commit_persists_across_reopen)
{
	struct account a = mk_account("acc-1", "t1");
	struct authz z = mk_authz("az-1", "acc-1"), *z_got = NULL;

	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	cr_assert_eq(store_authz_insert(fx.st, &z), KK_OK);
	cr_assert_eq(store_commit(fx.st), KK_OK);
	fixture_reopen(&fx);
	cr_assert(account_exists(fx.st, "acc-1"));
	cr_assert_eq(store_authz_get(fx.st, "az-1", &z_got), KK_OK);
	authz_free(z_got);
}

/* Nothing pending, or a commit that has returned: settling has nothing
 * to wait for and succeeds, on every backend. */
Test(store_tx, settle_after_commits)
{
	struct account a = mk_account("acc-1", "t1");

	cr_assert_eq(store_settle(fx.st), KK_OK);
	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	cr_assert_eq(store_commit(fx.st), KK_OK);
	cr_assert_eq(store_settle(fx.st), KK_OK);
	cr_assert(account_exists(fx.st, "acc-1"));
}

Test(store_tx, misuse_is_refused_and_harmless)
{
	struct account a = mk_account("acc-1", "t1");

	cr_assert_eq(store_commit(fx.st), KK_ECONFLICT);
	store_rollback(fx.st); /* nothing to roll back: no effect */
	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_begin(fx.st), KK_ECONFLICT, "no nesting");
	/* The first transaction is still open and still ours. */
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	cr_assert_eq(store_commit(fx.st), KK_OK);
	cr_assert_eq(store_commit(fx.st), KK_ECONFLICT);
	cr_assert(account_exists(fx.st, "acc-1"));
}

Test(store_tx, failed_call_leaves_transaction_usable)
{
	struct approval ap[2] = {
	    {"op", "phone", "X", "JP", "e", 1},
	    {"op", "phone", "X", "JP", "e", 2},
	};
	struct verification v = {0}, *got = NULL;
	struct account a = mk_account("acc-1", "t1");

	put_chain(fx.st, "1");
	cr_assert_eq(store_begin(fx.st), KK_OK);
	put_account(fx.st, "acc-2");
	cr_assert_eq(store_account_insert(fx.st, &a), KK_EEXIST);
	/* A multi-statement call that fails half way undoes only itself. */
	v.id = "ver-1";
	v.org = "NTRJP-9234567890123";
	v.account_id = "acc-1";
	v.authz_id = "az-1";
	v.challenge_id = "ch-1";
	v.status = ACME_STATUS_PROCESSING;
	v.requested_at = 1;
	v.approvals = ap;
	v.n_approvals = 2;
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_EEXIST);
	cr_assert_eq(
	    store_verification_get(fx.st, "ver-1", &got), KK_ENOTFOUND);
	put_account(fx.st, "acc-3");
	cr_assert_eq(store_commit(fx.st), KK_OK);
	fixture_reopen(&fx);
	cr_assert(account_exists(fx.st, "acc-2"));
	cr_assert(account_exists(fx.st, "acc-3"));
	cr_assert_eq(
	    store_verification_get(fx.st, "ver-1", &got), KK_ENOTFOUND);
}

Test(store_tx, references_checked_at_commit)
{
	struct order o = mk_order("ord-1", "acc-1", "az-1"), *got = NULL;

	/* Inside a transaction, an order may come before its authz. */
	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	put_account(fx.st, "acc-1");
	put_authz(fx.st, "az-1", "acc-1");
	cr_assert_eq(store_commit(fx.st), KK_OK);

	/* A reference still dangling at commit: nothing is kept, the
	 * transaction is over, and the store carries on. */
	o = mk_order("ord-2", "acc-1", "ghost");
	cr_assert_eq(store_begin(fx.st), KK_OK);
	put_account(fx.st, "acc-2");
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	cr_assert_eq(store_commit(fx.st), KK_ENOTFOUND);
	store_rollback(fx.st); /* what a careful caller does: harmless */
	cr_assert_eq(store_order_get(fx.st, "ord-2", &got), KK_ENOTFOUND);
	cr_assert_not(account_exists(fx.st, "acc-2"));
	cr_assert_eq(store_begin(fx.st), KK_OK);
	put_account(fx.st, "acc-3");
	cr_assert_eq(store_commit(fx.st), KK_OK);
	cr_assert(account_exists(fx.st, "acc-3"));
}

struct other_arg {
	struct store *st;
	enum kk_status rc;
	volatile int done;
};

static void *
read_acc(void *p)
{
	struct other_arg *r = p;
	struct account *a = NULL;

	r->rc = store_account_get(r->st, "acc-x", &a);
	account_free(a);
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *
write_acc(void *p)
{
	struct other_arg *w = p;
	struct account a = mk_account("acc-y", "other");

	w->rc = store_account_insert(w->st, &a);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

Test(store_tx, transaction_excludes_other_threads_changes)
{
	struct account a = mk_account("acc-x", "tx");
	struct other_arg w = {fx.st, KK_EIO, 0};
	struct timespec ts = {0, 200 * 1000 * 1000};
	pthread_t t;

	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	cr_assert_eq(pthread_create(&t, NULL, write_acc, &w), 0);
	nanosleep(&ts, NULL);
	/* Inside one process a transaction excludes the other threads'
	 * changes, whatever the backend: they wait for it instead of
	 * failing it (or it them). */
	cr_assert_eq(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0,
	    "another thread changed the store inside our transaction");
	store_rollback(fx.st);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(w.rc, KK_OK);
	cr_assert(account_exists(fx.st, "acc-y"));
	cr_assert_not(account_exists(fx.st, "acc-x"));
}

Test(store_tx, other_threads_read_only_what_is_committed)
{
	struct account a = mk_account("acc-x", "tx");
	struct other_arg r = {fx.st, KK_EIO, 0};
	struct timespec ts = {0, 200 * 1000 * 1000};
	pthread_t t;

	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	cr_assert_eq(pthread_create(&t, NULL, read_acc, &r), 0);
	nanosleep(&ts, NULL);
	/* A reader may wait for the transaction (PostgreSQL's pool does)
	 * or read beside it (SQLite's readers do), but it never sees what
	 * the transaction has not committed: here, never will. */
	store_rollback(fx.st);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(r.rc, KK_ENOTFOUND);
}

#define THREADS 4
#define PER_THREAD 200

struct writer_arg {
	struct store *st;
	int n;
	int failures;
	int64_t counters[PER_THREAD];
};

static void *
write_accounts(void *p)
{
	struct writer_arg *w = p;
	struct account a;
	struct audit_event e = {0};
	char id[32];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(id, sizeof(id), "t%d-%d", w->n, i);
		a = mk_account(id, id);
		e.at = i;
		e.actor = id;
		e.action = "account.create";
		if (store_begin(w->st) != KK_OK) {
			w->failures++;
			continue;
		}
		if (store_account_insert(w->st, &a) != KK_OK ||
		    store_audit_append(w->st, &e) != KK_OK) {
			w->failures++;
			store_rollback(w->st);
			continue;
		}
		if (store_commit(w->st) != KK_OK)
			w->failures++;
	}
	return NULL;
}

Test(store_tx, threads_with_transactions)
{
	static struct writer_arg w[THREADS];
	pthread_t t[THREADS];
	int i;

	for (i = 0; i < THREADS; i++) {
		w[i] = (struct writer_arg){.st = fx.st, .n = i};
		cr_assert_eq(
		    pthread_create(&t[i], NULL, write_accounts, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		cr_assert_eq(pthread_join(t[i], NULL), 0);
		cr_assert_eq(w[i].failures, 0, "thread %d", i);
	}
	fixture_reopen(&fx);
	cr_assert_eq(
	    fixture_raw_int(&fx, "SELECT count(*) FROM accounts"), 800);
	cr_assert_eq(fixture_raw_int(&fx, "SELECT count(*) FROM audit"), 800);
	cr_assert(account_exists(fx.st, "t3-199"));
}

static void *
take_counters(void *p)
{
	struct writer_arg *w = p;
	int i;

	for (i = 0; i < PER_THREAD; i++)
		if (store_counter_next(w->st, "crl_number", &w->counters[i]) !=
		    KK_OK)
			w->failures++;
	return NULL;
}

Test(store_tx, threads_never_share_a_counter_value)
{
	static struct writer_arg w[THREADS];
	static char seen[THREADS * PER_THREAD + 1];
	pthread_t t[THREADS];
	int i, j;
	int64_t v;

	for (i = 0; i < THREADS; i++) {
		w[i] = (struct writer_arg){.st = fx.st, .n = i};
		cr_assert_eq(
		    pthread_create(&t[i], NULL, take_counters, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		cr_assert_eq(pthread_join(t[i], NULL), 0);
		cr_assert_eq(w[i].failures, 0);
		for (j = 0; j < PER_THREAD; j++) {
			v = w[i].counters[j];
			cr_assert(v >= 1 && v <= THREADS * PER_THREAD);
			cr_assert_eq(
			    seen[v], 0, "value %lld given twice", (long long)v);
			seen[v] = 1;
			/* Each thread sees its own values increase. */
			if (j > 0)
				cr_assert_gt(v, w[i].counters[j - 1]);
		}
	}
}

Test(store_tx, reopen_keeps_data_and_schema_version)
{
	int before, after;

	put_account(fx.st, "acc-1");
	before = fixture_schema_version(&fx);
	cr_assert_geq(before, 1);
	/* Migrations create tables: running one twice would fail the
	 * open. */
	fixture_reopen(&fx);
	fixture_reopen(&fx);
	after = fixture_schema_version(&fx);
	cr_assert_eq(after, before);
	cr_assert(account_exists(fx.st, "acc-1"));
	cr_assert_eq(fixture_has_table(&fx, "accounts"), 1);
}

Test(store_tx, newer_schema_is_refused)
{
	struct store *st = NULL;

	store_close(fx.st);
	fx.st = NULL;
	fixture_set_schema_version(&fx, 999);
	cr_assert_eq(store_open(fx.url, &st), KK_ECONFLICT);
	cr_assert_null(st);
	cr_assert_eq(fixture_schema_version(&fx), 999,
	    "a refused database is left as it was");
}

Test(store_tx, migrates_an_empty_database_file)
{
	int v;

	/* An empty file (e.g. made by touch), or an empty database made
	 * by CREATE DATABASE, is a database at version 0. */
	fixture_wipe(&fx);
	if (!fx.pg)
		fclose(fopen(fx.path, "w"));
	cr_assert_eq(fixture_schema_version(&fx), 0);
	fixture_open(&fx);
	v = fixture_schema_version(&fx);
	cr_assert_geq(v, 1);
	put_account(fx.st, "acc-1");
}

/*
 * A child process commits and reports back, then dies by SIGKILL: what it
 * was told is committed must be there when the store is opened again.
 */
static void
commit_then_die(struct fixture *f, int in_tx)
{
	int fds[2];
	struct cert *got = NULL;
	pid_t pid;
	char c = 0;
	int status;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		struct store *st = NULL;
		struct account a = mk_account("acc-k", "tk");
		struct cert crt = {0};

		close(fds[0]);
		if (store_open(f->url, &st) != KK_OK)
			_exit(2);
		if (in_tx && store_begin(st) != KK_OK)
			_exit(3);
		if (store_account_insert(st, &a) != KK_OK)
			_exit(4);
		put_authz(st, "az-k", "acc-k");
		put_order(st, "ord-k", "acc-k", "az-k");
		crt.serial = "7f";
		crt.account_id = "acc-k";
		crt.order_id = "ord-k";
		crt.org = "NTRJP-9234567890123";
		crt.pem = "pem";
		crt.status = ACME_STATUS_VALID;
		if (store_cert_insert(st, &crt) != KK_OK)
			_exit(5);
		if (in_tx && store_commit(st) != KK_OK)
			_exit(6);
		if (write(fds[1], "y", 1) != 1)
			_exit(7);
		for (;;)
			pause();
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &c, 1), 1, "child failed before commit");
	close(fds[0]);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	fixture_reopen(f);
	cr_assert(account_exists(f->st, "acc-k"));
	cr_assert_eq(store_cert_get(f->st, "7f", &got), KK_OK);
	cr_assert_str_eq(got->account_id, "acc-k");
	cert_free(got);
}

/*
 * What a killed process committed is visible to the next one. That is not
 * durability: the page cache survives a kill even with synchronous = OFF;
 * test_store_sync.c checks that commits are synced.
 */
Test(store_tx, committed_transaction_survives_kill)
{
	/* The parent's own handle is closed across the fork: a SQLite
	 * connection must not be used in two processes. */
	store_close(fx.st);
	fx.st = NULL;
	commit_then_die(&fx, 1);
}

Test(store_tx, plain_call_survives_kill)
{
	store_close(fx.st);
	fx.st = NULL;
	commit_then_die(&fx, 0);
}

Test(store_tx, lost_transaction_refuses_further_calls)
{
	struct account b = mk_account("acc-b", "tb");
	sqlite3 *db;
	int64_t v;

	/* A fault injected from outside: this trigger makes SQLite roll the
	 * whole transaction back, as it may on I/O errors. */
	fixture_only_sqlite(&fx, "RAISE(ROLLBACK); see lost_connection_*");
	db = fixture_raw(&fx);
	cr_assert_eq(sqlite3_exec(db,
	                 "CREATE TRIGGER fault BEFORE INSERT ON counters"
	                 " BEGIN SELECT RAISE(ROLLBACK, 'injected'); END",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	cr_assert_eq(store_begin(fx.st), KK_OK);
	put_account(fx.st, "acc-a");
	cr_assert_eq(store_counter_next(fx.st, "n", &v), KK_EIO);
	/* Were this call let through, it would commit on its own. */
	cr_assert_eq(store_account_insert(fx.st, &b), KK_EIO);
	cr_assert_eq(store_commit(fx.st), KK_EIO);
	cr_assert_not(account_exists(fx.st, "acc-a"));
	cr_assert_not(account_exists(fx.st, "acc-b"));
	/* And the store works again afterwards. */
	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_account_insert(fx.st, &b), KK_OK);
	cr_assert_eq(store_commit(fx.st), KK_OK);
	cr_assert(account_exists(fx.st, "acc-b"));
}

Test(store_tx, failed_migration_leaves_database_untouched)
{
	struct store *st = NULL;

	/* A version-0 database in which migration 1 cannot finish: its
	 * earlier statements must not survive its failure. */
	fixture_wipe(&fx);
	cr_assert_eq(
	    fixture_raw_exec(&fx, "CREATE TABLE counters (x INTEGER)", NULL, 0),
	    0);
	cr_assert_eq(store_open(fx.url, &st), KK_EIO);
	cr_assert_null(st);
	cr_assert_eq(fixture_schema_version(&fx), 0);
	cr_assert_eq(fixture_has_table(&fx, "accounts"), 0,
	    "migration 1 was half applied");
}

/* PostgreSQL: what several replicas sharing one database rely on. */

/* Ends every other session on the test's database, as a restarted or
 * failed-over server would. */
static void
kill_sessions(struct fixture *f)
{
	cr_assert_eq(fixture_raw_int(f,
	                 "SELECT (count(pg_terminate_backend(pid)) > 0)::int"
	                 " FROM pg_stat_activity WHERE datname ="
	                 " current_database() AND pid <> pg_backend_pid()"),
	    1, "no session to end");
}

Test(store_tx, lost_connection_fails_the_transaction_then_reconnects)
{
	struct account b = mk_account("acc-b", "tb");
	struct account *got = NULL;

	fixture_only_pg(&fx, "a database server to lose");
	cr_assert_eq(store_begin(fx.st), KK_OK);
	put_account(fx.st, "acc-a");
	kill_sessions(&fx);
	/* Never reconnect inside a transaction: this call would commit on
	 * its own, without acc-a. */
	cr_assert_eq(store_account_insert(fx.st, &b), KK_EAGAIN);
	cr_assert_eq(store_counter_next(fx.st, "n", &(int64_t){0}), KK_EAGAIN);
	cr_assert_eq(store_commit(fx.st), KK_EAGAIN);
	cr_assert_not(account_exists(fx.st, "acc-a"));
	cr_assert_not(account_exists(fx.st, "acc-b"));

	/* An idle connection whose server has gone (the backend exited)
	 * is noticed before use: the call is served on a new one. */
	put_account(fx.st, "acc-c");
	kill_sessions(&fx);
	for (int i = 0;
	     i < 100 && fixture_raw_int(&fx, "SELECT count(*)::int FROM "
	                                     "pg_stat_activity WHERE datname ="
	                                     " current_database() AND pid <>"
	                                     " pg_backend_pid()") > 0;
	     i++)
		usleep(50 * 1000);
	cr_assert_eq(store_account_get(fx.st, "acc-c", &got), KK_OK);
	cr_assert_str_eq(got->id, "acc-c");
	account_free(got);
	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_account_insert(fx.st, &b), KK_OK);
	cr_assert_eq(store_commit(fx.st), KK_OK);
	cr_assert(account_exists(fx.st, "acc-b"));
}

struct opener_arg {
	const char *url;
	enum kk_status rc;
};

static void *
open_close(void *p)
{
	struct opener_arg *o = p;
	struct store *st = NULL;

	o->rc = store_open(o->url, &st);
	store_close(st);
	return NULL;
}

Test(store_tx, replicas_starting_together_migrate_once)
{
	struct opener_arg o[THREADS];
	pthread_t t[THREADS];
	int i;

	fixture_only_pg(&fx, "SQLite has one writer per file already");
	fixture_wipe(&fx);
	for (i = 0; i < THREADS; i++) {
		o[i] = (struct opener_arg){fx.url, KK_EIO};
		cr_assert_eq(pthread_create(&t[i], NULL, open_close, &o[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		cr_assert_eq(pthread_join(t[i], NULL), 0);
		cr_assert_eq(
		    o[i].rc, KK_OK, "replica %d: %s", i, kk_strerror(o[i].rc));
	}
	cr_assert_geq(fixture_schema_version(&fx), 1);
	cr_assert_eq(
	    fixture_raw_int(&fx, "SELECT count(*) FROM schema_version"),
	    fixture_schema_version(&fx), "a migration ran twice");
	fixture_open(&fx);
	put_account(fx.st, "acc-1");
}

Test(store_tx, replicas_racing_a_limit_check_cannot_both_commit)
{
	struct account a = mk_account("acc-a", "ta");
	struct account b = mk_account("acc-b", "tb");
	struct store *other = NULL;
	enum kk_status rc;
	int n = -1;

	/* Two replicas each count the accounts made from one address and
	 * make one more, as a rate limit does: serializable transactions
	 * let only one of them commit. */
	fixture_only_pg(&fx, "two processes on one database");
	cr_assert_eq(store_open(fx.url, &other), KK_OK);
	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_begin(other), KK_OK);
	cr_assert_eq(
	    store_account_count_by_ip(fx.st, "192.0.2.7", 0, &n), KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(
	    store_account_count_by_ip(other, "192.0.2.7", 0, &n), KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	rc = store_account_insert(other, &b);
	cr_assert(rc == KK_OK || rc == KK_ERACE, "%s", kk_strerror(rc));
	cr_assert_eq(store_commit(fx.st), KK_OK);
	if (rc == KK_OK)
		rc = store_commit(other);
	else
		store_rollback(other);
	/* A lost race, not an unreachable database: the loser's caller
	 * runs its transaction again rather than answer 503. */
	cr_assert_eq(
	    rc, KK_ERACE, "both replicas committed, or %s", kk_strerror(rc));
	cr_assert_eq(
	    store_account_count_by_ip(other, "192.0.2.7", 0, &n), KK_OK);
	cr_assert_eq(n, 1);
	store_close(other);
}

/*
 * SQLite's migration that rebuilt the audit table without AUTOINCREMENT
 * (renumber with it): an auditor who paged half way through the log
 * before it goes on with the same cursor after it, and the next event
 * follows the last one as AUTOINCREMENT had it.
 */
#define AUDIT_REBUILD_VERSION 9

static void
append_events(struct store *st, int from, int to)
{
	struct audit_event e = {0};

	e.actor = "op1";
	e.action = "token.create";
	for (int i = from; i < to; i++) {
		e.at = 1000 + i;
		cr_assert_eq(store_audit_append(st, &e), KK_OK);
	}
}

Test(store_tx, audit_cursor_pages_across_the_table_rebuild)
{
	struct audit_event **list = NULL;
	struct store_page pg = {.limit = 3};
	char cursor[32];
	size_t n = 0, seen = 0;
	int64_t last = 0;

	fixture_only_sqlite(&fx, "SQLite's rebuild of the audit table");
	append_events(fx.st, 0, 7);
	cr_assert_eq(store_audit_list(fx.st, 0, &pg, &list, &n), KK_OK);
	cr_assert_eq(n, 3);
	cr_assert(pg.more);
	last = list[2]->seq;
	seen = n;
	snprintf(cursor, sizeof(cursor), "%lld", (long long)last);
	for (size_t i = 0; i < n; i++)
		audit_event_free(list[i]);
	free(list);

	/* Back to the table as it was before the rebuild, the same rows
	 * and the same sequence, then opened again: the rebuild runs. */
	store_close(fx.st);
	fx.st = NULL;
	cr_assert_eq(
	    fixture_raw_exec(&fx,
	        "BEGIN;"
	        "CREATE TABLE audit_old ("
	        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	        " at INTEGER NOT NULL, actor TEXT NOT NULL,"
	        " action TEXT NOT NULL, object TEXT, detail TEXT);"
	        "INSERT INTO audit_old SELECT * FROM audit;"
	        "DROP TABLE audit;"
	        "ALTER TABLE audit_old RENAME TO audit;"
	        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	        " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only');"
	        " END;"
	        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	        " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only');"
	        " END;"
	        "COMMIT;",
	        NULL, 0),
	    0);
	fixture_set_schema_version(&fx, AUDIT_REBUILD_VERSION - 1);
	cr_assert_eq(fixture_raw_int(&fx, "SELECT count(*) FROM sqlite_sequence"
	                                  " WHERE name = 'audit'"),
	    1);
	fixture_open(&fx);
	cr_assert_eq(fixture_raw_int(&fx, "SELECT count(*) FROM sqlite_sequence"
	                                  " WHERE name = 'audit'"),
	    0, "the audit table still has AUTOINCREMENT");
	cr_assert_eq(fixture_raw_int(&fx, "SELECT count(*) FROM sqlite_schema"
	                                  " WHERE tbl_name = 'audit'"
	                                  " AND type = 'trigger'"),
	    2, "the rebuilt table lost its append-only triggers");
	append_events(fx.st, 7, 9);

	pg.after = cursor;
	do {
		cr_assert_eq(store_audit_list(fx.st, 0, &pg, &list, &n), KK_OK);
		for (size_t i = 0; i < n; i++) {
			cr_assert_eq(list[i]->seq, last + 1,
			    "event %zu has seq %lld after %lld", seen + i,
			    (long long)list[i]->seq, (long long)last);
			cr_assert_eq(list[i]->at, 1000 + (time_t)(seen + i));
			last = list[i]->seq;
			audit_event_free(list[i]);
		}
		free(list);
		seen += n;
		snprintf(cursor, sizeof(cursor), "%lld", (long long)last);
	} while (pg.more && n > 0);
	cr_assert_eq(seen, 9);
}
