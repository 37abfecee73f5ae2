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

/*
 * The 6-bit value of each byte plus one (an entry per character of
 * alphabet[], in its order), 0 for a byte outside the URL-safe alphabet:
 * NUL, padding, anything not ASCII among them. A table rather than
 * comparisons: JWS members are decoded on every request.
 */
// clang-format off
static const unsigned char value1[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
	['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
	['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
};
// clang-format on

/*
 * The value of the k characters at p (the tail: 2 or 3), 6 bits each, into
 * *v. Returns 0 if one of them is not in the alphabet (*v is set either
 * way). Whole groups of four are decoded inline.
 */
static int
group(const char *p, size_t k, uint32_t *v)
{
	uint32_t acc = 0;
	unsigned int d, bad = 0;

	for (size_t j = 0; j < k; j++) {
		d = value1[(unsigned char)p[j]];
		bad |= (d == 0);
		acc = acc << 6 | ((d - 1) & 63);
	}
	*v = acc;
	return !bad;
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
	uint32_t v;

	*out = NULL;
	*outlen = 0;
	if ((in == NULL && len > 0) || rem == 1)
		goto out;

	/* 4 characters carry 3 bytes; a tail of 2 or 3 carries 1 or 2. */
	if ((buf = malloc(len / 4 * 3 + (rem ? rem - 1 : 0) + 1)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	for (i = 0; i + 4 <= len; i += 4) {
		const unsigned char *p = (const unsigned char *)in + i;
		unsigned int a = value1[p[0]], b = value1[p[1]],
		             c = value1[p[2]], d = value1[p[3]];

		/* One test for the four: a bad byte (0) wraps past 63. */
		if (((a - 1) | (b - 1) | (c - 1) | (d - 1)) > 63)
			goto out;
		v = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
		buf[n++] = (unsigned char)(v >> 16);
		buf[n++] = (unsigned char)(v >> 8);
		buf[n++] = (unsigned char)v;
	}
	/*
	 * The bits left over after the tail's last byte (4 of 12, 2 of 18)
	 * must be zero, or two strings would decode to the same bytes.
	 */
	if (rem == 2) {
		if (!group(in + i, 2, &v) || (v & 0xf) != 0)
			goto out;
		buf[n++] = (unsigned char)(v >> 4);
	} else if (rem == 3) {
		if (!group(in + i, 3, &v) || (v & 0x3) != 0)
			goto out;
		buf[n++] = (unsigned char)(v >> 10);
		buf[n++] = (unsigned char)(v >> 2);
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	buf = NULL;
	st = KK_OK;
out:
	free(buf);
	return st;
}
