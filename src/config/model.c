/* model.c - the configuration model: setting a key from text, formatting, checking and
 * comparing it, the defaults, and the effective configuration as TOML. The key table is in
 * keys.c, the value codecs in value.c. */
#include "config/config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "config/toml.h"

/* ---- setting a key from text ----------------------------------------------------------------- */

static int key_fail(char *err, size_t cap, const cfg_key *k, int rc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int key_fail(char *err, size_t cap, const cfg_key *k, int rc, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (err && cap)
        snprintf(err, cap, "%s: %s", k->name, msg);
    return rc;
}

/* A short printable copy of user text for messages: at most 40 bytes, non-printables as '?'. */
static void quoted(const char *s, char out[48])
{
    size_t n = 0;
    for (; s[n] && n < 40; n++)
        out[n] = (s[n] >= 0x20 && s[n] < 0x7f) ? s[n] : '?';
    if (s[n]) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static void *field(const cfg_key *k, svcr_config *c)
{
    return (char *)c + k->offset;
}

static const void *cfield(const cfg_key *k, const svcr_config *c)
{
    return (const char *)c + k->offset;
}

/* A value of key k in its natural unit, for range messages. */
static void fmt_num(const cfg_key *k, uint64_t v, char *out, size_t cap)
{
    if (k->type == CFG_T_DURATION)
        cfg_format_duration((int64_t)v, out, cap);
    else if (k->type == CFG_T_SIZE)
        cfg_format_size(v, out, cap);
    else
        snprintf(out, cap, "%" PRIu64, v);
}

/* Checks v against [k->min, k->max]; 0 or -2 with a message. */
static int check_range(const cfg_key *k, uint64_t v, char *err, size_t cap)
{
    if (v >= k->min && v <= k->max)
        return 0;
    char lo[32], hi[32], got[32];
    fmt_num(k, k->min, lo, sizeof lo);
    fmt_num(k, k->max, hi, sizeof hi);
    fmt_num(k, v, got, sizeof got);
    if (k->max >= (uint64_t)INT64_MAX || (k->type == CFG_T_U32 && k->max == UINT32_MAX))
        return key_fail(err, cap, k, -2, "must be at least %s (got %s)", lo, got);
    return key_fail(err, cap, k, -2, "must be between %s and %s (got %s)", lo, hi, got);
}

static int set_string(svcr_config *c, const cfg_key *k, const char *text, char *err, size_t cap)
{
    size_t len = strlen(text);
    if (len >= k->size)
        return key_fail(err, cap, k, -1, "too long (at most %zu bytes)", k->size - 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch < 0x20 || ch == 0x7f)
            return key_fail(err, cap, k, -1, "contains a control character");
    }
    if (!cfg_utf8_valid(text, len))
        return key_fail(err, cap, k, -1, "is not valid UTF-8");
    memcpy(field(k, c), text, len + 1);
    return 0;
}

static int set_uids(svcr_config *c, const cfg_key *k, const char *text, char *err, size_t cap)
{
    cfg_uid_list l;
    memset(&l, 0, sizeof l);
    const char *p = text;
    while (*p == ' ')
        p++;
    while (*p) {
        const char *s = p;
        while (*p && *p != ',' && *p != ' ')
            p++;
        uint64_t v;
        char q[48];
        if (cfg_parse_uint(s, (size_t)(p - s), &v) != 0 || v >= UINT32_MAX) {
            quoted(s, q);
            return key_fail(err, cap, k, -1, "expected a comma-separated list of uids (at \"%s\")",
                            q);
        }
        if (l.n == CFG_MAX_UIDS)
            return key_fail(err, cap, k, -1, "at most %d uids", CFG_MAX_UIDS);
        l.v[l.n++] = (uint32_t)v;
        while (*p == ' ')
            p++;
        if (*p && *p != ',')
            return key_fail(err, cap, k, -1, "uids must be separated by commas");
        if (*p == ',') {
            p++;
            while (*p == ' ')
                p++;
            if (!*p)
                return key_fail(err, cap, k, -1, "trailing comma in the uid list");
        }
    }
    memcpy(field(k, c), &l, sizeof l);
    return 0;
}

static int set_enum(svcr_config *c, const cfg_key *k, const char *text, char *err, size_t cap)
{
    for (int i = 0; k->choices[i]; i++) {
        if (strcmp(text, k->choices[i]) == 0) {
            memcpy(field(k, c), &i, sizeof i);
            return 0;
        }
    }
    char list[200] = "", q[48];
    for (int i = 0; k->choices[i]; i++) {
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", k->choices[i]);
    }
    quoted(text, q);
    return key_fail(err, cap, k, -1, "must be one of %s (got \"%s\")", list, q);
}

int cfg_key_set(svcr_config *c, const cfg_key *k, const char *text, char *err, size_t errcap)
{
    char q[48];
    uint64_t u;
    int64_t ms;
    int rc;
    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_PATH:
    case CFG_T_ADDR:
    case CFG_T_DSN:
        return set_string(c, k, text, err, errcap);
    case CFG_T_BOOL:
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
            quoted(text, q);
            return key_fail(err, errcap, k, -1, "expected true or false (got \"%s\")", q);
        }
        *(bool *)field(k, c) = text[0] == 't';
        return 0;
    case CFG_T_U32:
    case CFG_T_U64:
        if (cfg_parse_uint(text, strlen(text), &u) != 0 ||
            (k->type == CFG_T_U32 && u > UINT32_MAX)) {
            quoted(text, q);
            return key_fail(err, errcap, k, -1, "expected a decimal integer (got \"%s\")", q);
        }
        if ((rc = check_range(k, u, err, errcap)) != 0)
            return rc;
        if (k->type == CFG_T_U32)
            *(uint32_t *)field(k, c) = (uint32_t)u;
        else
            *(uint64_t *)field(k, c) = u;
        return 0;
    case CFG_T_DURATION:
        if (cfg_parse_duration(text, &ms) != 0) {
            quoted(text, q);
            return key_fail(err, errcap, k, -1,
                            "expected a duration with a unit: ms, s, m, h or d (got \"%s\")", q);
        }
        if ((rc = check_range(k, (uint64_t)ms, err, errcap)) != 0)
            return rc;
        *(int64_t *)field(k, c) = ms;
        return 0;
    case CFG_T_SIZE:
        if (cfg_parse_size(text, &u) != 0) {
            quoted(text, q);
            return key_fail(err, errcap, k, -1,
                            "expected a size: bytes, or a number with B, KiB, MiB or GiB "
                            "(got \"%s\")",
                            q);
        }
        if ((rc = check_range(k, u, err, errcap)) != 0)
            return rc;
        *(uint64_t *)field(k, c) = u;
        return 0;
    case CFG_T_ENUM:
        return set_enum(c, k, text, err, errcap);
    case CFG_T_UIDS:
        return set_uids(c, k, text, err, errcap);
    }
    return key_fail(err, errcap, k, -1, "unknown key type");
}

/* ---- formatting, comparing ------------------------------------------------------------------- */

/* Appends s as a TOML basic string. */
static void put_toml_string(out_buf *o, const char *s)
{
    cfg_ob_puts(o, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\', esc[1] = (char)ch, esc[2] = '\0';
            cfg_ob_puts(o, esc);
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04X", ch);
            cfg_ob_puts(o, esc);
        } else {
            cfg_ob_put(o, s, 1);
        }
    }
    cfg_ob_puts(o, "\"");
}

const char *cfg_key_enum_name(const cfg_key *k, const svcr_config *c)
{
    if (k->type != CFG_T_ENUM)
        return "?";
    int v;
    memcpy(&v, cfield(k, c), sizeof v);
    for (int i = 0; k->choices[i]; i++)
        if (i == v)
            return k->choices[i];
    return "?";
}

int cfg_key_format(const cfg_key *k, const svcr_config *c, bool redact, char *out, size_t cap)
{
    out_buf o = {out, cap, 0, 0};
    char tmp[2 * CFG_DSN_MAX]; /* a redacted DSN may be longer than the original */
    if (cap)
        out[0] = '\0';
    const void *f = cfield(k, c);
    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_PATH:
    case CFG_T_ADDR:
    case CFG_T_DSN:
        if (redact && (k->flags & CFG_F_SECRET) && *(const char *)f) {
            if (k->type == CFG_T_DSN) {
                cfg_redact_dsn(f, tmp, sizeof tmp);
                put_toml_string(&o, tmp);
            } else {
                put_toml_string(&o, "***");
            }
        } else {
            put_toml_string(&o, f);
        }
        break;
    case CFG_T_BOOL:
        cfg_ob_puts(&o, *(const bool *)f ? "true" : "false");
        break;
    case CFG_T_U32:
        snprintf(tmp, sizeof tmp, "%" PRIu32, *(const uint32_t *)f);
        cfg_ob_puts(&o, tmp);
        break;
    case CFG_T_U64:
        snprintf(tmp, sizeof tmp, "%" PRIu64, *(const uint64_t *)f);
        cfg_ob_puts(&o, tmp);
        break;
    case CFG_T_DURATION:
        cfg_format_duration(*(const int64_t *)f, tmp, sizeof tmp);
        put_toml_string(&o, tmp);
        break;
    case CFG_T_SIZE:
        cfg_format_size(*(const uint64_t *)f, tmp, sizeof tmp);
        put_toml_string(&o, tmp);
        break;
    case CFG_T_ENUM:
        put_toml_string(&o, cfg_key_enum_name(k, c));
        break;
    case CFG_T_UIDS: {
        const cfg_uid_list *l = f;
        cfg_ob_puts(&o, "[");
        for (uint32_t i = 0; i < l->n && i < CFG_MAX_UIDS; i++) {
            snprintf(tmp, sizeof tmp, "%s%" PRIu32, i ? ", " : "", l->v[i]);
            cfg_ob_puts(&o, tmp);
        }
        cfg_ob_puts(&o, "]");
        break;
    }
    }
    return o.overflow ? -1 : 0;
}

int cfg_key_check(const cfg_key *k, const svcr_config *c, char *err, size_t errcap)
{
    const void *f = cfield(k, c);
    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_PATH:
    case CFG_T_ADDR:
    case CFG_T_DSN: {
        const char *s = f;
        const char *nul = memchr(s, '\0', k->size);
        if (!nul)
            return key_fail(err, errcap, k, -1, "not NUL-terminated");
        for (const char *p = s; p < nul; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return key_fail(err, errcap, k, -1, "contains a control character");
        if (!cfg_utf8_valid(s, (size_t)(nul - s)))
            return key_fail(err, errcap, k, -1, "is not valid UTF-8");
        return 0;
    }
    case CFG_T_BOOL:
        return 0;
    case CFG_T_U32:
        return check_range(k, *(const uint32_t *)f, err, errcap) ? -1 : 0;
    case CFG_T_U64:
    case CFG_T_SIZE:
        return check_range(k, *(const uint64_t *)f, err, errcap) ? -1 : 0;
    case CFG_T_DURATION: {
        int64_t ms = *(const int64_t *)f;
        if (ms < 0)
            return key_fail(err, errcap, k, -1, "must not be negative");
        return check_range(k, (uint64_t)ms, err, errcap) ? -1 : 0;
    }
    case CFG_T_ENUM:
        if (strcmp(cfg_key_enum_name(k, c), "?") == 0)
            return key_fail(err, errcap, k, -1, "unknown value");
        return 0;
    case CFG_T_UIDS: {
        const cfg_uid_list *l = f;
        if (l->n > CFG_MAX_UIDS)
            return key_fail(err, errcap, k, -1, "at most %d uids", CFG_MAX_UIDS);
        for (uint32_t i = 0; i < l->n; i++)
            if (l->v[i] == UINT32_MAX)
                return key_fail(err, errcap, k, -1, "uid 4294967295 is not a uid");
        return 0;
    }
    }
    return key_fail(err, errcap, k, -1, "unknown key type");
}

int cfg_key_equal(const cfg_key *k, const svcr_config *a, const svcr_config *b)
{
    const void *fa = cfield(k, a), *fb = cfield(k, b);
    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_PATH:
    case CFG_T_ADDR:
    case CFG_T_DSN:
        return strncmp(fa, fb, k->size) == 0;
    case CFG_T_UIDS: {
        const cfg_uid_list *la = fa, *lb = fb;
        return la->n == lb->n && la->n <= CFG_MAX_UIDS &&
               memcmp(la->v, lb->v, la->n * sizeof la->v[0]) == 0;
    }
    default:
        return memcmp(fa, fb, k->size) == 0;
    }
}

/* ---- the model ------------------------------------------------------------------------------- */

void cfg_defaults(svcr_config *c)
{
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        char err[256];
        /* A default that does not parse is a bug in keys.c's table: a test pins it. */
        if (cfg_key_set(c, &keys[i], keys[i].def, err, sizeof err) != 0)
            abort();
    }
}

void cfg_print(const svcr_config *c, FILE *f)
{
    static const size_t cap = 6 * CFG_PATH_MAX + 16;
    char *val = malloc(cap);
    char section[64] = "";
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    fprintf(f, "# svc-registry effective configuration (secrets redacted)\n");
    for (size_t i = 0; i < n; i++) {
        const cfg_key *k = &keys[i];
        const char *dot = strchr(k->name, '.');
        const char *key = dot ? dot + 1 : k->name;
        size_t slen = dot ? (size_t)(dot - k->name) : 0;
        if (slen != strlen(section) || strncmp(section, k->name, slen) != 0) {
            snprintf(section, sizeof section, "%.*s", (int)slen, k->name);
            fprintf(f, "\n[%s]\n", section);
        }
        if (!val || cfg_key_format(k, c, true, val, cap) != 0)
            fprintf(f, "# %s: (not printable)\n", key);
        else
            fprintf(f, "%s = %s\n", key, val);
    }
    free(val);
}
