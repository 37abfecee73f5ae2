/*
 * bench_enroll - N concurrent full enrollments against a real kakuin-server
 * for an organization that is already verified, as a utility's fleet
 * enrolls after its one human verification: newAccount with an EAB key,
 * newOrder (ready at once), finalize with a CSR, certificate download.
 * Prints enrollments per second and the p50/p99 latency of one
 * enrollment.
 *
 *   bench_enroll --server URL --ca-bundle root.pem --token OPERATOR_TOKEN
 *                [--org ID] [--concurrency N] [--count M]
 *
 * Setup (one verification approved through the operator API, one EAB key)
 * is done first and not timed.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "b64url.h"
#include "eab.h"
#include "jws.h"

struct conf {
	const char *server, *ca, *token, *org;
	int concurrency, count;
	char *eab_kid;
	unsigned char *eab_key;
	size_t eab_key_len;
};

/* One HTTP exchange's results. */
struct resp {
	long status;
	char *body;
	size_t len;
	char location[512];
	char nonce[128];
};

/* A client: one curl handle (connections reused) and its state. */
struct client {
	const struct conf *conf;
	CURL *curl;
	EVP_PKEY *key;
	char *kid;
	char nonce[128];
	char base[256];
};

struct worker {
	struct client c;
	int todo;
	double *lat;
	int n_lat;
	int failed;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	char *nb = realloc(r->body, r->len + size * n + 1);

	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, p, size * n);
	r->len += size * n;
	nb[r->len] = '\0';
	r->body = nb;
	return size * n;
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
	return size * n;
}

/* Returns 0 when the transfer worked (any HTTP status). */
static int
request(struct client *c, const char *method, const char *url, const char *hdr,
    const char *body, struct resp *r)
{
	struct curl_slist *h = NULL;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->conf->ca);
	curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	if (body != NULL)
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	if (hdr != NULL)
		h = curl_slist_append(h, hdr);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c->curl);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		fprintf(
		    stderr, "%s %s: %s\n", method, url, curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	return 0;
}

/* A signed POST; takes and refreshes the client's nonce. */
static int
post(struct client *c, const char *url, const char *payload, struct resp *r)
{
	struct resp n;
	char *body = NULL, nurl[300];
	int rc;

	memset(r, 0, sizeof(*r));
	if (c->nonce[0] == '\0') {
		snprintf(nurl, sizeof(nurl), "%s/acme/new-nonce", c->base);
		if (request(c, "HEAD", nurl, NULL, NULL, &n) != 0)
			return -1;
		snprintf(c->nonce, sizeof(c->nonce), "%s", n.nonce);
		free(n.body);
	}
	if (jws_sign(c->key, c->kid, c->nonce, url,
	        (const unsigned char *)payload, payload ? strlen(payload) : 0,
	        &body) != KK_OK)
		return -1;
	rc = request(
	    c, "POST", url, "Content-Type: application/jose+json", body, r);
	free(body);
	if (rc == 0)
		snprintf(c->nonce, sizeof(c->nonce), "%s", r->nonce);
	return rc;
}

static const char *
jfield(const char *json, const char *name, char *out, size_t outsz)
{
	cJSON *j = cJSON_Parse(json);
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(j, name));

	snprintf(out, outsz, "%s", v ? v : "");
	cJSON_Delete(j);
	return out[0] ? out : NULL;
}

static int
new_account(struct client *c, int with_eab)
{
	char url[300], *payload;
	struct resp r;
	cJSON *p = cJSON_CreateObject(), *eab = NULL;
	int rc = -1;

	snprintf(url, sizeof(url), "%s/acme/new-account", c->base);
	cJSON_AddTrueToObject(p, "termsOfServiceAgreed");
	if (with_eab && eab_build(c->conf->eab_kid, c->conf->eab_key,
	                    c->conf->eab_key_len, c->key, url, &eab) == KK_OK)
		cJSON_AddItemToObject(p, "externalAccountBinding", eab);
	payload = cJSON_PrintUnformatted(p);
	if (post(c, url, payload, &r) == 0 && r.status == 201) {
		c->kid = strdup(r.location);
		rc = 0;
	} else
		fprintf(stderr, "newAccount: %ld %s\n", r.status,
		    r.body ? r.body : "");
	free(r.body);
	free(payload);
	cJSON_Delete(p);
	return rc;
}

/* Order, finalize, download. Returns 0 on a downloaded certificate. */
static int
enroll_once(struct client *c, int n)
{
	char url[600], payload[256], order[512], cert[512], *b64 = NULL,
	                                                    *csrp = NULL;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	struct resp r;
	int len, rc = -1;

	snprintf(url, sizeof(url), "%s/acme/new-order", c->base);
	snprintf(payload, sizeof(payload),
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"%s\"}]}",
	    c->conf->org);
	if (post(c, url, payload, &r) != 0 || r.status != 201) {
		fprintf(stderr, "newOrder: %ld %s\n", r.status,
		    r.body ? r.body : "");
		goto out;
	}
	snprintf(order, sizeof(order), "%s", r.location);
	free(r.body);
	r.body = NULL;

	X509_NAME_add_entry_by_NID(name, NID_organizationIdentifier,
	    MBSTRING_UTF8, (const unsigned char *)c->conf->org, -1, -1, 0);
	snprintf(payload, sizeof(payload), "bench-%d.example.jp", n);
	X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)payload, -1, -1, 0);
	X509_REQ_set_subject_name(req, name);
	X509_REQ_set_pubkey(req, k);
	if (X509_REQ_sign(req, k, EVP_sha256()) <= 0 ||
	    (len = i2d_X509_REQ(req, &der)) <= 0 ||
	    b64url_encode(der, (size_t)len, &b64) != KK_OK ||
	    asprintf(&csrp, "{\"csr\":\"%s\"}", b64) < 0)
		goto out;
	snprintf(url, sizeof(url), "%s/finalize", order);
	if (post(c, url, csrp, &r) != 0 || r.status != 200 ||
	    jfield(r.body, "certificate", cert, sizeof(cert)) == NULL) {
		fprintf(stderr, "finalize: %ld %s\n", r.status,
		    r.body ? r.body : "");
		goto out;
	}
	free(r.body);
	r.body = NULL;
	if (post(c, cert, NULL, &r) != 0 || r.status != 200 ||
	    strstr(r.body, "BEGIN CERTIFICATE") == NULL) {
		fprintf(stderr, "download: %ld\n", r.status);
		goto out;
	}
	rc = 0;
out:
	free(r.body);
	free(b64);
	free(csrp);
	OPENSSL_free(der);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	return rc;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->todo; i++) {
		double t0 = now_s();

		/* A fresh host each time: its own connection, its own
		 * account bound by EAB. */
		EVP_PKEY_free(w->c.key);
		free(w->c.kid);
		w->c.kid = NULL;
		w->c.nonce[0] = '\0';
		curl_easy_cleanup(w->c.curl);
		w->c.curl = curl_easy_init();
		w->c.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (new_account(&w->c, 1) != 0 || enroll_once(&w->c, i) != 0) {
			w->failed++;
			continue;
		}
		w->lat[w->n_lat++] = now_s() - t0;
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One verification approved by the operator, then an EAB key. */
static int
setup(struct conf *conf)
{
	struct client c;
	struct resp r;
	char url[600], auth[400], chall[512], tmp[512], *b64 = NULL, *vid;
	cJSON *j = NULL;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.conf = conf;
	c.curl = curl_easy_init();
	snprintf(c.base, sizeof(c.base), "%s", conf->server);
	c.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", conf->token);
	if (new_account(&c, 0) != 0)
		goto out;
	snprintf(url, sizeof(url), "%s/acme/new-order", c.base);
	snprintf(tmp, sizeof(tmp),
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"%s\"}]}",
	    conf->org);
	if (post(&c, url, tmp, &r) != 0 || r.status != 201)
		goto out;
	j = cJSON_Parse(r.body);
	free(r.body);
	snprintf(url, sizeof(url), "%s",
	    cJSON_GetStringValue(cJSON_GetArrayItem(
	        cJSON_GetObjectItem(j, "authorizations"), 0)));
	cJSON_Delete(j);
	if (post(&c, url, NULL, &r) != 0)
		goto out;
	j = cJSON_Parse(r.body);
	free(r.body);
	snprintf(chall, sizeof(chall), "%s",
	    cJSON_GetStringValue(cJSON_GetObjectItem(
	        cJSON_GetArrayItem(cJSON_GetObjectItem(j, "challenges"), 0),
	        "url")));
	cJSON_Delete(j);
	if (post(&c, chall, "{}", &r) != 0 || r.status != 200)
		goto out;
	free(r.body);
	snprintf(url, sizeof(url),
	    "%s/operator/v1/verifications?status=processing", c.base);
	if (request(&c, "GET", url, auth, NULL, &r) != 0 || r.status != 200)
		goto out;
	j = cJSON_Parse(r.body);
	free(r.body);
	vid = cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(j, "verifications"), 0),
	    "id"));
	snprintf(url, sizeof(url), "%s/operator/v1/verifications/%s/approve",
	    c.base, vid ? vid : "none");
	cJSON_Delete(j);
	if (request(&c, "POST", url, auth,
	        "{\"method\":\"phone\",\"legal_name\":\"Bench Power K.K.\","
	        "\"country\":\"JP\",\"evidence\":\"benchmark setup\"}",
	        &r) != 0 ||
	    r.status != 200) {
		fprintf(stderr, "approve: %ld %s\n", r.status,
		    r.body ? r.body : "");
		goto out;
	}
	free(r.body);
	snprintf(url, sizeof(url), "%s/operator/v1/orgs/%s/eab-keys", c.base,
	    conf->org);
	if (request(&c, "POST", url, auth, "{}", &r) != 0 || r.status != 201)
		goto out;
	conf->eab_kid = strdup(jfield(r.body, "kid", tmp, sizeof(tmp)));
	b64 = strdup(jfield(r.body, "hmac_key", tmp, sizeof(tmp)));
	free(r.body);
	if (b64url_decode(
	        b64, strlen(b64), &conf->eab_key, &conf->eab_key_len) != KK_OK)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "setup failed\n");
	free(b64);
	free(c.kid);
	EVP_PKEY_free(c.key);
	curl_easy_cleanup(c.curl);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"ca-bundle", required_argument, NULL, 'c'},
	    {"token", required_argument, NULL, 't'},
	    {"org", required_argument, NULL, 'o'},
	    {"concurrency", required_argument, NULL, 'n'},
	    {"count", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	struct conf conf = {
	    NULL, NULL, NULL, "NTRJP-9234567890123", 8, 0, NULL, NULL, 0};
	struct worker *w;
	pthread_t *th;
	double t0, elapsed, *all;
	int ch, total = 0, failed = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			conf.server = optarg;
			break;
		case 'c':
			conf.ca = optarg;
			break;
		case 't':
			conf.token = optarg;
			break;
		case 'o':
			conf.org = optarg;
			break;
		case 'n':
			conf.concurrency = atoi(optarg);
			break;
		case 'm':
			conf.count = atoi(optarg);
			break;
		default:
			return 64;
		}
	}
	if (conf.server == NULL || conf.ca == NULL || conf.token == NULL ||
	    conf.concurrency < 1 || conf.concurrency > 1024) {
		fprintf(stderr, "usage: bench_enroll --server URL --ca-bundle "
		                "FILE --token TOKEN [--org ID] [--concurrency "
		                "N] [--count M]\n");
		return 64;
	}
	if (conf.count < conf.concurrency)
		conf.count = conf.concurrency * 4;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup(&conf) != 0)
		return 1;

	w = calloc((size_t)conf.concurrency, sizeof(*w));
	th = calloc((size_t)conf.concurrency, sizeof(*th));
	all = calloc((size_t)conf.count, sizeof(*all));
	if (w == NULL || th == NULL || all == NULL)
		return 1;
	for (int i = 0; i < conf.concurrency; i++) {
		w[i].c.conf = &conf;
		w[i].c.curl = curl_easy_init();
		snprintf(w[i].c.base, sizeof(w[i].c.base), "%s", conf.server);
		w[i].todo = conf.count / conf.concurrency +
		            (i < conf.count % conf.concurrency);
		w[i].lat = calloc((size_t)w[i].todo + 1, sizeof(double));
	}
	t0 = now_s();
	for (int i = 0; i < conf.concurrency; i++)
		pthread_create(&th[i], NULL, work, &w[i]);
	for (int i = 0; i < conf.concurrency; i++)
		pthread_join(th[i], NULL);
	elapsed = now_s() - t0;
	for (int i = 0; i < conf.concurrency; i++) {
		memcpy(
		    all + total, w[i].lat, (size_t)w[i].n_lat * sizeof(double));
		total += w[i].n_lat;
		failed += w[i].failed;
		free(w[i].lat);
		free(w[i].c.kid);
		EVP_PKEY_free(w[i].c.key);
		curl_easy_cleanup(w[i].c.curl);
	}
	qsort(all, (size_t)total, sizeof(double), cmp_double);
	printf("concurrency %d: %d enrollments (%d failed) in %.2f s: %.1f "
	       "enrollments/s, latency p50 %.1f ms, p99 %.1f ms\n",
	    conf.concurrency, total, failed, elapsed, total / elapsed,
	    total ? 1000 * all[total / 2] : 0.0,
	    total ? 1000 * all[(total * 99) / 100 < total ? (total * 99) / 100
	                                                  : total - 1]
	          : 0.0);
	free(all);
	free(w);
	free(th);
	free(conf.eab_kid);
	free(conf.eab_key);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
