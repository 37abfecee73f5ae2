#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"

struct http {
	CURL *curl;
	char *ca_bundle;
};

enum kk_status
http_new(const char *ca_bundle, struct http **out, struct kc_err *err)
{
	struct http *h;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return KK_ENOMEM;
	if (ca_bundle != NULL && (h->ca_bundle = strdup(ca_bundle)) == NULL) {
		free(h);
		return KK_ENOMEM;
	}
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		http_free(h);
		return err_set(err, KK_ENOMEM, 1, "cannot initialise libcurl");
	}
	*out = h;
	return KK_OK;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h->ca_bundle);
	free(h);
}

void
http_response_clear(struct http_response *res)
{
	free(res->body);
	free(res->content_type);
	free(res->location);
	free(res->replay_nonce);
	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
}

long
http_parse_retry_after(const char *value, long now)
{
	char *end;
	long n;
	time_t t;

	while (isspace((unsigned char)*value))
		value++;
	if (isdigit((unsigned char)*value)) {
		n = strtol(value, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		return *end == '\0' && n >= 0 ? n : -1;
	}
	t = curl_getdate(value, NULL);
	if (t == -1)
		return -1;
	return t > now ? (long)(t - now) : 0;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_response *res = arg;
	size_t n = size * nmemb;
	char *nb;

	if (res->len + n > HTTP_MAX_BODY)
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	nb = realloc(res->body, res->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + res->len, data, n);
	res->len += n;
	nb[res->len] = '\0';
	res->body = nb;
	return n;
}

/* "Name: value\r\n" -> value if name matches (case-insensitive). */
static char *
header_value(const char *line, size_t n, const char *name)
{
	size_t nl = strlen(name);
	const char *v, *end = line + n;

	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	v = line + nl + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
	                      end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return strndup(v, (size_t)(end - v));
}

static void
keep(char **slot, char *v)
{
	if (v == NULL)
		return;
	free(*slot);
	*slot = v;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_response *res = arg;
	size_t n = size * nmemb;
	char *v;

	keep(&res->content_type, header_value(data, n, "Content-Type"));
	keep(&res->location, header_value(data, n, "Location"));
	keep(&res->replay_nonce, header_value(data, n, "Replay-Nonce"));
	if ((v = header_value(data, n, "Retry-After")) != NULL) {
		res->retry_after = http_parse_retry_after(v, (long)time(NULL));
		free(v);
	}
	return n;
}

enum kk_status
http_request(struct http *h, const char *method, const char *url,
    const char *const *headers, const char *content_type, const char *body,
    size_t len, struct http_response *res, struct kc_err *err)
{
	enum kk_status st = KK_OK;
	struct curl_slist *hl = NULL, *nl;
	char ebuf[CURL_ERROR_SIZE] = "";
	char *ct = NULL;
	CURLcode rc;

	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
	curl_easy_reset(h->curl);
	if (content_type != NULL) {
		if (asprintf(&ct, "Content-Type: %s", content_type) == -1)
			return KK_ENOMEM;
		if ((nl = curl_slist_append(hl, ct)) == NULL)
			goto nomem;
		hl = nl;
	}
	for (; headers != NULL && *headers != NULL; headers++) {
		if ((nl = curl_slist_append(hl, *headers)) == NULL)
			goto nomem;
		hl = nl;
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_bundle != NULL)
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, h->ca_bundle);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, HTTP_TOTAL_TIMEOUT);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "kakuin/" KAKUIN_VERSION);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, res);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(
		    h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
	}
	rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK) {
		int code = EX_UNAVAILABLE;

		if (rc == CURLE_PEER_FAILED_VERIFICATION ||
		    rc == CURLE_SSL_CACERT_BADFILE)
			code = EX_CONFIG;
		st = err_set(err, KK_EIO, code, "%s %s: %s", method, url,
		    ebuf[0] != '\0' ? ebuf : curl_easy_strerror(rc));
		http_response_clear(res);
		goto out;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &res->status);
	if (res->body == NULL && (res->body = strdup("")) == NULL)
		goto nomem;
	goto out;
nomem:
	st = KK_ENOMEM;
	http_response_clear(res);
out:
	curl_slist_free_all(hl);
	free(ct);
	return st;
}
