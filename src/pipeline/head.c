/* head.c - HEAD snapshots (see head.h). */
#include "pipeline/head.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interop/rfc3339.h"

head_snap *head_snap_new(uint64_t version, const char *payload_b3, int64_t committed_at_ms,
                         signer_set *governing)
{
    head_snap *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    atomic_init(&h->refs, 1);
    h->version = version;
    memcpy(h->payload_b3, payload_b3 ? payload_b3 : B3_ZERO_TAG, B3_TAG_LEN + 1);
    h->committed_at_ms = committed_at_ms;
    if (version > 0)
        rfc3339_format_ms(committed_at_ms, h->committed_at);
    h->governing = signer_set_retain(governing);
    char tmp[256];
    int n;
    if (version > 0)
        n = snprintf(tmp, sizeof tmp,
                     "{\"version\":%llu,\"payload_b3\":\"%s\",\"committed_at\":\"%s\"}",
                     (unsigned long long)version, h->payload_b3, h->committed_at);
    else
        n = snprintf(tmp, sizeof tmp, "{\"version\":0,\"payload_b3\":\"%s\",\"committed_at\":null}",
                     h->payload_b3);
    h->json = malloc((size_t)n + 1);
    if (!h->json) {
        signer_set_release(h->governing);
        free(h);
        return NULL;
    }
    memcpy(h->json, tmp, (size_t)n + 1);
    h->json_len = (size_t)n;
    return h;
}

head_snap *head_snap_retain(head_snap *h)
{
    if (h)
        atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
    return h;
}

void head_snap_release(head_snap *h)
{
    if (!h || atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) != 1)
        return;
    signer_set_release(h->governing);
    free(h->json);
    free(h);
}

void head_cell_init(head_cell *c, head_snap *initial)
{
    pthread_mutex_init(&c->mu, NULL);
    c->cur = initial;
}

void head_cell_destroy(head_cell *c)
{
    head_snap_release(c->cur);
    c->cur = NULL;
    pthread_mutex_destroy(&c->mu);
}

head_snap *head_cell_get(head_cell *c)
{
    pthread_mutex_lock(&c->mu);
    head_snap *h = head_snap_retain(c->cur);
    pthread_mutex_unlock(&c->mu);
    return h;
}

void head_cell_set(head_cell *c, head_snap *h)
{
    pthread_mutex_lock(&c->mu);
    head_snap *old = c->cur;
    c->cur = h;
    pthread_mutex_unlock(&c->mu);
    head_snap_release(old);
}
