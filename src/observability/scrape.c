/* scrape.c - the /metrics page: counters, then registry-state gauges (see scrape.h). */
#include "observability/scrape.h"

#include <stdio.h>
#include <string.h>

/* registry_signers{org}: one sample per org, in order of first appearance. */
static void put_signers(buf *out, const scrape_state *st)
{
    metrics_put_help(out, "registry_signers", "gauge", "signers without revoked_at, by org");
    for (size_t i = 0; i < st->nsigners; i++) {
        const char *org = st->signer_orgs[i];
        int first = 1;
        size_t count = 0;
        for (size_t j = 0; j < st->nsigners; j++) {
            if (strcmp(st->signer_orgs[j], org) != 0)
                continue;
            if (j < i)
                first = 0;
            count++;
        }
        if (!first)
            continue;
        char labels[300];
        snprintf(labels, sizeof labels, "org=\"%.256s\"", org);
        metrics_put_u64(out, "registry_signers", labels, count);
    }
}

static void put_commits(buf *out, const scrape_state *st)
{
    metrics_put_help(out, "registry_updates_total", "counter", "commit attempts by result");
    metrics_put_u64(out, "registry_updates_total", "result=\"ok\"", st->updates_ok);
    metrics_put_u64(out, "registry_updates_total", "result=\"rejected\"", st->updates_rejected);
    metrics_put_help(out, "registry_pending_proposals", "gauge", "proposals awaiting commit");
    metrics_put_u64(out, "registry_pending_proposals", NULL, st->pending_proposals);
    metrics_put_help(out, "registry_pending_bytes", "gauge",
                     "canonical payload bytes held by proposals awaiting commit");
    metrics_put_u64(out, "registry_pending_bytes", NULL, st->pending_bytes);
    metrics_put_help(out, "commit_cas_fail_total", "counter", "commits refused by the HEAD CAS");
    metrics_put_u64(out, "commit_cas_fail_total", NULL, st->cas_failures);
    metrics_put_help(out, "commit_latency_seconds", "summary", "queue-to-durable commit latency");
    metrics_put_f64(out, "commit_latency_seconds_sum", NULL, st->commit_latency_sum_s);
    metrics_put_u64(out, "commit_latency_seconds_count", NULL, st->commit_latency_count);
}

static void put_storage(buf *out, const scrape_state *st)
{
    metrics_put_help(out, "registry_recoveries_total", "counter", "store recoveries by kind");
    metrics_put_u64(out, "registry_recoveries_total", "kind=\"startup\"", st->recoveries_startup);
    metrics_put_u64(out, "registry_recoveries_total", "kind=\"storage_fault\"", st->storage_faults);
    metrics_put_help(out, "registry_storage_bytes", "gauge", "bytes used by the store");
    metrics_put_u64(out, "registry_storage_bytes", NULL, st->storage_bytes);
    metrics_put_help(out, "registry_checkpoint_age_seconds", "gauge",
                     "age of the newest signed checkpoint (none yet: 0)");
    metrics_put_u64(out, "registry_checkpoint_age_seconds", NULL, 0);
    metrics_put_help(out, "audit_chain_verify_seconds", "gauge",
                     "time the last full verification took");
    metrics_put_f64(out, "audit_chain_verify_seconds", NULL, st->verify_seconds);
    metrics_put_help(out, "bus_overflow_dropped_total", "counter", "bus events lost by laggards");
    metrics_put_u64(out, "bus_overflow_dropped_total", NULL, st->bus_dropped);
    metrics_put_help(out, "registry_group_commit_batches_total", "counter",
                     "storage transactions (one fsync each)");
    metrics_put_u64(out, "registry_group_commit_batches_total", NULL, st->batches);
    metrics_put_help(out, "registry_pipeline_ops_total", "counter", "operations applied");
    metrics_put_u64(out, "registry_pipeline_ops_total", NULL, st->ops);
}

void scrape_render(metrics *m, const scrape_state *st, buf *out)
{
    metrics_render(m, out);
    metrics_put_help(out, "registry_head_version", "gauge", "version of HEAD");
    metrics_put_u64(out, "registry_head_version", NULL, st->head_version);
    put_signers(out, st);
    put_commits(out, st);
    put_storage(out, st);
}
