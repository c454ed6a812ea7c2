/* lmdb_read.c - the LMDB backend's reads: one MDB_RDONLY txn per call, callbacks get pointers
 * straight into the map (zero copy). */
#include "storage/lmdb.h"

#include <string.h>

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

int lm_last_key(MDB_txn *txn, MDB_dbi dbi, uint64_t *out)
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
    *out = store_be64_get(k.mv_data);
    return 0;
}

/* Looks `k` up in table t and hands the bytes to cb; returns cb's value if it is called. */
static int lm_get(lm_store *s, store_table t, MDB_val *k, store_bytes_cb cb, void *ctx)
{
    MDB_txn *r;
    MDB_val v;
    int st = lm_read_begin(s, &r);
    if (st)
        return st;
    int rc = mdb_get(r, s->dbi[t], k, &v);
    st = rc ? lm_status(rc) : cb(ctx, v.mv_data, v.mv_size);
    lm_read_end(s, r);
    return st;
}

int lm_get_num(store_backend *b, store_table t, uint64_t num, store_bytes_cb cb, void *ctx)
{
    uint8_t kb[8];
    store_be64_put(kb, num);
    MDB_val k = {.mv_size = 8, .mv_data = kb};
    return lm_get((lm_store *)b, t, &k, cb, ctx);
}

int lm_get_named(store_backend *b, store_table t, const char *key, store_bytes_cb cb, void *ctx)
{
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
    return lm_get((lm_store *)b, t, &k, cb, ctx);
}

int lm_iter_num(store_backend *b, store_table t, uint64_t from, store_seq_cb cb, void *ctx)
{
    lm_store *s = (lm_store *)b;
    MDB_txn *r;
    MDB_cursor *c;
    uint8_t kb[8];
    int st = lm_read_begin(s, &r);
    if (st)
        return st;
    int rc = mdb_cursor_open(r, s->dbi[t], &c);
    if (rc == 0) {
        store_be64_put(kb, from);
        MDB_val k = {.mv_size = 8, .mv_data = kb}, v;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && st == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size != 8) {
                rc = MDB_CORRUPTED;
                break;
            }
            st = cb(ctx, store_be64_get(k.mv_data), v.mv_data, v.mv_size);
        }
        mdb_cursor_close(c);
    }
    lm_read_end(s, r);
    if (st)
        return st;
    return rc == MDB_NOTFOUND ? STORE_OK : lm_status(rc);
}

int lm_iter_named(store_backend *b, store_table t, store_named_cb cb, void *ctx)
{
    lm_store *s = (lm_store *)b;
    MDB_txn *r;
    MDB_cursor *c;
    MDB_val k, v;
    char key[STORE_KEY_MAX + 1];
    int st = lm_read_begin(s, &r);
    if (st)
        return st;
    int rc = mdb_cursor_open(r, s->dbi[t], &c);
    if (rc == 0) {
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && st == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size == 0 || k.mv_size > STORE_KEY_MAX || memchr(k.mv_data, 0, k.mv_size)) {
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

int lm_last_num(store_backend *b, store_table t, uint64_t *out)
{
    lm_store *s = (lm_store *)b;
    MDB_txn *r;
    *out = 0;
    int st = lm_read_begin(s, &r);
    if (st)
        return st;
    int rc = lm_last_key(r, s->dbi[t], out);
    lm_read_end(s, r);
    return lm_status(rc);
}
