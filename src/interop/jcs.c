/* jcs.c - strict JSON parsing on jansson and the RFC 8785 (JCS) canonical writer. */
#include "interop/jcs.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interop/alloc.h"

#if defined(JSON_PARSER_MAX_DEPTH) && JSON_PARSER_MAX_DEPTH != JCS_MAX_DEPTH
#error "JCS_MAX_DEPTH must equal jansson's JSON_PARSER_MAX_DEPTH"
#endif

/* One object member, collected for sorting. */
typedef struct jcs_member {
    const char *key;
    size_t key_len;
    json_t *value;
} jcs_member;

static const char *parse_reason(const json_error_t *je);
static int is_valid_scalar(const void *data, size_t len);
static void copy_printable(char *dst, size_t cap, const char *src);
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
static int utf8_valid(const char *s, size_t n);
static uint32_t utf16_lead(uint32_t cp);
static int member_cmp(const void *a, const void *b);
static int digits_at(double x, int k, uint64_t *s_out, int *q_out);
static int shortest_digits(double x, char digits[20], int *point);
static double decimal_value(uint64_t s, int q);
static int write_number(buf *out, double d, svcr_err *err);
static int write_value(buf *out, const json_t *v, int depth, svcr_err *err);
static int write_string(buf *out, const char *s, size_t n, svcr_err *err);
static int write_object(buf *out, const json_t *v, int depth, svcr_err *err);
static int write_object_raw(buf *out, const json_t *v, int depth, const char *raw_key,
                            const char *raw, size_t raw_len, svcr_err *err);
static int oom(svcr_err *err);

/* --- parsing ---------------------------------------------------------------------------------- */

json_t *jcs_parse(const void *data, size_t len, int allow_scalar_top, svcr_err *err)
{
    size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL;
    if (allow_scalar_top)
        flags |= JSON_DECODE_ANY;
    json_error_t je;
    memset(&je, 0, sizeof je); /* jansson leaves the code byte unset on some failures */
    unsigned long failures = svcr_alloc_thread_failures();
    json_t *v = json_loadb(data ? (const char *)data : "", data ? len : 0, flags, &je);
    if (v && svcr_alloc_thread_failures() == failures)
        return v;
    if (v) { /* jansson's lexer drops a byte it cannot store: the tree may be wrong, unsaid */
        json_decref(v);
        svcr_err_set(err, SVCR_E_INTERNAL, NULL, "out_of_memory",
                     "out of memory while parsing JSON");
        return NULL;
    }
    char text[JSON_ERROR_TEXT_LENGTH];
    copy_printable(text, sizeof text, je.text);
    /* Out of memory is never the client's JSON. jansson says so only sometimes: a failed
     * allocation in its lexer reads as a syntax error ("string or '}' expected"), one for a new
     * object, array or string leaves no text (every syntax error has one). The allocation hook
     * counts this thread's failures, so any failure during the parse decides it. */
    int oom = json_error_code(&je) == json_error_out_of_memory || je.text[0] == '\0' ||
              svcr_alloc_thread_failures() != failures;
    svcr_code code = oom ? SVCR_E_INTERNAL : SVCR_E_MALFORMED;
    const char *reason = oom ? "out_of_memory" : parse_reason(&je);
    if (oom) {
        svcr_err_set(err, code, NULL, reason, "out of memory while parsing JSON");
        return NULL;
    }
    if (!allow_scalar_top && data && is_valid_scalar(data, len))
        reason = "wrong_type"; /* jansson reports this one as a plain syntax error */
    svcr_err_set(err, code, NULL, reason, "line %d, column %d: %s", je.line, je.column, text);
    return NULL;
}

/* Error path only: true if the text is a valid JSON scalar (refused as a top-level value). */
static int is_valid_scalar(const void *data, size_t len)
{
    const char *p = data;
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    if (i == len || p[i] == '[' || p[i] == '{')
        return 0;
    json_error_t je;
    json_t *v =
        json_loadb(data, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &je);
    json_decref(v);
    return v != NULL;
}

/* Maps jansson's error code to the short reason word documented in jcs.h. */
static const char *parse_reason(const json_error_t *je)
{
    switch (json_error_code(je)) {
    case json_error_duplicate_key:
        return "duplicate_key";
    case json_error_numeric_overflow:
        return "number_overflow";
    case json_error_invalid_utf8:
        return "invalid_utf8";
    case json_error_null_byte_in_key:
        return "nul_in_key";
    case json_error_end_of_input_expected:
        return "trailing_data";
    case json_error_premature_end_of_input:
        return "truncated";
    case json_error_stack_overflow:
        return "too_deep";
    case json_error_wrong_type:
        return "wrong_type";
    case json_error_out_of_memory:
        return "out_of_memory";
    default:
        return "invalid_json";
    }
}

/* jansson quotes the offending input in its text ("near '...'"), which may hold any bytes; keep
 * the message printable ASCII so it can travel in logs and JSON error bodies. */
static void copy_printable(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[i] = '\0';
}

/* --- UTF-8 / UTF-16 --------------------------------------------------------------------------- */

/* Decodes one UTF-8 sequence at s (n > 0 bytes available). Returns its length (1-4) with *cp
 * set, or 0 if it is not well-formed (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static int utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_decode(p + i, n - i, &cp);
        if (l == 0)
            return 0;
        i += l;
    }
    return 1;
}

/* The first UTF-16 code unit of a code point (the high surrogate for astral ones). */
static uint32_t utf16_lead(uint32_t cp)
{
    return cp < 0x10000 ? cp : 0xd800 + ((cp - 0x10000) >> 10);
}

/* qsort comparator: member names in UTF-16 code-unit order (RFC 8785 §3.2.3). Names were
 * validated as UTF-8 before sorting. Code-point order equals UTF-16 order except that astral
 * characters (surrogates D800-DBFF) sort before U+E000..U+FFFF, so compare lead units first. */
static int member_cmp(const void *a, const void *b)
{
    const jcs_member *x = a, *y = b;
    const unsigned char *p = (const unsigned char *)x->key, *q = (const unsigned char *)y->key;
    size_t i = 0, j = 0;
    while (i < x->key_len && j < y->key_len) {
        uint32_t cx = 0, cy = 0;
        size_t lx = utf8_decode(p + i, x->key_len - i, &cx);
        size_t ly = utf8_decode(q + j, y->key_len - j, &cy);
        assert(lx > 0 && ly > 0);
        if (cx != cy) {
            uint32_t ux = utf16_lead(cx), uy = utf16_lead(cy);
            if (ux != uy)
                return ux < uy ? -1 : 1;
            /* Same high surrogate: the low surrogates order like the code points. */
            return cx < cy ? -1 : 1;
        }
        i += lx;
        j += ly;
    }
    if (i < x->key_len)
        return 1;
    if (j < y->key_len)
        return -1;
    return 0;
}

/* --- numbers ---------------------------------------------------------------------------------- */

/* The double nearest to the decimal s * 10^q (glibc's strtod rounds correctly). */
static double decimal_value(uint64_t s, int q)
{
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%llue%d", (unsigned long long)s, q);
    return strtod(tmp, NULL);
}

/* Looks for a decimal with at most k significant digits that reads back as x (finite, > 0):
 * the correctly rounded k-digit one, or failing that its k-digit neighbour towards x. On
 * success returns 1 with x == s * 10^q (as read by strtod); else returns 0.
 * The rounding interval of x contains x, so among k-digit decimals only the nearest one on
 * each side of x can be in it. At a power of two the interval is twice as wide above x as
 * below, which is when the nearest decimal misses and its neighbour fits. */
static int digits_at(double x, int k, uint64_t *s_out, int *q_out)
{
    /* %.*e is correctly rounded by glibc; take its digits and exponent without depending on
     * the locale's decimal point. */
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%.*e", k - 1, x);
    const char *p = tmp;
    uint64_t s = 0;
    for (; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9')
            s = s * 10 + (uint64_t)(*p - '0');
    }
    assert(*p == 'e');
    int q = atoi(p + 1) - (k - 1);
    double y = decimal_value(s, q);
    if (y != x) {
        uint64_t p10 = 1; /* 10^(k-1), the smallest k-digit s */
        for (int i = 1; i < k; i++)
            p10 *= 10;
        if (y > x && s == p10) { /* below 1000: 9999 one decade lower keeps k digits */
            s = p10 * 10 - 1;
            q--;
        } else if (y > x) {
            s--;
        } else {
            s++; /* 9999 + 1 = 10000 is the next k-digit decimal up */
        }
        if (decimal_value(s, q) != x)
            return 0;
    }
    *s_out = s;
    *q_out = q;
    return 1;
}

/* Finds the shortest decimal digit string that round-trips to x (finite, > 0), the one nearest
 * to x when several do. Writes the digits (no leading or trailing zeros, NUL-terminated) and
 * sets *point so that x ~ 0.DIGITS * 10^point. Returns the number of digits.
 * If some decimal of k digits reads back as x then digits_at(k + 1) succeeds too (the finer
 * grid has a point on that side at least as close to x), so the smallest k is found by
 * bisection; 17 digits always suffice for a double. */
static int shortest_digits(double x, char digits[20], int *point)
{
    uint64_t s = 0, s_try;
    int q = 0, q_try;
    int lo = 1, hi = 17;
    int found = digits_at(x, hi, &s, &q);
    (void)found;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (digits_at(x, mid, &s_try, &q_try)) {
            hi = mid;
            s = s_try;
            q = q_try;
        } else {
            lo = mid + 1;
        }
    }
    assert(found && s > 0);
    while (s % 10 == 0) {
        s /= 10;
        q++;
    }
    int k = snprintf(digits, 20, "%llu", (unsigned long long)s);
    *point = q + k;
    return k;
}

int jcs_format_number(double x, char out[32])
{
    if (!isfinite(x))
        return -1;
    char *p = out;
    if (x == 0) { /* +0 and -0 */
        out[0] = '0';
        out[1] = '\0';
        return 1;
    }
    if (x < 0) {
        *p++ = '-';
        x = -x;
    }
    if (x < 9007199254740992.0 && x == floor(x)) {
        /* Every integer below 2^53 is exact and its own shortest form. */
        p += snprintf(p, 24, "%llu", (unsigned long long)x);
        return (int)(p - out);
    }
    char d[20];
    int n;
    int k = shortest_digits(x, d, &n);
    if (k <= n && n <= 21) { /* integer: digits then n-k zeros */
        memcpy(p, d, (size_t)k);
        p += k;
        memset(p, '0', (size_t)(n - k));
        p += n - k;
    } else if (0 < n && n <= 21) { /* decimal point inside the digits */
        memcpy(p, d, (size_t)n);
        p += n;
        *p++ = '.';
        memcpy(p, d + n, (size_t)(k - n));
        p += k - n;
    } else if (-6 < n && n <= 0) { /* 0.000ddd */
        *p++ = '0';
        *p++ = '.';
        memset(p, '0', (size_t)-n);
        p += -n;
        memcpy(p, d, (size_t)k);
        p += k;
    } else { /* exponent form: d[.ddd]e+-E */
        int e = n - 1;
        *p++ = d[0];
        if (k > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)(k - 1));
            p += k - 1;
        }
        p += snprintf(p, 8, "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    *p = '\0';
    assert(p - out < 32);
    return (int)(p - out);
}

/* --- writing ---------------------------------------------------------------------------------- */

static int oom(svcr_err *err)
{
    svcr_err_set(err, SVCR_E_INTERNAL, NULL, "out_of_memory", "out of memory writing JSON");
    return -1;
}

int jcs_write(buf *out, const json_t *v, svcr_err *err)
{
    size_t start = out->len;
    if (v == NULL) {
        svcr_err_set(err, SVCR_E_MALFORMED, NULL, "invalid_json", "no JSON value to write");
        return -1;
    }
    if (write_value(out, v, 0, err) == 0)
        return 0;
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return -1;
}

static int write_value(buf *out, const json_t *v, int depth, svcr_err *err)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return write_object(out, v, depth + 1, err);
    case JSON_ARRAY: {
        if (depth + 1 > JCS_MAX_DEPTH) {
            svcr_err_set(err, SVCR_E_MALFORMED, NULL, "too_deep", "JSON nesting deeper than %d",
                         JCS_MAX_DEPTH);
            return -1;
        }
        if (buf_putc(out, '[') != 0)
            return oom(err);
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && buf_putc(out, ',') != 0)
                return oom(err);
            if (write_value(out, json_array_get(v, i), depth + 1, err) != 0)
                return -1;
        }
        return buf_putc(out, ']') == 0 ? 0 : oom(err);
    }
    case JSON_STRING:
        return write_string(out, json_string_value(v), json_string_length(v), err);
    case JSON_INTEGER:
        /* Rounds to nearest, as JSON.parse reads the same digits. */
        return write_number(out, (double)json_integer_value(v), err);
    case JSON_REAL:
        return write_number(out, json_real_value(v), err);
    case JSON_TRUE:
        return buf_puts(out, "true") == 0 ? 0 : oom(err);
    case JSON_FALSE:
        return buf_puts(out, "false") == 0 ? 0 : oom(err);
    case JSON_NULL:
        return buf_puts(out, "null") == 0 ? 0 : oom(err);
    }
    svcr_err_set(err, SVCR_E_MALFORMED, NULL, "invalid_json", "unknown JSON value type");
    return -1;
}

static int write_number(buf *out, double d, svcr_err *err)
{
    char num[32];
    if (jcs_format_number(d, num) < 0) {
        svcr_err_set(err, SVCR_E_MALFORMED, NULL, "non_finite_number", "JSON number is not finite");
        return -1;
    }
    return buf_puts(out, num) == 0 ? 0 : oom(err);
}

/* `depth` counts this object. Members are collected, their names validated, then sorted. */
int jcs_write_spliced(buf *out, const json_t *obj, const char *key, const char *raw, size_t raw_len,
                      svcr_err *err)
{
    size_t start = out->len;
    if (!json_is_object(obj) || !json_object_get(obj, key)) {
        svcr_err_set(err, SVCR_E_INTERNAL, NULL, "splice", "no member %s to splice", key);
        return -1;
    }
    if (write_object_raw(out, obj, 0, key, raw, raw_len, err) == 0)
        return 0;
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return -1;
}

static int write_object(buf *out, const json_t *v, int depth, svcr_err *err)
{
    return write_object_raw(out, v, depth, NULL, NULL, 0, err);
}

/* write_object, with the member named raw_key (when not NULL) written as the bytes raw. */
static int write_object_raw(buf *out, const json_t *v, int depth, const char *raw_key,
                            const char *raw, size_t raw_len, svcr_err *err)
{
    if (depth > JCS_MAX_DEPTH) {
        svcr_err_set(err, SVCR_E_MALFORMED, NULL, "too_deep", "JSON nesting deeper than %d",
                     JCS_MAX_DEPTH);
        return -1;
    }
    size_t n = json_object_size(v);
    jcs_member *m = NULL;
    if (n > 0) {
        m = calloc(n, sizeof *m);
        if (!m)
            return oom(err);
    }
    /* jansson's iterator API takes a non-const object but does not modify it. */
    json_t *obj = (json_t *)v;
    size_t i = 0;
    for (void *it = json_object_iter(obj); it && i < n; it = json_object_iter_next(obj, it)) {
        m[i].key = json_object_iter_key(it);
        m[i].key_len = json_object_iter_key_len(it);
        m[i].value = json_object_iter_value(it);
        if (!utf8_valid(m[i].key, m[i].key_len)) {
            free(m);
            svcr_err_set(err, SVCR_E_MALFORMED, NULL, "invalid_utf8",
                         "JSON object key is not valid UTF-8");
            return -1;
        }
        i++;
    }
    assert(i == n);
    if (n > 1)
        qsort(m, n, sizeof *m, member_cmp);
    int rc = 0;
    if (buf_putc(out, '{') != 0)
        rc = oom(err);
    for (i = 0; rc == 0 && i < n; i++) {
        if (i > 0 && buf_putc(out, ',') != 0)
            rc = oom(err);
        else if (write_string(out, m[i].key, m[i].key_len, err) != 0)
            rc = -1;
        else if (buf_putc(out, ':') != 0)
            rc = oom(err);
        else if (raw_key && strcmp(m[i].key, raw_key) == 0) {
            if (buf_append(out, raw, raw_len) != 0)
                rc = oom(err);
        } else if (write_value(out, m[i].value, depth, err) != 0)
            rc = -1;
    }
    if (rc == 0 && buf_putc(out, '}') != 0)
        rc = oom(err);
    free(m);
    return rc;
}

/* Writes s (n bytes, must be valid UTF-8) as a JSON string with RFC 8785's minimal escaping.
 * Runs of bytes that need no escape are appended in one go. */
static int write_string(buf *out, const char *s, size_t n, svcr_err *err)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    if (buf_putc(out, '"') != 0)
        return oom(err);
    size_t run = 0; /* start of the pending raw run */
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            uint32_t cp;
            size_t l = utf8_decode(p + i, n - i, &cp);
            if (l == 0) {
                svcr_err_set(err, SVCR_E_MALFORMED, NULL, "invalid_utf8",
                             "JSON string is not valid UTF-8");
                return -1;
            }
            i += l;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (buf_append(out, p + run, i - run) != 0)
            return oom(err);
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t el = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            el = 6;
            break;
        }
        if (buf_append(out, esc, el) != 0)
            return oom(err);
        i++;
        run = i;
    }
    if (buf_append(out, p + run, n - run) != 0 || buf_putc(out, '"') != 0)
        return oom(err);
    return 0;
}

int jcs_canonicalize(const void *data, size_t len, int allow_scalar_top, buf *out, svcr_err *err)
{
    json_t *v = jcs_parse(data, len, allow_scalar_top, err);
    if (!v)
        return -1;
    int rc = jcs_write(out, v, err);
    json_decref(v);
    return rc;
}
