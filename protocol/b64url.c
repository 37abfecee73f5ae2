/*
 * b64url.c - base64url without padding, decoded strictly.
 *
 * The decoder accepts exactly one encoding per byte string: anything the
 * encoder would not have produced is KK_EINVAL. That keeps signatures and
 * key members from having several spellings that compare unequal.
 */
#include <stdint.h>
#include <stdlib.h>

#include "b64url.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c, or -1 when c is not in the URL-safe alphabet. */
static int
sextet(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

enum kk_status
b64url_encode(const unsigned char *in, size_t len, char **out)
{
	char *s, *p;
	size_t i;

	*out = NULL;
	if (in == NULL && len > 0)
		return KK_EINVAL;
	if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
		return KK_ETOOBIG;
	if ((s = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return KK_ENOMEM;

	p = s;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		             in[i + 2];
		*p++ = alphabet[v >> 18 & 63];
		*p++ = alphabet[v >> 12 & 63];
		*p++ = alphabet[v >> 6 & 63];
		*p++ = alphabet[v & 63];
	}
	if (len - i == 1) {
		*p++ = alphabet[in[i] >> 2];
		*p++ = alphabet[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		*p++ = alphabet[v >> 10 & 63];
		*p++ = alphabet[v >> 4 & 63];
		*p++ = alphabet[(v & 15) << 2];
	}
	*p = '\0';
	*out = s;
	return KK_OK;
}

enum kk_status
b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	enum kk_status st = KK_EINVAL;
	unsigned char *buf = NULL;
	size_t i, n = 0, rem = len % 4;
	uint32_t acc = 0;
	int bits = 0, v = 0;

	*out = NULL;
	*outlen = 0;
	if ((in == NULL && len > 0) || rem == 1)
		goto out;

	/* 4 characters carry 3 bytes; a tail of 2 or 3 carries 1 or 2. */
	if ((buf = malloc(len / 4 * 3 + (rem ? rem - 1 : 0) + 1)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	for (i = 0; i < len; i++) {
		if ((v = sextet((unsigned char)in[i])) < 0)
			goto out;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
		}
	}
	/*
	 * The bits left over after the last byte must be zero, or two
	 * strings would decode to the same bytes.
	 */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		goto out;
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	buf = NULL;
	st = KK_OK;
out:
	free(buf);
	return st;
}
