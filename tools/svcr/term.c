/* term.c - escaping of foreign text before svcr prints it (see term.h). */
#include "term.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "interop/jcs.h"

/* Length (1..4) of the valid UTF-8 sequence at s[0..len) and its code point, or 0 when s[0]
 * does not start one (stray continuation byte, overlong form, surrogate, above U+10FFFF,
 * truncated sequence). */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
        *cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        *cp = b & 0x0f;
        lo = b == 0xe0 ? 0xa0 : 0x80;
        hi = b == 0xed ? 0x9f : 0xbf;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        *cp = b & 0x07;
        lo = b == 0xf0 ? 0x90 : 0x80;
        hi = b == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    return n;
}

/* 1 for a code point above U+007F that a terminal acts on or that hides or reorders text. */
static int cp_hidden(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x180e ||
           (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206f) || cp == 0xfeff ||
           (cp >= 0xfff9 && cp <= 0xfffb);
}

int term_escape(buf *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        uint32_t cp = 0;
        size_t n = utf8_next(p + i, len - i, &cp);
        int rc;
        if (c == '\\')
            rc = buf_puts(out, "\\\\");
        else if (c == '\n')
            rc = buf_puts(out, "\\n");
        else if (c == '\r')
            rc = buf_puts(out, "\\r");
        else if (c == '\t')
            rc = buf_puts(out, "\\t");
        else if (c < 0x20 || c == 0x7f)
            rc = buf_printf(out, "\\u%04x", c);
        else if (n == 0)
            rc = buf_printf(out, "\\x%02x", c);
        else if (cp_hidden(cp))
            rc = buf_printf(out, "\\u%04x", (unsigned)cp);
        else
            rc = buf_append(out, p + i, n);
        if (rc != 0)
            return -1;
        i += n ? n : 1;
    }
    return 0;
}

/* A %s argument: escaped, then padded to width (left-justified when `left`). */
static int put_string(buf *out, const char *s, int prec, int width, int left)
{
    size_t len = !s ? 6 : prec >= 0 ? (size_t)prec : strlen(s);
    buf esc = {0};
    int rc = term_escape(&esc, s ? s : "(null)", len);
    size_t pad = width > 0 && (size_t)width > esc.len ? (size_t)width - esc.len : 0;
    for (size_t i = 0; rc == 0 && !left && i < pad; i++)
        rc = buf_putc(out, ' ');
    if (rc == 0 && esc.len)
        rc = buf_append(out, esc.data, esc.len);
    for (size_t i = 0; rc == 0 && left && i < pad; i++)
        rc = buf_putc(out, ' ');
    buf_free(&esc);
    return rc;
}

/* Formats one numeric, character or pointer argument with the rebuilt single-conversion
 * format `spec` (a printf format: -Wformat cannot check it, so the types follow conv/len). */
static int put_other(buf *out, const char *spec, char conv, const char *len, va_list *ap)
{
    int l = strcmp(len, "l") == 0, ll = strcmp(len, "ll") == 0, z = strcmp(len, "z") == 0;
    int j = strcmp(len, "j") == 0, t = strcmp(len, "t") == 0;
    switch (conv) {
    case 'd':
    case 'i':
        if (ll)
            return buf_printf(out, spec, va_arg(*ap, long long));
        if (l)
            return buf_printf(out, spec, va_arg(*ap, long));
        if (z)
            return buf_printf(out, spec, va_arg(*ap, ssize_t));
        if (j)
            return buf_printf(out, spec, va_arg(*ap, intmax_t));
        if (t)
            return buf_printf(out, spec, va_arg(*ap, ptrdiff_t));
        return buf_printf(out, spec, va_arg(*ap, int));
    case 'u':
    case 'x':
    case 'X':
    case 'o':
        if (ll)
            return buf_printf(out, spec, va_arg(*ap, unsigned long long));
        if (l)
            return buf_printf(out, spec, va_arg(*ap, unsigned long));
        if (z)
            return buf_printf(out, spec, va_arg(*ap, size_t));
        if (j)
            return buf_printf(out, spec, va_arg(*ap, uintmax_t));
        if (t)
            return buf_printf(out, spec, va_arg(*ap, ptrdiff_t));
        return buf_printf(out, spec, va_arg(*ap, unsigned));
    case 'c':
        return buf_printf(out, spec, va_arg(*ap, int));
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
        if (strcmp(len, "L") == 0)
            return buf_printf(out, spec, va_arg(*ap, long double));
        return buf_printf(out, spec, va_arg(*ap, double));
    case 'p':
        return buf_printf(out, spec, va_arg(*ap, void *));
    default:
        return -1;
    }
}

/* Reads the width or precision of a conversion: digits or '*' (an int argument). *given is 0
 * when neither is there. */
static int spec_number(const char **s, va_list *ap, int *given)
{
    *given = 1;
    if (**s == '*') {
        (*s)++;
        return va_arg(*ap, int);
    }
    if (**s < '0' || **s > '9') {
        *given = 0;
        return 0;
    }
    int v = 0;
    for (; **s >= '0' && **s <= '9'; (*s)++)
        if (v < 100000)
            v = v * 10 + (**s - '0');
    return v;
}

/* Handles the conversion that starts at *pp ('%'), advancing *pp past it. */
static int put_conversion(buf *out, const char **pp, va_list *ap)
{
    const char *s = *pp + 1;
    char flags[8] = "", len[3] = "", spec[48];
    size_t nf = 0;
    int given = 0;
    while (*s && strchr("-+ #0", *s) && nf < sizeof flags - 2)
        flags[nf++] = *s++;
    int width = spec_number(&s, ap, &given), prec = -1;
    if (!given)
        width = -1;
    else if (width < 0) { /* a negative '*' width: left-justified */
        width = width == INT_MIN ? INT_MAX : -width;
        flags[nf++] = '-';
    }
    if (*s == '.') {
        s++;
        prec = spec_number(&s, ap, &given);
        if (!given)
            prec = 0; /* "." alone */
        else if (prec < 0)
            prec = -1; /* a negative '*' precision: none */
    }
    size_t nl = 0;
    while (*s && strchr("hlzjtL", *s) && nl < sizeof len - 1)
        len[nl++] = *s++;
    char conv = *s;
    if (!conv)
        return -1;
    *pp = s + 1;
    if (conv == '%')
        return buf_putc(out, '%');
    if (conv == 's')
        return put_string(out, va_arg(*ap, const char *), prec, width, strchr(flags, '-') != NULL);
    int n = snprintf(spec, sizeof spec, "%%%s", flags);
    if (width >= 0)
        n += snprintf(spec + n, sizeof spec - (size_t)n, "%d", width);
    if (prec >= 0)
        n += snprintf(spec + n, sizeof spec - (size_t)n, ".%d", prec);
    snprintf(spec + n, sizeof spec - (size_t)n, "%s%c", len, conv);
    return put_other(out, spec, conv, len, ap);
}

int term_vfprintf(FILE *f, const char *fmt, va_list ap_in)
{
    va_list ap;
    va_copy(ap, ap_in);
    buf out = {0};
    int rc = 0;
    const char *p = fmt;
    while (rc == 0 && *p) {
        const char *pct = strchr(p, '%');
        size_t lit = pct ? (size_t)(pct - p) : strlen(p);
        if (lit)
            rc = buf_append(&out, p, lit);
        if (!pct)
            break;
        p = pct;
        if (rc == 0)
            rc = put_conversion(&out, &p, &ap);
    }
    va_end(ap);
    if (rc == 0 && out.len && fwrite(out.data, 1, out.len, f) != out.len)
        rc = -1;
    int n = rc == 0 ? (int)(out.len > INT_MAX ? INT_MAX : out.len) : -1;
    buf_free(&out);
    return n;
}

int term_fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = term_vfprintf(f, fmt, ap);
    va_end(ap);
    return n;
}

const char *term_str(const json_t *o, const char *key, const char *dflt)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

int term_strlen(const json_t *o, const char *key, const char *dflt)
{
    const json_t *v = json_object_get(o, key);
    size_t n = json_is_string(v) ? json_string_length(v) : dflt ? strlen(dflt) : 0;
    return n > INT_MAX ? INT_MAX : (int)n;
}

int term_json(FILE *f, const char *text, size_t len, int multiline)
{
    const unsigned char *p = (const unsigned char *)text;
    buf out = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < len;) {
        unsigned char c = p[i];
        uint32_t cp = 0;
        size_t n = utf8_next(p + i, len - i, &cp);
        if (c == '\n' || c == '\t')
            rc = buf_putc(&out, multiline ? (char)c : ' ');
        else if (c == '\r')
            rc = buf_putc(&out, ' ');
        else if (c < 0x20 || c == 0x7f)
            rc = buf_printf(&out, "\\u%04x", c);
        else if (n == 0)
            rc = buf_puts(&out, "\\ufffd");
        else if (cp_hidden(cp))
            rc = buf_printf(&out, "\\u%04x", (unsigned)cp);
        else
            rc = buf_append(&out, p + i, n);
        i += n ? n : 1;
    }
    if (rc == 0)
        rc = buf_putc(&out, '\n');
    if (rc == 0 && fwrite(out.data, 1, out.len, f) != out.len)
        rc = -1;
    buf_free(&out);
    return rc == 0 ? 0 : -1;
}

int term_print_json(const json_t *v)
{
    buf out = {0};
    int rc = jcs_write(&out, v, NULL) == 0 ? term_json(stdout, out.data, out.len, 0) : -1;
    buf_free(&out);
    return rc;
}
