/* sse.c - the event stream (see sse.h). Each client subscribes to the bus first, then replays
 * stored versions after its resume point, then follows live events; with nothing to send it
 * suspends its connection, and the bus hook or the heartbeat thread resumes it. */
#include "http/sse.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "interop/buf.h"
#include "observability/clock.h"

typedef struct sse_client {
    struct sse_client *prev, *next;
    struct sse_hub *hub;
    struct MHD_Connection *conn;
    bus_sub *sub;
    buf out;
    size_t out_off;
    uint64_t last_sent;   /* highest version sent (events at or below it are skipped) */
    uint64_t replay_next; /* next stored version to replay; 0 when replay is done */
    uint64_t replay_end;
    int sent_initial;
    int resumed;   /* the client gave Last-Event-ID / ?from=: no initial HEAD event */
    int ahead;     /* its resume point is above HEAD (a restore, a replica behind): reconcile */
    int suspended; /* under hub->mu */
    int peer_gone; /* the subscriber closed its end (seen by the hub thread); under hub->mu */
    int64_t last_write_ms;
    struct sockaddr_storage peer; /* for sse.max_clients_per_ip */
    int fd;
} sse_client;

struct sse_hub {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sse_client *clients;
    uint32_t nclients; /* under mu */
    atomic_uint max_clients, max_per_ip;
    pipeline *pl;
    bus *bus;
    metrics *m;
    atomic_llong heartbeat_ms;
    atomic_uint client_buffer;
    atomic_int closing;
    int stop_thread;
    int wake_pending; /* a publish happened: the hub thread resumes suspended streams */
    pthread_t hb_thread;
    int hb_started;
};

/* How long after its last write a stream gets its heartbeat: a tenth of the interval early (at
 * most 1 s), so that waking it and writing still lands within sse.heartbeat of the last byte. */
static int64_t hb_due(int64_t hb)
{
    int64_t early = hb / 10 < 1000 ? hb / 10 : 1000;
    return hb - early;
}

/* Resumes every suspended client (called with hub->mu held). */
static void resume_all_locked(sse_hub *h)
{
    for (sse_client *c = h->clients; c; c = c->next) {
        if (c->suspended) {
            c->suspended = 0;
            MHD_resume_connection(c->conn);
        }
    }
}

/* Runs on the committer's thread: it only flags the hub thread, so a commit never waits for
 * thousands of streams to be woken. */
static void on_publish(void *ctx)
{
    sse_hub *h = ctx;
    pthread_mutex_lock(&h->mu);
    h->wake_pending = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* How often the hub thread looks for subscribers that went away while their stream slept. */
#define PEER_CHECK_MS 1000

/* Resumes every suspended stream whose subscriber closed its end (with hub->mu held), so its
 * slot and the sse_clients gauge are freed within a second instead of at the next heartbeat.
 * A suspended connection stays open in libmicrohttpd, so its descriptor is still its own. */
static void reap_gone_locked(sse_hub *h)
{
    for (sse_client *c = h->clients; c; c = c->next) {
        if (!c->suspended || c->fd < 0)
            continue;
        char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            c->peer_gone = 1;
            c->suspended = 0;
            MHD_resume_connection(c->conn);
        }
    }
}

/* The hub thread: resumes every suspended stream after a publish, and each one whose heartbeat
 * is due. It sleeps until the earliest due heartbeat (bounded by the interval), so a comment
 * arrives within sse.heartbeat however the phases fall. */
static void *heartbeat_main(void *arg)
{
    sse_hub *h = arg;
    pthread_setname_np(pthread_self(), "svcr-sse");
    pthread_mutex_lock(&h->mu);
    int64_t next_due = clock_mono_ms() + hb_due(atomic_load(&h->heartbeat_ms));
    int64_t next_peer_check = clock_mono_ms() + PEER_CHECK_MS;
    while (!h->stop_thread) {
        if (next_due > next_peer_check)
            next_due = next_peer_check;
        int64_t wait = next_due - clock_mono_ms();
        if (wait < 10)
            wait = 10;
        struct timespec ts = clock_mono_deadline(wait);
        if (!h->wake_pending)
            pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        if (h->stop_thread)
            break;
        if (h->wake_pending) {
            h->wake_pending = 0;
            resume_all_locked(h);
        }
        int64_t due = hb_due(atomic_load(&h->heartbeat_ms));
        int64_t now = clock_mono_ms();
        if (now >= next_peer_check) {
            reap_gone_locked(h);
            next_peer_check = now + PEER_CHECK_MS;
        }
        next_due = now + due;
        for (sse_client *c = h->clients; c; c = c->next) {
            if (!c->suspended)
                continue;
            if (now - c->last_write_ms >= due) {
                c->suspended = 0;
                MHD_resume_connection(c->conn);
            } else if (c->last_write_ms + due < next_due) {
                next_due = c->last_write_ms + due;
            }
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

sse_hub *sse_hub_new(pipeline *pl, bus *b, metrics *m, int64_t heartbeat_ms)
{
    sse_hub *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    h->pl = pl;
    h->bus = b;
    h->m = m;
    atomic_init(&h->heartbeat_ms, heartbeat_ms > 0 ? heartbeat_ms : 15000);
    if (b)
        bus_set_notify(b, on_publish, h);
    h->hb_started = pthread_create(&h->hb_thread, NULL, heartbeat_main, h) == 0;
    return h;
}

void sse_hub_set_heartbeat(sse_hub *h, int64_t heartbeat_ms)
{
    if (h && heartbeat_ms > 0)
        atomic_store(&h->heartbeat_ms, heartbeat_ms);
}

void sse_hub_set_caps(sse_hub *h, uint32_t max_clients, uint32_t per_ip)
{
    if (!h)
        return;
    atomic_store(&h->max_clients, max_clients);
    atomic_store(&h->max_per_ip, per_ip);
}

void sse_hub_set_client_buffer(sse_hub *h, uint32_t events)
{
    if (h)
        atomic_store(&h->client_buffer, events);
}

void sse_hub_close(sse_hub *h)
{
    if (!h)
        return;
    atomic_store(&h->closing, 1);
    pthread_mutex_lock(&h->mu);
    resume_all_locked(h);
    pthread_mutex_unlock(&h->mu);
}

void sse_hub_free(sse_hub *h)
{
    if (!h)
        return;
    if (h->bus)
        bus_set_notify(h->bus, NULL, NULL);
    pthread_mutex_lock(&h->mu);
    h->stop_thread = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (h->hb_started)
        pthread_join(h->hb_thread, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static void put_event(sse_client *c, const char *type, const bus_event *e)
{
    buf_printf(&c->out,
               "id: %llu\nevent: %s\ndata: {\"version\":%llu,\"payload_b3\":\"%s\","
               "\"committed_at\":%s%s%s,\"corr_id\":\"%s\"}\n\n",
               (unsigned long long)e->version, type, (unsigned long long)e->version, e->payload_b3,
               e->committed_at[0] ? "\"" : "", e->committed_at[0] ? e->committed_at : "null",
               e->committed_at[0] ? "\"" : "", e->corr_id);
    if (e->version > c->last_sent)
        c->last_sent = e->version;
}

/* The current head as an event (for reconcile and for the first event of a fresh stream). */
static void head_event(sse_hub *h, bus_event *e)
{
    head_snap *hs = pipeline_head(h->pl);
    if (pipeline_version_event(h->pl, hs->version, e) != SVCR_OK) {
        memset(e, 0, sizeof *e);
        e->version = hs->version;
        memcpy(e->payload_b3, hs->payload_b3, sizeof e->payload_b3);
        memcpy(e->committed_at, hs->committed_at, sizeof e->committed_at);
    }
    head_snap_release(hs);
}

static void reconcile(sse_client *c)
{
    bus_event e;
    head_event(c->hub, &e);
    put_event(c, "registry.reconcile", &e);
    c->last_sent = e.version;
    c->replay_next = 0;
    metrics_bus_lagged(c->hub->m);
}

/* Appends whatever is due to c->out. */
static void fill(sse_client *c)
{
    sse_hub *h = c->hub;
    if (!c->sent_initial) {
        c->sent_initial = 1;
        buf_puts(&c->out, "retry: 2000\n\n");
        if (c->ahead) {
            reconcile(c); /* it has seen versions this registry does not have */
        } else if (!c->resumed) {
            bus_event e;
            head_event(h, &e);
            if (e.version > 0)
                put_event(c, "registry.update", &e);
            else
                c->last_sent = 0;
        }
    }
    while (c->replay_next && c->replay_next <= c->replay_end && c->out.len < 32768) {
        bus_event e;
        svcr_code code = pipeline_version_event(h->pl, c->replay_next, &e);
        if (code != SVCR_OK) { /* history is gone (pruned) or unreadable: reconcile */
            reconcile(c);
            break;
        }
        put_event(c, "registry.update", &e);
        c->replay_next++;
    }
    if (c->replay_next > c->replay_end)
        c->replay_next = 0;
    if (c->replay_next)
        return;
    if (bus_sub_enforce_bound(c->sub, atomic_load(&h->client_buffer)))
        reconcile(c); /* fell further behind than its buffer allows */
    for (int i = 0; i < 64 && c->out.len < 32768; i++) {
        bus_event e;
        bus_next_status st = bus_next(c->sub, &e, 0);
        if (st == BUS_EMPTY)
            break;
        if (st == BUS_LAGGED) {
            reconcile(c);
            continue;
        }
        if (e.version > c->last_sent)
            put_event(c, "registry.update", &e);
    }
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    sse_client *c = cls;
    sse_hub *h = c->hub;
    for (;;) {
        if (c->out_off < c->out.len) {
            size_t n = c->out.len - c->out_off;
            if (n > max)
                n = max;
            memcpy(out, c->out.data + c->out_off, n);
            c->out_off += n;
            c->last_write_ms = clock_mono_ms();
            return (ssize_t)n;
        }
        buf_reset(&c->out);
        c->out_off = 0;
        if (atomic_load(&h->closing))
            return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&h->mu);
        int gone = c->peer_gone;
        pthread_mutex_unlock(&h->mu);
        if (gone)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        fill(c);
        if (c->out.len)
            continue;
        if (clock_mono_ms() - c->last_write_ms >= hb_due(atomic_load(&h->heartbeat_ms))) {
            buf_puts(&c->out, ": hb\n\n");
            continue;
        }
        /* Nothing to send: suspend, unless an event slipped in (checked under the lock the
         * publisher's hook takes, so no wake-up is lost). */
        pthread_mutex_lock(&h->mu);
        bus_event probe;
        bus_next_status st = bus_next(c->sub, &probe, 0);
        if (st != BUS_EMPTY || atomic_load(&h->closing)) {
            pthread_mutex_unlock(&h->mu);
            if (st == BUS_LAGGED)
                reconcile(c);
            else if (st == BUS_EVENT && probe.version > c->last_sent)
                put_event(c, "registry.update", &probe);
            continue;
        }
        c->suspended = 1;
        MHD_suspend_connection(c->conn);
        pthread_mutex_unlock(&h->mu);
        return 0;
    }
}

/* Takes c off the hub's list and frees it (its subscription is already gone). */
static void unlist(sse_hub *h, sse_client *c)
{
    pthread_mutex_lock(&h->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->nclients--;
    pthread_mutex_unlock(&h->mu);
    buf_free(&c->out);
    free(c);
}

static void release(void *cls)
{
    sse_client *c = cls;
    sse_hub *h = c->hub;
    bus_unsubscribe(c->sub);
    metrics_sse_clients_add(h->m, -1);
    unlist(h, c);
}

/* 1 if a and b are the same client address (the port aside). */
static int same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return 1; /* Unix sockets: one local address */
}

/* Checks the caps and, if a stream may open, lists c (one step under the lock, so a burst of
 * opens cannot pass the cap). */
static sse_refusal admit(sse_hub *h, sse_client *c)
{
    sse_refusal why = SSE_OK;
    uint32_t per_ip = atomic_load(&h->max_per_ip);
    pthread_mutex_lock(&h->mu);
    if (atomic_load(&h->closing)) {
        why = SSE_REFUSE_CLOSING;
    } else if (h->nclients >= atomic_load(&h->max_clients)) {
        why = SSE_REFUSE_FULL;
    } else if (per_ip) {
        uint32_t same = 0;
        for (sse_client *o = h->clients; o && same < per_ip; o = o->next)
            same += same_address(&o->peer, &c->peer);
        if (same >= per_ip)
            why = SSE_REFUSE_ADDRESS;
    }
    if (why == SSE_OK) {
        c->next = h->clients;
        if (h->clients)
            h->clients->prev = c;
        h->clients = c;
        h->nclients++;
    }
    pthread_mutex_unlock(&h->mu);
    return why;
}

struct MHD_Response *sse_open(sse_hub *h, struct MHD_Connection *conn, int has_from, uint64_t from,
                              sse_refusal *why)
{
    *why = SSE_REFUSE_OOM;
    sse_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = -1;
    const union MHD_ConnectionInfo *ai =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ai && ai->client_addr)
        memcpy(&c->peer, ai->client_addr,
               ai->client_addr->sa_family == AF_INET6  ? sizeof(struct sockaddr_in6)
               : ai->client_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                       : sizeof(sa_family_t));
    if ((*why = admit(h, c)) != SSE_OK) {
        free(c);
        return NULL;
    }
    *why = SSE_REFUSE_OOM;
    c->hub = h;
    c->conn = conn;
    c->sub = h->bus ? bus_subscribe(h->bus) : NULL;
    if (!c->sub) {
        unlist(h, c);
        return NULL;
    }
    c->last_write_ms = clock_mono_ms();
    /* A fixed, modest kernel send buffer: a client that stops reading stalls after ~32 KiB
     * instead of the megabytes loopback auto-tuning allows, so it falls behind the bus bound
     * and is told to reconcile (SPEC §6), and 10,000 streams cost bounded kernel memory. */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        c->fd = ci->connect_fd;
        int sndbuf = 32768;
        setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
    head_snap *hs = pipeline_head(h->pl);
    if (has_from) {
        c->resumed = 1;
        c->last_sent = from;
        if (from < hs->version) {
            c->replay_next = from + 1;
            c->replay_end = hs->version;
        }
        c->ahead = from > hs->version;
    }
    head_snap_release(hs);
    /* 1 KiB blocks: an event is ~250 bytes; a small block keeps 10,000 streams cheap. */
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, reader, c, release);
    if (!r) {
        bus_unsubscribe(c->sub);
        unlist(h, c);
        return NULL;
    }
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    metrics_sse_clients_add(h->m, 1);
    *why = SSE_OK;
    return r;
}
