/* b3.c - BLAKE3-256 wrapper and "b3:" tags (see b3.h). */
#include "crypto/b3.h"

#include <string.h>

#include "crypto/codec.h"

const char B3_ZERO_TAG[B3_TAG_LEN + 1] =
    "b3:0000000000000000000000000000000000000000000000000000000000000000";

void b3_init(b3_hasher *h)
{
    blake3_hasher_init(&h->h);
}

void b3_init_keyed(b3_hasher *h, const uint8_t key[B3_LEN])
{
    blake3_hasher_init_keyed(&h->h, key);
}

void b3_init_derive_key(b3_hasher *h, const char *context)
{
    blake3_hasher_init_derive_key(&h->h, context);
}

void b3_update(b3_hasher *h, const void *data, size_t len)
{
    blake3_hasher_update(&h->h, data, len);
}

void b3_final(const b3_hasher *h, uint8_t out[B3_LEN])
{
    blake3_hasher_finalize(&h->h, out, B3_LEN);
}

void b3_final_xof(const b3_hasher *h, uint8_t *out, size_t len)
{
    blake3_hasher_finalize(&h->h, out, len);
}

void b3_hash(const void *data, size_t len, uint8_t out[B3_LEN])
{
    blake3_hasher h;
    blake3_hasher_init(&h);
    blake3_hasher_update(&h, data, len);
    blake3_hasher_finalize(&h, out, B3_LEN);
}

void b3_tag_format(const uint8_t digest[B3_LEN], char out[B3_TAG_LEN + 1])
{
    memcpy(out, "b3:", 3);
    hex_encode(digest, B3_LEN, out + 3);
}

void b3_tag_of(const void *data, size_t len, char out[B3_TAG_LEN + 1])
{
    uint8_t d[B3_LEN];
    b3_hash(data, len, d);
    b3_tag_format(d, out);
}

int b3_tag_parse(const char *s, size_t len, uint8_t digest[B3_LEN])
{
    if (len != B3_TAG_LEN || memcmp(s, "b3:", 3) != 0)
        return -1;
    for (size_t i = 3; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
    }
    if (!digest)
        return 0;
    size_t n = 0;
    return hex_decode(s + 3, 64, digest, B3_LEN, &n) == 0 && n == B3_LEN ? 0 : -1;
}
