/* artifact.h - the signed artifact of a committed version (SPEC §2.4): building it at commit,
 * parsing it back for verification. Stored and served as its RFC 8785 canonical bytes. */
#ifndef SVCR_GOVERNANCE_ARTIFACT_H
#define SVCR_GOVERNANCE_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "governance/proposal.h"
#include "interop/buf.h"

#define SCHEMA_VERSION "1.0.0"

/* Writes the canonical artifact of proposal p committed as `version` at committed_at_ms into
 * out, and its BLAKE3-256 into artifact_b3. Approvals are sorted by signer_id. 0 or -1 (OOM). */
int artifact_build(const proposal *p, uint64_t version, int64_t committed_at_ms, buf *out,
                   uint8_t artifact_b3[B3_LEN]);

typedef struct artifact {
    uint64_t version;
    descriptor_set *ds;              /* the payload, re-validated and re-hashed (owned) */
    char payload_b3[B3_TAG_LEN + 1]; /* as stored (compare with ds->b3) */
    char prev_hash[B3_TAG_LEN + 1];
    char committed_at[48];
    int64_t committed_at_ms;
    char proposal_id[PROPOSAL_ID_LEN + 1];
    gov_approval *approvals; /* owned */
    size_t n_approvals;
} artifact;

/* Parses stored artifact bytes. Structural problems are SVCR_E_MALFORMED with a message; no
 * hash or signature is checked here (see chain_verify). */
svcr_code artifact_parse(const void *bytes, size_t len, artifact **out, svcr_err *err);
void artifact_free(artifact *a);

#endif
