/* store.c - the storage front: enforces the transaction contract of store.h once, for every
 * backend, and hands the backend a finished batch to apply plus its reads (backend.h). */
#include "storage/backend.h"
#include "storage/fault.h"
#include "storage/store.h"

#include <assert.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct store_front {
    store base;
    store_ops ops; /* front_ops named after the backend (base.ops points here) */
    store_backend *be;
    atomic_int txn_open;          /* 1 while the one write txn exists */
    store_fault_cell write_fault; /* armed write fault: kind << 32 | (uint32_t)count */
    store_fault_cell read_fault;  /* armed read fault, the same encoding */
    int read_only;
    char write_err[STORE_WHY_MAX]; /* why the last write failed (writer thread only) */
} store_front;

struct store_txn {
    store_front *f;
    store_batch batch;
    uint64_t next_version; /* the only version txn_put_version accepts next */
    uint64_t next_seq;     /* the only audit seq txn_put_audit accepts next */
    int err;               /* first failed put: the txn can only be aborted */
};

static const store_ops front_ops;

/* --- helpers shared with the backends (backend.h) ------------------------------------------- */

void store_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t store_be64_get(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

static int front_key_ok(const store *s, const char *key)
{
    size_t n = key ? strlen(key) : 0;
    return n > 0 && n <= ((const store_front *)s)->be->key_max;
}

/* The backend for one read call, or NULL when an armed read fault takes this call: the caller
 * then returns STORE_EIO without reading. */
static store_backend *front_reader(store *s)
{
    store_front *f = (store_front *)s;
    return store_fault_take(&f->read_fault) == STORE_FAULT_NONE ? f->be : NULL;
}

/* --- reads ---------------------------------------------------------------------------------- */

static int head_cb(void *ctx, const void *data, size_t len)
{
    store_head *out = ctx;
    const uint8_t *in = data;
    if (len != STORE_HEAD_LEN)
        return STORE_ECORRUPT;
    out->version = store_be64_get(in);
    memcpy(out->payload_b3, in + 8, 32);
    out->committed_at_ms = (int64_t)store_be64_get(in + 40);
    return STORE_OK;
}

static int front_get_head(store *s, store_head *out)
{
    if (!out)
        return STORE_EINVAL;
    memset(out, 0, sizeof *out);
    store_backend *be = front_reader(s);
    int st = be ? be->ops->get_named(be, STORE_T_META, STORE_HEAD_KEY, head_cb, out) : STORE_EIO;
    if (st == STORE_NOTFOUND) /* an absent HEAD is version 0 (genesis) */
        return STORE_OK;
    if (st != STORE_OK)
        memset(out, 0, sizeof *out);
    return st;
}

static int front_get_version(store *s, uint64_t version, store_bytes_cb cb, void *ctx)
{
    if (!cb)
        return STORE_EINVAL;
    store_backend *be = front_reader(s);
    return be ? be->ops->get_num(be, STORE_T_VERSIONS, version, cb, ctx) : STORE_EIO;
}

static int copy_hash_cb(void *ctx, const void *data, size_t len)
{
    if (len != 32)
        return STORE_ECORRUPT;
    memcpy(ctx, data, 32);
    return STORE_OK;
}

static int front_get_artifact_hash(store *s, uint64_t version, uint8_t out[32])
{
    if (!out)
        return STORE_EINVAL;
    store_backend *be = front_reader(s);
    return be ? be->ops->get_num(be, STORE_T_HASHES, version, copy_hash_cb, out) : STORE_EIO;
}

static int front_get_proposal(store *s, const char *id, store_bytes_cb cb, void *ctx)
{
    if (!cb || !front_key_ok(s, id))
        return STORE_EINVAL;
    store_backend *be = front_reader(s);
    return be ? be->ops->get_named(be, STORE_T_PROPOSALS, id, cb, ctx) : STORE_EIO;
}

/* "head" is the front's: get_head reads it, get_meta refuses it. */
static int front_get_meta(store *s, const char *key, store_bytes_cb cb, void *ctx)
{
    if (!cb || !front_key_ok(s, key) || strcmp(key, STORE_HEAD_KEY) == 0)
        return STORE_EINVAL;
    store_backend *be = front_reader(s);
    return be ? be->ops->get_named(be, STORE_T_META, key, cb, ctx) : STORE_EIO;
}

static int front_iter_versions(store *s, uint64_t from, store_seq_cb cb, void *ctx)
{
    if (!cb)
        return STORE_EINVAL;
    store_backend *be = front_reader(s);
    return be ? be->ops->iter_num(be, STORE_T_VERSIONS, from, cb, ctx) : STORE_EIO;
}

static int front_iter_proposals(store *s, store_named_cb cb, void *ctx)
{
    if (!cb)
        return STORE_EINVAL;
    store_backend *be = front_reader(s);
    return be ? be->ops->iter_named(be, STORE_T_PROPOSALS, cb, ctx) : STORE_EIO;
}

static int front_iter_audit(store *s, uint64_t from, store_seq_cb cb, void *ctx)
{
    if (!cb)
        return STORE_EINVAL;
    store_backend *be = front_reader(s);
    return be ? be->ops->iter_num(be, STORE_T_AUDIT, from, cb, ctx) : STORE_EIO;
}

static int front_last_audit_seq(store *s, uint64_t *out)
{
    if (!out)
        return STORE_EINVAL;
    *out = 0;
    store_backend *be = front_reader(s);
    return be ? be->ops->last_num(be, STORE_T_AUDIT, out) : STORE_EIO;
}

static int64_t front_size_bytes(store *s)
{
    store_front *f = (store_front *)s;
    return f->be->ops->size_bytes(f->be);
}

/* --- the write batch (committer thread only) ------------------------------------------------ */

static void front_note(store_front *f, const char *fmt, const char *what)
{
    snprintf(f->write_err, sizeof f->write_err, fmt, what);
}

static int front_txn_begin(store *s, store_txn **out)
{
    store_front *f = (store_front *)s;
    int expected = 0;
    if (!out)
        return STORE_EINVAL;
    *out = NULL;
    /* One write txn at a time: the rule lives here, for every backend. */
    if (f->read_only || !atomic_compare_exchange_strong(&f->txn_open, &expected, 1))
        return STORE_EINVAL;
    store_txn *t = calloc(1, sizeof *t);
    int st = t ? STORE_OK : STORE_ENOMEM;
    if (st == STORE_OK)
        st = f->be->ops->last_num(f->be, STORE_T_HASHES, &t->batch.base_version);
    if (st == STORE_OK)
        st = f->be->ops->last_num(f->be, STORE_T_AUDIT, &t->batch.base_seq);
    if (st != STORE_OK) {
        front_note(f, "txn_begin: %s", store_status_str(st));
        free(t);
        atomic_store(&f->txn_open, 0);
        return st;
    }
    t->f = f;
    t->next_version = t->batch.base_version + 1;
    t->next_seq = t->batch.base_seq + 1;
    *out = t;
    return STORE_OK;
}

/* Buffers one op, copying key and value; any failure poisons the txn (t->err). */
static store_op *front_push(store_txn *t, store_op_kind kind, store_table table, const char *key,
                            const void *val, size_t len)
{
    store_batch *b = &t->batch;
    assert(atomic_load(&t->f->txn_open) == 1);
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        store_op *ops = cap > SIZE_MAX / sizeof *ops ? NULL : realloc(b->ops, cap * sizeof *ops);
        if (!ops) {
            t->err = STORE_ENOMEM;
            return NULL;
        }
        b->ops = ops;
        b->cap = cap;
    }
    store_op *op = &b->ops[b->n];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->table = table;
    op->key_len = key ? strlen(key) : 0;
    op->del = kind == STORE_OP_NAMED && !val && len == 0 && table == STORE_T_META;
    op->len = len;
    if ((key && !(op->key = strdup(key))) || (!op->del && !(op->val = malloc(len ? len : 1)))) {
        free(op->key);
        t->err = STORE_ENOMEM;
        return NULL;
    }
    if (len)
        memcpy(op->val, val, len);
    b->n++;
    b->bytes += op->key_len + len;
    return op;
}

static int front_put_version(store_txn *t, uint64_t version, const void *artifact, size_t len,
                             const uint8_t artifact_b3[32])
{
    if (!t || t->err)
        return STORE_EINVAL;
    if (version != t->next_version || (!artifact && len) || !artifact_b3)
        return t->err = STORE_EINVAL;
    store_op *op = front_push(t, STORE_OP_VERSION, STORE_T_VERSIONS, NULL, artifact, len);
    if (!op)
        return t->err;
    op->num = version;
    memcpy(op->b3, artifact_b3, 32);
    t->next_version++;
    return STORE_OK;
}

static int front_put_head(store_txn *t, const store_head *h)
{
    uint8_t rec[STORE_HEAD_LEN];
    if (!t || t->err)
        return STORE_EINVAL;
    if (!h)
        return t->err = STORE_EINVAL;
    store_be64_put(rec, h->version);
    memcpy(rec + 8, h->payload_b3, 32);
    store_be64_put(rec + 40, (uint64_t)h->committed_at_ms);
    return front_push(t, STORE_OP_NAMED, STORE_T_META, STORE_HEAD_KEY, rec, sizeof rec) ? STORE_OK
                                                                                        : t->err;
}

static int front_put_proposal(store_txn *t, const char *id, const void *rec, size_t len)
{
    if (!t || t->err)
        return STORE_EINVAL;
    if (!front_key_ok(&t->f->base, id) || (!rec && len))
        return t->err = STORE_EINVAL;
    /* an empty record is stored as such, never read as a delete */
    return front_push(t, STORE_OP_NAMED, STORE_T_PROPOSALS, id, rec ? rec : "", len) ? STORE_OK
                                                                                     : t->err;
}

static int front_put_audit(store_txn *t, uint64_t seq, const void *rec, size_t len)
{
    if (!t || t->err)
        return STORE_EINVAL;
    if (seq != t->next_seq || (!rec && len))
        return t->err = STORE_EINVAL;
    store_op *op = front_push(t, STORE_OP_AUDIT, STORE_T_AUDIT, NULL, rec ? rec : "", len);
    if (!op)
        return t->err;
    op->num = seq;
    t->next_seq++;
    return STORE_OK;
}

static int front_put_meta(store_txn *t, const char *key, const void *data, size_t len)
{
    if (!t || t->err)
        return STORE_EINVAL;
    if (!front_key_ok(&t->f->base, key) || strcmp(key, STORE_HEAD_KEY) == 0 || (!data && len))
        return t->err = STORE_EINVAL;
    /* len 0 deletes the key */
    return front_push(t, STORE_OP_NAMED, STORE_T_META, key, len ? data : NULL, len) ? STORE_OK
                                                                                    : t->err;
}

/* The batch keeps the order rules: versions and seqs consecutive after the tails. */
static void front_assert_order(const store_batch *b)
{
#ifndef NDEBUG
    uint64_t v = b->base_version, q = b->base_seq;
    for (size_t i = 0; i < b->n; i++) {
        if (b->ops[i].kind == STORE_OP_VERSION)
            assert(b->ops[i].num == ++v);
        else if (b->ops[i].kind == STORE_OP_AUDIT)
            assert(b->ops[i].num == ++q);
    }
#else
    (void)b;
#endif
}

static void front_txn_free(store_txn *t)
{
    assert(atomic_load(&t->f->txn_open) == 1);
    for (size_t i = 0; i < t->batch.n; i++) {
        free(t->batch.ops[i].key);
        free(t->batch.ops[i].val);
    }
    free(t->batch.ops);
    atomic_store(&t->f->txn_open, 0);
    free(t);
}

static int front_txn_commit(store_txn *t)
{
    if (!t)
        return STORE_EINVAL;
    store_front *f = t->f;
    int st = t->err;
    f->write_err[0] = '\0';
    if (st) {
        front_note(f, "the batch was refused before commit: %s", store_status_str(st));
        front_txn_free(t);
        return st;
    }
    front_assert_order(&t->batch);
    /* An armed fault lets the backend do all the work, then makes the commit fail: nothing of
     * the txn becomes visible. */
    store_fault fault = store_fault_take(&f->write_fault);
    st = f->be->ops->apply(f->be, &t->batch, fault != STORE_FAULT_NONE, f->write_err,
                           sizeof f->write_err);
    if (st == STORE_OK && fault != STORE_FAULT_NONE) {
        st = fault == STORE_FAULT_ENOSPC ? STORE_ENOSPC : STORE_EIO;
        store_fault_describe(fault, f->write_err, sizeof f->write_err);
    }
    if (st != STORE_OK && !f->write_err[0])
        front_note(f, "commit: %s", store_status_str(st));
    if (st == STORE_OK)
        f->write_err[0] = '\0';
    front_txn_free(t);
    return st;
}

static void front_txn_abort(store_txn *t)
{
    if (t)
        front_txn_free(t);
}

static void front_last_write_error(store *s, char *out, size_t cap)
{
    if (cap)
        snprintf(out, cap, "%s", ((store_front *)s)->write_err);
}

/* --- lifecycle ------------------------------------------------------------------------------ */

static void front_fault_arm(store *s, store_fault fault, int count)
{
    store_front *f = (store_front *)s;
    if (fault == STORE_FAULT_NONE) {
        store_fault_set(&f->write_fault, STORE_FAULT_NONE, 0);
        store_fault_set(&f->read_fault, STORE_FAULT_NONE, 0);
    } else {
        store_fault_set(fault == STORE_FAULT_READ ? &f->read_fault : &f->write_fault, fault, count);
    }
}

static void front_drop_cache(store *s)
{
    store_front *f = (store_front *)s;
    if (f->be->ops->drop_cache)
        f->be->ops->drop_cache(f->be);
}

static void front_close(store *s)
{
    store_front *f = (store_front *)s;
    if (!f)
        return;
    assert(atomic_load(&f->txn_open) == 0);
    f->be->ops->close(f->be);
    free(f);
}

/* See store.h. The one place that picks a backend. */
int store_open(store_kind kind, const store_open_opts *o, store **out, char *errbuf, size_t errcap)
{
    store_backend *be = NULL;
    int st;
    if (errbuf && errcap)
        errbuf[0] = '\0';
    if (!out)
        return store_open_error(errbuf, errcap, STORE_EINVAL, "storage: no output pointer");
    *out = NULL;
    switch (kind) {
    case STORE_KIND_LMDB:
        st = store_lmdb_backend_open(o, &be, errbuf, errcap);
        break;
    case STORE_KIND_MEMORY:
        st = store_memory_backend_open(o, &be, errbuf, errcap);
        break;
    default:
        return store_open_error(errbuf, errcap, STORE_EINVAL, "storage: unknown backend %d",
                                (int)kind);
    }
    if (st != STORE_OK)
        return st;
    assert(be && be->key_max > 0 && be->key_max <= STORE_KEY_MAX);
    store_front *f = calloc(1, sizeof *f);
    if (!f) {
        be->ops->close(be);
        return store_open_error(errbuf, errcap, STORE_ENOMEM, "storage: out of memory");
    }
    f->ops = front_ops;
    f->ops.name = be->ops->name;
    f->base.ops = &f->ops;
    f->be = be;
    f->read_only = o && o->read_only;
    *out = &f->base;
    return STORE_OK;
}

int store_lmdb_open(const store_open_opts *o, store **out, char *errbuf, size_t errcap)
{
    return store_open(STORE_KIND_LMDB, o, out, errbuf, errcap);
}

int store_memory_open(const store_open_opts *o, store **out, char *errbuf, size_t errcap)
{
    return store_open(STORE_KIND_MEMORY, o, out, errbuf, errcap);
}

static const store_ops front_ops = {
    .name = NULL, /* the backend's, per instance */
    .txn_begin = front_txn_begin,
    .txn_put_version = front_put_version,
    .txn_put_head = front_put_head,
    .txn_put_proposal = front_put_proposal,
    .txn_put_audit = front_put_audit,
    .txn_put_meta = front_put_meta,
    .txn_commit = front_txn_commit,
    .txn_abort = front_txn_abort,
    .get_head = front_get_head,
    .get_version = front_get_version,
    .get_artifact_hash = front_get_artifact_hash,
    .get_proposal = front_get_proposal,
    .get_meta = front_get_meta,
    .iter_versions = front_iter_versions,
    .iter_proposals = front_iter_proposals,
    .iter_audit = front_iter_audit,
    .last_audit_seq = front_last_audit_seq,
    .size_bytes = front_size_bytes,
    .last_write_error = front_last_write_error,
    .fault_arm = front_fault_arm,
    .drop_cache = front_drop_cache,
    .close = front_close,
};
