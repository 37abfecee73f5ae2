/*
 * test_store_sync.c - a commit is on disk when it returns. Killing a
 * process cannot show that (the page cache survives it, so a test that
 * kills and reopens passes even with PRAGMA synchronous = OFF); watching
 * the sync calls can. fsync() and fdatasync() are interposed here: this
 * executable's definitions take precedence over libc's for libsqlite3,
 * and they count the calls made on the store's files before calling
 * libc's.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "store_fixture.h"

static struct fixture fx;
/* Syncs of files under fx.dir, and the start (CLOCK_MONOTONIC, ns) of
 * the last one that completed; the tests run one at a time, a test's
 * threads share them under mu. A test may slow syncs down by delay_ms. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int syncs;
static long long last_done_start;
static int delay_ms;

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Whether fd is a file under fx.dir (the database, its WAL, the dir). */
static int
watched(int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (fx.dir[0] == '\0' ||
	    (n = readlink(link, path, sizeof(path) - 1)) < 0)
		return 0;
	path[n] = '\0';
	return strncmp(path, fx.dir, strlen(fx.dir)) == 0;
}

static int
counted(const char *name, int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);
	long long start = now_ns();
	int rc;

	if (real == NULL)
		abort();
	if (delay_ms > 0 && watched(fd))
		usleep((useconds_t)delay_ms * 1000);
	/* Counted once done: a sync that returned is on disk. */
	if ((rc = real(fd)) == 0 && watched(fd)) {
		pthread_mutex_lock(&mu);
		syncs++;
		if (start > last_done_start)
			last_done_start = start;
		pthread_mutex_unlock(&mu);
	}
	return rc;
}

int
fsync(int fd)
{
	return counted("fsync", fd);
}

int
fdatasync(int fd)
{
	return counted("fdatasync", fd);
}

static void
setup(void)
{
	fixture_setup(&fx);
	/* PostgreSQL syncs its WAL in its own server process, out of sight
	 * of this one (synchronous_commit = on is the contract there). */
	fixture_only_sqlite(&fx, "syncs of the database files by this process");
}

static void
teardown(void)
{
	fixture_teardown(&fx);
}

TestSuite(store_sync, .init = setup, .fini = teardown);

Test(store_sync, commit_returns_after_a_sync)
{
	int before;

	cr_assert_eq(store_begin(fx.st), KK_OK);
	put_account(fx.st, "acc-s");
	before = syncs;
	cr_assert_eq(store_commit(fx.st), KK_OK);
	cr_assert_gt(syncs, before,
	    "store_commit returned without syncing the database or its WAL");
}

Test(store_sync, a_call_outside_a_transaction_is_synced)
{
	int before = syncs;

	put_account(fx.st, "acc-p");
	cr_assert_gt(syncs, before,
	    "a write outside a transaction returned without a sync");
}

/* Transactions commit with synchronous = NORMAL and sync afterwards: the
 * writes outside one must be back to syncing themselves. */
Test(store_sync, a_call_outside_a_transaction_after_one_is_synced)
{
	int before;

	for (int i = 0; i < 2; i++) {
		char id[16];

		snprintf(id, sizeof(id), "acc-t%d", i);
		cr_assert_eq(store_begin(fx.st), KK_OK);
		put_account(fx.st, id);
		cr_assert_eq(store_commit(fx.st), KK_OK);
	}
	before = syncs;
	put_account(fx.st, "acc-after");
	cr_assert_gt(syncs, before,
	    "a write outside a transaction returned without a sync");
}

/* The writes that commit as their RETURNING statement ends are synced
 * like the others: a counter value is never handed out twice. */
Test(store_sync, the_counter_outside_a_transaction_is_synced)
{
	int64_t v = 0;
	int before = syncs;

	cr_assert_eq(store_counter_next(fx.st, "probe", &v), KK_OK);
	cr_assert_eq(v, 1);
	cr_assert_gt(syncs, before,
	    "store_counter_next returned a value before its sync");
}

/*
 * An item queued by a request (whose commit does not wait, as the HTTP
 * layer has it) is on disk before the notification worker's claim hands
 * it out to be sent.
 */
Test(store_sync, an_outbox_claim_is_synced_before_it_hands_out_items)
{
	struct outbox_item it, **items = NULL;
	size_t n = 0;
	int before;

	memset(&it, 0, sizeof(it));
	it.event = "verification.approved";
	it.subject = "verif-1";
	it.target = "mail";
	it.payload = "{}";
	it.created_at = it.next_at = 1000;
	store_defer_durability(fx.st, 1);
	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_outbox_add(fx.st, &it), KK_OK);
	before = syncs;
	cr_assert_eq(store_commit(fx.st), KK_OK);
	store_defer_durability(fx.st, 0);
	cr_assert_eq(
	    store_outbox_claim(fx.st, 1000, 1100, 10, &items, &n), KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_gt(syncs, before,
	    "an item was handed out before the commit that queued it was "
	    "synced");
	outbox_item_free(items[0]);
	free(items);
}

/* The interposition works at all: syncing a watched file is counted. */
Test(store_sync, the_counter_sees_syncs)
{
	char path[160];
	int fd, before = syncs;

	snprintf(path, sizeof(path), "%s/probe", fx.dir);
	cr_assert_geq(fd = open(path, O_CREAT | O_WRONLY, 0600), 0);
	cr_assert_eq(fdatasync(fd), 0);
	cr_assert_eq(fsync(fd), 0);
	close(fd);
	unlink(path);
	cr_assert_eq(syncs, before + 2);
}

#define THREADS 8
#define COMMITS 5

/* Per thread: commits that returned before a sync begun after them. */
struct committer {
	int n;
	int early;
	int failed;
};

static void *
commit_many(void *arg)
{
	struct committer *c = arg;
	char id[32];
	long long before;

	for (int i = 0; i < COMMITS; i++) {
		struct account a;

		snprintf(id, sizeof(id), "acc-%d-%d", c->n, i);
		a = mk_account(id, id);
		before = now_ns();
		if (store_begin(fx.st) != KK_OK ||
		    store_account_insert(fx.st, &a) != KK_OK ||
		    store_commit(fx.st) != KK_OK) {
			c->failed++;
			continue;
		}
		pthread_mutex_lock(&mu);
		if (last_done_start < before)
			c->early++;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

/*
 * Concurrent transactions share their syncs (group commit), yet none
 * returns before a sync that began after it started.
 */
Test(store_sync, concurrent_commits_share_syncs)
{
	struct committer c[THREADS];
	pthread_t th[THREADS];
	int before;

	delay_ms = 20;
	before = syncs;
	for (int i = 0; i < THREADS; i++) {
		c[i] = (struct committer){.n = i};
		cr_assert_eq(
		    pthread_create(&th[i], NULL, commit_many, &c[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(c[i].failed, 0, "thread %d: a commit failed", i);
		cr_assert_eq(c[i].early, 0,
		    "thread %d: a commit returned before its sync", i);
	}
	delay_ms = 0;
	cr_assert_gt(syncs, before);
	cr_assert_leq(syncs - before, THREADS * COMMITS / 2,
	    "%d syncs for %d commits: no commit shared one", syncs - before,
	    THREADS * COMMITS);
}
