/* reads.c - the read side of the pipeline: HEAD, versions, proposals, audit. Never waits for the
 * committer (HEAD is a snapshot; storage reads run beside the writer). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/b3.h"
#include "crypto/ed25519.h"
#include "interop/jcs.h"
#include "interop/rfc3339.h"
#include "pipeline/internal.h"

head_snap *pipeline_head(pipeline *p)
{
    return head_cell_get(&p->head);
}

/* A read that hands the bytes on only if they hash to the version's artifact_b3. */
typedef struct checked_read {
    store_bytes_cb cb;
    void *ctx;
    const uint8_t *want;
} checked_read;

/* store_bytes_cb that hands the bytes on only if they hash as expected. Request threads. */
static int checked_cb(void *c, const void *data, size_t len)
{
    checked_read *k = c;
    uint8_t got[B3_LEN];
    b3_hash(data, len, got);
    if (!crypto_equal(got, k->want, B3_LEN))
        return STORE_ECORRUPT;
    return k->cb(k->ctx, data, len);
}

svcr_code pipeline_get_version(pipeline *p, uint64_t version, store_bytes_cb cb, void *ctx,
                               svcr_err *err)
{
    uint8_t want[B3_LEN];
    int hrc =
        version > 0 ? p->cfg.st->ops->get_artifact_hash(p->cfg.st, version, want) : STORE_NOTFOUND;
    if (hrc == STORE_NOTFOUND) {
        head_snap *h = head_cell_get(&p->head);
        int committed = version > 0 && version <= h->version;
        head_snap_release(h);
        if (!committed)
            return svcr_err_set(err, SVCR_E_NOT_FOUND, NULL, "version", "no such version");
        /* a committed version always keeps its artifact hash */
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "corrupt",
                            "the stored record of version %llu is damaged",
                            (unsigned long long)version);
    }
    if (hrc != STORE_OK)
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL,
                            hrc == STORE_ECORRUPT ? "corrupt" : "storage",
                            "cannot read version %llu", (unsigned long long)version);
    checked_read k = {.cb = cb, .ctx = ctx, .want = want};
    int rc = p->cfg.st->ops->get_version(p->cfg.st, version, checked_cb, &k);
    if (rc == STORE_OK)
        return SVCR_OK;
    /* Retention does not exist yet, so a body missing under a kept hash is damage, not a
     * pruned version: 410 Pruned is reserved for retention (SPEC §17). */
    if (rc == STORE_ECORRUPT || rc == STORE_NOTFOUND)
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "corrupt",
                            "the stored bytes of version %llu do not verify; it is not served",
                            (unsigned long long)version);
    return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "storage", "cannot read version %llu",
                        (unsigned long long)version);
}

/* Renders the GET /registry/proposals/{id} object for a proposal into out, the payload spliced
 * in as its canonical bytes raw[0..raw_len) (no tree of it is built). Request threads. */
static svcr_code proposal_view(const proposal *pr, uint64_t head_version, int64_t now_ms,
                               const char *raw, size_t raw_len, buf *out)
{
    char acc[32], exp[32];
    rfc3339_format_ms(pr->accepted_at_ms, acc);
    rfc3339_format_ms(pr->expires_at_ms, exp);
    proposal_status st = proposal_effective_status(pr, head_version, now_ms);
    json_t *o = json_pack("{s:s, s:s, s:n, s:s, s:o, s:{s:I, s:I}, s:s, s:s, s:I}", "proposal_id",
                          pr->id, "status", proposal_status_name(st), "payload", "payload_b3",
                          pr->ds->b3, "approvals", proposal_approvals_json(pr, 0), "quorum", "m",
                          (json_int_t)pr->quorum_m, "n", (json_int_t)pr->quorum_n, "accepted_at",
                          acc, "expires_at", exp, "version", (json_int_t)pr->ds->version);
    if (o && st == PROPOSAL_COMMITTED) {
        char ts[32];
        rfc3339_format_ms(pr->committed_at_ms, ts);
        json_object_set_new(o, "committed_version",
                            json_integer((json_int_t)pr->committed_version));
        json_object_set_new(o, "committed_at", json_string(ts));
    }
    int rc = o ? jcs_write_spliced(out, o, "payload", raw, raw_len, NULL) : -1;
    json_decref(o);
    return rc == 0 ? SVCR_OK : SVCR_E_INTERNAL;
}

/* The payload's canonical bytes inside a committed artifact (itself canonical JSON): the value
 * of its top-level "payload" member, found without parsing. Members are sorted, so "payload"
 * directly follows "committed_at" (a timestamp) and is followed by the artifact's own
 * "payload_b3", the last one in the text (D16); an unescaped `","` never occurs inside a JSON
 * string. The span is accepted only if it hashes to payload_b3. 0, or -1. Request threads. */
static int artifact_payload_span(const char *art, size_t len, const char *payload_b3,
                                 const char **raw, size_t *raw_len)
{
    static const char open_key[] = "\",\"payload\":", close_key[] = ",\"payload_b3\":\"";
    const char *at = memmem(art, len, "\"committed_at\":\"", 16);
    const char *start = at ? memmem(at, len - (size_t)(at - art), open_key, 12) : NULL;
    const char *end = NULL;
    for (const char *q = start; q && (q = memmem(q, len - (size_t)(q - art), close_key, 15)); q++)
        end = q;
    if (!start || !end || end <= start + 12)
        return -1;
    *raw = start + 12;
    *raw_len = (size_t)(end - *raw);
    char tag[B3_TAG_LEN + 1];
    b3_tag_of(*raw, *raw_len, tag);
    return strcmp(tag, payload_b3) == 0 ? 0 : -1;
}

svcr_code pipeline_proposal_json(pipeline *p, const char *id, buf *out)
{
    if (!proposal_id_valid(id, strlen(id)))
        return SVCR_E_NOT_FOUND;
    head_snap *h = head_cell_get(&p->head);
    uint64_t hv = h->version;
    head_snap_release(h);
    int64_t now = pl_now_ms(p);
    svcr_code c = SVCR_OK;
    pthread_rwlock_rdlock(&p->pend.lock);
    const proposal *pr = pl_map_get(&p->pend.map, id);
    if (pr) /* a pending proposal: its canonical bytes are copied under the lock */
        c = proposal_view(pr, hv, now, pr->ds->canonical, pr->ds->canonical_len, out);
    pthread_rwlock_unlock(&p->pend.lock);
    if (pr)
        return c;
    buf rec = {0};
    int rc = p->cfg.st->ops->get_proposal(p->cfg.st, id, pl_copy_bytes, &rec);
    c = rc == STORE_OK ? SVCR_OK : rc == STORE_NOTFOUND ? SVCR_E_NOT_FOUND : SVCR_E_INTERNAL;
    proposal *stored = NULL;
    if (c == SVCR_OK && proposal_decode(rec.data, rec.len, NULL, &stored, NULL) != SVCR_OK)
        c = SVCR_E_INTERNAL;
    buf_free(&rec);
    if (c != SVCR_OK)
        return c;
    /* Committed, stale or expired proposals are read from storage; their status is derived. A
     * committed record has no payload of its own: it is the one in its version's artifact. */
    if (stored->ds->canonical) {
        c = proposal_view(stored, hv, now, stored->ds->canonical, stored->ds->canonical_len, out);
    } else if (stored->status == PROPOSAL_COMMITTED) {
        buf art = {0};
        const char *raw;
        size_t raw_len;
        c = pipeline_get_version(p, stored->committed_version, pl_copy_bytes, &art, NULL);
        if (c == SVCR_OK &&
            artifact_payload_span(art.data, art.len, stored->ds->b3, &raw, &raw_len) != 0)
            c = SVCR_E_INTERNAL;
        if (c == SVCR_OK)
            c = proposal_view(stored, hv, now, raw, raw_len, out);
        buf_free(&art);
    } else {
        c = SVCR_E_INTERNAL;
    }
    proposal_free(stored);
    return c;
}

/* Writes o as canonical JSON into out and drops o. Request threads. */
static svcr_code write_json(buf *out, json_t *o)
{
    if (!o)
        return SVCR_E_INTERNAL;
    int rc = jcs_write(out, o, NULL);
    json_decref(o);
    return rc == 0 ? SVCR_OK : SVCR_E_INTERNAL;
}

/* A pending proposal's place in the listing order (acceptance time, then id). */
typedef struct pending_key {
    int64_t accepted_at_ms;
    char id[PROPOSAL_ID_LEN + 1];
    const proposal *pr; /* borrowed under the map's read lock */
} pending_key;

typedef struct pending_ctx {
    pending_key *keys;
    size_t n;
} pending_ctx;

/* pl_map_each callback: the listing key of one pending proposal. Request threads, under the
 * map's read lock. */
static void collect_pending(void *ctx, proposal *pr)
{
    pending_ctx *c = ctx;
    pending_key *k = &c->keys[c->n++];
    k->accepted_at_ms = pr->accepted_at_ms;
    memcpy(k->id, pr->id, sizeof k->id);
    k->pr = pr;
}

/* One entry of the pending list. Request threads, under the map's read lock. */
static json_t *pending_summary(const proposal *pr)
{
    char acc[32], exp[32];
    rfc3339_format_ms(pr->accepted_at_ms, acc);
    rfc3339_format_ms(pr->expires_at_ms, exp);
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:{s:I, s:I}, s:s, s:s}", "proposal_id", pr->id,
                     "status", "pending", "payload_b3", pr->ds->b3, "version",
                     (json_int_t)pr->ds->version, "approvals", (json_int_t)pr->n_approvals,
                     "quorum", "m", (json_int_t)pr->quorum_m, "n", (json_int_t)pr->quorum_n,
                     "accepted_at", acc, "expires_at", exp);
}

/* Listing order: acceptance time, then id. Any. */
static int pending_key_cmp(const void *a, const void *b)
{
    const pending_key *x = a, *y = b;
    if (x->accepted_at_ms != y->accepted_at_ms)
        return x->accepted_at_ms < y->accepted_at_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

int pipeline_pending_cursor_valid(const char *after)
{
    const char *dot = strchr(after, '.');
    if (!dot || dot == after || dot - after > 15 || !proposal_id_valid(dot + 1, strlen(dot + 1)))
        return 0;
    for (const char *d = after; d < dot; d++)
        if (*d < '0' || *d > '9')
            return 0;
    return 1;
}

svcr_code pipeline_pending_json(pipeline *p, const char *after, size_t limit, buf *out)
{
    pending_key from = {0};
    if (after) {
        if (!pipeline_pending_cursor_valid(after))
            return SVCR_E_MALFORMED;
        from.accepted_at_ms = strtoll(after, NULL, 10);
        snprintf(from.id, sizeof from.id, "%s", strchr(after, '.') + 1);
    }
    json_t *page = json_array();
    char next[64] = "";
    pending_ctx c = {0};
    /* keys are collected and sorted under the read lock; only the page is rendered */
    pthread_rwlock_rdlock(&p->pend.lock);
    c.keys = calloc(p->pend.map.len ? p->pend.map.len : 1, sizeof *c.keys);
    if (c.keys && page) {
        pl_map_each(&p->pend.map, collect_pending, &c);
        qsort(c.keys, c.n, sizeof *c.keys, pending_key_cmp);
        size_t i = 0;
        while (after && i < c.n && pending_key_cmp(&c.keys[i], &from) <= 0)
            i++;
        for (; i < c.n && json_array_size(page) < limit; i++)
            json_array_append_new(page, pending_summary(c.keys[i].pr));
        if (i < c.n && i > 0) /* more follow the page's last entry */
            snprintf(next, sizeof next, "%lld.%s", (long long)c.keys[i - 1].accepted_at_ms,
                     c.keys[i - 1].id);
    }
    pthread_rwlock_unlock(&p->pend.lock);
    int ok = c.keys && page;
    free(c.keys);
    if (!ok) {
        json_decref(page);
        return SVCR_E_INTERNAL;
    }
    json_t *o = json_pack("{s:o, s:o}", "proposals", page, "next",
                          next[0] ? json_string(next) : json_null());
    return write_json(out, o);
}

typedef struct audit_ctx {
    buf *out;
    size_t limit, count;
    uint64_t next;
} audit_ctx;

/* iter_audit callback: appends one record to the page, or notes that another follows. Request
 * threads. */
static int add_audit(void *vctx, uint64_t seq, const void *data, size_t len)
{
    audit_ctx *c = vctx;
    if (c->count == c->limit) {
        c->next = seq;
        return STORE_STOP; /* one more exists */
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
    int rc = p->cfg.st->ops->iter_audit(p->cfg.st, from ? from : 1, add_audit, &c);
    if (rc != STORE_OK && rc != STORE_STOP)
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
    pthread_mutex_lock(&p->q.mu);
    out->queue_depth = (int64_t)p->q.len;
    out->queue_saturated = p->q.len >= p->q.cap;
    pthread_mutex_unlock(&p->q.mu);
    pthread_rwlock_rdlock(&p->pend.lock);
    pl_usage u = {0};
    pl_map_usage(&p->pend.map, NULL, &u);
    pthread_rwlock_unlock(&p->pend.lock);
    out->pending_proposals = u.count;
    out->pending_bytes = u.bytes;
    /* full: another proposal of the largest size a request may carry would not fit */
    uint64_t refused_at = atomic_load(&p->pend.refused_at);
    out->pending_full = u.count >= PENDING_PROPOSALS_MAX || u.bytes >= pl_pending_budget(p) ||
                        (refused_at && (uint64_t)u.bytes + 1 >= refused_at);
    pthread_mutex_lock(&p->state.mu);
    out->frozen = p->state.frozen;
    out->storage_fault = p->state.storage_fault;
    out->chain_fault = p->state.chain_fault;
    out->verified_through = p->state.verified_through;
    snprintf(out->frozen_reason, sizeof out->frozen_reason, "%.255s", p->state.frozen_reason);
    snprintf(out->chain_fault_msg, sizeof out->chain_fault_msg, "%s", p->state.chain_fault_msg);
    pthread_mutex_unlock(&p->state.mu);
    out->read_ready = 1;
    out->write_ready = out->has_signers && !out->frozen && !out->storage_fault &&
                       !out->chain_fault && !out->queue_saturated;
}

void pipeline_get_stats(pipeline *p, pipeline_stats *out)
{
    pthread_mutex_lock(&p->state.mu);
    *out = p->state.stats;
    pthread_mutex_unlock(&p->state.mu);
}

svcr_code pipeline_version_event(pipeline *p, uint64_t version, bus_event *out)
{
    memset(out, 0, sizeof *out);
    buf art = {0};
    svcr_code c = pipeline_get_version(p, version, pl_copy_bytes, &art, NULL);
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
    if (p->cfg.st->ops->get_proposal(p->cfg.st, pid, pl_copy_bytes, &rec) == STORE_OK) {
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
    int64_t n = p->cfg.st->ops->size_bytes(p->cfg.st);
    return n > 0 ? (uint64_t)n : 0;
}
