/* bus.c - bounded broadcast ring (see bus.h). */
#include "bus/bus.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct bus {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bus_event *ring;
    size_t cap;
    uint64_t next_seq; /* sequence number of the next event to publish */
    uint64_t lagged, dropped;
    void (*notify)(void *);
    void *notify_ctx;
};

struct bus_sub {
    bus *b;
    uint64_t cursor; /* sequence number this subscriber reads next */
    uint64_t dropped;
};

bus *bus_new(size_t capacity)
{
    bus *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->cap = capacity ? capacity : 1;
    b->ring = calloc(b->cap, sizeof *b->ring);
    if (!b->ring) {
        free(b);
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    return b;
}

void bus_free(bus *b)
{
    if (!b)
        return;
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b->ring);
    free(b);
}

void bus_set_notify(bus *b, void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&b->mu);
    b->notify = fn;
    b->notify_ctx = ctx;
    pthread_mutex_unlock(&b->mu);
}

void bus_publish(bus *b, const bus_event *e)
{
    pthread_mutex_lock(&b->mu);
    b->ring[b->next_seq % b->cap] = *e;
    b->next_seq++;
    void (*fn)(void *) = b->notify;
    void *ctx = b->notify_ctx;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    if (fn)
        fn(ctx);
}

bus_sub *bus_subscribe(bus *b)
{
    bus_sub *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->b = b;
    pthread_mutex_lock(&b->mu);
    s->cursor = b->next_seq;
    pthread_mutex_unlock(&b->mu);
    return s;
}

void bus_unsubscribe(bus_sub *s)
{
    free(s);
}

bus_next_status bus_next(bus_sub *s, bus_event *out, int timeout_ms)
{
    bus *b = s->b;
    pthread_mutex_lock(&b->mu);
    if (s->cursor == b->next_seq && timeout_ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (s->cursor == b->next_seq)
            if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) == ETIMEDOUT)
                break;
    }
    bus_next_status st = BUS_EMPTY;
    if (b->next_seq - s->cursor > b->cap) {
        uint64_t lost = b->next_seq - s->cursor;
        s->dropped += lost;
        b->dropped += lost;
        b->lagged++;
        s->cursor = b->next_seq;
        st = BUS_LAGGED;
    } else if (s->cursor < b->next_seq) {
        *out = b->ring[s->cursor % b->cap];
        s->cursor++;
        st = BUS_EVENT;
    }
    pthread_mutex_unlock(&b->mu);
    return st;
}

int bus_sub_enforce_bound(bus_sub *s, uint64_t bound)
{
    bus *b = s->b;
    int lagged = 0;
    pthread_mutex_lock(&b->mu);
    uint64_t waiting = b->next_seq - s->cursor;
    if (bound > 0 && waiting > bound) {
        s->dropped += waiting;
        b->dropped += waiting;
        b->lagged++;
        s->cursor = b->next_seq;
        lagged = 1;
    }
    pthread_mutex_unlock(&b->mu);
    return lagged;
}

uint64_t bus_sub_dropped(const bus_sub *s)
{
    return s->dropped;
}

#define LOCKED_READ(b, field)                                                                      \
    do {                                                                                           \
        pthread_mutex_lock(&(b)->mu);                                                              \
        uint64_t v_ = (b)->field;                                                                  \
        pthread_mutex_unlock(&(b)->mu);                                                            \
        return v_;                                                                                 \
    } while (0)

uint64_t bus_lagged_total(bus *b)
{
    LOCKED_READ(b, lagged);
}

uint64_t bus_dropped_total(bus *b)
{
    LOCKED_READ(b, dropped);
}

uint64_t bus_published(bus *b)
{
    LOCKED_READ(b, next_seq);
}
