/* gate.c - the write gate (frozen, broken chain, no signers) and the open-proposal check, on
 * the request threads and, through the batch, in the committer. */
#include "pipeline/internal.h"

svcr_code pl_gate(int frozen, int has_signers, int chain_fault, svcr_err *e)
{
    if (frozen)
        return svcr_err_set(e, SVCR_E_NOT_READY, NULL, "maintenance",
                            "the write plane is frozen by an operator");
    if (chain_fault)
        return svcr_err_set(e, SVCR_E_NOT_READY, NULL, "chain",
                            "stored history failed verification; writes are refused");
    if (!has_signers)
        return svcr_err_set(e, SVCR_E_NOT_READY, NULL, "signers",
                            "no trust roots and no history: the registry is read-only");
    return SVCR_OK;
}

svcr_code pl_write_gate(pipeline *p, svcr_err *e)
{
    head_snap *h = head_cell_get(&p->head);
    int has_signers = h->governing != NULL;
    head_snap_release(h);
    pthread_mutex_lock(&p->state.mu);
    int frozen = p->state.frozen, chain = p->state.chain_fault;
    pthread_mutex_unlock(&p->state.mu);
    return pl_gate(frozen, has_signers, chain, e);
}

svcr_code pl_check_open(proposal_status st, svcr_err *e)
{
    switch (st) {
    case PROPOSAL_PENDING:
        return SVCR_OK;
    case PROPOSAL_EXPIRED:
        return svcr_err_set(e, SVCR_E_PROPOSAL_EXPIRED, NULL, "expired",
                            "the proposal expired before it was committed");
    case PROPOSAL_STALE:
        return svcr_err_set(e, SVCR_E_CHAIN_MISMATCH, NULL, "stale",
                            "HEAD has moved past this proposal's version; it is stale");
    case PROPOSAL_COMMITTED:
        return svcr_err_set(e, SVCR_E_CHAIN_MISMATCH, NULL, "committed",
                            "the proposal is already committed");
    }
    return SVCR_OK;
}
