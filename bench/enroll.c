/*
 * bench_enroll - N concurrent full enrollments against a real ACME server,
 * each as a new host would do it: a new account, an order, (when the
 * server wants them) its authorizations, finalize with a CSR, and the
 * certificate's download. Prints enrollments per second, the p50 and p99
 * latency of one enrollment, and the CPU time per enrollment of the
 * server's processes (from /proc/PID/stat) and of the bench itself.
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
 * newNonce per worker, not per enrollment).
 *
 * Several --connect HOST:PORT spread the workers over replicas that
 * serve the same --server URL (worker i talks to replica i mod R), or,
 * with --alternate, make every worker switch replica at every request.
 */
#include <ctype.h>
#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64url.h"
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
	int concurrency, count;
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

/* A worker: its handles (one per replica it talks to) and its state. */
struct worker {
	const struct conf *conf;
	struct prep *prep;
	int id;
	CURL *curl[MAX_REPLICAS];
	struct curl_slist *connect_to[MAX_REPLICAS];
	struct curl_slist *hdrs;
	int pinned; /* setup: replica 0 only */
	unsigned long requests;
	const struct prep *acct; /* the current account's key */
	char kid[512];
	char nonce[128];
	struct resp r;
	double *lat;
	int n_lat, failed, retries;
	long connects;
};

static atomic_int next_job;
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

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static void
header_value(
    const char *line, size_t len, const char *name, char *out, size_t outsz)
{
	size_t nlen = strlen(name), vlen;

	if (len <= nlen + 1 || strncasecmp(line, name, nlen) != 0 ||
	    line[nlen] != ':')
		return;
	line += nlen + 1;
	len -= nlen + 1;
	while (len > 0 && *line == ' ') {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	vlen = len < outsz - 1 ? len : outsz - 1;
	memcpy(out, line, vlen);
	out[vlen] = '\0';
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;

	header_value(p, size * n, "Location", r->location, sizeof(r->location));
	header_value(p, size * n, "Replay-Nonce", r->nonce, sizeof(r->nonce));
	header_value(
	    p, size * n, "Retry-After", r->retry_after, sizeof(r->retry_after));
	return size * n;
}

/* A handle with everything that does not change between requests. */
static CURL *
handle_new(const struct conf *conf, int replica, struct resp *r,
    struct curl_slist *hdrs, struct curl_slist **ct)
{
	CURL *c = curl_easy_init();
	char connect_to[300];

	if (c == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_CAINFO, conf->ca);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, conf->timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	/* No SIGPIPE handler swapped in and out around every transfer. */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	if (conf->n_connect > 0) {
		/* Every host and port of the URL goes to this replica. */
		snprintf(connect_to, sizeof(connect_to), "::%s",
		    conf->connect[replica]);
		*ct = curl_slist_append(NULL, connect_to);
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, *ct);
	}
	return c;
}

/* One exchange; body NULL: HEAD when head, else GET. 0 when transferred. */
static int
exchange(struct worker *w, const char *url, const char *body, int head)
{
	int rep = 0;
	CURL *c;
	CURLcode rc;
	long n;

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
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		say("%s: %s", url, curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &w->r.status);
	if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n) == CURLE_OK)
		w->connects += n;
	return 0;
}

static int
is_bad_nonce(const struct resp *r)
{
	return r->status == 400 && r->body != NULL &&
	       strstr(r->body, "urn:ietf:params:acme:error:badNonce") != NULL;
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
	int tries, rc = -1;

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
		if (rc == 0 && (w->r.status == 503 || w->r.status == 429) &&
		    w->r.retry_after[0] != '\0' &&
		    atoi(w->r.retry_after) <= 5) {
			w->retries++;
			sleep((unsigned)atoi(w->r.retry_after));
			continue;
		}
		if (rc != 0 || !is_bad_nonce(&w->r))
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

/* Waits a little longer each time: 1, 2, 4 ... 64 ms. */
static void
backoff(int round)
{
	struct timespec ts = {0, (1L << (round < 6 ? round : 6)) * 1000000L};

	nanosleep(&ts, NULL);
}

/*
 * POST-as-GETs url until its "status" is want (valid), at most the
 * request timeout; *out gets the last object (caller frees).
 */
static int
poll_status(struct worker *w, const char *url, const char *want, cJSON **out)
{
	double deadline = now_s() + (double)w->conf->timeout;
	const char *st;
	cJSON *j;

	*out = NULL;
	for (int round = 0; now_s() < deadline; round++) {
		if (post(w, w->acct, w->kid, url, NULL) != 0 ||
		    (j = answer(w, url, 200)) == NULL)
			return -1;
		st = jstr(j, "status");
		if (st != NULL && strcmp(st, want) == 0) {
			*out = j;
			return 0;
		}
		if (st == NULL || strcmp(st, "invalid") == 0) {
			say("%s: status %s", url, st ? st : "missing");
			cJSON_Delete(j);
			return -1;
		}
		cJSON_Delete(j);
		backoff(round);
	}
	say("%s: not %s in time", url, want);
	return -1;
}

/*
 * One pending authorization: its http-01 challenge (or its first) is
 * posted; the order is then polled, not each authorization (Pebble 2.4
 * deadlocks sooner when its authorizations are polled under load).
 */
static int
authorize(struct worker *w, const char *authz)
{
	cJSON *j, *ch;
	const char *url = NULL, *t;
	char chall[512];

	if (post(w, w->acct, w->kid, authz, NULL) != 0 ||
	    (j = answer(w, "authorization", 200)) == NULL)
		return -1;
	t = jstr(j, "status");
	if (t != NULL && strcmp(t, "valid") == 0) {
		cJSON_Delete(j);
		return 0;
	}
	cJSON_ArrayForEach(
	    ch, cJSON_GetObjectItemCaseSensitive(j, "challenges"))
	{
		t = jstr(ch, "type");
		if (url == NULL || (t != NULL && strcmp(t, "http-01") == 0))
			url = jstr(ch, "url");
	}
	snprintf(chall, sizeof(chall), "%s", url ? url : "");
	cJSON_Delete(j);
	if (chall[0] == '\0') {
		say("%s: no challenge", authz);
		return -1;
	}
	if (post(w, w->acct, w->kid, chall, "{}") != 0 ||
	    (j = answer(w, "challenge", 200)) == NULL)
		return -1;
	cJSON_Delete(j);
	return 0;
}

/* One whole enrollment with the prepared material p. */
static int
enroll(struct worker *w, const struct prep *p)
{
	char order[512], finalize[512], cert[512];
	const char *st, *u;
	cJSON *j = NULL, *a;
	int rc = -1;

	w->acct = p;
	if (post(w, p, NULL, w->conf->new_account, p->account_payload) != 0)
		return -1;
	if (w->r.status != 201 || w->r.location[0] == '\0') {
		say("newAccount: HTTP %ld %s", w->r.status,
		    w->r.body ? w->r.body : "");
		return -1;
	}
	snprintf(w->kid, sizeof(w->kid), "%s", w->r.location);

	if (post(w, w->acct, w->kid, w->conf->new_order, p->order_payload) !=
	        0 ||
	    (j = answer(w, "newOrder", 201)) == NULL)
		goto out;
	snprintf(order, sizeof(order), "%s", w->r.location);
	u = jstr(j, "finalize");
	snprintf(finalize, sizeof(finalize), "%s", u ? u : "");
	st = jstr(j, "status");
	if (st != NULL && strcmp(st, "pending") == 0) {
		/* Copies: the next answers reuse the buffer j came from. */
		cJSON *authzs = cJSON_Duplicate(
		    cJSON_GetObjectItemCaseSensitive(j, "authorizations"), 1);

		cJSON_ArrayForEach(a, authzs)
		{
			if (!cJSON_IsString(a) ||
			    authorize(w, a->valuestring) != 0) {
				cJSON_Delete(authzs);
				goto out;
			}
		}
		cJSON_Delete(authzs);
		cJSON_Delete(j);
		if (poll_status(w, order, "ready", &j) != 0)
			goto out;
	}
	cJSON_Delete(j);
	j = NULL;

	if (post(w, w->acct, w->kid, finalize, p->csr_payload) != 0 ||
	    (j = answer(w, "finalize", 200)) == NULL)
		goto out;
	st = jstr(j, "status");
	if (st == NULL || strcmp(st, "valid") != 0) {
		cJSON_Delete(j);
		if (poll_status(w, order, "valid", &j) != 0)
			goto out;
	}
	u = jstr(j, "certificate");
	snprintf(cert, sizeof(cert), "%s", u ? u : "");
	if (post(w, w->acct, w->kid, cert, NULL) != 0)
		goto out;
	if (w->r.status != 200 || w->r.body == NULL ||
	    strstr(w->r.body, "-----BEGIN CERTIFICATE-----") == NULL) {
		say("download: HTTP %ld", w->r.status);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	int job, streak = 0;
	double t0;

	while ((job = atomic_fetch_add(&next_job, 1)) < w->conf->count) {
		t0 = now_s();
		if (enroll(w, &w->prep[job]) != 0) {
			w->failed++;
			/* A CA that stopped answering (Pebble under load)
			 * would otherwise cost a timeout per job. */
			if (++streak >= 3)
				break;
			continue;
		}
		streak = 0;
		w->lat[w->n_lat++] = now_s() - t0;
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

static double
cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
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
		if ((w->curl[i] = handle_new(
		         conf, i, &w->r, w->hdrs, &w->connect_to[i])) == NULL)
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
	free(w->r.body);
	free(w->lat);
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
	pthread_t *th = NULL;
	double t0, elapsed, cpu0, bench_cpu, *all = NULL, hz;
	long long s0, s1, d0 = 0, d1 = 0;
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
	th = calloc((size_t)conf.concurrency, sizeof(*th));
	prep = calloc((size_t)conf.count, sizeof(*prep));
	all = calloc((size_t)conf.count, sizeof(*all));
	if (w == NULL || th == NULL || prep == NULL || all == NULL)
		goto out;
	for (int i = 0; i < conf.concurrency; i++) {
		if (worker_init(&w[i], &conf, i) != 0 ||
		    (w[i].lat = calloc((size_t)conf.count, sizeof(double))) ==
		        NULL)
			goto out;
		w[i].prep = prep;
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
	/* Each worker's first nonce (and its connection) before the clock:
	 * a fleet of hosts is already connected in a steady state. */
	for (int i = 0; i < conf.concurrency; i++) {
		for (int r = 0; r < (conf.alternate ? conf.n_connect : 1); r++)
			if (exchange(&w[i], conf.new_nonce, NULL, 1) != 0)
				goto out;
		snprintf(w[i].nonce, sizeof(w[i].nonce), "%s", w[i].r.nonce);
		w[i].connects = 0;
	}

	hz = (double)sysconf(_SC_CLK_TCK);
	s0 = server_ticks(&conf);
	if (conf.db_pid > 0)
		d0 = tree_ticks(conf.db_pid);
	cpu0 = cpu_self();
	t0 = now_s();
	for (int i = 0; i < conf.concurrency; i++)
		pthread_create(&th[i], NULL, work, &w[i]);
	for (int i = 0; i < conf.concurrency; i++)
		pthread_join(th[i], NULL);
	elapsed = now_s() - t0;
	bench_cpu = cpu_self() - cpu0;
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
	if (atomic_load(&next_job) < conf.count)
		failed += conf.count - atomic_load(&next_job);
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

		if (conf.kv)
			printf("label=%s concurrency=%d ok=%d failed=%d "
			       "elapsed_s=%.3f rate=%.1f p50_ms=%.1f "
			       "p99_ms=%.1f server_cpu_s=%.2f db_cpu_s=%.2f "
			       "bench_cpu_s=%.3f connections=%ld retries=%d\n",
			    conf.label, conf.concurrency, total, failed,
			    elapsed, total / elapsed, p50, p99, scpu, dcpu,
			    bench_cpu, connects, retries);
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
		}
	}
	rc = failed ? 1 : 0;
out:
	for (int i = 0; w != NULL && i < conf.concurrency; i++)
		worker_clear(&w[i]);
	for (int i = 0; prep != NULL && i < conf.count; i++)
		prep_clear(&prep[i]);
	free(prep);
	free(all);
	free(w);
	free(th);
	free(conf.eab_kid);
	free(conf.eab_key);
	curl_global_cleanup();
	return rc;
}
