/* batch.c - one batch of operations on the committer: its storage transaction, audit appends,
 * shadow copies of the proposals it touches, the tentative HEAD and freeze state, events, the
 * end of each op; then publishing it, or failing every op of it (see batch.h). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observability/log.h"
#include "pipeline/batch.h"

struct pl_batch {
    store_txn *txn;
    int status; /* STORE_OK, or the storage failure that sinks the whole batch */
    head_snap *head;
    int head_changed;
    audit_tip tip;
    int frozen, frozen_changed;
    char frozen_reason[REASON_MAX + 1];
    proposal **shadow; /* new or edited proposals (owned) */
    size_t n_shadow, cap_shadow;
    proposal **loaded; /* committed/stale records preloaded from storage (owned) */
    size_t n_loaded, cap_loaded;
    bus_event *events;
    size_t n_events, cap_events;
    int64_t now_ms;
    int probing;     /* the write plane was down for storage when the batch began */
    int probe_taken; /* ... and one op of this batch is the recovery probe */
    int in_store;    /* the failure, if any, came from txn_begin or txn_commit */
};

/* Appends p to a growing array. 0 or -1 (OOM). Committer. */
static int push_ptr(proposal ***arr, size_t *n, size_t *cap, proposal *p)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        proposal **a = realloc(*arr, c * sizeof *a);
        if (!a)
            return -1;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = p;
    return 0;
}

/* The last proposal of arr with this id, or NULL. Committer. */
static proposal *find_in(proposal **arr, size_t n, const char *id)
{
    for (size_t i = n; i-- > 0;)
        if (strcmp(arr[i]->id, id) == 0)
            return arr[i];
    return NULL;
}

const proposal *pl_batch_find(pipeline *p, pl_batch *b, const char *id)
{
    proposal *x = find_in(b->shadow, b->n_shadow, id);
    if (x)
        return x;
    x = pl_map_get(&p->pend.map, id); /* the committer is the map's only writer */
    if (x)
        return x;
    return find_in(b->loaded, b->n_loaded, id);
}

proposal *pl_batch_edit(pipeline *p, pl_batch *b, const char *id)
{
    assert(pthread_equal(pthread_self(), p->wr.self)); /* the single writer only */
    proposal *x = find_in(b->shadow, b->n_shadow, id);
    if (x)
        return x;
    const proposal *orig = pl_batch_find(p, b, id);
    if (!orig)
        return NULL;
    x = proposal_clone(orig);
    if (!x || push_ptr(&b->shadow, &b->n_shadow, &b->cap_shadow, x) != 0) {
        proposal_free(x);
        return NULL;
    }
    return x;
}

int pl_batch_add(pl_batch *b, proposal *pr)
{
    return push_ptr(&b->shadow, &b->n_shadow, &b->cap_shadow, pr);
}

void pl_batch_pending_usage(pipeline *p, pl_batch *b, const char *key_id, pl_usage *u)
{
    memset(u, 0, sizeof *u);
    pl_map_usage(&p->pend.map, key_id, u);
    for (size_t i = 0; i < b->n_shadow; i++)
        if (!pl_map_get(&p->pend.map, b->shadow[i]->id))
            pl_usage_add(u, b->shadow[i], key_id);
}

head_snap *pl_batch_head(pl_batch *b)
{
    return b->head;
}

int64_t pl_batch_now(pl_batch *b)
{
    return b->now_ms;
}

svcr_code pl_batch_probe_gate(pl_batch *b, svcr_err *e)
{
    if (!b->probing)
        return SVCR_OK;
    if (!b->probe_taken) {
        b->probe_taken = 1; /* this op is the transaction's one write: it probes the storage */
        return SVCR_OK;
    }
    return svcr_err_set(e, SVCR_E_NOT_READY, NULL, "storage",
                        "the write plane is down for storage; one write per transaction probes "
                        "recovery and another one holds this transaction");
}

void pl_batch_fail(pl_batch *b, int st)
{
    if (b->status == STORE_OK)
        b->status = st ? st : STORE_EIO;
}

int pl_batch_failed(pl_batch *b)
{
    return b->status != STORE_OK;
}

void pl_batch_set_head(pl_batch *b, head_snap *h)
{
    /* a batch advances HEAD by exactly one version per commit, never backwards */
    assert(h && h->version == b->head->version + 1);
    head_snap_release(b->head);
    b->head = h;
    b->head_changed = 1;
}

void pl_batch_set_frozen(pl_batch *b, int frozen, const char *reason)
{
    b->frozen = frozen;
    snprintf(b->frozen_reason, sizeof b->frozen_reason, "%s", reason ? reason : "");
    b->frozen_changed = 1;
}

void pl_batch_add_event(pl_batch *b, const bus_event *e)
{
    if (b->n_events == b->cap_events) {
        size_t c = b->cap_events ? b->cap_events * 2 : 8;
        bus_event *a = realloc(b->events, c * sizeof *a);
        if (!a)
            return; /* an event lost to OOM: subscribers reconcile from HEAD */
        b->events = a;
        b->cap_events = c;
    }
    b->events[b->n_events++] = *e;
}

/* Appends the audit record of an applied op to the batch's chain (the tentative tip). Committer. */
static void audit_append(pipeline *p, pl_batch *b, const audit_entry *e)
{
    assert(pthread_equal(pthread_self(), p->wr.self)); /* the single writer only */
    if (pl_batch_failed(b))
        return;
    buf rec = {0};
    audit_tip next = b->tip;
    if (audit_record_build(&next, e, b->now_ms, &rec) != 0) {
        buf_free(&rec);
        pl_batch_fail(b, STORE_ENOMEM);
        return;
    }
    assert(next.seq == b->tip.seq + 1); /* the audit chain has no gap */
    int rc = p->cfg.st->ops->txn_put_audit(b->txn, next.seq, rec.data, rec.len);
    buf_free(&rec);
    if (rc != STORE_OK) {
        pl_batch_fail(b, rc);
        return;
    }
    b->tip = next;
}

void pl_batch_put_proposal(pipeline *p, pl_batch *b, const proposal *pr)
{
    if (pl_batch_failed(b))
        return;
    buf rec = {0};
    if (proposal_encode(pr, &rec) != 0) {
        buf_free(&rec);
        pl_batch_fail(b, STORE_ENOMEM);
        return;
    }
    int rc = p->cfg.st->ops->txn_put_proposal(b->txn, pr->id, rec.data, rec.len);
    buf_free(&rec);
    if (rc != STORE_OK)
        pl_batch_fail(b, rc);
}

int pl_batch_put_version(pipeline *p, pl_batch *b, const store_head *sh, const buf *art,
                         const uint8_t art_b3[B3_LEN])
{
    int rc = p->cfg.st->ops->txn_put_version(b->txn, sh->version, art->data, art->len, art_b3);
    if (rc == STORE_OK)
        rc = p->cfg.st->ops->txn_put_head(b->txn, sh);
    if (rc != STORE_OK)
        pl_batch_fail(b, rc);
    return rc;
}

int pl_batch_put_meta(pipeline *p, pl_batch *b, const char *key, const void *data, size_t len)
{
    int rc = p->cfg.st->ops->txn_put_meta(b->txn, key, data, len);
    if (rc != STORE_OK)
        pl_batch_fail(b, rc);
    return rc;
}

svcr_code pl_batch_write_gate(pipeline *p, pl_batch *b, svcr_err *e)
{
    pthread_mutex_lock(&p->state.mu);
    int chain = p->state.chain_fault;
    pthread_mutex_unlock(&p->state.mu);
    svcr_code c = pl_gate(b->frozen, b->head->governing != NULL, chain, e);
    return c != SVCR_OK ? c : pl_batch_probe_gate(b, e);
}

const proposal *pl_batch_gate_and_find(pipeline *p, pl_batch *b, pl_op *o, audit_entry *ae)
{
    svcr_err e;
    svcr_err_clear(&e);
    if (pl_batch_write_gate(p, b, &e) != SVCR_OK) {
        pl_batch_finish_op(p, b, o, ae, &e);
        return NULL;
    }
    const proposal *pr = pl_batch_find(p, b, o->proposal_id);
    if (!pr) {
        svcr_err_set(&e, SVCR_E_NOT_FOUND, NULL, "proposal", "no proposal with this id");
        pl_batch_finish_op(p, b, o, ae, &e);
        return NULL;
    }
    ae->payload_b3 = pr->ds->b3;
    return pr;
}

void pl_batch_finish_op(pipeline *p, pl_batch *b, pl_op *o, audit_entry *e,
                        const svcr_err *rejection)
{
    e->corr_id = o->corr_id;
    e->input_b3 = o->input_b3;
    e->accepted = rejection == NULL;
    if (rejection) {
        e->err_code = rejection->code;
        if (!e->reason || !*e->reason)
            e->reason = rejection->reason[0] ? rejection->reason : NULL;
        pl_result_error(&o->res, rejection);
    }
    audit_append(p, b, e);
    o->log_version = e->version;
    snprintf(o->log_b3, sizeof o->log_b3, "%s", e->payload_b3 ? e->payload_b3 : "");
}

/* The pending index: ids of the proposals still open for HEAD+1 after this batch, stored in
 * meta "pending" so startup loads them without scanning every proposal ever made. Committer. */
static int is_open_after(const pl_batch *b, const proposal *pr)
{
    return pr->status == PROPOSAL_PENDING && pr->ds->version == b->head->version + 1;
}

/* Stores the pending index in the batch's transaction. Committer. */
static void write_pending_index(pipeline *p, pl_batch *b)
{
    buf ids = {0};
    buf_putc(&ids, '[');
    int first = 1;
    for (size_t i = 0; i < p->pend.map.cap; i++) {
        proposal *x = p->pend.map.slots[i];
        if (!x || !x->ds || find_in(b->shadow, b->n_shadow, x->id) || !is_open_after(b, x))
            continue;
        buf_printf(&ids, "%s\"%s\"", first ? "" : ",", x->id);
        first = 0;
    }
    for (size_t i = 0; i < b->n_shadow; i++) {
        if (!is_open_after(b, b->shadow[i]))
            continue;
        buf_printf(&ids, "%s\"%s\"", first ? "" : ",", b->shadow[i]->id);
        first = 0;
    }
    buf_putc(&ids, ']');
    int rc = ids.data ? p->cfg.st->ops->txn_put_meta(b->txn, "pending", ids.data, ids.len)
                      : STORE_ENOMEM;
    buf_free(&ids);
    if (rc != STORE_OK)
        pl_batch_fail(b, rc);
}

/* Before the write transaction opens: load from storage the proposals the batch names that
 * are not pending in memory (committed or stale ones), so no read runs inside the write.
 * Committer. */
static void preload(pipeline *p, pl_batch *b, const pl_op *list)
{
    for (const pl_op *o = list; o; o = o->next) {
        if (!o->proposal_id[0] || o->kind == OP_AUDIT)
            continue;
        if (pl_map_get(&p->pend.map, o->proposal_id) ||
            find_in(b->loaded, b->n_loaded, o->proposal_id))
            continue;
        buf rec = {0};
        if (p->cfg.st->ops->get_proposal(p->cfg.st, o->proposal_id, pl_copy_bytes, &rec) ==
            STORE_OK) {
            proposal *pr = NULL;
            if (proposal_decode(rec.data, rec.len, NULL, &pr, NULL) == SVCR_OK &&
                push_ptr(&b->loaded, &b->n_loaded, &b->cap_loaded, pr) != 0)
                proposal_free(pr);
        }
        buf_free(&rec);
    }
}

/* The map takes the batch's shadow copies (new and edited proposals; committed and passed ones
 * leave), then lets go of the proposals HEAD has passed or that expired. Committer, under the
 * map's write lock. */
static void publish_map(pipeline *p, pl_batch *b)
{
    for (size_t i = 0; i < b->n_shadow; i++) {
        proposal *pr = b->shadow[i];
        if (pr->status == PROPOSAL_COMMITTED || pr->ds->version <= b->head->version) {
            pl_map_del(&p->pend.map, pr->id);
            proposal_free(pr);
        } else if (pl_map_put(&p->pend.map, pr) != 0) {
            proposal_free(pr); /* OOM: it stays readable from storage */
        }
    }
    b->n_shadow = 0;
    if (p->pend.map.len == 0)
        return;
    /* Proposals HEAD has passed are stale forever, and expired ones can never be approved or
     * committed again: storage keeps their records (reads derive the status), memory lets them
     * go. */
    size_t n = 0;
    char(*ids)[PROPOSAL_ID_LEN + 1] = calloc(p->pend.map.len + 1, sizeof *ids);
    for (size_t i = 0; ids && i < p->pend.map.cap; i++) {
        proposal *x = p->pend.map.slots[i];
        if (x && x->id[0] == 'p' && x->ds && /* id[0]: skips deleted-slot markers */
            (x->ds->version <= b->head->version || b->now_ms >= x->expires_at_ms))
            memcpy(ids[n++], x->id, sizeof ids[0]);
    }
    for (size_t i = 0; i < n; i++)
        pl_map_del(&p->pend.map, ids[i]);
    free(ids);
}

void pl_batch_publish(pipeline *p, pl_batch *b)
{
    assert(!b->txn && !pl_batch_failed(b)); /* only a stored batch is published */
    pthread_mutex_lock(&p->state.mu);
    uint64_t failed = p->state.storage_fault ? p->state.fault_batches : 0;
    pthread_mutex_unlock(&p->state.mu);
    pthread_rwlock_wrlock(&p->pend.lock);
    publish_map(p, b);
    pthread_rwlock_unlock(&p->pend.lock);
    uint64_t advanced = 0;
    if (b->head_changed) {
        head_snap *old = head_cell_get(&p->head);
        assert(b->head->version > old->version); /* HEAD only grows */
        advanced = b->head->version - old->version;
        head_snap_release(old);
        head_cell_set(&p->head, head_snap_retain(b->head));
    }
    p->wr.tip = b->tip;
    pthread_mutex_lock(&p->state.mu);
    p->state.stats.commits += advanced;
    p->state.frozen = b->frozen;
    memcpy(p->state.frozen_reason, b->frozen_reason, sizeof p->state.frozen_reason);
    p->state.storage_fault = 0;
    p->state.fault_batches = 0;
    p->state.stats.batches++;
    pthread_mutex_unlock(&p->state.mu);
    for (size_t i = 0; p->cfg.bus && i < b->n_events; i++)
        bus_publish(p->cfg.bus, &b->events[i]);
    if (failed)
        log_msg(LOG_WARN, "storage.recovered",
                "a write transaction succeeded after %llu failed; the write plane is back",
                (unsigned long long)failed);
}

void pl_batch_fail_ops(pipeline *p, pl_batch *b, pl_op *list)
{
    assert(!b->txn && pl_batch_failed(b));
    char why[192] = "";
    if (b->in_store) /* txn_begin or txn_commit failed: the store knows why */
        p->cfg.st->ops->last_write_error(p->cfg.st, why, sizeof why);
    else
        snprintf(why, sizeof why, "while the batch was being built");
    for (pl_op *o = list; o; o = o->next)
        pl_result_fail(&o->res, SVCR_E_NOT_READY, "storage",
                       "storage write failed (%s); nothing was applied",
                       store_status_str(b->status));
    pthread_mutex_lock(&p->state.mu);
    int began = !p->state.storage_fault;
    p->state.storage_fault = 1;
    p->state.fault_batches = began ? 1 : p->state.fault_batches + 1;
    p->state.stats.storage_faults++;
    pthread_mutex_unlock(&p->state.mu);
    if (began)
        log_msg(LOG_ERROR, "storage.fault",
                "a write transaction failed: %s: %s; nothing of it was applied. Writes answer "
                "503 NotReady (storage) and /readyz says write_ready=false until a write "
                "transaction succeeds; each transaction admits one write as the probe",
                store_status_str(b->status), why[0] ? why : "no detail");
}

pl_batch *pl_batch_new(void)
{
    return calloc(1, sizeof(pl_batch));
}

void pl_batch_free(pl_batch *b)
{
    if (!b)
        return;
    pl_batch_end(b);
    free(b);
}

void pl_batch_begin(pipeline *p, pl_batch *b, const pl_op *list)
{
    assert(pthread_equal(pthread_self(), p->wr.self)); /* the single writer only */
    assert(!b->head && !b->txn);                       /* the last batch was ended */
    b->now_ms = pl_now_ms(p);
    b->head = head_cell_get(&p->head);
    b->tip = p->wr.tip;
    pthread_mutex_lock(&p->state.mu);
    b->frozen = p->state.frozen;
    b->probing = p->state.storage_fault;
    memcpy(b->frozen_reason, p->state.frozen_reason, sizeof b->frozen_reason);
    pthread_mutex_unlock(&p->state.mu);
    preload(p, b, list);
    int rc = p->cfg.st->ops->txn_begin(p->cfg.st, &b->txn);
    if (rc != STORE_OK) {
        pl_batch_fail(b, rc);
        b->in_store = 1;
    }
}

int pl_batch_commit(pipeline *p, pl_batch *b)
{
    if (b->txn && !pl_batch_failed(b) && (b->n_shadow > 0 || b->head_changed))
        write_pending_index(p, b);
    if (b->txn) {
        int rc;
        if (pl_batch_failed(b)) {
            p->cfg.st->ops->txn_abort(b->txn);
        } else if ((rc = p->cfg.st->ops->txn_commit(b->txn)) != STORE_OK) {
            pl_batch_fail(b, rc);
            b->in_store = 1;
        }
        b->txn = NULL;
    }
    return !pl_batch_failed(b);
}

void pl_batch_end(pl_batch *b)
{
    assert(!b->txn); /* committed or aborted */
    for (size_t i = 0; i < b->n_shadow; i++)
        proposal_free(b->shadow[i]);
    for (size_t i = 0; i < b->n_loaded; i++)
        proposal_free(b->loaded[i]);
    free(b->shadow);
    free(b->loaded);
    free(b->events);
    head_snap_release(b->head);
    memset(b, 0, sizeof *b);
}
