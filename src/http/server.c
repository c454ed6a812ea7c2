/* server.c - the HTTP server's life: listeners (one libmicrohttpd daemon per http_opts row),
 * connection accounting and deadlines, reloadable limits, shutdown. A request's own life cycle
 * is in request.c. */
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

#include "http/internal.h"
#include "observability/clock.h"
#include "observability/log.h"

/* Committed versions kept in memory for zero-copy reads: 1024 slots, at most 16 MiB. */
#define BODY_CACHE_SLOTS 1024
#define BODY_CACHE_BYTES (16u << 20)

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

long http_inflight(const http_server *s)
{
    return atomic_load(&s->inflight);
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
    return t0 && clock_mono_ms() - t0 > HTTP_SHUTDOWN_GRACE_MS ? MHD_NO : MHD_YES;
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
        http_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s,
        /* no SO_REUSEPORT: a second process must not share (and split) this port */
        /* 16 KiB per connection holds request headers (tokens up to 8 KiB) and keeps 10,000
         * SSE streams within memory targets; bodies are copied out as they arrive. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (!d)
        snprintf(err, cap, "cannot listen on %s (in use or not permitted)", addr);
    return d;
}

/* Frees what http_start built; the daemons must be stopped (or never started). */
static void server_free(http_server *s)
{
    sse_hub_free(s->sse);
    body_cache_free(s->bodies);
    conn_guard_free(s->guard);
    pthread_mutex_destroy(&s->limits_mu);
    free(s);
}

/* Stops every started listener, the last started first. */
static void stop_listeners(http_server *s)
{
    for (size_t i = s->o.nlisteners; i-- > 0;) {
        if (s->daemons[i])
            MHD_stop_daemon(s->daemons[i]);
        s->daemons[i] = NULL;
    }
}

/* The API row of o, or -1 if there is not exactly one. */
static int api_row(const http_opts *o)
{
    int row = -1;
    for (size_t i = 0; i < o->nlisteners; i++) {
        if (o->listeners[i].role != HTTP_ROLE_API)
            continue;
        if (row >= 0)
            return -1;
        row = (int)i;
    }
    return row;
}

/* Starts the daemon of every row: the API role on all worker threads, the metrics role on one
 * (a METRICS row with port 0 is skipped). 0, or -1 with err. */
static int start_listeners(http_server *s, unsigned threads, char *err, size_t errcap)
{
    for (size_t i = 0; i < s->o.nlisteners; i++) {
        const http_listener *l = &s->o.listeners[i];
        if (l->transport != HTTP_TCP) {
            snprintf(err, errcap, "listener %zu: unsupported transport", i);
            return -1;
        }
        if (l->role == HTTP_ROLE_METRICS && (!l->addr || addr_port(l->addr) == 0))
            continue;
        s->daemons[i] = l->role == HTTP_ROLE_API
                            ? start_daemon(s, l->addr, threads, http_access_api, err, errcap)
                            : start_daemon(s, l->addr, 1, http_access_metrics, err, errcap);
        if (!s->daemons[i])
            return -1;
    }
    return 0;
}

int http_start(const http_opts *o, http_server **out, char *err, size_t errcap)
{
    *out = NULL;
    int api = o->nlisteners <= HTTP_MAX_LISTENERS ? api_row(o) : -1;
    if (api < 0) {
        snprintf(err, errcap, "exactly one API listener is needed");
        return -1;
    }
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
    if (!s->sse || !s->guard || start_listeners(s, threads, err, errcap) != 0) {
        stop_listeners(s);
        server_free(s);
        return -1;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->daemons[api], MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : addr_port(o->listeners[api].addr);
    *out = s;
    return 0;
}

unsigned http_port(const http_server *s)
{
    return s->port;
}

void http_begin_shutdown(http_server *s)
{
    atomic_store(&s->shutdown_started_ms, clock_mono_ms()); /* accept_policy: grace, then refuse */
    atomic_store(&s->shutting_down, 1);
    sse_hub_close(s->sse);
}

void http_stop(http_server *s)
{
    if (!s)
        return;
    atomic_store(&s->shutting_down, 1);
    sse_hub_close(s->sse);
    stop_listeners(s); /* the metrics listener first, as it was started last */
    server_free(s);
}
