/* toml.h - a strict TOML subset parser: exactly what the configuration file needs, nothing more. */
#ifndef SVCR_CONFIG_TOML_H
#define SVCR_CONFIG_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Accepted: comments (#), blank lines, LF or CRLF line ends, one-level [section] headers and bare
 * keys (both [a-z_]+), `key = value` where value is a basic string ("…" with \" \\ \n \t \uXXXX),
 * a literal string ('…'), a decimal integer (sign, 1_000 separators), true/false, or a one-line
 * array of integers or of strings (trailing comma allowed). Rejected, with the line number and the
 * key: inline tables, arrays of tables, dotted or quoted keys, multi-line strings and arrays, dates
 * and times, floats, non-decimal integers, mixed arrays, duplicate keys or sections, control
 * characters, invalid UTF-8. */

typedef enum { CFG_TOML_STRING, CFG_TOML_INTEGER, CFG_TOML_BOOLEAN, CFG_TOML_ARRAY } cfg_toml_kind;

typedef struct cfg_toml_value {
    cfg_toml_kind kind;
    const char *str; /* STRING: NUL-terminated UTF-8, never contains NUL */
    size_t str_len;
    int64_t i;                          /* INTEGER */
    bool b;                             /* BOOLEAN */
    size_t n;                           /* ARRAY: element count */
    const struct cfg_toml_value *items; /* ARRAY: all STRING or all INTEGER */
} cfg_toml_value;

/* Callbacks; both borrow their arguments for the call only. Return 0 to go on, or -1 having
 * written a message into err; the parser then fails with "line N: <subject>: <message>". */
typedef struct cfg_toml_handler {
    /* A [name] header (name is [a-z_]+, seen for the first time). May be NULL. */
    int (*section)(void *ud, const char *name, char *err, size_t errcap);
    /* A key/value; section is "" before the first header. May be NULL. */
    int (*keyval)(void *ud, const char *section, const char *key, const cfg_toml_value *v,
                  char *err, size_t errcap);
    void *ud;
} cfg_toml_handler;

/* Parses text[0..len) (no NUL terminator needed), calling h in document order. Returns 0, or -1
 * with err = "line N: <section.key or [section]>: <reason>" (no subject when the line has no key
 * yet). Never reads past len; allocates only while parsing and frees everything before it
 * returns. */
int cfg_toml_parse(const char *text, size_t len, const cfg_toml_handler *h, char *err,
                   size_t errcap);

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
int cfg_utf8_valid(const char *s, size_t len);

#endif
