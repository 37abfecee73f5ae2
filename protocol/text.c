/*
 * text.c - a UTF-8 decoder that refuses what is not the shortest form of a
 * Unicode scalar value, and a table of the characters that have no place in
 * a displayed name.
 */
#include <stdint.h>

#include "text.h"

struct range {
	uint32_t lo, hi;
};

/*
 * Sorted. Besides the controls, the format characters (general category
 * Cf) of Unicode 15, the line and paragraph separators, the Hangul fillers
 * that render as nothing, the noncharacters that are not U+xFFFE/U+xFFFF
 * (those are tested apart), private use and the tag characters.
 */
static const struct range refused[] = {
    {0x0000, 0x001f},    /* C0 controls */
    {0x007f, 0x009f},    /* DEL, C1 controls */
    {0x00ad, 0x00ad},    /* soft hyphen */
    {0x0600, 0x0605},    /* Arabic number signs */
    {0x061c, 0x061c},    /* Arabic letter mark */
    {0x06dd, 0x06dd},    /* Arabic end of ayah */
    {0x070f, 0x070f},    /* Syriac abbreviation mark */
    {0x0890, 0x0891},    /* Arabic pound and piastre marks above */
    {0x08e2, 0x08e2},    /* Arabic disputed end of ayah */
    {0x115f, 0x1160},    /* Hangul choseong and jungseong fillers */
    {0x180e, 0x180e},    /* Mongolian vowel separator */
    {0x200b, 0x200f},    /* zero-width space, (non-)joiner, LRM, RLM */
    {0x2028, 0x202e},    /* separators, bidi embeddings and overrides */
    {0x2060, 0x206f},    /* word joiner, invisible operators, isolates */
    {0x3164, 0x3164},    /* Hangul filler */
    {0xd800, 0xdfff},    /* surrogates */
    {0xe000, 0xf8ff},    /* private use */
    {0xfdd0, 0xfdef},    /* noncharacters */
    {0xfeff, 0xfeff},    /* zero-width no-break space, the BOM */
    {0xffa0, 0xffa0},    /* halfwidth Hangul filler */
    {0xfff9, 0xfffb},    /* interlinear annotation */
    {0x110bd, 0x110bd},  /* Kaithi number sign */
    {0x110cd, 0x110cd},  /* Kaithi number sign above */
    {0x13430, 0x1343f},  /* Egyptian hieroglyph format controls */
    {0x1bca0, 0x1bca3},  /* shorthand format controls */
    {0x1d173, 0x1d17a},  /* musical symbol format controls */
    {0xe0000, 0xe007f},  /* language tags */
    {0xf0000, 0x10ffff}, /* planes 15 and 16: private use */
};

static int
is_refused(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(refused) / sizeof(refused[0]), mid;

	/* U+FFFE and U+FFFF of every plane are noncharacters. */
	if ((cp & 0xfffe) == 0xfffe)
		return 1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cp < refused[mid].lo)
			hi = mid;
		else if (cp > refused[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/*
 * Decodes the character at *p, advancing *p past it. Returns 0 and sets
 * *cp, or -1 on anything but the shortest encoding of a code point up to
 * U+10FFFF (surrogates are left to the table).
 */
static int
utf8_next(const unsigned char **p, uint32_t *cp)
{
	static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
	const unsigned char *s = *p;
	int more;
	uint32_t c;

	if (s[0] < 0x80) {
		c = s[0];
		more = 0;
	} else if ((s[0] & 0xe0) == 0xc0) {
		c = s[0] & 0x1f;
		more = 1;
	} else if ((s[0] & 0xf0) == 0xe0) {
		c = s[0] & 0x0f;
		more = 2;
	} else if ((s[0] & 0xf8) == 0xf0) {
		c = s[0] & 0x07;
		more = 3;
	} else
		return -1;
	for (int i = 1; i <= more; i++) {
		/* Also stops at the terminating NUL. */
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min[more] || c > 0x10ffff)
		return -1;
	*cp = c;
	*p = s + 1 + more;
	return 0;
}

int
text_display_ok(const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;
	uint32_t cp;

	if (s == NULL)
		return 0;
	while (*p != '\0') {
		if (utf8_next(&p, &cp) != 0 || is_refused(cp) ||
		    ++chars > max_chars)
			return 0;
	}
	return chars > 0;
}
