/* op.h - one queued write operation, and the bounded queue that carries it from a request
 * thread to the committer (op.c, queue.c). Private to src/pipeline/. */
#ifndef SVCR_PIPELINE_OP_H
#define SVCR_PIPELINE_OP_H

#include "pipeline/internal.h"

typedef enum pl_op_kind {
    OP_PROPOSE,
    OP_APPROVE,
    OP_COMMIT,
    OP_SUPERSEDE,
    OP_FREEZE,
    OP_THAW,
    OP_AUDIT, /* a rejection decided before the queue: only its audit record is written */
    OP_KIND_COUNT
} pl_op_kind;

/* Inputs are written by the submitting request thread before it queues the op and read-only
 * afterwards; outputs are the committer's until completion; the completion fields are under mu.
 * Two references: the submitter's and, once queued, the committer's. */
typedef struct pl_op {
    atomic_int refs; /* the submitter and the committer */
    pl_op_kind kind;
    struct pl_op *next; /* the queue's (q.mu), then the committer's batch list */
    /* inputs */
    char corr_id[CORR_ID_MAX + 1];
    char input_b3[B3_TAG_LEN + 1];
    char proposal_id[PROPOSAL_ID_LEN + 1];
    descriptor_set *ds;                   /* OP_PROPOSE (owned until the committer takes it) */
    char key_id[PROPOSAL_KEY_ID_MAX + 1]; /* OP_PROPOSE: the capability's root key id */
    gov_approval approval;                /* OP_APPROVE */
    char reason[REASON_MAX + 1];          /* OP_FREEZE / OP_THAW */
    const char *audit_event;              /* OP_AUDIT: the event name (static string) */
    svcr_err audit_err;                   /* OP_AUDIT: the rejection */
    char audit_signer[SIGNER_ID_MAX + 1];
    char audit_b3[B3_TAG_LEN + 1];
    int64_t submitted_ms;
    /* outputs (the committer's until done) */
    pipeline_result res;
    uint64_t log_version; /* what pl_batch_finish_op saw, for the outcome log line */
    char log_b3[B3_TAG_LEN + 1];
    /* completion */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;      /* under mu */
    int abandoned; /* the submitter stopped waiting and answered Timeout (under mu) */
} pl_op;

/* --- one op (op.c) --- */
/* A new op of `kind` carrying the request's corr-id, input hash and capability key id (one
 * reference, the caller's). NULL on OOM. Request threads. */
pl_op *pl_op_new(pl_op_kind kind, const write_ctx *w);
/* Drops one reference; the last one frees the op. Any. */
void pl_op_release(pl_op *o);
/* Logs the op's outcome as its submitter gets it (pl_op_log_outcome) and signals completion,
 * both under the op's lock so a submitter that times out meanwhile is logged as answered
 * Timeout. `stored`: the batch's transaction committed. Committer. */
void pl_op_complete(pl_op *o, int stored);
/* Logs the governance line of an op from the answer its caller actually gets (called once the
 * batch's outcome is known, before the submitter is woken): accepted/rejected, status and
 * err.code. `stored`: the batch's transaction committed; `abandoned`: the caller was already
 * answered Timeout (the line then says so, and what became of the op). Committer, under o->mu. */
void pl_op_log_outcome(const pl_op *o, int stored, int abandoned);

/* --- the queue (queue.c) --- */
/* Submits and waits until the op completes or the caller's deadline passes. On Busy (queue
 * full), NotReady (shutting down) or Timeout the result says so; otherwise the op's result is
 * moved into r. Request threads. */
void pl_op_submit(pipeline *p, pl_op *o, const write_ctx *w, pipeline_result *r);
/* Records a caller-side rejection: fills r with the error and audits it (waits best effort).
 * Request threads. */
void pl_reject(pipeline *p, const write_ctx *w, const char *event, const char *proposal_id,
               const char *payload_b3, const char *signer_id, const svcr_err *e,
               pipeline_result *r);
/* Takes everything queued, in order (blocks until something is queued or stopping); *n is the
 * count. NULL when stopping and empty. Committer. */
pl_op *pl_queue_take_all(pipeline *p, size_t *n);

#endif
