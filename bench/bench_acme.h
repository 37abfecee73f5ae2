/*
 * bench_acme.h - what the benches read of an ACME server's answers: a
 * header's value, and whether an answer is a badNonce problem.
 * Header-only, as bench_clock.h, so that each bench stays one source file
 * and one executable.
 */
#ifndef BENCH_ACME_H
#define BENCH_ACME_H

#include <string.h>
#include <strings.h>

/*
 * When the header line (len bytes, not NUL-terminated, as libcurl hands
 * it over) is name's, its value without the leading blanks and the line's
 * end into out (outsz bytes, cut to fit, NUL-terminated); else out is
 * left as it was.
 */
static inline void
bench_header_value(
    const char *line, size_t len, const char *name, char *out, size_t outsz)
{
	size_t nlen = strlen(name), vlen;

	if (len <= nlen + 1 || strncasecmp(line, name, nlen) != 0 ||
	    line[nlen] != ':')
		return;
	line += nlen + 1;
	len -= nlen + 1;
	while (len > 0 && *line == ' ') {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	vlen = len < outsz - 1 ? len : outsz - 1;
	memcpy(out, line, vlen);
	out[vlen] = '\0';
}

/* 1 when an answer (HTTP status, body or NULL) is a badNonce problem. */
static inline int
bench_is_bad_nonce(long status, const char *body)
{
	return status == 400 && body != NULL &&
	       strstr(body, "urn:ietf:params:acme:error:badNonce") != NULL;
}

#endif
