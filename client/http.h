/*
 * http.h - HTTPS requests over libcurl, the client's only transport.
 *
 * TLS verification is always on (peer and host name); a private root is
 * given with ca_bundle. Proxies come from libcurl's own environment
 * handling (HTTPS_PROXY, NO_PROXY). Connect and total timeouts bound every
 * request, and response bodies are capped, so a hung or hostile server
 * cannot hang a cron job or exhaust memory. One handle is reused so that
 * connections are kept alive between requests.
 */
#ifndef KC_HTTP_H
#define KC_HTTP_H

#include <stddef.h>

#include "err.h"

#define HTTP_MAX_BODY (1024 * 1024)
#define HTTP_CONNECT_TIMEOUT 15 /* seconds */
#define HTTP_TOTAL_TIMEOUT 60

struct http;

struct http_response {
	long status;
	char *body; /* NUL-terminated, len bytes before the NUL */
	size_t len;
	char *content_type; /* or NULL */
	char *location;     /* or NULL */
	char *replay_nonce; /* or NULL */
	long retry_after;   /* seconds, -1 when absent */
};

/* ca_bundle may be NULL (system store). *out is freed with http_free(). */
enum kk_status http_new(
    const char *ca_bundle, struct http **out, struct kc_err *err);
void http_free(struct http *h);

/*
 * method "GET", "HEAD" or "POST" (body/len, sent with content_type).
 * headers: extra "Name: value" lines, NULL-ended, or NULL. A transport
 * failure (DNS, connect, TLS, timeout) is KK_EIO with EX_UNAVAILABLE, or
 * EX_CONFIG for a certificate that does not verify; any HTTP status is
 * KK_OK and left to the caller. Release *res with http_response_clear().
 */
enum kk_status http_request(struct http *h, const char *method, const char *url,
    const char *const *headers, const char *content_type, const char *body,
    size_t len, struct http_response *res, struct kc_err *err);
void http_response_clear(struct http_response *res);

/* Parses a Retry-After value (delta-seconds or HTTP-date); -1 if invalid. */
long http_parse_retry_after(const char *value, long now);

#endif
