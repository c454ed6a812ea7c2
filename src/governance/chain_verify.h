/* chain_verify.h - re-verification of stored history: each version's hash link, payload hash,
 * artifact hash, approvals (against the signer set of its era) and quorum. Used at startup, by
 * the background verifier and by `svcr verify-store`. */
#ifndef SVCR_GOVERNANCE_CHAIN_VERIFY_H
#define SVCR_GOVERNANCE_CHAIN_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/b3.h"
#include "governance/signer_set.h"
#include "interop/error.h"

typedef struct chain_verifier {
    uint64_t next_version;        /* the version the next step must be */
    char prev_b3[B3_TAG_LEN + 1]; /* payload_b3 of next_version - 1 (zeros at genesis) */
    signer_set *governing;        /* set that governs next_version (owned reference) */
    int64_t prev_committed_at_ms;
} chain_verifier;

/* Starts at version 1 with the trust roots as the governing set (retained). */
void chain_verifier_init_genesis(chain_verifier *cv, signer_set *roots);
/* Starts after an already-trusted version `version` whose artifact bytes are given (the
 * payload_b3 and signer set are taken from it without re-verifying it). */
svcr_code chain_verifier_init_after(chain_verifier *cv, uint64_t version, const void *bytes,
                                    size_t len, svcr_err *err);
void chain_verifier_free(chain_verifier *cv);

/* Verifies the artifact of cv->next_version and advances. `stored_b3` is the artifact hash the
 * store kept for it (NULL to skip that check). On failure returns SVCR_E_MALFORMED (or
 * SVCR_E_INVALID_SIG / SVCR_E_QUORUM_FAILED) with err->message naming the version and what
 * broke; cv is unchanged. `check_sigs` 0 skips signature arithmetic (links and hashes only). */
svcr_code chain_verify_next(chain_verifier *cv, const void *artifact, size_t len,
                            const uint8_t stored_b3[B3_LEN], int check_sigs, svcr_err *err);

#endif
