/*
 * store_gsync.c - see store_gsync.h.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/futex.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kk_log.h"
#include "store_gsync.h"

/*
 * Waiters sleep on a futex word, the count of syncs ended, each waiting
 * only for the sync that covers it: with FUTEX_WAIT_BITSET a waiter
 * sleeps under the parity of that sync's number, and a sync that ends
 * wakes the waiters of its own parity. A commit made while a sync runs is
 * not covered by that sync; its waiter sleeps through it instead of being
 * woken only to sleep again, and the sync that ends hands over to one of
 * those waiters, which runs the next sync for all of them.
 *
 * The decision who syncs and who waits for which sync is taken under a
 * mutex held only for a few loads and stores; nobody holds it during a
 * sync.
 */
struct gsync {
	pthread_mutex_t mu; /* guards syncing and upto */
	int syncing;        /* a sync is running... */
	uint64_t upto;      /* ...for every ticket up to this one */
	char *path;
	int fd;                  /* used by the syncing waiter only */
	_Atomic uint64_t issued; /* the last ticket handed out */
	_Atomic uint64_t synced; /* every ticket up to this one is on disk */
	_Atomic uint32_t ended;  /* syncs ended; the futex word */
	atomic_int failed;       /* a sync failed: nothing is durable now */
};

/* The futex bit of the sync that ends as number n. */
#define SYNC_BIT(n) (1u << ((n)&1))

enum kk_status
gsync_new(const char *path, struct gsync **out)
{
	struct gsync *g;

	*out = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return KK_ENOMEM;
	if ((g->path = strdup(path)) == NULL) {
		free(g);
		return KK_ENOMEM;
	}
	/* Read-only is enough: fdatasync flushes the file, not the fd. */
	if ((g->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		kk_log("store: cannot open %s to sync it: %s", path,
		    strerror(errno));
		free(g->path);
		free(g);
		return KK_EIO;
	}
	pthread_mutex_init(&g->mu, NULL);
	*out = g;
	return KK_OK;
}

void
gsync_free(struct gsync *g)
{
	if (g == NULL)
		return;
	close(g->fd);
	free(g->path);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

uint64_t
gsync_ticket(struct gsync *g)
{
	return atomic_fetch_add(&g->issued, 1) + 1;
}

/*
 * Syncs the file at g->path. SQLite keeps its WAL file while a connection
 * is open, but should it ever be another file by now, the new one is the
 * one to sync: a stat is cheap beside the sync.
 */
static int
sync_file(struct gsync *g)
{
	struct stat now, held;
	int fd;

	if (stat(g->path, &now) == 0 && fstat(g->fd, &held) == 0 &&
	    (now.st_ino != held.st_ino || now.st_dev != held.st_dev) &&
	    (fd = open(g->path, O_RDONLY | O_CLOEXEC)) >= 0) {
		close(g->fd);
		g->fd = fd;
	}
	return fdatasync(g->fd);
}

/*
 * Runs the sync for every ticket up to upto (taken under g->mu with
 * g->syncing set), then wakes its waiters and one waiter of the next.
 */
static void
sync_run(struct gsync *g, uint64_t upto)
{
	uint32_t n;
	int rc;

	if ((rc = sync_file(g)) != 0)
		kk_log("store: fdatasync of the WAL: %s", strerror(errno));
	pthread_mutex_lock(&g->mu);
	if (rc == 0) {
		if (upto > atomic_load(&g->synced))
			atomic_store(&g->synced, upto);
	} else if (!atomic_exchange(&g->failed, 1)) {
		/*
		 * Linux may drop the dirty pages of a failed sync and
		 * report the next one a success: a later commit's frames
		 * would be on disk after a hole that WAL recovery stops at.
		 * So no commit is called durable after this one.
		 */
		kk_log("store: every commit fails from now on: restart once "
		       "the disk is fixed");
	}
	g->syncing = 0;
	/* After synced and failed: a waiter that read the count before
	 * this bump finds its futex changed and looks again. */
	n = atomic_fetch_add(&g->ended, 1) + 1;
	pthread_mutex_unlock(&g->mu);
	if (rc != 0) {
		syscall(SYS_futex, &g->ended, FUTEX_WAKE_BITSET_PRIVATE,
		    INT_MAX, NULL, NULL, ~0u);
		return;
	}
	syscall(SYS_futex, &g->ended, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, NULL,
	    NULL, SYNC_BIT(n));
	/* Those who committed during this sync wait for the next: one of
	 * them runs it (a wake of nobody costs a system call). */
	if (atomic_load(&g->issued) > upto)
		syscall(SYS_futex, &g->ended, FUTEX_WAKE_BITSET_PRIVATE, 1,
		    NULL, NULL, SYNC_BIT(n + 1));
}

int
gsync_failed(struct gsync *g)
{
	return atomic_load(&g->failed);
}

enum kk_status
gsync_settle(struct gsync *g)
{
	return gsync_wait(g, atomic_load(&g->issued));
}

enum kk_status
gsync_wait(struct gsync *g, uint64_t ticket)
{
	uint64_t upto;
	uint32_t seen, bit;

	for (;;) {
		if (atomic_load(&g->failed))
			return KK_EIO;
		if (atomic_load(&g->synced) >= ticket)
			return KK_OK;
		pthread_mutex_lock(&g->mu);
		seen = atomic_load(&g->ended);
		if (atomic_load(&g->failed) ||
		    atomic_load(&g->synced) >= ticket) {
			pthread_mutex_unlock(&g->mu);
			continue;
		}
		if (!g->syncing) {
			/* Every commit ticketed by now has written its
			 * frames: this sync covers them all. */
			g->syncing = 1;
			upto = g->upto = atomic_load(&g->issued);
			pthread_mutex_unlock(&g->mu);
			sync_run(g, upto);
			continue;
		}
		/* The running sync ends as number seen + 1; if it does not
		 * cover this ticket, the next one (seen + 2) will. */
		bit = SYNC_BIT(g->upto >= ticket ? seen + 1 : seen + 2);
		pthread_mutex_unlock(&g->mu);
		/* EINTR and EAGAIN (the count moved on) just look again. */
		syscall(SYS_futex, &g->ended, FUTEX_WAIT_BITSET_PRIVATE, seen,
		    NULL, NULL, bit);
	}
}
