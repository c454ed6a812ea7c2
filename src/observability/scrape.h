/* scrape.h - the whole /metrics page (SPEC §12): the request counters of metrics.h followed by
 * the registry-state gauges, which the caller reads from the pipeline and passes in as plain
 * numbers (observability depends on no seam above it). */
#ifndef SVCR_OBSERVABILITY_SCRAPE_H
#define SVCR_OBSERVABILITY_SCRAPE_H

#include <stddef.h>
#include <stdint.h>

#include "interop/buf.h"
#include "observability/metrics.h"

/* What a scrape shows besides the request counters; filled by the caller at scrape time. */
typedef struct scrape_state {
    uint64_t head_version;
    /* the `org` of every signer of the governing set without revoked_at, one entry per signer
     * (borrowed for the call); counted by org, in order of first appearance */
    const char *const *signer_orgs;
    size_t nsigners;
    uint64_t updates_ok, updates_rejected;
    uint64_t pending_proposals, pending_bytes;
    uint64_t cas_failures;
    double commit_latency_sum_s;
    uint64_t commit_latency_count;
    uint64_t recoveries_startup, storage_faults;
    uint64_t storage_bytes;
    double verify_seconds;
    uint64_t bus_dropped;
    uint64_t batches, ops;
} scrape_state;

/* Appends the Prometheus text (0.0.4) page to out: metrics_render(m) and then the gauges of st.
 * Never fails on its own; a failed append leaves out truncated (buf's rule). */
void scrape_render(metrics *m, const scrape_state *st, buf *out);

#endif
