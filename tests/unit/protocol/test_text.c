/* text_display_ok(): names fit to show and to sign. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "text.h"

/* cp as UTF-8 between "a" and "b", without checking it. */
static const char *
around(unsigned long cp)
{
	static char buf[16];
	unsigned char *p = (unsigned char *)buf;

	*p++ = 'a';
	if (cp < 0x80)
		*p++ = (unsigned char)cp;
	else if (cp < 0x800) {
		*p++ = (unsigned char)(0xc0 | cp >> 6);
		*p++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*p++ = (unsigned char)(0xe0 | cp >> 12);
		*p++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		*p++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		*p++ = (unsigned char)(0xf0 | cp >> 18);
		*p++ = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		*p++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		*p++ = (unsigned char)(0x80 | (cp & 0x3f));
	}
	*p++ = 'b';
	*p = '\0';
	return buf;
}

static void
refused(unsigned long lo, unsigned long hi)
{
	for (unsigned long cp = lo; cp <= hi; cp++)
		cr_assert_eq(
		    text_display_ok(around(cp), 64), 0, "U+%04lX passed", cp);
}

static void
accepted(unsigned long cp)
{
	cr_assert_eq(text_display_ok(around(cp), 64), 1, "U+%04lX refused", cp);
}

Test(text, accepts_names_in_any_script)
{
	static const char *const ok[] = {
	    "Kansai Grid K.K.",
	    "\u95a2\u897f\u96fb\u529b\u682a\u5f0f\u4f1a\u793e",
	    "\u682a\u5f0f\u4f1a\u793e\u3000\u30c6\u30b9\u30c8", /* U+3000 */
	    "M\u00fcller & S\u00f6hne GmbH",
	    "\u0634\u0631\u0643\u0629", /* right-to-left by nature is fine */
	    "Cafe\u0301",               /* combining mark */
	    "\U0001F600 Emoji Ltd",
	    "O'Brien (Holdings) Ltd.",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert_eq(text_display_ok(ok[i], 64), 1, "%s", ok[i]);
}

Test(text, refuses_controls)
{
	refused(0x01, 0x1f);
	refused(0x7f, 0x9f);
	accepted(0x20);
	accepted(0x7e);
	accepted(0xa0);
}

Test(text, refuses_bidi_formatting)
{
	refused(0x202a, 0x202e); /* LRE RLE PDF LRO RLO */
	refused(0x2066, 0x2069); /* LRI RLI FSI PDI */
	refused(0x200e, 0x200f); /* LRM RLM */
	refused(0x061c, 0x061c); /* ALM */
	accepted(0x2030);
}

Test(text, refuses_zero_width_and_invisible_characters)
{
	refused(0x200b, 0x200d);
	refused(0x2060, 0x2064);
	refused(0xfeff, 0xfeff);
	refused(0x00ad, 0x00ad);
	refused(0x180e, 0x180e);
	refused(0x3164, 0x3164);
	refused(0xe0001, 0xe0001);
	refused(0xe0020, 0xe007f);
	accepted(0x200a); /* hair space: visible spacing */
	accepted(0x2010); /* hyphen */
	accepted(0x2030); /* per mille */
	accepted(0x2070); /* superscript zero */
}

Test(text, refuses_line_separators)
{
	refused(0x2028, 0x2029);
}

Test(text, refuses_noncharacters)
{
	refused(0xfdd0, 0xfdef);
	for (unsigned long plane = 0; plane <= 0x10; plane++)
		refused(plane << 16 | 0xfffe, plane << 16 | 0xffff);
	accepted(0xfdcf);
	accepted(0xfdf0);
	accepted(0xfffd); /* the replacement character is visible */
	accepted(0x1fffd);
}

Test(text, refuses_private_use)
{
	refused(0xe000, 0xe000);
	refused(0xf8ff, 0xf8ff);
	refused(0xf0000, 0xf0001);
	refused(0xffffd, 0xffffd);
	refused(0x100000, 0x100000);
	refused(0x10fffd, 0x10fffd);
	accepted(0xd7fb);  /* the last Hangul jamo before the surrogates */
	accepted(0xf900);  /* CJK compatibility ideograph, after private use */
	accepted(0xe0100); /* plane 14 variation selector, not private */
}

Test(text, refuses_malformed_utf8)
{
	static const char *const bad[] = {
	    "a\xff",                /* never in UTF-8 */
	    "a\x80",                /* a lone continuation byte */
	    "a\xc3",                /* truncated */
	    "a\xe6\x97",            /* truncated */
	    "\xc0\xaf",             /* overlong '/' */
	    "\xe0\x80\xaf",         /* overlong '/' */
	    "\xf0\x80\x80\xaf",     /* overlong '/' */
	    "\xed\xa0\x80",         /* the surrogate U+D800 */
	    "\xed\xbf\xbf",         /* the surrogate U+DFFF */
	    "\xf4\x90\x80\x80",     /* U+110000 */
	    "\xf8\x88\x80\x80\x80", /* five bytes */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(text_display_ok(bad[i], 64), 0, "case %zu", i);
}

Test(text, counts_characters_not_bytes)
{
	char s[64 * 3 + 2];

	cr_assert_eq(text_display_ok("", 64), 0, "empty");
	cr_assert_eq(text_display_ok(NULL, 64), 0);
	/* 64 three-byte characters pass, 65 do not. */
	s[0] = '\0';
	for (int i = 0; i < 64; i++)
		strcat(s, "\u96fb");
	cr_assert_eq(text_display_ok(s, 64), 1);
	strcat(s, "a");
	cr_assert_eq(text_display_ok(s, 64), 0);
	cr_assert_eq(text_display_ok("abc", 3), 1);
	cr_assert_eq(text_display_ok("abcd", 3), 0);
}
