/* bus.h - in-process bounded broadcast of committed heads. The committer publishes without ever
 * waiting for a subscriber; a subscriber that falls more than `capacity` events behind loses the
 * oldest ones and is told it lagged (it must then reconcile from HEAD). */
#ifndef SVCR_BUS_BUS_H
#define SVCR_BUS_BUS_H

#include <stddef.h>
#include <stdint.h>

typedef struct bus_event {
    uint64_t version;
    char payload_b3[68];
    char committed_at[32];
    char corr_id[41];
} bus_event;

typedef struct bus bus;
typedef struct bus_sub bus_sub;

/* A bus holding the last `capacity` events (>= 1). NULL on OOM. */
bus *bus_new(size_t capacity);
/* Frees the bus; every subscription must be gone. */
void bus_free(bus *b);
/* Publishes one event: O(1), holds a mutex only to copy the event, wakes waiting subscribers,
 * then calls the notify hook (if any) outside the lock. Never blocks on subscribers. */
void bus_publish(bus *b, const bus_event *e);
/* Optional hook called after every publish (e.g. to resume suspended SSE connections). */
void bus_set_notify(bus *b, void (*fn)(void *ctx), void *ctx);

/* A subscription that receives every event published after this call. NULL on OOM. */
bus_sub *bus_subscribe(bus *b);
void bus_unsubscribe(bus_sub *s);

typedef enum bus_next_status {
    BUS_EVENT = 1,   /* *out holds the next event */
    BUS_EMPTY = 0,   /* nothing new (after waiting timeout_ms, 0 = do not wait) */
    BUS_LAGGED = -1, /* events were lost; the cursor moved to the newest; reconcile from HEAD */
} bus_next_status;

/* Takes the next event for this subscriber. */
bus_next_status bus_next(bus_sub *s, bus_event *out, int timeout_ms);
/* A tighter per-subscriber bound than the ring: if more than `bound` events wait for this
 * subscriber, they are dropped (counted like a lag), its cursor moves to the newest, and 1 is
 * returned: the subscriber must reconcile from HEAD. 0 otherwise. */
int bus_sub_enforce_bound(bus_sub *s, uint64_t bound);
/* Events this subscriber lost by lagging, in total. */
uint64_t bus_sub_dropped(const bus_sub *s);
/* Totals across all subscribers: lag episodes and events dropped. */
uint64_t bus_lagged_total(bus *b);
uint64_t bus_dropped_total(bus *b);
/* Number of published events so far. */
uint64_t bus_published(bus *b);

#endif
