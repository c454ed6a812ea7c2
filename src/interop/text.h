/* text.h - the printable-text rule of SPEC §2.2 (v1.2): what an id, signer_id, org, supersede
 * note or freeze reason may contain, so that no text from the wire can rewrite what a terminal
 * shows (control sequences, line breaks, bidi reordering, invisible characters). */
#ifndef SVCR_INTEROP_TEXT_H
#define SVCR_INTEROP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* 1 if code point cp may appear in printable text: not a C0 or C1 control, not DEL, not a bidi
 * control (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069), not zero-width (U+200B–U+200D,
 * U+2060, U+FEFF). */
int text_cp_printable(uint32_t cp);

/* Decodes one UTF-8 sequence at s[0..n): returns its length (1..4) and sets *cp, or 0 when the
 * bytes are not valid, shortest-form UTF-8 of a scalar value (then *cp is the first byte). */
size_t text_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* 1 if s[0..n) is valid UTF-8 made only of printable code points; else 0, with *bad (may be
 * NULL) set to the offending code point (or the invalid byte). */
int text_printable(const char *s, size_t n, uint32_t *bad);

#endif
