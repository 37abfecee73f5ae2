/*
 * pattern.h - which POSIX extended regular expressions glibc's regcomp()
 * compiles, and regexec() runs, in bounded time and memory.
 *
 * glibc expands a{m,n} into n copies of a and a+ into aa*, so nested
 * repetitions multiply: "a" followed by 22 "+" builds 2^22 copies (3 GB,
 * 18 s), and N{1,32767} exhausts memory. Repeating something that can match
 * the empty string, as in (a?){0,255}, costs about the fourth power of the
 * count in epsilon closures (8 s) although the pattern says nothing that
 * a{0,255} does not. So a pattern is refused when it
 *   - stacks quantifiers (a**, a+{2}),
 *   - repeats something that can match the empty string ((a*)+, (a?){3}),
 *   - has a count in {m,n} over PATTERN_MAX_COUNT or m > n,
 *   - nests groups deeper than PATTERN_MAX_DEPTH,
 *   - or would expand to more than PATTERN_MAX_SIZE atoms, counts multiplied
 *     under nesting (a{0,62} is 62; ([a-z]{1,62}\.){1,4} is 252). The
 *     bound is the length bound, so that only repetition can reach it.
 * Within these bounds the worst patterns found ([a-z]{0,255} four times,
 * ([a-z][a-z.-]{0,62}){0,16}) compile in 0.05 s and 15 MB in the C locale
 * the server runs in (0.15 s and 30 MB in C.UTF-8), against 18 s and 3 GB
 * for the 22 "+" above; matching them against a 128-byte value, the
 * longest the server matches, takes 0.5 to 1 s of CPU.
 */
#ifndef PATTERN_H
#define PATTERN_H

#include "kk_status.h"

#define PATTERN_MAX_COUNT 255
#define PATTERN_MAX_DEPTH 8
#define PATTERN_MAX_SIZE 1024

/*
 * KK_OK if re is within the bounds above, else KK_EINVAL with *why (a
 * static string) saying which. Syntax errors are regcomp()'s to report:
 * KK_OK is returned for them when what comes before is within the bounds,
 * as regcomp() parses no further.
 */
enum kk_status pattern_bounded(const char *re, const char **why);

#endif
