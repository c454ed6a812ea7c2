/* lmdb.h - the LMDB backend's private parts, shared by lmdb_env.c (open, map, lifecycle),
 * lmdb_read.c (reads) and lmdb_txn.c (applying a batch). Private to src/storage/. */
#ifndef SVCR_STORAGE_LMDB_H
#define SVCR_STORAGE_LMDB_H

#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "storage/backend.h"

#define LM_GROW_TRIES 64
#define LM_OP_OVERHEAD 64 /* page/node overhead assumed per record when sizing the map */

typedef struct lm_store {
    store_backend base;
    MDB_env *env;
    MDB_dbi dbi[STORE_T_AUDIT + 1]; /* one named DB per store_table */
    /* Read-held around every LMDB txn of this process (read or write), write-held only to
     * resize the map: LMDB allows mdb_env_set_mapsize only while no txn is active. */
    pthread_rwlock_t map_lock;
    _Atomic uint64_t map_size; /* current map size in bytes */
    int read_only;
    int lock_fd;              /* the data directory's exclusive lock (read-write opens); -1 */
    char data_path[PATH_MAX]; /* <data_dir>/data.mdb, for size_bytes */
} lm_store;

/* Maps an LMDB or errno code to a store status. Never fails. */
int lm_status(int rc);
/* Takes / releases the map lock for reading (around any LMDB txn). Never fail. */
void lm_rdlock(lm_store *s);
void lm_unlock(lm_store *s);
/* Sets the map to `want` bytes, or with want == 0 adopts the size another process grew the
 * store to (after MDB_MAP_RESIZED). Waits until no txn of this process is active. Returns an
 * LMDB code. */
int lm_resize(lm_store *s, uint64_t want);
/* Rounds v up to a whole number of pages. */
uint64_t lm_page_round(uint64_t v);
/* The last 8-byte key of `dbi` in txn (0 when empty). Returns an LMDB code; MDB_CORRUPTED for
 * a key that is not 8 bytes. */
int lm_last_key(MDB_txn *txn, MDB_dbi dbi, uint64_t *out);

/* The reads of backend.h (lmdb_read.c). */
int lm_get_num(store_backend *b, store_table t, uint64_t num, store_bytes_cb cb, void *ctx);
int lm_get_named(store_backend *b, store_table t, const char *key, store_bytes_cb cb, void *ctx);
int lm_iter_num(store_backend *b, store_table t, uint64_t from, store_seq_cb cb, void *ctx);
int lm_iter_named(store_backend *b, store_table t, store_named_cb cb, void *ctx);
int lm_last_num(store_backend *b, store_table t, uint64_t *out);
/* backend.h's apply (lmdb_txn.c). */
int lm_apply(store_backend *b, store_batch *batch, int rehearse, char *why, size_t cap);

#endif
