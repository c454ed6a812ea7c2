/* audit.h - the hash-linked audit trail of SPEC §8: building records and checking the chain. */
#ifndef SVCR_GOVERNANCE_AUDIT_H
#define SVCR_GOVERNANCE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/b3.h"
#include "interop/buf.h"
#include "interop/error.h"

/* What happened; the strings are borrowed and optional fields may be NULL / 0. */
typedef struct audit_entry {
    const char *event; /* propose|approve|commit|supersede|freeze|thaw */
    int accepted;
    svcr_code err_code; /* when rejected */
    const char *reason; /* details.reason of a rejection, or the freeze/thaw reason */
    const char *corr_id;
    const char *proposal_id;
    const char *payload_b3;
    const char *signer_id;
    uint64_t version;     /* 0: absent */
    const char *input_b3; /* b3 of the request body after decompression */
} audit_entry;

/* The tip of the chain: last seq (0 before the first record) and its hash. */
typedef struct audit_tip {
    uint64_t seq;
    char hash[B3_TAG_LEN + 1];
} audit_tip;

/* Resets a tip to the empty chain (seq 0, prev = zeros). */
void audit_tip_init(audit_tip *t);
/* Builds the next record after `tip` (seq + 1, prev = tip hash), writes its canonical JSON
 * (with `hash`) to out, and advances tip. 0, or -1 (OOM or a bad timestamp). */
int audit_record_build(audit_tip *tip, const audit_entry *e, int64_t ts_ms, buf *out);
/* Checks one stored record against the tip before it: seq = tip.seq + 1, prev = tip.hash, and
 * hash = b3 of the record's JCS without `hash`. Advances the tip on success. SVCR_OK or
 * SVCR_E_MALFORMED with a message. */
svcr_code audit_record_verify(audit_tip *tip, const void *rec, size_t len, svcr_err *err);

#endif
