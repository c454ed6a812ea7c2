/* term.h - foreign text (from the wire or a file) made safe to print on a terminal. */
#ifndef SVCR_TOOLS_TERM_H
#define SVCR_TOOLS_TERM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "interop/buf.h"

/* Appends s[0..len) (NULs included) to out, every character that could act on a terminal or
 * reorder what a person reads written as a visible escape instead:
 * - backslash as \\, LF CR TAB as \n \r \t, other C0 controls, DEL and the C1 controls
 *   (U+0080..U+009F) as \u00XX;
 * - bidi controls, zero-width and other invisible format characters, line and paragraph
 *   separators (U+061C, U+180E, U+200B..U+200F, U+2028..U+202E, U+2060..U+2064,
 *   U+2066..U+206F, U+FEFF, U+FFF9..U+FFFB) as \uXXXX (lowercase hex);
 * - each byte that is not part of valid UTF-8 (overlong forms and surrogates included) as \xNN.
 * Everything else (printable ASCII and valid UTF-8) is copied. The escaping is one-to-one: two
 * different inputs never print the same. Returns 0, or -1 when out of memory. */
int term_escape(buf *out, const char *s, size_t len);

/* fprintf in which every %s argument is foreign text, printed escaped as by term_escape: up to
 * its NUL for %s, exactly N bytes (NULs included) for %.*s; a NULL one prints "(null)". A
 * width pads the escaped text. The format itself is trusted and printed as written; %d %i %u %x
 * %X %o %c %f %g %e %p and %% (flags, width, precision, the hh h l ll z j t L modifiers) behave
 * as in printf. Written with one fwrite. Returns the number of bytes written, or -1 (an unknown
 * conversion, out of memory or a write error). */
int term_fprintf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* term_fprintf with a va_list. */
int term_vfprintf(FILE *f, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* term_fprintf on stdout. */
#define term_printf(...) term_fprintf(stdout, __VA_ARGS__)

/* The string member `key` of object o, or dflt when absent or not a string. Borrowed. With
 * term_strlen it feeds "%.*s" so that a string holding U+0000 is printed whole (escaped). */
const char *term_str(const json_t *o, const char *key, const char *dflt);
/* The byte length of term_str(o, key, dflt) (embedded NULs included), as an int for "%.*s". */
int term_strlen(const json_t *o, const char *key, const char *dflt);
/* The two arguments of "%.*s" for a string member: TERM_JS(o, "id", "?"). */
#define TERM_JS(o, key, dflt) term_strlen(o, key, dflt), term_str(o, key, dflt)

/* Prints JSON text (text[0..len), which parsed as JSON) followed by a newline, with every
 * character term_escape would escape that lies inside a string written as a JSON escape
 * (\u007f, \u0085, \u202e ...; a byte of invalid UTF-8 as \ufffd), so the output is valid JSON
 * of the same value, free of anything a terminal acts on. Line breaks and tabs between tokens
 * become spaces (one line) unless `multiline`. Returns 0, or -1 on a write error. */
int term_json(FILE *f, const char *text, size_t len, int multiline);
/* Prints v as RFC 8785 JSON through term_json (one line) on stdout. Returns 0 or -1. */
int term_print_json(const json_t *v);

#endif
