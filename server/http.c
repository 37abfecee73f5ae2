/*
 * civetweb glue. Options deliberately differ from civetweb's defaults (see
 * server/sslshim/sslshim.c for the TLS side): keep-alive on because ACME
 * clients reuse connections, no directory listing and no document root, no
 * CORS, TLS 1.2 or later only.
 */
#include <sys/socket.h>

#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>
#include <openssl/ssl.h>

#include "conntrack.h"
#include "http.h"
#include "kk_log.h"

/*
 * The most a request may take from its first byte (at worst from the end
 * of the one before on the same connection) to the end of its body.
 * civetweb bounds the headers (request_timeout_ms, below) and each read of
 * the body, but not the body as a whole: a client sending one byte every
 * few seconds would hold a worker for ever.
 */
#define REQUEST_DEADLINE_MS 15000

/* TLS 1.3 session tickets sent after a full handshake (on_init_ssl). */
#define HTTP_TLS_TICKETS 1

struct http_server {
	struct mg_context *ctx;
	struct srv *srv;
	struct conntrack *track;
	SSL_CTX *tls;   /* civetweb's, seen in on_init_ssl */
	char host[256]; /* what we listen on, for waking the listener */
	int port;
};

/* RFC 9110 5.6.7 IMF-fixdate, which civetweb would otherwise add. */
static void
http_date(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* Out of memory: still an answer, if a bare one. */
static const char bare[] = "HTTP/1.1 500 Internal Server Error\r\n"
                           "Content-Length: 0\r\n"
                           "Connection: close\r\n\r\n";

/*
 * A response being put together. It starts in the caller's stack buffer,
 * which holds most answers whole, and moves to the heap at most a few
 * times when it outgrows it; failed stays set once memory ran out.
 */
struct outbuf {
	char *p;
	size_t len, cap;
	int heap, failed;
};

static int
ob_grow(struct outbuf *b, size_t need)
{
	size_t cap = b->cap;
	char *p;

	if (b->failed)
		return -1;
	if (need <= b->cap - b->len)
		return 0;
	while (cap - b->len < need) {
		if (cap > SIZE_MAX / 2)
			goto fail;
		cap *= 2;
	}
	if ((p = b->heap ? realloc(b->p, cap) : malloc(cap)) == NULL)
		goto fail;
	if (!b->heap)
		memcpy(p, b->p, b->len);
	b->p = p;
	b->cap = cap;
	b->heap = 1;
	return 0;
fail:
	b->failed = 1;
	return -1;
}

static void
ob_put(struct outbuf *b, const void *data, size_t len)
{
	if (ob_grow(b, len) == 0) {
		memcpy(b->p + b->len, data, len);
		b->len += len;
	}
}

static void __attribute__((format(printf, 2, 3)))
ob_printf(struct outbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n < b->cap - b->len) {
		b->len += (size_t)n;
		return;
	}
	/* It did not fit: grow, then print it again whole. */
	if (ob_grow(b, (size_t)n + 1) != 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/*
 * Status line, headers and body go out in one buffer and one mg_write, so
 * one TLS record and one system call: civetweb's mg_response_header_send
 * writes each header line on its own, and those writes were a tenth of
 * the server's CPU per request (docs/performance.md).
 */
static void
send_resp(struct mg_connection *conn, struct srv *s, const struct http_resp *r,
    int head, int close_after)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	int status = r->status ? r->status : 500;
	char date[64], nonce[NONCE_LEN + 1], stack[8192];
	struct outbuf b = {stack, 0, sizeof(stack), 0, 0};

	http_date(date, sizeof(date));
	ob_printf(&b, "HTTP/%s %d %s\r\n",
	    ri->http_version ? ri->http_version : "1.1", status,
	    mg_get_response_code_text(conn, status));
	if (r->content_type != NULL)
		ob_printf(&b, "Content-Type: %s\r\n", r->content_type);
	ob_printf(&b, "Content-Length: %zu\r\n", r->body_len);
	if (r->location != NULL)
		ob_printf(&b, "Location: %s\r\n", r->location);
	for (int i = 0; i < r->n_links; i++)
		ob_printf(&b, "Link: %s\r\n", r->links[i]);
	if (r->retry_after > 0)
		ob_printf(&b, "Retry-After: %d\r\n", r->retry_after);
	if (r->want_nonce && r->nonce[0] != '\0')
		ob_printf(&b, "Replay-Nonce: %s\r\n", r->nonce);
	else if (r->want_nonce && nonce_issue(s->nonces, nonce) == KK_OK)
		ob_printf(&b, "Replay-Nonce: %s\r\n", nonce);
	ob_printf(&b, "Cache-Control: %s\r\n",
	    r->cache_control_public ? "public, max-age=3600" : "no-store");
	ob_printf(&b, "X-Content-Type-Options: nosniff\r\nDate: %s\r\n", date);
	if (r->csp != NULL)
		ob_printf(&b,
		    "Content-Security-Policy: %s\r\nX-Frame-Options: DENY\r\n"
		    "Referrer-Policy: no-referrer\r\n",
		    r->csp);
	if (r->vary != NULL)
		ob_printf(&b, "Vary: %s\r\n", r->vary);
	if (r->disposition != NULL)
		ob_printf(&b, "Content-Disposition: %s\r\n", r->disposition);
	/* Keep-alive is HTTP/1.1's default; civetweb decides it for
	 * HTTP/1.0 clients, which close unless told otherwise. */
	if (close_after)
		ob_printf(&b, "Connection: close\r\n");
	ob_put(&b, "\r\n", 2);
	if (!head && r->body_len > 0)
		ob_put(&b, r->body, r->body_len);
	if (!b.failed)
		mg_write(conn, b.p, b.len);
	else
		mg_write(conn, bare, sizeof(bare) - 1);
	if (b.heap)
		free(b.p);
}

/* civetweb made its SSL_CTX: watch its handshakes. */
static int
on_init_ssl(void *ssl_ctx, void *user_data)
{
	struct http_server *h = user_data;

	h->tls = ssl_ctx;
	if (conntrack_attach(h->track, h->tls) != KK_OK)
		return -1;
	/*
	 * A TLS 1.3 server sends two session tickets after each full
	 * handshake by default, each an encoded, encrypted session and a
	 * record of its own. A client resumes with one; the second is
	 * only for one that opens two connections at once.
	 */
	if (SSL_CTX_set_num_tickets(h->tls, HTTP_TLS_TICKETS) != 1)
		return -1;
	/*
	 * tls.pem carries the chain to send after the certificate (none
	 * when the root is ours: clients hold it). Without this mode OpenSSL
	 * tries to build a chain from its empty store on every handshake.
	 */
	SSL_CTX_set_mode(h->tls, SSL_MODE_NO_AUTO_CHAIN);
	return 0; /* civetweb goes on to load the certificate */
}

static void
on_end_request(const struct mg_connection *conn, int status)
{
	conntrack_request_done();
}

/*
 * Reads the body, refusing more than max bytes (srv_body_limit) before
 * reading any of it when the length is announced. Returns -1 when too
 * large, -3 when the request ran past its deadline (conntrack then shut
 * the socket down, which ends any read at once).
 */
static int
read_body(struct mg_connection *conn, long long clen, size_t max, char **out,
    size_t *len)
{
	char *buf;
	size_t cap = clen >= 0 ? (size_t)clen : max + 1, got = 0;
	int n;

	*out = NULL;
	*len = 0;
	if (clen > (long long)max)
		return -1;
	if (clen == 0)
		return 0;
	if ((buf = malloc(cap + 1)) == NULL)
		return -2;
	while (got < cap && (n = mg_read(conn, buf + got, cap - got)) > 0)
		got += (size_t)n;
	if (conntrack_expired()) {
		free(buf);
		return -3;
	}
	if (got > max) {
		free(buf);
		return -1;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/*
 * Every request may go on to its handler, which authenticates it itself
 * (a JWS, an operator's token). Without an authorization handler of its
 * own, civetweb looks for a password file in the document root before
 * each request, and with no document root that is /.htpasswd: a file
 * anybody able to write to / could put there would make every request
 * answer 401, and civetweb stats it on every request meanwhile.
 */
static int
authorize_all(struct mg_connection *conn, void *cbdata)
{
	(void)conn;
	(void)cbdata;
	return 1;
}

static int
handle(struct mg_connection *conn, void *cbdata)
{
	struct http_server *h = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct http_req req;
	struct http_resp resp;
	char *body = NULL;
	size_t blen = 0, max;
	int rc, close_after = 0;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = ri->request_method;
	req.path = ri->local_uri ? ri->local_uri : "/";
	req.query = ri->query_string;
	req.remote_ip = ri->remote_addr;
	req.content_type = mg_get_header(conn, "Content-Type");
	req.authorization = mg_get_header(conn, "Authorization");
	req.accept_language = mg_get_header(conn, "Accept-Language");
	max = srv_body_limit(h->srv, &req);

	rc = read_body(conn, ri->content_length, max, &body, &blen);
	conntrack_request_read();
	if (rc == -3)
		return 408; /* nobody to answer: the socket is shut down */
	if (rc == -1) {
		http_resp_error(&resp, ACME_MALFORMED, 413,
		    "the request body exceeds %zu bytes", max);
		resp.want_nonce = strncmp(req.path, "/acme/", 6) == 0;
		close_after = 1;
	} else if (rc != 0) {
		http_resp_error(
		    &resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		close_after = 1;
	} else {
		req.body = body;
		req.body_len = blen;
		srv_handle(h->srv, &req, &resp);
	}
	send_resp(
	    conn, h->srv, &resp, strcmp(req.method, "HEAD") == 0, close_after);
	rc = resp.status ? resp.status : 500;
	http_resp_clear(&resp);
	free(body);
	return rc;
}

/*
 * civetweb logs each failed handshake, so also each connection refused for
 * its address: one client could fill the disk. Those are summed up
 * instead, in a line at most once a minute.
 */
static int
log_message(const struct mg_connection *conn, const char *msg)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static time_t last;
	struct http_server *h;
	time_t now = time(NULL);
	unsigned long n;

	if (!conntrack_refused()) {
		kk_log("http: %s", msg);
		return 1;
	}
	if (conn == NULL ||
	    (h = mg_get_user_data(mg_get_context(conn))) == NULL)
		return 1;
	pthread_mutex_lock(&mu);
	if (now - last >= 60 && (n = conntrack_refusals(h->track)) > 0) {
		last = now;
		kk_log("http: refused %lu connection(s) from addresses over "
		       "their limit (connections_per_address)",
		    n);
	}
	pthread_mutex_unlock(&mu);
	return 1;
}

enum kk_status
http_start(struct srv *s, const char *host, int port, const char *tls_pem,
    int threads, int per_addr, struct http_server **out, int *bound, char **err)
{
	struct http_server *h = NULL;
	struct mg_callbacks cb;
	struct mg_server_port ports[4];
	char listen[300], nthreads[16];
	/* Name/value pairs read best two to a line. */
	// clang-format off
	const char *opts[] = {
		"listening_ports", listen,
		"ssl_certificate", tls_pem,
		"ssl_protocol_version", "4",	/* TLS 1.2 and later */
		"num_threads", nthreads,
		"enable_keep_alive", "yes",
		/* Each open connection holds a worker thread: idle ones must
		 * not hold them long. */
		"keep_alive_timeout_ms", "2000",
		/* Each worker waits this long at most for a slow client:
		 * idle connections must not be able to hold them all. */
		"request_timeout_ms", "10000",
		"enable_directory_listing", "no",
		"access_control_allow_origin", "",
		"max_request_size", "16384",
		/* A response is one write (send_resp), but a body larger
		 * than a TLS record still takes two segments: without this,
		 * Nagle and the peer's delayed ACK could add 40 ms. */
		"tcp_nodelay", "1",
		NULL,
	};
	// clang-format on
	int n;

	*out = NULL;
	*err = NULL;
	/* civetweb wants TLS initialised before mg_start; 2 = TLS. */
	if ((mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS) == 0) {
		*err = strdup("civetweb could not initialise TLS with this "
		              "OpenSSL (is the libssl.so shim linked?)");
		return KK_ECRYPTO;
	}
	snprintf(listen, sizeof(listen), "%s:%ds", host, port);
	snprintf(nthreads, sizeof(nthreads), "%d", threads);
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		mg_exit_library();
		return KK_ENOMEM;
	}
	h->srv = s;
	/* Only connections being served are tracked: a slot per worker. */
	if (conntrack_new((size_t)threads, per_addr, REQUEST_DEADLINE_MS,
	        &h->track) != KK_OK) {
		free(h);
		mg_exit_library();
		return KK_ENOMEM;
	}
	memset(&cb, 0, sizeof(cb));
	cb.log_message = log_message;
	cb.init_ssl = on_init_ssl;
	cb.end_request = on_end_request;
	if ((h->ctx = mg_start(&cb, h, opts)) == NULL) {
		if (asprintf(err,
		        "cannot listen on %s:%d (address in use, "
		        "or the TLS file %s unreadable?)",
		        host, port, tls_pem) < 0)
			*err = NULL;
		conntrack_free(h->track);
		free(h);
		mg_exit_library();
		return KK_EIO;
	}
	/* Unwatched, the limits would silently not apply. */
	if (!conntrack_attached(h->tls)) {
		*err = strdup("civetweb did not let the connection limits "
		              "see its TLS handshakes");
		http_stop(h);
		return KK_ECRYPTO;
	}
	mg_set_auth_handler(h->ctx, "/", authorize_all, NULL);
	mg_set_request_handler(h->ctx, "/", handle, h);
	n = mg_get_server_ports(h->ctx, 4, ports);
	*bound = n > 0 ? ports[0].port : port;
	snprintf(h->host, sizeof(h->host), "%s", host);
	h->port = *bound;
	*out = h;
	return KK_OK;
}

/*
 * civetweb's listening thread polls its sockets with a 2 s timeout and
 * reads the stop flag only between polls, so a server stopped while idle
 * lingered up to 2 s (each restart). A connection to our own port wakes
 * it: the waker makes one every 20 ms until mg_stop has returned.
 */
struct waker {
	struct sockaddr_storage addr;
	socklen_t len;
	atomic_int done;
};

/* Where to connect for h's listener: 0 on success. */
static int
waker_addr(const struct http_server *h, struct waker *w)
{
	struct addrinfo hints, *res = NULL;
	char host[sizeof(h->host)], port[16];
	const char *name = h->host;
	size_t n = strlen(name);

	/* The wildcard addresses take connections on loopback. */
	if (strcmp(name, "0.0.0.0") == 0 || strcmp(name, "") == 0)
		name = "127.0.0.1";
	else if (name[0] == '[' && n > 2 && name[n - 1] == ']') {
		snprintf(host, sizeof(host), "%.*s", (int)(n - 2), name + 1);
		name = strcmp(host, "::") == 0 ? "::1" : host;
	}
	snprintf(port, sizeof(port), "%d", h->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(name, port, &hints, &res) != 0 || res == NULL ||
	    res->ai_addrlen > sizeof(w->addr)) {
		if (res != NULL)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(&w->addr, res->ai_addr, res->ai_addrlen);
	w->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void *
waker_run(void *arg)
{
	struct waker *w = arg;
	struct timespec pause = {0, 20 * 1000 * 1000};
	struct pollfd pfd;
	int fd;

	while (!atomic_load(&w->done)) {
		/* Non-blocking, with a short wait for the handshake: an
		 * address that does not answer must not hold up the stop. */
		fd = socket(w->addr.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			if (connect(fd, (struct sockaddr *)&w->addr, w->len) !=
			    0) {
				pfd.fd = fd;
				pfd.events = POLLOUT;
				(void)poll(&pfd, 1, 100);
			}
			close(fd);
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

void
http_stop(struct http_server *h)
{
	struct waker w;
	pthread_t t;
	int waking;

	if (h == NULL)
		return;
	memset(&w, 0, sizeof(w));
	atomic_init(&w.done, 0);
	/* Without a waker the stop still ends, at the next poll. */
	waking = h->port > 0 && waker_addr(h, &w) == 0 &&
	         pthread_create(&t, NULL, waker_run, &w) == 0;
	mg_stop(h->ctx);
	if (waking) {
		atomic_store(&w.done, 1);
		pthread_join(t, NULL);
	}
	mg_exit_library();
	/* After mg_stop, which frees the last SSL objects. */
	conntrack_free(h->track);
	free(h);
}
