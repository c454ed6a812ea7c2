/* sig_algo.h - the one table of approval signature algorithms: name, sizes, verify, key check.
 *
 * The seam's contract. Signer keys and approval signatures are byte strings whose meaning is
 * given by their `algo` name, and this table is the only place that maps a name to what it
 * implies: the public key length, the signature length, the verification of a signature over a
 * message, the validity check of a public key, whether the algorithm is post-quantum (counts
 * toward k_pq), and what svcr needs to make keys and sign. Nothing outside src/crypto/ knows
 * a size of a particular algorithm: it asks its row. Adding an algorithm (SPEC §19: ML-DSA-44,
 * 65, 87) is adding a row, raising the SIG_*_MAX bounds if its sizes exceed them, and nothing
 * else; an algo without a row is refused where keys are parsed ("algo_unsupported").
 *
 * Rows are static and immutable: a `const sig_algo *` is valid for the life of the process,
 * may be shared between threads and compared by address (one row per name). Every function of
 * a row is pure or uses only its arguments and libsodium, and is safe to call concurrently. */
#ifndef SVCR_CRYPTO_SIG_ALGO_H
#define SVCR_CRYPTO_SIG_ALGO_H

#include <stddef.h>
#include <stdint.h>

/* Bounds over every row, for fixed buffers (asserted against each row in sig_algo.c). */
#define SIG_ALGO_NAME_MAX 16
#define SIG_PK_MAX 32   /* largest pk_len */
#define SIG_SIG_MAX 64  /* largest sig_len */
#define SIG_SEED_MAX 32 /* largest seed_len */
#define SIG_SK_MAX 64   /* largest sk_len */

typedef struct sig_algo {
    const char *name;    /* wire name in signer entries and approvals: "ed25519" */
    const char *display; /* for messages: "Ed25519" */
    const char *pk_rule; /* for messages: what pk_valid refuses, in a few words */
    size_t pk_len;       /* exact length of a public key, bytes */
    size_t sig_len;      /* exact length of a signature, bytes */
    int pq;              /* 1 if approvals with it count toward k_pq (SPEC §19) */
    /* 1 if sig (sig_len bytes) is a valid signature of msg (len bytes) under pk (pk_len
     * bytes), else 0. Never fails otherwise. */
    int (*verify)(const uint8_t *pk, const uint8_t *sig, const uint8_t *msg, size_t len);
    /* 1 if pk (pk_len bytes) is a key this registry accepts in a signer set, else 0 (the
     * signer set then answers "weak_key"). Pure. */
    int (*pk_valid)(const uint8_t *pk);
    /* What svcr needs to hold a key: a secret key of sk_len bytes is derived from a seed of
     * seed_len bytes (the key file's secret_key; a fresh key is a fresh random seed). */
    size_t seed_len;
    size_t sk_len;
    /* Deterministic key pair from a seed. Cannot fail. */
    void (*keypair_from_seed)(const uint8_t *seed, uint8_t *pk, uint8_t *sk);
    /* Writes the sig_len-byte signature of msg under sk. Cannot fail. */
    void (*sign)(uint8_t *sig, const uint8_t *msg, size_t len, const uint8_t *sk);
} sig_algo;

/* The row named `name` (exact, case-sensitive), or NULL for a name this build does not
 * implement (so "ml-dsa-65" and "falcon-512" are NULL today). Borrowed, static. */
const sig_algo *sig_algo_find(const char *name);
/* The i-th row for i < sig_algo_count(), else NULL: for walking the table. Borrowed, static. */
const sig_algo *sig_algo_at(size_t i);
/* Number of rows (at least 1). */
size_t sig_algo_count(void);
/* 1 if some row's signatures are exactly n bytes long, else 0. */
int sig_algo_sig_len_known(size_t n);

#endif
