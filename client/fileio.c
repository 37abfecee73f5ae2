#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "kk_file.h"

enum kk_status
file_read(
    const char *path, size_t max, char **buf, size_t *len, struct kc_err *err)
{
	enum kk_status st = KK_EIO;
	char *b = NULL;
	size_t n = 0;
	ssize_t r;
	int fd;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return KK_ENOTFOUND;
		return err_set(err, KK_EIO, 1, "cannot read %s: %s", path,
		    strerror(errno));
	}
	b = malloc(max + 1);
	if (b == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	while ((r = read(fd, b + n, max + 1 - n)) > 0) {
		n += (size_t)r;
		if (n > max) {
			st = err_set(err, KK_ETOOBIG, EX_CONFIG,
			    "%s: larger than %zu bytes", path, max);
			goto out;
		}
	}
	if (r == -1) {
		err_set(err, KK_EIO, 1, "cannot read %s: %s", path,
		    strerror(errno));
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	st = KK_OK;
out:
	free(b);
	close(fd);
	return st;
}

enum kk_status
file_write_new(const char *path, const void *data, size_t len, mode_t mode,
    struct kc_err *err)
{
	const char *p = data;
	ssize_t w;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd == -1)
		return err_set(err, KK_EIO, 1, "cannot create %s: %s", path,
		    strerror(errno));
	/* The umask may have narrowed mode; keys must not be wider either. */
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (len > 0) {
		w = write(fd, p, len);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return KK_OK;
fail:
	err_set(err, KK_EIO, 1, "cannot write %s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(path);
	return KK_EIO;
}

enum kk_status
file_dirname(const char *path, char **out)
{
	char *copy;

	*out = NULL;
	copy = strdup(path);
	if (copy == NULL)
		return KK_ENOMEM;
	*out = strdup(dirname(copy));
	free(copy);
	return *out == NULL ? KK_ENOMEM : KK_OK;
}

enum kk_status
file_sync_dir(const char *dir, struct kc_err *err)
{
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || fsync(fd) == -1) {
		err_set(err, KK_EIO, 1, "cannot sync directory %s: %s", dir,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return KK_EIO;
	}
	close(fd);
	return KK_OK;
}

enum kk_status
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    struct kc_err *err)
{
	enum kk_status st;

	/* One atomic write for the whole project: kk_file.h. */
	st = kk_file_write_atomic(path, data, len, mode, 1);
	if (st == KK_OK || st == KK_ENOMEM)
		return st;
	return err_set(
	    err, KK_EIO, 1, "cannot write %s: %s", path, strerror(errno));
}

enum kk_status
file_mkdirs(const char *path, mode_t mode, struct kc_err *err)
{
	enum kk_status st = KK_OK;
	char *p, *s;

	p = strdup(path);
	if (p == NULL)
		return KK_ENOMEM;
	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST) {
			st = err_set(err, KK_EIO, 1,
			    "cannot create directory %s: %s", p,
			    strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return st;
}

enum kk_status
file_join(const char *a, const char *b, char **out)
{
	return kk_path_join(a, b, out);
}

enum kk_status
file_remove_tree(const char *path, struct kc_err *err)
{
	enum kk_status st = KK_OK;
	struct dirent *de;
	struct stat sb;
	char *child;
	DIR *d;

	if (lstat(path, &sb) == -1)
		return errno == ENOENT
		           ? KK_OK
		           : err_set(err, KK_EIO, 1, "cannot remove %s: %s",
		                 path, strerror(errno));
	if (!S_ISDIR(sb.st_mode)) {
		if (unlink(path) == -1)
			return err_set(err, KK_EIO, 1, "cannot remove %s: %s",
			    path, strerror(errno));
		return KK_OK;
	}
	d = opendir(path);
	if (d == NULL)
		return err_set(err, KK_EIO, 1, "cannot open %s: %s", path,
		    strerror(errno));
	while (st == KK_OK && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((st = file_join(path, de->d_name, &child)) != KK_OK)
			break;
		st = file_remove_tree(child, err);
		free(child);
	}
	closedir(d);
	if (st == KK_OK && rmdir(path) == -1)
		st = err_set(err, KK_EIO, 1, "cannot remove %s: %s", path,
		    strerror(errno));
	return st;
}

/* 1 when s is "" or "." and 1..32 hex digits (kk_file's random part). */
static int
random_part(const char *s)
{
	size_t n;

	if (*s == '\0')
		return 1; /* NAME.tmp.PID, as older versions wrote */
	if (*s++ != '.')
		return 0;
	n = strspn(s, "0123456789abcdef");
	return n > 0 && n <= 32 && s[n] == '\0';
}

int
file_is_stale_tmp(const char *name)
{
	const char *tmp = strstr(name, ".tmp."), *digits;
	char *end;
	long pid;

	if (tmp == NULL || tmp == name)
		return 0;
	/* The last ".tmp.": a name may contain the string before it. */
	while ((digits = strstr(tmp + 1, ".tmp.")) != NULL)
		tmp = digits;
	digits = tmp + strlen(".tmp.");
	if (*digits < '0' || *digits > '9')
		return 0;
	errno = 0;
	pid = strtol(digits, &end, 10);
	return random_part(end) && errno == 0 && pid > 0 &&
	       pid != (long)getpid();
}

void
file_remove_stale_tmp(const char *dir, int depth)
{
	struct dirent *de;
	struct stat sb;
	char *child;
	DIR *d;

	if (depth < 0 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    file_join(dir, de->d_name, &child) != KK_OK)
			continue;
		if (lstat(child, &sb) == 0) {
			if (S_ISDIR(sb.st_mode))
				file_remove_stale_tmp(child, depth - 1);
			else if (S_ISREG(sb.st_mode) &&
			         file_is_stale_tmp(de->d_name))
				unlink(child);
		}
		free(child);
	}
	closedir(d);
}
