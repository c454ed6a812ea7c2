/* model.c - the configuration key table, its defaults, and the value codecs every layer shares. */
#include "config/config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"

#define MS_S INT64_C(1000)
#define MS_M (60 * MS_S)
#define MS_H (60 * MS_M)
#define MS_D (24 * MS_H)
#define KIB UINT64_C(1024)
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

_Static_assert(sizeof(cfg_storage_kind) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(cfg_log_format) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(cfg_log_level) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(cfg_otel_exporter) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(cfg_pq_mode) == sizeof(int), "enums are stored as int");

static const char *const storage_kinds[] = {"lmdb", "sqlite", "postgres", "memory", NULL};
static const char *const log_formats[] = {"json", "text", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const otel_exporters[] = {"none", "otlp", NULL};
static const char *const pq_modes[] = {"off", "hybrid", "pq-only", NULL};

#define R CFG_F_RELOAD
#define L CFG_F_LATER /* read by a later issue's code; refused until then (D50) */
#define FIELD_SIZE(f) sizeof(((svcr_config *)0)->f)
/* The field path is the key name: KEY(limits.rps, …) is "limits.rps" at &c->limits.rps. */
#define KEY(f, t, ...)                                                                             \
    {                                                                                              \
        .name = #f, .type = t, .offset = offsetof(svcr_config, f), .size = FIELD_SIZE(f),          \
        __VA_ARGS__                                                                                \
    }

/* Every key of SPEC §10/§11. Nothing here may touch quorum, signers or history (SPEC §4.9). */
static const cfg_key keys[] = {
    KEY(bind_addr, CFG_T_ADDR, .def = "127.0.0.1:8080", .alias = "bind",
        .doc = "API listener: IPv4:port, [IPv6]:port or hostname:port (port 1-65535)"),
    KEY(metrics_addr, CFG_T_ADDR, .def = "127.0.0.1:0", .alias = "metrics",
        .doc = "extra listener serving only /metrics; port 0 disables it"),
    KEY(max_conns, CFG_T_U32, .def = "1024", .min = 1, .max = 1000000,
        .doc = "concurrent client connections"),
    KEY(max_conns_per_ip, CFG_T_U32, .def = "0", .max = 1000000,
        .doc = "connections one client address may hold; 0 = no bound (sized at startup)"),
    KEY(read_timeout, CFG_T_DURATION, .flags = R, .def = "5s", .min = 1, .max = MS_H,
        .doc = "time allowed to receive a request's headers and body; slower ones are dropped"),
    KEY(write_timeout, CFG_T_DURATION, .flags = R, .def = "5s", .min = 1, .max = MS_H,
        .doc = "time allowed to send a response"),
    KEY(idle_timeout, CFG_T_DURATION, .flags = R, .def = "60s", .min = 1, .max = MS_D,
        .doc = "keep-alive connection idle limit"),
    KEY(limits.inflight, CFG_T_U32, .flags = R, .def = "512", .min = 1, .max = 1000000,
        .doc = "requests processed at once; more get 429 Busy"),
    KEY(limits.rps, CFG_T_U32, .flags = R, .def = "500", .max = 1000000000,
        .doc = "write requests per second (token bucket per instance); 0 = unlimited"),
    KEY(limits.read_rps, CFG_T_U32, .flags = R, .def = "0", .max = 1000000000,
        .doc = "read requests per second; 0 = unlimited"),
    KEY(limits.list_rps, CFG_T_U32, .flags = R, .def = "200", .max = 1000000000,
        .doc = "reads whose cost grows with the data (proposal lists and bodies, audit pages) "
               "per second; 0 = unlimited"),
    KEY(limits.max_body_bytes, CFG_T_SIZE, .flags = R, .def = "1MiB", .min = KIB, .max = GIB,
        .doc = "request body cap (413 PayloadTooLarge)"),
    KEY(limits.decompress_ratio_cap, CFG_T_U32, .flags = R | L, .def = "10", .min = 1, .max = 1000,
        .doc = "gzip/deflate inflation cap (inflated <= ratio x max_body_bytes)"),
    KEY(limits.pending_bytes, CFG_T_SIZE, .def = "64MiB", .min = MIB, .max = 16 * GIB,
        .doc = "payload bytes open proposals may hold in all (a root key: a quarter); "
               "more get 429 Busy (sized at startup)"),
    KEY(limits.queue, CFG_T_U32, .def = "512", .min = 1, .max = 1000000,
        .doc = "proposal/commit queue; full = 429 Busy (sized at startup)"),
    KEY(tls.enabled, CFG_T_BOOL, .def = "false", .doc = "serve HTTPS on bind_addr"),
    KEY(tls.cert_path, CFG_T_PATH, .flags = L, .def = "",
        .doc = "PEM certificate chain (tls.enabled)"),
    KEY(tls.key_path, CFG_T_PATH, .flags = L, .def = "",
        .doc = "PEM private key; must not be accessible by group/other"),
    KEY(uds.path, CFG_T_PATH, .def = "", .doc = "Unix socket listener path; empty = off"),
    KEY(uds.allow_uids, CFG_T_UIDS, .flags = L, .def = "",
        .doc = "peer uids allowed on the Unix socket; empty = only the service's own uid"),
    KEY(auth.root_keys_path, CFG_T_PATH, .def = "", .alias = "root-keys",
        .doc = "capability root keys (JSON); empty = every write is 401"),
    KEY(storage.kind, CFG_T_ENUM, .def = "lmdb", .choices = storage_kinds,
        .doc = "store engine: lmdb, sqlite, postgres or memory"),
    KEY(storage.data_dir, CFG_T_PATH, .def = "./data/registry", .alias = "data-dir",
        .doc = "directory of the embedded store (lmdb, sqlite)"),
    KEY(storage.fsync, CFG_T_BOOL, .def = "true", .doc = "fsync every commit batch"),
    KEY(storage.pg_dsn, CFG_T_DSN, .flags = L | CFG_F_SECRET, .def = "",
        .doc = "PostgreSQL connection string (storage.kind = postgres); password redacted"),
    KEY(storage.checkpoint_interval, CFG_T_DURATION, .flags = L, .def = "10m", .min = MS_S,
        .max = 30 * MS_D, .doc = "time between store checkpoints"),
    KEY(storage.verify_last_k, CFG_T_U64, .def = "1000", .min = 1, .max = UINT64_C(1000000000000),
        .doc = "versions re-verified before read-ready"),
    KEY(retention.by_age, CFG_T_DURATION, .flags = R | L, .def = "30d", .max = 36500 * MS_D,
        .doc = "bodies older than this may be pruned (checkpointed range only); 0 = no limit"),
    KEY(retention.by_count, CFG_T_U64, .flags = R | L, .def = "10000", .max = INT64_MAX,
        .doc = "bodies outside the newest N may be pruned; 0 = no limit"),
    KEY(retention.by_size, CFG_T_SIZE, .flags = R | L, .def = "1GiB", .max = UINT64_MAX,
        .doc = "oldest bodies may be pruned above this store size; 0 = no limit"),
    KEY(bootstrap.trust_roots_path, CFG_T_PATH, .def = "", .alias = "trust-roots",
        .doc = "genesis signer set (JSON signer_set item); empty = read-only without history"),
    KEY(bootstrap.trust_roots_hash, CFG_T_STR, .def = "",
        .doc = "pin: \"b3:\" + 64 hex of the trust roots' canonical JSON; mismatch = no start"),
    KEY(bus.channel_bound, CFG_T_U32, .def = "1024", .min = 1, .max = 1000000,
        .doc = "events the in-process bus retains"),
    KEY(sse.heartbeat, CFG_T_DURATION, .flags = R, .def = "15s", .min = 100, .max = MS_H,
        .doc = "SSE comment heartbeat interval"),
    KEY(sse.client_buffer, CFG_T_U32, .def = "256", .min = 1, .max = 1000000,
        .doc = "events an SSE client may lag before it is sent registry.reconcile"),
    KEY(sse.max_clients, CFG_T_U32, .flags = R, .def = "0", .max = 1000000,
        .doc = "open streams at most (below max_conns); 0 = three quarters of max_conns"),
    KEY(sse.max_clients_per_ip, CFG_T_U32, .flags = R, .def = "0", .max = 1000000,
        .doc = "open streams one client address may hold; 0 = no bound"),
    KEY(amnesia.enabled, CFG_T_BOOL, .def = "false",
        .doc = "no persistence: needs storage.kind = memory or data_dir on tmpfs"),
    KEY(pq.mode, CFG_T_ENUM, .def = "off", .choices = pq_modes,
        .doc = "post-quantum approvals; only off in v1 (hybrid, pq-only: not available yet)"),
    KEY(log.format, CFG_T_ENUM, .def = "json", .choices = log_formats,
        .doc = "log line format: json or text"),
    KEY(log.level, CFG_T_ENUM, .flags = R, .def = "info", .choices = log_levels,
        .doc = "minimum level: debug, info, warn or error"),
    KEY(otel.exporter, CFG_T_ENUM, .def = "none", .choices = otel_exporters,
        .doc = "span exporter: none or otlp"),
    KEY(otel.endpoint, CFG_T_STR, .flags = L, .def = "",
        .doc = "OTLP/HTTP endpoint, http:// or https:// (otel.exporter = otlp)"),
    KEY(shutdown.drain_deadline, CFG_T_DURATION, .def = "3s", .max = 10 * MS_M,
        .doc = "time in-flight requests get to finish on SIGTERM"),
};

const cfg_key *cfg_keys(size_t *n)
{
    if (n)
        *n = sizeof keys / sizeof keys[0];
    return keys;
}

const cfg_key *cfg_key_find(const char *name)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

void cfg_key_env_name(const cfg_key *k, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return;
    for (const char *p = "SVCR_"; *p && n + 1 < cap; p++)
        out[n++] = *p;
    for (const char *p = k->name; *p && n + 1 < cap; p++)
        out[n++] = *p == '.' ? '_' : (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
    out[n] = '\0';
}

void cfg_key_flag_name(const cfg_key *k, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return;
    for (const char *p = k->name; *p && n + 1 < cap; p++)
        out[n++] = (*p == '.' || *p == '_') ? '-' : *p;
    out[n] = '\0';
}

/* ---- scalar codecs --------------------------------------------------------------------------- */

/* Decimal digits only, no sign, no leading zeros; 0 and the value, or -1 (also on overflow). */
static int parse_uint(const char *s, size_t len, uint64_t *out)
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
    if (parse_uint(s, nd, &v) != 0)
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
    if (parse_uint(s, nd, &v) != 0)
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

typedef struct out_buf {
    char *p;
    size_t cap, n;
    int overflow;
} out_buf;

static void ob_put(out_buf *o, const char *s, size_t len)
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

static void ob_puts(out_buf *o, const char *s)
{
    ob_put(o, s, strlen(s));
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
        ob_put(o, dsn, (size_t)(colon + 1 - dsn));
        ob_puts(o, "***");
        ob_put(o, at, (size_t)(aend - at));
    } else {
        ob_put(o, dsn, (size_t)(aend - dsn));
    }
    const char *p = aend;
    const char *q = strchr(p, '?');
    if (!q) {
        ob_puts(o, p);
        return;
    }
    ob_put(o, p, (size_t)(q + 1 - p));
    p = q + 1;
    while (*p) {
        size_t plen = strcspn(p, "&#");
        if (plen >= 9 && strncmp(p, "password=", 9) == 0) {
            ob_puts(o, "password=***");
        } else {
            ob_put(o, p, plen);
        }
        p += plen;
        if (*p == '#') {
            ob_puts(o, p);
            return;
        }
        if (*p == '&')
            ob_put(o, p++, 1);
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
        ob_put(o, ws, (size_t)(p - ws));
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
        ob_put(o, kw, (size_t)(eq - kw));
        ob_put(o, eq, (size_t)(val - eq));
        if (kwlen == 8 && strncmp(kw, "password", 8) == 0)
            ob_puts(o, "***");
        else
            ob_put(o, val, (size_t)(p - val));
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
        ob_puts(&o, "***");
    }
}

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
        if (parse_uint(s, (size_t)(p - s), &v) != 0 || v >= UINT32_MAX) {
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
        if (parse_uint(text, strlen(text), &u) != 0 || (k->type == CFG_T_U32 && u > UINT32_MAX)) {
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
    ob_puts(o, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\', esc[1] = (char)ch, esc[2] = '\0';
            ob_puts(o, esc);
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04X", ch);
            ob_puts(o, esc);
        } else {
            ob_put(o, s, 1);
        }
    }
    ob_puts(o, "\"");
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
        ob_puts(&o, *(const bool *)f ? "true" : "false");
        break;
    case CFG_T_U32:
        snprintf(tmp, sizeof tmp, "%" PRIu32, *(const uint32_t *)f);
        ob_puts(&o, tmp);
        break;
    case CFG_T_U64:
        snprintf(tmp, sizeof tmp, "%" PRIu64, *(const uint64_t *)f);
        ob_puts(&o, tmp);
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
        ob_puts(&o, "[");
        for (uint32_t i = 0; i < l->n && i < CFG_MAX_UIDS; i++) {
            snprintf(tmp, sizeof tmp, "%s%" PRIu32, i ? ", " : "", l->v[i]);
            ob_puts(&o, tmp);
        }
        ob_puts(&o, "]");
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
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char err[256];
        /* A default that does not parse is a bug in the table above: a test pins it. */
        if (cfg_key_set(c, &keys[i], keys[i].def, err, sizeof err) != 0)
            abort();
    }
}

void cfg_print(const svcr_config *c, FILE *f)
{
    static const size_t cap = 6 * CFG_PATH_MAX + 16;
    char *val = malloc(cap);
    char section[64] = "";
    fprintf(f, "# svc-registry effective configuration (secrets redacted)\n");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
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
