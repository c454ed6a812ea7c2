/* queue.c - the bounded submission queue: request threads submit an op and wait for it (until
 * their deadline), the committer takes everything queued at once. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "observability/clock.h"
#include "pipeline/op.h"

/* Copies src (NULL: "") into dst, truncating. Any. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Enqueues unless full or stopping: 0, -1 full (the caller answers Busy) or -2 stopping
 * (NotReady). Request threads. */
static int queue_push(pipeline *p, pl_op *o)
{
    pthread_mutex_lock(&p->q.mu);
    if (p->q.stopping || p->q.len >= p->q.cap) {
        int stopping = p->q.stopping;
        pthread_mutex_unlock(&p->q.mu);
        return stopping ? -2 : -1;
    }
    atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed); /* the committer's */
    o->next = NULL;
    if (p->q.tail)
        p->q.tail->next = o;
    else
        p->q.head = o;
    p->q.tail = o;
    p->q.len++;
    pthread_cond_signal(&p->q.cv);
    pthread_mutex_unlock(&p->q.mu);
    return 0;
}

pl_op *pl_queue_take_all(pipeline *p, size_t *n)
{
    pthread_mutex_lock(&p->q.mu);
    while (!p->q.head && !p->q.stopping)
        pthread_cond_wait(&p->q.cv, &p->q.mu);
    pl_op *list = p->q.head;
    *n = p->q.len;
    p->q.head = p->q.tail = NULL;
    p->q.len = 0;
    pthread_mutex_unlock(&p->q.mu);
    return list;
}

void pl_op_submit(pipeline *p, pl_op *o, const write_ctx *w, pipeline_result *r)
{
    o->submitted_ms = pl_now_ms(p);
    int rc = queue_push(p, o);
    if (rc == -1) {
        pthread_mutex_lock(&p->state.mu);
        p->state.stats.busy++;
        pthread_mutex_unlock(&p->state.mu);
        pl_result_fail(r, SVCR_E_BUSY, "queue_full", "the commit queue is full; retry shortly");
        return;
    }
    if (rc == -2) {
        pl_result_fail(r, SVCR_E_NOT_READY, "shutting_down", "the registry is shutting down");
        return;
    }
    pthread_mutex_lock(&o->mu);
    while (!o->done) {
        if (w && w->deadline_ms > 0) {
            /* the deadline is monotonic (write_ctx): a wall-clock step neither cuts a write
             * short nor stretches it */
            int64_t left = w->deadline_ms - clock_mono_ms();
            if (left <= 0)
                break;
            struct timespec ts = clock_mono_deadline(left);
            pthread_cond_timedwait(&o->cv, &o->mu, &ts);
        } else {
            pthread_cond_wait(&o->cv, &o->mu);
        }
    }
    int done = o->done;
    if (!done)
        o->abandoned = 1; /* the committer logs the op as answered Timeout */
    pthread_mutex_unlock(&o->mu);
    if (!done) {
        pl_result_fail(r, SVCR_E_TIMEOUT, "deadline",
                       "the deadline passed before the operation completed; it may still apply");
        return;
    }
    *r = o->res;
    memset(&o->res.body, 0, sizeof o->res.body); /* body moved to r */
}

void pl_reject(pipeline *p, const write_ctx *w, const char *event, const char *proposal_id,
               const char *payload_b3, const char *signer_id, const svcr_err *e, pipeline_result *r)
{
    pl_result_error(r, e);
    pl_op *o = pl_op_new(OP_AUDIT, w);
    if (!o)
        return;
    o->audit_event = event;
    o->audit_err = *e;
    copy_str(o->proposal_id, sizeof o->proposal_id, proposal_id);
    copy_str(o->audit_b3, sizeof o->audit_b3, payload_b3);
    copy_str(o->audit_signer, sizeof o->audit_signer, signer_id);
    pipeline_result ignored = {0};
    pl_op_submit(p, o, w, &ignored);
    pipeline_result_free(&ignored);
    pl_op_release(o);
}

void pipeline_audit_rejection(pipeline *p, const write_ctx *w, const char *event,
                              const char *proposal_id, const svcr_err *e)
{
    pipeline_result r = {0};
    pl_reject(p, w, event, proposal_id, NULL, NULL, e, &r);
    pipeline_result_free(&r);
}
