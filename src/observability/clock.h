/* clock.h - the process's clocks, named for what they measure: monotonic time for durations and
 * deadlines, wall time for what is recorded or compared with dates. */
#ifndef SVCR_OBSERVABILITY_CLOCK_H
#define SVCR_OBSERVABILITY_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic milliseconds (CLOCK_MONOTONIC): durations, timeouts, write deadlines. Never goes
 * back, unaffected by settimeofday or NTP steps. This function can't fail. */
int64_t clock_mono_ms(void);
/* Monotonic microseconds (same clock as clock_mono_ms). This function can't fail. */
uint64_t clock_mono_us(void);
/* Monotonic seconds as a double (same clock), for latencies. This function can't fail. */
double clock_mono_s(void);
/* Wall-clock milliseconds since the Unix epoch (CLOCK_REALTIME): timestamps, expiry dates,
 * capability time caveats. May jump; never use it for a duration. This function can't fail. */
int64_t clock_wall_ms(void);
/* The absolute CLOCK_MONOTONIC time `after_ms` from now, for pthread_cond_timedwait on a
 * condition variable whose clock attribute is CLOCK_MONOTONIC. after_ms < 0 counts as 0. */
struct timespec clock_mono_deadline(int64_t after_ms);

#endif
