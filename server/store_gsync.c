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
 * Waiters sleep on a futex rather than a condition variable: a broadcast
 * on a condition variable wakes every waiter only for each to queue again
 * for its mutex, a second sleep per commit under load. Here a waiter woken
 * reads the counters and is done, and only those its sync did not cover
 * compete (with a trylock) to run the next one.
 */
struct gsync {
	pthread_mutex_t syncer; /* held by the one waiter in fdatasync */
	char *path;
	int fd;                  /* used by the syncer only */
	_Atomic uint64_t issued; /* the last ticket handed out */
	_Atomic uint64_t synced; /* every ticket up to this one is on disk */
	_Atomic uint32_t ended;  /* bumped (and woken) when a sync ends */
	atomic_int failed;       /* a sync failed: nothing is durable now */
};

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
	pthread_mutex_init(&g->syncer, NULL);
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
	pthread_mutex_destroy(&g->syncer);
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
 * Runs one sync for every commit ticketed so far. Call with g->syncer,
 * then release it with syncer_done.
 */
static void
sync_once(struct gsync *g)
{
	/* Every commit ticketed by now has written its frames. */
	uint64_t upto = atomic_load(&g->issued);
	int rc;

	if ((rc = sync_file(g)) != 0)
		kk_log("store: fdatasync of the WAL: %s", strerror(errno));
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
}

/*
 * Releases g->syncer and wakes every waiter. After the unlock and after
 * synced and failed were set: a waiter that found the syncer taken read
 * the count before this bump, so its sleep ends at once or at this wake.
 */
static void
syncer_done(struct gsync *g)
{
	pthread_mutex_unlock(&g->syncer);
	atomic_fetch_add(&g->ended, 1);
	syscall(
	    SYS_futex, &g->ended, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
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
	uint32_t seen;

	for (;;) {
		seen = atomic_load(&g->ended);
		if (atomic_load(&g->failed))
			return KK_EIO;
		if (atomic_load(&g->synced) >= ticket)
			return KK_OK;
		if (pthread_mutex_trylock(&g->syncer) == 0) {
			/* The sync that kept it busy may have covered us. */
			if (atomic_load(&g->synced) < ticket &&
			    !atomic_load(&g->failed))
				sync_once(g);
			syncer_done(g);
			continue;
		}
		/* Another waiter is syncing: sleep until it is done (at
		 * once if it already is). EINTR and EAGAIN just loop. */
		syscall(SYS_futex, &g->ended, FUTEX_WAIT_PRIVATE, seen, NULL,
		    NULL, 0);
	}
}
