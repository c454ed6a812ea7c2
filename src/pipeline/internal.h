/* internal.h - what the pipeline's own files share (private to src/pipeline/; the HTTP layer
 * sees only pipeline.h): the pipeline object, split by owner, and the leaf helpers every file
 * may call (base.c, result.c, gate.c).
 *
 * Threads, as every function's comment names them: "committer" is svcr-commit, the single
 * writer; "request threads" are the HTTP workers calling pipeline.h; "verifier" is svcr-verify
 * (and the startup verification chunks); "opener" is the thread in pipeline_open/close, before
 * any other pipeline thread runs or after they are joined; "any" is any of them.
 *
 * Calls inside the module go one way (scripts/check-calls.sh src/pipeline checks it):
 *   committer.c (the loop) -> pl_rules (rules.c) -> the rules: propose.c, approve.c, commit.c,
 *     freeze.c -> batch.c (batch.h) -> leaves;
 *   the loop and the rules' request halves -> queue.c -> op.c -> leaves;
 *   open.c (start, stop; runs pl_committer_main as the thread) -> batch.c (new, free), leaves;
 *   reads.c -> leaves;
 *   leaves: gate.c (-> head.c), result.c, base.c, head.c, proposal_map.c. */
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

typedef struct pl_batch pl_batch;

/* Set by pipeline_open before any thread starts; read-only afterwards (any thread). */
typedef struct pl_cfg {
    pipeline_opts o;
    store *st;               /* borrowed */
    bus *bus;                /* borrowed; may be NULL */
    signer_set *trust_roots; /* genesis set, NULL if none */
} pl_cfg;

/* The pending proposals. The committer is the only writer and changes the map under the write
 * lock (publish); request threads read under the read lock and copy what they need; the
 * committer reads without it. */
typedef struct pl_pending {
    pthread_rwlock_t lock;
    pl_map map;
    /* bytes held (+1) when a proposal was last refused for the global cap or budget; the
     * registry counts as full while the pending set has not shrunk below it (committer writes,
     * request threads read: atomic) */
    _Atomic uint64_t refused_at;
} pl_pending;

/* The bounded submission queue: every field under mu. Request threads push, the committer
 * takes everything at once, pipeline_close sets stopping. */
typedef struct pl_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pl_op *head, *tail;
    size_t len, cap; /* cap: fixed at open */
    int stopping;
} pl_queue;

/* The committer thread's own state: nobody else reads it once the thread runs (the opener
 * fills it before, and joins the thread before freeing it). */
typedef struct pl_writer {
    pthread_t thread;
    pthread_t self;  /* the committer's own id, set by it first: batches assert it */
    int started;     /* opener only */
    audit_tip tip;   /* the audit chain's last record, as of the last stored batch */
    pl_batch *batch; /* reused by every batch (allocated at open) */
} pl_writer;

/* What /readyz and /metrics report: every field under mu. Writers: the committer (publish,
 * failures, stats), the verifier (chain_fault, verified_through, verify_seconds), request
 * threads (stats.busy); the opener before any thread runs. */
typedef struct pl_state {
    pthread_mutex_t mu;
    int frozen;
    char frozen_reason[REASON_MAX + 1];
    int storage_fault;      /* the last write transaction failed (writes: one probe each) */
    uint64_t fault_batches; /* write transactions failed since storage_fault was set */
    int chain_fault;
    char chain_fault_msg[256];
    uint64_t verified_through;
    pipeline_stats stats;
} pl_state;

/* The background verifier: thread and started are the opener's; stop is atomic (the opener
 * sets it at close, the verifier polls it). */
typedef struct pl_verifier {
    pthread_t thread;
    int started;
    atomic_int stop;
} pl_verifier;

struct pipeline {
    pl_cfg cfg;      /* read-only after open */
    head_cell head;  /* its own mutex; the committer publishes, anyone takes a reference */
    pl_pending pend; /* rwlock; the committer writes */
    pl_queue q;      /* q.mu */
    pl_writer wr;    /* the committer thread only */
    pl_state state;  /* state.mu */
    pl_verifier ver; /* the opener; ver.stop atomic */
};

/* --- leaf helpers (base.c) --- */
/* Wall-clock milliseconds (the now_ms hook if set): expiry and audit timestamps. Any. */
int64_t pl_now_ms(const pipeline *p);
/* store_bytes_cb that appends the bytes to the buf passed as ctx. Any. */
int pl_copy_bytes(void *ctx, const void *data, size_t len);
/* limits.pending_bytes in force (the option, or its default of 64 MiB). Any. */
uint64_t pl_pending_budget(const pipeline *p);

/* --- results (result.c); any thread, on a result it alone holds --- */
/* Fills r with an error (copying e). */
void pl_result_error(pipeline_result *r, const svcr_err *e);
/* Fills r with an error built from the arguments. */
void pl_result_fail(pipeline_result *r, svcr_code code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Success: status and a body built by the caller (moved into r). */
void pl_result_ok(pipeline_result *r, int http_status, buf *body);
/* The JSON shape shared by commit and supersede responses. 0 or -1. */
int pl_render_commit_body(buf *out, uint64_t version, const char *payload_b3,
                          int64_t committed_at_ms);

/* --- the write gate (gate.c) --- */
/* The gate on given state: frozen (503 maintenance), chain fault (503 chain), no signers (503
 * signers). SVCR_OK or the error (in e). Any. */
svcr_code pl_gate(int frozen, int has_signers, int chain_fault, svcr_err *e);
/* The gate every write passes first, on the published state. A storage fault is not refused
 * here: the committer decides which write probes recovery (pl_batch_probe_gate). Request
 * threads. */
svcr_code pl_write_gate(pipeline *p, svcr_err *e);
/* 409 (committed, stale) / 410 (expired) for a proposal that can no longer take approvals or
 * be committed; SVCR_OK when pending. Any. */
svcr_code pl_check_open(proposal_status st, svcr_err *e);

/* --- the loop (committer.c) --- */
/* The committer thread's body (svcr-commit): runs batches until the queue is stopped and
 * drained. Committer. */
void *pl_committer_main(void *arg);

#endif
