/*
 * text.h - whether a string is fit to be shown to people and signed into
 * a certificate as a name.
 */
#ifndef TEXT_H
#define TEXT_H

#include <stddef.h>

/*
 * 1 if s is well-formed UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF) of 1 to max_chars characters, none of which
 * changes how the rest is displayed or is invisible, else 0. Refused:
 * controls (C0, DEL, C1); format characters, among them the bidirectional
 * marks, embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069)
 * that can make a name read backwards; zero-width characters (U+200B-
 * U+200D, U+2060, the U+FEFF BOM) and invisible fillers; line and
 * paragraph separators; noncharacters (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF);
 * private use (U+E000-U+F8FF, planes 15 and 16). Letters, marks, digits,
 * punctuation, symbols and spaces of every script pass.
 */
int text_display_ok(const char *s, size_t max_chars);

#endif
