/*
 * Delivery attempts over libcurl (notify_send.h). Each attempt is one
 * easy handle of its own, used once, so that nothing (connections,
 * cookies, credentials) carries from one receiver to another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/hmac.h>

#include "json.h"
#include "notify_send.h"

#define MAIL_MAX 16384

enum kk_status
notify_sign(
    const char *secret, time_t t, const char *body, char out[NOTIFY_SIG_LEN])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *msg = NULL;
	int n, len;

	if ((len = asprintf(&msg, "%lld.%s", (long long)t, body)) < 0)
		return KK_ENOMEM;
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	        (const unsigned char *)msg, (size_t)len, md, &mdlen) == NULL ||
	    mdlen != sizeof(md)) {
		free(msg);
		return KK_ECRYPTO;
	}
	free(msg);
	n = snprintf(out, NOTIFY_SIG_LEN, "t=%lld,v1=", (long long)t);
	for (unsigned i = 0; i < mdlen && n + 2 < NOTIFY_SIG_LEN; i++)
		n += snprintf(
		    out + n, (size_t)(NOTIFY_SIG_LEN - n), "%02x", md[i]);
	return KK_OK;
}

/* Answers are read and dropped: only the status counts. */
static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void
fail_with(struct notify_result *r, const char *what)
{
	snprintf(r->error, sizeof(r->error), "%s", what);
}

/* Appends s (copied) to *l; -1 when out of memory, *l kept as it was. */
static int
slist_add(struct curl_slist **l, const char *s)
{
	struct curl_slist *t = curl_slist_append(*l, s);

	if (t == NULL)
		return -1;
	*l = t;
	return 0;
}

/*
 * A handle for one attempt at url, by one of protocols only, within
 * timeout seconds, trusting ca_file (NULL: the system's roots); libcurl
 * writes what went wrong to err. Caller frees with curl_easy_cleanup;
 * NULL when out of memory.
 */
static CURL *
easy_new(const char *url, const char *protocols, int timeout,
    const char *ca_file, char *err)
{
	CURL *c;

	if ((c = curl_easy_init()) == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	if (ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	return c;
}

/* Makes the attempt of c (made by easy_new with err): the receiver's
 * status in r, and the reason when it did not get through. */
static enum kk_status
perform(CURL *c, const char *err, struct notify_result *r)
{
	CURLcode cc = curl_easy_perform(c);
	long code = 0;

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	r->status = (int)code;
	if (cc != CURLE_OK) {
		snprintf(r->error, sizeof(r->error), "%s",
		    err[0] != '\0' ? err : curl_easy_strerror(cc));
		return KK_EIO;
	}
	return KK_OK;
}

enum kk_status
notify_webhook_post(const struct notify_webhook *h, const char *event,
    int64_t id, const char *body, time_t now, int timeout,
    struct notify_result *r)
{
	struct curl_slist *hdr = NULL;
	char sig[NOTIFY_SIG_LEN], line[160], err[CURL_ERROR_SIZE] = "";
	CURL *c = NULL;
	enum kk_status st;

	memset(r, 0, sizeof(*r));
	if ((st = notify_sign(h->secret, now, body, sig)) != KK_OK) {
		fail_with(r, "cannot sign");
		return st;
	}
	st = KK_ENOMEM;
	if ((c = easy_new(h->url, "http,https", timeout, h->ca_file, err)) ==
	    NULL)
		goto out;
	snprintf(line, sizeof(line), "Kakuin-Event: %s", event);
	if (slist_add(&hdr, line) != 0)
		goto out;
	snprintf(line, sizeof(line), "Kakuin-Delivery: %lld", (long long)id);
	if (slist_add(&hdr, line) != 0)
		goto out;
	snprintf(line, sizeof(line), "Kakuin-Signature: %s", sig);
	if (slist_add(&hdr, line) != 0 ||
	    slist_add(&hdr, "Content-Type: application/json") != 0)
		goto out;
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kakuin-server");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if ((st = perform(c, err, r)) == KK_OK &&
	    (r->status < 200 || r->status > 299)) {
		snprintf(r->error, sizeof(r->error), "HTTP %d", r->status);
		st = KK_EIO;
	}
out:
	if (st == KK_ENOMEM)
		fail_with(r, "out of memory");
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return st;
}

/* The message being uploaded to the relay. */
struct upload {
	const char *p;
	size_t left;
};

static size_t
read_msg(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t len = size * n < u->left ? size * n : u->left;

	memcpy(buf, u->p, len);
	u->p += len;
	u->left -= len;
	return len;
}

/* Appends s to the message, with every control character (a line break
 * in a value could forge a header) made a space. */
static void
put_clean(char *msg, size_t *len, const char *s)
{
	for (; s != NULL && *s != '\0' && *len + 1 < MAIL_MAX; s++)
		msg[(*len)++] =
		    (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
	msg[*len] = '\0';
}

static void
put(char *msg, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 >= MAIL_MAX)
		n = MAIL_MAX - *len - 1;
	memcpy(msg + *len, s, n);
	*len += n;
	msg[*len] = '\0';
}

/* An ASCII-only copy for the Subject header (RFC 5322 wants ASCII). */
static void
put_ascii(char *msg, size_t *len, const char *s)
{
	for (; s != NULL && *s != '\0' && *len + 1 < MAIL_MAX; s++)
		msg[(*len)++] = *s >= 0x20 && *s < 0x7f ? *s : '?';
	msg[*len] = '\0';
}

/* The message: headers, then each data member as "name: value". */
static enum kk_status
compose(const struct notify_conf *c, const char *event, int64_t id,
    const char *payload, time_t now, char *msg)
{
	const cJSON *data, *m;
	cJSON *root = NULL;
	char date[64], num[64];
	struct tm tm;
	size_t len = 0;

	if (json_parse(payload, strlen(payload), &root) != KK_OK)
		return KK_EINVAL;
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	msg[0] = '\0';
	put(msg, &len, "Date: ");
	put(msg, &len, date);
	put(msg, &len, "\r\nFrom: ");
	put(msg, &len, c->from);
	put(msg, &len, "\r\nTo: ");
	for (size_t i = 0; i < c->n_to; i++) {
		put(msg, &len, i > 0 ? ", " : "");
		put(msg, &len, c->to[i]);
	}
	snprintf(num, sizeof(num), "%lld", (long long)id);
	put(msg, &len, "\r\nMessage-ID: <kakuin-notify-");
	put(msg, &len, num);
	put(msg, &len, ".");
	put_ascii(msg, &len, json_get_string(root, "id"));
	put(msg, &len, "@kakuin>\r\nSubject: [kakuin] ");
	put_ascii(msg, &len, event);
	put(msg, &len, " ");
	put_ascii(msg, &len, json_get_string(data, "org"));
	put(msg, &len,
	    "\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "event: ");
	put_clean(msg, &len, event);
	put(msg, &len, "\r\n");
	cJSON_ArrayForEach(m, data)
	{
		put_clean(msg, &len, m->string);
		put(msg, &len, ": ");
		if (cJSON_IsString(m))
			put_clean(msg, &len, m->valuestring);
		else if (cJSON_IsNumber(m)) {
			snprintf(num, sizeof(num), "%d", m->valueint);
			put(msg, &len, num);
		}
		put(msg, &len, "\r\n");
	}
	cJSON_Delete(root);
	return KK_OK;
}

enum kk_status
notify_mail_send(const struct notify_conf *c, const char *event, int64_t id,
    const char *payload, time_t now, struct notify_result *r)
{
	struct curl_slist *rcpt = NULL;
	struct upload u;
	char err[CURL_ERROR_SIZE] = "", *msg = NULL;
	CURL *h = NULL;
	enum kk_status st = KK_ENOMEM;

	memset(r, 0, sizeof(*r));
	if ((msg = malloc(MAIL_MAX)) == NULL)
		goto out;
	if ((st = compose(c, event, id, payload, now, msg)) != KK_OK) {
		fail_with(r, "the payload is not JSON");
		goto out;
	}
	st = KK_ENOMEM;
	for (size_t i = 0; i < c->n_to; i++)
		if (slist_add(&rcpt, c->to[i]) != 0)
			goto out;
	if ((h = easy_new(c->relay, "smtp,smtps", c->timeout_seconds,
	         c->mail_ca, err)) == NULL)
		goto out;
	u.p = msg;
	u.left = strlen(msg);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, c->from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_msg);
	curl_easy_setopt(h, CURLOPT_READDATA, &u);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	if (c->starttls)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	st = perform(h, err, r);
out:
	if (st == KK_ENOMEM)
		fail_with(r, "out of memory");
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	free(msg);
	return st;
}
