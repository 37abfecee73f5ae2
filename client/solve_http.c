#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "kk_deadline.h"
#include "solve_http.h"

static enum kk_status
token_path(const char *root, const char *token, char **dir, char **path)
{
	*path = NULL;
	if (asprintf(dir, "%s%s", root, SOLVE_HTTP_PATH) == -1) {
		*dir = NULL;
		return KK_ENOMEM;
	}
	/* RFC 8555 8.1: tokens are base64url; nothing else reaches a path. */
	if (*token == '\0' ||
	    strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                  "0123456789-_") != strlen(token))
		return KK_EINVAL;
	if (asprintf(path, "%s%s", *dir, token) == -1) {
		*path = NULL;
		return KK_ENOMEM;
	}
	return KK_OK;
}

enum kk_status
solve_http_put(
    const char *root, const struct solve_item *it, struct kc_err *err)
{
	enum kk_status st;
	char *dir = NULL, *path = NULL;

	st = token_path(root, it->token, &dir, &path);
	if (st == KK_EINVAL)
		err_set(err, st, 1, "the server's token '%s' is not base64url",
		    it->token);
	if (st == KK_OK && (st = file_mkdirs(dir, 0755, err)) == KK_OK)
		st = file_write_atomic(
		    path, it->keyauth, strlen(it->keyauth), 0644, err);
	free(dir);
	free(path);
	return st;
}

enum kk_status
solve_http_remove(const char *root, const struct solve_item *it)
{
	enum kk_status st;
	char *dir = NULL, *path = NULL;

	if ((st = token_path(root, it->token, &dir, &path)) == KK_OK &&
	    unlink(path) == -1 && errno != ENOENT)
		st = KK_EIO;
	free(dir);
	free(path);
	return st;
}

int
solve_http_answer(const char *req, const struct solve_item *items, size_t n,
    const char **body)
{
	const char *p;
	size_t i, len;

	*body = "";
	if (strncmp(req, "GET " SOLVE_HTTP_PATH, 4 + strlen(SOLVE_HTTP_PATH)))
		return 404;
	p = req + 4 + strlen(SOLVE_HTTP_PATH);
	len = strcspn(p, " \r\n");
	if (p[len] != ' ')
		return 404;
	for (i = 0; i < n; i++) {
		if (strlen(items[i].token) == len &&
		    strncmp(p, items[i].token, len) == 0) {
			*body = items[i].keyauth;
			return 200;
		}
	}
	return 404;
}

/* Reads a request head within SOLVE_CONN_TIMEOUT; -1 if none came. */
static int
read_head(int c, char *buf, size_t cap)
{
	struct pollfd p = {c, POLLIN, 0};
	struct timespec end;
	size_t n = 0;
	ssize_t r;

	kk_deadline_in(&end, SOLVE_CONN_TIMEOUT);
	while (n < cap - 1) {
		/*
		 * Waited for with the time left: the socket's own timeout
		 * (solve_accept's) would let the last read block for as long
		 * again, holding the one connection served at a time for
		 * twice SOLVE_CONN_TIMEOUT.
		 */
		if (kk_deadline_poll(&p, &end) <= 0 ||
		    (r = read(c, buf + n, cap - 1 - n)) <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return 0;
	}
	return -1;
}

void
solve_http_serve(int lfd, int quitfd, const struct solve_item *items, size_t n)
{
	char req[SOLVE_HTTP_MAX_REQUEST], head[256];
	const char *body;
	int c, status, hl;

	while ((c = solve_accept(lfd, quitfd)) != -1) {
		if (read_head(c, req, sizeof(req)) == 0) {
			status = solve_http_answer(req, items, n, &body);
			hl = snprintf(head, sizeof(head),
			    "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			    status, status == 200 ? "OK" : "Not Found",
			    strlen(body));
			if (write(c, head, (size_t)hl) == hl)
				(void)!write(c, body, strlen(body));
		}
		close(c);
	}
}
