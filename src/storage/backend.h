/* backend.h - the interface between the storage front (store.c) and a backend (private to
 * src/storage/). The front keeps every rule of store.h (one write txn, order, poisoning, the
 * reserved "head" key, fault injection, last_write_error); a backend only applies a finished,
 * already validated batch atomically and answers raw reads of its five tables. */
#ifndef SVCR_STORAGE_BACKEND_H
#define SVCR_STORAGE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

#define STORE_KEY_MAX 511     /* longest named key (LMDB's compiled-in limit); backends may lower */
#define STORE_HEAD_KEY "head" /* the reserved meta key that holds HEAD */
#define STORE_HEAD_LEN 48     /* HEAD record: version u64 BE, payload_b3, committed_at_ms i64 BE */
#define STORE_WHY_MAX 160     /* room for a backend's "step: error text" */

/* The five tables of the layout (docs/STORAGE.md). */
typedef enum store_table {
    STORE_T_META,      /* named keys; "head" holds the HEAD record */
    STORE_T_VERSIONS,  /* version -> artifact bytes */
    STORE_T_HASHES,    /* version -> BLAKE3 of the artifact (32 bytes), never deleted */
    STORE_T_PROPOSALS, /* proposal id -> record */
    STORE_T_AUDIT,     /* audit seq -> record */
} store_table;

typedef enum store_op_kind {
    STORE_OP_VERSION, /* num = version, val = artifact, b3 = its hash */
    STORE_OP_AUDIT,   /* num = seq, val = record */
    STORE_OP_NAMED,   /* table META or PROPOSALS: key -> val, or delete (del) */
} store_op_kind;

/* One buffered write, owning copies of its key and value. A backend may take `val` (set it to
 * NULL and own the bytes) while applying; whatever the op still owns is freed with the batch. */
typedef struct store_op {
    store_op_kind kind;
    store_table table; /* STORE_OP_NAMED: STORE_T_META or STORE_T_PROPOSALS */
    int del;           /* STORE_OP_NAMED: delete the key (val NULL) */
    uint64_t num;
    char *key; /* STORE_OP_NAMED: NUL-terminated, 1..key_max bytes */
    size_t key_len;
    uint8_t *val; /* never NULL unless del or taken */
    size_t len;
    uint8_t b3[32];
} store_op;

/* A finished batch: ops in the order they were put, versions and seqs consecutive after the
 * tails seen when the txn began (the front checked that). */
typedef struct store_batch {
    store_op *ops;
    size_t n, cap;
    uint64_t base_version; /* last stored version (STORE_T_HASHES) at txn_begin */
    uint64_t base_seq;     /* last stored audit seq at txn_begin */
    uint64_t bytes;        /* keys + values of every op */
} store_batch;

typedef struct store_backend store_backend;

typedef struct store_backend_ops {
    const char *name; /* "lmdb", "memory", ... */
    /* Applies the whole batch atomically: afterwards every op is visible, or (on failure) none
     * is. It first re-checks that the stored tails still equal base_version / base_seq
     * (STORE_EINVAL otherwise). With `rehearse` set it does all the work short of making it
     * visible and then discards it (fault injection: the front then fails the commit). On
     * failure it writes "step: system error text" into why (cap bytes). Writer thread only. */
    int (*apply)(store_backend *b, store_batch *batch, int rehearse, char *why, size_t cap);
    /* Calls cb with the bytes under numeric key `num` of a numeric table; STORE_NOTFOUND if
     * absent; otherwise a storage error or cb's value. */
    int (*get_num)(store_backend *b, store_table t, uint64_t num, store_bytes_cb cb, void *ctx);
    /* The same for a named key of STORE_T_META or STORE_T_PROPOSALS (key already checked). */
    int (*get_named)(store_backend *b, store_table t, const char *key, store_bytes_cb cb,
                     void *ctx);
    /* Calls cb for every key >= from of a numeric table, in order, in one snapshot; returns
     * STORE_OK, a storage error, or cb's first non-zero value. */
    int (*iter_num)(store_backend *b, store_table t, uint64_t from, store_seq_cb cb, void *ctx);
    /* Calls cb for every record of STORE_T_PROPOSALS in key order, one snapshot. */
    int (*iter_named)(store_backend *b, store_table t, store_named_cb cb, void *ctx);
    /* The last key of a numeric table (0 when empty). */
    int (*last_num)(store_backend *b, store_table t, uint64_t *out);
    /* See store_ops.size_bytes. */
    int64_t (*size_bytes)(store_backend *b);
    /* Closes and frees. */
    void (*close)(store_backend *b);
    /* See store_ops.drop_cache; NULL where nothing is mapped. Last, so a backend without it
     * leaves it out of its (positional) table. */
    void (*drop_cache)(store_backend *b);
} store_backend_ops;

/* Every backend instance begins with this header. */
struct store_backend {
    const store_backend_ops *ops;
    size_t key_max; /* longest named key this backend stores (<= STORE_KEY_MAX) */
};

/* Opens a backend. Same contract as store_open (see store.h), minus the front's rules. */
int store_lmdb_backend_open(const store_open_opts *o, store_backend **out, char *errbuf,
                            size_t errcap);
int store_memory_backend_open(const store_open_opts *o, store_backend **out, char *errbuf,
                              size_t errcap);

/* 8-byte big-endian keys: byte order is numeric order. Never fail. */
void store_be64_put(uint8_t out[8], uint64_t v);
uint64_t store_be64_get(const uint8_t in[8]);

/* Writes an open error into errbuf (may be NULL) and returns status. Never fails. */
int store_open_error(char *errbuf, size_t errcap, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
