/* sig_algo.c - the table of approval signature algorithms (see sig_algo.h). */
#include "crypto/sig_algo.h"

#include <string.h>

#include "crypto/ed25519.h"

_Static_assert(ED25519_PK_LEN <= SIG_PK_MAX, "SIG_PK_MAX below a row's pk_len");
_Static_assert(ED25519_SIG_LEN <= SIG_SIG_MAX, "SIG_SIG_MAX below a row's sig_len");
_Static_assert(ED25519_SEED_LEN <= SIG_SEED_MAX, "SIG_SEED_MAX below a row's seed_len");
_Static_assert(ED25519_SK_LEN <= SIG_SK_MAX, "SIG_SK_MAX below a row's sk_len");

/* The Ed25519 row's functions: src/crypto/ed25519.c in the table's argument order. */
static int ed_verify(const uint8_t *pk, const uint8_t *sig, const uint8_t *msg, size_t len)
{
    return ed25519_verify(sig, msg, len, pk);
}

static int ed_pk_valid(const uint8_t *pk)
{
    return ed25519_pk_valid(pk);
}

static void ed_keypair_from_seed(const uint8_t *seed, uint8_t *pk, uint8_t *sk)
{
    ed25519_keypair_from_seed(seed, pk, sk);
}

static void ed_sign(uint8_t *sig, const uint8_t *msg, size_t len, const uint8_t *sk)
{
    ed25519_sign(sig, msg, len, sk);
}

/* SPEC §19 adds ML-DSA-44/65/87 here (pq = 1). */
static const sig_algo rows[] = {
    {
        .name = "ed25519",
        .display = "Ed25519",
        .pk_rule = "zero, small order, non-canonical, off the curve or outside the prime-order "
                   "subgroup",
        .pk_len = ED25519_PK_LEN,
        .sig_len = ED25519_SIG_LEN,
        .pq = 0,
        .verify = ed_verify,
        .pk_valid = ed_pk_valid,
        .seed_len = ED25519_SEED_LEN,
        .sk_len = ED25519_SK_LEN,
        .keypair_from_seed = ed_keypair_from_seed,
        .sign = ed_sign,
    },
};

#define NROWS (sizeof rows / sizeof rows[0])

const sig_algo *sig_algo_find(const char *name)
{
    for (size_t i = 0; i < NROWS; i++)
        if (strcmp(rows[i].name, name) == 0)
            return &rows[i];
    return NULL;
}

const sig_algo *sig_algo_at(size_t i)
{
    return i < NROWS ? &rows[i] : NULL;
}

size_t sig_algo_count(void)
{
    return NROWS;
}

int sig_algo_sig_len_known(size_t n)
{
    for (size_t i = 0; i < NROWS; i++)
        if (rows[i].sig_len == n)
            return 1;
    return 0;
}
