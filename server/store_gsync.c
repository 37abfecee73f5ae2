/*
 * store_gsync.c - see store_gsync.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kk_log.h"
#include "store_gsync.h"

struct gsync {
	pthread_mutex_t mu;
	pthread_cond_t done; /* a sync ended */
	char *path;
	int fd;          /* used by the waiter that syncs, one at a time */
	uint64_t issued; /* the last ticket handed out */
	uint64_t synced; /* every ticket up to this one is on disk */
	int syncing;     /* a waiter is in fdatasync now */
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
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->done, NULL);
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
	pthread_cond_destroy(&g->done);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

uint64_t
gsync_ticket(struct gsync *g)
{
	uint64_t t;

	pthread_mutex_lock(&g->mu);
	t = ++g->issued;
	pthread_mutex_unlock(&g->mu);
	return t;
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

enum kk_status
gsync_wait(struct gsync *g, uint64_t ticket)
{
	enum kk_status st = KK_OK;
	uint64_t upto;
	int rc;

	pthread_mutex_lock(&g->mu);
	while (g->synced < ticket && st == KK_OK) {
		if (g->syncing) {
			pthread_cond_wait(&g->done, &g->mu);
			continue;
		}
		/* Every commit ticketed by now has written its frames. */
		upto = g->issued;
		g->syncing = 1;
		pthread_mutex_unlock(&g->mu);
		rc = sync_file(g);
		if (rc != 0)
			kk_log(
			    "store: fdatasync of the WAL: %s", strerror(errno));
		pthread_mutex_lock(&g->mu);
		g->syncing = 0;
		if (rc == 0 && upto > g->synced)
			g->synced = upto;
		else if (rc != 0)
			st = KK_EIO;
		pthread_cond_broadcast(&g->done);
	}
	pthread_mutex_unlock(&g->mu);
	return st;
}
