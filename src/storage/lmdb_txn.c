/* lmdb_txn.c - the LMDB backend's write side: applies a finished batch in one LMDB write txn,
 * growing the map and replaying the batch when it is full. */
#include "storage/lmdb.h"

#include <errno.h>
#include <stdio.h>

/* Performs one op inside the LMDB write txn w. Returns an LMDB code. */
static int lm_apply_op(lm_store *s, MDB_txn *w, const store_op *op)
{
    uint8_t kb[8];
    MDB_val k = {.mv_size = op->key_len, .mv_data = op->key};
    MDB_val v = {.mv_size = op->len, .mv_data = op->val};
    int rc;
    if (op->kind != STORE_OP_NAMED) {
        store_be64_put(kb, op->num);
        k.mv_size = 8;
        k.mv_data = kb;
    }
    switch (op->kind) {
    case STORE_OP_VERSION:
        rc = mdb_put(w, s->dbi[STORE_T_VERSIONS], &k, &v, MDB_APPEND);
        if (rc)
            return rc;
        v.mv_size = 32;
        v.mv_data = (void *)op->b3;
        return mdb_put(w, s->dbi[STORE_T_HASHES], &k, &v, MDB_APPEND);
    case STORE_OP_AUDIT:
        return mdb_put(w, s->dbi[STORE_T_AUDIT], &k, &v, MDB_APPEND);
    case STORE_OP_NAMED:
        if (!op->del)
            return mdb_put(w, s->dbi[op->table], &k, &v, 0);
        rc = mdb_del(w, s->dbi[op->table], &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    return EINVAL;
}

/* Checks, inside the write txn, that the stored tails are those the batch was validated
 * against: another writer (another process on the same files) must not have moved them.
 * Returns an LMDB code, or -1 when they moved. */
static int lm_check_tails(lm_store *s, MDB_txn *w, const store_batch *bt)
{
    uint64_t last_version = 0, last_seq = 0;
    int rc = lm_last_key(w, s->dbi[STORE_T_HASHES], &last_version);
    if (rc == 0)
        rc = lm_last_key(w, s->dbi[STORE_T_AUDIT], &last_seq);
    if (rc == 0 && (last_version != bt->base_version || last_seq != bt->base_seq))
        return -1;
    return rc;
}

/* One attempt to write the whole batch in one LMDB write txn. Returns a store status, or
 * STORE_OK with *again set to the LMDB code when the map must grow (MDB_MAP_FULL) or be
 * re-read (MDB_MAP_RESIZED) before the batch is replayed. `rehearse` aborts just before
 * mdb_txn_commit, so nothing becomes visible. */
static int lm_write_once(lm_store *s, const store_batch *bt, int rehearse, int *again, char *why,
                         size_t cap)
{
    MDB_txn *w = NULL;
    const char *step = "mdb_txn_begin";
    *again = 0;
    lm_rdlock(s);
    int rc = mdb_txn_begin(s->env, NULL, 0, &w);
    if (rc == 0) {
        step = "mdb_cursor_get (stored tails)";
        rc = lm_check_tails(s, w, bt);
        step = "mdb_put";
        for (size_t i = 0; rc == 0 && i < bt->n; i++)
            rc = lm_apply_op(s, w, &bt->ops[i]);
        if (rc == 0 && !rehearse) {
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
    if (rc == -1) {
        snprintf(why, cap, "the stored tails moved under the batch (another writer?)");
        return STORE_EINVAL;
    }
    if (rc)
        snprintf(why, cap, "%s: %s", step, mdb_strerror(rc));
    return lm_status(rc);
}

/* The map size to try after MDB_MAP_FULL: double, or more if the batch alone needs it. */
static uint64_t lm_next_map_size(lm_store *s, const store_batch *bt)
{
    uint64_t cur = atomic_load(&s->map_size);
    uint64_t need = bt->bytes + (uint64_t)bt->n * 2 * (LM_OP_OVERHEAD + 32);
    if (cur > UINT64_MAX / 4 || need > UINT64_MAX / 8)
        return 0;
    uint64_t want = cur * 2;
    if (want < cur + 2 * need)
        want = cur + 2 * need;
    if (want > SIZE_MAX / 2)
        return 0;
    return lm_page_round(want);
}

/* See backend.h. A full map is not a failure: it grows and the batch is replayed. */
int lm_apply(store_backend *b, store_batch *bt, int rehearse, char *why, size_t cap)
{
    lm_store *s = (lm_store *)b;
    int st = STORE_OK;
    for (int tries = 0; st == STORE_OK; tries++) {
        int again;
        st = lm_write_once(s, bt, rehearse, &again, why, cap);
        if (st != STORE_OK || !again)
            break;
        uint64_t want = again == MDB_MAP_FULL ? lm_next_map_size(s, bt) : 0;
        if ((again == MDB_MAP_FULL && want == 0) || tries >= LM_GROW_TRIES) {
            snprintf(why, cap, "the map cannot grow further (%llu bytes): %s",
                     (unsigned long long)atomic_load(&s->map_size), mdb_strerror(MDB_MAP_FULL));
            return STORE_ENOSPC;
        }
        int rc = lm_resize(s, want);
        if (rc) {
            snprintf(why, cap, "mdb_env_set_mapsize: %s", mdb_strerror(rc));
            st = lm_status(rc);
        }
    }
    return st;
}
