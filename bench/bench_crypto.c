/* bench_crypto.c - in-process throughput of BLAKE3-256 (1 KiB / 64 KiB / 1 MiB inputs) and of
 * Ed25519 approval verification. Prints one JSON object per line for scripts/bench.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/approval.h"
#include "crypto/b3.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hashes `size`-byte inputs for at least `min_s` seconds; returns bytes per second. */
static double bench_b3(size_t size, double min_s)
{
    uint8_t *in = malloc(size);
    for (size_t i = 0; i < size; i++)
        in[i] = (uint8_t)(i * 131 + 7);
    uint8_t out[B3_LEN];
    uint64_t iters = 0, sink = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 64; k++) {
            in[0] = (uint8_t)iters;
            b3_hash(in, size, out);
            sink += out[0];
            iters++;
        }
        t = now_s() - t0;
    } while (t < min_s);
    free(in);
    if (sink == 0xFFFFFFFFFFFFFFFFULL)
        puts("");
    return (double)iters * (double)size / t;
}

static double bench_verify(double min_s)
{
    uint8_t pk[ED25519_PK_LEN], sk[ED25519_SK_LEN];
    ed25519_keypair(pk, sk);
    char tag[B3_TAG_LEN + 1], sig[APPROVAL_SIG_B64_LEN + 1];
    b3_tag_of("bench", 5, tag);
    approval_sign_ed25519(tag, sk, sig);
    uint64_t n = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 64; k++) {
            if (approval_verify_ed25519(tag, sig, APPROVAL_SIG_B64_LEN, pk, NULL) != SVCR_OK)
                abort();
            n++;
        }
        t = now_s() - t0;
    } while (t < min_s);
    return (double)n / t;
}

int main(int argc, char **argv)
{
    double min_s = argc > 1 ? atof(argv[1]) : 2.0;
    if (crypto_init() != 0)
        return 1;
    const size_t sizes[] = {1024, 65536, 1048576};
    for (size_t i = 0; i < 3; i++)
        printf("{\"bench\":\"blake3\",\"size\":%zu,\"bytes_per_s\":%.0f}\n", sizes[i],
               bench_b3(sizes[i], min_s));
    printf("{\"bench\":\"ed25519_approval_verify\",\"per_s\":%.0f}\n", bench_verify(min_s));
    return 0;
}
