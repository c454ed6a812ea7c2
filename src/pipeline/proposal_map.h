/* proposal_map.h - a small hash map from proposal id to proposal (owned), for the pending set. */
#ifndef SVCR_PIPELINE_PROPOSAL_MAP_H
#define SVCR_PIPELINE_PROPOSAL_MAP_H

#include <stddef.h>

#include "governance/proposal.h"

typedef struct pl_map {
    proposal **slots; /* open addressing, linear probing; NULL = empty, TOMB = deleted */
    size_t cap, len, used;
} pl_map;

/* Locking is the caller's: the pending map (struct pipeline's pend) is changed only by the
 * committer under pend.lock held for writing (put, del); request threads read (get, usage, each)
 * under it held for reading; the committer reads without it. A standalone map (tests) has no
 * lock. */

/* Empty map (no allocation until the first put). Opener. */
void pl_map_init(pl_map *m);
/* Frees every proposal and the table. Opener. */
void pl_map_free(pl_map *m);
/* The proposal with this id, or NULL. Borrowed. Any (see above). */
proposal *pl_map_get(const pl_map *m, const char *id);
/* Inserts or replaces (freeing the replaced proposal). 0 or -1 (OOM; nothing changed).
 * Committer (or opener). */
int pl_map_put(pl_map *m, proposal *p);
/* Removes and frees the proposal with this id, if any. Committer. */
void pl_map_del(pl_map *m, const char *id);
/* What the pending proposals hold: all of them, and those admitted by one root key id. */
typedef struct pl_usage {
    size_t count, bytes;         /* bytes: canonical payload bytes */
    size_t key_count, key_bytes; /* the same for `key_id` */
} pl_usage;

/* Adds the map's proposals to *u (u->key_* for those whose key_id equals key_id, if not NULL).
 * O(map size); the map holds at most PENDING_PROPOSALS_MAX proposals. Any (see above). */
void pl_map_usage(const pl_map *m, const char *key_id, pl_usage *u);
/* Adds one proposal to *u as pl_map_usage does. Any. */
void pl_usage_add(pl_usage *u, const proposal *p, const char *key_id);
/* Calls fn for every proposal (any order). Any (see above). */
void pl_map_each(const pl_map *m, void (*fn)(void *ctx, proposal *p), void *ctx);

#endif
