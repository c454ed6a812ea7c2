/* store_verify.h - whole-store verification: every stored version from the trust roots to HEAD
 * (through chain_verify_next), the HEAD record, and the whole audit chain. Used by
 * `svcr verify-store`; reusable by the server's deep verify. */
#ifndef SVCR_GOVERNANCE_STORE_VERIFY_H
#define SVCR_GOVERNANCE_STORE_VERIFY_H

#include <stdint.h>

#include "crypto/b3.h"
#include "storage/store.h"

/* Verification progress, handed to the progress callback. */
typedef struct store_verify_progress {
    uint64_t versions_done, versions_total; /* versions checked so far / HEAD */
    uint64_t audit_done, audit_total;       /* audit records checked so far / last seq */
} store_verify_progress;

/* Called from the thread that called store_verify_all, about every 100 ms and once at the end;
 * must not call back into the verifier. */
typedef void (*store_verify_progress_cb)(void *ctx, const store_verify_progress *p);

typedef struct store_verify_opts {
    unsigned threads;                  /* worker threads; 0: one per online CPU (at most 16) */
    store_verify_progress_cb progress; /* may be NULL */
    void *progress_ctx;
} store_verify_opts;

typedef struct store_verify_result {
    uint64_t head_version;        /* HEAD as read at the start */
    char head_b3[B3_TAG_LEN + 1]; /* its payload_b3 (zeros at version 0) */
    uint64_t versions_verified;   /* versions 1..n that verified (n = head_version if ok) */
    uint64_t audit_records;       /* last audit seq as read at the start */
    uint64_t audit_verified;      /* audit records 1..n that verified */
    uint64_t failed_version;      /* first version that does not verify, or 0 */
    uint64_t failed_audit_seq;    /* first audit record that does not verify, or 0 */
    int head_mismatch;            /* the HEAD record disagrees with the last version */
    int storage_error;            /* a read failed (the store_status is in message) */
    char message[320];            /* "" when ok; else the first failure, naming where */
} store_verify_result;

#define STORE_VERIFY_OK 0
#define STORE_VERIFY_FAILED 1

/* Re-verifies everything `st` holds, reading only (a read-only store works, also beside a live
 * writer: what is verified is the HEAD read at the start and the audit records up to the last
 * seq read at the start; later appends are ignored).
 *
 * Checks, for every version 1..HEAD in order: the artifact exists and hashes to the stored
 * per-version artifact hash, payload_b3 = BLAKE3(JCS(payload)), version numbering, prev_hash
 * links, proposal_id, sorted distinct approvals whose signers are valid in their era and whose
 * signatures verify, quorum (chain_verify_next with signatures on). Version 1 is governed by the
 * trust roots in meta "trust_roots"; version V's payload's signer set governs V + 1. Then: the
 * HEAD record equals the last version (version, payload_b3, committed_at); no version exists
 * beyond HEAD while HEAD is unchanged; audit records 1..last form one chain
 * (audit_record_verify). The work is split over `threads` workers by ranges (each range starts
 * from the unverified artifact or audit record just before it, which the range before it
 * verifies), so the outcome equals a sequential pass.
 *
 * Returns STORE_VERIFY_OK, or STORE_VERIFY_FAILED with out->message naming the first failing
 * version (or "HEAD", or the audit seq) and what broke; a storage read error is also
 * STORE_VERIFY_FAILED (out->storage_error set). `o` may be NULL (defaults). Never writes. */
int store_verify_all(store *st, const store_verify_opts *o, store_verify_result *out);

#endif
