/*
 * bench_floor - a lower bound on the CPU a server spends on an enrollment
 * on this machine: part of the work no ACME server can leave out, done by
 * a server with nothing else in it, driven as bench_enroll drives
 * kakuin-server.
 *
 *   bench_floor [--concurrency N] [--count M] [--dir D] [--threads] [--kv]
 *
 * N connections (16), M timed enrollments (2,000), the commits' file in D
 * ($TMPDIR or /tmp; unlinked at once).
 *
 * An enrollment is four requests on a connection kept alive (newAccount,
 * newOrder, finalize, the certificate's download), each through TLS 1.3
 * and HTTP/1.1 with bodies and answers of the sizes kakuin's have. The
 * server verifies an ECDSA P-256 signature on every request and a second
 * one on finalize (the CSR's), takes an HMAC on newAccount (the external
 * account binding) and signs once on finalize (the certificate). Each of
 * the first three requests commits: it appends the pages kakuin-server's
 * SQLite writes for it (29 in all, one write per commit) to a file, and
 * its answer waits until a group fdatasync covers them.
 *
 * The server is as lean as this program could make it: one event loop per
 * CPU (epoll, non-blocking sockets, SO_REUSEPORT) and no other thread; a
 * loop answers every request it has read, then syncs once for all of them
 * that committed (or finds the other loop's sync covered them) and sends
 * their answers. Keys are parsed once; nothing is allocated per request
 * but OpenSSL's own. With --threads it has civetweb's structure instead,
 * and so kakuin-server's: a thread per connection, blocking reads and
 * writes, each thread waiting for the sync that covers its own commit. The
 * two figures apart are what that structure costs by itself.
 *
 * What it leaves out is everything else an enrollment needs, some of it
 * work every server must do too: parsing the JWS, the JWK and the CSR,
 * JSON, the database's statements, indexes and checkpoints, nonces, making
 * and encoding the certificate, the audit. So it is a bound, not a target:
 * kakuin-server's CPU per enrollment (bench_enroll) over this figure,
 * measured in the same minutes, is what those and its own structure cost.
 *
 * The server runs in a child process; its CPU is that process's clock,
 * read before and after the timed enrollments. The client (libcurl's
 * multi interface, one event loop) runs in this process and is reported
 * too: on two CPUs the two share the machine, as in bench_enroll.
 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"

#define STEPS 4
#define PAGE 4096
#define WAL_PAGES 4096 /* the file's size; commits wrap around in it */
#define MAX_LOOPS 2
#define MAX_PAGES 14  /* the most a step commits */
#define TBS_BYTES 480 /* a certificate's to-be-signed part */
#define IN_MAX 8192   /* one request, headers and body */
#define OUT_MAX 4096

/*
 * Per step: the request body's size, the answer body's size and status,
 * the pages committed, and the ECDSA verifications. The sizes are
 * kakuin's (bench_enroll against kakuin-server): an EAB newAccount JWS,
 * a newOrder, a finalize carrying a CSR, a POST-as-GET; the answers an
 * account, an order, an order, a PEM chain of two certificates. The
 * pages are the WAL frames each of kakuin-server's transactions writes
 * (docs/performance.md, fourth round); its checkpoints are left out.
 */
static const struct step {
	const char *path;
	int req_bytes, ans_bytes, status, pages, verifies;
} steps[STEPS] = {
    {"/new-account", 1150, 520, 201, 6, 1},
    {"/new-order", 560, 640, 201, 14, 1},
    {"/finalize", 1180, 700, 200, 9, 2},
    {"/cert", 420, 1650, 200, 0, 1},
};

/* What the server has, shared by its loops. */
struct srv {
	SSL_CTX *ctx;
	EVP_PKEY *acct; /* the account's public key, parsed once */
	EVP_PKEY *ca;   /* signs the "certificate" */
	unsigned char eab_key[32];
	int wal;                   /* the file commits append to */
	pthread_mutex_t append_mu; /* guards off and issued */
	off_t off;
	uint64_t issued;         /* commits appended */
	pthread_mutex_t sync_mu; /* held through a sync; guards synced */
	uint64_t synced;         /* commits a sync has covered */
	unsigned char pages[MAX_PAGES * PAGE];
	char answers[STEPS][OUT_MAX];
	int answer_len[STEPS];
};

enum conn_state { C_READ, C_WAIT_SYNC, C_WRITE };

struct conn {
	struct srv *s;
	int fd;
	SSL *ssl;
	enum conn_state state;
	char in[IN_MAX];
	size_t in_len, req_len;
	size_t hdr_len;  /* of the request being answered, its blank line too */
	int step;        /* of the request being answered */
	uint64_t ticket; /* its commit, 0 for none */
	size_t out_off;
	int polling_out;        /* waiting for room to write: EPOLLOUT is on */
	struct conn *next_wait; /* in the loop's list of waiting answers */
};

struct loop {
	struct srv *s;
	int listen_fd, ep;
	struct conn *waiting;
};

/*
 * Ends the server process, from any of its threads, saying why (errno's
 * text with it). A server that cannot go on voids the run: the client
 * sees its connections close and reports the failure.
 */
static void __attribute__((noreturn)) server_fail(const char *what)
{
	fprintf(
	    stderr, "bench_floor: the server: %s: %s\n", what, strerror(errno));
	_exit(1);
}

/* The request's signature: payload || DER signature || its length. */
static int
verify_body(EVP_PKEY *key, const unsigned char *b, size_t n)
{
	EVP_MD_CTX *md;
	size_t sig_len;
	int ok;

	if (n < 2 || (sig_len = b[n - 1]) == 0 || sig_len + 1 > n)
		return 0;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit_ex(
	         md, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
	     EVP_DigestVerify(
	         md, b + n - 1 - sig_len, sig_len, b, n - 1 - sig_len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* An ECDSA signature by key over n bytes of data, DER, into sig (80). */
static int
sign(EVP_PKEY *key, const unsigned char *data, size_t n, unsigned char *sig,
    size_t *sig_len)
{
	EVP_MD_CTX *md;
	int ok;

	*sig_len = 80;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) ==
	         1 &&
	     EVP_DigestSign(md, sig, sig_len, data, n) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* Appends a commit's pages; its ticket through *ticket. */
static int
commit(struct srv *s, int pages, uint64_t *ticket)
{
	size_t len = (size_t)pages * PAGE;
	int ok;

	pthread_mutex_lock(&s->append_mu);
	if (s->off + (off_t)len > (off_t)WAL_PAGES * PAGE)
		s->off = 0; /* as a WAL is reused after a checkpoint */
	s->pages[0]++;
	ok = pwrite(s->wal, s->pages, len, s->off) == (ssize_t)len;
	s->off += (off_t)len;
	*ticket = ++s->issued;
	pthread_mutex_unlock(&s->append_mu);
	return ok;
}

/* Returns once commit ticket is on disk: one sync for all so far. */
static int
sync_upto(struct srv *s, uint64_t ticket)
{
	uint64_t upto;
	int ok = 1;

	pthread_mutex_lock(&s->sync_mu);
	if (s->synced < ticket) {
		pthread_mutex_lock(&s->append_mu);
		upto = s->issued;
		pthread_mutex_unlock(&s->append_mu);
		ok = fdatasync(s->wal) == 0;
		if (ok)
			s->synced = upto;
	}
	pthread_mutex_unlock(&s->sync_mu);
	return ok;
}

/* The step a request's path names, or -1. */
static int
step_of(const char *req, size_t n)
{
	for (int i = 0; i < STEPS; i++) {
		size_t pl = strlen(steps[i].path);

		if (n > 5 + pl && memcmp(req, "POST ", 5) == 0 &&
		    memcmp(req + 5, steps[i].path, pl) == 0 &&
		    req[5 + pl] == ' ')
			return i;
	}
	return -1;
}

/*
 * The length of the whole request at the front of c->in once it is
 * there, and of its head in *hdr_len: 0 while incomplete, -1 when it is
 * not one this server takes.
 */
static long
request_length(const struct conn *c, size_t *hdr_len)
{
	const char *end, *p;
	long body;

	end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	if (end == NULL)
		return c->in_len < IN_MAX ? 0 : -1;
	p = memmem(c->in, (size_t)(end - c->in), "\r\ncontent-length:", 17);
	if (p == NULL)
		p = memmem(
		    c->in, (size_t)(end - c->in), "\r\nContent-Length:", 17);
	if (p == NULL || (body = strtol(p + 17, NULL, 10)) <= 0 ||
	    body > IN_MAX)
		return -1;
	if ((size_t)(end + 4 - c->in) + (size_t)body > IN_MAX)
		return -1;
	if ((size_t)(end + 4 - c->in) + (size_t)body > c->in_len)
		return 0;
	*hdr_len = (size_t)(end + 4 - c->in);
	return (long)*hdr_len + body;
}

/* Does a request's work and commits: sets c->step and c->ticket. */
static int
request_work(struct srv *s, struct conn *c)
{
	const struct step *st;
	unsigned char mac[32], sig[80];
	unsigned int mac_len;
	const unsigned char *body;
	size_t body_len, sig_len;

	if ((c->step = step_of(c->in, c->req_len)) < 0)
		return 0;
	st = &steps[c->step];
	body = (const unsigned char *)c->in + c->hdr_len;
	body_len = c->req_len - c->hdr_len;
	for (int i = 0; i < st->verifies; i++)
		if (!verify_body(s->acct, body, body_len))
			return 0;
	if (c->step == 0 && HMAC(EVP_sha256(), s->eab_key, sizeof(s->eab_key),
	                        body, body_len / 2, mac, &mac_len) == NULL)
		return 0;
	/* The certificate's signature, over a to-be-signed part's size. */
	if (c->step == 2 && (body_len < TBS_BYTES ||
	                        !sign(s->ca, body, TBS_BYTES, sig, &sig_len)))
		return 0;
	c->ticket = 0;
	return st->pages == 0 || commit(s, st->pages, &c->ticket);
}

/* Does a request's work; its answer then waits for its commit's sync. */
static int
answer_request(struct loop *l, struct conn *c)
{
	if (!request_work(l->s, c))
		return 0;
	c->state = C_WAIT_SYNC;
	c->next_wait = l->waiting;
	l->waiting = c;
	return 1;
}

/* Keep-alive: what followed the request answered is the next one's. */
static void
conn_consume(struct conn *c)
{
	memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
	c->in_len -= c->req_len;
	c->req_len = 0;
}

static void
conn_close(struct loop *l, struct conn *c)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

/* Sends what is left of c's answer: 1 done, 0 blocked, -1 failed. */
static int
conn_write(struct loop *l, struct conn *c)
{
	const char *a = l->s->answers[c->step];
	int len = l->s->answer_len[c->step], n;
	struct epoll_event ev = {.data.ptr = c};

	while (c->out_off < (size_t)len) {
		/* SSL_get_error reads the queue: nothing older in it. */
		ERR_clear_error();
		n = SSL_write(c->ssl, a + c->out_off, len - (int)c->out_off);
		if (n <= 0) {
			if (SSL_get_error(c->ssl, n) != SSL_ERROR_WANT_WRITE)
				return -1;
			/* Not EPOLLIN: input must wait for this answer. */
			ev.events = EPOLLOUT;
			epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
			c->polling_out = 1;
			return 0;
		}
		c->out_off += (size_t)n;
	}
	if (c->polling_out) {
		ev.events = EPOLLIN;
		epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->polling_out = 0;
	}
	conn_consume(c);
	c->state = C_READ;
	return 1;
}

/* Reads what has come; answers each whole request. 0 to close c. */
static int
conn_read(struct loop *l, struct conn *c)
{
	long len;
	int n;

	for (;;) {
		if (c->state != C_READ)
			return 1; /* one request at a time, as ACME clients */
		if ((len = request_length(c, &c->hdr_len)) < 0)
			return 0;
		if (len > 0) {
			c->req_len = (size_t)len;
			if (!answer_request(l, c))
				return 0;
			continue;
		}
		ERR_clear_error();
		n = SSL_read(
		    c->ssl, c->in + c->in_len, (int)(IN_MAX - c->in_len));
		/*
		 * WANT_WRITE would need EPOLLOUT; with a few hundred bytes
		 * in flight the socket never fills, and a connection that
		 * stalled would fail the run on the client's timeout.
		 */
		if (n <= 0)
			return SSL_get_error(c->ssl, n) ==
			           SSL_ERROR_WANT_READ ||
			       SSL_get_error(c->ssl, n) == SSL_ERROR_WANT_WRITE;
		c->in_len += (size_t)n;
	}
}

/* A connection just accepted on fd, its TLS not begun (caller frees). */
static struct conn *
conn_new(struct srv *s, int fd)
{
	struct conn *c;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ssl = SSL_new(s->ctx)) == NULL)
		server_fail("a new connection");
	c->s = s;
	c->fd = fd;
	SSL_set_fd(c->ssl, fd);
	SSL_set_accept_state(c->ssl);
	return c;
}

static void
accept_all(struct loop *l)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct conn *c;
	int fd;

	for (;;) {
		fd = accept4(
		    l->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			server_fail("accept");
		}
		c = conn_new(l->s, fd);
		ev.data.ptr = c;
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			server_fail("epoll_ctl");
	}
}

/* One event loop: runs until the process is killed or fails. */
static void *
loop_run(void *arg)
{
	struct loop *l = arg;
	struct epoll_event evs[64], ev = {.events = EPOLLIN};
	struct conn *c, *next;
	uint64_t need;
	int n;

	ev.data.ptr = NULL; /* the listener */
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(l->ep, EPOLL_CTL_ADD, l->listen_fd, &ev) != 0)
		server_fail("epoll");
	for (;;) {
		if ((n = epoll_wait(l->ep, evs, 64, -1)) < 0 && errno != EINTR)
			server_fail("epoll_wait");
		for (int i = 0; i < n; i++) {
			if ((c = evs[i].data.ptr) == NULL)
				accept_all(l);
			else if (c->state == C_WRITE) {
				if (conn_write(l, c) < 0 ||
				    (c->state == C_READ && !conn_read(l, c)))
					conn_close(l, c);
			} else if (!conn_read(l, c))
				conn_close(l, c);
		}
		/*
		 * One sync for every answer this turn has made. Sending one
		 * may answer the next request already read, which waits in
		 * turn: no event would come for it.
		 */
		while (l->waiting != NULL) {
			need = 0;
			for (c = l->waiting; c != NULL; c = c->next_wait)
				if (c->ticket > need)
					need = c->ticket;
			if (need > 0 && !sync_upto(l->s, need))
				server_fail("fdatasync");
			for (c = l->waiting, l->waiting = NULL; c != NULL;
			     c = next) {
				next = c->next_wait;
				c->out_off = 0;
				c->state = C_WRITE;
				if (conn_write(l, c) < 0 ||
				    (c->state == C_READ && !conn_read(l, c)))
					conn_close(l, c);
			}
		}
	}
}

/*
 * A connection's thread (--threads): blocking reads and writes, and a
 * wait for the sync of its own commit (sync_upto's mutex hands one sync
 * to all who wait for it).
 */
static void *
conn_thread(void *arg)
{
	struct conn *c = arg;
	struct srv *s = c->s;
	long len;
	int n;

	for (;;) {
		while ((len = request_length(c, &c->hdr_len)) == 0) {
			n = SSL_read(c->ssl, c->in + c->in_len,
			    (int)(IN_MAX - c->in_len));
			if (n <= 0)
				goto out;
			c->in_len += (size_t)n;
		}
		if (len < 0)
			goto out;
		c->req_len = (size_t)len;
		if (!request_work(s, c))
			goto out;
		if (c->ticket > 0 && !sync_upto(s, c->ticket))
			server_fail("fdatasync");
		if (SSL_write(c->ssl, s->answers[c->step],
		        s->answer_len[c->step]) != s->answer_len[c->step])
			goto out;
		conn_consume(c);
	}
out:
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
	return NULL;
}

struct acceptor {
	struct srv *s;
	int fd;
};

/* Accepts on a's listener, a thread for each connection; never returns. */
static void *
accept_run(void *arg)
{
	struct acceptor *a = arg;
	pthread_attr_t attr;
	struct conn *c;
	pthread_t th;
	int fd;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (fcntl(a->fd, F_SETFL, 0) != 0) /* blocking */
		server_fail("fcntl");
	for (;;) {
		if ((fd = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			server_fail("accept");
		}
		c = conn_new(a->s, fd);
		if (pthread_create(&th, &attr, conn_thread, c) != 0)
			server_fail("pthread_create");
	}
}

/* The server's answers, with the headers kakuin-server sends: 1, or 0. */
static int
answers_make(struct srv *s)
{
	for (int i = 0; i < STEPS; i++) {
		char *a = s->answers[i];
		int h;

		h = snprintf(a, OUT_MAX,
		    "HTTP/1.1 %d %s\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %d\r\n"
		    "Cache-Control: no-store\r\n"
		    "Replay-Nonce: Aa0Bb1Cc2Dd3Ee4Ff5Gg6Hh7Ii8Jj9Kk0Ll1Mm2\r\n"
		    "Link: <https://127.0.0.1/acme/directory>;rel=\"index\"\r\n"
		    "Location: "
		    "https://127.0.0.1/acme/order/0123456789abcdef\r\n"
		    "Connection: keep-alive\r\n\r\n",
		    steps[i].status, steps[i].status == 201 ? "Created" : "OK",
		    steps[i].ans_bytes);
		if (h < 0 || h + steps[i].ans_bytes > OUT_MAX)
			return 0;
		memset(a + h, 'a', (size_t)steps[i].ans_bytes);
		s->answer_len[i] = h + steps[i].ans_bytes;
	}
	return 1;
}

/*
 * The server process: as many loops (or acceptors, with threads) as this
 * process may use CPUs, up to MAX_LOOPS, on the listeners made before the
 * fork by parent. Never returns.
 */
static void __attribute__((noreturn))
serve(struct srv *s, int *listen_fds, int n_loops, int threads, pid_t parent)
{
	struct acceptor acc[MAX_LOOPS];
	struct loop loops[MAX_LOOPS];
	void *(*run)(void *) = threads ? accept_run : loop_run;
	void *arg[MAX_LOOPS];
	pthread_t th;

	signal(SIGPIPE, SIG_IGN);
	/* Gone with the parent, even if it went before the prctl. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		server_fail("prctl");
	if (getppid() != parent)
		_exit(1);
	memset(loops, 0, sizeof(loops));
	for (int i = 0; i < n_loops; i++) {
		loops[i].s = acc[i].s = s;
		loops[i].listen_fd = acc[i].fd = listen_fds[i];
		arg[i] = threads ? (void *)&acc[i] : (void *)&loops[i];
		if (i > 0 && pthread_create(&th, NULL, run, arg[i]) != 0)
			server_fail("pthread_create");
	}
	run(arg[0]);
	_exit(1); /* not reached: the loops and acceptors never return */
}

/* A listener on 127.0.0.1:*port (0: any, set on return). -1 on failure. */
static int
listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int fd, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)*port);
	if ((fd = socket(
	         AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 256) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static EVP_PKEY *
p256(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* A self-signed certificate for 127.0.0.1 (caller frees), or NULL. */
static X509 *
self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_EXTENSION *san = NULL;
	X509_NAME *name;
	int ok;

	if (x == NULL)
		return NULL;
	name = X509_get_subject_name(x);
	ok = X509_set_version(x, X509_VERSION_3) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -60) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	         (const unsigned char *)"bench_floor", -1, -1, 0) &&
	     X509_set_issuer_name(x, name) && X509_set_pubkey(x, key) &&
	     (san = X509V3_EXT_conf_nid(
	          NULL, NULL, NID_subject_alt_name, "IP:127.0.0.1")) != NULL &&
	     X509_add_ext(x, san, -1) && X509_sign(x, key, EVP_sha256()) > 0;
	X509_EXTENSION_free(san);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The server's keys, certificate and answers; its TLS cert's PEM out. */
static int
srv_init(struct srv *s, const char *dir, char **cert_pem)
{
	char path[4096];
	X509 *cert = NULL;
	EVP_PKEY *tls = NULL;
	BIO *b = NULL;
	char *p;
	long n;
	int i, ok = 0;

	memset(s, 0, sizeof(*s));
	s->wal = -1;
	pthread_mutex_init(&s->append_mu, NULL);
	pthread_mutex_init(&s->sync_mu, NULL);
	if (!answers_make(s)) {
		fprintf(stderr, "bench_floor: an answer exceeds %d bytes\n",
		    OUT_MAX);
		goto out;
	}
	memset(s->pages, 'p', sizeof(s->pages));
	memset(s->eab_key, 'k', sizeof(s->eab_key));
	if ((tls = p256()) == NULL || (s->acct = p256()) == NULL ||
	    (s->ca = p256()) == NULL || (cert = self_signed(tls)) == NULL ||
	    (s->ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate(s->ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(s->ctx, tls) != 1) {
		ERR_print_errors_fp(stderr);
		goto out;
	}
	/*
	 * A name of its own (two runs, or a link planted in a shared
	 * directory, never meet it), unlinked at once: nothing is left
	 * behind, however the run ends.
	 */
	if ((size_t)snprintf(path, sizeof(path), "%s/floor-wal-XXXXXX", dir) >=
	    sizeof(path)) {
		fprintf(stderr, "bench_floor: %s: too long\n", dir);
		goto out;
	}
	if ((s->wal = mkostemp(path, O_CLOEXEC)) < 0 || unlink(path) != 0) {
		fprintf(stderr, "bench_floor: a file in %s: %s\n", dir,
		    strerror(errno));
		goto out;
	}
	/* Written once, so that commits overwrite blocks already there. */
	for (i = 0; i < WAL_PAGES; i += MAX_PAGES) {
		ssize_t w =
		    pwrite(s->wal, s->pages, sizeof(s->pages), (off_t)i * PAGE);

		if (w != (ssize_t)sizeof(s->pages)) {
			if (w >= 0)
				errno = ENOSPC; /* a short write */
			break;
		}
	}
	if (i < WAL_PAGES || fsync(s->wal) != 0) {
		fprintf(stderr, "bench_floor: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(b, cert) != 1 ||
	    (n = BIO_get_mem_data(b, &p)) <= 0 ||
	    (*cert_pem = strndup(p, (size_t)n)) == NULL)
		goto out;
	ok = 1;
out:
	BIO_free(b);
	X509_free(cert);
	EVP_PKEY_free(tls);
	return ok;
}

/*
 * A request body of n bytes signed by key, as verify_body takes it
 * (caller frees). A P-256 signature's DER is 70 to 72 bytes, and the
 * payload is what it leaves: signed again until the lengths agree.
 */
static unsigned char *
body_make(EVP_PKEY *key, int n)
{
	unsigned char *b, sig[80];
	size_t sig_len, room = 72;

	if (n < 128 || (b = malloc((size_t)n)) == NULL)
		return NULL;
	memset(b, 'j', (size_t)n);
	for (int tries = 0; tries < 100; tries++) {
		if (!sign(key, b, (size_t)n - 1 - room, sig, &sig_len))
			break;
		if (sig_len == room) {
			memcpy(b + n - 1 - room, sig, sig_len);
			b[n - 1] = (unsigned char)sig_len;
			return b;
		}
		room = sig_len;
	}
	free(b);
	return NULL;
}

/* The client: libcurl's multi interface, one enrollment per job at once. */
struct client;

struct job {
	struct client *cl;
	CURL *e;
	int step;
	char err[CURL_ERROR_SIZE];
};

struct client {
	CURLM *m;
	struct job *jobs;
	int n;
	struct curl_slist *headers;
	unsigned char *bodies[STEPS];
	char urls[STEPS][64];
	long started, done, target, failed;
};

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int
job_request(struct job *j)
{
	const struct step *st = &steps[j->step];

	curl_easy_setopt(j->e, CURLOPT_URL, j->cl->urls[j->step]);
	curl_easy_setopt(j->e, CURLOPT_POSTFIELDS, j->cl->bodies[j->step]);
	curl_easy_setopt(j->e, CURLOPT_POSTFIELDSIZE, (long)st->req_bytes);
	return curl_multi_add_handle(j->cl->m, j->e) == CURLM_OK;
}

/* Starts the job's next enrollment, if any is left: 1 when it did. */
static int
job_next(struct job *j)
{
	if (j->cl->started >= j->cl->target)
		return 0;
	j->cl->started++;
	j->step = 0;
	if (!job_request(j))
		j->cl->failed++;
	return 1;
}

static int
job_answered(struct job *j, CURLcode res)
{
	long code = 0;

	curl_easy_getinfo(j->e, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(j->cl->m, j->e);
	if (res != CURLE_OK || code != steps[j->step].status) {
		fprintf(stderr, "bench_floor: %s: %s (HTTP %ld)\n",
		    steps[j->step].path,
		    j->err[0] != '\0' ? j->err : curl_easy_strerror(res), code);
		j->cl->failed++;
		return 0;
	}
	if (++j->step < STEPS)
		return job_request(j) ? 1 : (j->cl->failed++, 0);
	j->cl->done++;
	return job_next(j);
}

/* Runs target enrollments on the client's jobs: 1, or 0 on a failure. */
static int
client_run(struct client *cl, long target)
{
	struct job *j;
	CURLMcode mc = CURLM_OK;
	CURLMsg *msg;
	int running, msgs, again;

	cl->started = cl->done = 0;
	cl->target = target;
	for (int i = 0; i < cl->n; i++)
		(void)job_next(&cl->jobs[i]);
	while (cl->done < cl->target && cl->failed == 0) {
		if ((mc = curl_multi_perform(cl->m, &running)) != CURLM_OK)
			break;
		again = 0;
		while ((msg = curl_multi_info_read(cl->m, &msgs)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(
			    msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			again |= job_answered(j, msg->data.result);
		}
		if (!again && cl->done < cl->target && cl->failed == 0 &&
		    (mc = curl_multi_poll(cl->m, NULL, 0, 1000, NULL)) !=
		        CURLM_OK)
			break;
	}
	if (mc != CURLM_OK)
		fprintf(stderr, "bench_floor: libcurl: %s\n",
		    curl_multi_strerror(mc));
	return mc == CURLM_OK && cl->failed == 0;
}

static int
client_init(
    struct client *cl, int n, int port, const char *ca_pem, EVP_PKEY *acct)
{
	struct curl_blob ca = {(void *)ca_pem, strlen(ca_pem), CURL_BLOB_COPY};
	struct curl_slist *h;

	memset(cl, 0, sizeof(*cl));
	if ((cl->m = curl_multi_init()) == NULL ||
	    (cl->jobs = calloc((size_t)n, sizeof(*cl->jobs))) == NULL)
		return 0;
	cl->n = n;
	if ((cl->headers = curl_slist_append(
	         NULL, "Content-Type: application/jose+json")) == NULL)
		return 0;
	/* No "Expect: 100-continue" round trip: ACME clients send at once. */
	if ((h = curl_slist_append(cl->headers, "Expect:")) == NULL)
		return 0;
	cl->headers = h;
	for (int i = 0; i < STEPS; i++) {
		snprintf(cl->urls[i], sizeof(cl->urls[i]),
		    "https://127.0.0.1:%d%s", port, steps[i].path);
		if ((cl->bodies[i] = body_make(acct, steps[i].req_bytes)) ==
		    NULL)
			return 0;
	}
	for (int i = 0; i < n; i++) {
		struct job *j = &cl->jobs[i];

		j->cl = cl;
		if ((j->e = curl_easy_init()) == NULL)
			return 0;
		curl_easy_setopt(j->e, CURLOPT_PRIVATE, j);
		curl_easy_setopt(j->e, CURLOPT_CAINFO_BLOB, &ca);
		curl_easy_setopt(j->e, CURLOPT_HTTPHEADER, cl->headers);
		curl_easy_setopt(j->e, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(j->e, CURLOPT_ERRORBUFFER, j->err);
		curl_easy_setopt(j->e, CURLOPT_NOSIGNAL, 1L);
		/* A server that stopped answering fails the run, not hangs it.
		 */
		curl_easy_setopt(j->e, CURLOPT_TIMEOUT_MS, 30000L);
	}
	return 1;
}

static void
client_clear(struct client *cl)
{
	for (int i = 0; cl->jobs != NULL && i < cl->n; i++)
		curl_easy_cleanup(cl->jobs[i].e);
	free(cl->jobs);
	curl_multi_cleanup(cl->m);
	curl_slist_free_all(cl->headers);
	for (int i = 0; i < STEPS; i++)
		free(cl->bodies[i]);
}

/* The server process's CPU so far, in seconds, or -1. */
static double
pid_cpu(pid_t pid)
{
	struct timespec ts;
	clockid_t cid;

	if (clock_getcpuclockid(pid, &cid) != 0 || clock_gettime(cid, &ts) != 0)
		return -1;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_floor [--concurrency N] [--count M] "
	                "[--dir D] [--threads] [--kv]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"concurrency", required_argument, NULL, 'c'},
	    {"count", required_argument, NULL, 'n'},
	    {"dir", required_argument, NULL, 'd'},
	    {"kv", no_argument, NULL, 'k'},
	    {"threads", no_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	int conc = 16, kv = 0, threads = 0, ch, port = 0, fds[MAX_LOOPS];
	int n_loops, n_fds = 0;
	long count = 2000;
	double w0, c0, s0, wall, cpu, scpu;
	struct client cl;
	struct srv *s = NULL;
	char *ca_pem = NULL;
	cpu_set_t allowed;
	pid_t pid = -1;
	int rc = 1, status;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conc = atoi(optarg);
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'k':
			kv = 1;
			break;
		case 't':
			threads = 1;
			break;
		default:
			usage();
			return 64;
		}
	}
	if (optind != argc || conc < 1 || conc > 1024 || count < 1) {
		usage();
		return 64;
	}
	memset(&cl, 0, sizeof(cl));
	n_loops = sched_getaffinity(0, sizeof(allowed), &allowed) == 0
	              ? CPU_COUNT(&allowed)
	              : 1;
	if (n_loops > MAX_LOOPS)
		n_loops = MAX_LOOPS;
	if ((s = calloc(1, sizeof(*s))) == NULL || !srv_init(s, dir, &ca_pem)) {
		fprintf(stderr, "bench_floor: cannot set the server up\n");
		goto out;
	}
	while (n_fds < n_loops)
		if ((fds[n_fds++] = listener(&port)) < 0) {
			perror("bench_floor: a listener on 127.0.0.1");
			n_fds--;
			goto out;
		}
	/* Before any thread: the child is the server and nothing else. */
	if ((pid = fork()) < 0) {
		perror("bench_floor: fork");
		goto out;
	}
	if (pid == 0)
		serve(s, fds, n_loops, threads, getppid());
	/* The child's only: with them closed, a dead server refuses. */
	while (n_fds > 0)
		close(fds[--n_fds]);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    !client_init(&cl, conc, port, ca_pem, s->acct)) {
		fprintf(stderr, "bench_floor: cannot set the client up\n");
		goto out;
	}
	/* Connections made and every code path warm before the clock. */
	if (!client_run(&cl, conc))
		goto out;
	w0 = bench_clock_now();
	c0 = bench_clock_cpu();
	s0 = pid_cpu(pid);
	if (!client_run(&cl, count))
		goto out;
	scpu = pid_cpu(pid) - s0;
	wall = bench_clock_now() - w0;
	cpu = bench_clock_cpu() - c0;
	if (s0 < 0 || scpu < 0) {
		fprintf(stderr, "bench_floor: cannot read the server's CPU\n");
		goto out;
	}
	if (kv)
		printf("label=floor%s concurrency=%d count=%ld rate=%.1f "
		       "server_cpu_ms=%.3f "
		       "bench_cpu_ms=%.3f\n",
		    threads ? "_threads" : "", conc, count,
		    (double)count / wall, scpu * 1e3 / (double)count,
		    cpu * 1e3 / (double)count);
	printf("the floor%s, N = %d: %ld enrollments in %.2f s, %.0f/s; the "
	       "server %.3f ms of CPU per enrollment, the client %.3f ms\n",
	    threads ? " with a thread per connection" : "", conc, count, wall,
	    (double)count / wall, scpu * 1e3 / (double)count,
	    cpu * 1e3 / (double)count);
	rc = 0;
out:
	if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
		/* It said why, unless a signal ended it. */
		fprintf(
		    stderr, "bench_floor: the server died; the run is void\n");
		pid = -1;
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
	for (int i = 0; i < n_fds; i++)
		close(fds[i]);
	client_clear(&cl);
	if (s != NULL) {
		SSL_CTX_free(s->ctx);
		EVP_PKEY_free(s->acct);
		EVP_PKEY_free(s->ca);
		if (s->wal >= 0)
			close(s->wal);
	}
	free(s);
	free(ca_pem);
	curl_global_cleanup();
	return rc;
}
