/*
 * rootfile.c - an LD_PRELOAD library that makes the files of the
 * directory $ROOTFILE_DIR appear at the root of the filesystem, for tests
 * of what the real server would do with a file there that nobody may
 * create in a test: a path "/NAME" (one component) for which
 * $ROOTFILE_DIR/NAME exists is that file to stat(), stat64(), fopen(),
 * fopen64() and access(), the calls civetweb makes to look for a file,
 * with or without large-file support. Every other path is left alone.
 *
 * When loaded with $ROOTFILE_DIR set, it creates $ROOTFILE_DIR/loaded at
 * once, so that a test can tell the library was in the process at all.
 *
 * It needs glibc 2.33 or later, where stat and stat64 are functions of
 * their own: before, a program's stat calls __xstat, which this does not
 * wrap (and a failed lookup of the calls wrapped ends the process).
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
int stat(const char *path, struct stat *st);
int stat64(const char *path, struct stat64 *st);
FILE *fopen(const char *path, const char *mode);
FILE *fopen64(const char *path, const char *mode);
int access(const char *path, int mode);

/*
 * The process's own definition of name, or the end of the process,
 * saying why. Looked up on every call, as syncspy.c does: nothing to
 * share between threads, and right even before any constructor ran.
 */
static void *
next(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (f == NULL) {
		fprintf(stderr, "rootfile: no %s after this library\n", name);
		abort();
	}
	return f;
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
	int (*real_stat64)(const char *, struct stat64 *) =
	    (int (*)(const char *, struct stat64 *))next("stat64");
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
stat(const char *path, struct stat *st)
{
	char buf[PATH_MAX];

	return ((int (*)(const char *, struct stat *))next("stat"))(
	    redirect(path, buf, sizeof(buf)), st);
}

int
stat64(const char *path, struct stat64 *st)
{
	char buf[PATH_MAX];

	return ((int (*)(const char *, struct stat64 *))next("stat64"))(
	    redirect(path, buf, sizeof(buf)), st);
}

FILE *
fopen(const char *path, const char *mode)
{
	char buf[PATH_MAX];

	return ((FILE * (*)(const char *, const char *)) next("fopen"))(
	    redirect(path, buf, sizeof(buf)), mode);
}

FILE *
fopen64(const char *path, const char *mode)
{
	char buf[PATH_MAX];

	return ((FILE * (*)(const char *, const char *)) next("fopen64"))(
	    redirect(path, buf, sizeof(buf)), mode);
}

int
access(const char *path, int mode)
{
	char buf[PATH_MAX];

	return ((int (*)(const char *, int))next("access"))(
	    redirect(path, buf, sizeof(buf)), mode);
}
