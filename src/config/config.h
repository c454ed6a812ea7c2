/* config.h - the service configuration: the model, its key table, the three layers, validation. */
#ifndef SVCR_CONFIG_CONFIG_H
#define SVCR_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Capacities of the fixed string fields, terminating NUL included. */
#define CFG_PATH_MAX 4096
#define CFG_ADDR_MAX 512
#define CFG_DSN_MAX 1024
#define CFG_URL_MAX 1024
#define CFG_HASH_MAX 68 /* "b3:" + 64 hex + NUL */
#define CFG_MAX_UIDS 64

typedef enum {
    CFG_STORAGE_LMDB,
    CFG_STORAGE_SQLITE,
    CFG_STORAGE_POSTGRES,
    CFG_STORAGE_MEMORY
} cfg_storage_kind;
typedef enum { CFG_LOG_JSON, CFG_LOG_TEXT } cfg_log_format;
typedef enum { CFG_LOG_DEBUG, CFG_LOG_INFO, CFG_LOG_WARN, CFG_LOG_ERROR } cfg_log_level;
typedef enum { CFG_OTEL_NONE, CFG_OTEL_OTLP } cfg_otel_exporter;
/* Only CFG_PQ_OFF validates in v1; the others parse so the message can say "not available yet". */
typedef enum { CFG_PQ_OFF, CFG_PQ_HYBRID, CFG_PQ_ONLY } cfg_pq_mode;

/* uds.allow_uids: peer uids allowed on the UDS listener; n == 0 means the service's own uid. */
typedef struct cfg_uid_list {
    uint32_t n;
    uint32_t v[CFG_MAX_UIDS];
} cfg_uid_list;

/* One immutable snapshot of every setting (SPEC §10, §11). Durations are milliseconds, sizes are
 * bytes, strings are NUL-terminated. Field paths are the key names: `limits.rps` is the key
 * "limits.rps" (the key table is built from the field paths, so they cannot drift apart). */
typedef struct svcr_config {
    char bind_addr[CFG_ADDR_MAX];    /* host:port of the API listener */
    char metrics_addr[CFG_ADDR_MAX]; /* host:port of the metrics listener; port 0: off */
    uint32_t max_conns;
    uint32_t max_conns_per_ip; /* 0: no bound */
    int64_t read_timeout;
    int64_t write_timeout;
    int64_t idle_timeout;
    struct {
        uint32_t inflight;
        uint32_t rps;      /* write routes, token bucket; 0: unlimited */
        uint32_t read_rps; /* read routes; 0: unlimited */
        uint32_t list_rps; /* reads that are not O(1); 0: unlimited */
        uint64_t max_body_bytes;
        uint32_t decompress_ratio_cap;
        uint32_t queue;         /* proposal/commit queue */
        uint64_t pending_bytes; /* canonical payload bytes of open proposals */
    } limits;
    struct {
        bool enabled;
        char cert_path[CFG_PATH_MAX];
        char key_path[CFG_PATH_MAX];
    } tls;
    struct {
        char path[CFG_PATH_MAX]; /* "": no UDS listener */
        cfg_uid_list allow_uids;
    } uds;
    struct {
        char root_keys_path[CFG_PATH_MAX];
    } auth;
    struct {
        cfg_storage_kind kind;
        char data_dir[CFG_PATH_MAX];
        bool fsync;
        char pg_dsn[CFG_DSN_MAX]; /* secret: printed with its password redacted */
        int64_t checkpoint_interval;
        uint64_t verify_last_k;
    } storage;
    struct {
        int64_t by_age;    /* 0: no age limit */
        uint64_t by_count; /* 0: no count limit */
        uint64_t by_size;  /* 0: no size limit */
    } retention;
    struct {
        char trust_roots_path[CFG_PATH_MAX];
        char trust_roots_hash[CFG_HASH_MAX];
    } bootstrap;
    struct {
        uint32_t channel_bound;
    } bus;
    struct {
        int64_t heartbeat;
        uint32_t client_buffer;      /* events a slow SSE client may lag before it must reconcile */
        uint32_t max_clients;        /* 0: three quarters of max_conns */
        uint32_t max_clients_per_ip; /* 0: no bound */
    } sse;
    struct {
        bool enabled;
    } amnesia;
    struct {
        cfg_pq_mode mode;
    } pq;
    struct {
        cfg_log_format format;
        cfg_log_level level;
    } log;
    struct {
        cfg_otel_exporter exporter;
        char endpoint[CFG_URL_MAX];
    } otel;
    struct {
        int64_t drain_deadline;
    } shutdown;
} svcr_config;

/* ---- the key table ------------------------------------------------------------------------ */

typedef enum {
    CFG_T_STR,      /* free string (char[size]) */
    CFG_T_PATH,     /* filesystem path (char[size]) */
    CFG_T_ADDR,     /* host:port (char[size]); validated */
    CFG_T_DSN,      /* PostgreSQL connection string (char[size]); password redacted if secret */
    CFG_T_BOOL,     /* bool */
    CFG_T_U32,      /* uint32_t */
    CFG_T_U64,      /* uint64_t */
    CFG_T_DURATION, /* int64_t milliseconds; text "250ms", "5s", "10m", "1h", "30d" */
    CFG_T_SIZE,     /* uint64_t bytes; text "512", "64KiB", "1 MiB", "1GiB" */
    CFG_T_ENUM,     /* an enum stored as int; `choices` names its values in order */
    CFG_T_UIDS      /* cfg_uid_list; TOML [0, 1000], env/flag "0,1000" */
} cfg_type;

#define CFG_F_RELOAD 1u /* SIGHUP may change it */
#define CFG_F_SECRET 2u /* never printed as is */
#define CFG_F_LATER 4u  /* no code reads it yet: the server refuses a non-default value */

typedef struct cfg_key {
    const char *name; /* "limits.rps": section "." key, or a bare top-level key */
    cfg_type type;
    size_t offset;              /* into svcr_config */
    size_t size;                /* of the field */
    unsigned flags;             /* CFG_F_* */
    const char *def;            /* default, in the env/flag text syntax */
    uint64_t min, max;          /* numeric range (durations in ms, sizes in bytes), inclusive */
    const char *const *choices; /* CFG_T_ENUM: NULL-terminated value names */
    const char *alias;          /* short flag name without "--" ("bind"), or NULL */
    const char *doc;            /* one line for --help and docs/CONFIG.md */
} cfg_key;

/* The key table, in print order (top-level keys first, then each section contiguously); *n gets
 * its length. Static storage; never NULL. No key can change quorum, signers or history. */
const cfg_key *cfg_keys(size_t *n);

/* The key named `name` ("limits.rps"), or NULL. */
const cfg_key *cfg_key_find(const char *name);

/* Writes the key's environment variable name ("SVCR_LIMITS_RPS") into out (always
 * NUL-terminated; 64 bytes are enough for every key). */
void cfg_key_env_name(const cfg_key *k, char *out, size_t cap);

/* Writes the key's long flag name without "--" ("limits-rps") into out. */
void cfg_key_flag_name(const cfg_key *k, char *out, size_t cap);

/* Sets key k of c from text in the env/flag syntax of its type. Returns 0; -1 if the text does not
 * parse (wrong syntax, too long, control character, invalid UTF-8); -2 if it parses but is out of
 * the key's range. On error c is unchanged and err names the key and says why. */
int cfg_key_set(svcr_config *c, const cfg_key *k, const char *text, char *err, size_t errcap);

/* Formats key k of c as a TOML value this module parses back ("5s" quoted, 500, true, [0, 1000]).
 * With redact, a CFG_F_SECRET value is masked. Returns 0, or -1 if cap is too small. */
int cfg_key_format(const cfg_key *k, const svcr_config *c, bool redact, char *out, size_t cap);

/* Checks that key k of c holds a value cfg_key_set could have produced: within the key's range,
 * a known enum value, a NUL-terminated string without control characters. Returns 0, or -1 with
 * err naming the key. */
int cfg_key_check(const cfg_key *k, const svcr_config *c, char *err, size_t errcap);

/* 1 if key k has the same value in a and b, else 0. */
int cfg_key_equal(const cfg_key *k, const svcr_config *a, const svcr_config *b);

/* Name of the enum value stored in key k of c ("lmdb"); "?" if out of range. */
const char *cfg_key_enum_name(const cfg_key *k, const svcr_config *c);

/* ---- values ------------------------------------------------------------------------------- */

/* Parses a duration: decimal digits then exactly one unit of ms, s, m, h, d ("250ms", "30d"). The
 * unit is required. Returns 0 and sets *ms, or -1 (bad syntax, overflow; *ms untouched). */
int cfg_parse_duration(const char *s, int64_t *ms);

/* Parses a size: decimal digits, optionally one space, then an optional unit B, KiB, MiB or GiB
 * ("1048576", "1 MiB", "1GiB"). Returns 0 and sets *bytes, or -1 (*bytes untouched). */
int cfg_parse_size(const char *s, uint64_t *bytes);

/* Formats ms in the largest unit that divides it exactly ("30d", "250ms", "0s"). Never fails;
 * 32 bytes are enough. */
void cfg_format_duration(int64_t ms, char *out, size_t cap);

/* Formats bytes in the largest binary unit that divides it exactly ("1GiB", "1536B"). */
void cfg_format_size(uint64_t bytes, char *out, size_t cap);

/* Replaces the password of a PostgreSQL DSN by "***", in both the URI form
 * (postgresql://user:pw@host/db?password=pw) and the keyword form (password=pw or 'p w').
 * Writes a NUL-terminated result into out (truncated if cap is too small). */
void cfg_redact_dsn(const char *dsn, char *out, size_t cap);

/* ---- the model ---------------------------------------------------------------------------- */

/* Fills c with every key's default. Can't fail. */
void cfg_defaults(svcr_config *c);

/* Checks every rule of the snapshot, fail-closed: ranges from the table, address syntax, the
 * storage/TLS/amnesia/pq/otel/bootstrap cross-key rules. Touches the filesystem (stat of the TLS
 * files and the key file's mode, statfs for amnesia). Returns 0, or -1 with err naming the key. */
int cfg_validate(const svcr_config *c, char *err, size_t errcap);
/* What the server needs of a valid config before it starts: nothing it would silently ignore —
 * TLS, a Unix socket, the OTLP exporter, and any CFG_F_LATER key at a non-default value are
 * refused, naming the key. 0, or -1 with err. (--print-config and svcr do not call it.) */
int cfg_check_available(const svcr_config *c, char *err, size_t errcap);

/* Splits "host:port", "[v6]:port" into host (brackets removed) and port. Hosts: dotted IPv4,
 * an IPv6 literal in brackets, or an RFC 1123 host name. Returns 0, or -1 (outputs unspecified). */
int cfg_split_addr(const char *addr, char *host, size_t hostcap, uint16_t *port);

/* ---- layers ------------------------------------------------------------------------------- */

typedef enum { CFG_RUN, CFG_PRINT, CFG_VERSION, CFG_HELP } cfg_action;

/* Builds the effective configuration: defaults < TOML file (--config PATH) < SVCR_* variables of
 * envp (a NULL-terminated "NAME=value" array; may be NULL; unknown SVCR_* names are ignored, the
 * first of a repeated name wins) < flags of argv (argv[0] is the program; the last of a repeated
 * flag wins), then cfg_validate. For --version and --help only the flags are checked, *out gets the
 * defaults. Returns 0 with *out and *action set, or -1 with err naming the layer, the line or
 * flag, the key and the reason; on error *out is unchanged. Borrows argv and envp for the call. */
int cfg_load(int argc, char **argv, char **envp, svcr_config *out, cfg_action *action, char *err,
             size_t errcap);

#define CFG_ERR_PARSE (-1)   /* a file, variable or flag does not parse, or names no key */
#define CFG_ERR_INVALID (-2) /* every value parsed, but a rule (range, cross-key) fails */

/* cfg_load that tells the failing stage apart: returns 0, CFG_ERR_PARSE or CFG_ERR_INVALID. */
int cfg_build(int argc, char **argv, char **envp, svcr_config *out, cfg_action *action, char *err,
              size_t errcap);

/* SIGHUP: builds a new snapshot from the same argv (whose flags keep their precedence), the
 * current envp and the file re-read. Only CFG_F_RELOAD keys may differ from *cur. Returns 0 with
 * *out set; or -1 with *out unchanged, reason set to "parse" (file/env/flag syntax), "invalid"
 * (validation) or "disruptive_key" (err names the key that needs a restart). *cur is read only;
 * the caller swaps snapshots. */
int cfg_reload(int argc, char **argv, char **envp, const svcr_config *cur, svcr_config *out,
               char *reason, size_t rcap, char *err, size_t errcap);

/* Writes the configuration as TOML that cfg_load accepts back, secrets redacted. */
void cfg_print(const svcr_config *c, FILE *f);

/* Writes the --help text (every flag, its key, default and whether SIGHUP reloads it). */
void cfg_usage(FILE *f);

/* Writes the markdown key reference of docs/CONFIG.md (a test keeps the file in sync). */
void cfg_doc_markdown(FILE *f);

#endif
