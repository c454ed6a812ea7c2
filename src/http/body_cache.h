/* body_cache.h - committed versions' response bodies, kept in memory and shared zero-copy
 * between responses: a version never changes, so its bytes are read from storage once and every
 * later GET hands libmicrohttpd a pointer, released when the response is done. */
#ifndef SVCR_HTTP_BODY_CACHE_H
#define SVCR_HTTP_BODY_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct body_blob {
    atomic_int refs;
    uint64_t version;
    char etag[80]; /* "\"b3:…\"" or "" */
    size_t len;
    char data[];
} body_blob;

typedef struct body_cache body_cache;

/* A direct-mapped cache of `slots` entries holding at most `max_bytes` in total (a blob larger
 * than max_bytes / 8 is never cached). NULL on OOM. */
body_cache *body_cache_new(size_t slots, size_t max_bytes);
void body_cache_free(body_cache *c);
/* The cached body of `version` with a new reference, or NULL. Thread-safe. */
body_blob *body_cache_get(body_cache *c, uint64_t version);
/* Offers a blob to the cache (the cache takes its own reference if it keeps it). */
void body_cache_put(body_cache *c, body_blob *b);

/* A new blob (one reference) holding a copy of data. NULL on OOM. */
body_blob *body_blob_new(uint64_t version, const void *data, size_t len);
body_blob *body_blob_retain(body_blob *b);
/* Drops a reference; `void *` so it can serve as libmicrohttpd's free callback. */
void body_blob_release(void *b);

#endif
