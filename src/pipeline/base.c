/* base.c - the leaf helpers every pipeline file may call: the clock, byte copying, the pending
 * budget. They call nothing else in the module. */
#include <time.h>

#include "pipeline/internal.h"

int64_t pl_now_ms(const pipeline *p)
{
    if (p->cfg.o.now_ms)
        return p->cfg.o.now_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pl_copy_bytes(void *ctx, const void *data, size_t len)
{
    return buf_append(ctx, data, len) == 0 ? 0 : STORE_ENOMEM;
}

uint64_t pl_pending_budget(const pipeline *p)
{
    return p->cfg.o.pending_bytes ? p->cfg.o.pending_bytes : (uint64_t)64 << 20;
}
