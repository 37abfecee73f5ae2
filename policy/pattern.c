/*
 * pattern.c - a recursive descent over POSIX ERE syntax that computes, for
 * each subexpression, how many atoms glibc would expand it to and whether
 * it can match the empty string.
 */
#include <ctype.h>
#include <string.h>

#include "pattern.h"

struct scan {
	const char *p;
	const char *why; /* the first refusal */
	int invalid;     /* stopped at a syntax error, regcomp()'s to report */
};

/* The size and emptiness of a subexpression. */
struct sub {
	unsigned long size;
	int nullable;
};

static int alternation(struct scan *s, int depth, struct sub *out);

static int
refuse(struct scan *s, const char *why)
{
	if (s->why == NULL)
		s->why = why;
	return -1;
}

/*
 * A syntax error stops the scan. What was scanned before it had its cost
 * checked as it went (sizes are checked as soon as they are summed or
 * multiplied), and regcomp() parses no further than the error either.
 */
static int
invalid(struct scan *s)
{
	s->invalid = 1;
	return -1;
}

/* n, or -1 if it is over the size bound. */
static int
sized(struct scan *s, unsigned long n, unsigned long *out)
{
	*out = n;
	if (n > PATTERN_MAX_SIZE)
		return refuse(s, "it expands to over 1024 atoms (counts "
		                 "multiply when repetitions nest)");
	return 0;
}

/* Skips a bracket expression; s->p is just past its '['. */
static int
bracket(struct scan *s)
{
	const char *p = s->p, *end;
	char close[3] = {0, ']', 0};

	if (*p == '^')
		p++;
	if (*p == ']') /* a leading ']' is literal */
		p++;
	while (*p != ']') {
		if (*p == '\0')
			return invalid(s);
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			close[0] = p[1];
			if ((end = strstr(p + 2, close)) == NULL)
				return invalid(s);
			p = end + 2;
		} else
			p++;
	}
	s->p = p + 1;
	return 0;
}

/* Reads a decimal count of at most PATTERN_MAX_COUNT. */
static int
count(struct scan *s, unsigned long *n)
{
	if (!isdigit((unsigned char)*s->p))
		return refuse(s, "a '{' must start a count such as {2} or "
		                 "{0,5} (write a literal one as \\{)");
	for (*n = 0; isdigit((unsigned char)*s->p); s->p++)
		if ((*n = *n * 10 + (unsigned long)(*s->p - '0')) >
		    PATTERN_MAX_COUNT)
			return refuse(s, "a count in {m,n} is over 255");
	return 0;
}

/*
 * Reads the quantifier at s->p, if any, into how many copies glibc makes
 * (*copies) and whether zero repetitions are allowed (*optional). Returns
 * 1 if there was one, 0 if not, -1 if it is refused.
 */
static int
quantifier(struct scan *s, unsigned long *copies, int *optional)
{
	unsigned long m, n;

	switch (*s->p) {
	case '*':
	case '?':
		*copies = 1;
		*optional = 1;
		s->p++;
		return 1;
	case '+':
		*copies = 2; /* a+ is aa* */
		*optional = 0;
		s->p++;
		return 1;
	case '{':
		s->p++;
		if (count(s, &m) != 0)
			return -1;
		n = m;
		if (*s->p == ',') {
			s->p++;
			if (*s->p == '}')
				n = m + 1; /* a{m,} is m copies and a* */
			else if (count(s, &n) != 0)
				return -1;
			else if (n < m)
				return refuse(s, "a count {m,n} has m > n");
		}
		if (*s->p != '}')
			return refuse(s, "a count {m,n} is not closed");
		s->p++;
		*copies = n > 0 ? n : 1;
		*optional = m == 0;
		return 1;
	default:
		return 0;
	}
}

/* One atom and its quantifier. */
static int
piece(struct scan *s, int depth, struct sub *out)
{
	unsigned long copies;
	int optional, q;

	out->size = 1;
	out->nullable = 0;
	switch (*s->p) {
	case '(':
		if (depth >= PATTERN_MAX_DEPTH)
			return refuse(s, "groups are nested more than 8 deep");
		s->p++;
		if (alternation(s, depth + 1, out) != 0)
			return -1;
		if (*s->p != ')')
			return invalid(s);
		s->p++;
		break;
	case '[':
		s->p++;
		if (bracket(s) != 0)
			return -1;
		break;
	case '\\':
		if (s->p[1] == '\0')
			return invalid(s);
		s->p += 2;
		break;
	case '^':
	case '$':
		out->nullable = 1; /* they match no character */
		s->p++;
		break;
	case '*':
	case '+':
	case '?':
	case '{':
		return refuse(s, "a quantifier must follow what it repeats");
	default:
		s->p++;
		break;
	}
	if ((q = quantifier(s, &copies, &optional)) <= 0)
		return q;
	if (out->nullable)
		return refuse(s, "it repeats something that can match the "
		                 "empty string, such as (a*)+ or (a?){3}");
	if (quantifier(s, &copies, &optional) != 0)
		return refuse(s, "quantifiers are stacked, as in a** or a+{2}");
	out->nullable = optional;
	return sized(s, out->size * copies, &out->size);
}

/* Pieces up to '|', ')' or the end. */
static int
branch(struct scan *s, int depth, struct sub *out)
{
	struct sub p;

	out->size = 0;
	out->nullable = 1;
	while (*s->p != '\0' && *s->p != '|' && *s->p != ')') {
		if (piece(s, depth, &p) != 0)
			return -1;
		if (sized(s, out->size + p.size, &out->size) != 0)
			return -1;
		out->nullable = out->nullable && p.nullable;
	}
	return 0;
}

static int
alternation(struct scan *s, int depth, struct sub *out)
{
	struct sub b;

	if (branch(s, depth, out) != 0)
		return -1;
	while (*s->p == '|') {
		s->p++;
		if (branch(s, depth, &b) != 0)
			return -1;
		if (sized(s, out->size + b.size + 1, &out->size) != 0)
			return -1;
		out->nullable = out->nullable || b.nullable;
	}
	return 0;
}

enum kk_status
pattern_bounded(const char *re, const char **why)
{
	struct scan s = {re, NULL, 0};
	struct sub top;

	/* A ')' without '(' is no error to glibc's regcomp(), which takes it
	 * as a literal and compiles on: the scan cannot stop there. */
	if (alternation(&s, 0, &top) == 0 && *s.p == ')')
		refuse(&s, "a ')' without a matching '(' (write \\) for the "
		           "character)");
	*why = s.why;
	return s.why == NULL ? KK_OK : KK_EINVAL;
}
