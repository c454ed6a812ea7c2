/* testutil.c - helpers shared by the unit tests (see testutil.h). */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/codec.h"

const char *tu_vectors_dir(void)
{
    static char path[4096];
    const char *env = getenv("SVCR_VECTORS_DIR");
    if (env && *env)
        return env;
    const char *root = getenv("SVCR_ROOT");
    snprintf(path, sizeof path, "%s/../shared/vectors", root && *root ? root : ".");
    return path;
}

char *tu_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *p = realloc(data, cap * 2);
            if (!p) {
                free(data);
                data = NULL;
                break;
            }
            data = p;
            cap *= 2;
        }
    }
    fclose(f);
    if (!data)
        return NULL;
    data[len] = '\0';
    if (len_out)
        *len_out = len;
    return data;
}

char *tu_read_vector(const char *rel, size_t *len_out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", tu_vectors_dir(), rel);
    char *d = tu_read_file(path, len_out);
    if (!d)
        fail_msg("cannot read vector file %s (set SVCR_VECTORS_DIR)", path);
    return d;
}

uint8_t *tu_unhex(const char *hex, size_t *len_out)
{
    size_t n = strlen(hex);
    if (n % 2)
        return NULL;
    uint8_t *out = malloc(n / 2 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit_value(hex[2 * i]), lo = hex_digit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len_out = n / 2;
    return out;
}

uint64_t tu_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void tu_rand_bytes(uint64_t *s, void *out, size_t n)
{
    uint8_t *p = out;
    while (n) {
        uint64_t r = tu_rand(s);
        size_t k = n < 8 ? n : 8;
        memcpy(p, &r, k);
        p += k;
        n -= k;
    }
}
