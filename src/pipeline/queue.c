/* queue.c - operations, the bounded submission queue, and waiting for completion. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "observability/clock.h"
#include "pipeline/internal.h"

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

op *op_new(op_kind kind, const write_ctx *w)
{
    op *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    atomic_init(&o->refs, 1);
    o->kind = kind;
    copy_str(o->corr_id, sizeof o->corr_id, w ? w->corr_id : NULL);
    copy_str(o->input_b3, sizeof o->input_b3, w && w->input_b3 ? w->input_b3 : B3_ZERO_TAG);
    copy_str(o->key_id, sizeof o->key_id, w ? w->cap_key_id : NULL);
    pthread_mutex_init(&o->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&o->cv, &ca);
    pthread_condattr_destroy(&ca);
    return o;
}

void op_release(op *o)
{
    if (!o || atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
        return;
    descriptor_set_free(o->ds);
    buf_free(&o->res.body);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

void result_error(pipeline_result *r, const svcr_err *e)
{
    r->code = e->code;
    r->err = *e;
    r->http_status = svcr_code_http_status(e->code);
    buf_free(&r->body);
}

void result_fail(pipeline_result *r, svcr_code code, const char *reason, const char *fmt, ...)
{
    r->code = code;
    r->err.code = code;
    r->err.path[0] = '\0';
    copy_str(r->err.reason, sizeof r->err.reason, reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err.message, sizeof r->err.message, fmt, ap);
    va_end(ap);
    r->http_status = svcr_code_http_status(code);
    buf_free(&r->body);
}

void pipeline_result_free(pipeline_result *r)
{
    buf_free(&r->body);
}

void op_complete(op *o, int stored)
{
    pthread_mutex_lock(&o->mu);
    op_log_outcome(o, stored, o->abandoned);
    o->done = 1;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

/* Enqueues unless full or stopping. 0, or -1 (caller answers Busy / NotReady). */
static int queue_push(pipeline *p, op *o)
{
    pthread_mutex_lock(&p->q_mu);
    if (p->stopping || p->q_len >= p->q_cap) {
        int stopping = p->stopping;
        pthread_mutex_unlock(&p->q_mu);
        return stopping ? -2 : -1;
    }
    atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed); /* the committer's */
    o->next = NULL;
    if (p->q_tail)
        p->q_tail->next = o;
    else
        p->q_head = o;
    p->q_tail = o;
    p->q_len++;
    pthread_cond_signal(&p->q_cv);
    pthread_mutex_unlock(&p->q_mu);
    return 0;
}

op *queue_take_all(pipeline *p, size_t *n)
{
    pthread_mutex_lock(&p->q_mu);
    while (!p->q_head && !p->stopping)
        pthread_cond_wait(&p->q_cv, &p->q_mu);
    op *list = p->q_head;
    *n = p->q_len;
    p->q_head = p->q_tail = NULL;
    p->q_len = 0;
    pthread_mutex_unlock(&p->q_mu);
    return list;
}

void op_submit_and_wait(pipeline *p, op *o, const write_ctx *w, pipeline_result *r)
{
    o->submitted_ms = pl_now_ms(p);
    int rc = queue_push(p, o);
    if (rc == -1) {
        pthread_mutex_lock(&p->st_mu);
        p->stats.busy++;
        pthread_mutex_unlock(&p->st_mu);
        result_fail(r, SVCR_E_BUSY, "queue_full", "the commit queue is full; retry shortly");
        return;
    }
    if (rc == -2) {
        result_fail(r, SVCR_E_NOT_READY, "shutting_down", "the registry is shutting down");
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
        result_fail(r, SVCR_E_TIMEOUT, "deadline",
                    "the deadline passed before the operation completed; it may still apply");
        return;
    }
    *r = o->res;
    memset(&o->res.body, 0, sizeof o->res.body); /* body moved to r */
}

void pl_reject(pipeline *p, const write_ctx *w, const char *event, const char *proposal_id,
               const char *payload_b3, const char *signer_id, const svcr_err *e, pipeline_result *r)
{
    result_error(r, e);
    op *o = op_new(OP_AUDIT, w);
    if (!o)
        return;
    o->audit_event = event;
    o->audit_err = *e;
    copy_str(o->proposal_id, sizeof o->proposal_id, proposal_id);
    copy_str(o->audit_b3, sizeof o->audit_b3, payload_b3);
    copy_str(o->audit_signer, sizeof o->audit_signer, signer_id);
    pipeline_result ignored = {0};
    op_submit_and_wait(p, o, w, &ignored);
    pipeline_result_free(&ignored);
    op_release(o);
}

void pipeline_audit_rejection(pipeline *p, const write_ctx *w, const char *event,
                              const char *proposal_id, const svcr_err *e)
{
    pipeline_result r = {0};
    pl_reject(p, w, event, proposal_id, NULL, NULL, e, &r);
    pipeline_result_free(&r);
}
