/* propose.c - POST /registry/proposals: validate and hash on the caller's thread; accept (or
 * return the existing proposal) in the committer. */
#include <stdio.h>
#include <string.h>

#include "interop/dto.h"
#include "interop/jcs.h"
#include "interop/rfc3339.h"
#include "pipeline/rules.h"

typedef struct propose_dto {
    const char *schema_version, *payload_b3;
    const json_t *payload;
} propose_dto;

static const dto_field propose_fields[] = {
    {.name = "schema_version", .type = DTO_STRING, .offset = offsetof(propose_dto, schema_version)},
    {.name = "payload",
     .type = DTO_OBJECT,
     .required = 1,
     .offset = offsetof(propose_dto, payload)},
    {.name = "payload_b3", .type = DTO_STRING, .offset = offsetof(propose_dto, payload_b3)},
};

/* Parses the request and validates the payload. SVCR_OK with *out, or the error in e. Request
 * threads. */
static svcr_code decode_request(const void *body, size_t len, descriptor_set **out, svcr_err *e)
{
    *out = NULL;
    json_t *req = jcs_parse(body, len, 0, e);
    if (!req)
        return e->code;
    propose_dto d = {0};
    svcr_code c = SVCR_OK;
    if (dto_decode(req, propose_fields, sizeof propose_fields / sizeof *propose_fields, &d, NULL,
                   "", e) != 0)
        c = e->code;
    else if (d.schema_version && strcmp(d.schema_version, "1.0.0") != 0)
        c = svcr_err_set(e, SVCR_E_MALFORMED, "schema_version", "schema_version",
                         "schema_version must be \"1.0.0\"");
    else
        c = descriptor_set_decode((json_t *)d.payload, "payload", out, e);
    if (c == SVCR_OK && (c = descriptor_set_check_text(*out, "payload", e)) != SVCR_OK) {
        descriptor_set_free(*out);
        *out = NULL;
    }
    if (c == SVCR_OK) /* from here on the payload is its canonical bytes (D41) */
        descriptor_set_drop_tree(*out);
    if (c == SVCR_OK && d.payload_b3 && strcmp(d.payload_b3, (*out)->b3) != 0) {
        c = svcr_err_set(e, SVCR_E_MALFORMED, "payload_b3", "hash_mismatch",
                         "payload_b3 does not match the server's hash of the payload (%s)",
                         (*out)->b3);
        descriptor_set_free(*out);
        *out = NULL;
    }
    json_decref(req);
    return c;
}

void pipeline_propose(pipeline *p, const write_ctx *w, const void *body, size_t len,
                      pipeline_result *r)
{
    svcr_err e;
    svcr_err_clear(&e);
    descriptor_set *ds = NULL;
    if (pl_write_gate(p, &e) != SVCR_OK || decode_request(body, len, &ds, &e) != SVCR_OK) {
        pl_reject(p, w, "propose", NULL, NULL, NULL, &e, r);
        return;
    }
    char id[PROPOSAL_ID_LEN + 1];
    proposal_id_from_b3(ds->b3, id);
    if (w && w->cap_proposal && strcmp(w->cap_proposal, id) != 0) {
        svcr_err_set(&e, SVCR_E_FORBIDDEN, NULL, "proposal_caveat",
                     "the capability is bound to another proposal");
        pl_reject(p, w, "propose", id, ds->b3, NULL, &e, r);
        descriptor_set_free(ds);
        return;
    }
    pl_op *o = pl_op_new(OP_PROPOSE, w);
    if (!o) {
        descriptor_set_free(ds);
        pl_result_fail(r, SVCR_E_INTERNAL, "oom", "out of memory");
        return;
    }
    o->ds = ds;
    proposal_id_from_b3(ds->b3, o->proposal_id);
    pl_op_submit(p, o, w, r);
    pl_op_release(o);
}

/* The body answering an accepted (202) or repeated (200) proposal. Committer. */
static int render_accepted(buf *out, const proposal *pr)
{
    char exp[32];
    rfc3339_format_ms(pr->expires_at_ms, exp);
    return buf_printf(out, "{\"proposal_id\":\"%s\",\"payload_b3\":\"%s\",\"expires_at\":\"%s\"}",
                      pr->id, pr->ds->b3, exp);
}

/* Room for one more open proposal of `bytes` canonical bytes from root key key_id: under the
 * open-proposal cap and limits.pending_bytes, and within the key's share of both (counting
 * what this batch added). SVCR_OK, or 429 Busy with the reason. Committer. */
static svcr_code pending_room(pipeline *p, pl_batch *b, const char *key_id, size_t bytes,
                              svcr_err *e)
{
    pl_usage u;
    pl_batch_pending_usage(p, b, key_id, &u);
    uint64_t budget = pl_pending_budget(p);
    if (u.count + 1 > PENDING_PROPOSALS_MAX || u.bytes + bytes > budget) {
        /* full: /readyz says so until some proposal leaves (pipeline_get_status) */
        atomic_store(&p->pend.refused_at, (uint64_t)u.bytes + 1);
        if (u.count + 1 > PENDING_PROPOSALS_MAX)
            return svcr_err_set(e, SVCR_E_BUSY, NULL, "pending_cap",
                                "%d proposals are already open; commit or let them expire first",
                                PENDING_PROPOSALS_MAX);
        return svcr_err_set(e, SVCR_E_BUSY, NULL, "pending_bytes",
                            "open proposals already hold %zu of limits.pending_bytes (%llu)",
                            u.bytes, (unsigned long long)budget);
    }
    /* a capability's own share (proposals without a key id are the pipeline's own tests) */
    if (key_id[0] && (u.key_count + 1 > PENDING_PROPOSALS_MAX / PENDING_KEY_SHARE ||
                      u.key_bytes + bytes > budget / PENDING_KEY_SHARE))
        return svcr_err_set(e, SVCR_E_BUSY, NULL, "pending_share",
                            "proposals from this capability's root key hold their share (1/%d) "
                            "of the open-proposal cap or of limits.pending_bytes",
                            PENDING_KEY_SHARE);
    return SVCR_OK;
}

void pl_apply_propose(pipeline *p, pl_batch *b, pl_op *o)
{
    descriptor_set *ds = o->ds;
    audit_entry ae = {.event = "propose",
                      .proposal_id = o->proposal_id,
                      .payload_b3 = ds->b3,
                      .version = ds->version};
    svcr_err e;
    svcr_err_clear(&e);
    buf body = {0};
    if (pl_batch_write_gate(p, b, &e) != SVCR_OK) {
        pl_batch_finish_op(p, b, o, &ae, &e);
        return;
    }
    const proposal *existing = pl_batch_find(p, b, o->proposal_id);
    if (existing) {
        if (strcmp(existing->ds->b3, ds->b3) != 0) {
            svcr_err_set(&e, SVCR_E_CHAIN_MISMATCH, NULL, "proposal_id_collision",
                         "another payload already holds this proposal id");
            pl_batch_finish_op(p, b, o, &ae, &e);
            return;
        }
        render_accepted(&body, existing); /* idempotent: the same proposal, 200 */
        pl_result_ok(&o->res, 200, &body);
        pl_batch_finish_op(p, b, o, &ae, NULL);
        return;
    }
    head_snap *h = pl_batch_head(b);
    if (pending_room(p, b, o->key_id, ds->canonical_len, &e) != SVCR_OK) {
        pl_batch_finish_op(p, b, o, &ae, &e);
        return;
    }
    if (ds->version != h->version + 1 || strcmp(ds->prev_hash, h->payload_b3) != 0) {
        svcr_err_set(&e, SVCR_E_CHAIN_MISMATCH, "payload.version", "head_moved",
                     "the payload must extend HEAD: version %llu with prev_hash %s",
                     (unsigned long long)(h->version + 1), h->payload_b3);
        pl_batch_finish_op(p, b, o, &ae, &e);
        return;
    }
    if (ds->supersede_of[0] && (h->version == 0 || strcmp(ds->supersede_of, h->payload_b3) != 0)) {
        svcr_err_set(&e, SVCR_E_CHAIN_MISMATCH, "payload.supersede_of", "supersede_of",
                     "supersede_of must equal HEAD's payload_b3");
        pl_batch_finish_op(p, b, o, &ae, &e);
        return;
    }
    proposal *pr = proposal_new(ds, h->governing, pl_batch_now(b));
    o->ds = NULL; /* owned by the proposal now (or freed by proposal_new on OOM) */
    if (pr)
        snprintf(pr->key_id, sizeof pr->key_id, "%s", o->key_id);
    if (!pr || pl_batch_add(b, pr) != 0) {
        proposal_free(pr);
        pl_batch_fail(b, STORE_ENOMEM);
        return;
    }
    ae.payload_b3 = pr->ds->b3;
    pl_batch_put_proposal(p, b, pr);
    render_accepted(&body, pr);
    pl_result_ok(&o->res, 202, &body);
    pl_batch_finish_op(p, b, o, &ae, NULL);
}
