/* approvals.h - one signer's approval of a payload (SPEC §2.3) and the checks of SPEC §4.3. */
#ifndef SVCR_GOVERNANCE_APPROVALS_H
#define SVCR_GOVERNANCE_APPROVALS_H

#include <stdint.h>

#include <jansson.h>

#include "crypto/approval.h"
#include "governance/signer_set.h"
#include "interop/error.h"

#define APPROVAL_SIGNED_AT_SKEW_SECS 300
#define APPROVAL_ALGO_MAX 32
#define APPROVAL_TS_MAX 40

/* One approval. It does not know its algorithm's sizes: `algo` is the name as sent, and the
 * signature is sig[0..sig_len), decoded against that name's row of the sig_algo table. A plain
 * value (no pointers), copied freely; written back as the same JSON bytes it was read from. */
typedef struct gov_approval {
    char signer_id[SIGNER_ID_MAX + 1];
    char algo[APPROVAL_ALGO_MAX + 1]; /* as sent; must equal the signer's row name to count */
    uint8_t sig[SIG_SIG_MAX];
    size_t sig_len;
    char signed_at[APPROVAL_TS_MAX + 1]; /* as sent: it is echoed in the artifact */
    int64_t signed_at_s;
} gov_approval;

/* Decodes an approval body: exactly {signer_id, algo, sig, signed_at}, all strings; signed_at
 * RFC 3339 UTC; sig standard padded base64 (D6) of exactly the sig_len of algo's row, or, for
 * an algo without a row, of some row's sig_len (it then fails the algo check of
 * gov_approval_check_membership, 422, as SPEC §4.3 orders). Anything else is SVCR_E_MALFORMED
 * with the field named (step 1 of §4.3). `path` prefixes error paths ("" for a request
 * body). */
svcr_code gov_approval_decode(const json_t *body, const char *path, gov_approval *out,
                              svcr_err *err);

/* The remaining checks of §4.3, in order: signer listed (UnknownSigner), not revoked
 * (RevokedKey), algo equal to the signer's (InvalidSig, reason "algo_mismatch"), signed_at within
 * [accepted_at - 300 s, now + 300 s] (InvalidSig, reason "signed_at"), signature valid over the
 * §3 message for payload_b3 (InvalidSig). Pure function of its inputs. */
svcr_code gov_approval_check(const gov_approval *a, const signer_set *set, const char *payload_b3,
                             int64_t accepted_at_s, int64_t now_s, svcr_err *err);

/* The membership part of the checks only (listed, not revoked, algo): what the committer
 * re-checks without redoing signature arithmetic. */
svcr_code gov_approval_check_membership(const gov_approval *a, const signer_set *set,
                                        svcr_err *err);

/* Counts distinct approvers among `list` that pass gov_approval_check_membership against
 * `set`: approvals by the same signer_id count once, and so do approvals by different
 * signer_ids listed with the same key (signer_same_key; signer_set_from_json refuses such a
 * set; this holds for any set that bypassed it). If pq is not NULL, *pq receives how many of
 * those distinct approvers' algo rows are post-quantum (sig_algo.pq), for k_pq. Approvals are
 * assumed signature-verified when accepted. Pure function; O(n^2) in the number of
 * approvals. */
size_t gov_quorum_tally(const gov_approval *list, size_t n, const signer_set *set, size_t *pq);

/* gov_quorum_tally without the post-quantum count. */
size_t gov_quorum_count(const gov_approval *list, size_t n, const signer_set *set);

/* SVCR_OK when the tally reaches set->m distinct approvers and set->k_pq post-quantum ones
 * among them (SPEC §4.4; k_pq is 0 in v1), else SVCR_E_QUORUM_FAILED with a message giving the
 * numbers that fall short. */
svcr_code gov_quorum_check(const gov_approval *list, size_t n, const signer_set *set,
                           svcr_err *err);

/* Appends the approval as a JSON object {signer_id, algo, sig, signed_at}; NULL on OOM. */
json_t *gov_approval_to_json(const gov_approval *a);

#endif
