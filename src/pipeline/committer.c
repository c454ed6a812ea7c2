/* committer.c - the single writer: drains the queue, applies a batch of operations in one
 * storage transaction (one fsync), then publishes HEAD, proposals and bus events. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observability/log.h"
#include "pipeline/internal.h"

struct batch {
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
};

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

static proposal *find_in(proposal **arr, size_t n, const char *id)
{
    for (size_t i = n; i-- > 0;)
        if (strcmp(arr[i]->id, id) == 0)
            return arr[i];
    return NULL;
}

const proposal *batch_find(pipeline *p, batch *b, const char *id)
{
    proposal *x = find_in(b->shadow, b->n_shadow, id);
    if (x)
        return x;
    x = proposal_map_get(&p->map, id); /* the committer is the map's only writer */
    if (x)
        return x;
    return find_in(b->loaded, b->n_loaded, id);
}

proposal *batch_edit(pipeline *p, batch *b, const char *id)
{
    assert(pthread_equal(pthread_self(), p->committer_self)); /* the single writer only */
    proposal *x = find_in(b->shadow, b->n_shadow, id);
    if (x)
        return x;
    const proposal *orig = batch_find(p, b, id);
    if (!orig)
        return NULL;
    x = proposal_clone(orig);
    if (!x || push_ptr(&b->shadow, &b->n_shadow, &b->cap_shadow, x) != 0) {
        proposal_free(x);
        return NULL;
    }
    return x;
}

int batch_add(batch *b, proposal *pr)
{
    return push_ptr(&b->shadow, &b->n_shadow, &b->cap_shadow, pr);
}

void batch_pending_usage(pipeline *p, batch *b, const char *key_id, map_usage *u)
{
    memset(u, 0, sizeof *u);
    proposal_map_usage(&p->map, key_id, u);
    for (size_t i = 0; i < b->n_shadow; i++)
        if (!proposal_map_get(&p->map, b->shadow[i]->id))
            map_usage_add(u, b->shadow[i], key_id);
}

head_snap *batch_head(batch *b)
{
    return b->head;
}

int batch_frozen(batch *b)
{
    return b->frozen;
}

int64_t batch_now(batch *b)
{
    return b->now_ms;
}

store_txn *batch_txn(batch *b)
{
    return b->txn;
}

svcr_code batch_probe_gate(batch *b, svcr_err *e)
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

void batch_fail(batch *b, int st)
{
    if (b->status == STORE_OK)
        b->status = st ? st : STORE_EIO;
}

int batch_failed(batch *b)
{
    return b->status != STORE_OK;
}

void batch_set_head(batch *b, head_snap *h)
{
    /* a batch advances HEAD by exactly one version per commit, never backwards */
    assert(h && h->version == b->head->version + 1);
    head_snap_release(b->head);
    b->head = h;
    b->head_changed = 1;
}

void batch_set_frozen(batch *b, int frozen, const char *reason)
{
    b->frozen = frozen;
    snprintf(b->frozen_reason, sizeof b->frozen_reason, "%s", reason ? reason : "");
    b->frozen_changed = 1;
}

void batch_add_event(batch *b, const bus_event *e)
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

void batch_audit(pipeline *p, batch *b, const audit_entry *e)
{
    assert(pthread_equal(pthread_self(), p->committer_self)); /* the single writer only */
    if (batch_failed(b))
        return;
    buf rec = {0};
    audit_tip next = b->tip;
    if (audit_record_build(&next, e, b->now_ms, &rec) != 0) {
        buf_free(&rec);
        batch_fail(b, STORE_ENOMEM);
        return;
    }
    assert(next.seq == b->tip.seq + 1); /* the audit chain has no gap */
    int rc = p->st->ops->txn_put_audit(b->txn, next.seq, rec.data, rec.len);
    buf_free(&rec);
    if (rc != STORE_OK) {
        batch_fail(b, rc);
        return;
    }
    b->tip = next;
}

/* The pending index: ids of the proposals still open for HEAD+1 after this batch, stored in
 * meta "pending" so startup loads them without scanning every proposal ever made. */
static int is_open_after(const batch *b, const proposal *pr)
{
    return pr->status == PROPOSAL_PENDING && pr->ds->version == b->head->version + 1;
}

static void write_pending_index(pipeline *p, batch *b)
{
    buf ids = {0};
    buf_putc(&ids, '[');
    int first = 1;
    for (size_t i = 0; i < p->map.cap; i++) {
        proposal *x = p->map.slots[i];
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
    int rc =
        ids.data ? p->st->ops->txn_put_meta(b->txn, "pending", ids.data, ids.len) : STORE_ENOMEM;
    buf_free(&ids);
    if (rc != STORE_OK)
        batch_fail(b, rc);
}

/* Before the write transaction opens: load from storage the proposals the batch names that
 * are not pending in memory (committed or stale ones), so no read runs inside the write. */
static void preload(pipeline *p, batch *b, op *list)
{
    for (op *o = list; o; o = o->next) {
        if (!o->proposal_id[0] || o->kind == OP_AUDIT)
            continue;
        if (proposal_map_get(&p->map, o->proposal_id) ||
            find_in(b->loaded, b->n_loaded, o->proposal_id))
            continue;
        buf rec = {0};
        if (p->st->ops->get_proposal(p->st, o->proposal_id, pl_copy_bytes, &rec) == STORE_OK) {
            proposal *pr = NULL;
            if (proposal_decode(rec.data, rec.len, NULL, &pr, NULL) == SVCR_OK &&
                push_ptr(&b->loaded, &b->n_loaded, &b->cap_loaded, pr) != 0)
                proposal_free(pr);
        }
        buf_free(&rec);
    }
}

static void apply_one(pipeline *p, batch *b, op *o)
{
    switch (o->kind) {
    case OP_PROPOSE:
        apply_propose(p, b, o);
        break;
    case OP_APPROVE:
        apply_approve(p, b, o);
        break;
    case OP_COMMIT:
    case OP_SUPERSEDE:
        apply_commit(p, b, o);
        break;
    case OP_FREEZE:
    case OP_THAW:
        apply_freeze(p, b, o);
        break;
    case OP_AUDIT:
        apply_audit(p, b, o);
        break;
    }
}

/* After a durable commit: the batch's view becomes everyone's. */
static void publish(pipeline *p, batch *b)
{
    pthread_rwlock_wrlock(&p->map_lock);
    for (size_t i = 0; i < b->n_shadow; i++) {
        proposal *pr = b->shadow[i];
        if (pr->status == PROPOSAL_COMMITTED || pr->ds->version <= b->head->version) {
            proposal_map_del(&p->map, pr->id);
            proposal_free(pr);
        } else if (proposal_map_put(&p->map, pr) != 0) {
            proposal_free(pr); /* OOM: it stays readable from storage */
        }
    }
    b->n_shadow = 0;
    if (p->map.len > 0) {
        /* Proposals HEAD has passed are stale forever, and expired ones can never be approved
         * or committed again: storage keeps their records (reads derive the status), memory
         * lets them go. */
        size_t n = 0;
        char(*ids)[PROPOSAL_ID_LEN + 1] = calloc(p->map.len + 1, sizeof *ids);
        for (size_t i = 0; ids && i < p->map.cap; i++) {
            proposal *x = p->map.slots[i];
            if (x && x->id[0] == 'p' && x->ds && /* id[0]: skips deleted-slot markers */
                (x->ds->version <= b->head->version || b->now_ms >= x->expires_at_ms))
                memcpy(ids[n++], x->id, sizeof ids[0]);
        }
        for (size_t i = 0; i < n; i++)
            proposal_map_del(&p->map, ids[i]);
        free(ids);
    }
    pthread_rwlock_unlock(&p->map_lock);
    uint64_t advanced = 0;
    if (b->head_changed) {
        head_snap *old = head_cell_get(&p->head);
        assert(b->head->version > old->version); /* HEAD only grows */
        advanced = b->head->version - old->version;
        head_snap_release(old);
        head_cell_set(&p->head, head_snap_retain(b->head));
    }
    pthread_mutex_lock(&p->st_mu);
    p->stats.commits += advanced;
    p->tip = b->tip;
    p->frozen = b->frozen;
    memcpy(p->frozen_reason, b->frozen_reason, sizeof p->frozen_reason);
    p->storage_fault = 0;
    p->fault_batches = 0;
    p->stats.batches++;
    pthread_mutex_unlock(&p->st_mu);
    for (size_t i = 0; p->bus && i < b->n_events; i++)
        bus_publish(p->bus, &b->events[i]);
}

/* A failed batch: every op is answered 503 storage, the write plane goes down, and the fault
 * is logged once when it begins (with the store's own words: step and errno text). */
static void fail_batch(pipeline *p, batch *b, op *list, int in_store)
{
    char why[192] = "";
    if (in_store) /* txn_begin or txn_commit failed: the store knows why */
        p->st->ops->last_write_error(p->st, why, sizeof why);
    else
        snprintf(why, sizeof why, "while the batch was being built");
    for (op *o = list; o; o = o->next)
        result_fail(&o->res, SVCR_E_NOT_READY, "storage",
                    "storage write failed (%s); nothing was applied", store_status_str(b->status));
    pthread_mutex_lock(&p->st_mu);
    int began = !p->storage_fault;
    p->storage_fault = 1;
    p->fault_batches = began ? 1 : p->fault_batches + 1;
    p->stats.storage_faults++;
    pthread_mutex_unlock(&p->st_mu);
    if (began)
        log_msg(LOG_ERROR, "storage.fault",
                "a write transaction failed: %s: %s; nothing of it was applied. Writes answer "
                "503 NotReady (storage) and /readyz says write_ready=false until a write "
                "transaction succeeds; each transaction admits one write as the probe",
                store_status_str(b->status), why[0] ? why : "no detail");
}

static void run_batch(pipeline *p, op *list, size_t n)
{
    batch b = {0};
    b.now_ms = pl_now_ms(p);
    b.head = head_cell_get(&p->head);
    pthread_mutex_lock(&p->st_mu);
    b.tip = p->tip;
    b.frozen = p->frozen;
    b.probing = p->storage_fault;
    memcpy(b.frozen_reason, p->frozen_reason, sizeof b.frozen_reason);
    pthread_mutex_unlock(&p->st_mu);
    preload(p, &b, list);
    int in_store = 0; /* the failure, if any, came from txn_begin or txn_commit */
    int rc = p->st->ops->txn_begin(p->st, &b.txn);
    if (rc != STORE_OK) {
        batch_fail(&b, rc);
        in_store = 1;
    }
    for (op *o = list; o && !batch_failed(&b); o = o->next)
        apply_one(p, &b, o);
    if (b.txn && !batch_failed(&b) && (b.n_shadow > 0 || b.head_changed))
        write_pending_index(p, &b);
    if (b.txn) {
        if (batch_failed(&b)) {
            p->st->ops->txn_abort(b.txn);
        } else if ((rc = p->st->ops->txn_commit(b.txn)) != STORE_OK) {
            batch_fail(&b, rc);
            in_store = 1;
        }
        b.txn = NULL;
    }
    if (!batch_failed(&b)) {
        pthread_mutex_lock(&p->st_mu);
        uint64_t failed = p->storage_fault ? p->fault_batches : 0;
        pthread_mutex_unlock(&p->st_mu);
        publish(p, &b); /* clears storage_fault */
        if (failed)
            log_msg(LOG_WARN, "storage.recovered",
                    "a write transaction succeeded after %llu failed; the write plane is back",
                    (unsigned long long)failed);
    } else {
        fail_batch(p, &b, list, in_store);
    }
    pthread_mutex_lock(&p->st_mu);
    p->stats.ops += n;
    if (n > p->stats.max_batch)
        p->stats.max_batch = n;
    for (op *o = list; o; o = o->next) {
        if (o->kind == OP_COMMIT || o->kind == OP_SUPERSEDE) {
            if (o->res.code == SVCR_OK)
                p->stats.updates_ok++;
            else
                p->stats.updates_rejected++;
            double lat = (double)(pl_now_ms(p) - o->submitted_ms) / 1000.0;
            p->stats.commit_latency_sum_s += lat;
            p->stats.commit_latency_count++;
        }
    }
    pthread_mutex_unlock(&p->st_mu);
    for (size_t i = 0; i < b.n_shadow; i++)
        proposal_free(b.shadow[i]);
    for (size_t i = 0; i < b.n_loaded; i++)
        proposal_free(b.loaded[i]);
    free(b.shadow);
    free(b.loaded);
    free(b.events);
    head_snap_release(b.head);
    /* each op's log line says what its submitter gets, and is written before it gets it */
    int stored = !batch_failed(&b);
    while (list) {
        op *next = list->next;
        op_complete(list, stored);
        op_release(list);
        list = next;
    }
}

void *committer_main(void *arg)
{
    pipeline *p = arg;
    p->committer_self = pthread_self();
    pthread_setname_np(pthread_self(), "svcr-commit");
    for (;;) {
        size_t n = 0;
        op *list = queue_take_all(p, &n);
        if (!list)
            break; /* stopping and drained */
        run_batch(p, list, n);
    }
    return NULL;
}

uint64_t pl_pending_budget(const pipeline *p)
{
    return p->o.pending_bytes ? p->o.pending_bytes : (uint64_t)64 << 20;
}
