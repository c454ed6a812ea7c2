/* internal.h - what the HTTP layer's own files share (private to src/http/). */
#ifndef SVCR_HTTP_INTERNAL_H
#define SVCR_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <microhttpd.h>

#include "http/handlers.h"
#include "http/http.h"
#include "http/routes.h"
#include "http/body_cache.h"
#include "http/conn_guard.h"
#include "http/rate.h"
#include "http/sse.h"
#include "interop/buf.h"

#define JSON_CT "application/json; charset=utf-8"
/* A request body at least this large is followed by malloc_trim (see completed() in server.c). */
#define HTTP_TRIM_AFTER_BYTES (256u << 10)

/* A response being built by a handler. */
typedef struct resp {
    int status;
    buf body;
    const char *content_type; /* default JSON_CT */
    const char *cache_control;
    const char *allow;
    char etag[80];
    int retry_after;          /* seconds; 0 = no header */
    int close;                /* send Connection: close and end the connection after this answer */
    svcr_code code;           /* the error code when status is an error (for logs) */
    struct MHD_Response *raw; /* a ready-made response (SSE), owned until queued */
    /* zero-copy body: bytes owned by someone else, released by zc_free(zc_cls) once sent */
    const char *zc_data;
    size_t zc_len;
    void (*zc_free)(void *);
    void *zc_cls;
} resp;

/* Per-request state, from the first access-handler call to the completion callback. */
typedef struct req {
    route_id route;
    unsigned method; /* M_GET / M_HEAD / M_POST, 0 = other */
    char param[80];
    char corr_id[48];
    double t0;       /* clock_mono_s() at the first call */
    http_limits lim; /* the limits as they were at the first call: one request, one config */
    buf body;
    int too_large;
    int body_oom; /* a body chunk could not be stored: answered 503, not 413 */
    int queued;
    int counted_inflight;
    int is_sse;
    int status;
    svcr_code code;
    svcr_code early; /* an error decided before the body arrived (answered at the end) */
    svcr_err early_err;
    int answer_now; /* early is answered on the first call and the connection closed */
    int authenticated;
    auth_grant grant;
    char proposal_id[80];
    uint64_t version;
    conn_rec *conn; /* the connection's deadline record (borrowed; may be NULL) */
} req;

struct http_server {
    struct MHD_Daemon *daemons[HTTP_MAX_LISTENERS]; /* per o.listeners row; NULL: not started */
    http_opts o;
    pthread_mutex_t limits_mu;
    http_limits limits;
    atomic_long inflight;
    atomic_long open_conns; /* connections open now (requests or idle keep-alive) */
    atomic_int shutting_down;
    atomic_llong shutdown_started_ms; /* monotonic ms of http_begin_shutdown, 0 before */
    sse_hub *sse;
    body_cache *bodies;                /* committed versions' bodies, shared zero-copy */
    rate_bucket write_rate, read_rate; /* limits.rps, limits.read_rps */
    rate_bucket list_rate;             /* limits.list_rps: reads that are not O(1) */
    conn_guard *guard;                 /* read_timeout, idle_timeout, shedding */
    unsigned port;
};

/* server.c */
/* A copy of the current limits (takes limits_mu: once per request or connection, never per
 * body chunk). */
http_limits http_get_limits(http_server *s);

/* request.c: libmicrohttpd's callbacks; cls is the server.
 * The API listener's access handler: every route of the table. MHD_NO only when the request's
 * state cannot be allocated (libmicrohttpd then closes the connection); every refusal is an
 * answer. */
enum MHD_Result http_access_api(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls);
/* The metrics listener's access handler: /metrics (GET, HEAD) only, 404 or 405 otherwise. */
enum MHD_Result http_access_metrics(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls);
/* A request ends (answered, or its connection gone): logs its line, counts it in the metrics,
 * frees its state. Sets *con_cls to NULL; a NULL *con_cls is ignored. */
void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe);

/* responses.c */
void resp_json(resp *r, int status, buf *body);
void resp_text(resp *r, int status, const char *ctype, buf *body);
void resp_error(resp *r, const char *corr_id, const svcr_err *e);
void resp_error_code(resp *r, const char *corr_id, svcr_code code, const char *reason,
                     const char *message);
void resp_free(resp *r);
/* Sets a zero-copy body (see resp.zc_*); the response takes the caller's reference. */
void resp_zero_copy(resp *r, int status, const char *data, size_t len, void (*release)(void *),
                    void *cls);
/* Turns r into an MHD response with the common headers and queues it. */
enum MHD_Result resp_queue(http_server *s, struct MHD_Connection *c, req *q, resp *r);

/* writes.c */
/* Answers a POST on a route with a write handler: the common checks (body cap, encoding, media
 * type; a refusal is audited), then the row's handler through the pipeline. */
void http_write(http_server *s, struct MHD_Connection *c, req *q, resp *r);

#endif
