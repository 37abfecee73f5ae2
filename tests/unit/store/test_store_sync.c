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
#include <unistd.h>

#include "store_fixture.h"

static struct fixture fx;
static int syncs; /* on files under fx.dir; the tests run one at a time */

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
	int rc;

	if (real == NULL)
		abort();
	/* Counted once done: a sync that returned is on disk. */
	if ((rc = real(fd)) == 0 && watched(fd))
		syncs++;
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
