/* sse.h - GET /registry/stream (SPEC §6): replay from Last-Event-ID / ?from=, then live bus
 * events, reconcile on lag, heartbeats; idle streams are suspended and cost no thread. */
#ifndef SVCR_HTTP_SSE_H
#define SVCR_HTTP_SSE_H

#include <stdint.h>

#include <microhttpd.h>

#include "bus/bus.h"
#include "observability/metrics.h"
#include "pipeline/pipeline.h"

typedef struct sse_hub sse_hub;

/* A hub over the bus (installs the bus notify hook) with a heartbeat thread. NULL on OOM. */
sse_hub *sse_hub_new(pipeline *pl, bus *b, metrics *m, int64_t heartbeat_ms);
void sse_hub_set_heartbeat(sse_hub *h, int64_t heartbeat_ms);
/* sse.client_buffer: events a stream may fall behind before it is told to reconcile (0: only
 * the bus ring bounds it). */
void sse_hub_set_client_buffer(sse_hub *h, uint32_t events);
/* Ends every stream (they finish at their next wake-up) and resumes suspended ones, so the
 * daemon can stop. */
void sse_hub_close(sse_hub *h);
/* Frees the hub after the daemon stopped (every stream is gone). */
void sse_hub_free(sse_hub *h);
/* Bounds on open streams: at most max_clients, at most per_ip from one client address (0: no
 * bound). Thread-safe; applies to streams opened from now on. */
void sse_hub_set_caps(sse_hub *h, uint32_t max_clients, uint32_t per_ip);

/* Why sse_open gave no stream. */
typedef enum sse_refusal {
    SSE_OK,
    SSE_REFUSE_OOM,
    SSE_REFUSE_FULL,    /* sse.max_clients streams are open */
    SSE_REFUSE_ADDRESS, /* this address holds sse.max_clients_per_ip streams */
    SSE_REFUSE_CLOSING  /* the server is shutting down */
} sse_refusal;

/* A streaming response for a new client on `conn`. has_from: resume after version `from`.
 * NULL, with *why saying which bound refused it (or OOM). */
struct MHD_Response *sse_open(sse_hub *h, struct MHD_Connection *conn, int has_from, uint64_t from,
                              sse_refusal *why);

#endif
