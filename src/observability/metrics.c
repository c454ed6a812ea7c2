/* metrics.c - lock-free counters and Prometheus text exposition (see metrics.h). */
#include "observability/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Status codes we count individually; anything else lands in the last slot as its class. */
static const int statuses[] = {200, 201, 202, 304, 400, 401, 403, 404, 405, 409,
                               410, 413, 415, 422, 429, 500, 501, 503, 504};
#define NSTATUS (sizeof statuses / sizeof statuses[0])
static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])
static const char *const method_names[MM_COUNT] = {"GET", "HEAD", "POST", "OTHER"};
static const char *const reject_reasons[] = {
    "busy",           "body_cap",       "ratio_cap",          "media_type",
    "unauth",         "forbidden",      "malformed",          "invalid_sig",
    "unknown_signer", "revoked_key",    "duplicate_approval", "quorum_failed",
    "expired",        "chain_mismatch", "not_ready",          "timeout"};
#define NREASONS (sizeof reject_reasons / sizeof reject_reasons[0])
static const char *const reload_reasons[] = {"parse", "invalid", "disruptive_key", "other"};
#define NRELOAD (sizeof reload_reasons / sizeof reload_reasons[0])

typedef struct latency {
    atomic_ulong bucket[NBUCKETS]; /* non-cumulative; summed at render */
    atomic_ulong count;
    atomic_ulong sum_us;
} latency;

struct metrics {
    const char *const *routes;
    size_t nroutes;
    atomic_ulong requests[METRICS_MAX_ROUTES][MM_COUNT][NSTATUS + 1];
    latency lat[METRICS_MAX_ROUTES][MM_COUNT];
    atomic_ulong rejected[NREASONS];
    atomic_long inflight;
    atomic_long sse_clients;
    atomic_ulong bus_lagged;
    atomic_ulong sse_stalled;
    atomic_ulong reload_ok;
    atomic_ulong reload_fail[NRELOAD];
    atomic_ulong verify_ok, verify_fail;
};

metrics *metrics_new(const char *const *route_labels, size_t nroutes)
{
    if (nroutes > METRICS_MAX_ROUTES)
        return NULL;
    metrics *m = calloc(1, sizeof *m); /* zeroed atomics are valid zero counters */
    if (!m)
        return NULL;
    m->routes = route_labels;
    m->nroutes = nroutes;
    return m;
}

void metrics_free(metrics *m)
{
    free(m);
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i < NSTATUS; i++)
        if (statuses[i] == status)
            return i;
    return NSTATUS;
}

void metrics_request(metrics *m, size_t route, metrics_method method, int status, double latency_s)
{
    if (!m || route >= m->nroutes || (unsigned)method >= MM_COUNT)
        return;
    atomic_fetch_add_explicit(&m->requests[route][method][status_slot(status)], 1,
                              memory_order_relaxed);
    latency *l = &m->lat[route][method];
    size_t b = 0;
    while (b < NBUCKETS && latency_s > buckets[b])
        b++;
    if (b < NBUCKETS)
        atomic_fetch_add_explicit(&l->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->sum_us, (unsigned long)(latency_s * 1e6), memory_order_relaxed);
}

void metrics_reject_reason(metrics *m, const char *reason)
{
    if (!m || !reason)
        return;
    for (size_t i = 0; i < NREASONS; i++)
        if (strcmp(reject_reasons[i], reason) == 0)
            atomic_fetch_add_explicit(&m->rejected[i], 1, memory_order_relaxed);
}

void metrics_reject(metrics *m, svcr_code code)
{
    metrics_reject_reason(m, svcr_code_reject_reason(code));
}

void metrics_inflight_add(metrics *m, int delta)
{
    if (m)
        atomic_fetch_add_explicit(&m->inflight, delta, memory_order_relaxed);
}

long metrics_inflight(metrics *m)
{
    return m ? atomic_load_explicit(&m->inflight, memory_order_relaxed) : 0;
}

void metrics_sse_clients_add(metrics *m, int delta)
{
    if (m)
        atomic_fetch_add_explicit(&m->sse_clients, delta, memory_order_relaxed);
}

void metrics_bus_lagged(metrics *m)
{
    if (m)
        atomic_fetch_add_explicit(&m->bus_lagged, 1, memory_order_relaxed);
}

void metrics_sse_stalled(metrics *m)
{
    if (m)
        atomic_fetch_add_explicit(&m->sse_stalled, 1, memory_order_relaxed);
}

void metrics_reload(metrics *m, int ok, const char *reason)
{
    if (!m)
        return;
    if (ok) {
        atomic_fetch_add(&m->reload_ok, 1);
        return;
    }
    size_t i = 0;
    while (i < NRELOAD - 1 && (!reason || strcmp(reason, reload_reasons[i]) != 0))
        i++;
    atomic_fetch_add(&m->reload_fail[i], 1);
}

void metrics_approval_verify(metrics *m, int ok)
{
    if (m)
        atomic_fetch_add_explicit(ok ? &m->verify_ok : &m->verify_fail, 1, memory_order_relaxed);
}

void metrics_put_help(buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_put_u64(buf *out, const char *name, const char *labels, uint64_t v)
{
    if (labels && *labels)
        buf_printf(out, "%s{%s} %llu\n", name, labels, (unsigned long long)v);
    else
        buf_printf(out, "%s %llu\n", name, (unsigned long long)v);
}

void metrics_put_f64(buf *out, const char *name, const char *labels, double v)
{
    if (labels && *labels)
        buf_printf(out, "%s{%s} %.6f\n", name, labels, v);
    else
        buf_printf(out, "%s %.6f\n", name, v);
}

void metrics_render(metrics *m, buf *out)
{
    char labels[256];
    metrics_put_help(out, "http_requests_total", "counter",
                     "HTTP requests by route, method, status");
    for (size_t r = 0; r < m->nroutes; r++)
        for (int me = 0; me < MM_COUNT; me++)
            for (size_t s = 0; s <= NSTATUS; s++) {
                unsigned long v =
                    atomic_load_explicit(&m->requests[r][me][s], memory_order_relaxed);
                if (!v)
                    continue;
                snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",status=\"%s%d\"",
                         m->routes[r], method_names[me], s < NSTATUS ? "" : "other",
                         s < NSTATUS ? statuses[s] : 0);
                if (s == NSTATUS)
                    snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",status=\"other\"",
                             m->routes[r], method_names[me]);
                metrics_put_u64(out, "http_requests_total", labels, v);
            }
    metrics_put_help(out, "request_latency_seconds", "histogram", "request latency by route");
    for (size_t r = 0; r < m->nroutes; r++)
        for (int me = 0; me < MM_COUNT; me++) {
            latency *l = &m->lat[r][me];
            unsigned long count = atomic_load(&l->count);
            if (!count)
                continue;
            unsigned long cum = 0;
            for (size_t b = 0; b < NBUCKETS; b++) {
                cum += atomic_load(&l->bucket[b]);
                snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",le=\"%g\"",
                         m->routes[r], method_names[me], buckets[b]);
                metrics_put_u64(out, "request_latency_seconds_bucket", labels, cum);
            }
            snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",le=\"+Inf\"", m->routes[r],
                     method_names[me]);
            metrics_put_u64(out, "request_latency_seconds_bucket", labels, count);
            snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\"", m->routes[r],
                     method_names[me]);
            metrics_put_f64(out, "request_latency_seconds_sum", labels,
                            (double)atomic_load(&l->sum_us) / 1e6);
            metrics_put_u64(out, "request_latency_seconds_count", labels, count);
        }
    metrics_put_help(out, "inflight_requests", "gauge", "requests being served");
    metrics_put_u64(out, "inflight_requests", NULL,
                    (uint64_t)(metrics_inflight(m) > 0 ? metrics_inflight(m) : 0));
    metrics_put_help(out, "rejected_total", "counter", "rejected requests by reason");
    for (size_t i = 0; i < NREASONS; i++) {
        snprintf(labels, sizeof labels, "reason=\"%s\"", reject_reasons[i]);
        metrics_put_u64(out, "rejected_total", labels, atomic_load(&m->rejected[i]));
    }
    metrics_put_help(out, "sse_clients", "gauge", "open SSE streams");
    long sse = atomic_load(&m->sse_clients);
    metrics_put_u64(out, "sse_clients", NULL, (uint64_t)(sse > 0 ? sse : 0));
    metrics_put_help(out, "bus_lagged_total", "counter", "subscribers told to reconcile");
    metrics_put_u64(out, "bus_lagged_total", NULL, atomic_load(&m->bus_lagged));
    metrics_put_help(out, "sse_stalled_closed_total", "counter",
                     "streams closed because the subscriber stopped reading for idle_timeout");
    metrics_put_u64(out, "sse_stalled_closed_total", NULL, atomic_load(&m->sse_stalled));
    metrics_put_help(out, "registry_reload_success_total", "counter", "accepted SIGHUP reloads");
    metrics_put_u64(out, "registry_reload_success_total", NULL, atomic_load(&m->reload_ok));
    metrics_put_help(out, "registry_reload_fail_total", "counter", "rejected reloads by reason");
    for (size_t i = 0; i < NRELOAD; i++) {
        snprintf(labels, sizeof labels, "reason=\"%s\"", reload_reasons[i]);
        metrics_put_u64(out, "registry_reload_fail_total", labels, atomic_load(&m->reload_fail[i]));
    }
    metrics_put_help(out, "approval_verify_total", "counter", "approval signature checks");
    metrics_put_u64(out, "approval_verify_total", "algo=\"ed25519\",result=\"ok\"",
                    atomic_load(&m->verify_ok));
    metrics_put_u64(out, "approval_verify_total", "algo=\"ed25519\",result=\"fail\"",
                    atomic_load(&m->verify_fail));
}
