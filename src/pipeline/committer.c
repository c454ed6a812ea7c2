/* committer.c - the single writer's loop: take everything queued, run it as one batch (one
 * storage transaction, one fsync), publish it or fail it, then answer every op. What a batch
 * does is batch.c; what each op does is its rule (rules.c). */
#include <assert.h>

#include "pipeline/rules.h"

/* Counts the batch in /metrics: ops, the largest batch, commit outcomes and latency.
 * Committer. */
static void count_batch(pipeline *p, const pl_op *list, size_t n)
{
    pthread_mutex_lock(&p->state.mu);
    p->state.stats.ops += n;
    if (n > p->state.stats.max_batch)
        p->state.stats.max_batch = n;
    for (const pl_op *o = list; o; o = o->next) {
        if (o->kind == OP_COMMIT || o->kind == OP_SUPERSEDE) {
            if (o->res.code == SVCR_OK)
                p->state.stats.updates_ok++;
            else
                p->state.stats.updates_rejected++;
            double lat = (double)(pl_now_ms(p) - o->submitted_ms) / 1000.0;
            p->state.stats.commit_latency_sum_s += lat;
            p->state.stats.commit_latency_count++;
        }
    }
    pthread_mutex_unlock(&p->state.mu);
}

/* Applies `list` (n ops, queue order) as one batch through the rule table, stores it, then
 * publishes it or fails every op of it. Committer. */
static int run_batch(pipeline *p, pl_batch *b, pl_op *list, size_t n)
{
    pl_batch_begin(p, b, list);
    for (pl_op *o = list; o && !pl_batch_failed(b); o = o->next) {
        assert(o->kind >= 0 && o->kind < OP_KIND_COUNT && pl_rules[o->kind]);
        pl_rules[o->kind](p, b, o);
    }
    int stored = pl_batch_commit(p, b);
    if (stored)
        pl_batch_publish(p, b); /* clears a storage fault */
    else
        pl_batch_fail_ops(p, b, list);
    count_batch(p, list, n);
    pl_batch_end(b);
    return stored;
}

/* Answers every op of a finished batch: each one's log line says what its submitter gets, and
 * is written before it gets it; then the committer's reference is dropped. Committer. */
static void answer(pl_op *list, int stored)
{
    while (list) {
        pl_op *next = list->next;
        pl_op_complete(list, stored);
        pl_op_release(list);
        list = next;
    }
}

void *pl_committer_main(void *arg)
{
    pipeline *p = arg;
    p->wr.self = pthread_self();
    pthread_setname_np(pthread_self(), "svcr-commit");
    for (;;) {
        size_t n = 0;
        pl_op *list = pl_queue_take_all(p, &n);
        if (!list)
            break; /* stopping and drained */
        answer(list, run_batch(p, p->wr.batch, list, n));
    }
    return NULL;
}
