/* freeze.c - POST /registry/admin/freeze and /thaw (the operator's only emergency power: it
 * stops writes, it never skips quorum), and audit-only rejections. */
#include <stdio.h>
#include <string.h>

#include "interop/dto.h"
#include "interop/jcs.h"
#include "pipeline/rules.h"

typedef struct reason_dto {
    const char *reason;
} reason_dto;

static const dto_field reason_fields[] = {
    {.name = "reason",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(reason_dto, reason),
     .min = 1,
     .max = REASON_MAX,
     .flags = DTO_F_TEXT},
};

void pipeline_freeze(pipeline *p, const write_ctx *w, int freeze, const void *body, size_t len,
                     pipeline_result *r)
{
    const char *event = freeze ? "freeze" : "thaw";
    svcr_err e;
    svcr_err_clear(&e);
    json_t *j = jcs_parse(body, len, 0, &e);
    reason_dto d = {0};
    if (w && w->cap_proposal)
        svcr_err_set(&e, SVCR_E_FORBIDDEN, NULL, "proposal_caveat",
                     "a capability bound to one proposal cannot freeze or thaw");
    else if (!j || dto_decode(j, reason_fields, 1, &d, NULL, "", &e) != 0)
        e.code = e.code ? e.code : SVCR_E_MALFORMED;
    if (e.code != SVCR_OK) {
        json_decref(j);
        pl_reject(p, w, event, NULL, NULL, NULL, &e, r);
        return;
    }
    pl_op *o = pl_op_new(freeze ? OP_FREEZE : OP_THAW, w);
    if (!o) {
        json_decref(j);
        pl_result_fail(r, SVCR_E_INTERNAL, "oom", "out of memory");
        return;
    }
    snprintf(o->reason, sizeof o->reason, "%s", d.reason);
    json_decref(j);
    pl_op_submit(p, o, w, r);
    pl_op_release(o);
}

void pl_apply_freeze(pipeline *p, pl_batch *b, pl_op *o)
{
    int freeze = o->kind == OP_FREEZE;
    audit_entry ae = {.event = freeze ? "freeze" : "thaw", .reason = o->reason};
    svcr_err e;
    svcr_err_clear(&e);
    /* no other gate: freeze and thaw work whatever the state, but they are writes too */
    if (pl_batch_probe_gate(b, &e) != SVCR_OK) {
        ae.reason = NULL; /* the audit says why it was refused, not the operator's words */
        pl_batch_finish_op(p, b, o, &ae, &e);
        return;
    }
    int rc;
    if (freeze) {
        json_t *rec =
            json_pack("{s:s, s:I}", "reason", o->reason, "since_ms", (json_int_t)pl_batch_now(b));
        buf enc = {0};
        rc = rec && jcs_write(&enc, rec, NULL) == 0
                 ? pl_batch_put_meta(p, b, "frozen", enc.data, enc.len)
                 : STORE_ENOMEM;
        json_decref(rec);
        buf_free(&enc);
    } else {
        rc = pl_batch_put_meta(p, b, "frozen", NULL, 0);
    }
    if (rc != STORE_OK) {
        pl_batch_fail(b, rc);
        return;
    }
    pl_batch_set_frozen(b, freeze, freeze ? o->reason : "");
    buf body = {0};
    buf_printf(&body, "{\"frozen\":%s}", freeze ? "true" : "false");
    pl_result_ok(&o->res, 200, &body);
    pl_batch_finish_op(p, b, o, &ae, NULL);
}

void pl_apply_audit(pipeline *p, pl_batch *b, pl_op *o)
{
    audit_entry ae = {.event = o->audit_event,
                      .proposal_id = o->proposal_id[0] ? o->proposal_id : NULL,
                      .payload_b3 = o->audit_b3[0] ? o->audit_b3 : NULL,
                      .signer_id = o->audit_signer[0] ? o->audit_signer : NULL};
    pl_batch_finish_op(p, b, o, &ae, &o->audit_err);
}
