/* store.h - the storage seam: one front (store.c) over interchangeable backends (LMDB, memory,
 * later SQLite/PostgreSQL). Storage holds bytes under keys; what the bytes mean belongs to the
 * layers above.
 *
 * The seam's contract. store_open() picks a backend by kind and returns a `store` whose ops are
 * always the front's: the front enforces every rule of this header once (one write txn at a
 * time, version and audit-seq order, poisoning of a failed txn, the reserved "head" meta key,
 * fault injection, last_write_error) and hands the backend a finished batch to apply
 * atomically, plus raw reads (src/storage/backend.h). A backend is done when the contract
 * suite (tests/unit/test_store.c) passes on it.
 *
 * Concurrency contract: at most one write transaction exists at a time, opened and committed by
 * the pipeline's committer thread (single writer). Reads may run on any number of threads at
 * any time, never wait for the writer, and see only committed transactions: a failed commit
 * leaves nothing visible. Read callbacks receive bytes that are valid only during the call (for
 * LMDB they point straight into the memory map: zero copy). */
#ifndef SVCR_STORAGE_STORE_H
#define SVCR_STORAGE_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef enum store_status {
    STORE_OK = 0,
    STORE_NOTFOUND = 1,  /* the key does not exist (not an error) */
    STORE_EIO = -1,      /* a write, sync or read failed (fault: the write plane must stop) */
    STORE_ENOSPC = -2,   /* disk full */
    STORE_ECORRUPT = -3, /* stored bytes are inconsistent with the layout */
    STORE_ENOMEM = -4,
    STORE_EINVAL = -5, /* caller error: bad argument, a second write txn, wrong order */
    STORE_EBUSY = -6,  /* open: another process holds the data directory (one writer each) */
} store_status;

/* What a read callback returns to end an iteration early (not a status; never STORE_NOTFOUND's
 * number, so "stopped" and "absent" cannot be confused). */
#define STORE_STOP 2

/* HEAD as stored: version 0 means the empty (genesis) store. */
typedef struct store_head {
    uint64_t version;
    uint8_t payload_b3[32];  /* zeros at version 0 */
    int64_t committed_at_ms; /* Unix ms; 0 at version 0 */
} store_head;

/* What can be made to fail, for fault-injection tests (see store_fault_arm). */
typedef enum store_fault {
    STORE_FAULT_NONE = 0,
    STORE_FAULT_WRITE,  /* the next write transaction fails while writing its records */
    STORE_FAULT_SYNC,   /* the next commit fails at its durable sync (fsync) */
    STORE_FAULT_ENOSPC, /* the next commit fails as if the disk were full */
    STORE_FAULT_READ,   /* the next read call (get_*, iter_*, last_audit_seq) fails with EIO */
} store_fault;

/* The backends store_open knows. */
typedef enum store_kind {
    STORE_KIND_LMDB = 0, /* persistent, the default */
    STORE_KIND_MEMORY,   /* amnesia: creates no file anywhere */
} store_kind;

typedef struct store store;
typedef struct store_txn store_txn;

/* Read callbacks: return 0 to go on, STORE_STOP (or an error status) to stop an iteration; that
 * value is then returned by the iterating call. */
typedef int (*store_bytes_cb)(void *ctx, const void *data, size_t len);
typedef int (*store_seq_cb)(void *ctx, uint64_t key, const void *data, size_t len);
typedef int (*store_named_cb)(void *ctx, const char *key, const void *data, size_t len);

typedef struct store_ops {
    const char *name; /* "lmdb", "memory", ... */

    /* --- the write batch (committer thread only) --- */
    /* Opens the one write transaction. STORE_EINVAL if one is already open. */
    int (*txn_begin)(store *s, store_txn **out);
    /* Appends committed version `version` (must be head + 1 within this txn, else STORE_EINVAL):
     * its artifact bytes and the 32-byte BLAKE3 of those bytes (kept even after pruning). */
    int (*txn_put_version)(store_txn *t, uint64_t version, const void *artifact, size_t len,
                           const uint8_t artifact_b3[32]);
    /* Sets HEAD. */
    int (*txn_put_head)(store_txn *t, const store_head *h);
    /* Inserts or replaces a proposal record under its id. */
    int (*txn_put_proposal)(store_txn *t, const char *id, const void *rec, size_t len);
    /* Appends audit record `seq` (must be the last stored seq + 1 within this txn). */
    int (*txn_put_audit)(store_txn *t, uint64_t seq, const void *rec, size_t len);
    /* Sets (len > 0) or deletes (data NULL, len 0) a small named value ("frozen", ...). */
    int (*txn_put_meta)(store_txn *t, const char *key, const void *data, size_t len);
    /* Makes the whole transaction visible and, with fsync on, durable: one sync per call.
     * Frees t. On failure nothing of the transaction is visible and the status says why. */
    int (*txn_commit)(store_txn *t);
    /* Discards the transaction and frees t. */
    void (*txn_abort)(store_txn *t);

    /* --- reads (any thread, never block the writer) --- */
    /* STORE_OK with *out filled; an empty store gives STORE_OK with version 0. */
    int (*get_head)(store *s, store_head *out);
    /* Calls cb with the artifact bytes of `version`; STORE_NOTFOUND if absent or pruned. */
    int (*get_version)(store *s, uint64_t version, store_bytes_cb cb, void *ctx);
    /* The stored artifact hash of `version`; STORE_NOTFOUND if the version never existed. */
    int (*get_artifact_hash)(store *s, uint64_t version, uint8_t out[32]);
    /* Calls cb with a proposal record; STORE_NOTFOUND if absent. */
    int (*get_proposal)(store *s, const char *id, store_bytes_cb cb, void *ctx);
    /* Calls cb with a named value; STORE_NOTFOUND if absent. */
    int (*get_meta)(store *s, const char *key, store_bytes_cb cb, void *ctx);
    /* Calls cb for every stored version >= from, in increasing order, all within one consistent
     * snapshot. Returns STORE_OK, a storage error, or cb's non-zero value. */
    int (*iter_versions)(store *s, uint64_t from, store_seq_cb cb, void *ctx);
    /* Calls cb for every proposal record (id order), one snapshot. */
    int (*iter_proposals)(store *s, store_named_cb cb, void *ctx);
    /* Calls cb for every audit record with seq >= from, in order, one snapshot. */
    int (*iter_audit)(store *s, uint64_t from, store_seq_cb cb, void *ctx);
    /* Last stored audit seq (0 if none). */
    int (*last_audit_seq)(store *s, uint64_t *out);
    /* Bytes used by the store (file size for LMDB; approximate for memory). */
    int64_t (*size_bytes)(store *s);
    /* Describes why the last txn_begin or txn_commit of this store failed, for the operator's
     * log: the step and the system's error text ("mdb_txn_commit: No space left on device",
     * "injected fault (enospc): No space left on device"). Never data, keys or paths of
     * records. Empty after a successful commit. Call it from the writer thread only (the one
     * that began and committed), right after the failure. Never fails; `out` always ends in a
     * NUL when cap > 0. */
    void (*last_write_error)(store *s, char *out, size_t cap);

    /* --- lifecycle --- */
    /* Arms a fault for the next `count` write transactions (count < 0: every one until re-armed;
     * STORE_FAULT_NONE disarms every fault). STORE_FAULT_READ arms the next `count` read calls
     * instead, beside any armed write fault. Tests only; see DECISIONS.md. Thread-safe. */
    void (*fault_arm)(store *s, store_fault f, int count);
    /* Drops the store's mapped pages from this process's resident set (they stay in the
     * kernel's page cache and fault back in on the next read). Called after a full scan such as
     * background verification. Never changes data; a no-op where nothing is mapped. */
    void (*drop_cache)(store *s);
    /* Closes and frees. No transaction may be open. */
    void (*close)(store *s);
} store_ops;

/* What store_open returns: `s->ops` is the front's table whatever the backend. */
struct store {
    const store_ops *ops;
};

typedef struct store_open_opts {
    const char *data_dir; /* LMDB: directory (created 0700 if missing); a read-write open
                             locks it for this process (<data_dir>/LOCK, DECISIONS D29) */
    int fsync;            /* 1: every commit is durable before it returns */
    int read_only;        /* open without the ability to write (verify-store) */
    uint64_t map_size;    /* LMDB initial map size in bytes; 0 = default; grows when full */
    const char *dsn;      /* SQL backends' connection string; unused by LMDB and memory */
} store_open_opts;

/* Opens a store of `kind` (the one place that picks a backend). Returns STORE_OK and *out, or
 * an error status with `errbuf` (may be NULL) describing it; never leaves a half-open store.
 * An unknown kind is STORE_EINVAL.
 * LMDB: data_dir is required (created 0700 if missing). A read-write open first takes the
 * data directory's exclusive lock and holds it until close: STORE_EBUSY (errbuf names the
 * directory and the holder's pid) when another process - or another open in this process -
 * holds it. A read-only open takes no lock, creates nothing and may run beside the writer.
 * Memory: `o` may be NULL; only read_only is used; creates no file anywhere. */
int store_open(store_kind kind, const store_open_opts *o, store **out, char *errbuf, size_t errcap);
/* store_open(STORE_KIND_LMDB, ...). */
int store_lmdb_open(const store_open_opts *o, store **out, char *errbuf, size_t errcap);
/* store_open(STORE_KIND_MEMORY, ...). */
int store_memory_open(const store_open_opts *o, store **out, char *errbuf, size_t errcap);
/* Human text for a status. Never NULL: an unknown status gets a generic text. */
const char *store_status_str(int status);
/* Parses a fault spec "KIND[:COUNT]" (KIND write|sync|enospc|read; COUNT default 1, < 0 =
 * forever) as SVCR_FAULT_INJECT carries it. Returns 0 with *f and *count set, or -1 (nothing
 * set) for any other text. */
int store_fault_parse(const char *spec, store_fault *f, int *count);

#endif
