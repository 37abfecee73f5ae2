#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "solve.h"
#include "solve_alpn.h"
#include "solve_dns.h"
#include "solve_http.h"

struct solver {
	const struct solve_cfg *cfg; /* borrowed */
	const struct solve_item *items;
	size_t n, added; /* items whose file or record is in place */
	pid_t child;     /* the standalone server, or 0 */
	int quit;        /* its pipe: closing it stops it */
};

int
solve_listen_parse(const char *spec, struct sockaddr_in *sa)
{
	struct sockaddr_in tmp = {0};
	const char *colon = strrchr(spec, ':');
	char addr[INET_ADDRSTRLEN] = "0.0.0.0", *end;
	long port;

	if (colon != NULL) {
		if ((size_t)(colon - spec) >= sizeof(addr))
			return -1;
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - spec), spec);
		spec = colon + 1;
	}
	port = strtol(spec, &end, 10);
	if (*spec == '\0' || *end != '\0' || port < 1 || port > 65535)
		return -1;
	tmp.sin_family = AF_INET;
	tmp.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, addr, &tmp.sin_addr) != 1)
		return -1;
	if (sa != NULL)
		*sa = tmp;
	return 0;
}

enum kk_status
solve_listen(const char *spec, int *fd, struct kc_err *err)
{
	struct sockaddr_in sa;
	int s, one = 1;

	*fd = -1;
	if (solve_listen_parse(spec, &sa) != 0)
		return err_set(err, KK_EINVAL, EX_CONFIG,
		    "--standalone %s: give [ADDR:]PORT with an IPv4 address",
		    spec);
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_set(err, KK_EIO, 1, "socket: %s", strerror(errno));
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(s, 16) == -1) {
		err_set(err, KK_EIO, 1,
		    "cannot listen on %s for the challenge: %s", spec,
		    strerror(errno));
		close(s);
		return KK_EIO;
	}
	*fd = s;
	return KK_OK;
}

int
solve_accept(int lfd, int quitfd)
{
	struct timeval tv = {SOLVE_CONN_TIMEOUT, 0};
	struct pollfd p[2] = {{lfd, POLLIN, 0}, {quitfd, POLLIN, 0}};
	int c;

	for (;;) {
		if (poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		/* Readable or closed: the parent is done (or gone). */
		if (p[1].revents != 0)
			return -1;
		if ((c = accept(lfd, NULL, NULL)) == -1)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		return c;
	}
}

/* Forks the standalone server; the child never returns. */
static enum kk_status
spawn(struct solver *sv, int lfd, struct solve_alpn *tls, struct kc_err *err)
{
	int p[2];
	pid_t pid;

	if (pipe(p) == -1)
		return err_set(err, KK_EIO, 1, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return err_set(err, KK_EIO, 1, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(p[1]);
		signal(SIGPIPE, SIG_IGN);
		alarm(SOLVE_SERVE_MAX); /* a backstop if all else fails */
		if (tls != NULL)
			solve_alpn_serve(lfd, p[0], tls);
		else
			solve_http_serve(lfd, p[0], sv->items, sv->n);
		_exit(0);
	}
	close(p[0]);
	sv->child = pid;
	sv->quit = p[1];
	return KK_OK;
}

static enum kk_status
standalone(struct solver *sv, struct kc_err *err)
{
	enum kk_status st;
	struct solve_alpn *tls = NULL;
	int lfd;

	if (sv->cfg->type == SOLVE_ALPN &&
	    (st = solve_alpn_prepare(sv->items, sv->n, &tls, err)) != KK_OK)
		return st;
	if ((st = solve_listen(sv->cfg->listen, &lfd, err)) == KK_OK) {
		st = spawn(sv, lfd, tls, err);
		close(lfd);
	}
	solve_alpn_free(tls);
	return st;
}

enum kk_status
solve_start(const struct solve_cfg *c, const struct solve_item *items, size_t n,
    struct solver **out, struct kc_err *err)
{
	struct solver *sv;
	enum kk_status st = KK_OK;

	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		return KK_ENOMEM;
	sv->cfg = c;
	sv->items = items;
	sv->n = n;
	sv->quit = -1;
	*out = sv;
	if (c->type == SOLVE_HTTP && c->webroot != NULL) {
		while (sv->added < n && (st = solve_http_put(c->webroot,
		                             &items[sv->added], err)) == KK_OK)
			sv->added++;
	} else if (c->type == SOLVE_HTTP || c->type == SOLVE_ALPN) {
		st = standalone(sv, err);
	} else if (c->type == SOLVE_DNS) {
		while (sv->added < n &&
		       (st = solve_dns_hook(c->dns_hook, c->hook_timeout, "add",
		            &items[sv->added], err)) == KK_OK)
			sv->added++;
	} else {
		st = err_set(err, KK_EINVAL, EX_CONFIG,
		    "no challenge type configured for dns identifiers");
	}
	return st;
}

/* Closes the child's pipe and reaps it, killing it if it lingers. */
static void
stop_child(struct solver *sv)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	int i, status;

	close(sv->quit);
	for (i = 0; i < 150; i++) {
		if (waitpid(sv->child, &status, WNOHANG) != 0)
			return;
		nanosleep(&pause, NULL);
	}
	kill(sv->child, SIGKILL);
	waitpid(sv->child, &status, 0);
}

enum kk_status
solve_stop(struct solver *sv, struct kc_err *err)
{
	enum kk_status st = KK_OK, r;
	size_t i;

	if (sv == NULL)
		return KK_OK;
	if (sv->child > 0)
		stop_child(sv);
	/* Every item is undone even when one fails: leave nothing behind. */
	for (i = 0; i < sv->added; i++) {
		if (sv->cfg->type == SOLVE_DNS)
			r = solve_dns_hook(sv->cfg->dns_hook,
			    sv->cfg->hook_timeout, "remove", &sv->items[i],
			    err);
		else if ((r = solve_http_remove(
		              sv->cfg->webroot, &sv->items[i])) != KK_OK)
			err_set(err, r, 1, "cannot remove %s%s%s",
			    sv->cfg->webroot, SOLVE_HTTP_PATH,
			    sv->items[i].token);
		if (st == KK_OK)
			st = r;
	}
	free(sv);
	return st;
}
