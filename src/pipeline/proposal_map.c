/* proposal_map.c - open-addressing hash map of proposals (see proposal_map.h). */
#include "pipeline/proposal_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static proposal tomb_sentinel;
#define TOMB (&tomb_sentinel)

/* FNV-1a of the id. Any. */
static size_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 1099511628211ULL;
    return (size_t)h;
}

void pl_map_init(pl_map *m)
{
    memset(m, 0, sizeof *m);
}

void pl_map_free(pl_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i] && m->slots[i] != TOMB)
            proposal_free(m->slots[i]);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* The slot holding id (*found = 1), or the one it would take. Any (under the caller's lock). */
static size_t find_slot(const pl_map *m, const char *id, int *found)
{
    size_t mask = m->cap - 1, i = hash_id(id) & mask, first_free = SIZE_MAX;
    for (;;) {
        proposal *p = m->slots[i];
        if (!p) {
            *found = 0;
            return first_free != SIZE_MAX ? first_free : i;
        }
        if (p == TOMB) {
            if (first_free == SIZE_MAX)
                first_free = i;
        } else if (strcmp(p->id, id) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
}

proposal *pl_map_get(const pl_map *m, const char *id)
{
    if (!m->cap)
        return NULL;
    int found;
    size_t i = find_slot(m, id, &found);
    return found ? m->slots[i] : NULL;
}

/* Doubles the table, or rebuilds it at the same size when deleted slots dominate. 0 or -1
 * (OOM). Committer (or opener). */
static int grow(pl_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    if (m->len * 2 < m->cap)
        cap = m->cap; /* many tombstones: rebuild at the same size */
    proposal **old = m->slots;
    size_t old_cap = m->cap;
    proposal **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    m->slots = slots;
    m->cap = cap;
    m->used = m->len;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i] && old[i] != TOMB) {
            int found;
            m->slots[find_slot(m, old[i]->id, &found)] = old[i];
        }
    }
    free(old);
    return 0;
}

int pl_map_put(pl_map *m, proposal *p)
{
    if ((m->used + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return -1;
    int found;
    size_t i = find_slot(m, p->id, &found);
    if (found) {
        if (m->slots[i] != p)
            proposal_free(m->slots[i]);
    } else {
        if (!m->slots[i])
            m->used++;
        m->len++;
    }
    m->slots[i] = p;
    return 0;
}

void pl_map_del(pl_map *m, const char *id)
{
    if (!m->cap)
        return;
    int found;
    size_t i = find_slot(m, id, &found);
    if (!found)
        return;
    proposal_free(m->slots[i]);
    m->slots[i] = TOMB;
    m->len--;
}

void pl_map_each(const pl_map *m, void (*fn)(void *ctx, proposal *p), void *ctx)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i] && m->slots[i] != TOMB)
            fn(ctx, m->slots[i]);
}

void pl_usage_add(pl_usage *u, const proposal *p, const char *key_id)
{
    size_t bytes = p->ds ? p->ds->canonical_len : 0;
    u->count++;
    u->bytes += bytes;
    if (key_id && strcmp(p->key_id, key_id) == 0) {
        u->key_count++;
        u->key_bytes += bytes;
    }
}

void pl_map_usage(const pl_map *m, const char *key_id, pl_usage *u)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i] && m->slots[i] != TOMB)
            pl_usage_add(u, m->slots[i], key_id);
}
