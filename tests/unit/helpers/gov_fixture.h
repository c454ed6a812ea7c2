/* gov_fixture.h - test fixture for governance: signer keys, trust roots, payloads and signed
 * approvals, and a pipeline over a chosen store. */
#ifndef SVCR_GOV_FIXTURE_H
#define SVCR_GOV_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ed25519.h"
#include "interop/buf.h"
#include "pipeline/pipeline.h"

#define FX_MAX_SIGNERS 40

typedef struct fx_signer {
    char id[64];
    uint8_t pk[ED25519_PK_LEN];
    uint8_t sk[ED25519_SK_LEN];
    int revoked;
} fx_signer;

typedef struct fx_keys {
    fx_signer s[FX_MAX_SIGNERS];
    size_t n;
    unsigned m;
    uint64_t ttl_secs; /* 0: default */
} fx_keys;

/* n fresh signers "org:o<i>#k<gen>", quorum m. */
void fx_keys_make(fx_keys *k, size_t n, unsigned m, int gen);
/* The signer_set item JSON for these keys (caller frees). */
char *fx_signer_set_json(const fx_keys *k);
/* A payload for `version` extending prev_b3, declaring `k` as the signer set, with `extra`
 * extra items (regions/services) and an optional supersede_of/reason (NULL: none). Caller
 * frees. */
char *fx_payload_json(uint64_t version, const char *prev_b3, const fx_keys *k, int extra,
                      const char *supersede_of, const char *supersede_reason);
/* Proposal request body {"schema_version":"1.0.0","payload":…}. Caller frees. */
char *fx_propose_body(const char *payload_json);
/* Approval body signed by signer i over payload_b3, with signed_at = now (or now + skew_s). */
char *fx_approval_body(const fx_keys *k, size_t i, const char *payload_b3, long skew_s);

/* A pipeline over `st` with trust roots `roots` (NULL: none). */
pipeline *fx_pipeline(store *st, const fx_keys *roots, uint64_t verify_k);
/* Shorthands that fail the test on transport-level surprises and return the result code;
 * *body_out (if not NULL) receives the body (caller frees). */
svcr_code fx_propose(pipeline *p, const char *payload_json, char payload_b3_out[68],
                     char id_out[27], int *http_out);
svcr_code fx_approve(pipeline *p, const char *id, const fx_keys *k, size_t i,
                     const char *payload_b3);
svcr_code fx_commit(pipeline *p, const char *id, int *http_out);
/* Proposes a payload for HEAD+1 with `k` as its set and commits it with approvals of the
 * governing signers `gov` (indexes 0..m-1). Returns the commit's code. */
svcr_code fx_cycle(pipeline *p, const fx_keys *gov, const fx_keys *next, int extra);

/* A fresh temp dir (caller frees the string; fx_rmrf removes the tree). */
char *fx_tempdir(void);
void fx_rmrf(const char *path);

/* --- added for the property and group-commit tests (thread-safe: no cmocka assertions) --- */

/* n deterministic signers derived from `seed`: ids "org:<name>#k<gen>" where <name> is a few
 * mixed-case letters and digits ending in the signer's index (unique, and not in index order
 * under strcmp), keys from seeds drawn from `seed`; quorum m. Same arguments, same keys. */
void fx_keys_make_seeded(fx_keys *k, size_t n, unsigned m, int gen, uint64_t seed);
/* Approval body claiming `signer_id`, signed with `sk` (need not be that signer's key) over
 * payload_b3, signed_at = now + skew_s. NULL if payload_b3 is not a b3 tag. Caller frees. */
char *fx_approval_body_as(const char *signer_id, const uint8_t sk[ED25519_SK_LEN],
                          const char *payload_b3, long skew_s);
/* A payload for `version` extending prev_b3, declaring `k`, with one service whose id and
 * meta carry `tag`: distinct tags give distinct payloads of the same size. Caller frees. */
char *fx_payload_json_tagged(uint64_t version, const char *prev_b3, const fx_keys *k,
                             const char *tag);
/* Submits an approval body; returns the result code and, if err_out is not NULL, the error. */
svcr_code fx_approve_raw(pipeline *p, const char *id, const char *body, svcr_err *err_out);
/* Re-verifies stored versions 1..through of `st` (through the pipeline's read path) from the
 * genesis set `roots`: hash links, payload and artifact hashes (against the stored artifact
 * hash), approvals with signatures, quorum of each era. SVCR_OK, or the first failure with a
 * message in msg (capacity cap). */
svcr_code fx_verify_chain(pipeline *p, store *st, const fx_keys *roots, uint64_t through, char *msg,
                          size_t cap);

/* --- hand-written history, for verifier tests ------------------------------------------ */

/* One approval of a hand-written artifact: the id it claims and the key it signs with. */
typedef struct fx_hand_approval {
    const char *signer_id;
    const uint8_t *sk; /* borrowed */
} fx_hand_approval;

/* Signers org:x#k1, org:x#k2 and org:y#k1 (quorum 2, fresh keys, gen 7) where x#k2 is listed
 * with x#k1's public key and holds its secret key: whoever holds that one key can approve as
 * both. signer_set_from_json refuses such a set; fx_write_hand_store writes it anyway. */
void fx_keys_one_key_twice(fx_keys *d);
/* Creates (or extends from empty) the LMDB store in dir with trust roots `roots` (meta
 * "trust_roots", canonical) and versions 1..n written straight through the storage API in one
 * transaction, nothing validated: version v declares sets[v - 1] (fx_payload_json, one extra
 * service), links to version v - 1, and carries apps[v - 1] (two approvals, given in signer_id
 * order, signed over its payload_b3). HEAD is set to n. Fails the test on any storage error. */
void fx_write_hand_store(const char *dir, const fx_keys *roots, const fx_keys *const *sets,
                         const fx_hand_approval (*apps)[2], uint64_t n);

#endif
