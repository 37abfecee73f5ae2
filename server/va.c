/*
 * The validation authority: configuration, name resolution, dns-01, and
 * the dispatch to http-01 (va_http.c) and tls-alpn-01 (va_tls.c).
 *
 * DNS goes through glibc's libresolv (res_nquery on a private
 * res_state): it is part of libc6-dev, so no new package; it is
 * thread-safe with one state per call; and a state takes any address
 * and port, which is what pointing the server at a test DNS server needs
 * (an IPv4 one in nsaddr_list, an IPv6 one as glibc itself keeps one read
 * from resolv.conf: see resolver_use). c-ares would add a dependency and
 * an event loop for the one query at a time a validation makes.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "kk_deadline.h"
#include "va_internal.h"

#define VA_DNS_MAX 4096  /* bytes of a DNS answer read */
#define DNSNAME_QMAX 300 /* "_acme-challenge." and a 253-character name */

void
va_config_defaults(struct va_config *c)
{
	memset(c, 0, sizeof(*c));
	c->http_port = 80;
	c->tls_port = 443;
	c->timeout = 10;
}

void
va_config_clear(struct va_config *c)
{
	free(c->resolver);
	c->resolver = NULL;
}

/* One DNS server's address: IPv4 or IPv6. */
union va_ns {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* Parses "IPv4:PORT" or "[IPv6]:PORT" into ns. */
static enum kk_status
parse_resolver(const char *s, union va_ns *ns)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon, *start;
	char *end;
	long port;
	size_t n;
	int v6;

	if (s == NULL || (colon = strrchr(s, ':')) == NULL)
		return KK_EINVAL;
	/* "[...]" before the colon is IPv6, anything else IPv4. */
	v6 = s[0] == '[';
	start = s + v6;
	if (v6 && (colon == s || colon[-1] != ']'))
		return KK_EINVAL;
	n = (size_t)(colon - start) - (size_t)v6;
	if (colon <= start || n == 0 || n >= sizeof(host))
		return KK_EINVAL;
	memcpy(host, start, n);
	host[n] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port < 1 || port > 65535)
		return KK_EINVAL;
	memset(ns, 0, sizeof(*ns));
	if (v6) {
		ns->in6.sin6_family = AF_INET6;
		ns->in6.sin6_port = htons((unsigned short)port);
		return inet_pton(AF_INET6, host, &ns->in6.sin6_addr) == 1
		           ? KK_OK
		           : KK_EINVAL;
	}
	ns->in4.sin_family = AF_INET;
	ns->in4.sin_port = htons((unsigned short)port);
	return inet_pton(AF_INET, host, &ns->in4.sin_addr) == 1 ? KK_OK
	                                                        : KK_EINVAL;
}

enum kk_status
va_resolver_ok(const char *s)
{
	union va_ns ns;

	return parse_resolver(s, &ns);
}

enum kk_status
va_fail(struct va_result *res, enum acme_problem type, const char *fmt, ...)
{
	va_list ap;

	res->valid = 0;
	res->problem = type;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	return KK_OK;
}

long
va_left_ms(const struct timespec *deadline)
{
	long ms = kk_deadline_left_ms(deadline);

	return ms < 1 ? 1 : ms;
}

/*
 * Makes ns the only server of rs, which res_ninit filled. nsaddr_list
 * holds only IPv4 addresses; glibc keeps an IPv6 server in
 * _u._ext.nsaddrs[i], a sockaddr_in6 it allocated and res_nclose frees,
 * with nsaddr_list[i].sin_family 0 to say so (as res_ninit stores one
 * from resolv.conf, and res_send reads it). The copies res_ninit made of
 * the system's IPv6 servers are freed here, since res_nclose frees only
 * the first nscount.
 */
static int
resolver_use(res_state rs, const union va_ns *ns)
{
	struct sockaddr_in6 *in6 = NULL;

	if (ns->sa.sa_family == AF_INET6 &&
	    (in6 = malloc(sizeof(*in6))) == NULL)
		return -1;
	for (int i = 0; i < rs->nscount && i < MAXNS; i++) {
		free(rs->_u._ext.nsaddrs[i]);
		rs->_u._ext.nsaddrs[i] = NULL;
	}
	memset(&rs->nsaddr_list[0], 0, sizeof(rs->nsaddr_list[0]));
	if (in6 != NULL) {
		*in6 = ns->in6;
		rs->_u._ext.nsaddrs[0] = in6;
	} else
		rs->nsaddr_list[0] = ns->in4;
	rs->nscount = 1;
	return 0;
}

/* A private resolver state, pointed at the configured server if any. */
static int
resolver_open(
    const struct va_config *c, const struct timespec *deadline, res_state rs)
{
	union va_ns ns;
	long left;

	memset(rs, 0, sizeof(*rs));
	if (res_ninit(rs) != 0)
		return -1;
	if (c->resolver != NULL && parse_resolver(c->resolver, &ns) == KK_OK &&
	    resolver_use(rs, &ns) != 0) {
		res_nclose(rs);
		return -1;
	}
	/* Two tries within the time left: res_nquery waits retrans
	 * seconds per try and server, whole ones, so half the time left
	 * rounded down; with under two seconds left, one try of one. */
	left = va_left_ms(deadline);
	rs->retry = left >= 2000 ? 2 : 1;
	rs->retrans = left >= 2000 ? (int)(left / 2000) : 1;
	return 0;
}

/*
 * Queries name for type. *n is the answer's length, or -1 with the
 * problem set in res (NXDOMAIN and no data are the client's to fix:
 * unauthorized; anything else is a dns problem).
 */
static void
query(const struct va_config *c, const char *name, int type,
    const struct timespec *deadline, unsigned char *buf, int *n,
    struct va_result *res)
{
	struct __res_state rs;
	const char *what = type == ns_t_txt ? "TXT" : "A";

	if (resolver_open(c, deadline, &rs) != 0) {
		*n = -1;
		va_fail(res, ACME_DNS, "the resolver could not be set up");
		return;
	}
	*n = res_nquery(&rs, name, ns_c_in, type, buf, VA_DNS_MAX);
	if (*n < 0) {
		if (rs.res_h_errno == HOST_NOT_FOUND)
			va_fail(res, ACME_UNAUTHORIZED,
			    "no %s record for %s: the name does not exist "
			    "(NXDOMAIN)",
			    what, name);
		else if (rs.res_h_errno == NO_DATA)
			va_fail(res, ACME_UNAUTHORIZED, "no %s record for %s",
			    what, name);
		else
			va_fail(res, ACME_DNS,
			    "the %s query for %s failed (%s)", what, name,
			    rs.res_h_errno == TRY_AGAIN
			        ? "no answer or SERVFAIL"
			        : "resolver error");
	}
	res_nclose(&rs);
}

/* KK_OK; res set unless addr is public or the configuration allows any. */
static enum kk_status
addr_allowed(const struct va_config *c, const char *name, const char *addr,
    struct va_result *res)
{
	if (c->allow_private || va_addr_public(addr))
		return KK_OK;
	return va_fail(res, ACME_CONNECTION,
	    "%.200s is %s, not a public address: validation does not "
	    "connect to loopback, private, link-local or reserved addresses",
	    name, addr);
}

enum kk_status
va_resolve(const struct va_config *c, const char *name,
    const struct timespec *deadline, char addr[VA_ADDR_LEN],
    struct va_result *res)
{
	unsigned char buf[VA_DNS_MAX], a[16];
	struct addrinfo hints, *ai = NULL;
	ns_msg msg;
	ns_rr rr;
	int n, count, rc;

	if (inet_pton(AF_INET, name, a) == 1 ||
	    inet_pton(AF_INET6, name, a) == 1) {
		snprintf(addr, VA_ADDR_LEN, "%s", name);
		return addr_allowed(c, name, addr, res);
	}
	if (c->resolver == NULL) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if ((rc = getaddrinfo(name, NULL, &hints, &ai)) != 0)
			return va_fail(res,
			    rc == EAI_NONAME ? ACME_UNAUTHORIZED : ACME_DNS,
			    "cannot resolve %s: %s", name, gai_strerror(rc));
		rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, VA_ADDR_LEN,
		    NULL, 0, NI_NUMERICHOST);
		freeaddrinfo(ai);
		if (rc != 0)
			return va_fail(
			    res, ACME_DNS, "cannot resolve %s", name);
		return addr_allowed(c, name, addr, res);
	}
	query(c, name, ns_t_a, deadline, buf, &n, res);
	if (n < 0)
		return KK_OK;
	if (ns_initparse(buf, n, &msg) != 0)
		return va_fail(
		    res, ACME_DNS, "the A answer for %s does not parse", name);
	count = ns_msg_count(msg, ns_s_an);
	for (int i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
			break;
		if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) {
			inet_ntop(AF_INET, ns_rr_rdata(rr), addr, VA_ADDR_LEN);
			return addr_allowed(c, name, addr, res);
		}
	}
	return va_fail(res, ACME_UNAUTHORIZED, "no A record for %s", name);
}

/* base64url(SHA-256(key_auth)), the dns-01 TXT value; caller frees. */
static enum kk_status
txt_value(const char *key_auth, char **out)
{
	unsigned char d[32];
	unsigned int dl = 0;

	if (EVP_Digest(
	        key_auth, strlen(key_auth), d, &dl, EVP_sha256(), NULL) != 1)
		return KK_ECRYPTO;
	return b64url_encode(d, dl, out);
}

/* RFC 8555 8.4: a TXT record at _acme-challenge.<name> holds the value. */
static enum kk_status
dns01(const struct va_config *c, const char *name, const char *key_auth,
    const struct timespec *deadline, struct va_result *res)
{
	unsigned char buf[VA_DNS_MAX];
	char qname[DNSNAME_QMAX], txt[256 * 4];
	char *want = NULL;
	ns_msg msg;
	ns_rr rr;
	int n, count, seen = 0;
	enum kk_status st;

	if ((st = txt_value(key_auth, &want)) != KK_OK)
		return st;
	snprintf(qname, sizeof(qname), "_acme-challenge.%s", name);
	query(c, qname, ns_t_txt, deadline, buf, &n, res);
	if (n < 0)
		goto out;
	if (ns_initparse(buf, n, &msg) != 0) {
		va_fail(res, ACME_DNS, "the TXT answer for %s does not parse",
		    qname);
		goto out;
	}
	count = ns_msg_count(msg, ns_s_an);
	for (int i = 0; i < count; i++) {
		const unsigned char *p, *end;
		size_t len = 0;

		if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
			break;
		if (ns_rr_type(rr) != ns_t_txt)
			continue;
		seen++;
		/* One record may be several <length><bytes> strings. */
		p = ns_rr_rdata(rr);
		end = p + ns_rr_rdlen(rr);
		while (p < end && len < sizeof(txt) - 1) {
			size_t l = *p++;

			if (l > (size_t)(end - p) || len + l >= sizeof(txt))
				break;
			memcpy(txt + len, p, l);
			len += l;
			p += l;
		}
		txt[len] = '\0';
		if (strlen(want) == len && CRYPTO_memcmp(txt, want, len) == 0) {
			res->valid = 1;
			goto out;
		}
	}
	if (seen == 0)
		va_fail(res, ACME_UNAUTHORIZED, "no TXT record at %s", qname);
	else
		va_fail(res, ACME_INCORRECT_RESPONSE,
		    "none of the %d TXT records at %s is the key "
		    "authorization's digest",
		    seen, qname);
out:
	free(want);
	return KK_OK;
}

enum kk_status
va_validate(const struct va_config *c, const char *type, const char *name,
    const char *token, const char *key_auth, struct va_result *res)
{
	struct timespec deadline;

	kk_deadline_in(&deadline, c->timeout > 0 ? c->timeout : 10);
	memset(res, 0, sizeof(*res));
	if (strcmp(type, "http-01") == 0)
		return va_http01(c, name, token, key_auth, &deadline, res);
	if (strcmp(type, "dns-01") == 0)
		return dns01(c, name, key_auth, &deadline, res);
	if (strcmp(type, "tls-alpn-01") == 0)
		return va_tlsalpn01(c, name, key_auth, &deadline, res);
	return KK_EINVAL;
}
