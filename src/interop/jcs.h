/* jcs.h - strict JSON parsing (jansson) and RFC 8785 (JCS) canonical serialization. */
#ifndef SVCR_INTEROP_JCS_H
#define SVCR_INTEROP_JCS_H

#include <stddef.h>

#include <jansson.h>

#include "interop/buf.h"
#include "interop/error.h"

/* Maximum nesting of arrays/objects: jansson's parser limit, so that every value jcs_write
 * accepts can be parsed back by jcs_parse. */
#define JCS_MAX_DEPTH 2048

/* Strict parse of one JSON text (`len` bytes at `data`, which need not be NUL-terminated and may
 * be NULL when len is 0).
 * - Duplicate object keys are rejected (also nested).
 * - Every number is decoded as an IEEE-754 double the way ECMAScript JSON.parse does: integers
 *   above 2^53 round to nearest, underflow becomes 0, a number that overflows to +-Infinity is
 *   an error. The result holds json reals only, never json integers.
 * - Strings may contain U+0000; object keys may not (a jansson limit, see below).
 * - Invalid UTF-8, lone surrogate escapes ("\ud800"), NaN/Infinity, trailing data and nesting
 *   deeper than JCS_MAX_DEPTH are rejected.
 * allow_scalar_top: non-zero accepts any top-level value, zero only an object or an array.
 * Returns a new reference the caller owns, or NULL with `err` (may be NULL) filled: code
 * SVCR_E_MALFORMED, a message "line L, column C: <jansson's text>" (non-printable bytes of the
 * text replaced by '?'), and a reason word: duplicate_key, number_overflow, invalid_utf8,
 * nul_in_key, trailing_data, truncated, too_deep, wrong_type or invalid_json; or, when an
 * allocation failed (whether or not jansson says so; seen through the interop/alloc hook's
 * count when jansson allocates through it), SVCR_E_INTERNAL with reason out_of_memory, never
 * Malformed and never a tree jansson built around a lost byte. `path` is left empty. */
json_t *jcs_parse(const void *data, size_t len, int allow_scalar_top, svcr_err *err);

/* Appends the RFC 8785 canonical serialization of `v` (borrowed) to `out`: object members
 * sorted by the UTF-16 code units of their names, no whitespace, strings escaped minimally
 * (\" \\ \b \f \n \r \t, other controls below 0x20 as \u00xx with lowercase hex, everything else
 * raw UTF-8 including DEL and U+2028), numbers as jcs_format_number, json integers (built in
 * code with json_integer) formatted as the double they round to.
 * Returns 0, or -1 with `err` (may be NULL) filled: SVCR_E_MALFORMED for a non-finite number,
 * a string or key that is not valid UTF-8 (possible only with jansson's *_nocheck setters) or
 * nesting deeper than JCS_MAX_DEPTH; SVCR_E_INTERNAL when out of memory. On failure `out`
 * holds exactly what it held before the call (its capacity may have grown). */
int jcs_write(buf *out, const json_t *v, svcr_err *err);

/* jcs_write of the object `obj`, except that its top-level member `key` (present in obj with
 * any placeholder value, e.g. null) is written as the bytes raw[0..raw_len) verbatim. When raw
 * is the JCS of a value, the result is the JCS of obj with that value: a large canonical
 * payload is embedded without parsing it into a tree. Returns 0, or -1 as jcs_write
 * (SVCR_E_INTERNAL when obj has no member `key`). */
int jcs_write_spliced(buf *out, const json_t *obj, const char *key, const char *raw, size_t raw_len,
                      svcr_err *err);

/* ECMAScript Number::toString(x) (ES2015+ §7.1.12.1, RFC 8785 §3.2.2.3): the shortest digits
 * that round-trip, the one nearest to x when several do, fixed notation for
 * 1e-7 <= |x| < 1e21, exponent form otherwise ("1e+21", "1.5e-7"), -0 -> "0".
 * Writes a NUL-terminated string (at most 25 bytes + NUL) into `out` and returns its length,
 * or returns -1 (out untouched) for NaN or +-Infinity. Independent of the C locale. */
int jcs_format_number(double x, char out[32]);

/* Convenience: jcs_parse(data, len, allow_scalar_top) then jcs_write to `out`.
 * Returns 0, or -1 with `err` filled as by those two (out unchanged on failure). */
int jcs_canonicalize(const void *data, size_t len, int allow_scalar_top, buf *out, svcr_err *err);

#endif
