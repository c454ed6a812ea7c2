/* b3.h - BLAKE3-256 hashing (wrapping the official BLAKE3 C implementation) and the
 * registry's "b3:<hex>" hash tags. */
#ifndef SVCR_CRYPTO_B3_H
#define SVCR_CRYPTO_B3_H

#include <stddef.h>
#include <stdint.h>

#include <blake3.h>

#define B3_LEN 32
#define B3_TAG_LEN 67 /* "b3:" + 64 lowercase hex digits */

/* Incremental hasher; stack-allocatable, no heap, no cleanup needed. */
typedef struct b3_hasher {
    blake3_hasher h;
} b3_hasher;

/* Starts a plain-mode hash. */
void b3_init(b3_hasher *h);
/* Starts a keyed hash (BLAKE3 keyed_hash mode) with a 32-byte key. */
void b3_init_keyed(b3_hasher *h, const uint8_t key[B3_LEN]);
/* Starts a derive_key hash with a NUL-terminated context string. */
void b3_init_derive_key(b3_hasher *h, const char *context);
/* Feeds bytes; can be called any number of times, with any split of the input. */
void b3_update(b3_hasher *h, const void *data, size_t len);
/* Writes the default 32-byte output. The hasher is unchanged and may be updated further. */
void b3_final(const b3_hasher *h, uint8_t out[B3_LEN]);
/* Writes `len` bytes of extendable output (a prefix stream: the first 32 equal b3_final's). */
void b3_final_xof(const b3_hasher *h, uint8_t *out, size_t len);

/* One-shot BLAKE3-256 of a buffer. */
void b3_hash(const void *data, size_t len, uint8_t out[B3_LEN]);
/* Formats a digest as "b3:" + 64 lowercase hex digits, NUL-terminated (out: 68 bytes). */
void b3_tag_format(const uint8_t digest[B3_LEN], char out[B3_TAG_LEN + 1]);
/* One-shot hash of a buffer straight to its tag. */
void b3_tag_of(const void *data, size_t len, char out[B3_TAG_LEN + 1]);
/* Parses a tag: exactly "b3:" + 64 lowercase hex digits. Returns 0 and fills `digest` (may be
 * NULL to only validate), or -1. */
int b3_tag_parse(const char *s, size_t len, uint8_t digest[B3_LEN]);
/* The genesis tag: "b3:" followed by 64 zeros. */
extern const char B3_ZERO_TAG[B3_TAG_LEN + 1];

#endif
