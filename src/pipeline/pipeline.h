/* pipeline.h - the governed write path and the read path, as one object the HTTP layer calls.
 *
 * Writes: the caller's thread parses, validates, hashes and verifies signatures, then submits an
 * operation to a bounded queue (full: SVCR_E_BUSY at once) and waits for its completion until its
 * deadline (SVCR_E_TIMEOUT). One committer thread drains the queue, re-checks every rule against
 * the current HEAD, applies the whole batch in one storage transaction with one fsync (group
 * commit), appends an audit record for every accepted or rejected operation in that same
 * transaction, then publishes the new HEAD and bus events and wakes the waiters.
 *
 * Reads never take the committer's path: HEAD is an immutable snapshot; versions come straight
 * from storage.
 *
 * Threads: pipeline_open and pipeline_close run on the thread that owns the pipeline (main);
 * every other function runs on the calling request thread (writes block it until their op is
 * answered or their deadline passes; reads never wait for the committer). */
#ifndef SVCR_PIPELINE_PIPELINE_H
#define SVCR_PIPELINE_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "interop/buf.h"
#include "interop/error.h"
#include "pipeline/head.h"
#include "storage/store.h"

typedef struct pipeline pipeline;

typedef struct pipeline_opts {
    store *st;               /* borrowed; must outlive the pipeline */
    bus *bus;                /* borrowed; may be NULL */
    size_t queue_cap;        /* bounded submission queue (default 512) */
    const char *trust_roots; /* trust-roots file bytes (a signer_set item); NULL: none */
    size_t trust_roots_len;
    const char *trust_roots_pin; /* "b3:…" of the file's canonical JSON; NULL: not pinned */
    uint64_t verify_last_k;      /* versions verified before read-ready (default 1000) */
    int background_verify;       /* verify the older versions in a background thread */
    int64_t (*now_ms)(void);     /* clock; NULL: the real one */
    uint64_t pending_bytes;      /* canonical payload bytes open proposals may hold (0: 64 MiB) */
} pipeline_opts;

/* What a write request brings besides its body. Strings are borrowed for the call. */
typedef struct write_ctx {
    const char *corr_id;
    const char *input_b3;     /* b3 of the body after decompression */
    int64_t deadline_ms;      /* absolute clock_mono_ms() (observability/clock.h); 0: none */
    const char *cap_signer;   /* capability's `signer` caveat or NULL */
    const char *cap_proposal; /* capability's `proposal` caveat or NULL */
    const char *cap_key_id;   /* the capability's root key id (its pending share) or NULL */
} write_ctx;

/* The outcome of a write: an HTTP status and a JSON body on success, or an error. */
typedef struct pipeline_result {
    svcr_code code; /* SVCR_OK or the error */
    svcr_err err;
    int http_status; /* on success: 200, 201 or 202 */
    buf body;        /* on success: the response JSON (owned; pipeline_result_free) */
} pipeline_result;

/* Frees the body of a result. Any thread. */
void pipeline_result_free(pipeline_result *r);

/* Opens the pipeline over an opened store: loads HEAD and pending proposals, installs the trust
 * roots at genesis (checking the pin), verifies the last K versions, starts the committer. A pin
 * mismatch or trust roots that differ from the ones the store was founded with is
 * SVCR_E_MALFORMED (the service must refuse to start); a broken chain is not an open error: the
 * pipeline opens with writes refused and the fault reported. Main thread, before serving. */
svcr_code pipeline_open(const pipeline_opts *o, pipeline **out, svcr_err *err);
/* Stops accepting, lets the committer finish what is queued, joins threads, frees. The
 * thread that opened it, once no request thread uses it. */
void pipeline_close(pipeline *p);

/* --- writes (request threads; each blocks its caller until answered or its deadline) --- */
/* POST /registry/proposals: body {"schema_version":"1.0.0","payload":{…},"payload_b3":"b3:…"}. */
void pipeline_propose(pipeline *p, const write_ctx *w, const void *body, size_t len,
                      pipeline_result *r);
/* POST /registry/approvals/{id}: body §2.3. */
void pipeline_approve(pipeline *p, const write_ctx *w, const char *proposal_id, const void *body,
                      size_t len, pipeline_result *r);
/* POST /registry/commit/{id} (empty body or {}). */
void pipeline_commit(pipeline *p, const write_ctx *w, const char *proposal_id, const void *body,
                     size_t len, pipeline_result *r);
/* POST /registry/supersede: body {"proposal_id": "p_…"}. */
void pipeline_supersede(pipeline *p, const write_ctx *w, const void *body, size_t len,
                        pipeline_result *r);
/* POST /registry/admin/freeze (freeze = 1) or thaw (0): body {"reason": "…"}. */
void pipeline_freeze(pipeline *p, const write_ctx *w, int freeze, const void *body, size_t len,
                     pipeline_result *r);
/* Audits a write the HTTP layer refused after authentication (scope, media type, size...).
 * `event` is propose|approve|commit|supersede|freeze|thaw. Best effort: Busy is not retried. */
void pipeline_audit_rejection(pipeline *p, const write_ctx *w, const char *event,
                              const char *proposal_id, const svcr_err *e);

/* --- reads (request threads) --- */
/* A reference to the current HEAD snapshot (release with head_snap_release). */
head_snap *pipeline_head(pipeline *p);
/* Calls cb with the stored artifact bytes of `version`, after checking they hash to the
 * version's stored artifact_b3: bytes that do not are never handed out. SVCR_OK,
 * SVCR_E_NOT_FOUND, or SVCR_E_INTERNAL with err (may be NULL) saying why: reason "corrupt"
 * (the bytes do not verify, or the body of a committed version is missing while retention never
 * removes bodies) or "storage" (the read failed). */
svcr_code pipeline_get_version(pipeline *p, uint64_t version, store_bytes_cb cb, void *ctx,
                               svcr_err *err);
/* The registry.update event of a stored version (payload_b3, committed_at and the corr-id of
 * the commit that made it), for SSE replay. SVCR_OK / SVCR_E_NOT_FOUND / SVCR_E_PRUNED /
 * SVCR_E_INTERNAL. */
svcr_code pipeline_version_event(pipeline *p, uint64_t version, bus_event *out);
/* GET /registry/proposals/{id} body. SVCR_OK / SVCR_E_NOT_FOUND / SVCR_E_INTERNAL. */
svcr_code pipeline_proposal_json(pipeline *p, const char *id, buf *out);
/* GET /registry/proposals body: pending proposals only, oldest first, at most `limit` after
 * the cursor `after` (NULL: from the first), with "next": the cursor of the page's last entry
 * when more follow, else null. A cursor is "<accepted_at_ms>.<proposal_id>" and stays valid
 * when that proposal leaves. SVCR_OK, SVCR_E_MALFORMED (bad cursor), SVCR_E_INTERNAL. */
svcr_code pipeline_pending_json(pipeline *p, const char *after, size_t limit, buf *out);
/* 1 if `after` has the form of a pending-list cursor. */
int pipeline_pending_cursor_valid(const char *after);
/* GET /registry/audit body: up to `limit` records from seq `from`. */
svcr_code pipeline_audit_json(pipeline *p, uint64_t from, size_t limit, buf *out);

typedef struct pipeline_status {
    int read_ready;
    int write_ready;
    int frozen;
    int has_signers;   /* trust roots or history present */
    int storage_fault; /* the last write transaction failed */
    int chain_fault;   /* verification found a broken link or signature */
    int queue_saturated;
    uint64_t verified_through; /* background verification progress (version) */
    int64_t queue_depth;
    size_t pending_proposals;
    size_t pending_bytes; /* canonical payload bytes they hold */
    int pending_full;     /* the open-proposal cap or limits.pending_bytes is reached */
    char frozen_reason[256];
    char chain_fault_msg[256];
} pipeline_status;

/* What /readyz reports. Request threads. */
void pipeline_get_status(pipeline *p, pipeline_status *out);

/* Counters for metrics and tests. */
typedef struct pipeline_stats {
    uint64_t batches;      /* storage transactions committed */
    uint64_t ops;          /* operations applied */
    uint64_t commits;      /* versions committed */
    uint64_t cas_failures; /* commit_cas_fail_total */
    uint64_t storage_faults;
    uint64_t busy;
    uint64_t updates_ok, updates_rejected; /* registry_updates_total{result} */
    uint64_t max_batch;
    uint64_t recoveries_startup, recoveries_fault;
    double commit_latency_sum_s; /* commit_latency_seconds */
    uint64_t commit_latency_count;
    double verify_seconds; /* duration of the last chain verification pass */
} pipeline_stats;

/* A copy of the counters. Request threads. */
void pipeline_get_stats(pipeline *p, pipeline_stats *out);
/* registry_storage_bytes: what the store occupies. Request threads. */
uint64_t pipeline_storage_bytes(pipeline *p);

#endif
