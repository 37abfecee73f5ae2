/*
 * solve_dns.h - dns-01 (RFC 8555 8.4) through the user's hook:
 *
 *   CMD add    _acme-challenge.NAME VALUE
 *   CMD remove _acme-challenge.NAME VALUE
 *
 * run like the deploy hook (/bin/sh -c, stdin /dev/null, the client's
 * secrets removed, killed after the timeout), with the same three values
 * also in KAKUIN_DNS_ACTION, KAKUIN_DNS_NAME and KAKUIN_DNS_VALUE. NAME
 * has no trailing dot; VALUE is base64url(SHA-256(key authorization)).
 * "add" must return once the record is published where the CA looks.
 */
#ifndef KC_SOLVE_DNS_H
#define KC_SOLVE_DNS_H

#include "solve.h"

/* The TXT value for a key authorization; *out caller frees. */
enum kk_status solve_dns_value(const char *keyauth, char **out);

/* Runs the hook with action "add" or "remove" for it. */
enum kk_status solve_dns_hook(const char *cmd, long timeout, const char *action,
    const struct solve_item *it, struct kc_err *err);

#endif
