/* metrics.h - the request-path metrics of SPEC §12 as lock-free counters, and the Prometheus
 * text (0.0.4) exposition. Registry-state gauges are supplied at scrape time by a callback. */
#ifndef SVCR_OBSERVABILITY_METRICS_H
#define SVCR_OBSERVABILITY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "interop/buf.h"
#include "interop/error.h"

enum { METRICS_MAX_ROUTES = 24 };

typedef enum metrics_method { MM_GET, MM_HEAD, MM_POST, MM_OTHER, MM_COUNT } metrics_method;

typedef struct metrics metrics;

/* Creates the registry with the normalized route labels (borrowed, must outlive it). */
metrics *metrics_new(const char *const *route_labels, size_t nroutes);
void metrics_free(metrics *m);

/* One finished request: http_requests_total and request_latency_seconds. Lock-free. */
void metrics_request(metrics *m, size_t route, metrics_method method, int status, double latency_s);
/* rejected_total{reason} for a rejection code (no-op for codes that are not rejections). */
void metrics_reject(metrics *m, svcr_code code);
/* rejected_total for a reason word that has no code of its own (ratio_cap). */
void metrics_reject_reason(metrics *m, const char *reason);
/* inflight_requests gauge. */
void metrics_inflight_add(metrics *m, int delta);
long metrics_inflight(metrics *m);
/* sse_clients gauge and bus_lagged_total counter (SSE layer). */
void metrics_sse_clients_add(metrics *m, int delta);
void metrics_bus_lagged(metrics *m);
/* A stream closed because its subscriber stopped reading for idle_timeout. */
void metrics_sse_stalled(metrics *m);
/* registry_reload_success_total / registry_reload_fail_total{reason}. */
void metrics_reload(metrics *m, int ok, const char *reason);
/* approval_verify_total{algo,result}. */
void metrics_approval_verify(metrics *m, int ok);

/* Appends the whole exposition for the counters above. Callers append their gauges after. */
void metrics_render(metrics *m, buf *out);
/* Helpers for callers rendering extra series: one sample line. */
void metrics_put_help(buf *out, const char *name, const char *type, const char *help);
void metrics_put_u64(buf *out, const char *name, const char *labels, uint64_t v);
void metrics_put_f64(buf *out, const char *name, const char *labels, double v);

#endif
