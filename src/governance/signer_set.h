/* signer_set.h - the governance signer set (SPEC §2.2): who may approve, and how many must. */
#ifndef SVCR_GOVERNANCE_SIGNER_SET_H
#define SVCR_GOVERNANCE_SIGNER_SET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto/sig_algo.h"
#include "interop/error.h"

#define SIGNER_ID_MAX 256
#define SIGNER_SET_DEFAULT_TTL_SECS 259200u
/* proposal_ttl_secs at most 365 days: every expires_at stays a valid RFC 3339 time (DECISIONS). */
#define SIGNER_SET_MAX_TTL_SECS 31536000

/* One listed signer. Its key is (algo, pk[0..pk_len)): what the bytes mean, and their length
 * (pk_len == algo->pk_len), come from the algo's row of the sig_algo table. */
typedef struct signer {
    char id[SIGNER_ID_MAX + 1];
    char org[SIGNER_ID_MAX + 1];
    const sig_algo *algo; /* the row of its `algo`; never NULL in a parsed set */
    uint8_t pk[SIG_PK_MAX];
    size_t pk_len;
    int revoked;        /* has revoked_at: listed as a record, never counts */
    int64_t revoked_at; /* Unix seconds, when revoked */
} signer;

/* Immutable once built; shared by reference count between the head snapshot and the proposals
 * whose approvals it governs. */
typedef struct signer_set {
    atomic_int refs;
    uint32_t m;
    uint32_t k_pq;
    uint64_t ttl_secs;
    size_t n;        /* listed signers (sorted by id) */
    size_t n_active; /* N: signers without revoked_at */
    signer *signers;
} signer_set;

/* Builds a signer set from a `signer_set` item object (the trust-roots file or an item of a
 * payload). Checks: only known fields; kind "signer_set", id "governance"; quorum {m} with
 * 1 <= m <= N; k_pq 0 in v1 (no PQ signers exist yet); 1 <= proposal_ttl_secs <=
 * SIGNER_SET_MAX_TTL_SECS; signers >= 1, unique ids of 1..256 bytes, algo a name with a row
 * in the sig_algo table (else reason "algo_unsupported"; "ml-dsa-65" has none yet), public_key
 * standard base64 of exactly the row's pk_len bytes (else "key_encoding") that the row's
 * pk_valid accepts (else reason "weak_key"; Ed25519: ed25519_pk_valid), each key, compared as
 * (algo, bytes), listed once per set, revoked entries included (else reason
 * "duplicate_key", the message naming both entries by index and signer_id), org optional
 * (default: text between "org:" and "#"), revoked_at optional RFC 3339. Since keys are unique,
 * N also counts distinct keys. `path` names the item in errors (e.g. "payload.items[0]").
 * Returns SVCR_OK and a set with one reference, or SVCR_E_MALFORMED with err naming the
 * offending field (SVCR_E_INTERNAL when out of memory). */
svcr_code signer_set_from_json(const json_t *item, const char *path, signer_set **out,
                               svcr_err *err);
/* The listed signer with this id, or NULL (unknown). Binary search; borrowed pointer. */
const signer *signer_set_find(const signer_set *s, const char *id);
/* 1 if a and b list the same key: the same algo row and the same key bytes, else 0. This is
 * the identity of a key for the duplicate-key rule and the quorum count. Pure. */
int signer_same_key(const signer *a, const signer *b);
/* Reference counting; signer_set_release(NULL) is a no-op. */
signer_set *signer_set_retain(signer_set *s);
void signer_set_release(signer_set *s);

#endif
