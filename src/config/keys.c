/* keys.c - the configuration key table (every key of SPEC §10/§11, its type, bounds, default
 * and documentation) and the lookups over it. */
#include <string.h>

#include "config/config.h"
#include "config/internal.h"

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
