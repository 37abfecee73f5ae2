/*
 * va.h - the validation authority: proves control of a dns name by the
 * http-01 and dns-01 challenges (RFC 8555 8.3, 8.4) and tls-alpn-01
 * (RFC 8737). It only looks at the network and says what it saw; the
 * registration authority records the outcome. No global state: each call
 * has its own curl handle, resolver state and TLS context, so workers may
 * validate at the same time.
 */
#ifndef VA_H
#define VA_H

#include <stddef.h>

#include "kk_status.h"
#include "problem.h"

struct va_config {
	int http_port;     /* http-01 port; default 80 */
	int tls_port;      /* tls-alpn-01 port; default 443 */
	char *resolver;    /* "IPv4:PORT" or "[IPv6]:PORT" of the DNS
	                      server for every lookup, or NULL for the
	                      system's */
	int timeout;       /* seconds one validation may take; default 10 */
	int allow_private; /* 1: connect to loopback, private and other
	                      non-public addresses too (tests, labs);
	                      default 0, --va-allow-private */
};

/* Fills the defaults. Release with va_config_clear. */
void va_config_defaults(struct va_config *c);
void va_config_clear(struct va_config *c);

/* KK_EINVAL unless s is "IPv4:PORT" or "[IPv6]:PORT" (what --va-resolver
 * takes). */
enum kk_status va_resolver_ok(const char *s);

/* What a validation found: valid, or a problem type and a detail. */
struct va_result {
	int valid;
	enum acme_problem problem;
	char detail[320];
};

/*
 * Validates challenge type ("http-01", "dns-01" or "tls-alpn-01") for
 * name with token and the account's key authorization
 * (token "." base64url(JWK thumbprint)). Network failures are results,
 * not errors: KK_OK with res->valid 0 and the problem (connection, dns,
 * unauthorized, incorrectResponse, tls). Returns KK_ENOMEM or KK_EINVAL
 * (unknown type) only. Takes at most about c->timeout seconds.
 */
enum kk_status va_validate(const struct va_config *c, const char *type,
    const char *name, const char *token, const char *key_auth,
    struct va_result *res);

#endif
