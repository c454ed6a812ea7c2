/* ed25519.c - Ed25519 through libsodium (see ed25519.h). */
#include "crypto/ed25519.h"

#include <pthread.h>

#include <sodium.h>

#include "crypto/b3.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status = -1;

static void init_sodium(void)
{
    init_status = sodium_init() < 0 ? -1 : 0;
    /* BLAKE3 detects CPU features lazily on first use; do it here, on one thread, so threads
     * hashing concurrently later never race on that initialisation. */
    uint8_t warm[B3_LEN];
    b3_hash("", 0, warm);
}

int crypto_init(void)
{
    pthread_once(&init_once, init_sodium);
    return init_status;
}

int ed25519_verify(const uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg, size_t len,
                   const uint8_t pk[ED25519_PK_LEN])
{
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

int ed25519_pk_valid(const uint8_t pk[ED25519_PK_LEN])
{
    return crypto_core_ed25519_is_valid_point(pk) == 1;
}

void ed25519_keypair(uint8_t pk[ED25519_PK_LEN], uint8_t sk[ED25519_SK_LEN])
{
    crypto_sign_keypair(pk, sk);
}

void ed25519_keypair_from_seed(const uint8_t seed[ED25519_SEED_LEN], uint8_t pk[ED25519_PK_LEN],
                               uint8_t sk[ED25519_SK_LEN])
{
    crypto_sign_seed_keypair(pk, sk, seed);
}

void ed25519_sign(uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg, size_t len,
                  const uint8_t sk[ED25519_SK_LEN])
{
    crypto_sign_detached(sig, NULL, msg, len, sk);
}

void crypto_random(void *p, size_t n)
{
    randombytes_buf(p, n);
}

void crypto_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

int crypto_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}
