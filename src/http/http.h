/* http.h - the HTTP server (libmicrohttpd): SPEC §5 routes, error envelope, limits,
 * capabilities, SSE, metrics. Handlers go through the pipeline, never to storage. */
#ifndef SVCR_HTTP_HTTP_H
#define SVCR_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "auth/macaroon.h"
#include "bus/bus.h"
#include "observability/metrics.h"
#include "pipeline/pipeline.h"

/* The limits a SIGHUP reload may change while running. */
typedef struct http_limits {
    uint64_t max_body_bytes;
    uint32_t inflight;
    int64_t write_timeout_ms; /* deadline of a write through the pipeline */
    int64_t sse_heartbeat_ms;
    uint32_t rps;               /* write routes, per instance; 0 = unlimited */
    uint32_t read_rps;          /* read routes; 0 = unlimited */
    uint32_t list_rps;          /* reads whose cost grows with the data; 0 = unlimited */
    uint32_t sse_client_buffer; /* events a stream may lag before it must reconcile */
    int64_t read_timeout_ms;    /* a request's headers and body must arrive within this */
    int64_t idle_timeout_ms;    /* an idle keep-alive connection is closed after this */
    uint32_t sse_max_clients;   /* open streams at most (the rest answer 503) */
    uint32_t sse_max_per_ip;    /* open streams per client address; 0: no bound */
} http_limits;

/* What a listener serves. */
typedef enum http_role {
    HTTP_ROLE_API,     /* every route of SPEC §5 */
    HTTP_ROLE_METRICS, /* /metrics only (a separate scrape port) */
} http_role;

/* How a listener is reached. TLS and Unix sockets will be new values (D24 refuses them today). */
typedef enum http_transport { HTTP_TCP } http_transport;

/* One listening socket. */
typedef struct http_listener {
    http_role role;
    http_transport transport;
    const char *addr; /* HTTP_TCP: host:port; API port 0: any free port; METRICS port 0: the
                       * row is skipped (no separate metrics listener) */
} http_listener;

enum { HTTP_MAX_LISTENERS = 4 };

typedef struct http_opts {
    /* the listeners, started in order; exactly one HTTP_ROLE_API row (its port: http_port) */
    http_listener listeners[HTTP_MAX_LISTENERS];
    size_t nlisteners;
    unsigned max_conns;
    unsigned per_ip_conns; /* connections one client address may hold; 0: no bound */
    unsigned threads;      /* epoll worker threads (0: number of cores) */
    http_limits limits;
    pipeline *pl;
    metrics *m;
    bus *bus;
    const auth_keys *keys; /* NULL: no root keys, every write is 401 */
    const char *build_version, *build_commit, *build_time;
} http_opts;

typedef struct http_server http_server;

/* Binds every listener of o and starts serving (o is copied; its strings and pointers are
 * borrowed and must outlive the server). 0 with *out set, or -1 with err (e.g. an address is
 * in use, no API listener) and nothing left running. */
int http_start(const http_opts *o, http_server **out, char *err, size_t errcap);
/* The port the API listener actually bound (useful with port 0). Can't fail. */
unsigned http_port(const http_server *s);
/* Replaces the reloadable limits (thread-safe). A request already begun keeps the limits it
 * started with; new requests and connections see these. */
void http_set_limits(http_server *s, const http_limits *l);
/* Starts shutting down: /readyz answers 503, new connections are refused, SSE streams end. */
void http_begin_shutdown(http_server *s);
/* Requests currently being served (SSE streams excluded). */
long http_inflight(const http_server *s);
/* Connections open now, idle keep-alive ones included. */
long http_open_connections(const http_server *s);
/* How long after http_begin_shutdown connections are still accepted, so requests already in
 * the kernel's backlog or whose headers were arriving get their answer (ms). */
#define HTTP_SHUTDOWN_GRACE_MS 500
/* Stops the daemons and frees. */
void http_stop(http_server *s);

#endif
