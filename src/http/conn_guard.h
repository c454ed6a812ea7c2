/* conn_guard.h - connection deadlines for the HTTP listener: a request's headers and body must
 * arrive within read_timeout, an idle keep-alive connection lives idle_timeout, and when
 * connection slots run short the connections that hold a slot without a request being served
 * are shed first. A connection is ended with shutdown(2) on its socket, so libmicrohttpd sees the
 * peer gone and frees the slot on its own thread (SPEC §20; docs/DECISIONS.md D32, D33). */
#ifndef SVCR_HTTP_CONN_GUARD_H
#define SVCR_HTTP_CONN_GUARD_H

#include <stdint.h>

#include "observability/metrics.h"

/* Where a connection is in its life. Only FRESH, READING and IDLE have a deadline. */
typedef enum conn_phase {
    CONN_FRESH,   /* accepted, no request line yet: read_timeout from accept */
    CONN_READING, /* a request has begun: headers and body due within read_timeout */
    CONN_BUSY,    /* the request is in: being served or its answer being written */
    CONN_IDLE,    /* keep-alive between requests: idle_timeout */
    CONN_STREAM   /* an SSE stream: the hub and libmicrohttpd's timeout own it */
} conn_phase;

/* How long a connection without a request being served may hold a slot when the listener is
 * near max_conns (ms): a real client sends its request right behind its handshake. */
#define CONN_SHED_AFTER_MS 50

typedef struct conn_rec conn_rec;
typedef struct conn_guard conn_guard;

/* A guard for a listener with max_conns slots, counting dropped requests in m (borrowed) as
 * rejected_total{reason="timeout"}. Starts its reaper thread ("svcr-conns"). NULL on failure. */
conn_guard *conn_guard_new(metrics *m, unsigned max_conns, int64_t read_timeout_ms,
                           int64_t idle_timeout_ms);
/* Changes the two timeouts for every connection from the next check on (SIGHUP). */
void conn_guard_set_timeouts(conn_guard *g, int64_t read_timeout_ms, int64_t idle_timeout_ms);
/* Tracks a newly accepted connection on socket fd (phase FRESH). Returns the record to keep in
 * the connection's socket context, or NULL on OOM (the connection then has no deadline). */
conn_rec *conn_guard_open(conn_guard *g, int fd);
/* Forgets r. Must be called before the socket is closed (libmicrohttpd's CLOSED notification
 * is), so the reaper never shuts down a descriptor that was reused. r may be NULL. */
void conn_guard_close(conn_guard *g, conn_rec *r);
/* Moves r to phase p; the phase's clock starts now, except FRESH → READING, which keeps the
 * time of accept (one read_timeout covers request line, headers and body). r may be NULL. */
void conn_guard_phase(conn_guard *g, conn_rec *r, conn_phase p);
/* Connections tracked now. */
unsigned conn_guard_count(conn_guard *g);
/* Stops the reaper and frees; every connection must be closed already (the daemon stopped). */
void conn_guard_free(conn_guard *g);

#endif
