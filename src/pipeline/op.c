/* op.c - one write operation: created by its request thread, completed (logged, then woken) by
 * the committer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "observability/log.h"
#include "pipeline/op.h"

/* Copies src (NULL: "") into dst, truncating. Any. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

pl_op *pl_op_new(pl_op_kind kind, const write_ctx *w)
{
    pl_op *o = calloc(1, sizeof *o);
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

void pl_op_release(pl_op *o)
{
    if (!o || atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
        return;
    descriptor_set_free(o->ds);
    buf_free(&o->res.body);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

void pl_op_complete(pl_op *o, int stored)
{
    pthread_mutex_lock(&o->mu);
    pl_op_log_outcome(o, stored, o->abandoned);
    o->done = 1;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

void pl_op_log_outcome(const pl_op *o, int stored, int abandoned)
{
    static const char *const names[] = {
        [OP_PROPOSE] = "propose",     [OP_APPROVE] = "approve", [OP_COMMIT] = "commit",
        [OP_SUPERSEDE] = "supersede", [OP_FREEZE] = "freeze",   [OP_THAW] = "thaw",
    };
    const char *name = o->kind == OP_AUDIT ? o->audit_event : names[o->kind];
    /* an audit-only op carries a rejection already answered by the request thread */
    const svcr_err *rej = o->kind == OP_AUDIT      ? &o->audit_err
                          : o->res.code != SVCR_OK ? &o->res.err
                                                   : NULL;
    int status = o->kind == OP_AUDIT ? svcr_code_http_status(rej->code) : o->res.http_status;
    const char *code = rej ? svcr_code_name(rej->code) : NULL;
    const char *reason = rej ? rej->reason : NULL;
    if (!rej && (o->kind == OP_FREEZE || o->kind == OP_THAW))
        reason = o->reason;
    char msg[160];
    if (o->kind == OP_AUDIT)
        snprintf(msg, sizeof msg, "rejected%s",
                 stored ? "" : " (audit record not stored: storage fault)");
    else if (abandoned) /* the caller has its answer already: Timeout; say what happened since */
        snprintf(msg, sizeof msg, "answered Timeout; the operation then completed: %s%s",
                 rej ? "rejected " : "accepted", rej ? code : "");
    else
        snprintf(msg, sizeof msg, "%s", rej ? "rejected" : "accepted");
    if (abandoned && o->kind != OP_AUDIT) {
        status = svcr_code_http_status(SVCR_E_TIMEOUT);
        code = svcr_code_name(SVCR_E_TIMEOUT);
        reason = "deadline";
    }
    char event[48];
    snprintf(event, sizeof event, "governance.%s", name ? name : "op");
    log_fields f = {.event = event,
                    .msg = msg,
                    .corr_id = o->corr_id,
                    .status = status,
                    .err_code = code,
                    .reason = reason,
                    .proposal_id = o->proposal_id[0] ? o->proposal_id : NULL,
                    .version = stored ? o->log_version : 0, /* nothing is at a version unstored */
                    .payload_b3 = o->log_b3[0] ? o->log_b3 : NULL,
                    .latency_ms = -1};
    log_emit(LOG_INFO, &f);
}
