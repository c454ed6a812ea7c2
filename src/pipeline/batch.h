/* batch.h - what one batch of operations does, behind an opaque pl_batch: the storage write
 * transaction, audit appends, shadow copies of the proposals it touches, the tentative HEAD and
 * freeze state, bus events, and the end of each op. Everything here runs on the committer; the
 * batch is published (or failed) as a whole. Private to src/pipeline/. */
#ifndef SVCR_PIPELINE_BATCH_H
#define SVCR_PIPELINE_BATCH_H

#include "pipeline/op.h"

/* --- life of a batch (called by the loop, committer.c) --- */
/* An empty batch (reused by every batch). NULL on OOM. Opener. */
pl_batch *pl_batch_new(void);
/* Frees a batch (ended, or never begun). Opener, after the committer is joined. */
void pl_batch_free(pl_batch *b);
/* Starts a batch over `list`: takes the published HEAD, audit tip, freeze state and storage
 * fault, loads from storage the proposals the ops name that are not pending in memory (so no
 * read runs inside the write), then opens the write transaction (a failure fails the batch).
 * Committer. */
void pl_batch_begin(pipeline *p, pl_batch *b, const pl_op *list);
/* Closes the transaction once every op is applied: writes the pending index if proposals or
 * HEAD changed, commits (one fsync), or aborts a failed batch. 1 if the batch is stored, else
 * 0. Committer. */
int pl_batch_commit(pipeline *p, pl_batch *b);
/* After a stored batch: the batch's view becomes everyone's: the proposal map under its write
 * lock, then HEAD (swapped), the audit tip and freeze state, then bus events; clears a storage
 * fault (logging the recovery). Committer. */
void pl_batch_publish(pipeline *p, pl_batch *b);
/* After a failed batch: every op of `list` is answered 503 NotReady (storage), nothing is
 * published, the write plane goes down and the fault is logged once when it begins (with the
 * store's own words). Committer. */
void pl_batch_fail_ops(pipeline *p, pl_batch *b, pl_op *list);
/* Releases what the batch held (shadow copies, preloaded records, events, its HEAD reference)
 * so the next one starts empty. Committer. */
void pl_batch_end(pl_batch *b);

/* --- the batch's view (called by the rules); all committer --- */
/* Lookup: shadow copies first, then the map, then records preloaded from storage. Borrowed,
 * read-only. NULL if unknown. */
const proposal *pl_batch_find(pipeline *p, pl_batch *b, const char *id);
/* A modifiable copy of the proposal inside the batch (cloned on first edit). NULL if unknown
 * or on OOM. */
proposal *pl_batch_edit(pipeline *p, pl_batch *b, const char *id);
/* Adds a new proposal (the batch takes ownership on success). 0 or -1 (OOM). */
int pl_batch_add(pl_batch *b, proposal *pr);
/* What pending proposals hold once this batch commits: the map plus the proposals the batch
 * added (so a burst in one batch cannot pass a cap, D41); key_* for root key id key_id. */
void pl_batch_pending_usage(pipeline *p, pl_batch *b, const char *key_id, pl_usage *u);
/* The tentative HEAD (borrowed; valid until the next pl_batch_set_head). */
head_snap *pl_batch_head(pl_batch *b);
/* The wall-clock time the batch began (one time for every op of it). */
int64_t pl_batch_now(pl_batch *b);
/* 1 once the batch has failed (storage or OOM): later ops are not applied. */
int pl_batch_failed(pl_batch *b);
/* Marks the batch as failed with a store status (0: STORE_EIO); the first failure sticks. */
void pl_batch_fail(pl_batch *b, int store_status);

/* --- writes inside the batch (committer; each fails the batch on error) --- */
/* Moves the tentative HEAD to h, exactly one version on (takes the reference). */
void pl_batch_set_head(pl_batch *b, head_snap *h);
/* The tentative freeze state. */
void pl_batch_set_frozen(pl_batch *b, int frozen, const char *reason);
/* Queues a bus event, published after the transaction is stored (dropped on OOM). */
void pl_batch_add_event(pl_batch *b, const bus_event *e);
/* Stores a proposal record. */
void pl_batch_put_proposal(pipeline *p, pl_batch *b, const proposal *pr);
/* Stores a committed version's artifact and the HEAD record. STORE_OK or the failure. */
int pl_batch_put_version(pipeline *p, pl_batch *b, const store_head *sh, const buf *art,
                         const uint8_t art_b3[B3_LEN]);
/* Sets (data != NULL) or deletes meta `key`. STORE_OK or the failure. */
int pl_batch_put_meta(pipeline *p, pl_batch *b, const char *key, const void *data, size_t len);

/* --- gates and the end of each op (committer) --- */
/* While the write plane is down for storage, a transaction admits one write: the first op to
 * pass here is the recovery probe (SVCR_OK); every later one gets 503 NotReady "storage". With
 * no storage fault: always SVCR_OK. See docs/DECISIONS.md D30. */
svcr_code pl_batch_probe_gate(pl_batch *b, svcr_err *e);
/* The write gate on the batch's own state (its freeze flag and HEAD), then the probe gate. */
svcr_code pl_batch_write_gate(pipeline *p, pl_batch *b, svcr_err *e);
/* The first steps of every op on an existing proposal: the write gate, then the lookup (404).
 * On failure the op is finished (audited, answered) and NULL returned; on success
 * ae->payload_b3 is set. */
const proposal *pl_batch_gate_and_find(pipeline *p, pl_batch *b, pl_op *o, audit_entry *ae);
/* The end of an applied op: writes its audit record (corr_id and input_b3 taken from the op)
 * and, for a rejection, puts the error into o->res; keeps what the outcome log line needs. */
void pl_batch_finish_op(pipeline *p, pl_batch *b, pl_op *o, audit_entry *e,
                        const svcr_err *rejection);

#endif
