/* server.c - libmicrohttpd glue: listeners, the access handler's life cycle (route, limits,
 * capability, body, dispatch), completion (logs and metrics), shutdown. */
#include <arpa/inet.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/b3.h"
#include "governance/proposal.h"
#include "http/internal.h"

/* Committed versions kept in memory for zero-copy reads: 1024 slots, at most 16 MiB. */
#define BODY_CACHE_SLOTS 1024
#define BODY_CACHE_BYTES (16u << 20)
#include "interop/ulid.h"
#include "observability/log.h"

double http_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

http_limits http_get_limits(http_server *s)
{
    pthread_mutex_lock(&s->limits_mu);
    http_limits l = s->limits;
    pthread_mutex_unlock(&s->limits_mu);
    return l;
}

void http_set_limits(http_server *s, const http_limits *l)
{
    pthread_mutex_lock(&s->limits_mu);
    s->limits = *l;
    pthread_mutex_unlock(&s->limits_mu);
    rate_set(&s->write_rate, l->rps);
    rate_set(&s->read_rate, l->read_rps);
    rate_set(&s->list_rate, l->list_rps);
    sse_hub_set_heartbeat(s->sse, l->sse_heartbeat_ms);
    sse_hub_set_client_buffer(s->sse, l->sse_client_buffer);
    sse_hub_set_caps(s->sse, l->sse_max_clients, l->sse_max_per_ip);
    conn_guard_set_timeouts(s->guard, l->read_timeout_ms, l->idle_timeout_ms);
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

long http_inflight(const http_server *s)
{
    return atomic_load(&s->inflight);
}

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
    q->t0 = http_now_s();
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

/* Decides what can be decided before the body: framing, route, method, inflight, capability,
 * size. Sets q->early (answered at the end, after the body) or, when waiting for the body would
 * only cost time or invite abuse, q->answer_now (answered at once; the connection closes). */
static void first_call(http_server *s, struct MHD_Connection *c, req *q, const char *url,
                       const char *version)
{
    const route_def *rt = &route_table[q->route];
    http_limits lim = http_get_limits(s);
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
    } else if (atomic_load(&s->inflight) > (long)lim.inflight) {
        svcr_err_set(&q->early_err, SVCR_E_BUSY, NULL, "inflight",
                     "too many requests in flight; retry shortly");
    } else if (q->route != RT_HEALTHZ && q->route != RT_READYZ && q->route != RT_METRICS &&
               !rate_take(q->method == M_POST ? &s->write_rate : &s->read_rate, mono_us())) {
        /* probes and scrapes are never rate-limited: an operator must always see the state */
        svcr_err_set(&q->early_err, SVCR_E_BUSY, NULL, "rate",
                     "request rate over limits.%s; retry shortly",
                     q->method == M_POST ? "rps" : "read_rps");
    } else if (q->method != M_POST &&
               (q->route == RT_PROPOSALS || q->route == RT_PROPOSAL || q->route == RT_AUDIT) &&
               !rate_take(&s->list_rate, mono_us())) {
        /* anonymous reads whose cost grows with the data get their own, tighter bucket, so
         * they cannot starve the O(1) reads (head, versions) */
        svcr_err_set(&q->early_err, SVCR_E_BUSY, NULL, "rate",
                     "request rate over limits.list_rps; retry shortly");
    } else if (q->method == M_POST) {
        const char *authz =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        svcr_err e;
        svcr_err_clear(&e);
        svcr_code code = s->o.keys
                             ? auth_check(s->o.keys, authz, rt->write_scope, q->route == RT_APPROVE,
                                          http_now_ms() / 1000, &q->grant, &e)
                             : svcr_err_set(&e, SVCR_E_UNAUTHORIZED, NULL, "no_root_keys",
                                            "this registry has no capability root keys");
        if (code == SVCR_OK) {
            q->authenticated = 1;
        } else {
            q->early_err = e; /* a 403 is audited once the body is in (input_b3) */
        }
    }
    if (!q->early_err.code && f.length > lim.max_body_bytes)
        svcr_err_set(&q->early_err, SVCR_E_PAYLOAD_TOO_LARGE, NULL, "body_cap",
                     "Content-Length %llu is over limits.max_body_bytes (%llu)",
                     (unsigned long long)f.length, (unsigned long long)lim.max_body_bytes);
    q->early = q->early_err.code;
    /* A refused request that announces a body is answered from its headers and the connection
     * closed: no 100 Continue, no waiting for (or reading) a body that will be thrown away. A
     * 403 still reads its body, whose hash the audit record carries (bounded by the cap). */
    if (q->early && q->early != SVCR_E_FORBIDDEN && has_body)
        q->answer_now = 1;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    http_server *s = cls;
    req *q = *con_cls;
    if (!q) {
        if (!(q = req_begin(c, url, method)))
            return MHD_NO;
        *con_cls = q;
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
    if (q->queued) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* a forbidden request's body is still read: its hash goes into the audit record */
        if ((!q->early || q->early == SVCR_E_FORBIDDEN) && !q->too_large) {
            if (q->body.len + *upload_data_size > http_get_limits(s).max_body_bytes) {
                q->too_large = 1;
                buf_free(&q->body);
            } else if (buf_append(&q->body, upload_data, *upload_data_size) != 0) {
                q->too_large = 1;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    conn_guard_phase(s->guard, q->conn, CONN_BUSY); /* the whole request is in */
    resp r = {0};
    if (q->early == SVCR_E_FORBIDDEN) {
        /* authenticated but not allowed: audited (anonymous traffic is not) */
        char input_b3[B3_TAG_LEN + 1];
        b3_tag_of(q->body.data ? q->body.data : "", q->body.len, input_b3);
        write_ctx w = {.corr_id = q->corr_id, .input_b3 = input_b3};
        const char *pid = q->route == RT_APPROVE || q->route == RT_COMMIT ? q->param : NULL;
        pipeline_audit_rejection(s->o.pl, &w, route_table[q->route].event,
                                 pid && proposal_id_valid(pid, strlen(pid)) ? pid : NULL,
                                 &q->early_err);
    }
    if (q->early) {
        resp_error(&r, q->corr_id, &q->early_err);
        if (q->early == SVCR_E_METHOD_NOT_ALLOWED)
            r.allow = route_allow(&route_table[q->route]);
    } else if (q->method == M_POST) {
        handle_write(s, c, q, &r);
    } else {
        handle_read(s, c, q, &r);
    }
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

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
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
    double lat = http_now_s() - q->t0;
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

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    /* a subscriber or client that went away is normal traffic, not a warning */
    int routine = strstr(msg, "no longer available") || strstr(msg, "reset by peer") ||
                  strstr(msg, "Broken pipe");
    log_msg(routine ? LOG_DEBUG : LOG_WARN, "http.mhd", "%s", msg);
}

/* host:port → sockaddr. 0 or -1. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV},
                    *res = NULL;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static unsigned addr_port(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    return colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
}

static int64_t mono_ms(void)
{
    return (int64_t)(mono_us() / 1000);
}

/* During shutdown, connections are still accepted for HTTP_SHUTDOWN_GRACE_MS so that requests
 * sent before the signal (queued in the backlog, or with headers still arriving) are answered;
 * after that, a new connection is closed as soon as it is accepted while in-flight requests
 * drain. This stands in for MHD_quiesce_daemon(), which on an epoll daemon with its own threads
 * races with the workers removing the same listen FD and aborts the process (libmicrohttpd
 * 0.9.75; docs/DECISIONS.md D20). */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)addr;
    (void)len;
    http_server *s = cls;
    long long t0 = atomic_load(&s->shutdown_started_ms);
    return t0 && mono_ms() - t0 > HTTP_SHUTDOWN_GRACE_MS ? MHD_NO : MHD_YES;
}

/* A connection opens: it gets its deadline record and the current idle_timeout (so a SIGHUP
 * reaches new connections); it closes: the record goes, before libmicrohttpd closes the
 * socket. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    http_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&s->open_conns, 1);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? conn_guard_open(s->guard, ci->connect_fd) : NULL;
        int64_t idle_ms = http_get_limits(s).idle_timeout_ms;
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                                  (unsigned)((idle_ms + 999) / 1000));
    } else {
        atomic_fetch_add(&s->open_conns, -1);
        conn_guard_close(s->guard, *socket_context);
        *socket_context = NULL;
    }
}

/* The request line has arrived: the request's read deadline starts (an idle keep-alive
 * connection becomes a reading one). Returns NULL: the access handler allocates its state. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)uri;
    http_server *s = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci)
        conn_guard_phase(s->guard, ci->socket_context, CONN_READING);
    return NULL;
}

long http_open_connections(const http_server *s)
{
    return atomic_load(&s->open_conns);
}

static struct MHD_Daemon *start_daemon(http_server *s, const char *addr, unsigned threads,
                                       MHD_AccessHandlerCallback h, char *err, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_addr(addr, &ss, &len) != 0) {
        snprintf(err, cap, "cannot parse listen address %s", addr);
        return NULL;
    }
    /* MHD_USE_TURBO: no extra syscalls per request (this daemon needs no shutdown() dance). */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     MHD_USE_TURBO;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, accept_policy, s, h, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, s->o.max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        s->o.per_ip_conns, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)((s->limits.idle_timeout_ms + 999) / 1000), MHD_OPTION_NOTIFY_COMPLETED,
        completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_URI_LOG_CALLBACK,
        on_request_line, s,
        /* no SO_REUSEPORT: a second process must not share (and split) this port */
        /* 16 KiB per connection holds request headers (tokens up to 8 KiB) and keeps 10,000
         * SSE streams within memory targets; bodies are copied out as they arrive. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (!d)
        snprintf(err, cap, "cannot listen on %s (in use or not permitted)", addr);
    return d;
}

/* The metrics listener answers /metrics only. */
static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *c, const char *url,
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
        r.allow = "GET, HEAD";
    } else
        handle_read(s, c, q, &r);
    enum MHD_Result ok = resp_queue(s, c, q, &r);
    resp_free(&r);
    return ok;
}

int http_start(const http_opts *o, http_server **out, char *err, size_t errcap)
{
    *out = NULL;
    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    s->o = *o;
    s->limits = o->limits;
    rate_set(&s->write_rate, o->limits.rps);
    rate_set(&s->read_rate, o->limits.read_rps);
    rate_set(&s->list_rate, o->limits.list_rps);
    pthread_mutex_init(&s->limits_mu, NULL);
    s->sse = sse_hub_new(o->pl, o->bus, o->m, o->limits.sse_heartbeat_ms);
    sse_hub_set_client_buffer(s->sse, o->limits.sse_client_buffer);
    sse_hub_set_caps(s->sse, o->limits.sse_max_clients, o->limits.sse_max_per_ip);
    s->bodies = body_cache_new(BODY_CACHE_SLOTS, BODY_CACHE_BYTES);
    s->guard =
        conn_guard_new(o->m, o->max_conns, o->limits.read_timeout_ms, o->limits.idle_timeout_ms);
    unsigned threads = o->threads ? o->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    if (s->sse && s->guard)
        s->d = start_daemon(s, o->bind_addr, threads, access_handler, err, errcap);
    if (s->d && o->metrics_addr && addr_port(o->metrics_addr) != 0)
        s->md = start_daemon(s, o->metrics_addr, 1, metrics_handler, err, errcap);
    if (!s->d || (o->metrics_addr && addr_port(o->metrics_addr) != 0 && !s->md)) {
        if (s->d)
            MHD_stop_daemon(s->d);
        sse_hub_free(s->sse);
        body_cache_free(s->bodies);
        conn_guard_free(s->guard);
        pthread_mutex_destroy(&s->limits_mu);
        free(s);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : addr_port(o->bind_addr);
    *out = s;
    return 0;
}

unsigned http_port(const http_server *s)
{
    return s->port;
}

void http_begin_shutdown(http_server *s)
{
    atomic_store(&s->shutdown_started_ms, mono_ms()); /* accept_policy: grace, then refuse */
    atomic_store(&s->shutting_down, 1);
    sse_hub_close(s->sse);
}

void http_stop(http_server *s)
{
    if (!s)
        return;
    atomic_store(&s->shutting_down, 1);
    sse_hub_close(s->sse);
    if (s->md)
        MHD_stop_daemon(s->md);
    MHD_stop_daemon(s->d);
    sse_hub_free(s->sse);
    body_cache_free(s->bodies);
    conn_guard_free(s->guard);
    pthread_mutex_destroy(&s->limits_mu);
    free(s);
}
