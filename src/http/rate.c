/* rate.c - token bucket (see rate.h). The state word holds the time (µs, 44 bits) at which the
 * bucket would be empty, "virtual time" in the style of GCRA: a request is allowed if that time
 * is no more than one second ahead of now, and pushes it 1/rate seconds further. */
#include "http/rate.h"

#define US_PER_S 1000000ULL

void rate_set(rate_bucket *b, uint32_t per_second)
{
    atomic_store(&b->rate, per_second);
}

int rate_take(rate_bucket *b, uint64_t now_us)
{
    uint32_t rate = atomic_load_explicit(&b->rate, memory_order_relaxed);
    if (rate == 0)
        return 1;
    uint64_t step = US_PER_S / rate ? US_PER_S / rate : 1;
    uint64_t cur = atomic_load_explicit(&b->state, memory_order_relaxed);
    for (;;) {
        uint64_t tat = cur > now_us ? cur : now_us; /* theoretical arrival time */
        if (tat - now_us > US_PER_S)                /* more than a second's burst queued */
            return 0;
        if (atomic_compare_exchange_weak(&b->state, &cur, tat + step))
            return 1;
    }
}
