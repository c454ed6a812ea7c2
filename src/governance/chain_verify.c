/* chain_verify.c - stored-history verification (see chain_verify.h). */
#include "governance/chain_verify.h"

#include <stdio.h>
#include <string.h>

#include "governance/approvals.h"
#include "governance/artifact.h"

void chain_verifier_init_genesis(chain_verifier *cv, signer_set *roots)
{
    memset(cv, 0, sizeof *cv);
    cv->next_version = 1;
    memcpy(cv->prev_b3, B3_ZERO_TAG, sizeof cv->prev_b3);
    cv->governing = signer_set_retain(roots);
}

svcr_code chain_verifier_init_after(chain_verifier *cv, uint64_t version, const void *bytes,
                                    size_t len, svcr_err *err)
{
    memset(cv, 0, sizeof *cv);
    artifact *a = NULL;
    svcr_code c = artifact_parse(bytes, len, &a, err);
    if (c != SVCR_OK)
        return c;
    cv->next_version = version + 1;
    memcpy(cv->prev_b3, a->ds->b3, sizeof cv->prev_b3);
    cv->governing = signer_set_retain(a->ds->signers);
    cv->prev_committed_at_ms = a->committed_at_ms;
    artifact_free(a);
    return SVCR_OK;
}

void chain_verifier_free(chain_verifier *cv)
{
    signer_set_release(cv->governing);
    cv->governing = NULL;
}

static svcr_code fail(svcr_err *err, svcr_code code, uint64_t v, const char *what)
{
    return svcr_err_set(err, code, NULL, "chain", "version %llu: %s", (unsigned long long)v, what);
}

/* The signature of ap, a member of `set` (checked before), under its signer's algo row. */
static svcr_code verify_sig(const signer_set *set, const char *payload_b3, const gov_approval *ap,
                            svcr_err *err)
{
    const signer *s = signer_set_find(set, ap->signer_id);
    return approval_verify(s->algo, payload_b3, ap->sig, ap->sig_len, s->pk, err);
}

svcr_code chain_verify_next(chain_verifier *cv, const void *bytes, size_t len,
                            const uint8_t stored_b3[B3_LEN], int check_sigs, svcr_err *err)
{
    uint64_t v = cv->next_version;
    if (stored_b3) {
        uint8_t got[B3_LEN];
        b3_hash(bytes, len, got);
        if (memcmp(got, stored_b3, B3_LEN) != 0)
            return fail(err, SVCR_E_MALFORMED, v, "artifact bytes do not match their stored hash");
    }
    artifact *a = NULL;
    svcr_err perr;
    svcr_err_clear(&perr);
    if (artifact_parse(bytes, len, &a, &perr) != SVCR_OK) {
        /* name what broke: e.g. a signer set that repeats a key fails here, not at quorum */
        char what[200];
        snprintf(what, sizeof what, "artifact is not a valid signed artifact (%.60s%s%.100s)",
                 perr.reason[0] ? perr.reason : "unreadable", perr.path[0] ? " at " : "",
                 perr.path);
        for (char *q = what; *q; q++) /* a path may quote a stored key: print it plainly */
            if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
                *q = '?';
        return fail(err, SVCR_E_MALFORMED, v, what);
    }
    svcr_code c = SVCR_OK;
    char pid[PROPOSAL_ID_LEN + 1];
    proposal_id_from_b3(a->ds->b3, pid);
    if (a->version != v || a->ds->version != v)
        c = fail(err, SVCR_E_MALFORMED, v, "version field does not match its position");
    else if (strcmp(a->payload_b3, a->ds->b3) != 0)
        c = fail(err, SVCR_E_MALFORMED, v, "payload_b3 does not match the payload's hash");
    else if (strcmp(a->prev_hash, cv->prev_b3) != 0 || strcmp(a->ds->prev_hash, cv->prev_b3) != 0)
        c = fail(err, SVCR_E_MALFORMED, v, "prev_hash does not link to the version before");
    else if (strcmp(a->proposal_id, pid) != 0)
        c = fail(err, SVCR_E_MALFORMED, v, "proposal_id does not match payload_b3");
    else if (cv->prev_committed_at_ms > 0 && a->committed_at_ms <= cv->prev_committed_at_ms)
        c = fail(err, SVCR_E_MALFORMED, v, "committed_at does not come after the version before");
    else if (!cv->governing)
        c = fail(err, SVCR_E_UNKNOWN_SIGNER, v, "no signer set governs this version");
    for (size_t i = 0; c == SVCR_OK && i < a->n_approvals; i++) {
        svcr_err aerr;
        const gov_approval *ap = &a->approvals[i];
        if (i > 0 && strcmp(a->approvals[i - 1].signer_id, ap->signer_id) >= 0)
            c = fail(err, SVCR_E_MALFORMED, v, "approvals are not sorted and distinct");
        else if (gov_approval_check_membership(ap, cv->governing, &aerr) != SVCR_OK)
            c = fail(err, aerr.code, v, "an approval's signer is not valid in its era");
        else if (check_sigs && verify_sig(cv->governing, a->ds->b3, ap, &aerr) != SVCR_OK)
            c = fail(err, SVCR_E_INVALID_SIG, v, "an approval's signature does not verify");
    }
    if (c == SVCR_OK &&
        gov_quorum_check(a->approvals, a->n_approvals, cv->governing, NULL) != SVCR_OK)
        c = fail(err, SVCR_E_QUORUM_FAILED, v, "approvals do not reach the quorum of its era");
    if (c == SVCR_OK) {
        cv->next_version = v + 1;
        memcpy(cv->prev_b3, a->ds->b3, sizeof cv->prev_b3);
        signer_set_release(cv->governing);
        cv->governing = signer_set_retain(a->ds->signers);
        cv->prev_committed_at_ms = a->committed_at_ms;
    }
    artifact_free(a);
    return c;
}
