/* body_cache.c - immutable response bodies shared by reference (see body_cache.h). */
#include "http/body_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct body_cache {
    pthread_mutex_t mu;
    size_t nslots;
    size_t max_bytes, bytes;
    body_blob **slots;
};

body_blob *body_blob_new(uint64_t version, const void *data, size_t len)
{
    body_blob *b = malloc(sizeof *b + len + 1);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->version = version;
    b->etag[0] = '\0';
    b->len = len;
    memcpy(b->data, data, len);
    b->data[len] = '\0';
    return b;
}

body_blob *body_blob_retain(body_blob *b)
{
    if (b)
        atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void body_blob_release(void *p)
{
    body_blob *b = p;
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}

body_cache *body_cache_new(size_t slots, size_t max_bytes)
{
    body_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->slots = calloc(slots ? slots : 1, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    c->nslots = slots ? slots : 1;
    c->max_bytes = max_bytes;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void body_cache_free(body_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nslots; i++)
        body_blob_release(c->slots[i]);
    pthread_mutex_destroy(&c->mu);
    free(c->slots);
    free(c);
}

body_blob *body_cache_get(body_cache *c, uint64_t version)
{
    if (!c)
        return NULL;
    pthread_mutex_lock(&c->mu);
    body_blob *b = c->slots[version % c->nslots];
    b = b && b->version == version ? body_blob_retain(b) : NULL;
    pthread_mutex_unlock(&c->mu);
    return b;
}

void body_cache_put(body_cache *c, body_blob *b)
{
    if (!c || !b || b->len > c->max_bytes / 8)
        return;
    pthread_mutex_lock(&c->mu);
    body_blob **slot = &c->slots[b->version % c->nslots];
    body_blob *old = *slot;
    size_t freed = old ? old->len : 0;
    /* evict round-robin from the next slots until the new blob fits the byte budget */
    for (size_t i = 1; c->bytes - freed + b->len > c->max_bytes && i < c->nslots; i++) {
        body_blob **victim = &c->slots[(b->version + i) % c->nslots];
        if (*victim) {
            c->bytes -= (*victim)->len;
            body_blob_release(*victim);
            *victim = NULL;
        }
    }
    c->bytes = c->bytes - freed + b->len;
    *slot = body_blob_retain(b);
    pthread_mutex_unlock(&c->mu);
    body_blob_release(old);
}
