/*
 * bench_enroll - N concurrent full enrollments against a real ACME server,
 * each as a new host would do it: a new account, an order, (when the
 * server wants them) its authorizations, finalize with a CSR, and the
 * certificate's download. Prints enrollments per second, the p50 and p99
 * latency of one enrollment, and the CPU time per enrollment of the
 * server's processes (from /proc/PID/stat) and of the bench itself, and
 * how much of the machine's CPU time was idle or stolen by the hypervisor
 * meanwhile (from /proc/stat: on a virtual machine the same binary's
 * figures move with the host's load).
 *
 *   bench_enroll --server URL --ca-bundle FILE [options]
 *
 * Two dialects, one code path:
 *
 *   --mode kakuin (default): an org identifier, for an organization an
 *     operator has already verified, and an EAB key: newAccount with
 *     externalAccountBinding, newOrder (ready at once), finalize, download.
 *     With --token the verification and the EAB key are set up first
 *     through the operator API (not timed).
 *   --mode rfc8555: a dns identifier and no EAB, for any RFC 8555 CA
 *     (Pebble): after newOrder each pending authorization's http-01
 *     challenge is posted and the order polled until ready (the CA is
 *     expected to validate without looking, as Pebble does with
 *     PEBBLE_VA_ALWAYS_VALID=1), and after finalize the order is polled
 *     until it is valid.
 *
 * So that the bench is not what is measured, everything that does not
 * depend on the server is prepared before the clock starts: the account
 * keys, the certificate keys and their CSRs, and (EAB being independent
 * of the nonce) the whole newAccount payload. While timed a worker only
 * signs its requests (one ECDSA signature each), reads the answers and
 * keeps its connection: one libcurl handle per worker and server, kept
 * alive, with the nonce of each answer used for the next request (one
 * newNonce per worker, not per enrollment). The workers are state
 * machines on an event loop, not a thread each, so that the bench does
 * not sleep and wake up once per answer. One loop (one thread) drives
 * them all unless --threads asks for more: the bench then stays on one
 * CPU's caches, and at about 0.5 ms per enrollment it needs more than one
 * CPU only beyond 2,000 enrollments per second.
 *
 * Several --connect HOST:PORT spread the workers over replicas that
 * serve the same --server URL (worker i talks to replica i mod R), or,
 * with --alternate, make every worker switch replica at every request.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64url.h"
#include "bench_acme.h"
#include "bench_clock.h"
#include "eab.h"
#include "jwk.h"

#define MAX_REPLICAS 8
#define MAX_PIDS 16

enum mode { MODE_KAKUIN, MODE_RFC8555 };

struct conf {
	enum mode mode;
	const char *directory, *ca, *token, *org;
	const char *connect[MAX_REPLICAS];
	int n_connect, alternate;
	int concurrency, count, threads;
	long timeout;
	int server_pids[MAX_PIDS], n_server_pids, db_pid;
	const char *latencies, *label;
	int kv;
	char *eab_kid;
	unsigned char *eab_key;
	size_t eab_key_len;
	/* From the directory. */
	char new_nonce[512], new_account[512], new_order[512];
	char origin[256];
};

/* What one enrollment needs, made before the clock starts. */
struct prep {
	EVP_PKEY *account_key;
	EVP_PKEY_CTX *signer;  /* EVP_PKEY_sign_init done on account_key */
	char *jwk;             /* account_key's public JWK, JSON text */
	char *account_payload; /* newAccount's payload, EAB included */
	char *order_payload;
	char *csr_payload; /* {"csr": "..."} */
};

/* One HTTP exchange's results. */
struct resp {
	long status;
	char *body;
	size_t len, cap;
	char location[512];
	char nonce[128];
	char retry_after[32];
};

/*
 * Where a worker's enrollment stands: what its request in flight (or the
 * one it sleeps before sending again) is for.
 */
enum step {
	ST_STOPPED, /* no job left, or gave up */
	ST_NONCE,   /* HEAD newNonce, then the request of w->after */
	ST_ACCOUNT,
	ST_ORDER,
	ST_AUTHZ,     /* an authorization of w->authzs */
	ST_CHALLENGE, /* its challenge */
	ST_READY,     /* the order, polled until ready */
	ST_FINALIZE,
	ST_VALID, /* the order, polled until valid */
	ST_CERT,
};

struct loop;

/*
 * A worker: one enrollment at a time, as one host would, driven by its
 * loop's event loop. Its handles (one per replica it talks to) share
 * the loop's connections.
 */
struct worker {
	const struct conf *conf;
	struct loop *loop;
	struct prep *prep;
	int id;
	CURL *curl[MAX_REPLICAS];
	struct curl_slist *connect_to[MAX_REPLICAS];
	struct curl_slist *hdrs;
	int pinned; /* setup: replica 0 only */
	unsigned long requests;
	CURL *active;    /* the handle of the transfer in flight */
	CURLcode result; /* of the last transfer */
	char *body;      /* its request body, which libcurl does not copy */
	const struct prep *acct; /* the current account's key */
	char kid[512];
	char nonce[128];
	struct resp r;
	/* The request of this step: sent again after a badNonce, a
	 * Retry-After or a poll's back-off. */
	enum step step, after;
	char url[512];
	const char *payload; /* NULL: POST-as-GET */
	int with_kid, tries;
	double wake; /* send again then (0: not sleeping) */
	/* The enrollment. */
	double t0, poll_deadline;
	int poll_round, next_authz, streak;
	cJSON *authzs;
	char order[512], finalize[512];
	double *lat;
	int n_lat, failed, retries;
	long connects;
};

/*
 * One thread's event loop: a multi handle for its workers' transfers,
 * driven through libcurl's socket interface (epoll tells which
 * connection is ready, and libcurl looks at that one only).
 */
struct loop {
	CURLM *multi;
	int epfd;
	double timer; /* when libcurl wants to be called (-1: not) */
	struct worker *w;
	int n;      /* workers */
	int busy;   /* not stopped */
	int broken; /* libcurl's multi handle failed: the loop stops */
	pthread_t thread;
};

static atomic_int next_job_no;
static atomic_int errors_shown;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The first few failures are worth reading; thousands are not. */
static void
say(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&errors_shown, 1) >= 5)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t add = size * n;
	char *nb;

	if (r->len + add + 1 > r->cap) {
		size_t cap = (r->len + add + 1) * 2;

		if ((nb = realloc(r->body, cap)) == NULL)
			return 0;
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, add);
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;

	bench_header_value(
	    p, size * n, "Location", r->location, sizeof(r->location));
	bench_header_value(
	    p, size * n, "Replay-Nonce", r->nonce, sizeof(r->nonce));
	bench_header_value(
	    p, size * n, "Retry-After", r->retry_after, sizeof(r->retry_after));
	return size * n;
}

/* A handle with everything that does not change between requests. */
static CURL *
handle_new(struct worker *w, int replica)
{
	const struct conf *conf = w->conf;
	CURL *c = curl_easy_init();
	char connect_to[300];

	if (c == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_PRIVATE, w);
	curl_easy_setopt(c, CURLOPT_CAINFO, conf->ca);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, conf->timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w->r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &w->r);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, w->hdrs);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	/* No SIGPIPE handler swapped in and out around every transfer. */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	if (conf->n_connect > 0) {
		/* Every host and port of the URL goes to this replica. */
		snprintf(connect_to, sizeof(connect_to), "::%s",
		    conf->connect[replica]);
		w->connect_to[replica] = curl_slist_append(NULL, connect_to);
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, w->connect_to[replica]);
	}
	return c;
}

/*
 * Starts an exchange on w's loop; body NULL: HEAD when head, else GET.
 * body stays the caller's until the transfer is done. 0 when started.
 */
static int
transfer_start(struct worker *w, const char *url, const char *body, int head)
{
	int rep = 0;
	CURL *c;
	CURLMcode mc;

	if (w->conf->n_connect > 1 && !w->pinned)
		rep = w->conf->alternate
		          ? (int)((w->id + w->requests) % w->conf->n_connect)
		          : w->id % w->conf->n_connect;
	w->requests++;
	c = w->curl[rep];
	w->r.status = 0;
	w->r.len = 0;
	if (w->r.body != NULL)
		w->r.body[0] = '\0';
	w->r.location[0] = w->r.nonce[0] = w->r.retry_after[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (head) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	if ((mc = curl_multi_add_handle(w->loop->multi, c)) != CURLM_OK) {
		say("%s: %s", url, curl_multi_strerror(mc));
		return -1;
	}
	w->active = c;
	return 0;
}

/* A transfer of w's is over: its handle leaves the loop, w->r is read. */
static void
transfer_done(struct worker *w, CURLcode res)
{
	const char *url = NULL;
	long n;

	curl_multi_remove_handle(w->loop->multi, w->active);
	w->result = res;
	if (res != CURLE_OK) {
		curl_easy_getinfo(w->active, CURLINFO_EFFECTIVE_URL, &url);
		say("%s: %s", url ? url : "?", curl_easy_strerror(res));
	} else {
		curl_easy_getinfo(
		    w->active, CURLINFO_RESPONSE_CODE, &w->r.status);
		if (curl_easy_getinfo(w->active, CURLINFO_NUM_CONNECTS, &n) ==
		    CURLE_OK)
			w->connects += n;
	}
	w->active = NULL;
}

static void answered(struct worker *w);

/* libcurl's wish to watch fd for what (or no longer): epoll's list. */
static int
on_socket(CURL *e, curl_socket_t fd, int what, void *arg, void *known)
{
	struct loop *l = arg;
	struct epoll_event ev;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) |
	            ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
	ev.data.fd = fd;
	if (known != NULL && epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	/* New to epoll (or gone from it, closed behind libcurl's back). */
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		say("epoll_ctl: %s", strerror(errno));
		return -1; /* libcurl then fails the multi handle */
	}
	curl_multi_assign(l->multi, fd, l);
	return 0;
}

/* libcurl's wish to be called in ms (-1: not at all). */
static int
on_timer(CURLM *multi, long ms, void *arg)
{
	struct loop *l = arg;

	(void)multi;
	l->timer = ms < 0 ? -1 : bench_clock_now() + (double)ms / 1000;
	return 0;
}

/*
 * Tells libcurl that fd is ready for act (CURL_SOCKET_TIMEOUT: that its
 * timer is due). A multi handle that fails has lost its transfers: the
 * loop stops rather than wait for them forever.
 */
static void
loop_action(struct loop *l, curl_socket_t fd, int act)
{
	CURLMcode mc;
	int running;

	if ((mc = curl_multi_socket_action(l->multi, fd, act, &running)) !=
	    CURLM_OK) {
		say("libcurl: %s", curl_multi_strerror(mc));
		l->broken = 1;
	}
}

/* Calls libcurl if its timer is due. */
static void
loop_timer(struct loop *l)
{
	if (l->timer >= 0 && l->timer <= bench_clock_now()) {
		l->timer = -1;
		loop_action(l, CURL_SOCKET_TIMEOUT, 0);
	}
}

/*
 * Hands each finished transfer to its worker: to the enrollment's next
 * step when steps, else only marks it done (the untimed setup). Returns
 * how many.
 */
static int
loop_finished(struct loop *l, int steps)
{
	struct worker *w;
	CURLMsg *m;
	int left, n = 0;

	while ((m = curl_multi_info_read(l->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &w);
		transfer_done(w, m->data.result);
		if (steps)
			answered(w);
		n++;
	}
	return n;
}

/*
 * One turn of the loop: libcurl's timer when due (a new transfer asks
 * for it at once: that starts it), then a wait of up to ms for the
 * loop's sockets (less when the timer is due sooner), and the transfers
 * that are ready moved on. A transfer may finish at any of these steps.
 * A turn that handed a transfer on returns before waiting: its worker
 * may now sleep until a time the caller's ms did not know of.
 */
static void
loop_turn(struct loop *l, int ms, int steps)
{
	struct epoll_event ev[64];
	double due;
	int n, wait = ms, act;

	loop_timer(l);
	if (loop_finished(l, steps) > 0 || l->broken)
		return;
	if (l->timer >= 0) {
		/* Due already: the next turn starts it, before any wait. */
		if ((due = l->timer - bench_clock_now()) <= 0)
			return;
		if (due * 1000 < wait)
			wait = (int)(due * 1000) + 1;
	}
	n = epoll_wait(l->epfd, ev, (int)(sizeof(ev) / sizeof(ev[0])), wait);
	for (int i = 0; i < n && !l->broken; i++) {
		act = ((ev[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
		      ((ev[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
		      ((ev[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR
		                                              : 0);
		loop_action(l, ev[i].data.fd, act);
	}
	loop_timer(l);
	loop_finished(l, steps);
}

/* One exchange, waited for (the setup, before the clock). 0: answered. */
static int
exchange(struct worker *w, const char *url, const char *body, int head)
{
	if (transfer_start(w, url, body, head) != 0)
		return -1;
	while (w->active != NULL && !w->loop->broken)
		loop_turn(w->loop, 1000, 0);
	return w->active == NULL && w->result == CURLE_OK ? 0 : -1;
}

/*
 * The seconds a 503 or 429 asks to wait before the request is sent again,
 * when it says (in seconds, up to 5, as kakuin waits); else -1: the
 * answer stands. A value that is not a positive number waits 0 s.
 */
static int
retry_after(const struct resp *r)
{
	int s;

	if ((r->status != 503 && r->status != 429) ||
	    r->retry_after[0] == '\0' || (s = atoi(r->retry_after)) > 5)
		return -1;
	return s > 0 ? s : 0;
}

/*
 * ES256 JWS (RFC 7515 flattened) over "protected.payload", signed with
 * the account's prepared context: one SHA-256 and one ECDSA signature,
 * none of the per-call algorithm fetching of EVP_DigestSign. The text
 * of the header is built here; base64url never needs JSON escaping, and
 * the URLs and nonce come from the server (checked to need none).
 */
static int
jws_es256(const struct prep *a, const char *kid, const char *nonce,
    const char *url, const char *payload, char **out)
{
	unsigned char md[SHA256_DIGEST_LENGTH], der[80], raw[64];
	const unsigned char *p = der;
	char *hdr = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL, *tbs = NULL;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig = NULL;
	size_t dlen = sizeof(der);
	int rc = -1;

	*out = NULL;
	if (strpbrk(url, "\"\\") != NULL || strpbrk(nonce, "\"\\") != NULL ||
	    (kid != NULL && strpbrk(kid, "\"\\") != NULL))
		return -1;
	if ((kid != NULL ? asprintf(&hdr,
	                       "{\"alg\":\"ES256\",\"kid\":\"%s\",\"nonce\":"
	                       "\"%s\",\"url\":\"%s\"}",
	                       kid, nonce, url)
	                 : asprintf(&hdr,
	                       "{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"%s\","
	                       "\"url\":\"%s\"}",
	                       a->jwk, nonce, url)) < 0)
		return -1;
	if (b64url_encode((const unsigned char *)hdr, strlen(hdr), &h64) !=
	        KK_OK ||
	    b64url_encode((const unsigned char *)(payload ? payload : ""),
	        payload ? strlen(payload) : 0, &p64) != KK_OK ||
	    asprintf(&tbs, "%s.%s", h64, p64) < 0)
		goto out;
	SHA256((const unsigned char *)tbs, strlen(tbs), md);
	if (EVP_PKEY_sign(a->signer, der, &dlen, md, sizeof(md)) != 1 ||
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, 32) != 32 ||
	    BN_bn2binpad(s, raw + 32, 32) != 32 ||
	    b64url_encode(raw, sizeof(raw), &s64) != KK_OK ||
	    asprintf(out,
	        "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":"
	        "\"%s\"}",
	        h64, p64, s64) < 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		*out = NULL;
	ECDSA_SIG_free(sig);
	free(hdr);
	free(h64);
	free(p64);
	free(s64);
	free(tbs);
	return rc;
}

/*
 * A JWS POST signed by account a (with kid, or its jwk when kid is NULL);
 * payload NULL is POST-as-GET. Uses and refreshes the worker's nonce,
 * retrying a badNonce with the nonce that answer carried, and a 503 or 429
 * with Retry-After after sleeping it, as kakuin does (counted apart).
 */
static int
post(struct worker *w, const struct prep *a, const char *kid, const char *url,
    const char *payload)
{
	char *body = NULL;
	int tries, ra, rc = -1;

	for (tries = 0; tries < 4; tries++) {
		if (w->nonce[0] == '\0') {
			if (exchange(w, w->conf->new_nonce, NULL, 1) != 0)
				return -1;
			snprintf(w->nonce, sizeof(w->nonce), "%s", w->r.nonce);
		}
		if (jws_es256(a, kid, w->nonce, url, payload, &body) != 0) {
			say("%s: cannot sign", url);
			return -1;
		}
		rc = exchange(w, url, body, 0);
		free(body);
		body = NULL;
		snprintf(w->nonce, sizeof(w->nonce), "%s",
		    rc == 0 ? w->r.nonce : "");
		if (rc == 0 && (ra = retry_after(&w->r)) >= 0) {
			w->retries++;
			sleep((unsigned)ra);
			continue;
		}
		if (rc != 0 || !bench_is_bad_nonce(w->r.status, w->r.body))
			break;
	}
	return rc;
}

/* The answer's JSON object, or NULL (and said why). */
static cJSON *
answer(struct worker *w, const char *what, long want)
{
	cJSON *j;

	if (w->r.status != want) {
		say("%s: HTTP %ld %s", what, w->r.status,
		    w->r.body ? w->r.body : "");
		return NULL;
	}
	if ((j = cJSON_Parse(w->r.body ? w->r.body : "")) == NULL)
		say("%s: not JSON", what);
	return j;
}

static const char *
jstr(const cJSON *j, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, name));
}

/*
 * The timed enrollments run as a state machine per worker on an event
 * loop per thread, not as a blocking thread per worker: a thread per
 * worker slept in poll() for every answer, and those sleeps and wake-ups
 * were much of the bench's CPU. Each function below sends one request
 * (or arranges to send it again) and returns; answered() takes the
 * answer and calls the next.
 */

static void send_step(struct worker *w);
static void next_job(struct worker *w);

/* Sends (again) w's request for step: a JWS POST signed by w->acct. */
static void
request(struct worker *w, enum step step, const char *url, const char *payload,
    int with_kid)
{
	w->step = step;
	if (url != w->url)
		snprintf(w->url, sizeof(w->url), "%s", url ? url : "");
	w->payload = payload;
	w->with_kid = with_kid;
	w->tries = 0;
	send_step(w);
}

/* The enrollment in hand failed: the worker goes on with the next,
 * or gives up after three in a row (a CA that stopped answering would
 * otherwise cost a timeout per job). */
static void
job_failed(struct worker *w)
{
	cJSON_Delete(w->authzs);
	w->authzs = NULL;
	w->failed++;
	if (++w->streak >= 3) {
		w->step = ST_STOPPED;
		w->loop->busy--;
		return;
	}
	next_job(w);
}

static void
send_step(struct worker *w)
{
	const char *kid = w->with_kid ? w->kid : NULL;

	if (w->nonce[0] == '\0') {
		/* A nonce first; the step's request once it is in. */
		w->after = w->step;
		w->step = ST_NONCE;
		if (transfer_start(w, w->conf->new_nonce, NULL, 1) != 0)
			job_failed(w);
		return;
	}
	w->tries++;
	free(w->body);
	w->body = NULL;
	if (jws_es256(w->acct, kid, w->nonce, w->url, w->payload, &w->body) !=
	    0) {
		say("%s: cannot sign", w->url);
		job_failed(w);
		return;
	}
	if (transfer_start(w, w->url, w->body, 0) != 0)
		job_failed(w);
}

static void
next_job(struct worker *w)
{
	int job = atomic_fetch_add(&next_job_no, 1);

	if (job >= w->conf->count) {
		w->step = ST_STOPPED;
		w->loop->busy--;
		return;
	}
	w->t0 = bench_clock_now();
	w->acct = &w->prep[job];
	request(
	    w, ST_ACCOUNT, w->conf->new_account, w->acct->account_payload, 0);
}

/* The order, POST-as-GET until its status is that of step (ready or
 * valid), for at most the request timeout. */
static void
poll_order(struct worker *w, enum step step)
{
	w->poll_deadline = bench_clock_now() + (double)w->conf->timeout;
	w->poll_round = 0;
	request(w, step, w->order, NULL, 1);
}

/* The next pending authorization, or the order once they are all done. */
static void
next_authz(struct worker *w)
{
	const cJSON *a = cJSON_GetArrayItem(w->authzs, w->next_authz++);

	if (a == NULL) {
		cJSON_Delete(w->authzs);
		w->authzs = NULL;
		poll_order(w, ST_READY);
	} else if (!cJSON_IsString(a)) {
		say("newOrder: an authorization that is not a URL");
		job_failed(w);
	} else
		request(w, ST_AUTHZ, a->valuestring, NULL, 1);
}

/* A valid order: its certificate. */
static void
download(struct worker *w, const cJSON *order)
{
	const char *u = jstr(order, "certificate");

	if (u == NULL) {
		say("order valid without a certificate");
		job_failed(w);
	} else
		request(w, ST_CERT, u, NULL, 1);
}

/* An authorization fetched: done if valid, else its http-01 challenge
 * (or its first) is posted. */
static void
authz_answered(struct worker *w, const cJSON *j)
{
	const cJSON *ch;
	const char *url = NULL, *t = jstr(j, "status");

	if (t != NULL && strcmp(t, "valid") == 0) {
		next_authz(w);
		return;
	}
	cJSON_ArrayForEach(
	    ch, cJSON_GetObjectItemCaseSensitive(j, "challenges"))
	{
		t = jstr(ch, "type");
		if (url == NULL || (t != NULL && strcmp(t, "http-01") == 0))
			url = jstr(ch, "url");
	}
	if (url == NULL) {
		say("%s: no challenge", w->url);
		job_failed(w);
	} else
		request(w, ST_CHALLENGE, url, "{}", 1);
}

/* The order polled: on to the next step once it has the status wanted,
 * else again after a back-off of 1, 2, 4 ... 64 ms. */
static void
poll_answered(struct worker *w, const cJSON *j)
{
	const char *st = jstr(j, "status"),
	           *want = w->step == ST_READY ? "ready" : "valid";
	double now;

	if (st != NULL && strcmp(st, want) == 0) {
		if (w->step == ST_READY)
			request(w, ST_FINALIZE, w->finalize,
			    w->acct->csr_payload, 1);
		else
			download(w, j);
		return;
	}
	if (st == NULL || strcmp(st, "invalid") == 0) {
		say("%s: status %s", w->order, st ? st : "missing");
		job_failed(w);
		return;
	}
	if ((now = bench_clock_now()) >= w->poll_deadline) {
		say("%s: not %s in time", w->order, want);
		job_failed(w);
		return;
	}
	w->tries = 0;
	w->wake = now + (double)(1 << (w->poll_round < 6 ? w->poll_round : 6)) /
	                    1000.0;
	w->poll_round++;
}

/* The answer to the request of w's step: the enrollment's next step. */
static void
advance(struct worker *w)
{
	cJSON *j = NULL;
	const char *u;

	switch (w->step) {
	case ST_ACCOUNT:
		if (w->r.status != 201 || w->r.location[0] == '\0') {
			say("newAccount: HTTP %ld %s", w->r.status,
			    w->r.body ? w->r.body : "");
			job_failed(w);
			break;
		}
		snprintf(w->kid, sizeof(w->kid), "%s", w->r.location);
		request(
		    w, ST_ORDER, w->conf->new_order, w->acct->order_payload, 1);
		break;
	case ST_ORDER:
		if ((j = answer(w, "newOrder", 201)) == NULL) {
			job_failed(w);
			break;
		}
		snprintf(w->order, sizeof(w->order), "%s", w->r.location);
		u = jstr(j, "finalize");
		snprintf(w->finalize, sizeof(w->finalize), "%s", u ? u : "");
		u = jstr(j, "status");
		if (u != NULL && strcmp(u, "pending") == 0) {
			w->authzs = cJSON_DetachItemFromObjectCaseSensitive(
			    j, "authorizations");
			w->next_authz = 0;
			next_authz(w);
		} else
			request(w, ST_FINALIZE, w->finalize,
			    w->acct->csr_payload, 1);
		break;
	case ST_AUTHZ:
		if ((j = answer(w, "authorization", 200)) == NULL)
			job_failed(w);
		else
			authz_answered(w, j);
		break;
	case ST_CHALLENGE:
		if ((j = answer(w, "challenge", 200)) == NULL)
			job_failed(w);
		else
			next_authz(w);
		break;
	case ST_READY:
	case ST_VALID:
		if ((j = answer(w, w->order, 200)) == NULL)
			job_failed(w);
		else
			poll_answered(w, j);
		break;
	case ST_FINALIZE:
		if ((j = answer(w, "finalize", 200)) == NULL)
			job_failed(w);
		else if ((u = jstr(j, "status")) == NULL ||
		         strcmp(u, "valid") != 0)
			poll_order(w, ST_VALID);
		else
			download(w, j);
		break;
	case ST_CERT:
		if (w->r.status != 200 || w->r.body == NULL ||
		    strstr(w->r.body, "-----BEGIN CERTIFICATE-----") == NULL) {
			say("download: HTTP %ld", w->r.status);
			job_failed(w);
			break;
		}
		w->lat[w->n_lat++] = bench_clock_now() - w->t0;
		w->streak = 0;
		next_job(w);
		break;
	case ST_NONCE:
	case ST_STOPPED:
		break;
	}
	cJSON_Delete(j);
}

/*
 * A transfer of w's has ended. Its nonce is kept for the next request;
 * a badNonce is sent again with it, a 503 or 429 with a Retry-After of
 * up to 5 s after that long (as kakuin does, and counted), at most four
 * tries in all; anything else is the step's answer.
 */
static void
answered(struct worker *w)
{
	int ok = w->result == CURLE_OK;
	int ra;

	free(w->body);
	w->body = NULL;
	snprintf(w->nonce, sizeof(w->nonce), "%s", ok ? w->r.nonce : "");
	if (!ok) {
		job_failed(w);
		return;
	}
	if (w->tries < 4 && (ra = retry_after(&w->r)) >= 0) {
		if (w->step == ST_NONCE) {
			/* The step again, which asks for a nonce again; a
			 * try, so that a server refusing nonces ends it. */
			w->step = w->after;
			w->tries++;
		}
		w->retries++;
		w->wake = bench_clock_now() + ra;
		return;
	}
	if (w->step == ST_NONCE) {
		if (w->nonce[0] == '\0') {
			say("newNonce: HTTP %ld, no nonce", w->r.status);
			job_failed(w);
			return;
		}
		w->step = w->after;
		send_step(w);
		return;
	}
	if (w->tries < 4 && bench_is_bad_nonce(w->r.status, w->r.body)) {
		send_step(w);
		return;
	}
	advance(w);
}

/*
 * A loop's thread: its workers' enrollments until the jobs run out,
 * waking the sleepers (Retry-After, a poll's back-off) when their time
 * comes.
 */
static void *
loop_run(void *arg)
{
	struct loop *l = arg;
	struct worker *w;
	double now, soonest;
	int ms;

	for (int i = 0; i < l->n; i++)
		next_job(&l->w[i]);
	while (l->busy > 0 && !l->broken) {
		now = bench_clock_now();
		soonest = now + 1;
		for (int i = 0; i < l->n; i++) {
			w = &l->w[i];
			if (w->wake == 0 || w->step == ST_STOPPED)
				continue;
			if (w->wake <= now) {
				w->wake = 0;
				send_step(w);
			} else if (w->wake < soonest)
				soonest = w->wake;
		}
		ms = (int)((soonest - now) * 1000) + 1;
		loop_turn(l, ms, 1);
	}
	/* A broken loop's enrollments in hand are lost; jobs that no loop
	 * took count as failed in main. */
	for (int i = 0; i < l->n && l->broken; i++)
		if (l->w[i].step != ST_STOPPED) {
			l->w[i].failed++;
			l->w[i].step = ST_STOPPED;
		}
	return NULL;
}

/* A P-256 key, a CSR for it and the JSON payloads of enrollment n. */
static int
prepare(const struct conf *conf, int n, long run, struct prep *p)
{
	char cn[128], url_host[160], *b64 = NULL;
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	EVP_PKEY *k = NULL;
	unsigned char *der = NULL;
	cJSON *acct = NULL, *eab = NULL, *jwk = NULL;
	int len, rc = -1;

	memset(p, 0, sizeof(*p));
	if ((p->account_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) ==
	        NULL ||
	    (k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		goto out;
	if (jwk_from_pkey(p->account_key, &jwk) != KK_OK ||
	    (p->jwk = cJSON_PrintUnformatted(jwk)) == NULL ||
	    (p->signer = EVP_PKEY_CTX_new(p->account_key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(p->signer) != 1)
		goto out;
	acct = cJSON_CreateObject();
	cJSON_AddTrueToObject(acct, "termsOfServiceAgreed");
	if (conf->eab_kid != NULL) {
		if (eab_build(conf->eab_kid, conf->eab_key, conf->eab_key_len,
		        p->account_key, conf->new_account, &eab) != KK_OK)
			goto out;
		cJSON_AddItemToObject(acct, "externalAccountBinding", eab);
	}
	p->account_payload = cJSON_PrintUnformatted(acct);

	req = X509_REQ_new();
	name = X509_NAME_new();
	if (conf->mode == MODE_KAKUIN) {
		snprintf(cn, sizeof(cn), "bench-%ld-%d.example.jp", run, n);
		X509_NAME_add_entry_by_NID(name, NID_organizationIdentifier,
		    MBSTRING_UTF8, (const unsigned char *)conf->org, -1, -1, 0);
		if (asprintf(&p->order_payload,
		        "{\"identifiers\":[{\"type\":\"org\",\"value\":\"%s\"}]"
		        "}",
		        conf->org) < 0)
			goto out;
	} else {
		snprintf(cn, sizeof(cn), "h%ld-%d.bench.example", run, n);
		snprintf(url_host, sizeof(url_host), "DNS:%s", cn);
		exts = sk_X509_EXTENSION_new_null();
		ext = X509V3_EXT_conf_nid(
		    NULL, NULL, NID_subject_alt_name, url_host);
		if (exts == NULL || ext == NULL ||
		    !sk_X509_EXTENSION_push(exts, ext))
			goto out;
		ext = NULL;
		if (!X509_REQ_add_extensions(req, exts) ||
		    asprintf(&p->order_payload,
		        "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]"
		        "}",
		        cn) < 0)
			goto out;
	}
	X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	if (!X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, k) ||
	    X509_REQ_sign(req, k, EVP_sha256()) <= 0 ||
	    (len = i2d_X509_REQ(req, &der)) <= 0 ||
	    b64url_encode(der, (size_t)len, &b64) != KK_OK ||
	    asprintf(&p->csr_payload, "{\"csr\":\"%s\"}", b64) < 0)
		goto out;
	rc = p->account_payload != NULL ? 0 : -1;
out:
	free(b64);
	OPENSSL_free(der);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	cJSON_Delete(acct);
	cJSON_Delete(jwk);
	return rc;
}

static void
prep_clear(struct prep *p)
{
	EVP_PKEY_CTX_free(p->signer);
	EVP_PKEY_free(p->account_key);
	cJSON_free(p->jwk);
	cJSON_free(p->account_payload);
	free(p->order_payload);
	free(p->csr_payload);
}

/* The directory's URLs, and the origin for the operator API. */
static int
directory(struct worker *w, struct conf *conf)
{
	cJSON *j;
	const char *a, *b, *c, *slash;

	if (exchange(w, conf->directory, NULL, 0) != 0 ||
	    (j = answer(w, conf->directory, 200)) == NULL)
		return -1;
	a = jstr(j, "newNonce");
	b = jstr(j, "newAccount");
	c = jstr(j, "newOrder");
	if (a == NULL || b == NULL || c == NULL) {
		fprintf(stderr, "%s: not an ACME directory\n", conf->directory);
		cJSON_Delete(j);
		return -1;
	}
	snprintf(conf->new_nonce, sizeof(conf->new_nonce), "%s", a);
	snprintf(conf->new_account, sizeof(conf->new_account), "%s", b);
	snprintf(conf->new_order, sizeof(conf->new_order), "%s", c);
	cJSON_Delete(j);
	slash = strchr(conf->directory + strlen("https://"), '/');
	snprintf(conf->origin, sizeof(conf->origin), "%.*s",
	    slash ? (int)(slash - conf->directory)
	          : (int)strlen(conf->directory),
	    conf->directory);
	return 0;
}

/* An operator API call (untimed setup). */
static int
oper(struct worker *w, const char *path, const char *body, long want)
{
	char url[600], auth[400];
	struct curl_slist *h;
	int rc;

	snprintf(url, sizeof(url), "%s/operator/v1/%s", w->conf->origin, path);
	snprintf(
	    auth, sizeof(auth), "Authorization: Bearer %s", w->conf->token);
	h = curl_slist_append(NULL, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(w->curl[0], CURLOPT_HTTPHEADER, h);
	rc = exchange(w, url, body, 0);
	curl_easy_setopt(w->curl[0], CURLOPT_HTTPHEADER, w->hdrs);
	curl_slist_free_all(h);
	if (rc == 0 && w->r.status != want) {
		fprintf(stderr, "%s: HTTP %ld %s\n", path, w->r.status,
		    w->r.body ? w->r.body : "");
		rc = -1;
	}
	return rc;
}

/*
 * Kakuin's one human step, through the operator API: an account asks to
 * verify the organization, an operator approves, and an EAB key for the
 * organization lets every later account in without asking. An
 * organization verified already (a second run) skips to the key.
 */
static int
setup_kakuin(struct worker *w, struct conf *conf)
{
	struct prep p;
	char path[700], authz[512], *vid = NULL;
	cJSON *j = NULL;
	const char *u;
	int rc = -1;

	if (prepare(conf, 0, 0, &p) != 0)
		return -1;
	if (post(w, &p, NULL, conf->new_account,
	        "{\"termsOfServiceAgreed\":true}") != 0 ||
	    w->r.status != 201)
		goto out;
	snprintf(w->kid, sizeof(w->kid), "%s", w->r.location);
	if (post(w, &p, w->kid, conf->new_order, p.order_payload) != 0 ||
	    (j = answer(w, "newOrder", 201)) == NULL)
		goto out;
	u = cJSON_GetStringValue(cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(j, "authorizations"), 0));
	snprintf(authz, sizeof(authz), "%s", u ? u : "");
	if (strcmp(jstr(j, "status") ? jstr(j, "status") : "", "ready") != 0) {
		cJSON_Delete(j);
		if (post(w, &p, w->kid, authz, NULL) != 0 ||
		    (j = answer(w, "authorization", 200)) == NULL)
			goto out;
		u = jstr(
		    cJSON_GetArrayItem(
		        cJSON_GetObjectItemCaseSensitive(j, "challenges"), 0),
		    "url");
		snprintf(authz, sizeof(authz), "%s", u ? u : "");
		cJSON_Delete(j);
		j = NULL;
		if (post(w, &p, w->kid, authz, "{}") != 0 || w->r.status != 200)
			goto out;
		snprintf(path, sizeof(path),
		    "verifications?status=processing&org=%s", conf->org);
		if (oper(w, path, NULL, 200) != 0 ||
		    (j = cJSON_Parse(w->r.body)) == NULL)
			goto out;
		u = jstr(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
		                                j, "verifications"),
		             0),
		    "id");
		if (u == NULL || (vid = strdup(u)) == NULL) {
			fprintf(stderr, "no verification to approve\n");
			goto out;
		}
		snprintf(path, sizeof(path), "verifications/%s/approve", vid);
		if (oper(w, path,
		        "{\"method\":\"phone\",\"legal_name\":\"Bench Power "
		        "K.K.\",\"country\":\"JP\",\"evidence\":\"benchmark "
		        "setup\"}",
		        200) != 0)
			goto out;
	}
	cJSON_Delete(j);
	j = NULL;
	snprintf(path, sizeof(path), "orgs/%s/eab-keys", conf->org);
	if (oper(w, path, "{}", 201) != 0 ||
	    (j = cJSON_Parse(w->r.body)) == NULL)
		goto out;
	u = jstr(j, "hmac_key");
	if (jstr(j, "kid") == NULL || u == NULL ||
	    (conf->eab_kid = strdup(jstr(j, "kid"))) == NULL ||
	    b64url_decode(u, strlen(u), &conf->eab_key, &conf->eab_key_len) !=
	        KK_OK)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "setup through the operator API failed\n");
	cJSON_Delete(j);
	free(vid);
	prep_clear(&p);
	return rc;
}

/* utime + stime of pid, in clock ticks; with tree, + cutime + cstime. */
static long long
pid_ticks(int pid, int tree)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long long cut, cst;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command name, which may hold spaces and parentheses. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2,
	        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld "
	        "%lld",
	        &ut, &st, &cut, &cst) != 4)
		return 0;
	return (long long)(ut + st) + (tree ? cut + cst : 0);
}

static int
pid_parent(int pid)
{
	char path[64], buf[1024], *p;
	int ppid = -1;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

/*
 * The CPU of a database server: the postmaster, its children living now
 * (the backends) and those it has reaped (cutime, cstime).
 */
static long long
tree_ticks(int root)
{
	long long t = pid_ticks(root, 1);
	struct dirent *de;
	DIR *d;
	int pid;

	if ((d = opendir("/proc")) == NULL)
		return t;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (pid != root && pid_parent(pid) == root)
			t += pid_ticks(pid, 0);
	}
	closedir(d);
	return t;
}

static long long
server_ticks(const struct conf *conf)
{
	long long t = 0;

	for (int i = 0; i < conf->n_server_pids; i++)
		t += pid_ticks(conf->server_pids[i], 0);
	return t;
}

/*
 * The machine's CPU time from /proc/stat, in clock ticks: in all, idle
 * (idle and iowait) and stolen (taken by the hypervisor for others while
 * this machine had work). A virtual machine's figures move with the
 * host's load; the stolen share says how much.
 */
struct machine {
	unsigned long long total, idle, steal;
};

/* 0 on success; -1 when /proc/stat cannot be read as expected. */
static int
machine_ticks(struct machine *m)
{
	unsigned long long v[8];
	int rc = -1;
	FILE *f;

	memset(m, 0, sizeof(*m));
	if ((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	        &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (int i = 0; i < 8; i++)
			m->total += v[i];
		m->idle = v[3] + v[4];
		m->steal = v[7];
		rc = 0;
	}
	fclose(f);
	return rc;
}

/* The share of b - a, in percent; a counter that went back counts 0
 * (iowait may, says proc(5)). */
static double
machine_share(unsigned long long a, unsigned long long b, double ticks)
{
	return b > a ? 100 * (double)(b - a) / ticks : 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
worker_init(struct worker *w, const struct conf *conf, int id)
{
	memset(w, 0, sizeof(*w));
	w->conf = conf;
	w->id = id;
	w->hdrs =
	    curl_slist_append(NULL, "Content-Type: application/jose+json");
	/* No "Expect: 100-continue" round trip for the larger bodies. */
	w->hdrs = curl_slist_append(w->hdrs, "Expect:");
	for (int i = 0; i < (conf->n_connect > 0 ? conf->n_connect : 1); i++)
		if ((w->curl[i] = handle_new(w, i)) == NULL)
			return -1;
	return w->hdrs != NULL ? 0 : -1;
}

static void
worker_clear(struct worker *w)
{
	for (int i = 0; i < MAX_REPLICAS; i++) {
		if (w->curl[i] != NULL)
			curl_easy_cleanup(w->curl[i]);
		curl_slist_free_all(w->connect_to[i]);
	}
	curl_slist_free_all(w->hdrs);
	cJSON_Delete(w->authzs);
	free(w->body);
	free(w->r.body);
	free(w->lat);
}

/* Whether w's handles must open a new connection (or may reuse one). */
static void
fresh_connect(struct worker *w, long on)
{
	for (int r = 0; r < MAX_REPLICAS; r++)
		if (w->curl[r] != NULL)
			curl_easy_setopt(w->curl[r], CURLOPT_FRESH_CONNECT, on);
}

/*
 * Every worker's newNonce, each on a connection of its own: the loops'
 * connections for the timed run (one per worker, and per replica with
 * --alternate, whose workers take turns). Without FRESH_CONNECT the
 * requests would reuse whatever connection was free, the loopback
 * server being fast enough to free one before the next request is
 * sent, and the rest would be opened while timed. Each answer's nonce
 * is its worker's first.
 */
static int
warm_up(struct loop *loops, int n)
{
	struct worker *w;
	int rc = 0;

	for (int k = 0; k < n; k++)
		for (int i = 0; i < loops[k].n; i++) {
			w = &loops[k].w[i];
			fresh_connect(w, 1L);
			if (transfer_start(w, w->conf->new_nonce, NULL, 1) != 0)
				rc = -1;
		}
	for (int k = 0; k < n; k++)
		for (int i = 0; i < loops[k].n; i++) {
			w = &loops[k].w[i];
			while (w->active != NULL && !loops[k].broken)
				loop_turn(&loops[k], 1000, 0);
			if (w->active != NULL || w->result != CURLE_OK ||
			    w->r.nonce[0] == '\0')
				rc = -1;
			snprintf(w->nonce, sizeof(w->nonce), "%s", w->r.nonce);
			w->connects = 0;
			fresh_connect(w, 0L);
		}
	return rc;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench_enroll --server URL --ca-bundle FILE\n"
	    "         [--mode kakuin|rfc8555] [--token OPERATOR_TOKEN] "
	    "[--org ID]\n"
	    "         [--eab-kid KID --eab-hmac-key B64URL]\n"
	    "         [--concurrency N] [--count M] [--timeout SECONDS]\n"
	    "         [--threads T]\n"
	    "         [--connect HOST:PORT]... [--alternate]\n"
	    "         [--server-pid PID]... [--db-pid PID]\n"
	    "         [--label TEXT] [--kv] [--latencies FILE]\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"ca-bundle", required_argument, NULL, 'c'},
	    {"mode", required_argument, NULL, 'M'},
	    {"token", required_argument, NULL, 't'},
	    {"org", required_argument, NULL, 'o'},
	    {"eab-kid", required_argument, NULL, 'k'},
	    {"eab-hmac-key", required_argument, NULL, 'K'},
	    {"concurrency", required_argument, NULL, 'n'},
	    {"count", required_argument, NULL, 'm'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"connect", required_argument, NULL, 'C'},
	    {"alternate", no_argument, NULL, 'A'},
	    {"server-pid", required_argument, NULL, 'p'},
	    {"db-pid", required_argument, NULL, 'P'},
	    {"label", required_argument, NULL, 'l'},
	    {"kv", no_argument, NULL, 'v'},
	    {"latencies", required_argument, NULL, 'L'},
	    {"threads", required_argument, NULL, 'H'},
	    {NULL, 0, NULL, 0},
	};
	static struct conf conf = {
	    .org = "NTRJP-9234567890123",
	    .concurrency = 8,
	    .timeout = 30,
	};
	const char *server = NULL, *eab_b64 = NULL;
	char dir[600];
	struct worker *w = NULL;
	struct prep *prep = NULL;
	struct loop *loops = NULL;
	double t0, elapsed, cpu0, bench_cpu, *all = NULL, hz;
	long long s0, s1, d0 = 0, d1 = 0;
	struct machine m0, m1;
	int machine_ok;
	long connects = 0;
	int ch, total = 0, failed = 0, retries = 0, rc = 1;
	long run = (long)time(NULL) % 100000 * 100 + getpid() % 100;
	FILE *f;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			server = optarg;
			break;
		case 'c':
			conf.ca = optarg;
			break;
		case 'M':
			if (strcmp(optarg, "kakuin") == 0)
				conf.mode = MODE_KAKUIN;
			else if (strcmp(optarg, "rfc8555") == 0)
				conf.mode = MODE_RFC8555;
			else
				usage();
			break;
		case 't':
			conf.token = optarg;
			break;
		case 'o':
			conf.org = optarg;
			break;
		case 'k':
			conf.eab_kid = strdup(optarg);
			break;
		case 'K':
			eab_b64 = optarg;
			break;
		case 'n':
			conf.concurrency = atoi(optarg);
			break;
		case 'm':
			conf.count = atoi(optarg);
			break;
		case 'T':
			conf.timeout = atol(optarg);
			break;
		case 'C':
			if (conf.n_connect == MAX_REPLICAS)
				usage();
			conf.connect[conf.n_connect++] = optarg;
			break;
		case 'A':
			conf.alternate = 1;
			break;
		case 'p':
			if (conf.n_server_pids == MAX_PIDS)
				usage();
			conf.server_pids[conf.n_server_pids++] = atoi(optarg);
			break;
		case 'P':
			conf.db_pid = atoi(optarg);
			break;
		case 'l':
			conf.label = optarg;
			break;
		case 'v':
			conf.kv = 1;
			break;
		case 'L':
			conf.latencies = optarg;
			break;
		case 'H':
			conf.threads = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || server == NULL || conf.ca == NULL ||
	    conf.concurrency < 1 || conf.concurrency > 1024 ||
	    conf.timeout < 1 || (conf.eab_kid != NULL) != (eab_b64 != NULL) ||
	    (conf.mode == MODE_KAKUIN && conf.token == NULL &&
	        conf.eab_kid == NULL))
		usage();
	if (conf.count < 1)
		conf.count = conf.concurrency * 4;
	if (conf.label == NULL)
		conf.label = conf.mode == MODE_KAKUIN ? "kakuin" : "rfc8555";
	/* A directory URL as given; a base URL gets Kakuin's path. */
	if (strstr(server, "/dir") != NULL)
		snprintf(dir, sizeof(dir), "%s", server);
	else
		snprintf(dir, sizeof(dir), "%s/acme/directory", server);
	conf.directory = dir;
	if (eab_b64 != NULL && b64url_decode(eab_b64, strlen(eab_b64),
	                           &conf.eab_key, &conf.eab_key_len) != KK_OK)
		usage();
	curl_global_init(CURL_GLOBAL_DEFAULT);

	w = calloc((size_t)conf.concurrency, sizeof(*w));
	if (conf.threads < 1)
		conf.threads = 1;
	if (conf.threads > conf.concurrency)
		conf.threads = conf.concurrency;
	loops = calloc((size_t)conf.threads, sizeof(*loops));
	prep = calloc((size_t)conf.count, sizeof(*prep));
	all = calloc((size_t)conf.count, sizeof(*all));
	if (w == NULL || loops == NULL || prep == NULL || all == NULL)
		goto out;
	for (int k = 0; k < conf.threads; k++)
		loops[k].epfd = -1;
	/* Loop k drives the workers from k N / T up to (k + 1) N / T. */
	for (int k = 0; k < conf.threads; k++) {
		struct loop *l = &loops[k];
		int from = k * conf.concurrency / conf.threads,
		    to = (k + 1) * conf.concurrency / conf.threads;

		l->timer = -1;
		if ((l->multi = curl_multi_init()) == NULL ||
		    (l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
			goto out;
		curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
		curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
		curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer);
		curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
		/* A connection per worker and replica stays open (and the
		 * setup's, which warm_up does not reuse). */
		curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS,
		    (long)(to - from) *
		            (conf.n_connect > 0 ? conf.n_connect : 1) +
		        1);
		l->w = &w[from];
		l->n = l->busy = to - from;
		for (int i = from; i < to; i++) {
			if (worker_init(&w[i], &conf, i) != 0 ||
			    (w[i].lat = calloc(
			         (size_t)conf.count, sizeof(double))) == NULL)
				goto out;
			w[i].loop = l;
			w[i].prep = prep;
		}
	}
	w[0].pinned = 1;
	if (directory(&w[0], &conf) != 0)
		goto out;
	if (conf.mode == MODE_KAKUIN && conf.eab_kid == NULL &&
	    setup_kakuin(&w[0], &conf) != 0)
		goto out;
	w[0].pinned = 0;
	w[0].nonce[0] = '\0';
	for (int i = 0; i < conf.count; i++)
		if (prepare(&conf, i, run, &prep[i]) != 0) {
			fprintf(stderr, "cannot prepare enrollment %d\n", i);
			goto out;
		}
	/* Each worker's first nonce and its connections before the clock: a
	 * fleet of hosts is connected already in a steady state. */
	for (int r = 0;
	     r < (conf.alternate && conf.n_connect > 1 ? conf.n_connect : 1);
	     r++)
		if (warm_up(loops, conf.threads) != 0)
			goto out;

	hz = (double)sysconf(_SC_CLK_TCK);
	s0 = server_ticks(&conf);
	if (conf.db_pid > 0)
		d0 = tree_ticks(conf.db_pid);
	cpu0 = bench_clock_cpu();
	machine_ok = machine_ticks(&m0) == 0;
	t0 = bench_clock_now();
	for (int k = 0; k < conf.threads; k++)
		if (pthread_create(
		        &loops[k].thread, NULL, loop_run, &loops[k]) != 0) {
			/* This thread does that loop's work itself, to the
			 * end; the loops after it start late and take fewer
			 * jobs, which changes no figure but the spread of
			 * the work. */
			loops[k].thread = pthread_self();
			loop_run(&loops[k]);
		}
	for (int k = 0; k < conf.threads; k++)
		if (!pthread_equal(loops[k].thread, pthread_self()))
			pthread_join(loops[k].thread, NULL);
	elapsed = bench_clock_now() - t0;
	bench_cpu = bench_clock_cpu() - cpu0;
	machine_ok =
	    machine_ticks(&m1) == 0 && machine_ok && m1.total > m0.total;
	s1 = server_ticks(&conf);
	if (conf.db_pid > 0)
		d1 = tree_ticks(conf.db_pid);

	for (int i = 0; i < conf.concurrency; i++) {
		memcpy(
		    all + total, w[i].lat, (size_t)w[i].n_lat * sizeof(double));
		total += w[i].n_lat;
		failed += w[i].failed;
		connects += w[i].connects;
		retries += w[i].retries;
	}
	/* Jobs never started because their worker gave up. */
	if (atomic_load(&next_job_no) < conf.count)
		failed += conf.count - atomic_load(&next_job_no);
	qsort(all, (size_t)total, sizeof(double), cmp_double);
	if (conf.latencies != NULL &&
	    (f = fopen(conf.latencies, "a")) != NULL) {
		for (int i = 0; i < total; i++)
			fprintf(f, "%.3f\n", all[i] * 1000);
		fclose(f);
	}
	{
		double p50 = total ? 1000 * all[total / 2] : 0;
		double p99 = total ? 1000 * all[(total * 99) / 100 < total
		                                    ? (total * 99) / 100
		                                    : total - 1]
		                   : 0;
		double scpu = (double)(s1 - s0) / hz,
		       dcpu = (double)(d1 - d0) / hz;
		int per = total > 0 ? total : 1;
		double ticks = machine_ok ? (double)(m1.total - m0.total) : 1,
		       steal = machine_share(m0.steal, m1.steal, ticks),
		       idle = machine_share(m0.idle, m1.idle, ticks);

		/* Without /proc/stat's figures the machine's are left out,
		 * not printed as zeros. */
		if (conf.kv) {
			printf("label=%s concurrency=%d ok=%d failed=%d "
			       "elapsed_s=%.3f rate=%.1f p50_ms=%.1f "
			       "p99_ms=%.1f server_cpu_s=%.2f db_cpu_s=%.2f "
			       "bench_cpu_s=%.3f connections=%ld retries=%d",
			    conf.label, conf.concurrency, total, failed,
			    elapsed, total / elapsed, p50, p99, scpu, dcpu,
			    bench_cpu, connects, retries);
			if (machine_ok)
				printf(" steal_pct=%.1f idle_pct=%.1f", steal,
				    idle);
			printf("\n");
		}
		{
			printf("%s, %d workers: %d enrollments (%d failed) in "
			       "%.2f s: %.1f/s, latency p50 %.1f ms, p99 %.1f "
			       "ms\n",
			    conf.label, conf.concurrency, total, failed,
			    elapsed, total / elapsed, p50, p99);
			printf("  CPU per enrollment: server %.3f ms",
			    1000 * scpu / per);
			if (conf.db_pid > 0)
				printf(
				    " + database %.3f ms", 1000 * dcpu / per);
			printf(", bench %.3f ms; %ld connections opened",
			    1000 * bench_cpu / per, connects);
			if (retries > 0)
				printf("; %d requests retried after 503/429",
				    retries);
			printf("\n");
			if (machine_ok)
				printf(
				    "  the machine's CPUs meanwhile: %.1f %% "
				    "idle, %.1f %% stolen by the hypervisor\n",
				    idle, steal);
		}
	}
	rc = failed ? 1 : 0;
out:
	for (int i = 0; w != NULL && i < conf.concurrency; i++)
		worker_clear(&w[i]);
	for (int k = 0; loops != NULL && k < conf.threads; k++) {
		curl_multi_cleanup(loops[k].multi);
		if (loops[k].epfd >= 0)
			close(loops[k].epfd);
	}
	free(loops);
	for (int i = 0; prep != NULL && i < conf.count; i++)
		prep_clear(&prep[i]);
	free(prep);
	free(all);
	free(w);
	free(conf.eab_kid);
	free(conf.eab_key);
	curl_global_cleanup();
	return rc;
}
