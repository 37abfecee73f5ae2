/*
 * dnsname.h - the dns identifier values the server accepts in an order
 * (RFC 8555 7.1.4 and 9.7.7): what a name must look like before any
 * authorization exists for it.
 */
#ifndef DNSNAME_H
#define DNSNAME_H

#include "kk_status.h"

#define DNSNAME_MAX 253 /* RFC 1035: 255 octets on the wire */

/*
 * Checks a dns identifier value: lower-case LDH labels (letters, digits,
 * hyphens, no hyphen first or last) of 1 to 63 characters, at least two
 * labels, at most DNSNAME_MAX characters, no trailing dot, a last label
 * that is not all digits (an IPv4 address is not a dns name), and no
 * wildcard, which this server does not issue. KK_EINVAL with *why (a
 * static sentence; why may be NULL) when refused.
 */
enum kk_status dnsname_check(const char *name, const char **why);

#endif
