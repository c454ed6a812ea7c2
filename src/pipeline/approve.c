/* approve.c - POST /registry/approvals/{id}: the §4.3 checks and signature verification on the
 * caller's thread; duplicates and the final state check in the committer. */
#include <stdio.h>
#include <string.h>

#include "interop/jcs.h"
#include "pipeline/rules.h"

/* What the caller's thread needs to know of a proposal to check an approval. */
typedef struct proposal_view {
    char payload_b3[B3_TAG_LEN + 1];
    int64_t accepted_at_ms;
    proposal_status status;
    signer_set *governing; /* retained; NULL when not pending */
} proposal_view;

/* Loads a proposal record from storage (committed or stale ones live only there). Request
 * threads. */
static svcr_code load_stored(pipeline *p, const char *id, proposal **out)
{
    buf rec = {0};
    int rc = p->cfg.st->ops->get_proposal(p->cfg.st, id, pl_copy_bytes, &rec);
    svcr_code c = SVCR_E_NOT_FOUND;
    if (rc == STORE_OK)
        c = proposal_decode(rec.data, rec.len, NULL, out, NULL);
    else if (rc != STORE_NOTFOUND)
        c = SVCR_E_INTERNAL;
    buf_free(&rec);
    return c;
}

/* What the caller's thread needs of a proposal: from the map (under its read lock), else from
 * storage. Request threads. */
static svcr_code view_proposal(pipeline *p, const char *id, proposal_view *v, svcr_err *e)
{
    memset(v, 0, sizeof *v);
    head_snap *h = head_cell_get(&p->head);
    int64_t now = pl_now_ms(p);
    pthread_rwlock_rdlock(&p->pend.lock);
    const proposal *pr = pl_map_get(&p->pend.map, id);
    if (pr) {
        memcpy(v->payload_b3, pr->ds->b3, sizeof v->payload_b3);
        v->accepted_at_ms = pr->accepted_at_ms;
        v->status = proposal_effective_status(pr, h->version, now);
        v->governing = signer_set_retain(pr->governing);
    }
    pthread_rwlock_unlock(&p->pend.lock);
    svcr_code c = SVCR_OK;
    if (!pr) {
        proposal *stored = NULL;
        c = load_stored(p, id, &stored);
        if (c == SVCR_OK) {
            memcpy(v->payload_b3, stored->ds->b3, sizeof v->payload_b3);
            v->status = proposal_effective_status(stored, h->version, now);
            if (v->status == PROPOSAL_PENDING)
                v->status = PROPOSAL_STALE; /* not in memory: HEAD moved past it */
            proposal_free(stored);
        }
    }
    head_snap_release(h);
    if (c == SVCR_E_NOT_FOUND)
        return svcr_err_set(e, c, NULL, "proposal", "no proposal with this id");
    if (c != SVCR_OK)
        return svcr_err_set(e, SVCR_E_INTERNAL, NULL, "storage", "storage read failed");
    return SVCR_OK;
}

void pipeline_approve(pipeline *p, const write_ctx *w, const char *proposal_id, const void *body,
                      size_t len, pipeline_result *r)
{
    svcr_err e;
    svcr_err_clear(&e);
    gov_approval a;
    memset(&a, 0, sizeof a);
    const char *pid = proposal_id_valid(proposal_id, strlen(proposal_id)) ? proposal_id : NULL;
    json_t *j = NULL;
    proposal_view v = {0};
    svcr_code c = pl_write_gate(p, &e);
    if (c == SVCR_OK && !pid)
        c = svcr_err_set(&e, SVCR_E_NOT_FOUND, NULL, "proposal", "no proposal with this id");
    if (c == SVCR_OK && !(j = jcs_parse(body, len, 0, &e)))
        c = e.code;
    if (c == SVCR_OK)
        c = gov_approval_decode(j, "", &a, &e);
    json_decref(j);
    if (c == SVCR_OK && w && w->cap_signer && strcmp(w->cap_signer, a.signer_id) != 0)
        c = svcr_err_set(&e, SVCR_E_FORBIDDEN, NULL, "signer_caveat",
                         "the capability is bound to another signer");
    if (c == SVCR_OK && w && w->cap_proposal && strcmp(w->cap_proposal, pid) != 0)
        c = svcr_err_set(&e, SVCR_E_FORBIDDEN, NULL, "proposal_caveat",
                         "the capability is bound to another proposal");
    if (c == SVCR_OK)
        c = view_proposal(p, pid, &v, &e);
    if (c == SVCR_OK)
        c = pl_check_open(v.status, &e);
    if (c == SVCR_OK)
        c = gov_approval_check(&a, v.governing, v.payload_b3, v.accepted_at_ms / 1000,
                               pl_now_ms(p) / 1000, &e);
    signer_set_release(v.governing);
    if (c != SVCR_OK) {
        pl_reject(p, w, "approve", pid, v.payload_b3[0] ? v.payload_b3 : NULL,
                  a.signer_id[0] ? a.signer_id : NULL, &e, r);
        return;
    }
    pl_op *o = pl_op_new(OP_APPROVE, w);
    if (!o) {
        pl_result_fail(r, SVCR_E_INTERNAL, "oom", "out of memory");
        return;
    }
    snprintf(o->proposal_id, sizeof o->proposal_id, "%s", pid);
    o->approval = a;
    pl_op_submit(p, o, w, r);
    pl_op_release(o);
}

void pl_apply_approve(pipeline *p, pl_batch *b, pl_op *o)
{
    audit_entry ae = {
        .event = "approve", .proposal_id = o->proposal_id, .signer_id = o->approval.signer_id};
    svcr_err e;
    svcr_err_clear(&e);
    const proposal *pr = pl_batch_gate_and_find(p, b, o, &ae);
    if (!pr)
        return;
    proposal_status st = proposal_effective_status(pr, pl_batch_head(b)->version, pl_batch_now(b));
    if (st == PROPOSAL_PENDING && !pr->governing)
        st = PROPOSAL_STALE;
    if (pl_check_open(st, &e) != SVCR_OK ||
        gov_approval_check_membership(&o->approval, pr->governing, &e) != SVCR_OK) {
        pl_batch_finish_op(p, b, o, &ae, &e);
        return;
    }
    if (proposal_find_approval(pr, o->approval.signer_id)) {
        svcr_err_set(&e, SVCR_E_DUPLICATE_APPROVAL, "signer_id", "duplicate_approval",
                     "this signer already approved this proposal");
        pl_batch_finish_op(p, b, o, &ae, &e);
        return;
    }
    proposal *ed = pl_batch_edit(p, b, o->proposal_id);
    if (!ed || proposal_add_approval(ed, &o->approval) != 0) {
        pl_batch_fail(b, STORE_ENOMEM);
        return;
    }
    ae.payload_b3 = ed->ds->b3;
    pl_batch_put_proposal(p, b, ed);
    buf body = {0};
    buf_printf(&body, "{\"status\":\"accepted\",\"approvals\":%zu,\"quorum\":{\"m\":%u,\"n\":%u}}",
               ed->n_approvals, ed->quorum_m, ed->quorum_n);
    pl_result_ok(&o->res, 200, &body);
    pl_batch_finish_op(p, b, o, &ae, NULL);
}
