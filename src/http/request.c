/* request.c - one request's life cycle on libmicrohttpd: the first call (framing, route,
 * method, inflight, rate, capability, size; limits snapshotted), the body, dispatch through the
 * route table, and completion (logs and metrics). */
#include <assert.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/b3.h"
#include "governance/proposal.h"
#include "http/internal.h"
#include "interop/ulid.h"
#include "observability/clock.h"
#include "observability/log.h"

static unsigned method_of(const char *m)
{
    if (strcmp(m, "GET") == 0)
        return M_GET;
    if (strcmp(m, "HEAD") == 0)
        return M_HEAD;
    if (strcmp(m, "POST") == 0)
        return M_POST;
    return 0;
}

static metrics_method metric_method(unsigned m)
{
    return m == M_GET ? MM_GET : m == M_HEAD ? MM_HEAD : m == M_POST ? MM_POST : MM_OTHER;
}

/* Echo the request's X-Corr-ID if it is a ULID or UUID, else a fresh ULID. */
static void corr_id_for(struct MHD_Connection *c, char out[48])
{
    const char *in = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Corr-ID");
    if (in && (ulid_valid(in, strlen(in)) || uuid_valid(in, strlen(in))) && strlen(in) < 48) {
        strcpy(out, in);
        return;
    }
    ulid_new(out);
}

/* The per-request state of a first access-handler call. NULL on OOM. */
static req *req_begin(struct MHD_Connection *c, const char *url, const char *method)
{
    req *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->t0 = clock_mono_s();
    q->method = method_of(method);
    q->route = route_match(url, q->param, sizeof q->param);
    corr_id_for(c, q->corr_id);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    q->conn = ci ? ci->socket_context : NULL;
    return q;
}

static void req_free(req *q)
{
    buf_free(&q->body);
    free(q);
}

/* What the request's headers say about its framing (RFC 9112 §6). */
typedef struct framing {
    unsigned content_length; /* Content-Length fields */
    unsigned transfer_encoding;
    unsigned host;
    int te_chunked;  /* the (last) Transfer-Encoding is exactly "chunked" */
    uint64_t length; /* the Content-Length value */
} framing;

static enum MHD_Result framing_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    framing *f = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->content_length++;
        f->length = value ? strtoull(value, NULL, 10) : 0;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding++;
        f->te_chunked = value && strcasecmp(value, "chunked") == 0;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
        f->host++;
    }
    return MHD_YES;
}

/* Refuses a request whose framing is ambiguous, so no second request can hide in a body
 * (request smuggling): Content-Length with Transfer-Encoding, Content-Length twice, a transfer
 * coding other than chunked (501), and HTTP/1.1 without exactly one Host. SVCR_OK, or the
 * error with `f` filled. */
static svcr_code framing_check(struct MHD_Connection *c, const char *version, framing *f,
                               svcr_err *err)
{
    memset(f, 0, sizeof *f);
    MHD_get_connection_values(c, MHD_HEADER_KIND, framing_field, f);
    if (f->transfer_encoding && f->content_length)
        return svcr_err_set(err, SVCR_E_MALFORMED, NULL, "framing",
                            "Content-Length and Transfer-Encoding together");
    if (f->content_length > 1)
        return svcr_err_set(err, SVCR_E_MALFORMED, NULL, "framing", "more than one Content-Length");
    if (f->transfer_encoding > 1 || (f->transfer_encoding && !f->te_chunked))
        return svcr_err_set(err, SVCR_E_NOT_IMPLEMENTED, NULL, "transfer_encoding",
                            "only Transfer-Encoding: chunked is understood");
    if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 && f->host != 1)
        return svcr_err_set(err, SVCR_E_MALFORMED, NULL, "host",
                            "an HTTP/1.1 request needs exactly one Host header");
    return SVCR_OK;
}

/* The rate buckets of a request that passed the method check: none for probes, the write or
 * read bucket, and for anonymous reads whose cost grows with the data their own, tighter
 * bucket, so they cannot starve the O(1) reads (head, versions). 1, or 0 with e set. */
static int rate_allows(http_server *s, const req *q, const route_def *rt, svcr_err *e)
{
    if (rt->flags & RF_PROBE)
        return 1; /* probes and scrapes: an operator must always see the state */
    int post = q->method == M_POST;
    if (!rate_take(post ? &s->write_rate : &s->read_rate, clock_mono_us())) {
        svcr_err_set(e, SVCR_E_BUSY, NULL, "rate", "request rate over limits.%s; retry shortly",
                     post ? "rps" : "read_rps");
        return 0;
    }
    if (!post && (rt->flags & RF_LIST) && !rate_take(&s->list_rate, clock_mono_us())) {
        svcr_err_set(e, SVCR_E_BUSY, NULL, "rate",
                     "request rate over limits.list_rps; retry shortly");
        return 0;
    }
    return 1;
}

/* The capability check of a write; sets q->authenticated, or e (a 403 is audited once the body
 * is in: input_b3). */
static void authorize(http_server *s, struct MHD_Connection *c, req *q, const route_def *rt,
                      svcr_err *e)
{
    const char *authz =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    svcr_err got;
    svcr_err_clear(&got);
    svcr_code code =
        s->o.keys ? auth_check(s->o.keys, authz, rt->write_scope, !!(rt->flags & RF_SIGNER_CAVEAT),
                               clock_wall_ms() / 1000, &q->grant, &got)
                  : svcr_err_set(&got, SVCR_E_UNAUTHORIZED, NULL, "no_root_keys",
                                 "this registry has no capability root keys");
    if (code == SVCR_OK)
        q->authenticated = 1;
    else
        *e = got;
}

/* Decides what can be decided before the body: framing, route, method, inflight, rate,
 * capability, size. Sets q->early (answered at the end, after the body) or, when waiting for
 * the body would only cost time or invite abuse, q->answer_now (answered at once; the
 * connection closes). q->lim must be set. */
static void first_call(http_server *s, struct MHD_Connection *c, req *q, const char *url,
                       const char *version)
{
    const route_def *rt = &route_table[q->route];
    framing f;
    if (framing_check(c, version, &f, &q->early_err) != SVCR_OK) {
        q->early = q->early_err.code;
        q->answer_now = 1;
        return;
    }
    int has_body = f.transfer_encoding || f.length > 0;
    if (q->route == RT_NOT_FOUND) {
        svcr_err_set(&q->early_err, SVCR_E_NOT_FOUND, NULL, "path", "no such path: %.100s", url);
    } else if (!(rt->methods & q->method)) {
        svcr_err_set(&q->early_err, SVCR_E_METHOD_NOT_ALLOWED, NULL, "method",
                     "method not allowed on %s", rt->label);
    } else if (atomic_load(&s->inflight) > (long)q->lim.inflight) {
        svcr_err_set(&q->early_err, SVCR_E_BUSY, NULL, "inflight",
                     "too many requests in flight; retry shortly");
    } else if (rate_allows(s, q, rt, &q->early_err) && q->method == M_POST) {
        authorize(s, c, q, rt, &q->early_err);
    }
    if (!q->early_err.code && f.length > q->lim.max_body_bytes)
        svcr_err_set(&q->early_err, SVCR_E_PAYLOAD_TOO_LARGE, NULL, "body_cap",
                     "Content-Length %llu is over limits.max_body_bytes (%llu)",
                     (unsigned long long)f.length, (unsigned long long)q->lim.max_body_bytes);
    q->early = q->early_err.code;
    /* A refused request that announces a body is answered from its headers and the connection
     * closed: no 100 Continue, no waiting for (or reading) a body that will be thrown away. A
     * 403 still reads its body, whose hash the audit record carries (bounded by the cap). */
    if (q->early && q->early != SVCR_E_FORBIDDEN && has_body)
        q->answer_now = 1;
}

/* The first call of a request: its state, its limits, and an answer now if one is due. */
static enum MHD_Result begin(http_server *s, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, void **con_cls)
{
    req *q = req_begin(c, url, method);
    if (!q)
        return MHD_NO;
    *con_cls = q;
    q->lim = http_get_limits(s); /* one request, one configuration, across a SIGHUP */
    atomic_fetch_add(&s->inflight, 1);
    metrics_inflight_add(s->o.m, 1);
    q->counted_inflight = 1;
    first_call(s, c, q, url, version);
    if (!q->answer_now)
        return MHD_YES; /* answer on a later call: keeps the connection alive */
    conn_guard_phase(s->guard, q->conn, CONN_BUSY);
    resp r = {0};
    resp_error(&r, q->corr_id, &q->early_err);
    r.close = 1;
    enum MHD_Result ok = resp_queue(s, c, q, &r);
    resp_free(&r);
    return ok;
}

/* A body chunk: kept up to the request's max_body_bytes (no lock: q->lim). A forbidden
 * request's body is still read: its hash goes into the audit record. */
static void take_chunk(req *q, const char *data, size_t len)
{
    if ((q->early && q->early != SVCR_E_FORBIDDEN) || q->too_large || q->body_oom)
        return;
    if (q->body.len + len > q->lim.max_body_bytes) {
        q->too_large = 1;
        buf_free(&q->body);
    } else if (buf_append(&q->body, data, len) != 0) {
        q->body_oom = 1; /* out of memory is ours, not the client's: 503, never 413 */
        buf_free(&q->body);
    }
}

/* Audits a 403 (authenticated but not allowed; anonymous traffic is not audited). */
static void audit_forbidden(http_server *s, const req *q)
{
    const route_def *rt = &route_table[q->route];
    char input_b3[B3_TAG_LEN + 1];
    b3_tag_of(q->body.data ? q->body.data : "", q->body.len, input_b3);
    write_ctx w = {.corr_id = q->corr_id, .input_b3 = input_b3};
    const char *pid = rt->flags & RF_PROPOSAL_PARAM ? q->param : NULL;
    pipeline_audit_rejection(s->o.pl, &w, rt->event,
                             pid && proposal_id_valid(pid, strlen(pid)) ? pid : NULL,
                             &q->early_err);
}

/* The answer of a request whose whole body is in: its early refusal, or its row's handler. */
static void dispatch(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    const route_def *rt = &route_table[q->route];
    if (q->early == SVCR_E_FORBIDDEN)
        audit_forbidden(s, q);
    if (q->early) {
        resp_error(r, q->corr_id, &q->early_err);
        if (q->early == SVCR_E_METHOD_NOT_ALLOWED)
            r->allow = route_allow(rt);
    } else if (q->method == M_POST) {
        http_write(s, c, q, r);
    } else {
        assert(rt->read); /* first_call checked rt->methods, which the table keeps in step */
        rt->read(s, c, q, r);
    }
}

enum MHD_Result http_access_api(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    http_server *s = cls;
    req *q = *con_cls;
    if (!q)
        return begin(s, c, url, method, version, con_cls);
    if (q->queued) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        take_chunk(q, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    conn_guard_phase(s->guard, q->conn, CONN_BUSY); /* the whole request is in */
    resp r = {0};
    dispatch(s, c, q, &r);
    if (q->is_sse)
        conn_guard_phase(s->guard, q->conn, CONN_STREAM);
    if (q->is_sse && q->counted_inflight) { /* a stream is not a request in flight */
        atomic_fetch_sub(&s->inflight, 1);
        metrics_inflight_add(s->o.m, -1);
        q->counted_inflight = 0;
    }
    enum MHD_Result ok = resp_queue(s, c, q, &r);
    resp_free(&r);
    return ok;
}

void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)c;
    http_server *s = cls;
    req *q = *con_cls;
    if (!q)
        return;
    *con_cls = NULL;
    conn_guard_phase(s->guard, q->conn, CONN_IDLE);
    if (q->is_sse && toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
        metrics_sse_stalled(s->o.m); /* a subscriber that stopped reading for idle_timeout */
    double lat = clock_mono_s() - q->t0;
    if (q->counted_inflight) {
        atomic_fetch_sub(&s->inflight, 1);
        metrics_inflight_add(s->o.m, -1);
    }
    int status = q->status ? q->status : 500;
    metrics_request(s->o.m, q->route, metric_method(q->method), status, lat);
    static const char *const mnames[] = {"OTHER", "GET", "HEAD", "OTHER", "POST"};
    log_fields f = {.event = "http.request",
                    .corr_id = q->corr_id,
                    .route = route_table[q->route].label,
                    .method = mnames[q->method <= M_POST ? q->method : 0],
                    .status = status,
                    .latency_ms = lat * 1000.0,
                    .err_code =
                        status >= 400 && q->code != SVCR_OK ? svcr_code_name(q->code) : NULL,
                    .proposal_id = q->proposal_id[0] ? q->proposal_id : NULL,
                    .version = q->version};
    log_emit(status >= 500 ? LOG_WARN : LOG_INFO, &f);
    size_t body_len = q->body.len;
    req_free(q);
    /* A large body was parsed into a tree ~20 times its size; glibc keeps such freed memory in
     * its arenas. Give it back, so what stays resident is what is kept: the canonical bytes
     * of open proposals (D41). Large writes are rare; this costs well under a millisecond. */
    if (body_len >= HTTP_TRIM_AFTER_BYTES)
        malloc_trim(0);
}

/* The metrics listener answers /metrics only. */
enum MHD_Result http_access_metrics(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    http_server *s = cls;
    req *q = *con_cls;
    if (!q) {
        if (!(q = req_begin(c, url, method)))
            return MHD_NO;
        if (q->route != RT_METRICS)
            q->route = RT_NOT_FOUND;
        *con_cls = q;
        return MHD_YES;
    }
    resp r = {0};
    if (q->route != RT_METRICS)
        resp_error_code(&r, q->corr_id, SVCR_E_NOT_FOUND, "path", "only /metrics here");
    else if (!(q->method & (M_GET | M_HEAD))) {
        resp_error_code(&r, q->corr_id, SVCR_E_METHOD_NOT_ALLOWED, "method", "GET only");
        r.allow = route_allow(&route_table[RT_METRICS]);
    } else
        route_table[RT_METRICS].read(s, c, q, &r);
    enum MHD_Result ok = resp_queue(s, c, q, &r);
    resp_free(&r);
    return ok;
}
