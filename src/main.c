/* main.c - svc-registry entry point: reads the configuration, wires storage, bus, pipeline,
 * capabilities and the HTTP server together, and runs the signal loop. Owns no logic. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/macaroon.h"
#include "bus/bus.h"
#include "config/config.h"
#include "crypto/ed25519.h"
#include "http/http.h"
#include "http/routes.h"
#include "interop/alloc.h"
#include "interop/file.h"
#include "observability/clock.h"
#include "observability/log.h"
#include "observability/metrics.h"
#include "pipeline/pipeline.h"
#include "storage/store.h"

/* Everything the process runs, created here and passed down (the one runtime struct). */
typedef struct registry_runtime {
    svcr_config cfg;
    store *st;
    bus *bus;
    pipeline *pl;
    auth_keys *keys;
    metrics *m;
    http_server *http;
} registry_runtime;

static log_level to_log_level(cfg_log_level l)
{
    return l == CFG_LOG_DEBUG   ? LOG_DEBUG
           : l == CFG_LOG_WARN  ? LOG_WARN
           : l == CFG_LOG_ERROR ? LOG_ERROR
                                : LOG_INFO;
}

/* sse.max_clients, or three quarters of max_conns: streams never take the slots that reads and
 * probes need. */
static uint32_t sse_max_clients_of(const svcr_config *c)
{
    if (c->sse.max_clients)
        return c->sse.max_clients;
    return c->max_conns >= 4 ? c->max_conns / 4 * 3 : 1;
}

static http_limits limits_of(const svcr_config *c)
{
    http_limits l = {.max_body_bytes = c->limits.max_body_bytes,
                     .inflight = c->limits.inflight,
                     .write_timeout_ms = c->write_timeout,
                     .sse_heartbeat_ms = c->sse.heartbeat,
                     .rps = c->limits.rps,
                     .read_rps = c->limits.read_rps,
                     .list_rps = c->limits.list_rps,
                     .sse_client_buffer = c->sse.client_buffer,
                     .read_timeout_ms = c->read_timeout,
                     .idle_timeout_ms = c->idle_timeout,
                     .sse_max_clients = sse_max_clients_of(c),
                     .sse_max_per_ip = c->sse.max_clients_per_ip};
    return l;
}

static int open_store(registry_runtime *rt)
{
    char err[512] = "";
    store_open_opts so = {.data_dir = rt->cfg.storage.data_dir, .fsync = rt->cfg.storage.fsync};
    store_kind kind;
    switch (rt->cfg.storage.kind) {
    case CFG_STORAGE_MEMORY:
        kind = STORE_KIND_MEMORY;
        break;
    case CFG_STORAGE_LMDB: {
        kind = STORE_KIND_LMDB;
        /* the parent of data_dir is created for convenience; data_dir itself by the store */
        char parent[CFG_PATH_MAX];
        snprintf(parent, sizeof parent, "%s", rt->cfg.storage.data_dir);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            mkdir(parent, 0700);
        }
        break;
    }
    default:
        log_msg(LOG_ERROR, "startup", "storage.kind %s is not available in this build",
                rt->cfg.storage.kind == CFG_STORAGE_SQLITE ? "sqlite" : "postgres");
        return 2;
    }
    int rc = store_open(kind, &so, &rt->st, err, sizeof err);
    if (rc != STORE_OK) {
        log_msg(LOG_ERROR, "startup", "cannot open the store: %s", err);
        return rc == STORE_EBUSY ? 2 : 1; /* another process holds data_dir: a usage error */
    }
    return 0;
}

/* Logs a pipeline_open failure. A Malformed one is about the configured trust roots (see
 * pipeline.h): the message names the key, the file and where in it. */
static void log_pipeline_error(const registry_runtime *rt, svcr_code c, const svcr_err *e)
{
    const char *path = rt->cfg.bootstrap.trust_roots_path;
    if (c != SVCR_E_MALFORMED || !path[0]) {
        log_msg(LOG_ERROR, "startup", "%s%s%s", e->path, e->path[0] ? ": " : "", e->message);
        return;
    }
    const char *key = "bootstrap.trust_roots_path", *at = e->path;
    if (strncmp(at, "bootstrap.", 10) == 0) { /* the pin, or roots that differ from the store's */
        key = at;
        at = "";
    } else if (strncmp(at, "trust_roots", 11) == 0 && (at[11] == '.' || at[11] == '\0')) {
        at += at[11] ? 12 : 11; /* the file is the signer_set: paths start inside it */
    }
    log_msg(LOG_ERROR, "startup", "%s: %s: %s%s%s%s (%s)", key, path, at[0] ? "at " : "", at,
            at[0] ? ": " : "", e->message, e->reason[0] ? e->reason : "malformed");
}

static int open_pipeline(registry_runtime *rt)
{
    size_t roots_len = 0;
    char *roots = NULL, ferr[CFG_PATH_MAX + 256];
    const char *path = rt->cfg.bootstrap.trust_roots_path;
    if (path[0] && file_read_all(path, FILE_TRUST_ROOTS_MAX, FILE_NO_FOREIGN_WRITE, &roots,
                                 &roots_len, ferr, sizeof ferr) != 0) {
        log_msg(LOG_ERROR, "startup", "bootstrap.trust_roots_path: %s", ferr);
        return 2;
    }
    pipeline_opts po = {.st = rt->st,
                        .bus = rt->bus,
                        .queue_cap = rt->cfg.limits.queue,
                        .pending_bytes = rt->cfg.limits.pending_bytes,
                        .trust_roots = roots,
                        .trust_roots_len = roots_len,
                        .trust_roots_pin = rt->cfg.bootstrap.trust_roots_hash,
                        .verify_last_k = rt->cfg.storage.verify_last_k,
                        .background_verify = 1};
    svcr_err e;
    svcr_err_clear(&e);
    svcr_code c = pipeline_open(&po, &rt->pl, &e);
    file_free(roots, roots_len);
    if (c != SVCR_OK) {
        log_pipeline_error(rt, c, &e);
        return c == SVCR_E_MALFORMED ? 2 : 1;
    }
    return 0;
}

/* SVCR_FAULT_INJECT=KIND[:COUNT] (write|sync|enospc|read|oom; COUNT default 1, -1 = until
 * restart; oom:COUNT@SKIP lets SKIP allocations succeed first) arms a fault once the registry
 * is open, so black-box tests can make the next write transactions (or reads, or allocations
 * through the interop/alloc hook) fail. It can only make things fail, never succeed (see
 * docs/DECISIONS.md D11, D55). Also routes jansson's allocations through that hook, fault or
 * not: no request is served yet and the committer is idle, so no thread is inside jansson
 * while its allocator changes. */
static void arm_fault_injection(registry_runtime *rt)
{
    svcr_alloc_install();
    const char *spec = getenv("SVCR_FAULT_INJECT");
    if (!spec || !*spec)
        return;
    int count, skip;
    if (svcr_alloc_fault_parse(spec, &count, &skip) == 0) {
        /* logged before arming, so the line itself does not use the fault up */
        log_msg(LOG_WARN, "fault_injection", "armed %s for %d allocation(s) after %d", spec, count,
                skip);
        svcr_alloc_fail_arm_after(skip, count);
        return;
    }
    store_fault f;
    if (store_fault_parse(spec, &f, &count) != 0 || f == STORE_FAULT_NONE) {
        log_msg(LOG_WARN, "fault_injection", "SVCR_FAULT_INJECT=%.64s not understood; ignored",
                spec);
        return;
    }
    /* armed after startup, so the store's own startup reads do not use a read fault up */
    rt->st->ops->fault_arm(rt->st, f, count);
    log_msg(LOG_WARN, "fault_injection", "armed %s for %d %s", spec, count,
            f == STORE_FAULT_READ ? "read call(s)" : "write transaction(s)");
}

static void reload(registry_runtime *rt, int argc, char **argv, char **envp)
{
    svcr_config next;
    char reason[64] = "", err[512] = "";
    if (cfg_reload(argc, argv, envp, &rt->cfg, &next, reason, sizeof reason, err, sizeof err) !=
        0) {
        metrics_reload(rt->m, 0, reason);
        log_msg(LOG_WARN, "config.reload", "rejected (%s): %s", reason, err);
        return;
    }
    if (cfg_check_available(&next, err, sizeof err) != 0) { /* the startup rule, on SIGHUP too */
        metrics_reload(rt->m, 0, "invalid");
        log_msg(LOG_WARN, "config.reload", "rejected (invalid): %s", err);
        return;
    }
    rt->cfg = next;
    http_limits l = limits_of(&rt->cfg);
    http_set_limits(rt->http, &l);
    log_configure(rt->cfg.log.format == CFG_LOG_JSON, to_log_level(rt->cfg.log.level));
    metrics_reload(rt->m, 1, NULL);
    log_msg(LOG_INFO, "config.reload", "applied");
}

/* Stops accepting, drains in-flight requests until the deadline, then stops everything. */
static void shutdown_all(registry_runtime *rt)
{
    log_msg(LOG_INFO, "shutdown", "draining (deadline %lld ms)",
            (long long)rt->cfg.shutdown.drain_deadline);
    if (rt->http) {
        http_begin_shutdown(rt->http);
        int64_t t0 = clock_mono_ms();
        for (;;) {
            long long ms = (long long)(clock_mono_ms() - t0);
            /* done when nothing is in flight and either no connection is open or the grace
             * for requests sent before the signal has passed (idle keep-alives don't hold us) */
            if (http_inflight(rt->http) <= 0 &&
                (http_open_connections(rt->http) <= 0 || ms >= HTTP_SHUTDOWN_GRACE_MS))
                break;
            if (ms >= rt->cfg.shutdown.drain_deadline) {
                log_msg(LOG_WARN, "shutdown", "%ld requests still in flight at the deadline",
                        http_inflight(rt->http));
                break;
            }
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
        http_stop(rt->http);
    }
    pipeline_close(rt->pl); /* the committer finishes what is queued */
    if (rt->st)
        rt->st->ops->close(rt->st);
    bus_free(rt->bus);
    auth_keys_free(rt->keys);
    metrics_free(rt->m);
    log_msg(LOG_INFO, "shutdown", "stopped cleanly");
}

/* Starts the listeners (the API, and the metrics one unless metrics_addr's port is 0) and logs
 * where the registry serves. 0, or -1 after logging why (the caller shuts down). */
static int start_http(registry_runtime *rt)
{
    char err[512];
    http_opts ho = {.listeners = {{HTTP_ROLE_API, HTTP_TCP, rt->cfg.bind_addr},
                                  {HTTP_ROLE_METRICS, HTTP_TCP, rt->cfg.metrics_addr}},
                    .nlisteners = 2,
                    .max_conns = rt->cfg.max_conns,
                    .per_ip_conns = rt->cfg.max_conns_per_ip,
                    .limits = limits_of(&rt->cfg),
                    .pl = rt->pl,
                    .m = rt->m,
                    .bus = rt->bus,
                    .keys = rt->keys,
                    .build_version = SVCR_VERSION,
                    .build_commit = SVCR_COMMIT,
                    .build_time = SVCR_BUILD_TIME};
    if (http_start(&ho, &rt->http, err, sizeof err) != 0) {
        log_msg(LOG_ERROR, "startup", "bind_addr: %s", err);
        return -1;
    }
    pipeline_status ps;
    pipeline_get_status(rt->pl, &ps);
    head_snap *h = pipeline_head(rt->pl);
    log_msg(LOG_INFO, "listening", "svc-registry %s on %.*s:%u, storage %s, HEAD version %llu, %s",
            SVCR_VERSION, (int)(strrchr(rt->cfg.bind_addr, ':') - rt->cfg.bind_addr),
            rt->cfg.bind_addr, http_port(rt->http),
            rt->cfg.storage.kind == CFG_STORAGE_MEMORY ? "memory (amnesia)"
                                                       : rt->cfg.storage.data_dir,
            (unsigned long long)h->version,
            ps.write_ready ? "write-ready" : "read-only until the missing items are fixed");
    head_snap_release(h);
    return 0;
}

int main(int argc, char **argv, char **envp)
{
    registry_runtime rt;
    memset(&rt, 0, sizeof rt);
    cfg_action act;
    char err[1024];
    if (cfg_load(argc, argv, envp, &rt.cfg, &act, err, sizeof err) != 0) {
        fprintf(stderr, "svc-registry: %s\n", err);
        return 2;
    }
    if (act == CFG_VERSION) {
        printf("svc-registry %s (commit %s, built %s)\n", SVCR_VERSION, SVCR_COMMIT,
               SVCR_BUILD_TIME);
        return 0;
    }
    if (act == CFG_HELP) {
        cfg_usage(stdout);
        return 0;
    }
    if (act == CFG_PRINT) {
        cfg_print(&rt.cfg, stdout);
        return 0;
    }
    log_configure(rt.cfg.log.format == CFG_LOG_JSON, to_log_level(rt.cfg.log.level));
    char unavailable[512];
    if (cfg_check_available(&rt.cfg, unavailable, sizeof unavailable) != 0) {
        fprintf(stderr, "svc-registry: %s\n", unavailable);
        return 2;
    }
    if (crypto_init() != 0) {
        log_msg(LOG_ERROR, "startup", "libsodium failed to initialize");
        return 1;
    }
    /* Signals are taken synchronously by this thread: block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 0;
    if (rt.cfg.auth.root_keys_path[0] &&
        auth_keys_load(rt.cfg.auth.root_keys_path, &rt.keys, err, sizeof err) != 0) {
        log_msg(LOG_ERROR, "startup", "auth.root_keys_path: %s", err);
        return 2;
    }
    if (!rt.keys)
        log_msg(LOG_WARN, "startup", "no auth.root_keys_path: every write will be refused (401)");
    rt.bus = bus_new(rt.cfg.bus.channel_bound);
    rt.m = metrics_new(route_labels, RT_COUNT);
    if (!rt.bus || !rt.m)
        return 1;
    if ((rc = open_store(&rt)) != 0 || (rc = open_pipeline(&rt)) != 0) {
        if (rt.st)
            rt.st->ops->close(rt.st);
        bus_free(rt.bus);
        metrics_free(rt.m);
        auth_keys_free(rt.keys);
        return rc;
    }
    arm_fault_injection(&rt);
    if (start_http(&rt) != 0) {
        shutdown_all(&rt);
        return 1;
    }
    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(&rt, argc, argv, envp);
            continue;
        }
        break;
    }
    shutdown_all(&rt);
    return 0;
}
