/* ed25519.h - Ed25519 (RFC 8032, pure) keys, signing and verification via libsodium. */
#ifndef SVCR_CRYPTO_ED25519_H
#define SVCR_CRYPTO_ED25519_H

#include <stddef.h>
#include <stdint.h>

#define ED25519_PK_LEN 32
#define ED25519_SEED_LEN 32
#define ED25519_SK_LEN 64 /* libsodium's seed || public key */
#define ED25519_SIG_LEN 64

/* Initializes libsodium once per process; safe to call from any thread, any number of times.
 * Returns 0, or -1 if libsodium cannot initialize (the process must not go on). */
int crypto_init(void);

/* Returns 1 if `sig` is a valid signature of msg under pk, else 0. Rejects non-canonical
 * encodings and small-order points as libsodium 1.0.18 does (pinned by the CCTV vectors). */
int ed25519_verify(const uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg, size_t len,
                   const uint8_t pk[ED25519_PK_LEN]);
/* Returns 1 if pk is a public key this registry accepts, else 0: the canonical encoding
 * (y < p) of a point on the curve, in the prime-order subgroup, not of small order (so never
 * all zeros, never the identity 0x01 00..00). This is libsodium's
 * crypto_core_ed25519_is_valid_point(). It is stricter than ed25519_verify, which still takes
 * a key with a small-order component (A + T): such a key is refused because signatures from
 * the holder of A can be ground to verify under A + T as well, so one key would count twice.
 * Pure function; never fails otherwise. */
int ed25519_pk_valid(const uint8_t pk[ED25519_PK_LEN]);
/* Fresh random key pair. */
void ed25519_keypair(uint8_t pk[ED25519_PK_LEN], uint8_t sk[ED25519_SK_LEN]);
/* Deterministic key pair from a 32-byte RFC 8032 private key (seed). */
void ed25519_keypair_from_seed(const uint8_t seed[ED25519_SEED_LEN], uint8_t pk[ED25519_PK_LEN],
                               uint8_t sk[ED25519_SK_LEN]);
/* Detached signature of msg. */
void ed25519_sign(uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg, size_t len,
                  const uint8_t sk[ED25519_SK_LEN]);
/* Fills p with n bytes from the system's secure random source (libsodium's randombytes; call
 * crypto_init first). Cannot fail. */
void crypto_random(void *p, size_t n);
/* Wipes secret material (not optimised away). */
void crypto_wipe(void *p, size_t n);
/* Constant-time equality of two n-byte buffers: 1 if equal. */
int crypto_equal(const void *a, const void *b, size_t n);

#endif
