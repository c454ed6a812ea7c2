/* value.c - the value codecs every configuration layer shares: durations, sizes, strict
 * unsigned integers, and the redaction of secrets in a PostgreSQL DSN. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/internal.h"

/* ---- scalar codecs --------------------------------------------------------------------------- */

/* (contract in internal.h) */
int cfg_parse_uint(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || (len > 1 && s[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static size_t digit_run(const char *s)
{
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

int cfg_parse_duration(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t mult;
    } units[] = {{"ms", 1}, {"s", MS_S}, {"m", MS_M}, {"h", MS_H}, {"d", MS_D}};
    if (!s)
        return -1;
    size_t nd = digit_run(s);
    uint64_t v;
    if (cfg_parse_uint(s, nd, &v) != 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(s + nd, units[i].unit) != 0)
            continue;
        if (v > (uint64_t)(INT64_MAX / units[i].mult))
            return -1;
        *ms = (int64_t)v * units[i].mult;
        return 0;
    }
    return -1;
}

int cfg_parse_size(const char *s, uint64_t *bytes)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {{"", 1}, {"B", 1}, {"KiB", KIB}, {"MiB", MIB}, {"GiB", GIB}};
    if (!s)
        return -1;
    size_t nd = digit_run(s);
    uint64_t v;
    if (cfg_parse_uint(s, nd, &v) != 0)
        return -1;
    const char *u = s + nd;
    if (*u == ' ' && u[1] != '\0')
        u++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(u, units[i].unit) != 0)
            continue;
        if (v > UINT64_MAX / units[i].mult)
            return -1;
        *bytes = v * units[i].mult;
        return 0;
    }
    return -1;
}

void cfg_format_duration(int64_t ms, char *out, size_t cap)
{
    if (ms == 0)
        snprintf(out, cap, "0s");
    else if (ms % MS_D == 0)
        snprintf(out, cap, "%" PRId64 "d", ms / MS_D);
    else if (ms % MS_H == 0)
        snprintf(out, cap, "%" PRId64 "h", ms / MS_H);
    else if (ms % MS_M == 0)
        snprintf(out, cap, "%" PRId64 "m", ms / MS_M);
    else if (ms % MS_S == 0)
        snprintf(out, cap, "%" PRId64 "s", ms / MS_S);
    else
        snprintf(out, cap, "%" PRId64 "ms", ms);
}

void cfg_format_size(uint64_t bytes, char *out, size_t cap)
{
    if (bytes != 0 && bytes % GIB == 0)
        snprintf(out, cap, "%" PRIu64 "GiB", bytes / GIB);
    else if (bytes != 0 && bytes % MIB == 0)
        snprintf(out, cap, "%" PRIu64 "MiB", bytes / MIB);
    else if (bytes != 0 && bytes % KIB == 0)
        snprintf(out, cap, "%" PRIu64 "KiB", bytes / KIB);
    else
        snprintf(out, cap, "%" PRIu64 "B", bytes);
}

/* ---- DSN redaction --------------------------------------------------------------------------- */

void cfg_ob_put(out_buf *o, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (o->n + 1 < o->cap)
            o->p[o->n++] = s[i];
        else
            o->overflow = 1;
    }
    if (o->cap)
        o->p[o->n] = '\0';
}

void cfg_ob_puts(out_buf *o, const char *s)
{
    cfg_ob_put(o, s, strlen(s));
}

/* URI form: the userinfo password and a `password=` query parameter become "***". */
static void redact_uri(const char *dsn, out_buf *o)
{
    const char *auth = strstr(dsn, "://") + 3;
    const char *aend = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < aend; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon) {
        cfg_ob_put(o, dsn, (size_t)(colon + 1 - dsn));
        cfg_ob_puts(o, "***");
        cfg_ob_put(o, at, (size_t)(aend - at));
    } else {
        cfg_ob_put(o, dsn, (size_t)(aend - dsn));
    }
    const char *p = aend;
    const char *q = strchr(p, '?');
    if (!q) {
        cfg_ob_puts(o, p);
        return;
    }
    cfg_ob_put(o, p, (size_t)(q + 1 - p));
    p = q + 1;
    while (*p) {
        size_t plen = strcspn(p, "&#");
        if (plen >= 9 && strncmp(p, "password=", 9) == 0) {
            cfg_ob_puts(o, "password=***");
        } else {
            cfg_ob_put(o, p, plen);
        }
        p += plen;
        if (*p == '#') {
            cfg_ob_puts(o, p);
            return;
        }
        if (*p == '&')
            cfg_ob_put(o, p++, 1);
    }
}

/* Keyword form (`host=h password='p w'`): the password value becomes "***". Returns -1 if the
 * string does not scan as keyword=value pairs (the caller then masks all of it). */
static int redact_keywords(const char *dsn, out_buf *o)
{
    const char *p = dsn;
    while (*p) {
        const char *ws = p;
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        cfg_ob_put(o, ws, (size_t)(p - ws));
        if (!*p)
            break;
        const char *kw = p;
        while (*p && *p != '=' && *p != ' ' && *p != '\t')
            p++;
        size_t kwlen = (size_t)(p - kw);
        const char *eq = p;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '=' || kwlen == 0)
            return -1;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *val = p;
        if (*p == '\'') {
            for (p++; *p && *p != '\''; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (*p != '\'')
                return -1;
            p++;
        } else {
            while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
                p++;
        }
        cfg_ob_put(o, kw, (size_t)(eq - kw));
        cfg_ob_put(o, eq, (size_t)(val - eq));
        if (kwlen == 8 && strncmp(kw, "password", 8) == 0)
            cfg_ob_puts(o, "***");
        else
            cfg_ob_put(o, val, (size_t)(p - val));
    }
    return 0;
}

void cfg_redact_dsn(const char *dsn, char *out, size_t cap)
{
    out_buf o = {out, cap, 0, 0};
    if (cap)
        out[0] = '\0';
    if (!dsn || !*dsn)
        return;
    if (strncmp(dsn, "postgresql://", 13) == 0 || strncmp(dsn, "postgres://", 11) == 0) {
        redact_uri(dsn, &o);
    } else if (redact_keywords(dsn, &o) != 0) {
        o.n = 0;
        cfg_ob_puts(&o, "***");
    }
}
