/* ulid.c - ULID generation and ULID/UUID syntax checks (see ulid.h). */
#include "interop/ulid.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

static const char crockford[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_setup(void)
{
    if (sodium_init() < 0)
        abort(); /* no usable randomness source: nothing sensible to hand out */
}

/* Value 0..31 of a Crockford digit in either case, or -1 (also for the I L O U aliases). */
static int crockford_value(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        c = (unsigned char)(c - 'a' + 'A');
    const char *p = c ? memchr(crockford, c, 32) : NULL;
    return p ? (int)(p - crockford) : -1;
}

void ulid_encode(uint64_t unix_ms, const uint8_t rnd[10], char out[27])
{
    /* 128-bit value: time in the top 48 bits, randomness in the low 80; written as 26 5-bit
     * digits, the first holding only the top 3 bits. */
    unsigned __int128 v = (unsigned __int128)(unix_ms & ULID_MAX_MS) << 80;
    for (int i = 0; i < 10; i++)
        v |= (unsigned __int128)rnd[i] << (8 * (9 - i));
    for (int i = ULID_LEN - 1; i >= 0; i--) {
        out[i] = crockford[(unsigned)(v & 31)];
        v >>= 5;
    }
    out[ULID_LEN] = '\0';
}

void ulid_new(char out[27])
{
    pthread_once(&sodium_once, sodium_setup);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)(ts.tv_nsec / 1000000);
    uint8_t rnd[10];
    randombytes_buf(rnd, sizeof rnd);
    ulid_encode(ms, rnd, out);
}

int ulid_valid(const char *s, size_t len)
{
    if (len != ULID_LEN || !s || s[0] < '0' || s[0] > '7')
        return 0;
    for (size_t i = 1; i < len; i++)
        if (crockford_value((unsigned char)s[i]) < 0)
            return 0;
    return 1;
}

int ulid_time(const char *s, size_t len, uint64_t *unix_ms)
{
    if (!ulid_valid(s, len))
        return -1;
    /* The first 10 digits are 50 bits: 2 always-zero bits (first digit <= 7) and 48 of time. */
    uint64_t t = 0;
    for (int i = 0; i < 10; i++)
        t = t << 5 | (uint64_t)crockford_value((unsigned char)s[i]);
    if (unix_ms)
        *unix_ms = t;
    return 0;
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int uuid_valid(const char *s, size_t len)
{
    if (len != 36 || !s)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex((unsigned char)s[i]))
            return 0;
    }
    return 1;
}
