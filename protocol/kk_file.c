/*
 * Path joining and whole-or-nothing file writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "kk_file.h"

enum kk_status
kk_path_join(const char *dir, const char *name, char **out)
{
	size_t n = strlen(dir);

	if (asprintf(out, "%s%s%s", dir, n > 0 && dir[n - 1] == '/' ? "" : "/",
	        name) < 0) {
		*out = NULL;
		return KK_ENOMEM;
	}
	return KK_OK;
}

/* fsync(2) of the directory holding path, so that a new name persists. */
static int
sync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc = -1;

	dir = slash == NULL   ? strdup(".")
	      : slash == path ? strdup("/")
	                      : strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return -1;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(dir);
	return rc;
}

/* Writes all of data to fd, retrying on EINTR. */
static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * A fresh temporary name beside path, PATH.tmp.PID.RANDOM (kk_file.h);
 * caller frees.
 */
static char *
temp_name(const char *path)
{
	unsigned char r[6];
	char *tmp;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return NULL;
	if (asprintf(&tmp, "%s.tmp.%ld.%02x%02x%02x%02x%02x%02x", path,
	        (long)getpid(), r[0], r[1], r[2], r[3], r[4], r[5]) < 0)
		return NULL;
	return tmp;
}

enum kk_status
kk_file_write_atomic(
    const char *path, const void *data, size_t len, mode_t mode, int replace)
{
	enum kk_status st = KK_EIO;
	char *tmp;
	int fd, saved;

	if ((tmp = temp_name(path)) == NULL)
		return KK_ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode & 0600);
	if (fd < 0)
		goto out;
	if (write_all(fd, data, len) != 0 || fchmod(fd, mode) != 0 ||
	    fsync(fd) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		goto out;
	}
	if (close(fd) != 0)
		goto out;
	/* link() fails where rename() would clobber. */
	if (replace ? rename(tmp, path) != 0 : link(tmp, path) != 0) {
		st = errno == EEXIST ? KK_EEXIST : KK_EIO;
		goto out;
	}
	st = sync_dir_of(path) == 0 ? KK_OK : KK_EIO;
out:
	saved = errno;
	if (st != KK_OK || !replace)
		(void)unlink(tmp);
	free(tmp);
	errno = saved;
	return st;
}
