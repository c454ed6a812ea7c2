/* reads.c - the read side of the pipeline: HEAD, versions, proposals, audit. Never waits for the
 * committer (HEAD is a snapshot; storage reads run beside the writer). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "interop/jcs.h"
#include "interop/rfc3339.h"
#include "pipeline/internal.h"

int64_t pl_now_ms(const pipeline *p)
{
    if (p->o.now_ms)
        return p->o.now_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pl_copy_bytes(void *ctx, const void *data, size_t len)
{
    return buf_append(ctx, data, len) == 0 ? 0 : STORE_ENOMEM;
}

head_snap *pipeline_head(pipeline *p)
{
    return head_cell_get(&p->head);
}

svcr_code pipeline_get_version(pipeline *p, uint64_t version, store_bytes_cb cb, void *ctx)
{
    int rc = p->st->ops->get_version(p->st, version, cb, ctx);
    if (rc == STORE_OK)
        return SVCR_OK;
    if (rc == STORE_NOTFOUND) {
        uint8_t h[B3_LEN];
        /* A version whose artifact hash is kept but whose body is gone was pruned. */
        if (version > 0 && p->st->ops->get_artifact_hash(p->st, version, h) == STORE_OK)
            return SVCR_E_PRUNED;
        return SVCR_E_NOT_FOUND;
    }
    return SVCR_E_INTERNAL;
}

/* Renders the GET /registry/proposals/{id} object for a proposal. */
static json_t *proposal_view_json(const proposal *pr, uint64_t head_version, int64_t now_ms)
{
    char acc[32], exp[32];
    rfc3339_format_ms(pr->accepted_at_ms, acc);
    rfc3339_format_ms(pr->expires_at_ms, exp);
    proposal_status st = proposal_effective_status(pr, head_version, now_ms);
    json_t *o = json_pack("{s:s, s:s, s:O, s:s, s:o, s:{s:I, s:I}, s:s, s:s, s:I}", "proposal_id",
                          pr->id, "status", proposal_status_name(st), "payload", pr->ds->json,
                          "payload_b3", pr->ds->b3, "approvals", proposal_approvals_json(pr, 0),
                          "quorum", "m", (json_int_t)pr->quorum_m, "n", (json_int_t)pr->quorum_n,
                          "accepted_at", acc, "expires_at", exp, "version",
                          (json_int_t)pr->ds->version);
    if (o && st == PROPOSAL_COMMITTED) {
        char ts[32];
        rfc3339_format_ms(pr->committed_at_ms, ts);
        json_object_set_new(o, "committed_version", json_integer((json_int_t)pr->committed_version));
        json_object_set_new(o, "committed_at", json_string(ts));
    }
    return o;
}

static svcr_code write_json(buf *out, json_t *o)
{
    if (!o)
        return SVCR_E_INTERNAL;
    int rc = jcs_write(out, o, NULL);
    json_decref(o);
    return rc == 0 ? SVCR_OK : SVCR_E_INTERNAL;
}

svcr_code pipeline_proposal_json(pipeline *p, const char *id, buf *out)
{
    if (!proposal_id_valid(id, strlen(id)))
        return SVCR_E_NOT_FOUND;
    head_snap *h = head_cell_get(&p->head);
    uint64_t hv = h->version;
    head_snap_release(h);
    int64_t now = pl_now_ms(p);
    json_t *o = NULL;
    pthread_rwlock_rdlock(&p->map_lock);
    const proposal *pr = proposal_map_get(&p->map, id);
    if (pr)
        o = proposal_view_json(pr, hv, now);
    pthread_rwlock_unlock(&p->map_lock);
    if (pr)
        return write_json(out, o);
    buf rec = {0};
    int rc = p->st->ops->get_proposal(p->st, id, pl_copy_bytes, &rec);
    svcr_code c = rc == STORE_OK ? SVCR_OK : rc == STORE_NOTFOUND ? SVCR_E_NOT_FOUND
                                                                  : SVCR_E_INTERNAL;
    proposal *stored = NULL;
    if (c == SVCR_OK && proposal_decode(rec.data, rec.len, NULL, &stored, NULL) != SVCR_OK)
        c = SVCR_E_INTERNAL;
    buf_free(&rec);
    if (c != SVCR_OK)
        return c;
    /* Committed, stale or expired proposals are read from storage; their status is derived. A
     * committed record has no payload of its own: it is the one in its version's artifact. */
    if (!stored->ds->json && stored->status == PROPOSAL_COMMITTED) {
        buf art = {0};
        json_t *a = pipeline_get_version(p, stored->committed_version, pl_copy_bytes, &art) ==
                            SVCR_OK
                        ? jcs_parse(art.data, art.len, 0, NULL)
                        : NULL;
        buf_free(&art);
        json_t *payload = json_object_get(a, "payload");
        if (payload)
            stored->ds->json = json_incref(payload);
        json_decref(a);
    }
    if (!stored->ds->json) {
        proposal_free(stored);
        return SVCR_E_INTERNAL;
    }
    o = proposal_view_json(stored, hv, now);
    proposal_free(stored);
    return write_json(out, o);
}

typedef struct pending_ctx {
    json_t *arr;
    uint64_t head_version;
    int64_t now;
} pending_ctx;

static void add_pending(void *vctx, proposal *pr)
{
    pending_ctx *c = vctx;
    if (proposal_effective_status(pr, c->head_version, c->now) != PROPOSAL_PENDING)
        return;
    char acc[32], exp[32];
    rfc3339_format_ms(pr->accepted_at_ms, acc);
    rfc3339_format_ms(pr->expires_at_ms, exp);
    json_array_append_new(c->arr, json_pack("{s:s, s:s, s:s, s:I, s:I, s:{s:I, s:I}, s:s, s:s}",
                                            "proposal_id", pr->id, "status", "pending",
                                            "payload_b3", pr->ds->b3, "version",
                                            (json_int_t)pr->ds->version, "approvals",
                                            (json_int_t)pr->n_approvals, "quorum", "m",
                                            (json_int_t)pr->quorum_m, "n",
                                            (json_int_t)pr->quorum_n, "accepted_at", acc,
                                            "expires_at", exp));
}

static int cmp_summary(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "accepted_at")),
                  json_string_value(json_object_get(y, "accepted_at")));
}

svcr_code pipeline_pending_json(pipeline *p, buf *out)
{
    head_snap *h = head_cell_get(&p->head);
    pending_ctx c = {json_array(), h->version, pl_now_ms(p)};
    head_snap_release(h);
    if (!c.arr)
        return SVCR_E_INTERNAL;
    pthread_rwlock_rdlock(&p->map_lock);
    proposal_map_each(&p->map, add_pending, &c);
    pthread_rwlock_unlock(&p->map_lock);
    size_t n = json_array_size(c.arr);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    json_t *sorted = json_array();
    for (size_t i = 0; items && i < n; i++)
        items[i] = json_array_get(c.arr, i);
    if (items)
        qsort(items, n, sizeof *items, cmp_summary);
    for (size_t i = 0; items && sorted && i < n; i++)
        json_array_append(sorted, items[i]);
    free(items);
    json_decref(c.arr);
    return write_json(out, json_pack("{s:o}", "proposals", sorted ? sorted : json_array()));
}

typedef struct audit_ctx {
    buf *out;
    size_t limit, count;
    uint64_t next;
} audit_ctx;

static int add_audit(void *vctx, uint64_t seq, const void *data, size_t len)
{
    audit_ctx *c = vctx;
    if (c->count == c->limit) {
        c->next = seq;
        return 1; /* stop: one more exists */
    }
    if ((c->count ? buf_putc(c->out, ',') : 0) != 0 || buf_append(c->out, data, len) != 0)
        return STORE_ENOMEM;
    c->count++;
    return 0;
}

svcr_code pipeline_audit_json(pipeline *p, uint64_t from, size_t limit, buf *out)
{
    audit_ctx c = {out, limit, 0, 0};
    if (buf_puts(out, "{\"records\":[") != 0)
        return SVCR_E_INTERNAL;
    int rc = p->st->ops->iter_audit(p->st, from ? from : 1, add_audit, &c);
    if (rc != STORE_OK && rc != 1)
        return SVCR_E_INTERNAL;
    if (c.next)
        buf_printf(out, "],\"next\":%llu}", (unsigned long long)c.next);
    else
        buf_puts(out, "],\"next\":null}");
    return SVCR_OK;
}

void pipeline_get_status(pipeline *p, pipeline_status *out)
{
    memset(out, 0, sizeof *out);
    head_snap *h = head_cell_get(&p->head);
    out->has_signers = h->governing != NULL;
    head_snap_release(h);
    pthread_mutex_lock(&p->q_mu);
    out->queue_depth = (int64_t)p->q_len;
    out->queue_saturated = p->q_len >= p->q_cap;
    pthread_mutex_unlock(&p->q_mu);
    pthread_rwlock_rdlock(&p->map_lock);
    out->pending_proposals = p->map.len;
    pthread_rwlock_unlock(&p->map_lock);
    pthread_mutex_lock(&p->st_mu);
    out->frozen = p->frozen;
    out->storage_fault = p->storage_fault;
    out->chain_fault = p->chain_fault;
    out->verified_through = p->verified_through;
    snprintf(out->frozen_reason, sizeof out->frozen_reason, "%.255s", p->frozen_reason);
    snprintf(out->chain_fault_msg, sizeof out->chain_fault_msg, "%s", p->chain_fault_msg);
    pthread_mutex_unlock(&p->st_mu);
    out->read_ready = 1;
    out->write_ready = out->has_signers && !out->frozen && !out->storage_fault &&
                       !out->chain_fault && !out->queue_saturated;
}

void pipeline_get_stats(pipeline *p, pipeline_stats *out)
{
    pthread_mutex_lock(&p->st_mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->st_mu);
}

svcr_code pipeline_version_event(pipeline *p, uint64_t version, bus_event *out)
{
    memset(out, 0, sizeof *out);
    buf art = {0};
    svcr_code c = pipeline_get_version(p, version, pl_copy_bytes, &art);
    if (c != SVCR_OK) {
        buf_free(&art);
        return c;
    }
    json_t *a = jcs_parse(art.data, art.len, 0, NULL);
    buf_free(&art);
    const char *b3 = json_string_value(json_object_get(a, "payload_b3"));
    const char *at = json_string_value(json_object_get(a, "committed_at"));
    const char *pid = json_string_value(json_object_get(a, "proposal_id"));
    if (!b3 || !at || !pid || strlen(b3) >= sizeof out->payload_b3 ||
        strlen(at) >= sizeof out->committed_at) {
        json_decref(a);
        return SVCR_E_INTERNAL;
    }
    out->version = version;
    strcpy(out->payload_b3, b3);
    strcpy(out->committed_at, at);
    buf rec = {0};
    if (p->st->ops->get_proposal(p->st, pid, pl_copy_bytes, &rec) == STORE_OK) {
        json_t *r = jcs_parse(rec.data, rec.len, 0, NULL);
        const char *cc = json_string_value(json_object_get(r, "commit_corr_id"));
        if (cc && strlen(cc) < sizeof out->corr_id)
            strcpy(out->corr_id, cc);
        json_decref(r);
    }
    buf_free(&rec);
    json_decref(a);
    return SVCR_OK;
}

uint64_t pipeline_storage_bytes(pipeline *p)
{
    int64_t n = p->st->ops->size_bytes(p->st);
    return n > 0 ? (uint64_t)n : 0;
}
