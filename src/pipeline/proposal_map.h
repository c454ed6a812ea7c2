/* proposal_map.h - a small hash map from proposal id to proposal (owned), for the pending set. */
#ifndef SVCR_PIPELINE_PROPOSAL_MAP_H
#define SVCR_PIPELINE_PROPOSAL_MAP_H

#include <stddef.h>

#include "governance/proposal.h"

typedef struct proposal_map {
    proposal **slots; /* open addressing, linear probing; NULL = empty, TOMB = deleted */
    size_t cap, len, used;
} proposal_map;

/* Empty map (no allocation until the first put). */
void proposal_map_init(proposal_map *m);
/* Frees every proposal and the table. */
void proposal_map_free(proposal_map *m);
/* The proposal with this id, or NULL. Borrowed. */
proposal *proposal_map_get(const proposal_map *m, const char *id);
/* Inserts or replaces (freeing the replaced proposal). 0 or -1 (OOM; nothing changed). */
int proposal_map_put(proposal_map *m, proposal *p);
/* Removes and frees the proposal with this id, if any. */
void proposal_map_del(proposal_map *m, const char *id);
/* What the pending proposals hold: all of them, and those admitted by one root key id. */
typedef struct map_usage {
    size_t count, bytes;         /* bytes: canonical payload bytes */
    size_t key_count, key_bytes; /* the same for `key_id` */
} map_usage;

/* Adds the map's proposals to *u (u->key_* for those whose key_id equals key_id, if not NULL).
 * O(map size); the map holds at most PENDING_PROPOSALS_MAX proposals. */
void proposal_map_usage(const proposal_map *m, const char *key_id, map_usage *u);
/* Adds one proposal to *u as proposal_map_usage does. */
void map_usage_add(map_usage *u, const proposal *p, const char *key_id);
/* Calls fn for every proposal (any order). */
void proposal_map_each(const proposal_map *m, void (*fn)(void *ctx, proposal *p), void *ctx);

#endif
