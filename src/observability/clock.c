/* clock.c - monotonic and wall clocks (see clock.h). */
#include "observability/clock.h"

static struct timespec now_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts); /* cannot fail for these clock ids */
    return ts;
}

int64_t clock_mono_ms(void)
{
    struct timespec ts = now_of(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t clock_mono_us(void)
{
    struct timespec ts = now_of(CLOCK_MONOTONIC);
    return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

double clock_mono_s(void)
{
    struct timespec ts = now_of(CLOCK_MONOTONIC);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t clock_wall_ms(void)
{
    struct timespec ts = now_of(CLOCK_REALTIME);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec clock_mono_deadline(int64_t after_ms)
{
    struct timespec ts = now_of(CLOCK_MONOTONIC);
    if (after_ms < 0)
        after_ms = 0;
    ts.tv_sec += (time_t)(after_ms / 1000);
    ts.tv_nsec += (long)(after_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}
