/*
 * test_gsync.c - the group sync under the SQLite store: a waiter returns
 * after a sync of the file begun after its ticket, tickets already synced
 * cost nothing more, and a file replaced under the same name is the one
 * synced. fdatasync() is interposed (this executable's definition comes
 * first) to see which file each sync reaches.
 */
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "store_gsync.h"

static int syncs;
static int fail_next;  /* the next sync fails with EIO */
static ino_t last_ino; /* inode of the file the last sync reached */

int fdatasync(int fd);

int
fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	struct stat st;

	if (real == NULL)
		abort();
	if (fstat(fd, &st) == 0)
		last_ino = st.st_ino;
	syncs++;
	if (fail_next) {
		fail_next = 0;
		errno = EIO;
		return -1;
	}
	return real(fd);
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
	fail_next = 1;
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
