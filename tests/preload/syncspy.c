/*
 * syncspy.c - an LD_PRELOAD library for the durability tests of the real
 * server. It appends to the file $SYNCSPY_LOG, in the order they happen:
 *   "sync PATH"            after each fsync() or fdatasync() that returned 0
 *                          on a file whose path contains $SYNCSPY_MATCH;
 *   "respond METHOD URI"   before the server sends a response's first byte
 *                          (the mg_write that starts with the status line,
 *                          or mg_response_header_send).
 * A test can then check that the commit of a change was synced before the
 * response that reported it began: killing the process cannot show that,
 * the page cache outlives it. Each line is one write() with O_APPEND, so
 * lines from different threads do not interleave. Without $SYNCSPY_LOG it
 * only forwards the calls.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

/* Exported: they replace the process's own. */
int fsync(int fd);
int fdatasync(int fd);
int mg_response_header_send(struct mg_connection *conn);
int mg_write(struct mg_connection *conn, const void *buf, size_t len);

static void
logf_(const char *fmt, ...)
{
	const char *path = getenv("SYNCSPY_LOG");
	char line[PATH_MAX + 64];
	va_list ap;
	int fd, n;

	if (path == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) <
	    0)
		return;
	if (write(fd, line, (size_t)n) != n) {
		/* Nothing to do: the test will miss the line. */
	}
	close(fd);
}

static void *
real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (f == NULL) {
		fprintf(stderr, "syncspy: no %s after this library\n", name);
		abort();
	}
	return f;
}

static int
synced(const char *name, int fd)
{
	int (*call)(int) = (int (*)(int))real(name);
	const char *match = getenv("SYNCSPY_MATCH");
	char link[64], path[PATH_MAX];
	ssize_t n;
	int rc;

	if ((rc = call(fd)) != 0 || match == NULL)
		return rc;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) < 0)
		return rc;
	path[n] = '\0';
	if (strstr(path, match) != NULL)
		logf_("sync %s", path);
	return rc;
}

int
fsync(int fd)
{
	return synced("fsync", fd);
}

int
fdatasync(int fd)
{
	return synced("fdatasync", fd);
}

static void
log_respond(struct mg_connection *conn)
{
	const struct mg_request_info *(*info)(const struct mg_connection *) =
	    (const struct mg_request_info *(*)(const struct mg_connection *))
	        dlsym(RTLD_DEFAULT, "mg_get_request_info");
	const struct mg_request_info *ri = info ? info(conn) : NULL;

	logf_("respond %s %s",
	    ri && ri->request_method ? ri->request_method : "?",
	    ri && ri->local_uri ? ri->local_uri : "?");
}

int
mg_response_header_send(struct mg_connection *conn)
{
	int (*send)(struct mg_connection *) =
	    (int (*)(struct mg_connection *))real("mg_response_header_send");

	log_respond(conn);
	return send(conn);
}

/* The server writes each response, status line first, in one mg_write. */
int
mg_write(struct mg_connection *conn, const void *buf, size_t len)
{
	int (*write_)(struct mg_connection *, const void *, size_t) = (int (*)(
	    struct mg_connection *, const void *, size_t))real("mg_write");

	if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0)
		log_respond(conn);
	return write_(conn, buf, len);
}
