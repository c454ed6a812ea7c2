/* base.h - HEAD as the base of a change, fetched and verified before svcr shows a diff against
 * it (approve) or copies anything from it (draft); and the fetch-and-verify step of a chain. */
#ifndef SVCR_TOOLS_BASE_H
#define SVCR_TOOLS_BASE_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "crypto/b3.h"
#include "governance/chain_verify.h"
#include "governance/signer_set.h"
#include "remote.h"

/* How far HEAD was verified. */
typedef enum base_trust {
    BASE_GENESIS,       /* version 0: the empty set, nothing to verify */
    BASE_FROM_ROOTS,    /* every version 1..HEAD verified from the trust roots */
    BASE_FROM_PREVIOUS, /* HEAD verified against the signer set of HEAD - 1 as served */
    BASE_HASHES_ONLY    /* version 1 without trust roots: hash and links, not its approvals */
} base_trust;

typedef struct base_head {
    uint64_t version;        /* HEAD's version; 0 is the empty genesis (no artifact) */
    char b3[B3_TAG_LEN + 1]; /* HEAD's payload_b3, the hash of the verified payload */
    json_t *artifact;        /* HEAD's verified artifact (NULL at version 0); owned */
    const json_t *payload;   /* its payload (NULL at version 0); borrowed from artifact */
    base_trust trust;
} base_head;

/* Reads a trust-roots file (a signer_set item, as the registry reads it). Returns a new
 * reference, or NULL after printing "svcr <verb>: <path>: <why>". */
signer_set *base_roots_load(const char *verb, const char *path);

/* Fetches GET /registry/head and HEAD's artifact and verifies it before anything is shown:
 * the artifact's payload hashes (RFC 8785 + BLAKE3) to its payload_b3, which equals
 * /registry/head's payload_b3; its version, prev_hash links and proposal id agree; and its
 * approvals verify and reach the quorum of the signer set that governs it (chain_verify).
 * With `roots` (NULL: none; borrowed) the whole chain 1..HEAD is verified from them. Without,
 * the governing set is the one version HEAD - 1 declares, as the registry serves it; version 1
 * then has its hash and links checked only (the registry does not serve its trust roots).
 * Returns CLI_OK with *out filled, or CLI_REFUSED after printing why on stderr (unreachable,
 * refused, or "svcr <verb>: HEAD version N does not verify: ..."). base_head_free is safe
 * afterwards in every case. */
int base_head_fetch(remote *r, signer_set *roots, base_head *out);
void base_head_free(base_head *b);
/* Prints one line saying how HEAD was verified. */
void base_head_describe(const base_head *b, FILE *f);

/* GETs version cv->next_version and verifies it with chain_verify_next (signatures included).
 * Returns CLI_OK and advances cv (the artifact's bytes are appended to `bytes` when not NULL),
 * -1 when it does not verify (an answer other than 200 included; `why` holds "version N: ..."),
 * or CLI_REFUSED when the registry could not be reached (printed). */
int base_verify_next(remote *r, chain_verifier *cv, buf *bytes, char *why, size_t why_len);

#endif
