/* commit.c - POST /registry/commit/{id} and POST /registry/supersede: the only place HEAD
 * advances. CAS on HEAD, quorum re-checked, artifact appended, all in the committer. */
#include <stdio.h>
#include <string.h>

#include "governance/artifact.h"
#include "interop/dto.h"
#include "interop/jcs.h"
#include "pipeline/rules.h"

typedef struct supersede_dto {
    const char *proposal_id;
} supersede_dto;

static const dto_field supersede_fields[] = {
    {.name = "proposal_id",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(supersede_dto, proposal_id),
     .min = 1,
     .max = 64},
};

/* Common tail of both routes once the proposal id is known. Request threads. */
static void submit_commit(pipeline *p, const write_ctx *w, pl_op_kind kind, const char *pid,
                          pipeline_result *r)
{
    const char *event = kind == OP_SUPERSEDE ? "supersede" : "commit";
    svcr_err e;
    svcr_err_clear(&e);
    svcr_code c = pl_write_gate(p, &e);
    if (c == SVCR_OK && !proposal_id_valid(pid, strlen(pid)))
        c = svcr_err_set(&e, SVCR_E_NOT_FOUND, NULL, "proposal", "no proposal with this id");
    if (c == SVCR_OK && w && w->cap_proposal && strcmp(w->cap_proposal, pid) != 0)
        c = svcr_err_set(&e, SVCR_E_FORBIDDEN, NULL, "proposal_caveat",
                         "the capability is bound to another proposal");
    if (c != SVCR_OK) {
        pl_reject(p, w, event, proposal_id_valid(pid, strlen(pid)) ? pid : NULL, NULL, NULL, &e, r);
        return;
    }
    pl_op *o = pl_op_new(kind, w);
    if (!o) {
        pl_result_fail(r, SVCR_E_INTERNAL, "oom", "out of memory");
        return;
    }
    snprintf(o->proposal_id, sizeof o->proposal_id, "%s", pid);
    pl_op_submit(p, o, w, r);
    pl_op_release(o);
}

void pipeline_commit(pipeline *p, const write_ctx *w, const char *proposal_id, const void *body,
                     size_t len, pipeline_result *r)
{
    svcr_err e;
    svcr_err_clear(&e);
    if (len > 0) {
        json_t *j = jcs_parse(body, len, 0, &e);
        int empty_object = j && json_is_object(j) && json_object_size(j) == 0;
        json_decref(j);
        if (!empty_object) {
            if (j)
                svcr_err_set(&e, SVCR_E_MALFORMED, "", "unknown_field",
                             "the commit body must be empty or {}");
            const char *pid =
                proposal_id_valid(proposal_id, strlen(proposal_id)) ? proposal_id : NULL;
            pl_reject(p, w, "commit", pid, NULL, NULL, &e, r);
            return;
        }
    }
    submit_commit(p, w, OP_COMMIT, proposal_id, r);
}

void pipeline_supersede(pipeline *p, const write_ctx *w, const void *body, size_t len,
                        pipeline_result *r)
{
    svcr_err e;
    svcr_err_clear(&e);
    json_t *j = jcs_parse(body, len, 0, &e);
    supersede_dto d = {0};
    if (!j || dto_decode(j, supersede_fields, 1, &d, NULL, "", &e) != 0) {
        json_decref(j);
        pl_reject(p, w, "supersede", NULL, NULL, NULL, &e, r);
        return;
    }
    char pid[PROPOSAL_ID_LEN + 2];
    snprintf(pid, sizeof pid, "%s", d.proposal_id);
    json_decref(j);
    submit_commit(p, w, OP_SUPERSEDE, pid, r);
}

/* Counts a commit refused because HEAD is not where the proposal needs it. Committer. */
static void count_cas_failure(pipeline *p)
{
    pthread_mutex_lock(&p->state.mu);
    p->state.stats.cas_failures++;
    pthread_mutex_unlock(&p->state.mu);
}

/* The rules a pending proposal must still pass to become HEAD+1 in this batch: open (not
 * stale, expired or committed), CAS on the batch's HEAD (and supersede_of), quorum. SVCR_OK or
 * the error in e. Committer. */
static svcr_code check_commit(pipeline *p, pl_batch *b, const proposal *pr, int is_sup, svcr_err *e)
{
    head_snap *h = pl_batch_head(b);
    proposal_status st = proposal_effective_status(pr, h->version, pl_batch_now(b));
    if (st == PROPOSAL_PENDING && !pr->governing)
        st = PROPOSAL_STALE;
    if (pl_check_open(st, e) != SVCR_OK) {
        if (e->code == SVCR_E_CHAIN_MISMATCH)
            count_cas_failure(p);
        return e->code;
    }
    if (pr->ds->version != h->version + 1 || strcmp(pr->ds->prev_hash, h->payload_b3) != 0 ||
        (is_sup && strcmp(pr->ds->supersede_of, h->payload_b3) != 0)) {
        count_cas_failure(p);
        return svcr_err_set(e, SVCR_E_CHAIN_MISMATCH, NULL, "cas",
                            "HEAD is version %llu (%s); the proposal does not extend it",
                            (unsigned long long)h->version, h->payload_b3);
    }
    return gov_quorum_check(pr->approvals, pr->n_approvals, pr->governing, e);
}

/* Commits the op's proposal as HEAD+1 inside the batch: the proposal record, the artifact and
 * HEAD record, the tentative HEAD (+1) and the registry.update event; answers 201. On OOM or a
 * storage failure the batch fails. Committer. */
static void advance_head(pipeline *p, pl_batch *b, pl_op *o, audit_entry *ae)
{
    head_snap *h = pl_batch_head(b);
    proposal *ed = pl_batch_edit(p, b, o->proposal_id);
    if (!ed) {
        pl_batch_fail(b, STORE_ENOMEM);
        return;
    }
    uint64_t version = h->version + 1;
    int64_t now = pl_batch_now(b);
    if (now <= h->committed_at_ms)
        now = h->committed_at_ms + 1; /* committed_at never goes backwards */
    ed->status = PROPOSAL_COMMITTED;
    ed->committed_version = version;
    ed->committed_at_ms = now;
    snprintf(ed->commit_corr_id, sizeof ed->commit_corr_id, "%s", o->corr_id);
    buf art = {0};
    uint8_t art_b3[B3_LEN];
    store_head sh = {.version = version, .committed_at_ms = now};
    b3_tag_parse(ed->ds->b3, B3_TAG_LEN, sh.payload_b3);
    head_snap *nh = head_snap_new(version, ed->ds->b3, now, ed->ds->signers);
    int rc = STORE_ENOMEM;
    if (nh && artifact_build(ed, version, now, &art, art_b3) == 0)
        rc = pl_batch_put_version(p, b, &sh, &art, art_b3);
    buf_free(&art);
    if (rc != STORE_OK) {
        head_snap_release(nh);
        pl_batch_fail(b, rc); /* no-op when the put already failed it */
        return;
    }
    pl_batch_put_proposal(p, b, ed);
    pl_batch_set_head(b, nh); /* h is released: HEAD is nh from here on */
    bus_event ev = {.version = version};
    memcpy(ev.payload_b3, nh->payload_b3, sizeof ev.payload_b3);
    memcpy(ev.committed_at, nh->committed_at, sizeof ev.committed_at);
    snprintf(ev.corr_id, sizeof ev.corr_id, "%s", o->corr_id);
    pl_batch_add_event(b, &ev);
    ae->version = version;
    buf body = {0};
    pl_render_commit_body(&body, version, ed->ds->b3, now);
    pl_result_ok(&o->res, 201, &body);
    pl_batch_finish_op(p, b, o, ae, NULL);
}

void pl_apply_commit(pipeline *p, pl_batch *b, pl_op *o)
{
    int sup_route = o->kind == OP_SUPERSEDE;
    audit_entry ae = {.event = sup_route ? "supersede" : "commit", .proposal_id = o->proposal_id};
    svcr_err e;
    svcr_err_clear(&e);
    const proposal *pr = pl_batch_gate_and_find(p, b, o, &ae);
    if (!pr)
        return;
    int is_sup = pr->ds->supersede_of[0] != '\0';
    if (is_sup != sup_route) {
        svcr_err_set(
            &e, SVCR_E_MALFORMED, NULL, is_sup ? "use_supersede_route" : "use_commit_route",
            is_sup ? "a supersede proposal is committed through POST /registry/supersede"
                   : "an ordinary proposal is committed through POST /registry/commit/{id}");
        pl_batch_finish_op(p, b, o, &ae, &e);
        return;
    }
    if (pr->status == PROPOSAL_COMMITTED) { /* idempotent retry: the same 201 body */
        buf body = {0};
        ae.version = pr->committed_version;
        pl_render_commit_body(&body, pr->committed_version, pr->ds->b3, pr->committed_at_ms);
        pl_result_ok(&o->res, 201, &body);
        pl_batch_finish_op(p, b, o, &ae, NULL);
        return;
    }
    if (check_commit(p, b, pr, is_sup, &e) != SVCR_OK) {
        pl_batch_finish_op(p, b, o, &ae, &e);
        return;
    }
    advance_head(p, b, o, &ae);
}
