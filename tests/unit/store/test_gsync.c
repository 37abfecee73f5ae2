/*
 * test_gsync.c - the group sync under the SQLite store: a waiter returns
 * after a sync of the file begun after its ticket, tickets already synced
 * cost nothing more, and a file replaced under the same name is the one
 * synced. fdatasync() is interposed (this executable's definition comes
 * first) to see which file each sync reaches, and when syncs begin and
 * end.
 */
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "store_gsync.h"

static atomic_int syncs;
static atomic_int fail_next; /* the next sync fails with EIO */
static ino_t last_ino;       /* inode of the file the last sync reached */
static atomic_int slow_us;   /* each sync takes at least this long */
static atomic_int hold;      /* a sync waits while this is set */
static atomic_int running;   /* syncs in progress: never more than one */
static atomic_int overlap;   /* syncs that began while another ran */
static atomic_long begun;    /* syncs begun, numbering them */
static atomic_long done;     /* the number of the last one completed */

int fdatasync(int fd);

int
fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	long n = atomic_fetch_add(&begun, 1) + 1;
	struct stat st;
	int rc;

	if (real == NULL)
		abort();
	if (atomic_fetch_add(&running, 1) != 0)
		atomic_fetch_add(&overlap, 1);
	if (fstat(fd, &st) == 0)
		last_ino = st.st_ino;
	syncs++;
	if (atomic_load(&slow_us) > 0)
		usleep((useconds_t)atomic_load(&slow_us));
	while (atomic_load(&hold))
		usleep(1000);
	if (atomic_exchange(&fail_next, 0)) {
		errno = EIO;
		rc = -1;
	} else
		rc = real(fd);
	atomic_store(&done, n);
	atomic_fetch_sub(&running, 1);
	return rc;
}

static char dir[] = "/tmp/kakuin-gsync-XXXXXX";
static char path[PATH_MAX];

static ino_t
make_file(void)
{
	struct stat st;
	int fd;

	cr_assert_geq(fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600), 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(fstat(fd, &st), 0);
	close(fd);
	return st.st_ino;
}

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/db-wal", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(gsync, .init = setup, .fini = teardown);

Test(gsync, a_ticket_is_synced_once)
{
	struct gsync *g;
	uint64_t a, b;
	int before;

	make_file();
	cr_assert_eq(gsync_new(path, &g), KK_OK);
	a = gsync_ticket(g);
	b = gsync_ticket(g);
	before = syncs;
	cr_assert_eq(gsync_wait(g, b), KK_OK);
	cr_assert_eq(syncs, before + 1);
	/* a was ticketed before that sync began: it is covered. */
	cr_assert_eq(gsync_wait(g, a), KK_OK);
	cr_assert_eq(syncs, before + 1, "a covered ticket synced again");
	cr_assert_eq(gsync_wait(g, gsync_ticket(g)), KK_OK);
	cr_assert_eq(syncs, before + 2, "a new ticket needs a new sync");
	gsync_free(g);
}

Test(gsync, a_replaced_file_is_the_one_synced)
{
	struct gsync *g;
	ino_t first, second;
	char moved[PATH_MAX + 8];

	first = make_file();
	cr_assert_eq(gsync_new(path, &g), KK_OK);
	cr_assert_eq(gsync_wait(g, gsync_ticket(g)), KK_OK);
	cr_assert_eq(last_ino, first);
	/* Moved away (so its inode stays taken) and made anew. */
	snprintf(moved, sizeof(moved), "%s.old", path);
	cr_assert_eq(rename(path, moved), 0);
	second = make_file();
	cr_assert_neq(first, second);
	cr_assert_eq(gsync_wait(g, gsync_ticket(g)), KK_OK);
	cr_assert_eq(last_ino, second, "the old file was synced");
	gsync_free(g);
	unlink(moved);
}

Test(gsync, a_missing_file_is_refused)
{
	struct gsync *g = (struct gsync *)1;

	cr_assert_eq(gsync_new(path, &g), KK_EIO);
	cr_assert_null(g);
}

Test(gsync, a_failed_sync_fails_every_later_commit)
{
	struct gsync *g;

	make_file();
	cr_assert_eq(gsync_new(path, &g), KK_OK);
	atomic_store(&fail_next, 1);
	cr_assert_eq(gsync_wait(g, gsync_ticket(g)), KK_EIO);
	/* The next sync would succeed, but what the failed one dropped
	 * (the earlier commit's frames) is gone all the same. */
	cr_assert_eq(gsync_wait(g, gsync_ticket(g)), KK_EIO,
	    "a commit after a failed sync was called durable");
	/* What a deferred commit asks without waiting. */
	cr_assert(gsync_failed(g));
	gsync_free(g);
}

/* A reader settles for what others committed and still wait for: one
 * sync, shared with their waiters; with nothing pending, none. */
Test(gsync, settle_syncs_what_is_pending)
{
	struct gsync *g;
	uint64_t t;
	int before;

	make_file();
	cr_assert_eq(gsync_new(path, &g), KK_OK);
	cr_assert_not(gsync_failed(g));
	before = syncs;
	cr_assert_eq(gsync_settle(g), KK_OK);
	cr_assert_eq(syncs, before, "nothing was pending");
	t = gsync_ticket(g);
	cr_assert_eq(gsync_settle(g), KK_OK);
	cr_assert_eq(syncs, before + 1, "a pending commit was not synced");
	cr_assert_eq(gsync_wait(g, t), KK_OK);
	cr_assert_eq(syncs, before + 1, "its waiter synced again");
	gsync_free(g);
}

#define WAITERS 8
#define ROUNDS 300

struct waiter {
	struct gsync *g;
	int n;
	int early; /* waits that returned before a sync begun after them */
	int failed;
};

static void *
wait_many(void *arg)
{
	struct waiter *w = arg;

	for (int i = 0; i < ROUNDS; i++) {
		/* Read before the ticket: a sync that covers the ticket
		 * begins after it, so its number is above this one. */
		long before = atomic_load(&begun);
		enum kk_status rc;

		/* Every fifth a reader settling for all that is pending,
		 * the others a commit waiting for its own ticket. */
		if ((i + w->n) % 5 == 0) {
			(void)gsync_ticket(w->g);
			rc = gsync_settle(w->g);
		} else
			rc = gsync_wait(w->g, gsync_ticket(w->g));
		if (rc != KK_OK)
			w->failed++;
		else if (atomic_load(&done) <= before)
			w->early++;
		if (i % 7 == w->n)
			usleep(50);
	}
	return NULL;
}

/*
 * Many threads ticketing and waiting at once, with syncs slow enough that
 * commits pile up behind each: every wait returns (a lost wake-up hangs
 * the test until its timeout), none before a sync that began after its
 * ticket, the syncs never overlap, and they are shared.
 */
Test(
    gsync, concurrent_waiters_share_syncs_and_none_returns_early, .timeout = 60)
{
	struct waiter w[WAITERS];
	pthread_t th[WAITERS];
	struct gsync *g;
	int before;

	make_file();
	cr_assert_eq(gsync_new(path, &g), KK_OK);
	atomic_store(&slow_us, 300);
	before = syncs;
	for (int i = 0; i < WAITERS; i++) {
		w[i] = (struct waiter){.g = g, .n = i};
		cr_assert_eq(pthread_create(&th[i], NULL, wait_many, &w[i]), 0);
	}
	for (int i = 0; i < WAITERS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].failed, 0, "thread %d: a wait failed", i);
		cr_assert_eq(w[i].early, 0,
		    "thread %d: a wait returned before its sync", i);
	}
	atomic_store(&slow_us, 0);
	cr_assert_eq(atomic_load(&overlap), 0, "two syncs ran at once");
	cr_assert_lt(syncs - before, WAITERS * ROUNDS / 2,
	    "%d syncs for %d waits: too few shared", syncs - before,
	    WAITERS * ROUNDS);
	gsync_free(g);
}

struct one_wait {
	struct gsync *g;
	uint64_t ticket;
	enum kk_status rc;
	atomic_int tid; /* the waiting thread, once it runs */
};

/* A wait for a ticket taken now, to start later. */
static struct one_wait
ticketed(struct gsync *g)
{
	return (struct one_wait){.g = g, .ticket = gsync_ticket(g)};
}

static void *
wait_one(void *arg)
{
	struct one_wait *o = arg;

	atomic_store(&o->tid, (int)gettid());
	o->rc = gsync_wait(o->g, o->ticket);
	return NULL;
}

/* Starts a thread waiting for o's ticket, and returns once it sleeps (in
 * gsync_wait: it has nothing else to sleep on). */
static void
start_waiter(pthread_t *th, struct one_wait *o)
{
	char path_stat[64], buf[256], *state;
	FILE *fp;

	cr_assert_eq(pthread_create(th, NULL, wait_one, o), 0);
	for (int i = 0; i < 10000; i++, usleep(1000)) {
		if (atomic_load(&o->tid) == 0)
			continue;
		snprintf(path_stat, sizeof(path_stat),
		    "/proc/self/task/%d/stat", atomic_load(&o->tid));
		if ((fp = fopen(path_stat, "r")) == NULL)
			continue;
		state = fgets(buf, sizeof(buf), fp) != NULL ? strrchr(buf, ')')
		                                            : NULL;
		fclose(fp);
		if (state != NULL && state[1] == ' ' && state[2] == 'S')
			return;
	}
	cr_assert_fail("the waiting thread never slept");
}

/* Starts the first sync, for o's ticket, and returns once it runs. */
static void
first_sync(pthread_t *th, struct one_wait *o)
{
	cr_assert_eq(pthread_create(th, NULL, wait_one, o), 0);
	while (atomic_load(&running) == 0)
		usleep(1000);
}

/* Lets the held sync end, and waits for the three threads of a test. */
static void
release_and_join(pthread_t a, pthread_t b, pthread_t c)
{
	atomic_store(&hold, 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_join(c, NULL);
}

/*
 * The hand-over from one sync to the next, with no other traffic to paper
 * over a lost wake-up: while a sync runs (held until the others sleep), a
 * commit covered by it (ticketed before it began) and one that is not
 * (ticketed after) both wait. The first returns when that sync ends, the
 * second once a second sync, which one of them must start, has ended.
 */
Test(gsync, a_commit_made_during_a_sync_gets_the_next_one, .timeout = 30)
{
	struct one_wait first = {0}, covered = {0}, late = {0};
	pthread_t a, b, c;
	struct gsync *g;
	int before;

	make_file();
	cr_assert_eq(gsync_new(path, &g), KK_OK);
	before = syncs;
	atomic_store(&hold, 1);
	covered = ticketed(g);
	first = ticketed(g);
	first_sync(&a, &first);
	/* The first sync runs: covered's ticket is in it, late's is not. */
	start_waiter(&c, &covered);
	late = ticketed(g);
	start_waiter(&b, &late);
	release_and_join(a, b, c);
	cr_assert_eq(first.rc, KK_OK);
	cr_assert_eq(covered.rc, KK_OK);
	cr_assert_eq(late.rc, KK_OK);
	cr_assert_eq(syncs, before + 2, "%d syncs, not 2", syncs - before);
	gsync_free(g);
}

/*
 * A sync that fails while commits wait for the next one: those waiters
 * are woken too, and fail, rather than sleeping on for a sync that will
 * never come.
 */
Test(gsync, a_failed_sync_fails_the_waiters_for_the_next, .timeout = 30)
{
	struct one_wait first = {0}, late = {0}, later = {0};
	pthread_t a, b, c;
	struct gsync *g;

	make_file();
	cr_assert_eq(gsync_new(path, &g), KK_OK);
	atomic_store(&hold, 1);
	atomic_store(&fail_next, 1);
	first = ticketed(g);
	first_sync(&a, &first);
	/* Two: a hand-over alone would wake one of them. */
	late = ticketed(g);
	start_waiter(&b, &late);
	later = ticketed(g);
	start_waiter(&c, &later);
	release_and_join(a, b, c);
	cr_assert_eq(first.rc, KK_EIO);
	cr_assert_eq(late.rc, KK_EIO);
	cr_assert_eq(later.rc, KK_EIO);
	cr_assert(gsync_failed(g));
	gsync_free(g);
}
