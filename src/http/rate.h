/* rate.h - a token bucket for limits.rps / limits.read_rps: one per instance and plane, lock-free
 * on the hot path (a compare-and-swap loop on one word). */
#ifndef SVCR_HTTP_RATE_H
#define SVCR_HTTP_RATE_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct rate_bucket {
    _Atomic uint64_t state; /* GCRA theoretical arrival time in µs (see rate.c) */
    _Atomic uint32_t rate;  /* tokens per second; 0 = unlimited */
} rate_bucket;

/* Sets the rate (0: unlimited). The burst is one second's worth. Thread-safe; keeps tokens. */
void rate_set(rate_bucket *b, uint32_t per_second);
/* Takes one token at monotonic time now_us. 1 if allowed, 0 if the bucket is empty. */
int rate_take(rate_bucket *b, uint64_t now_us);

#endif
