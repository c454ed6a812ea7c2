/* toml.c - a strict TOML subset parser: one-level sections, bare keys, scalar and flat values. */
#include "config/toml.h"
#include "crypto/codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 64

/* A key ("section.key") or a section ("[section]") already defined, for duplicate detection. */
typedef struct seen_name {
    char *name;
    int line;
} seen_name;

typedef struct parser {
    const cfg_toml_handler *h;
    int line;
    char section[NAME_MAX_LEN + 1]; /* "" before the first header */
    seen_name *seen;
    size_t nseen, capseen;
    char *err;
    size_t errcap;
} parser;

static int fail(parser *ps, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "line N: subject: message" (or "line N: message") into the error buffer; returns -1. */
static int fail(parser *ps, const char *subject, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ps->err && ps->errcap) {
        if (subject && *subject)
            snprintf(ps->err, ps->errcap, "line %d: %s: %s", ps->line, subject, msg);
        else
            snprintf(ps->err, ps->errcap, "line %d: %s", ps->line, msg);
    }
    return -1;
}

int cfg_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + len;
    while (p < e) {
        unsigned c = *p;
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if ((size_t)(e - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || c == '_';
}

/* Characters a TOML bare key may hold that this subset refuses; they make a better message. */
static int is_toml_bare_char(char c)
{
    return is_name_char(c) || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static void value_free(cfg_toml_value *v)
{
    if (v->kind == CFG_TOML_STRING) {
        free((char *)v->str);
    } else if (v->kind == CFG_TOML_ARRAY) {
        cfg_toml_value *items = (cfg_toml_value *)v->items;
        for (size_t i = 0; i < v->n; i++)
            value_free(&items[i]);
        free(items);
    }
    memset(v, 0, sizeof *v);
}

/* Returns the line where `name` was first defined, or 0. */
static int seen_line(const parser *ps, const char *name)
{
    for (size_t i = 0; i < ps->nseen; i++)
        if (strcmp(ps->seen[i].name, name) == 0)
            return ps->seen[i].line;
    return 0;
}

static int seen_add(parser *ps, const char *name)
{
    if (ps->nseen == ps->capseen) {
        size_t cap = ps->capseen ? ps->capseen * 2 : 32;
        seen_name *n = realloc(ps->seen, cap * sizeof *n);
        if (!n)
            return fail(ps, NULL, "out of memory");
        ps->seen = n;
        ps->capseen = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return fail(ps, NULL, "out of memory");
    ps->seen[ps->nseen].name = copy;
    ps->seen[ps->nseen].line = ps->line;
    ps->nseen++;
    return 0;
}

static size_t utf8_put(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parses a basic ("…") or literal ('…') one-line string at *pp (on the opening quote). */
static int parse_string(parser *ps, const char *subj, const char **pp, const char *e,
                        cfg_toml_value *v)
{
    const char *p = *pp;
    char q = *p++;
    if (e - p >= 2 && p[0] == q && p[1] == q)
        return fail(ps, subj, "multi-line strings are not supported");
    char *out = malloc((size_t)(e - p) + 1);
    if (!out)
        return fail(ps, subj, "out of memory");
    size_t n = 0;
    for (;;) {
        if (p >= e) {
            free(out);
            return fail(ps, subj, "unterminated string");
        }
        char c = *p++;
        if (c == q)
            break;
        if (c != '\\' || q == '\'') {
            out[n++] = c;
            continue;
        }
        char x = p < e ? *p++ : '\0';
        if (x == '"' || x == '\\') {
            out[n++] = x;
        } else if (x == 'n') {
            out[n++] = '\n';
        } else if (x == 't') {
            out[n++] = '\t';
        } else if (x == 'u') {
            uint32_t cp = 0;
            for (int i = 0; i < 4; i++) {
                int h = p < e ? hex_digit_value((unsigned char)*p) : -1;
                if (h < 0) {
                    free(out);
                    return fail(ps, subj, "\\u needs four hex digits");
                }
                cp = cp << 4 | (uint32_t)h;
                p++;
            }
            if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
                free(out);
                return fail(ps, subj, "\\u%04X is not allowed in a string", (unsigned)cp);
            }
            n += utf8_put(cp, out + n);
        } else {
            free(out);
            if (x == '\0')
                return fail(ps, subj, "unterminated string");
            return fail(ps, subj, "unsupported escape \\%c (use \\\" \\\\ \\n \\t \\uXXXX)", x);
        }
    }
    out[n] = '\0';
    v->kind = CFG_TOML_STRING;
    v->str = out;
    v->str_len = n;
    *pp = p;
    return 0;
}

/* True at the end of a bare value: line end, whitespace, ',', ']' or a comment. */
static int at_delim(const char *p, const char *e)
{
    return p >= e || *p == ' ' || *p == '\t' || *p == ',' || *p == ']' || *p == '#';
}

/* Parses a decimal integer at *pp: optional sign, no leading zeros, '_' only between digits. */
static int parse_integer(parser *ps, const char *subj, const char **pp, const char *e,
                         cfg_toml_value *v)
{
    const char *p = *pp;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (p < e && (*p == 'i' || *p == 'n'))
        return fail(ps, subj, "floats are not supported");
    if (p >= e || *p < '0' || *p > '9')
        return fail(ps, subj, "invalid value (strings must be quoted)");
    if (*p == '0' && p + 1 < e && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b'))
        return fail(ps, subj, "only decimal integers are supported");
    const char *digits = p;
    uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int ndig = 0, overflow = 0;
    while (p < e && ((*p >= '0' && *p <= '9') || *p == '_')) {
        if (*p == '_') {
            if (p + 1 >= e || p[1] < '0' || p[1] > '9' || p == digits)
                return fail(ps, subj, "'_' must stand between two digits");
            p++;
            continue;
        }
        unsigned d = (unsigned)(*p++ - '0');
        if (mag > (limit - d) / 10)
            overflow = 1;
        else
            mag = mag * 10 + d;
        ndig++;
    }
    if (p < e && (*p == '.' || *p == 'e' || *p == 'E'))
        return fail(ps, subj, "floats are not supported");
    if (p < e && (*p == '-' || *p == ':'))
        return fail(ps, subj, "dates and times are not supported");
    if (!at_delim(p, e))
        return fail(ps, subj, "invalid value (strings must be quoted)");
    if (ndig > 1 && *digits == '0')
        return fail(ps, subj, "leading zeros are not allowed");
    if (overflow)
        return fail(ps, subj, "integer out of the 64-bit range");
    v->kind = CFG_TOML_INTEGER;
    v->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    *pp = p;
    return 0;
}

static int parse_value(parser *ps, const char *subj, const char **pp, const char *e,
                       cfg_toml_value *v, int in_array);

/* Parses a one-line array of integers or of strings at *pp (on '['). */
static int parse_array(parser *ps, const char *subj, const char **pp, const char *e,
                       cfg_toml_value *v)
{
    const char *p = *pp + 1;
    cfg_toml_value *items = NULL;
    size_t n = 0, cap = 0;
    v->kind = CFG_TOML_ARRAY;
    for (;;) {
        p = skip_ws(p, e);
        if (p < e && *p == ']')
            break;
        if (p >= e || *p == '#')
            goto unterminated;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            cfg_toml_value *ni = realloc(items, ncap * sizeof *ni);
            if (!ni) {
                fail(ps, subj, "out of memory");
                goto bad;
            }
            items = ni;
            cap = ncap;
        }
        memset(&items[n], 0, sizeof items[n]);
        if (parse_value(ps, subj, &p, e, &items[n], 1) != 0)
            goto bad;
        n++;
        if (items[n - 1].kind != CFG_TOML_STRING && items[n - 1].kind != CFG_TOML_INTEGER) {
            fail(ps, subj, "arrays may hold only integers or strings");
            goto bad;
        }
        if (items[n - 1].kind != items[0].kind) {
            fail(ps, subj, "mixed types in an array");
            goto bad;
        }
        p = skip_ws(p, e);
        if (p < e && *p == ',') {
            p++;
            continue;
        }
        if (p < e && *p == ']')
            break;
        if (p >= e || *p == '#')
            goto unterminated;
        fail(ps, subj, "expected ',' or ']' in the array");
        goto bad;
    }
    v->items = items;
    v->n = n;
    *pp = p + 1;
    return 0;
unterminated:
    fail(ps, subj, "unterminated array (arrays must be on one line)");
bad:
    for (size_t i = 0; i < n; i++)
        value_free(&items[i]);
    free(items);
    v->kind = CFG_TOML_INTEGER;
    return -1;
}

static int parse_value(parser *ps, const char *subj, const char **pp, const char *e,
                       cfg_toml_value *v, int in_array)
{
    const char *p = *pp;
    if (p >= e || *p == '#')
        return fail(ps, subj, "missing value");
    switch (*p) {
    case '"':
    case '\'':
        return parse_string(ps, subj, pp, e, v);
    case '[':
        if (in_array)
            return fail(ps, subj, "nested arrays are not supported");
        return parse_array(ps, subj, pp, e, v);
    case '{':
        return fail(ps, subj, "inline tables are not supported");
    case 't':
    case 'f': {
        size_t n = *p == 't' ? 4 : 5;
        if ((size_t)(e - p) >= n && memcmp(p, *p == 't' ? "true" : "false", n) == 0 &&
            at_delim(p + n, e)) {
            v->kind = CFG_TOML_BOOLEAN;
            v->b = *p == 't';
            *pp = p + n;
            return 0;
        }
        return fail(ps, subj, "invalid value (strings must be quoted)");
    }
    case 'i':
    case 'n':
        if ((e - p >= 3 && (memcmp(p, "inf", 3) == 0 || memcmp(p, "nan", 3) == 0)) &&
            at_delim(p + 3, e))
            return fail(ps, subj, "floats are not supported");
        return fail(ps, subj, "invalid value (strings must be quoted)");
    default:
        return parse_integer(ps, subj, pp, e, v);
    }
}

/* The rest of a line after a header or a value: blanks and an optional comment. */
static int expect_line_end(parser *ps, const char *subj, const char *p, const char *e,
                           const char *what)
{
    p = skip_ws(p, e);
    if (p < e && *p != '#')
        return fail(ps, subj, "unexpected characters after the %s", what);
    return 0;
}

static int parse_header(parser *ps, const char *p, const char *e)
{
    p++;
    if (p < e && *p == '[')
        return fail(ps, NULL, "arrays of tables ([[…]]) are not supported");
    p = skip_ws(p, e);
    const char *name = p;
    while (p < e && is_name_char(*p))
        p++;
    size_t len = (size_t)(p - name);
    char subj[NAME_MAX_LEN + 8];
    snprintf(subj, sizeof subj, "[%.*s]", (int)(len > NAME_MAX_LEN ? NAME_MAX_LEN : len), name);
    if (len == 0) {
        if (p < e && (*p == '"' || *p == '\''))
            return fail(ps, NULL, "quoted section names are not supported");
        return fail(ps, NULL, "invalid section name (names are [a-z_]+)");
    }
    if (len > NAME_MAX_LEN)
        return fail(ps, subj, "section name too long");
    if (p < e && is_toml_bare_char(*p))
        return fail(ps, subj, "invalid section name (names are [a-z_]+)");
    p = skip_ws(p, e);
    if (p < e && *p == '.')
        return fail(ps, subj, "nested sections are not supported");
    if (p >= e || *p != ']')
        return fail(ps, subj, "expected ']'");
    if (expect_line_end(ps, subj, p + 1, e, "section header") != 0)
        return -1;
    int first = seen_line(ps, subj);
    if (first)
        return fail(ps, subj, "duplicate section (first on line %d)", first);
    char rootkey[NAME_MAX_LEN + 2];
    snprintf(rootkey, sizeof rootkey, ".%.*s", (int)len, name);
    first = seen_line(ps, rootkey);
    if (first)
        return fail(ps, subj, "conflicts with the key defined on line %d", first);
    if (seen_add(ps, subj) != 0)
        return -1;
    memcpy(ps->section, name, len);
    ps->section[len] = '\0';
    if (ps->h && ps->h->section) {
        char msg[400] = "";
        if (ps->h->section(ps->h->ud, ps->section, msg, sizeof msg) != 0)
            return fail(ps, subj, "%s", msg[0] ? msg : "rejected");
    }
    return 0;
}

static int parse_keyval(parser *ps, const char *p, const char *e)
{
    const char *key = p;
    while (p < e && is_name_char(*p))
        p++;
    size_t len = (size_t)(p - key);
    if (len == 0 && (*p == '"' || *p == '\''))
        return fail(ps, NULL, "quoted keys are not supported");
    if (p < e && is_toml_bare_char(*p)) {
        const char *q = p;
        while (q < e && is_toml_bare_char(*q))
            q++;
        return fail(ps, NULL, "invalid key '%.*s' (bare keys are [a-z_]+)", (int)(q - key), key);
    }
    if (len == 0)
        return fail(ps, NULL, "expected a key (bare keys are [a-z_]+)");
    /* subj: "section.key" or ".key" internally for root keys; shown without the dot. */
    char full[2 * NAME_MAX_LEN + 2];
    snprintf(full, sizeof full, "%s.%.*s", ps->section,
             (int)(len > NAME_MAX_LEN ? NAME_MAX_LEN : len), key);
    const char *subj = ps->section[0] ? full : full + 1;
    if (len > NAME_MAX_LEN)
        return fail(ps, subj, "key too long");
    p = skip_ws(p, e);
    if (p < e && *p == '.')
        return fail(ps, subj, "dotted keys are not supported");
    if (p >= e || *p != '=')
        return fail(ps, subj, "expected '=' after the key");
    p = skip_ws(p + 1, e);
    cfg_toml_value v;
    memset(&v, 0, sizeof v);
    v.kind = CFG_TOML_INTEGER;
    if (parse_value(ps, subj, &p, e, &v, 0) != 0)
        return -1;
    int rc = expect_line_end(ps, subj, p, e, "value");
    int first = rc == 0 ? seen_line(ps, full) : 0;
    if (first)
        rc = fail(ps, subj, "duplicate key (first set on line %d)", first);
    if (rc == 0)
        rc = seen_add(ps, full);
    if (rc == 0 && ps->h && ps->h->keyval) {
        char msg[400] = "";
        char keyname[NAME_MAX_LEN + 1];
        memcpy(keyname, key, len);
        keyname[len] = '\0';
        if (ps->h->keyval(ps->h->ud, ps->section, keyname, &v, msg, sizeof msg) != 0)
            rc = fail(ps, subj, "%s", msg[0] ? msg : "rejected");
    }
    value_free(&v);
    return rc;
}

static int parse_line(parser *ps, const char *s, const char *e)
{
    for (const char *q = s; q < e; q++) {
        unsigned char c = (unsigned char)*q;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(ps, NULL, "control character 0x%02x", c);
    }
    if (!cfg_utf8_valid(s, (size_t)(e - s)))
        return fail(ps, NULL, "invalid UTF-8");
    const char *p = skip_ws(s, e);
    if (p >= e || *p == '#')
        return 0;
    if (*p == '[')
        return parse_header(ps, p, e);
    return parse_keyval(ps, p, e);
}

int cfg_toml_parse(const char *text, size_t len, const cfg_toml_handler *h, char *err,
                   size_t errcap)
{
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.h = h;
    ps.err = err;
    ps.errcap = errcap;
    if (err && errcap)
        err[0] = '\0';
    const char *p = text, *end = text + len;
    int rc = 0;
    while (rc == 0 && p < end) {
        ps.line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        if (e > p && e[-1] == '\r')
            e--;
        rc = parse_line(&ps, p, e);
        p = next;
    }
    for (size_t i = 0; i < ps.nseen; i++)
        free(ps.seen[i].name);
    free(ps.seen);
    return rc;
}
