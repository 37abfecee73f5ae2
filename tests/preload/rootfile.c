/*
 * rootfile.c - an LD_PRELOAD library that makes the files of the
 * directory $ROOTFILE_DIR appear at the root of the filesystem, for tests
 * of what the real server would do with a file there that nobody may
 * create in a test: a path "/NAME" (one component) for which
 * $ROOTFILE_DIR/NAME exists is that file to stat64(), fopen64() and
 * access(), the calls civetweb makes. Every other path is left alone.
 *
 * When loaded with $ROOTFILE_DIR set, it creates $ROOTFILE_DIR/loaded at
 * once, so that a test can tell the library was in the process at all.
 */
#include <sys/stat.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Exported: they replace the process's own. */
int stat64(const char *path, struct stat64 *st);
FILE *fopen64(const char *path, const char *mode);
int access(const char *path, int mode);

/* The process's own, looked up on first use (a library's constructor
 * may call them before ours has run). */
static int (*real_stat64)(const char *, struct stat64 *);
static FILE *(*real_fopen64)(const char *, const char *);
static int (*real_access)(const char *, int);

static void
resolve(void)
{
	if (real_stat64 == NULL)
		real_stat64 = (int (*)(const char *, struct stat64 *))dlsym(
		    RTLD_NEXT, "stat64");
	if (real_fopen64 == NULL)
		real_fopen64 = (FILE * (*)(const char *, const char *))
		    dlsym(RTLD_NEXT, "fopen64");
	if (real_access == NULL)
		real_access =
		    (int (*)(const char *, int))dlsym(RTLD_NEXT, "access");
}

__attribute__((constructor)) static void
rootfile_init(void)
{
	const char *dir = getenv("ROOTFILE_DIR");
	char mark[PATH_MAX];
	int fd;

	if (dir == NULL || (size_t)snprintf(mark, sizeof(mark), "%s/loaded",
	                       dir) >= sizeof(mark))
		return;
	if ((fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
}

/*
 * The stand-in for path in buf: $ROOTFILE_DIR/NAME for "/NAME" when that
 * file exists, else path itself.
 */
static const char *
redirect(const char *path, char *buf, size_t size)
{
	const char *dir = getenv("ROOTFILE_DIR");
	struct stat64 st;

	if (dir == NULL || path == NULL || path[0] != '/' || path[1] == '\0' ||
	    strchr(path + 1, '/') != NULL)
		return path;
	if ((size_t)snprintf(buf, size, "%s%s", dir, path) >= size ||
	    real_stat64(buf, &st) != 0)
		return path;
	return buf;
}

int
stat64(const char *path, struct stat64 *st)
{
	char buf[PATH_MAX];

	resolve();

	return real_stat64(redirect(path, buf, sizeof(buf)), st);
}

FILE *
fopen64(const char *path, const char *mode)
{
	char buf[PATH_MAX];

	resolve();

	return real_fopen64(redirect(path, buf, sizeof(buf)), mode);
}

int
access(const char *path, int mode)
{
	char buf[PATH_MAX];

	resolve();

	return real_access(redirect(path, buf, sizeof(buf)), mode);
}
