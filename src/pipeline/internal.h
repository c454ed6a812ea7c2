/* internal.h - what the pipeline's own files share (private to src/pipeline/; the HTTP layer
 * sees only pipeline.h). */
#ifndef SVCR_PIPELINE_INTERNAL_H
#define SVCR_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "governance/audit.h"
#include "governance/proposal.h"
#include "pipeline/pipeline.h"
#include "pipeline/proposal_map.h"

#define REASON_MAX 1024
/* Open proposals kept in memory at once; past it a new proposal answers 429 Busy. Bounds what
 * a holder of registry:propose can make the registry hold. */
#define PENDING_PROPOSALS_MAX 4096
/* One capability root key id may hold at most 1/PENDING_KEY_SHARE of the open proposals and of
 * limits.pending_bytes, so one proposer cannot lock every other one out (D41). */
#define PENDING_KEY_SHARE 4

typedef enum op_kind {
    OP_PROPOSE,
    OP_APPROVE,
    OP_COMMIT,
    OP_SUPERSEDE,
    OP_FREEZE,
    OP_THAW,
    OP_AUDIT, /* a rejection decided before the queue: only its audit record is written */
} op_kind;

typedef struct op {
    atomic_int refs; /* the submitter and the committer */
    op_kind kind;
    struct op *next;
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
    /* outputs */
    pipeline_result res;
    uint64_t log_version; /* what finish_op saw, for the outcome log line */
    char log_b3[B3_TAG_LEN + 1];
    /* completion */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int abandoned; /* the submitter stopped waiting and answered Timeout (under mu) */
} op;

struct pipeline {
    pipeline_opts o;
    store *st;
    bus *bus;
    head_cell head;
    /* pending proposals: read by request threads, replaced by the committer */
    pthread_rwlock_t map_lock;
    proposal_map map;
    /* bytes held (+1) when a proposal was last refused for the global cap or budget; the
     * registry counts as full while the pending set has not shrunk below it (committer writes) */
    _Atomic uint64_t pending_refused_at;
    /* queue */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    op *q_head, *q_tail;
    size_t q_len, q_cap;
    int stopping;
    pthread_t committer;
    pthread_t committer_self; /* the committer's own id, set by it first: batches assert it */
    int committer_started;
    /* committer-owned state (read by status under st_mu) */
    audit_tip tip;
    pthread_mutex_t st_mu;
    int frozen;
    char frozen_reason[REASON_MAX + 1];
    int storage_fault;      /* the last write transaction failed (writes: one probe each) */
    uint64_t fault_batches; /* write transactions failed since storage_fault was set */
    int chain_fault;
    char chain_fault_msg[256];
    uint64_t verified_through;
    pthread_t verifier;
    int verifier_started;
    atomic_int verifier_stop;
    pipeline_stats stats;    /* under st_mu */
    signer_set *trust_roots; /* genesis set, NULL if none */
};

int64_t pl_now_ms(const pipeline *p);
/* store_bytes_cb that appends the bytes to the buf passed as ctx. */
int pl_copy_bytes(void *ctx, const void *data, size_t len);

/* --- ops and the queue (queue.c) --- */
op *op_new(op_kind kind, const write_ctx *w);
void op_release(op *o);
/* Submits and waits. On Busy/Timeout the result says so; returns the op's result moved into r. */
void op_submit_and_wait(pipeline *p, op *o, const write_ctx *w, pipeline_result *r);
/* Records a caller-side rejection: fills r with the error and audits it (waits best effort). */
void pl_reject(pipeline *p, const write_ctx *w, const char *event, const char *proposal_id,
               const char *payload_b3, const char *signer_id, const svcr_err *e,
               pipeline_result *r);
/* Committer side: logs the op's outcome as its submitter gets it (op_log_outcome) and
 * signals completion, both under the op's lock so a submitter that times out meanwhile is
 * logged as answered Timeout. `stored`: the batch's transaction committed. */
void op_complete(op *o, int stored);
/* Takes everything queued (blocks until something is queued or stopping). NULL when stopping
 * and empty. */
op *queue_take_all(pipeline *p, size_t *n);

/* --- the batch (committer.c) --- */
typedef struct batch batch;
void *committer_main(void *arg);

/* Lookup inside a batch: shadow copies first, then the map, then records preloaded from
 * storage. Borrowed, read-only. */
const proposal *batch_find(pipeline *p, batch *b, const char *id);
/* A modifiable copy of the proposal inside the batch (cloned on first edit). */
proposal *batch_edit(pipeline *p, batch *b, const char *id);
/* Adds a new proposal (the batch takes ownership). 0 or -1. */
int batch_add(batch *b, proposal *pr);
/* What pending proposals hold once this batch commits: the map plus the proposals the batch
 * added (so a burst in one batch cannot pass a cap); key_* for root key id key_id. */
void batch_pending_usage(pipeline *p, batch *b, const char *key_id, map_usage *u);
/* limits.pending_bytes in force (the option, or its default of 64 MiB). */
uint64_t pl_pending_budget(const pipeline *p);
head_snap *batch_head(batch *b);
int batch_frozen(batch *b);
int64_t batch_now(batch *b);
store_txn *batch_txn(batch *b);
/* Writes the audit record for an applied op. */
void batch_audit(pipeline *p, batch *b, const audit_entry *e);
/* Marks the batch as failed in storage. */
void batch_fail(batch *b, int store_status);
int batch_failed(batch *b);
/* Moves HEAD forward inside the batch. */
void batch_set_head(batch *b, head_snap *h);
void batch_set_frozen(batch *b, int frozen, const char *reason);
void batch_add_event(batch *b, const bus_event *e);

/* --- per-operation rules (propose.c, approve.c, commit.c, freeze.c) --- */
void apply_propose(pipeline *p, batch *b, op *o);
void apply_approve(pipeline *p, batch *b, op *o);
void apply_commit(pipeline *p, batch *b, op *o);
void apply_freeze(pipeline *p, batch *b, op *o);
void apply_audit(pipeline *p, batch *b, op *o);

/* Fills r with an error (copying e). */
void result_error(pipeline_result *r, const svcr_err *e);
/* Fills r with an error built from the arguments. */
void result_fail(pipeline_result *r, svcr_code code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The JSON shape shared by commit and supersede responses. */
int render_commit_body(buf *out, uint64_t version, const char *payload_b3, int64_t committed_at_ms);
/* Success: status and a body built by the caller (moved into r). */
void result_ok(pipeline_result *r, int http_status, buf *body);

/* The write gate every write passes first: frozen (503 maintenance), no signers (503),
 * chain fault (503). SVCR_OK or the error (in e). A storage fault is not refused here: the
 * committer decides which write probes recovery (batch_probe_gate). */
svcr_code pl_write_gate(pipeline *p, svcr_err *e);
/* Same gate inside a batch (uses the batch's frozen state), then batch_probe_gate. */
svcr_code batch_write_gate(pipeline *p, batch *b, svcr_err *e);
/* While the write plane is down for storage, a transaction admits one write: the first op to
 * pass here is the recovery probe (SVCR_OK); every later one gets 503 NotReady "storage". With
 * no storage fault: always SVCR_OK. See docs/DECISIONS.md D30. */
svcr_code batch_probe_gate(batch *b, svcr_err *e);
/* Logs the governance line of an op from the answer its caller actually gets (called once the
 * batch's outcome is known, before the submitter is woken): accepted/rejected, status and
 * err.code. `stored`: the batch's transaction committed; `abandoned`: the caller was already
 * answered Timeout (the line then says so, and what became of the op). */
void op_log_outcome(const op *o, int stored, int abandoned);

/* Writes an applied op's audit record and, for a rejection, its error into o->res. The entry's
 * corr_id and input_b3 are taken from the op. */
void finish_op(pipeline *p, batch *b, op *o, audit_entry *e, const svcr_err *rejection);
/* 409 (committed, stale) / 410 (expired) for a proposal that can no longer take approvals or
 * be committed; SVCR_OK when pending. */
svcr_code pl_check_open(proposal_status st, svcr_err *e);
/* The first steps of every op on an existing proposal: the write gate, then the lookup
 * (404). On failure the op is finished (audited, answered) and NULL returned; on success
 * ae->payload_b3 is set. */
const proposal *batch_gate_and_find(pipeline *p, batch *b, op *o, audit_entry *ae);
/* Stores a proposal record in the batch's transaction. */
void batch_put_proposal(pipeline *p, batch *b, const proposal *pr);

#endif
