/*
 * va_internal.h - what the validation authority's files (va.c, va_http.c,
 * va_tls.c) share and nobody else uses.
 */
#ifndef VA_INTERNAL_H
#define VA_INTERNAL_H

#include <sys/socket.h>

#include <time.h>

#include "va.h"

#define VA_ADDR_LEN 64 /* an IPv4 or IPv6 address as text */

/* Sets res to a failure of type with a printf detail; returns KK_OK (a
 * failed validation is a result). */
enum kk_status va_fail(struct va_result *res, enum acme_problem type,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The address to connect to for name: an IP literal as it is, else the
 * first A record from the configured resolver, or the system's first
 * address when none is configured. KK_OK with addr filled, or KK_OK with
 * res set to a dns problem, or to a connection problem when the address
 * is not public (va_addr_public) and c->allow_private is 0.
 */
enum kk_status va_resolve(const struct va_config *c, const char *name,
    const struct timespec *deadline, char addr[VA_ADDR_LEN],
    struct va_result *res);

/* Whether addr (IPv4 or IPv6 text) is a global unicast address, one
 * validation may connect to unless c->allow_private (va_addr.c). */
int va_addr_public(const char *addr);

/* Whether sa is the address addr (text): the socket about to be opened
 * goes where the checked address said. */
int va_sockaddr_is(const struct sockaddr *sa, const char *addr);

/*
 * Milliseconds left until deadline, a time of the monotonic clock (which
 * va_validate sets), rounded up and at least 1: to curl 0 would mean no
 * timeout at all, and to poll not waiting, so the time left never rounds
 * down to it.
 */
long va_left_ms(const struct timespec *deadline);

enum kk_status va_http01(const struct va_config *c, const char *name,
    const char *token, const char *key_auth, const struct timespec *deadline,
    struct va_result *res);
enum kk_status va_tlsalpn01(const struct va_config *c, const char *name,
    const char *key_auth, const struct timespec *deadline,
    struct va_result *res);

#endif
