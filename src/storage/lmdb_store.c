/* lmdb_store.c - the default storage backend: the store.h contract over LMDB (liblmdb 0.9). */
#include "storage/dir_lock.h"
#include "storage/fault.h"
#include "storage/store.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Layout (docs/STORAGE.md): named DBs `meta`, `versions`, `artifact_b3`, `proposals`, `audit`;
 * numeric keys are 8-byte big-endian so byte order is numeric order. */
#define LM_DEFAULT_MAP_SIZE ((uint64_t)256 << 20)
#define LM_MIN_MAP_SIZE ((uint64_t)64 << 10)
#define LM_MAX_READERS 4096
#define LM_MAX_DBS 8
#define LM_KEY_MAX 511 /* LMDB's default compiled-in key limit; the env may lower it */
#define LM_HEAD_LEN 48
#define LM_HEAD_KEY "head"
#define LM_GROW_TRIES 64
#define LM_OP_OVERHEAD 64 /* page/node overhead assumed per record when sizing the map */

typedef struct lm_store {
    store base;
    MDB_env *env;
    MDB_dbi meta, versions, hashes, proposals, audit;
    /* Read-held around every LMDB txn of this process (read or write), write-held only to
     * resize the map: LMDB allows mdb_env_set_mapsize only while no txn is active. */
    pthread_rwlock_t map_lock;
    _Atomic uint64_t map_size; /* current map size in bytes */
    atomic_int txn_open;       /* 1 while the one write txn exists */
    store_fault_cell fault;    /* armed fault: kind << 32 | (uint32_t)count */
    int read_only;
    int lock_fd; /* the data directory's exclusive lock (read-write opens); -1: none */
    size_t key_max;
    char data_path[PATH_MAX]; /* <data_dir>/data.mdb, for size_bytes */
    char write_err[160];      /* why the last write failed (writer thread only) */
} lm_store;

typedef enum lm_op_kind {
    LM_OP_VERSION,
    LM_OP_HEAD,
    LM_OP_PROPOSAL,
    LM_OP_AUDIT,
    LM_OP_META,
} lm_op_kind;

/* One buffered write. The txn keeps copies of every byte so that the whole batch can be
 * replayed in a fresh LMDB txn after the map has grown (MDB_MAP_FULL). */
typedef struct lm_op {
    lm_op_kind kind;
    int del;        /* LM_OP_META: delete the key */
    uint64_t num;   /* version or audit seq */
    size_t key_len; /* proposal/meta/head key: buf[0 .. key_len) */
    size_t len;     /* value: buf[key_len .. key_len + len) */
    uint8_t b3[32]; /* LM_OP_VERSION: artifact hash */
    uint8_t buf[];
} lm_op;

struct store_txn {
    lm_store *s;
    lm_op **ops;
    size_t n, cap;
    uint64_t base_version; /* last stored version when the txn began */
    uint64_t base_seq;     /* last stored audit seq when the txn began */
    uint64_t next_version; /* the only version txn_put_version accepts next */
    uint64_t next_seq;
    uint64_t bytes; /* estimated space the batch needs in the map */
    int err;        /* first failed put: the txn can only be aborted */
};

static const store_ops lm_ops;

/* --- small helpers ------------------------------------------------------------------------ */

static void be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t be64_get(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

static int lm_err(char *errbuf, size_t errcap, int status, const char *fmt, ...)
{
    if (errbuf && errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errcap, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Maps an LMDB or errno code to a store status. */
static int lm_status(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return STORE_OK;
    case MDB_NOTFOUND:
        return STORE_NOTFOUND;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case MDB_MAP_FULL:
        return STORE_ENOSPC;
    case ENOMEM:
    case MDB_READERS_FULL:
    case MDB_TLS_FULL:
    case MDB_DBS_FULL:
        return STORE_ENOMEM;
    case MDB_CORRUPTED:
    case MDB_INVALID:
    case MDB_PAGE_NOTFOUND:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
    case MDB_KEYEXIST: /* an append below the last key: the DBs disagree with each other */
        return STORE_ECORRUPT;
    case EINVAL:
    case MDB_BAD_VALSIZE:
        return STORE_EINVAL;
    default: /* EIO, MDB_PANIC, MDB_BAD_TXN, EACCES, ... */
        return STORE_EIO;
    }
}

static void lm_rdlock(lm_store *s)
{
    int rc = pthread_rwlock_rdlock(&s->map_lock);
    assert(rc == 0);
    (void)rc;
}

static void lm_unlock(lm_store *s)
{
    int rc = pthread_rwlock_unlock(&s->map_lock);
    assert(rc == 0);
    (void)rc;
}

static uint64_t lm_page_round(uint64_t v)
{
    long ps = sysconf(_SC_PAGESIZE);
    uint64_t p = ps > 0 ? (uint64_t)ps : 4096;
    return (v + p - 1) / p * p;
}

/* Sets the map to `want` bytes, or with want == 0 adopts the size another process grew the
 * store to (after MDB_MAP_RESIZED). Waits until no txn of this process is active. */
static int lm_resize(lm_store *s, uint64_t want)
{
    int rc = 0;
    pthread_rwlock_wrlock(&s->map_lock);
    if (want == 0 || want > atomic_load(&s->map_size)) /* else someone grew it meanwhile */
        rc = mdb_env_set_mapsize(s->env, (size_t)want);
    if (rc == 0) {
        MDB_envinfo info;
        if (mdb_env_info(s->env, &info) == 0)
            atomic_store(&s->map_size, (uint64_t)info.me_mapsize);
    }
    lm_unlock(s);
    return rc;
}

static store_fault lm_fault_take(lm_store *s)
{
    return store_fault_take(&s->fault);
}

/* Notes why a write failed: `step` and the LMDB/errno text of rc (writer thread only). */
static void lm_note_write_error(lm_store *s, const char *step, int rc)
{
    snprintf(s->write_err, sizeof s->write_err, "%s: %s", step, mdb_strerror(rc));
}

static void lm_last_write_error(store *base, char *out, size_t cap)
{
    lm_store *s = (lm_store *)base;
    if (cap)
        snprintf(out, cap, "%s", s->write_err);
}

static void lm_fault_arm(store *base, store_fault f, int count)
{
    store_fault_set(&((lm_store *)base)->fault, f, count);
}

/* --- reads ---------------------------------------------------------------------------------- */

/* Opens a read-only LMDB txn under the map lock (read-held); lm_read_end releases both. */
static int lm_read_begin(lm_store *s, MDB_txn **r)
{
    for (int tries = 0;; tries++) {
        lm_rdlock(s);
        int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, r);
        if (rc == 0)
            return STORE_OK;
        lm_unlock(s);
        if (rc != MDB_MAP_RESIZED || tries >= LM_GROW_TRIES)
            return lm_status(rc);
        rc = lm_resize(s, 0);
        if (rc)
            return lm_status(rc);
    }
}

static void lm_read_end(lm_store *s, MDB_txn *r)
{
    mdb_txn_abort(r);
    lm_unlock(s);
}

/* The last 8-byte key of `dbi` (0 when empty). Returns an LMDB code. */
static int lm_last_key(MDB_txn *txn, MDB_dbi dbi, uint64_t *out)
{
    MDB_cursor *c;
    MDB_val k, v;
    *out = 0;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return rc;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (k.mv_size != 8)
        return MDB_CORRUPTED;
    *out = be64_get(k.mv_data);
    return 0;
}

static void head_decode(const uint8_t in[LM_HEAD_LEN], store_head *out)
{
    out->version = be64_get(in);
    memcpy(out->payload_b3, in + 8, 32);
    out->committed_at_ms = (int64_t)be64_get(in + 40);
}

static int lm_get_head(store *base, store_head *out)
{
    lm_store *s = (lm_store *)base;
    MDB_txn *r;
    if (!out)
        return STORE_EINVAL;
    memset(out, 0, sizeof *out);
    int st = lm_read_begin(s, &r);
    if (st)
        return st;
    MDB_val k = {.mv_size = sizeof LM_HEAD_KEY - 1, .mv_data = LM_HEAD_KEY}, v;
    int rc = mdb_get(r, s->meta, &k, &v);
    if (rc == 0 && v.mv_size != LM_HEAD_LEN)
        st = STORE_ECORRUPT;
    else if (rc == 0)
        head_decode(v.mv_data, out);
    else if (rc != MDB_NOTFOUND)
        st = lm_status(rc);
    lm_read_end(s, r);
    return st;
}

/* Looks `k` up in `dbi` and hands the bytes to cb; returns cb's non-zero value if any. */
static int lm_get_bytes(lm_store *s, MDB_dbi dbi, MDB_val *k, store_bytes_cb cb, void *ctx)
{
    MDB_txn *r;
    MDB_val v;
    int st = lm_read_begin(s, &r);
    if (st)
        return st;
    int rc = mdb_get(r, dbi, k, &v);
    st = rc ? lm_status(rc) : cb(ctx, v.mv_data, v.mv_size);
    lm_read_end(s, r);
    return st;
}

static int lm_get_version(store *base, uint64_t version, store_bytes_cb cb, void *ctx)
{
    lm_store *s = (lm_store *)base;
    uint8_t kb[8];
    if (!cb)
        return STORE_EINVAL;
    be64_put(kb, version);
    MDB_val k = {.mv_size = 8, .mv_data = kb};
    return lm_get_bytes(s, s->versions, &k, cb, ctx);
}

static int copy_hash_cb(void *ctx, const void *data, size_t len)
{
    if (len != 32)
        return STORE_ECORRUPT;
    memcpy(ctx, data, 32);
    return 0;
}

static int lm_get_artifact_hash(store *base, uint64_t version, uint8_t out[32])
{
    lm_store *s = (lm_store *)base;
    uint8_t kb[8];
    if (!out)
        return STORE_EINVAL;
    be64_put(kb, version);
    MDB_val k = {.mv_size = 8, .mv_data = kb};
    return lm_get_bytes(s, s->hashes, &k, copy_hash_cb, out);
}

/* A named key as LMDB sees it; STORE_EINVAL when it cannot be a key. */
static int lm_named_key(const lm_store *s, const char *key, MDB_val *k)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > s->key_max)
        return STORE_EINVAL;
    k->mv_size = n;
    k->mv_data = (void *)key;
    return STORE_OK;
}

static int lm_get_proposal(store *base, const char *id, store_bytes_cb cb, void *ctx)
{
    lm_store *s = (lm_store *)base;
    MDB_val k;
    if (!cb || lm_named_key(s, id, &k))
        return STORE_EINVAL;
    return lm_get_bytes(s, s->proposals, &k, cb, ctx);
}

static int lm_get_meta(store *base, const char *key, store_bytes_cb cb, void *ctx)
{
    lm_store *s = (lm_store *)base;
    MDB_val k;
    if (!cb || lm_named_key(s, key, &k) || strcmp(key, LM_HEAD_KEY) == 0)
        return STORE_EINVAL;
    return lm_get_bytes(s, s->meta, &k, cb, ctx);
}

/* Calls cb for every 8-byte key >= from of `dbi`, in one snapshot. */
static int lm_iter_seq(lm_store *s, MDB_dbi dbi, uint64_t from, store_seq_cb cb, void *ctx)
{
    MDB_txn *r;
    MDB_cursor *c;
    uint8_t kb[8];
    if (!cb)
        return STORE_EINVAL;
    int st = lm_read_begin(s, &r);
    if (st)
        return st;
    int rc = mdb_cursor_open(r, dbi, &c);
    if (rc == 0) {
        be64_put(kb, from);
        MDB_val k = {.mv_size = 8, .mv_data = kb}, v;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && st == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size != 8) {
                rc = MDB_CORRUPTED;
                break;
            }
            st = cb(ctx, be64_get(k.mv_data), v.mv_data, v.mv_size);
        }
        mdb_cursor_close(c);
    }
    lm_read_end(s, r);
    if (st)
        return st;
    return rc == MDB_NOTFOUND ? STORE_OK : lm_status(rc);
}

static int lm_iter_versions(store *base, uint64_t from, store_seq_cb cb, void *ctx)
{
    lm_store *s = (lm_store *)base;
    return lm_iter_seq(s, s->versions, from, cb, ctx);
}

static int lm_iter_audit(store *base, uint64_t from, store_seq_cb cb, void *ctx)
{
    lm_store *s = (lm_store *)base;
    return lm_iter_seq(s, s->audit, from, cb, ctx);
}

static int lm_iter_proposals(store *base, store_named_cb cb, void *ctx)
{
    lm_store *s = (lm_store *)base;
    MDB_txn *r;
    MDB_cursor *c;
    MDB_val k, v;
    char key[LM_KEY_MAX + 1];
    if (!cb)
        return STORE_EINVAL;
    int st = lm_read_begin(s, &r);
    if (st)
        return st;
    int rc = mdb_cursor_open(r, s->proposals, &c);
    if (rc == 0) {
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && st == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size == 0 || k.mv_size > LM_KEY_MAX || memchr(k.mv_data, 0, k.mv_size)) {
                rc = MDB_CORRUPTED;
                break;
            }
            memcpy(key, k.mv_data, k.mv_size);
            key[k.mv_size] = '\0';
            st = cb(ctx, key, v.mv_data, v.mv_size);
        }
        mdb_cursor_close(c);
    }
    lm_read_end(s, r);
    if (st)
        return st;
    return rc == MDB_NOTFOUND ? STORE_OK : lm_status(rc);
}

static int lm_last_audit_seq(store *base, uint64_t *out)
{
    lm_store *s = (lm_store *)base;
    MDB_txn *r;
    if (!out)
        return STORE_EINVAL;
    *out = 0;
    int st = lm_read_begin(s, &r);
    if (st)
        return st;
    int rc = lm_last_key(r, s->audit, out);
    lm_read_end(s, r);
    return lm_status(rc);
}

static int64_t lm_size_bytes(store *base)
{
    lm_store *s = (lm_store *)base;
    struct stat sb;
    if (stat(s->data_path, &sb) != 0)
        return STORE_EIO;
    return (int64_t)sb.st_size;
}

/* --- the write batch ------------------------------------------------------------------------ */

static int lm_txn_begin(store *base, store_txn **out)
{
    lm_store *s = (lm_store *)base;
    int expected = 0;
    MDB_txn *r;
    if (!out)
        return STORE_EINVAL;
    *out = NULL;
    if (s->read_only || !atomic_compare_exchange_strong(&s->txn_open, &expected, 1))
        return STORE_EINVAL;
    store_txn *t = calloc(1, sizeof *t);
    int st = t ? lm_read_begin(s, &r) : STORE_ENOMEM;
    if (st == STORE_OK) {
        int rc = lm_last_key(r, s->hashes, &t->base_version);
        if (rc == 0)
            rc = lm_last_key(r, s->audit, &t->base_seq);
        lm_read_end(s, r);
        st = lm_status(rc);
    }
    if (st != STORE_OK) {
        snprintf(s->write_err, sizeof s->write_err, "txn_begin: %s", store_status_str(st));
        free(t);
        atomic_store(&s->txn_open, 0);
        return st;
    }
    t->s = s;
    t->next_version = t->base_version + 1;
    t->next_seq = t->base_seq + 1;
    *out = t;
    return STORE_OK;
}

/* Records an op (copying key and value); any failure poisons the txn. */
static int lm_push(store_txn *t, lm_op_kind kind, uint64_t num, const char *key, size_t key_len,
                   const void *val, size_t len)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        lm_op **ops = realloc(t->ops, cap * sizeof *ops);
        if (!ops)
            return t->err = STORE_ENOMEM;
        t->ops = ops;
        t->cap = cap;
    }
    if (len > SIZE_MAX - sizeof(lm_op) - key_len)
        return t->err = STORE_EINVAL;
    lm_op *op = malloc(sizeof *op + key_len + len);
    if (!op)
        return t->err = STORE_ENOMEM;
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->num = num;
    op->key_len = key_len;
    op->len = len;
    if (key_len)
        memcpy(op->buf, key, key_len);
    if (len)
        memcpy(op->buf + key_len, val, len);
    t->ops[t->n++] = op;
    t->bytes += key_len + len + LM_OP_OVERHEAD;
    return STORE_OK;
}

static int lm_put_version(store_txn *t, uint64_t version, const void *artifact, size_t len,
                          const uint8_t artifact_b3[32])
{
    if (!t)
        return STORE_EINVAL;
    if (t->err)
        return STORE_EINVAL;
    if (version != t->next_version || (!artifact && len) || !artifact_b3)
        return t->err = STORE_EINVAL;
    int st = lm_push(t, LM_OP_VERSION, version, NULL, 0, artifact, len);
    if (st)
        return st;
    memcpy(t->ops[t->n - 1]->b3, artifact_b3, 32);
    t->bytes += 32 + LM_OP_OVERHEAD;
    t->next_version++;
    return STORE_OK;
}

static int lm_put_head(store_txn *t, const store_head *h)
{
    uint8_t rec[LM_HEAD_LEN];
    if (!t || t->err)
        return STORE_EINVAL;
    if (!h)
        return t->err = STORE_EINVAL;
    be64_put(rec, h->version);
    memcpy(rec + 8, h->payload_b3, 32);
    be64_put(rec + 40, (uint64_t)h->committed_at_ms);
    return lm_push(t, LM_OP_HEAD, 0, LM_HEAD_KEY, sizeof LM_HEAD_KEY - 1, rec, sizeof rec);
}

static int lm_put_proposal(store_txn *t, const char *id, const void *rec, size_t len)
{
    MDB_val k;
    if (!t || t->err)
        return STORE_EINVAL;
    if (lm_named_key(t->s, id, &k) || (!rec && len))
        return t->err = STORE_EINVAL;
    return lm_push(t, LM_OP_PROPOSAL, 0, id, k.mv_size, rec, len);
}

static int lm_put_audit(store_txn *t, uint64_t seq, const void *rec, size_t len)
{
    if (!t || t->err)
        return STORE_EINVAL;
    if (seq != t->next_seq || (!rec && len))
        return t->err = STORE_EINVAL;
    int st = lm_push(t, LM_OP_AUDIT, seq, NULL, 0, rec, len);
    if (st == STORE_OK)
        t->next_seq++;
    return st;
}

static int lm_put_meta(store_txn *t, const char *key, const void *data, size_t len)
{
    MDB_val k;
    if (!t || t->err)
        return STORE_EINVAL;
    if (lm_named_key(t->s, key, &k) || strcmp(key, LM_HEAD_KEY) == 0 || (!data && len))
        return t->err = STORE_EINVAL;
    int st = lm_push(t, LM_OP_META, 0, key, k.mv_size, data, len);
    if (st == STORE_OK)
        t->ops[t->n - 1]->del = len == 0;
    return st;
}

/* Performs one op inside the LMDB write txn w. Returns an LMDB code. */
static int lm_apply(lm_store *s, MDB_txn *w, const lm_op *op)
{
    uint8_t kb[8];
    MDB_val k = {.mv_size = op->key_len, .mv_data = (void *)op->buf};
    MDB_val v = {.mv_size = op->len, .mv_data = (void *)(op->buf + op->key_len)};
    int rc;
    if (op->kind == LM_OP_VERSION || op->kind == LM_OP_AUDIT) {
        be64_put(kb, op->num);
        k.mv_size = 8;
        k.mv_data = kb;
    }
    switch (op->kind) {
    case LM_OP_VERSION:
        rc = mdb_put(w, s->versions, &k, &v, MDB_APPEND);
        if (rc)
            return rc;
        v.mv_size = 32;
        v.mv_data = (void *)op->b3;
        return mdb_put(w, s->hashes, &k, &v, MDB_APPEND);
    case LM_OP_AUDIT:
        return mdb_put(w, s->audit, &k, &v, MDB_APPEND);
    case LM_OP_PROPOSAL:
        return mdb_put(w, s->proposals, &k, &v, 0);
    case LM_OP_HEAD:
        return mdb_put(w, s->meta, &k, &v, 0);
    case LM_OP_META:
        if (!op->del)
            return mdb_put(w, s->meta, &k, &v, 0);
        rc = mdb_del(w, s->meta, &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    return EINVAL;
}

/* One attempt to write the whole batch in one LMDB write txn. Returns a store status, or
 * STORE_OK with *again set to the LMDB code when the map must grow (MDB_MAP_FULL) or be
 * re-read (MDB_MAP_RESIZED) before the batch is replayed. `fault` fails the attempt just
 * before mdb_txn_commit, so nothing becomes visible. */
static int lm_write_once(lm_store *s, store_txn *t, store_fault fault, int *again)
{
    MDB_txn *w = NULL;
    uint64_t last_version = 0, last_seq = 0;
    int st = STORE_OK;
    const char *step = "mdb_txn_begin";
    *again = 0;
    lm_rdlock(s);
    int rc = mdb_txn_begin(s->env, NULL, 0, &w);
    if (rc == 0) {
        step = "mdb_cursor_get (stored tails)";
        rc = lm_last_key(w, s->hashes, &last_version);
        if (rc == 0)
            rc = lm_last_key(w, s->audit, &last_seq);
        /* The batch was validated against the tails seen at txn_begin; another writer (another
         * process on the same files) must not have moved them. */
        if (rc == 0 && (last_version != t->base_version || last_seq != t->base_seq)) {
            st = STORE_EINVAL;
            snprintf(s->write_err, sizeof s->write_err,
                     "the stored tails moved under the batch (another writer?)");
        }
        step = "mdb_put";
        for (size_t i = 0; rc == 0 && st == STORE_OK && i < t->n; i++)
            rc = lm_apply(s, w, t->ops[i]);
        if (rc == 0 && st == STORE_OK && fault != STORE_FAULT_NONE) {
            st = fault == STORE_FAULT_ENOSPC ? STORE_ENOSPC : STORE_EIO;
            store_fault_describe(fault, s->write_err, sizeof s->write_err);
        }
        if (rc == 0 && st == STORE_OK) {
            step = "mdb_txn_commit";
            rc = mdb_txn_commit(w); /* frees w, also on failure */
            w = NULL;
        }
        if (w)
            mdb_txn_abort(w);
    }
    lm_unlock(s);
    if (rc == MDB_MAP_FULL || rc == MDB_MAP_RESIZED) {
        *again = rc;
        return STORE_OK;
    }
    if (rc)
        lm_note_write_error(s, step, rc);
    return rc ? lm_status(rc) : st;
}

/* The map size to try after MDB_MAP_FULL: double, or more if the batch alone needs it. */
static uint64_t lm_next_map_size(lm_store *s, const store_txn *t)
{
    uint64_t cur = atomic_load(&s->map_size);
    if (cur > UINT64_MAX / 4 || t->bytes > UINT64_MAX / 8)
        return 0;
    uint64_t want = cur * 2;
    if (want < cur + 2 * t->bytes)
        want = cur + 2 * t->bytes;
    if (want > SIZE_MAX / 2)
        return 0;
    return lm_page_round(want);
}

static void lm_txn_free(store_txn *t)
{
    atomic_store(&t->s->txn_open, 0);
    for (size_t i = 0; i < t->n; i++)
        free(t->ops[i]);
    free(t->ops);
    free(t);
}

static int lm_txn_commit(store_txn *t)
{
    if (!t)
        return STORE_EINVAL;
    lm_store *s = t->s;
    int st = t->err;
    s->write_err[0] = '\0';
    if (st)
        snprintf(s->write_err, sizeof s->write_err, "the batch was refused before commit: %s",
                 store_status_str(st));
    store_fault fault = st ? STORE_FAULT_NONE : lm_fault_take(s);
    for (int tries = 0; st == STORE_OK; tries++) {
        int again;
        st = lm_write_once(s, t, fault, &again);
        if (st != STORE_OK || !again)
            break;
        uint64_t want = again == MDB_MAP_FULL ? lm_next_map_size(s, t) : 0;
        if ((again == MDB_MAP_FULL && want == 0) || tries >= LM_GROW_TRIES) {
            st = STORE_ENOSPC;
            snprintf(s->write_err, sizeof s->write_err,
                     "the map cannot grow further (%llu bytes): %s",
                     (unsigned long long)atomic_load(&s->map_size), mdb_strerror(MDB_MAP_FULL));
            break;
        }
        int rc = lm_resize(s, want);
        if (rc) {
            st = lm_status(rc);
            lm_note_write_error(s, "mdb_env_set_mapsize", rc);
        }
    }
    lm_txn_free(t);
    return st;
}

static void lm_txn_abort(store_txn *t)
{
    if (t)
        lm_txn_free(t);
}

/* --- lifecycle ---------------------------------------------------------------------------- */

/* The map is read-only and shared (LMDB writes with pwrite), so MADV_DONTNEED only unmaps pages
 * from this process; their contents stay in the page cache. LMDB does not expose the map's
 * address (me_mapaddr is set only with MDB_FIXEDMAP), so the mappings of data.mdb are found in
 * /proc/self/maps by inode. Taken under the map lock so a resize cannot move the map meanwhile. */
static void lm_drop_cache(store *base)
{
    lm_store *s = (lm_store *)base;
    struct stat sb;
    if (stat(s->data_path, &sb) != 0)
        return;
    pthread_rwlock_rdlock(&s->map_lock);
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi, ino;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &lo, &hi, &ino) == 3 &&
            ino == (unsigned long)sb.st_ino && hi > lo)
            madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
    if (f)
        fclose(f);
    pthread_rwlock_unlock(&s->map_lock);
}

static void lm_close(store *base)
{
    lm_store *s = (lm_store *)base;
    if (!s)
        return;
    assert(atomic_load(&s->txn_open) == 0);
    if (s->env)
        mdb_env_close(s->env);
    store_dir_unlock(s->lock_fd); /* after LMDB let go of the files */
    pthread_rwlock_destroy(&s->map_lock);
    free(s);
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int lm_mkdirs(const char *dir)
{
    char path[PATH_MAX];
    size_t n = strlen(dir);
    if (n >= sizeof path)
        return ENAMETOOLONG;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) == 0) {
            if (chmod(path, 0700) != 0) /* the umask may have removed owner bits */
                return errno;
        } else if (errno != EEXIST) {
            return errno;
        }
        path[i] = c;
    }
    return 0;
}

/* Checks (read-write: creates) the data directory; fills s->data_path. */
static int lm_prepare_dir(lm_store *s, const char *dir, char *errbuf, size_t errcap)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (errno != ENOENT)
            return lm_err(errbuf, errcap, STORE_EIO, "storage: cannot stat data_dir %s: %s", dir,
                          strerror(errno));
        if (s->read_only)
            return lm_err(errbuf, errcap, STORE_EIO,
                          "storage: no store at %s (a read-only open creates nothing)", dir);
        int e = lm_mkdirs(dir);
        if (e)
            return lm_err(errbuf, errcap, STORE_EIO, "storage: cannot create data_dir %s: %s", dir,
                          strerror(e));
        if (stat(dir, &sb) != 0)
            return lm_err(errbuf, errcap, STORE_EIO, "storage: cannot stat data_dir %s: %s", dir,
                          strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode))
        return lm_err(errbuf, errcap, STORE_EIO, "storage: data_dir %s is not a directory", dir);
    int n = snprintf(s->data_path, sizeof s->data_path, "%s/data.mdb", dir);
    if (n < 0 || (size_t)n >= sizeof s->data_path)
        return lm_err(errbuf, errcap, STORE_EINVAL, "storage: data_dir path too long");
    if (s->read_only && stat(s->data_path, &sb) != 0)
        return lm_err(errbuf, errcap, STORE_EIO,
                      "storage: no store at %s (data.mdb: %s; a read-only open creates nothing)",
                      dir, strerror(errno));
    return STORE_OK;
}

/* Opens (read-write: creates) the five named DBs, growing a tiny map if that is needed. */
static int lm_open_dbs(lm_store *s)
{
    static const char *const names[] = {"meta", "versions", "artifact_b3", "proposals", "audit"};
    MDB_dbi *dbis[] = {&s->meta, &s->versions, &s->hashes, &s->proposals, &s->audit};
    unsigned int flags = s->read_only ? 0 : MDB_CREATE;
    for (int tries = 0;; tries++) {
        MDB_txn *txn = NULL;
        int rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn);
        if (rc)
            txn = NULL;
        for (size_t i = 0; rc == 0 && i < sizeof names / sizeof names[0]; i++)
            rc = mdb_dbi_open(txn, names[i], flags, dbis[i]);
        if (rc == 0) {
            rc = mdb_txn_commit(txn); /* makes the handles usable by every later txn */
            txn = NULL;
            if (rc == 0)
                return 0;
        }
        if (txn)
            mdb_txn_abort(txn);
        if ((rc != MDB_MAP_FULL && rc != MDB_MAP_RESIZED) || tries >= LM_GROW_TRIES)
            return rc;
        uint64_t want = rc == MDB_MAP_FULL ? atomic_load(&s->map_size) * 2 : 0;
        rc = mdb_env_set_mapsize(s->env, (size_t)want);
        if (rc)
            return rc;
        MDB_envinfo info;
        if (mdb_env_info(s->env, &info) == 0)
            atomic_store(&s->map_size, (uint64_t)info.me_mapsize);
    }
}

static int lm_env_open(lm_store *s, const store_open_opts *o, char *errbuf, size_t errcap)
{
    struct stat sb;
    int dead = 0;
    long page = sysconf(_SC_PAGESIZE);
    /* An existing data.mdb shorter than LMDB's two meta pages is damage (a failed restore, a
     * disk that filled during a copy), never a registry to found anew: LMDB would initialise
     * it and start at HEAD 0. Genesis happens only where data.mdb is absent. */
    if (stat(s->data_path, &sb) == 0 && sb.st_size < 2 * (off_t)page)
        return lm_err(errbuf, errcap, STORE_ECORRUPT,
                      "storage: %s is %lld bytes, not a complete LMDB environment (truncated?); "
                      "a registry is founded only where data.mdb is absent",
                      s->data_path, (long long)sb.st_size);
    uint64_t map = o->map_size ? o->map_size : LM_DEFAULT_MAP_SIZE;
    if (map < LM_MIN_MAP_SIZE)
        map = LM_MIN_MAP_SIZE;
    if (stat(s->data_path, &sb) == 0 && (uint64_t)sb.st_size > map)
        map = (uint64_t)sb.st_size * 2;
    if (map > SIZE_MAX / 2)
        return lm_err(errbuf, errcap, STORE_EINVAL, "storage: map_size too large");
    map = lm_page_round(map);
    /* MDB_NORDAHEAD: reads touch a few pages each; kernel read-ahead would map neighbours and
     * inflate RSS for nothing on large stores. */
    unsigned int flags = MDB_NOTLS | MDB_NORDAHEAD;
    if (o->read_only)
        flags |= MDB_RDONLY;
    else if (!o->fsync)
        flags |= MDB_NOSYNC;
    int rc = mdb_env_create(&s->env);
    if (rc)
        return lm_err(errbuf, errcap, lm_status(rc), "storage: %s", mdb_strerror(rc));
    rc = mdb_env_set_maxdbs(s->env, LM_MAX_DBS);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, LM_MAX_READERS);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, (size_t)map);
    if (rc == 0)
        rc = mdb_env_open(s->env, o->data_dir, flags, 0600);
    if (rc)
        return lm_err(errbuf, errcap, lm_status(rc), "storage: cannot open LMDB store at %s: %s",
                      o->data_dir, mdb_strerror(rc));
    mdb_reader_check(s->env, &dead); /* frees reader slots of crashed processes */
    MDB_envinfo info;
    MDB_stat est;
    int have_info = mdb_env_info(s->env, &info) == 0;
    /* Pages past the end of the file would fault (SIGBUS) on first touch: a file shorter than
     * its meta page says is truncated, and refused before anything reads it. */
    if (have_info && mdb_env_stat(s->env, &est) == 0 && stat(s->data_path, &sb) == 0 &&
        (uint64_t)sb.st_size < ((uint64_t)info.me_last_pgno + 1) * est.ms_psize)
        return lm_err(errbuf, errcap, STORE_ECORRUPT,
                      "storage: %s is %lld bytes but its meta page has %llu bytes in use: "
                      "the file is truncated",
                      s->data_path, (long long)sb.st_size,
                      (unsigned long long)(((uint64_t)info.me_last_pgno + 1) * est.ms_psize));
    atomic_store(&s->map_size, have_info ? info.me_mapsize : map);
    int kmax = mdb_env_get_maxkeysize(s->env);
    s->key_max = kmax > 0 && kmax < LM_KEY_MAX ? (size_t)kmax : LM_KEY_MAX;
    rc = lm_open_dbs(s);
    if (rc == MDB_NOTFOUND)
        return lm_err(errbuf, errcap, STORE_ECORRUPT,
                      "storage: %s lacks the registry's named databases", o->data_dir);
    if (rc)
        return lm_err(errbuf, errcap, lm_status(rc), "storage: cannot open databases in %s: %s",
                      o->data_dir, mdb_strerror(rc));
    return STORE_OK;
}

/* See store.h. Creates data_dir (0700) and locks it unless read_only; on failure nothing stays
 * open or locked and errbuf says why. */
int store_lmdb_open(const store_open_opts *o, store **out, char *errbuf, size_t errcap)
{
    if (errbuf && errcap)
        errbuf[0] = '\0';
    if (out)
        *out = NULL;
    if (!o || !out || !o->data_dir || !*o->data_dir)
        return lm_err(errbuf, errcap, STORE_EINVAL, "storage: data_dir is required");
    lm_store *s = calloc(1, sizeof *s);
    if (!s)
        return lm_err(errbuf, errcap, STORE_ENOMEM, "storage: out of memory");
    s->base.ops = &lm_ops;
    s->read_only = o->read_only != 0;
    s->lock_fd = -1;
    if (pthread_rwlock_init(&s->map_lock, NULL) != 0) {
        free(s);
        return lm_err(errbuf, errcap, STORE_ENOMEM, "storage: cannot create a lock");
    }
    int st = lm_prepare_dir(s, o->data_dir, errbuf, errcap);
    /* One writer process per directory, locked before LMDB touches a file: a second server
     * on the same store would serve HEADs its own committer never saw. Readers (verify-store)
     * take no lock; LMDB's reader table makes them safe beside the writer. */
    if (st == STORE_OK && !s->read_only)
        st = store_dir_lock(o->data_dir, &s->lock_fd, errbuf, errcap);
    if (st == STORE_OK)
        st = lm_env_open(s, o, errbuf, errcap);
    if (st != STORE_OK) {
        lm_close(&s->base);
        return st;
    }
    *out = &s->base;
    return STORE_OK;
}

static const store_ops lm_ops = {
    .name = "lmdb",
    .txn_begin = lm_txn_begin,
    .txn_put_version = lm_put_version,
    .txn_put_head = lm_put_head,
    .txn_put_proposal = lm_put_proposal,
    .txn_put_audit = lm_put_audit,
    .txn_put_meta = lm_put_meta,
    .txn_commit = lm_txn_commit,
    .txn_abort = lm_txn_abort,
    .get_head = lm_get_head,
    .get_version = lm_get_version,
    .get_artifact_hash = lm_get_artifact_hash,
    .get_proposal = lm_get_proposal,
    .get_meta = lm_get_meta,
    .iter_versions = lm_iter_versions,
    .iter_proposals = lm_iter_proposals,
    .iter_audit = lm_iter_audit,
    .last_audit_seq = lm_last_audit_seq,
    .size_bytes = lm_size_bytes,
    .last_write_error = lm_last_write_error,
    .fault_arm = lm_fault_arm,
    .drop_cache = lm_drop_cache,
    .close = lm_close,
};
