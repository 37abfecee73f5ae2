/*
 * b64url.h - base64url without padding (RFC 7515 section 2, RFC 4648 s. 5).
 *
 * Decoding is strict: padding, characters outside the URL-safe alphabet,
 * impossible lengths (len % 4 == 1) and non-zero trailing bits are refused,
 * so every byte string has exactly one accepted encoding.
 */
#ifndef B64URL_H
#define B64URL_H

#include <stddef.h>

#include "kk_status.h"

/*
 * Encodes len bytes of in. *out is a NUL-terminated string the caller
 * frees with free().
 */
enum kk_status b64url_encode(const unsigned char *in, size_t len, char **out);

/*
 * Decodes len characters of in (no NUL needed). *out (caller frees with
 * free()) holds *outlen bytes and one extra NUL byte, so decoded text can be
 * used as a C string. KK_EINVAL for any non-canonical input.
 */
enum kk_status b64url_decode(
    const char *in, size_t len, unsigned char **out, size_t *outlen);

#endif
