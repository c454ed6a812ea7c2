/* gate.c - readiness aggregation (see gate.h). */
#include "readiness/gate.h"

int readiness_render(const pipeline_status *st, uint64_t version, const char *head_b3,
                     int shutting_down, int plane_read, buf *out)
{
    const char *missing[8];
    int n = 0;
    if (st->storage_fault)
        missing[n++] = "storage";
    if (!st->has_signers)
        missing[n++] = "signers";
    if (st->frozen)
        missing[n++] = "frozen";
    if (st->chain_fault)
        missing[n++] = "chain";
    if (st->queue_saturated)
        missing[n++] = "queue";
    if (st->pending_full) /* new proposals get 429 until some commit or expire */
        missing[n++] = "pending_cap";
    if (shutting_down)
        missing[n++] = "shutdown";
    int read_ready = st->read_ready && !shutting_down;
    int write_ready = st->write_ready && !shutting_down;
    int ready = read_ready && write_ready;
    buf_printf(out,
               "{\"ready\":%s,\"read_ready\":%s,\"write_ready\":%s,\"degraded\":%s,\"missing\":[",
               ready ? "true" : "false", read_ready ? "true" : "false",
               write_ready ? "true" : "false", n ? "true" : "false");
    for (int i = 0; i < n; i++)
        buf_printf(out, "%s\"%s\"", i ? "," : "", missing[i]);
    buf_printf(out, "],\"version\":%llu,\"head_b3\":\"%s\"", (unsigned long long)version, head_b3);
    if (!ready)
        buf_puts(out, ",\"retry_after\":5");
    buf_puts(out, "}");
    if (plane_read)
        return read_ready ? 200 : 503;
    return ready ? 200 : 503;
}
