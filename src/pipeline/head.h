/* head.h - the immutable HEAD snapshot readers share: swapped atomically after each commit, with
 * the /registry/head response body rendered once. */
#ifndef SVCR_PIPELINE_HEAD_H
#define SVCR_PIPELINE_HEAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "crypto/b3.h"
#include "governance/signer_set.h"

typedef struct head_snap {
    atomic_int refs;
    uint64_t version;
    char payload_b3[B3_TAG_LEN + 1]; /* zeros at version 0 */
    int64_t committed_at_ms;         /* 0 at version 0 */
    char committed_at[32];           /* "" at version 0 */
    signer_set *governing; /* the set that governs version + 1; NULL: no trust roots (read-only) */
    char *json;            /* {"version":N,"payload_b3":"…","committed_at":"…"|null} */
    size_t json_len;
} head_snap;

/* Snapshots are immutable and reference-counted: every function here is safe on any thread. */

/* Builds a snapshot (one reference) retaining `governing`. NULL on OOM. Committer, opener. */
head_snap *head_snap_new(uint64_t version, const char *payload_b3, int64_t committed_at_ms,
                         signer_set *governing);
/* Takes one more reference (h may be NULL). Any. */
head_snap *head_snap_retain(head_snap *h);
/* Drops one reference (h may be NULL); the last frees the snapshot. Any. */
void head_snap_release(head_snap *h);

/* The published pointer: readers take a reference, the committer swaps. */
typedef struct head_cell {
    pthread_mutex_t mu;
    head_snap *cur;
} head_cell;

/* Takes the caller's reference to `initial`. Opener. */
void head_cell_init(head_cell *c, head_snap *initial);
/* Drops the current snapshot. Opener, after every other thread is joined. */
void head_cell_destroy(head_cell *c);
/* A new reference to the current snapshot (never NULL after init). Any. */
head_snap *head_cell_get(head_cell *c);
/* Publishes `h` (the cell takes the caller's reference) and drops the old one. Committer. */
void head_cell_set(head_cell *c, head_snap *h);

#endif
