/*
 * http-01 (RFC 8555 8.3): GET http://NAME/.well-known/acme-challenge/TOKEN
 * with libcurl. Redirects are followed here, one hop at a time, rather
 * than by curl, so that each hop is checked before it is fetched (http or
 * https only, to port 80 or 443 or the configured ones, at most
 * VA_REDIRECTS) and its host is resolved the same way as the first.
 * A certificate on an https hop is not checked (RFC 8555 8.3 lets the
 * server ignore it: the key authorization is the proof).
 */
#include <sys/socket.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "va_internal.h"

#define VA_REDIRECTS 10
#define VA_BODY_MAX 8192 /* a key authorization is under 200 bytes */
#define VA_CONNECT_TIMEOUT_MS 5000L

struct body {
	char buf[VA_BODY_MAX + 1];
	size_t len;
	int over;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t total = size * n;

	if (total > VA_BODY_MAX - b->len) {
		b->over = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	memcpy(b->buf + b->len, p, total);
	b->len += total;
	return total;
}

/*
 * curl opens every socket here: only to the address resolved and checked
 * for this hop (CURLOPT_RESOLVE pins it; this makes sure nothing else,
 * such as a proxy or a second lookup, is reached instead).
 */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	const char *addr = arg;

	if (purpose != CURLSOCKTYPE_IPCXN || !va_sockaddr_is(&a->addr, addr))
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype, a->protocol);
}

/* Whether a hop may go to port. */
static int
port_ok(const struct va_config *c, long port)
{
	return port == 80 || port == 443 || port == c->http_port ||
	       port == c->tls_port;
}

/* One hop's host and port, checked; host without IPv6 brackets. */
static enum kk_status
hop_target(const struct va_config *c, const char *url, char *host,
    size_t hostlen, long *port, struct va_result *res)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *h = NULL, *ps = NULL;
	enum kk_status st = KK_OK;
	size_t n;

	if (u == NULL)
		return KK_ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &ps, CURLU_DEFAULT_PORT) !=
	        CURLUE_OK) {
		va_fail(res, ACME_CONNECTION,
		    "http-01: a redirect to %.200s, "
		    "which is not a URL",
		    url);
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		va_fail(res, ACME_CONNECTION,
		    "http-01: a redirect to a %.16s URL (only http and https)",
		    scheme);
		goto out;
	}
	*port = strtol(ps, NULL, 10);
	if (!port_ok(c, *port)) {
		va_fail(res, ACME_CONNECTION,
		    "http-01: a redirect to port %ld (only 80, 443, %d and "
		    "%d)",
		    *port, c->http_port, c->tls_port);
		goto out;
	}
	n = strlen(h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		memmove(h, h + 1, n - 2);
		h[n - 2] = '\0';
	}
	snprintf(host, hostlen, "%s", h);
out:
	curl_free(scheme);
	curl_free(h);
	curl_free(ps);
	curl_url_cleanup(u);
	return st;
}

/*
 * Fetches url into b: *code is the HTTP status and *next (caller frees
 * with free) the redirect target of a 3xx, else NULL. Failures that are
 * the client's set res.
 */
static enum kk_status
fetch(const struct va_config *c, const char *url,
    const struct timespec *deadline, struct body *b, long *code, char **next,
    struct va_result *res)
{
	char host[256], addr[VA_ADDR_LEN], pin[512], *loc = NULL;
	struct curl_slist *resolve = NULL;
	CURL *h = NULL;
	CURLcode rc;
	long port = 0, left;
	enum kk_status st;

	*code = 0;
	*next = NULL;
	if ((st = hop_target(c, url, host, sizeof(host), &port, res)) !=
	        KK_OK ||
	    res->problem != 0 || res->detail[0] != '\0')
		return st;
	if ((st = va_resolve(c, host, deadline, addr, res)) != KK_OK ||
	    res->detail[0] != '\0')
		return st;
	snprintf(pin, sizeof(pin),
	    strchr(addr, ':') ? "%s:%ld:[%s]" : "%s:%ld:%s", host, port, addr);
	if ((resolve = curl_slist_append(NULL, pin)) == NULL ||
	    (h = curl_easy_init()) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	left = va_left_ms(deadline);
	b->len = 0;
	b->over = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never *_proxy from env */
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, addr);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    left < VA_CONNECT_TIMEOUT_MS ? left : VA_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(
	    h, CURLOPT_USERAGENT, "kakuin-va/1 (RFC 8555 http-01)");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	rc = curl_easy_perform(h);
	if (rc == CURLE_WRITE_ERROR && b->over) {
		va_fail(res, ACME_INCORRECT_RESPONSE,
		    "http-01: the body at %.200s is over %d bytes", url,
		    VA_BODY_MAX);
		goto out;
	}
	if (rc != CURLE_OK) {
		va_fail(res, ACME_CONNECTION,
		    "http-01: cannot fetch %.200s "
		    "(%s at %s port %ld): %s",
		    url, host, addr, port, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	if (*code >= 300 && *code < 400 &&
	    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK &&
	    loc != NULL && (*next = strdup(loc)) == NULL)
		st = KK_ENOMEM;
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(resolve);
	return st;
}

enum kk_status
va_http01(const struct va_config *c, const char *name, const char *token,
    const char *key_auth, const struct timespec *deadline,
    struct va_result *res)
{
	struct body *b = NULL;
	char *url = NULL, *next = NULL;
	long code = 0;
	enum kk_status st = KK_ENOMEM;
	int hop;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return KK_ENOMEM;
	if (c->http_port == 80
	        ? asprintf(&url, "http://%s/.well-known/acme-challenge/%s",
	              name, token) < 0
	        : asprintf(&url, "http://%s:%d/.well-known/acme-challenge/%s",
	              name, c->http_port, token) < 0) {
		url = NULL;
		goto out;
	}
	for (hop = 0;; hop++) {
		if ((st = fetch(c, url, deadline, b, &code, &next, res)) !=
		        KK_OK ||
		    res->detail[0] != '\0')
			goto out;
		if (next == NULL)
			break;
		if (hop == VA_REDIRECTS) {
			va_fail(res, ACME_CONNECTION,
			    "http-01: more than %d redirects", VA_REDIRECTS);
			goto out;
		}
		free(url);
		url = next;
		next = NULL;
	}
	if (code != 200) {
		va_fail(res, ACME_UNAUTHORIZED,
		    "http-01: GET %.200s answered HTTP %ld", url, code);
		goto out;
	}
	/* RFC 8555 8.3: whitespace at the end of the body is ignored. */
	while (b->len > 0 && isspace((unsigned char)b->buf[b->len - 1]))
		b->len--;
	b->buf[b->len] = '\0';
	if (b->len == strlen(key_auth) && memcmp(b->buf, key_auth, b->len) == 0)
		res->valid = 1;
	else
		va_fail(res, ACME_INCORRECT_RESPONSE,
		    "http-01: the body at %.200s is not the key "
		    "authorization \"%.120s\"",
		    url, key_auth);
out:
	free(url);
	free(next);
	free(b);
	return st;
}
