/* memory_store.c - the amnesia storage backend: store.h in process memory, no file anywhere. */
#include "storage/fault.h"
#include "storage/store.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEM_KEY_MAX 511     /* the same key limit as the LMDB backend, so both behave alike */
#define MEM_HEAD_KEY "head" /* reserved meta key, as in the LMDB layout */

typedef struct mem_blob {
    uint8_t *data; /* owned; never NULL once stored */
    size_t len;
} mem_blob;

typedef struct mem_version {
    mem_blob body;
    uint8_t b3[32];
} mem_version;

typedef struct mem_named {
    char *key; /* owned */
    mem_blob val;
} mem_named;

/* A sorted (strcmp, i.e. unsigned byte order like LMDB's keys) array of named records. */
typedef struct mem_table {
    mem_named *items;
    size_t n, cap;
} mem_table;

typedef struct mem_store {
    store base;
    /* Read-held by every read for the whole callback; write-held while a commit applies. */
    pthread_rwlock_t lock;
    mem_version *versions; /* versions[v - 1]: dense, versions are never removed */
    size_t nversions, cap_versions;
    mem_blob *audit; /* audit[seq - 1] */
    size_t naudit, cap_audit;
    mem_table proposals, meta;
    store_head head;
    int64_t bytes;
    atomic_int txn_open;
    store_fault_cell fault; /* armed fault: kind << 32 | (uint32_t)count */
    int read_only;
    char write_err[160]; /* why the last write failed (writer thread only) */
} mem_store;

typedef enum mem_op_kind {
    MEM_OP_VERSION,
    MEM_OP_HEAD,
    MEM_OP_PROPOSAL,
    MEM_OP_AUDIT,
    MEM_OP_META,
} mem_op_kind;

/* One buffered write; commit moves key and value into the store (no copy, no allocation). */
typedef struct mem_op {
    mem_op_kind kind;
    uint64_t num;
    char *key;    /* owned until moved */
    mem_blob val; /* owned until moved; data NULL for a meta delete */
    uint8_t b3[32];
    store_head head;
} mem_op;

struct store_txn {
    mem_store *s;
    mem_op *ops;
    size_t n, cap;
    uint64_t next_version, next_seq;
    uint64_t base_version, base_seq;
    int err; /* first failed put: the txn can only be aborted */
};

static const store_ops mem_ops;

/* --- helpers ---------------------------------------------------------------------------- */

static void mem_rdlock(mem_store *s)
{
    int rc = pthread_rwlock_rdlock(&s->lock);
    assert(rc == 0);
    (void)rc;
}

static void mem_wrlock(mem_store *s)
{
    int rc = pthread_rwlock_wrlock(&s->lock);
    assert(rc == 0);
    (void)rc;
}

static void mem_unlock(mem_store *s)
{
    int rc = pthread_rwlock_unlock(&s->lock);
    assert(rc == 0);
    (void)rc;
}

static int mem_key_ok(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    return n > 0 && n <= MEM_KEY_MAX;
}

/* Index of `key` in t, or of where it would be inserted; *found says which. */
static size_t mem_table_find(const mem_table *t, const char *key, int *found)
{
    size_t lo = 0, hi = t->n;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->items[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Makes room for `more` items in the array whose pointer is at `arrp` without changing what is
 * visible. On failure the array is unchanged. */
static int mem_reserve(void *arrp, size_t *cap, size_t n, size_t more, size_t size)
{
    void *arr;
    if (more > SIZE_MAX / size - n)
        return STORE_ENOMEM;
    if (n + more <= *cap)
        return STORE_OK;
    size_t c = *cap ? *cap : 16;
    while (c < n + more)
        c = c > SIZE_MAX / size / 2 ? n + more : c * 2;
    memcpy(&arr, arrp, sizeof arr);
    void *p = realloc(arr, c * size);
    if (!p)
        return STORE_ENOMEM;
    memcpy(arrp, &p, sizeof p);
    *cap = c;
    return STORE_OK;
}

static store_fault mem_fault_take(mem_store *s)
{
    return store_fault_take(&s->fault);
}

static void mem_fault_arm(store *base, store_fault f, int count)
{
    store_fault_set(&((mem_store *)base)->fault, f, count);
}

static void mem_last_write_error(store *base, char *out, size_t cap)
{
    if (cap)
        snprintf(out, cap, "%s", ((mem_store *)base)->write_err);
}

/* --- reads ---------------------------------------------------------------------------------- */

static int mem_get_head(store *base, store_head *out)
{
    mem_store *s = (mem_store *)base;
    if (!out)
        return STORE_EINVAL;
    mem_rdlock(s);
    *out = s->head;
    mem_unlock(s);
    return STORE_OK;
}

static int mem_get_version(store *base, uint64_t version, store_bytes_cb cb, void *ctx)
{
    mem_store *s = (mem_store *)base;
    int st = STORE_NOTFOUND;
    if (!cb)
        return STORE_EINVAL;
    mem_rdlock(s);
    if (version >= 1 && version <= s->nversions) {
        const mem_blob *b = &s->versions[version - 1].body;
        st = cb(ctx, b->data, b->len);
    }
    mem_unlock(s);
    return st;
}

static int mem_get_artifact_hash(store *base, uint64_t version, uint8_t out[32])
{
    mem_store *s = (mem_store *)base;
    int st = STORE_NOTFOUND;
    if (!out)
        return STORE_EINVAL;
    mem_rdlock(s);
    if (version >= 1 && version <= s->nversions) {
        memcpy(out, s->versions[version - 1].b3, 32);
        st = STORE_OK;
    }
    mem_unlock(s);
    return st;
}

static int mem_get_named(mem_store *s, const mem_table *t, const char *key, store_bytes_cb cb,
                         void *ctx)
{
    int found, st = STORE_NOTFOUND;
    mem_rdlock(s);
    size_t i = mem_table_find(t, key, &found);
    if (found)
        st = cb(ctx, t->items[i].val.data, t->items[i].val.len);
    mem_unlock(s);
    return st;
}

static int mem_get_proposal(store *base, const char *id, store_bytes_cb cb, void *ctx)
{
    mem_store *s = (mem_store *)base;
    if (!cb || !mem_key_ok(id))
        return STORE_EINVAL;
    return mem_get_named(s, &s->proposals, id, cb, ctx);
}

static int mem_get_meta(store *base, const char *key, store_bytes_cb cb, void *ctx)
{
    mem_store *s = (mem_store *)base;
    if (!cb || !mem_key_ok(key) || strcmp(key, MEM_HEAD_KEY) == 0)
        return STORE_EINVAL;
    return mem_get_named(s, &s->meta, key, cb, ctx);
}

static int mem_iter_versions(store *base, uint64_t from, store_seq_cb cb, void *ctx)
{
    mem_store *s = (mem_store *)base;
    int st = STORE_OK;
    if (!cb)
        return STORE_EINVAL;
    mem_rdlock(s);
    for (uint64_t v = from ? from : 1; st == STORE_OK && v <= s->nversions; v++)
        st = cb(ctx, v, s->versions[v - 1].body.data, s->versions[v - 1].body.len);
    mem_unlock(s);
    return st;
}

static int mem_iter_audit(store *base, uint64_t from, store_seq_cb cb, void *ctx)
{
    mem_store *s = (mem_store *)base;
    int st = STORE_OK;
    if (!cb)
        return STORE_EINVAL;
    mem_rdlock(s);
    for (uint64_t q = from ? from : 1; st == STORE_OK && q <= s->naudit; q++)
        st = cb(ctx, q, s->audit[q - 1].data, s->audit[q - 1].len);
    mem_unlock(s);
    return st;
}

static int mem_iter_proposals(store *base, store_named_cb cb, void *ctx)
{
    mem_store *s = (mem_store *)base;
    int st = STORE_OK;
    if (!cb)
        return STORE_EINVAL;
    mem_rdlock(s);
    for (size_t i = 0; st == STORE_OK && i < s->proposals.n; i++) {
        const mem_named *it = &s->proposals.items[i];
        st = cb(ctx, it->key, it->val.data, it->val.len);
    }
    mem_unlock(s);
    return st;
}

static int mem_last_audit_seq(store *base, uint64_t *out)
{
    mem_store *s = (mem_store *)base;
    if (!out)
        return STORE_EINVAL;
    mem_rdlock(s);
    *out = s->naudit;
    mem_unlock(s);
    return STORE_OK;
}

static int64_t mem_size_bytes(store *base)
{
    mem_store *s = (mem_store *)base;
    mem_rdlock(s);
    int64_t n = s->bytes;
    mem_unlock(s);
    return n;
}

/* --- the write batch ------------------------------------------------------------------------ */

static int mem_txn_begin(store *base, store_txn **out)
{
    mem_store *s = (mem_store *)base;
    int expected = 0;
    if (!out)
        return STORE_EINVAL;
    *out = NULL;
    if (s->read_only || !atomic_compare_exchange_strong(&s->txn_open, &expected, 1))
        return STORE_EINVAL;
    store_txn *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(s->write_err, sizeof s->write_err, "txn_begin: %s",
                 store_status_str(STORE_ENOMEM));
        atomic_store(&s->txn_open, 0);
        return STORE_ENOMEM;
    }
    t->s = s;
    mem_rdlock(s);
    t->base_version = s->nversions;
    t->base_seq = s->naudit;
    mem_unlock(s);
    t->next_version = t->base_version + 1;
    t->next_seq = t->base_seq + 1;
    *out = t;
    return STORE_OK;
}

/* Appends an op owning copies of key and value; any failure poisons the txn. `del` records a
 * value-less op (meta delete). */
static mem_op *mem_push(store_txn *t, mem_op_kind kind, const char *key, const void *val,
                        size_t len, int del)
{
    if (mem_reserve(&t->ops, &t->cap, t->n, 1, sizeof *t->ops)) {
        t->err = STORE_ENOMEM;
        return NULL;
    }
    mem_op *op = &t->ops[t->n];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    if (key && !(op->key = strdup(key))) {
        t->err = STORE_ENOMEM;
        return NULL;
    }
    if (!del) {
        op->val.data = malloc(len ? len : 1);
        if (!op->val.data) {
            free(op->key);
            t->err = STORE_ENOMEM;
            return NULL;
        }
        if (len)
            memcpy(op->val.data, val, len);
        op->val.len = len;
    }
    t->n++;
    return op;
}

static int mem_put_version(store_txn *t, uint64_t version, const void *artifact, size_t len,
                           const uint8_t artifact_b3[32])
{
    if (!t || t->err)
        return STORE_EINVAL;
    if (version != t->next_version || (!artifact && len) || !artifact_b3)
        return t->err = STORE_EINVAL;
    mem_op *op = mem_push(t, MEM_OP_VERSION, NULL, artifact, len, 0);
    if (!op)
        return t->err;
    op->num = version;
    memcpy(op->b3, artifact_b3, 32);
    t->next_version++;
    return STORE_OK;
}

static int mem_put_head(store_txn *t, const store_head *h)
{
    if (!t || t->err)
        return STORE_EINVAL;
    if (!h)
        return t->err = STORE_EINVAL;
    mem_op *op = mem_push(t, MEM_OP_HEAD, NULL, NULL, 0, 1);
    if (!op)
        return t->err;
    op->head = *h;
    return STORE_OK;
}

static int mem_put_proposal(store_txn *t, const char *id, const void *rec, size_t len)
{
    if (!t || t->err)
        return STORE_EINVAL;
    if (!mem_key_ok(id) || (!rec && len))
        return t->err = STORE_EINVAL;
    return mem_push(t, MEM_OP_PROPOSAL, id, rec, len, 0) ? STORE_OK : t->err;
}

static int mem_put_audit(store_txn *t, uint64_t seq, const void *rec, size_t len)
{
    if (!t || t->err)
        return STORE_EINVAL;
    if (seq != t->next_seq || (!rec && len))
        return t->err = STORE_EINVAL;
    mem_op *op = mem_push(t, MEM_OP_AUDIT, NULL, rec, len, 0);
    if (!op)
        return t->err;
    op->num = seq;
    t->next_seq++;
    return STORE_OK;
}

static int mem_put_meta(store_txn *t, const char *key, const void *data, size_t len)
{
    if (!t || t->err)
        return STORE_EINVAL;
    if (!mem_key_ok(key) || strcmp(key, MEM_HEAD_KEY) == 0 || (!data && len))
        return t->err = STORE_EINVAL;
    return mem_push(t, MEM_OP_META, key, data, len, len == 0) ? STORE_OK : t->err;
}

/* Grows every array so that applying the batch cannot fail halfway. */
static int mem_reserve_for(mem_store *s, const store_txn *t)
{
    size_t nv = 0, na = 0, np = 0, nm = 0;
    for (size_t i = 0; i < t->n; i++) {
        nv += t->ops[i].kind == MEM_OP_VERSION;
        na += t->ops[i].kind == MEM_OP_AUDIT;
        np += t->ops[i].kind == MEM_OP_PROPOSAL;
        nm += t->ops[i].kind == MEM_OP_META;
    }
    if (mem_reserve(&s->versions, &s->cap_versions, s->nversions, nv, sizeof *s->versions) ||
        mem_reserve(&s->audit, &s->cap_audit, s->naudit, na, sizeof *s->audit) ||
        mem_reserve(&s->proposals.items, &s->proposals.cap, s->proposals.n, np,
                    sizeof *s->proposals.items) ||
        mem_reserve(&s->meta.items, &s->meta.cap, s->meta.n, nm, sizeof *s->meta.items))
        return STORE_ENOMEM;
    return STORE_OK;
}

/* Inserts, replaces (op->val.data set) or deletes (NULL) a named record, taking op's buffers.
 * Whatever op still owns afterwards (its key copy on a replace) is freed with the txn. */
static void mem_table_apply(mem_store *s, mem_table *tb, mem_op *op)
{
    int found;
    size_t i = mem_table_find(tb, op->key, &found);
    if (found) {
        mem_named *it = &tb->items[i];
        s->bytes -= (int64_t)(strlen(it->key) + it->val.len);
        free(it->val.data);
        if (op->val.data) {
            it->val = op->val;
            op->val.data = NULL;
            s->bytes += (int64_t)(strlen(it->key) + it->val.len);
        } else {
            free(it->key);
            memmove(it, it + 1, (tb->n - i - 1) * sizeof *it);
            tb->n--;
        }
    } else if (op->val.data) {
        assert(tb->n < tb->cap);
        memmove(&tb->items[i + 1], &tb->items[i], (tb->n - i) * sizeof *tb->items);
        tb->items[i].key = op->key;
        tb->items[i].val = op->val;
        tb->n++;
        s->bytes += (int64_t)(strlen(op->key) + op->val.len);
        op->key = NULL;
        op->val.data = NULL;
    }
}

/* Applies every op under the write lock; the arrays were reserved, so this cannot fail. */
static void mem_apply(mem_store *s, store_txn *t)
{
    for (size_t i = 0; i < t->n; i++) {
        mem_op *op = &t->ops[i];
        switch (op->kind) {
        case MEM_OP_VERSION:
            assert(op->num == s->nversions + 1 && s->nversions < s->cap_versions);
            s->versions[s->nversions].body = op->val;
            memcpy(s->versions[s->nversions].b3, op->b3, 32);
            s->nversions++;
            s->bytes += (int64_t)(op->val.len + 32);
            op->val.data = NULL;
            break;
        case MEM_OP_AUDIT:
            assert(op->num == s->naudit + 1 && s->naudit < s->cap_audit);
            s->audit[s->naudit++] = op->val;
            s->bytes += (int64_t)op->val.len;
            op->val.data = NULL;
            break;
        case MEM_OP_HEAD:
            s->head = op->head;
            break;
        case MEM_OP_PROPOSAL:
            mem_table_apply(s, &s->proposals, op);
            break;
        case MEM_OP_META:
            mem_table_apply(s, &s->meta, op);
            break;
        }
    }
}

static void mem_txn_free(store_txn *t)
{
    atomic_store(&t->s->txn_open, 0);
    for (size_t i = 0; i < t->n; i++) {
        free(t->ops[i].key);
        free(t->ops[i].val.data);
    }
    free(t->ops);
    free(t);
}

static int mem_txn_commit(store_txn *t)
{
    if (!t)
        return STORE_EINVAL;
    mem_store *s = t->s;
    int st = t->err;
    s->write_err[0] = '\0';
    store_fault fault = st ? STORE_FAULT_NONE : mem_fault_take(s);
    if (fault != STORE_FAULT_NONE) {
        st = fault == STORE_FAULT_ENOSPC ? STORE_ENOSPC : STORE_EIO;
        store_fault_describe(fault, s->write_err, sizeof s->write_err);
    }
    if (st == STORE_OK) {
        mem_wrlock(s);
        /* Single writer: nothing else can have moved the tails since txn_begin. */
        assert(s->nversions == t->base_version && s->naudit == t->base_seq);
        st = mem_reserve_for(s, t);
        if (st == STORE_OK)
            mem_apply(s, t);
        mem_unlock(s);
    }
    if (st != STORE_OK && !s->write_err[0])
        snprintf(s->write_err, sizeof s->write_err, "commit: %s", store_status_str(st));
    mem_txn_free(t);
    return st;
}

static void mem_txn_abort(store_txn *t)
{
    if (t)
        mem_txn_free(t);
}

/* --- lifecycle ---------------------------------------------------------------------------- */

static void mem_table_free(mem_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->items[i].key);
        free(t->items[i].val.data);
    }
    free(t->items);
}

static void mem_drop_cache(store *base)
{
    (void)base; /* nothing is mapped */
}

static void mem_close(store *base)
{
    mem_store *s = (mem_store *)base;
    if (!s)
        return;
    assert(atomic_load(&s->txn_open) == 0);
    for (size_t i = 0; i < s->nversions; i++)
        free(s->versions[i].body.data);
    free(s->versions);
    for (size_t i = 0; i < s->naudit; i++)
        free(s->audit[i].data);
    free(s->audit);
    mem_table_free(&s->proposals);
    mem_table_free(&s->meta);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

/* See store.h. `o` may be NULL; only o->read_only is used (data_dir is ignored: no file is ever
 * created). Fails only without memory. */
int store_memory_open(const store_open_opts *o, store **out, char *errbuf, size_t errcap)
{
    if (errbuf && errcap)
        errbuf[0] = '\0';
    if (!out) {
        if (errbuf && errcap)
            snprintf(errbuf, errcap, "storage: no output pointer");
        return STORE_EINVAL;
    }
    *out = NULL;
    mem_store *s = calloc(1, sizeof *s);
    if (!s || pthread_rwlock_init(&s->lock, NULL) != 0) {
        free(s);
        if (errbuf && errcap)
            snprintf(errbuf, errcap, "storage: out of memory");
        return STORE_ENOMEM;
    }
    s->base.ops = &mem_ops;
    s->read_only = o && o->read_only;
    *out = &s->base;
    return STORE_OK;
}

static const store_ops mem_ops = {
    .name = "memory",
    .txn_begin = mem_txn_begin,
    .txn_put_version = mem_put_version,
    .txn_put_head = mem_put_head,
    .txn_put_proposal = mem_put_proposal,
    .txn_put_audit = mem_put_audit,
    .txn_put_meta = mem_put_meta,
    .txn_commit = mem_txn_commit,
    .txn_abort = mem_txn_abort,
    .get_head = mem_get_head,
    .get_version = mem_get_version,
    .get_artifact_hash = mem_get_artifact_hash,
    .get_proposal = mem_get_proposal,
    .get_meta = mem_get_meta,
    .iter_versions = mem_iter_versions,
    .iter_proposals = mem_iter_proposals,
    .iter_audit = mem_iter_audit,
    .last_audit_seq = mem_last_audit_seq,
    .size_bytes = mem_size_bytes,
    .last_write_error = mem_last_write_error,
    .fault_arm = mem_fault_arm,
    .drop_cache = mem_drop_cache,
    .close = mem_close,
};
