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

int render_commit_body(buf *out, uint64_t version, const char *payload_b3, int64_t committed_at_ms)
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
    svcr_code c = gate(batch_frozen(b), batch_head(b)->governing != NULL, chain, e);
    return c != SVCR_OK ? c : batch_probe_gate(b, e);
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
    o->log_version = e->version;
    snprintf(o->log_b3, sizeof o->log_b3, "%s", e->payload_b3 ? e->payload_b3 : "");
}

void op_log_outcome(const op *o, int stored, int abandoned)
{
    static const char *const names[] = {
        [OP_PROPOSE] = "propose",     [OP_APPROVE] = "approve", [OP_COMMIT] = "commit",
        [OP_SUPERSEDE] = "supersede", [OP_FREEZE] = "freeze",   [OP_THAW] = "thaw",
    };
    const char *name = o->kind == OP_AUDIT ? o->audit_event : names[o->kind];
    /* an audit-only op carries a rejection already answered by the request thread */
    const svcr_err *rej = o->kind == OP_AUDIT      ? &o->audit_err
                          : o->res.code != SVCR_OK ? &o->res.err
                                                   : NULL;
    int status = o->kind == OP_AUDIT ? svcr_code_http_status(rej->code) : o->res.http_status;
    const char *code = rej ? svcr_code_name(rej->code) : NULL;
    const char *reason = rej ? rej->reason : NULL;
    if (!rej && (o->kind == OP_FREEZE || o->kind == OP_THAW))
        reason = o->reason;
    char msg[160];
    if (o->kind == OP_AUDIT)
        snprintf(msg, sizeof msg, "rejected%s",
                 stored ? "" : " (audit record not stored: storage fault)");
    else if (abandoned) /* the caller has its answer already: Timeout; say what happened since */
        snprintf(msg, sizeof msg, "answered Timeout; the operation then completed: %s%s",
                 rej ? "rejected " : "accepted", rej ? code : "");
    else
        snprintf(msg, sizeof msg, "%s", rej ? "rejected" : "accepted");
    if (abandoned && o->kind != OP_AUDIT) {
        status = svcr_code_http_status(SVCR_E_TIMEOUT);
        code = svcr_code_name(SVCR_E_TIMEOUT);
        reason = "deadline";
    }
    char event[48];
    snprintf(event, sizeof event, "governance.%s", name ? name : "op");
    log_fields f = {.event = event,
                    .msg = msg,
                    .corr_id = o->corr_id,
                    .status = status,
                    .err_code = code,
                    .reason = reason,
                    .proposal_id = o->proposal_id[0] ? o->proposal_id : NULL,
                    .version = stored ? o->log_version : 0, /* nothing is at a version unstored */
                    .payload_b3 = o->log_b3[0] ? o->log_b3 : NULL,
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
