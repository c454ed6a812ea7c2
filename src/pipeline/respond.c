/* respond.c - results, the write gate, and the end of every applied operation (audit). */
#include <stdio.h>
#include <string.h>

#include "interop/rfc3339.h"
#include "observability/log.h"
#include "pipeline/internal.h"

void result_ok(pipeline_result *r, int http_status, buf *body)
{
    r->code = SVCR_OK;
    svcr_err_clear(&r->err);
    r->http_status = http_status;
    buf_free(&r->body);
    r->body = *body;
    memset(body, 0, sizeof *body);
}

int render_commit_body(buf *out, uint64_t version, const char *payload_b3,
                       int64_t committed_at_ms)
{
    char ts[32];
    rfc3339_format_ms(committed_at_ms, ts);
    return buf_printf(out, "{\"version\":%llu,\"payload_b3\":\"%s\",\"committed_at\":\"%s\"}",
                      (unsigned long long)version, payload_b3, ts);
}

static svcr_code gate(int frozen, int has_signers, int chain_fault, svcr_err *e)
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
    pthread_mutex_lock(&p->st_mu);
    int frozen = p->frozen, chain = p->chain_fault;
    pthread_mutex_unlock(&p->st_mu);
    return gate(frozen, has_signers, chain, e);
}

svcr_code batch_write_gate(pipeline *p, batch *b, svcr_err *e)
{
    pthread_mutex_lock(&p->st_mu);
    int chain = p->chain_fault;
    pthread_mutex_unlock(&p->st_mu);
    return gate(batch_frozen(b), batch_head(b)->governing != NULL, chain, e);
}

void finish_op(pipeline *p, batch *b, op *o, audit_entry *e, const svcr_err *rejection)
{
    e->corr_id = o->corr_id;
    e->input_b3 = o->input_b3;
    e->accepted = rejection == NULL;
    if (rejection) {
        e->err_code = rejection->code;
        if (!e->reason || !*e->reason)
            e->reason = rejection->reason[0] ? rejection->reason : NULL;
        result_error(&o->res, rejection);
    }
    batch_audit(p, b, e);
    char event[48];
    snprintf(event, sizeof event, "governance.%s", e->event ? e->event : "op");
    log_fields f = {.event = event,
                    .msg = e->accepted ? "accepted" : "rejected",
                    .corr_id = e->corr_id,
                    .err_code = rejection ? svcr_code_name(rejection->code) : NULL,
                    .reason = e->reason,
                    .proposal_id = e->proposal_id,
                    .version = e->version,
                    .payload_b3 = e->payload_b3,
                    .latency_ms = -1};
    log_emit(LOG_INFO, &f);
}

void batch_put_proposal(pipeline *p, batch *b, const proposal *pr)
{
    if (batch_failed(b))
        return;
    buf rec = {0};
    if (proposal_encode(pr, &rec) != 0) {
        buf_free(&rec);
        batch_fail(b, STORE_ENOMEM);
        return;
    }
    int rc = p->st->ops->txn_put_proposal(batch_txn(b), pr->id, rec.data, rec.len);
    buf_free(&rec);
    if (rc != STORE_OK)
        batch_fail(b, rc);
}

const proposal *batch_gate_and_find(pipeline *p, batch *b, op *o, audit_entry *ae)
{
    svcr_err e;
    svcr_err_clear(&e);
    if (batch_write_gate(p, b, &e) != SVCR_OK) {
        finish_op(p, b, o, ae, &e);
        return NULL;
    }
    const proposal *pr = batch_find(p, b, o->proposal_id);
    if (!pr) {
        svcr_err_set(&e, SVCR_E_NOT_FOUND, NULL, "proposal", "no proposal with this id");
        finish_op(p, b, o, ae, &e);
        return NULL;
    }
    ae->payload_b3 = pr->ds->b3;
    return pr;
}
