/* conn_guard.c - connection deadlines and load shedding for the HTTP listener (see
 * conn_guard.h). One mutex guards the list; the reaper thread wakes every CHECK_MS. */
#include "http/conn_guard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "observability/clock.h"
#include "observability/log.h"

#define CHECK_MS 100        /* between checks */
#define CHECK_PRESSED_MS 10 /* between checks while slots are short */

/* A connection's phase and the monotonic ms its clock started, in one word (phase in the low
 * 8 bits) so that phase changes, once per request, take no lock and the reaper reads a
 * consistent pair. */
#define STATE(phase, since) (((uint64_t)(since) << 8) | (uint64_t)(phase))
#define STATE_PHASE(st) ((conn_phase)((st)&0xff))
#define STATE_SINCE(st) ((int64_t)((st) >> 8))

struct conn_rec {
    conn_rec *prev, *next; /* under conn_guard.mu */
    int fd;
    _Atomic uint64_t state;
    int dropped; /* shutdown(2) already done; under conn_guard.mu */
};

struct conn_guard {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    conn_rec *list;
    unsigned count;
    unsigned max_conns;
    metrics *m;
    atomic_llong read_ms, idle_ms;
    int stop;
    int pressed; /* slots were short at the last check */
    pthread_t thread;
    int started;
};

/* Ends r's connection (with g->mu held): the socket stays open until libmicrohttpd closes it,
 * so the descriptor cannot have been reused while r is listed. */
static void drop_locked(conn_guard *g, conn_rec *r, int count_timeout)
{
    r->dropped = 1;
    shutdown(r->fd, SHUT_RDWR);
    if (count_timeout)
        metrics_reject(g->m, SVCR_E_TIMEOUT);
}

/* Slots are short: fewer than an eighth of max_conns (at least one) are free. */
static int pressed_locked(const conn_guard *g)
{
    unsigned reserve = g->max_conns / 8 ? g->max_conns / 8 : 1;
    return g->count + reserve >= g->max_conns;
}

/* One pass over the connections (with g->mu held). */
static void check_locked(conn_guard *g, int64_t now)
{
    int64_t read_ms = atomic_load(&g->read_ms), idle_ms = atomic_load(&g->idle_ms);
    int pressed = pressed_locked(g);
    unsigned timed_out = 0, shed = 0;
    for (conn_rec *r = g->list; r; r = r->next) {
        uint64_t st = atomic_load_explicit(&r->state, memory_order_relaxed);
        conn_phase phase = STATE_PHASE(st);
        if (r->dropped || phase == CONN_BUSY || phase == CONN_STREAM)
            continue;
        int64_t age = now - STATE_SINCE(st);
        int reading = phase != CONN_IDLE;
        if (age >= (reading ? read_ms : idle_ms)) {
            drop_locked(g, r, reading);
            timed_out += reading;
        } else if (pressed && age >= CONN_SHED_AFTER_MS) {
            /* slots are short: a connection that holds one without a request being served
             * yields it to those that have one */
            drop_locked(g, r, reading);
            shed++;
        }
    }
    g->pressed = pressed;
    if (timed_out || shed)
        log_msg(LOG_DEBUG, "http.conns",
                "closed %u connections past read_timeout, shed %u idle or slow ones (%u open)",
                timed_out, shed, g->count);
}

static void *reaper_main(void *arg)
{
    conn_guard *g = arg;
    pthread_setname_np(pthread_self(), "svcr-conns");
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts = clock_mono_deadline(g->pressed ? CHECK_PRESSED_MS : CHECK_MS);
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (!g->stop)
            check_locked(g, clock_mono_ms());
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

conn_guard *conn_guard_new(metrics *m, unsigned max_conns, int64_t read_timeout_ms,
                           int64_t idle_timeout_ms)
{
    conn_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    g->m = m;
    g->max_conns = max_conns ? max_conns : 1;
    atomic_init(&g->read_ms, read_timeout_ms);
    atomic_init(&g->idle_ms, idle_timeout_ms);
    g->started = pthread_create(&g->thread, NULL, reaper_main, g) == 0;
    if (!g->started) {
        conn_guard_free(g);
        return NULL;
    }
    return g;
}

void conn_guard_set_timeouts(conn_guard *g, int64_t read_timeout_ms, int64_t idle_timeout_ms)
{
    atomic_store(&g->read_ms, read_timeout_ms);
    atomic_store(&g->idle_ms, idle_timeout_ms);
}

conn_rec *conn_guard_open(conn_guard *g, int fd)
{
    conn_rec *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->fd = fd;
    atomic_init(&r->state, STATE(CONN_FRESH, clock_mono_ms()));
    pthread_mutex_lock(&g->mu);
    r->next = g->list;
    if (g->list)
        g->list->prev = r;
    g->list = r;
    g->count++;
    if (!g->pressed && pressed_locked(g)) {
        g->pressed = 1;
        pthread_cond_signal(&g->cv); /* check at the faster pace from now on */
    }
    pthread_mutex_unlock(&g->mu);
    return r;
}

void conn_guard_close(conn_guard *g, conn_rec *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&g->mu);
    if (r->prev)
        r->prev->next = r->next;
    else
        g->list = r->next;
    if (r->next)
        r->next->prev = r->prev;
    g->count--;
    pthread_mutex_unlock(&g->mu);
    free(r);
}

void conn_guard_phase(conn_guard *g, conn_rec *r, conn_phase p)
{
    if (!r)
        return;
    (void)g;
    uint64_t st = atomic_load_explicit(&r->state, memory_order_relaxed), next;
    do {
        int64_t since =
            STATE_PHASE(st) == CONN_FRESH && p == CONN_READING ? STATE_SINCE(st) : clock_mono_ms();
        next = STATE(p, since);
    } while (!atomic_compare_exchange_weak_explicit(&r->state, &st, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

unsigned conn_guard_count(conn_guard *g)
{
    pthread_mutex_lock(&g->mu);
    unsigned n = g->count;
    pthread_mutex_unlock(&g->mu);
    return n;
}

void conn_guard_free(conn_guard *g)
{
    if (!g)
        return;
    if (g->started) {
        pthread_mutex_lock(&g->mu);
        g->stop = 1;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->thread, NULL);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}
