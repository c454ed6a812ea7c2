/* proposal.h - a proposal: a validated payload, the signer set that governs it, its approvals
 * and its life (pending → committed; expired and stale are derived from time and HEAD). */
#ifndef SVCR_GOVERNANCE_PROPOSAL_H
#define SVCR_GOVERNANCE_PROPOSAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "governance/approvals.h"
#include "governance/descriptor_set.h"
#include "interop/buf.h"

#define PROPOSAL_ID_LEN 26 /* "p_" + 24 hex digits */
#define CORR_ID_MAX 40
#define PROPOSAL_KEY_ID_MAX 64 /* the capability root key id that admitted a proposal */

typedef enum proposal_status {
    PROPOSAL_PENDING = 0,
    PROPOSAL_COMMITTED,
    PROPOSAL_EXPIRED, /* derived: pending past expires_at */
    PROPOSAL_STALE,   /* derived: pending whose target version HEAD has passed */
} proposal_status;

typedef struct proposal {
    char id[PROPOSAL_ID_LEN + 1];
    descriptor_set *ds;    /* owned */
    signer_set *governing; /* owned reference; NULL when loaded stale (never needed again) */
    int64_t accepted_at_ms;
    int64_t expires_at_ms;
    uint32_t quorum_m, quorum_n; /* of the governing set, kept so a stored record shows them */
    gov_approval *approvals;     /* owned array, in arrival order */
    size_t n_approvals, cap_approvals;
    proposal_status status; /* stored status: PENDING or COMMITTED */
    uint64_t committed_version;
    int64_t committed_at_ms;
    char commit_corr_id[CORR_ID_MAX + 1]; /* corr-id of the request that committed it */
    char key_id[PROPOSAL_KEY_ID_MAX + 1]; /* root key id of its proposer's capability; "" unknown */
} proposal;

/* "p_" + the first 24 hex digits of payload_b3. */
void proposal_id_from_b3(const char *payload_b3, char out[PROPOSAL_ID_LEN + 1]);
/* True when s[0..len) has the form of a proposal id. */
int proposal_id_valid(const char *s, size_t len);

/* New pending proposal taking ownership of `ds` and a reference to `governing`. NULL on OOM
 * (then ds is freed). */
proposal *proposal_new(descriptor_set *ds, signer_set *governing, int64_t accepted_at_ms);
/* Deep copy (the payload and signer set are shared immutable objects, retained). */
proposal *proposal_clone(const proposal *p);
void proposal_free(proposal *p);
/* Appends an approval. Returns 0 or -1 (OOM). */
int proposal_add_approval(proposal *p, const gov_approval *a);
/* The approval by this signer, or NULL. */
const gov_approval *proposal_find_approval(const proposal *p, const char *signer_id);

/* The status a reader sees at `now_ms` with HEAD at `head_version`. */
proposal_status proposal_effective_status(const proposal *p, uint64_t head_version, int64_t now_ms);
const char *proposal_status_name(proposal_status s);

/* Storage record: canonical JSON holding everything needed to rebuild the proposal (the
 * governing set is not stored; it is derived from the chain when loading). A committed record
 * drops the payload (its version's artifact holds it): decoding one gives a descriptor set with
 * only b3, version and supersede_of, and json NULL. 0 or -1 (OOM). */
int proposal_encode(const proposal *p, buf *out);
/* Rebuilds a proposal from its storage record; `governing` (may be NULL) is retained. */
svcr_code proposal_decode(const void *rec, size_t len, signer_set *governing, proposal **out,
                          svcr_err *err);

/* The approvals sorted by signer_id as a JSON array (what the artifact carries). */
json_t *proposal_approvals_json(const proposal *p, int sorted);

#endif
