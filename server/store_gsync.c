/*
 * store_gsync.c - see store_gsync.h.
 */
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
	int fd;
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
	/* Read-only is enough: fdatasync flushes the file, not the fd. */
	if ((g->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		kk_log("store: cannot open %s to sync it: %s", path,
		    strerror(errno));
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
		rc = fdatasync(g->fd);
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
