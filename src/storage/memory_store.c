/* memory_store.c - the amnesia storage backend: the tables of backend.h in process memory, no
 * file anywhere. The front (store.c) keeps the transaction rules; this keeps the bytes. */
#include "storage/backend.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
    store_backend base;
    /* Read-held by every read for the whole callback; write-held while a batch applies. */
    pthread_rwlock_t lock;
    mem_version *versions; /* versions[v - 1]: dense, versions are never removed */
    size_t nversions, cap_versions;
    mem_blob *audit; /* audit[seq - 1] */
    size_t naudit, cap_audit;
    mem_table proposals, meta; /* meta also holds the "head" record */
    int64_t bytes;
} mem_store;

static const store_backend_ops mem_ops;

/* --- helpers ---------------------------------------------------------------------------- */

static void mem_lock(mem_store *s, int write)
{
    int rc = write ? pthread_rwlock_wrlock(&s->lock) : pthread_rwlock_rdlock(&s->lock);
    assert(rc == 0);
    (void)rc;
}

static void mem_unlock(mem_store *s)
{
    int rc = pthread_rwlock_unlock(&s->lock);
    assert(rc == 0);
    (void)rc;
}

static mem_table *mem_table_of(mem_store *s, store_table t)
{
    assert(t == STORE_T_META || t == STORE_T_PROPOSALS);
    return t == STORE_T_META ? &s->meta : &s->proposals;
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

/* --- reads ---------------------------------------------------------------------------------- */

static int mem_get_num(store_backend *b, store_table t, uint64_t num, store_bytes_cb cb, void *ctx)
{
    mem_store *s = (mem_store *)b;
    int st = STORE_NOTFOUND;
    mem_lock(s, 0);
    if (t == STORE_T_AUDIT && num >= 1 && num <= s->naudit)
        st = cb(ctx, s->audit[num - 1].data, s->audit[num - 1].len);
    else if (t == STORE_T_VERSIONS && num >= 1 && num <= s->nversions)
        st = cb(ctx, s->versions[num - 1].body.data, s->versions[num - 1].body.len);
    else if (t == STORE_T_HASHES && num >= 1 && num <= s->nversions)
        st = cb(ctx, s->versions[num - 1].b3, 32);
    mem_unlock(s);
    return st;
}

static int mem_get_named(store_backend *b, store_table t, const char *key, store_bytes_cb cb,
                         void *ctx)
{
    mem_store *s = (mem_store *)b;
    int found, st = STORE_NOTFOUND;
    mem_lock(s, 0);
    const mem_table *tb = mem_table_of(s, t);
    size_t i = mem_table_find(tb, key, &found);
    if (found)
        st = cb(ctx, tb->items[i].val.data, tb->items[i].val.len);
    mem_unlock(s);
    return st;
}

static int mem_iter_num(store_backend *b, store_table t, uint64_t from, store_seq_cb cb, void *ctx)
{
    mem_store *s = (mem_store *)b;
    int st = STORE_OK;
    assert(t == STORE_T_VERSIONS || t == STORE_T_AUDIT);
    mem_lock(s, 0);
    size_t n = t == STORE_T_AUDIT ? s->naudit : s->nversions;
    for (uint64_t k = from ? from : 1; st == STORE_OK && k <= n; k++) {
        const mem_blob *v = t == STORE_T_AUDIT ? &s->audit[k - 1] : &s->versions[k - 1].body;
        st = cb(ctx, k, v->data, v->len);
    }
    mem_unlock(s);
    return st;
}

static int mem_iter_named(store_backend *b, store_table t, store_named_cb cb, void *ctx)
{
    mem_store *s = (mem_store *)b;
    int st = STORE_OK;
    mem_lock(s, 0);
    const mem_table *tb = mem_table_of(s, t);
    for (size_t i = 0; st == STORE_OK && i < tb->n; i++)
        st = cb(ctx, tb->items[i].key, tb->items[i].val.data, tb->items[i].val.len);
    mem_unlock(s);
    return st;
}

static int mem_last_num(store_backend *b, store_table t, uint64_t *out)
{
    mem_store *s = (mem_store *)b;
    assert(t == STORE_T_HASHES || t == STORE_T_VERSIONS || t == STORE_T_AUDIT);
    mem_lock(s, 0);
    *out = t == STORE_T_AUDIT ? s->naudit : s->nversions;
    mem_unlock(s);
    return STORE_OK;
}

static int64_t mem_size_bytes(store_backend *b)
{
    mem_store *s = (mem_store *)b;
    mem_lock(s, 0);
    int64_t n = s->bytes;
    mem_unlock(s);
    return n;
}

/* --- applying a batch ----------------------------------------------------------------------- */

/* Grows every array so that applying the batch cannot fail halfway. */
static int mem_reserve_for(mem_store *s, const store_batch *bt)
{
    size_t nv = 0, na = 0, np = 0, nm = 0;
    for (size_t i = 0; i < bt->n; i++) {
        const store_op *op = &bt->ops[i];
        nv += op->kind == STORE_OP_VERSION;
        na += op->kind == STORE_OP_AUDIT;
        np += op->kind == STORE_OP_NAMED && op->table == STORE_T_PROPOSALS;
        nm += op->kind == STORE_OP_NAMED && op->table == STORE_T_META;
    }
    if (mem_reserve(&s->versions, &s->cap_versions, s->nversions, nv, sizeof *s->versions) ||
        mem_reserve(&s->audit, &s->cap_audit, s->naudit, na, sizeof *s->audit) ||
        mem_reserve(&s->proposals.items, &s->proposals.cap, s->proposals.n, np,
                    sizeof *s->proposals.items) ||
        mem_reserve(&s->meta.items, &s->meta.cap, s->meta.n, nm, sizeof *s->meta.items))
        return STORE_ENOMEM;
    return STORE_OK;
}

/* Inserts, replaces or deletes (op->del) a named record, taking op's value and, on an insert,
 * its key. Whatever op still owns afterwards is freed with the batch. */
static void mem_table_apply(mem_store *s, mem_table *tb, store_op *op)
{
    int found;
    size_t i = mem_table_find(tb, op->key, &found);
    if (found) {
        mem_named *it = &tb->items[i];
        s->bytes -= (int64_t)(op->key_len + it->val.len);
        free(it->val.data);
        if (!op->del) {
            it->val = (mem_blob){op->val, op->len};
            op->val = NULL;
            s->bytes += (int64_t)(op->key_len + it->val.len);
        } else {
            free(it->key);
            memmove(it, it + 1, (tb->n - i - 1) * sizeof *it);
            tb->n--;
        }
    } else if (!op->del) {
        assert(tb->n < tb->cap);
        memmove(&tb->items[i + 1], &tb->items[i], (tb->n - i) * sizeof *tb->items);
        tb->items[i] = (mem_named){op->key, {op->val, op->len}};
        tb->n++;
        s->bytes += (int64_t)(op->key_len + op->len);
        op->key = NULL;
        op->val = NULL;
    }
}

/* Applies one op; the arrays were reserved, so this cannot fail. */
static void mem_apply_op(mem_store *s, store_op *op)
{
    switch (op->kind) {
    case STORE_OP_VERSION:
        assert(op->num == s->nversions + 1 && s->nversions < s->cap_versions);
        s->versions[s->nversions].body = (mem_blob){op->val, op->len};
        memcpy(s->versions[s->nversions].b3, op->b3, 32);
        s->nversions++;
        s->bytes += (int64_t)(op->len + 32);
        op->val = NULL;
        break;
    case STORE_OP_AUDIT:
        assert(op->num == s->naudit + 1 && s->naudit < s->cap_audit);
        s->audit[s->naudit++] = (mem_blob){op->val, op->len};
        s->bytes += (int64_t)op->len;
        op->val = NULL;
        break;
    case STORE_OP_NAMED:
        mem_table_apply(s, mem_table_of(s, op->table), op);
        break;
    }
}

static int mem_apply(store_backend *b, store_batch *bt, int rehearse, char *why, size_t cap)
{
    mem_store *s = (mem_store *)b;
    (void)why, (void)cap; /* the front names a bare status */
    mem_lock(s, 1);
    /* Single writer (the front): nothing else can have moved the tails since txn_begin. */
    assert(s->nversions == bt->base_version && s->naudit == bt->base_seq);
    int st =
        s->nversions == bt->base_version && s->naudit == bt->base_seq ? STORE_OK : STORE_EINVAL;
    if (st == STORE_OK)
        st = mem_reserve_for(s, bt);
    for (size_t i = 0; st == STORE_OK && !rehearse && i < bt->n; i++)
        mem_apply_op(s, &bt->ops[i]);
    mem_unlock(s);
    return st;
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

static void mem_close(store_backend *b)
{
    mem_store *s = (mem_store *)b;
    if (!s)
        return;
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

/* See backend.h. `o` is not used (data_dir is ignored: no file is ever created; the front
 * keeps read_only). Fails only without memory. */
int store_memory_backend_open(const store_open_opts *o, store_backend **out, char *errbuf,
                              size_t errcap)
{
    (void)o;
    mem_store *s = calloc(1, sizeof *s);
    if (!s || pthread_rwlock_init(&s->lock, NULL) != 0) {
        free(s);
        return store_open_error(errbuf, errcap, STORE_ENOMEM, "storage: out of memory");
    }
    s->base.ops = &mem_ops;
    s->base.key_max = STORE_KEY_MAX;
    *out = &s->base;
    return STORE_OK;
}

/* In store_backend_ops order; no drop_cache: nothing is mapped. */
static const store_backend_ops mem_ops = {
    "memory",       mem_apply,    mem_get_num,    mem_get_named, mem_iter_num,
    mem_iter_named, mem_last_num, mem_size_bytes, mem_close,     NULL};
