#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "kk_deadline.h"
#include "lock.h"

enum kk_status
lock_acquire(const char *dir, int wait_seconds, int *fd, struct kc_err *err)
{
	struct timespec pause = {0, 100 * 1000 * 1000};
	enum kk_status st;
	struct timespec end;
	char *path;
	int f;

	*fd = -1;
	if ((st = file_join(dir, "lock", &path)) != KK_OK)
		return st;
	f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (f == -1) {
		st = err_set(err, KK_EIO, 1, "cannot open %s: %s", path,
		    strerror(errno));
		goto out;
	}
	kk_deadline_in(&end, wait_seconds);
	while (flock(f, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			st = err_set(err, KK_EIO, 1, "cannot lock %s: %s", path,
			    strerror(errno));
			close(f);
			goto out;
		}
		if (kk_deadline_past(&end)) {
			st = err_set(err, KK_ECONFLICT, EX_TEMPFAIL,
			    "another kakuin run holds %s; retry later", path);
			close(f);
			goto out;
		}
		nanosleep(&pause, NULL);
	}
	*fd = f;
	/* The one moment no other run can be writing here: what killed runs
	 * left half-written (STATE_DIR/certs/NAME/ is two levels down) goes. */
	file_remove_stale_tmp(dir, 2);
out:
	free(path);
	return st;
}

void
lock_release(int fd)
{
	if (fd != -1)
		close(fd); /* closing drops the flock */
}
