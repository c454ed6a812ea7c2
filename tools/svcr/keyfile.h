/* keyfile.h - svcr's signer key files, and the approvals and entries made from them. */
#ifndef SVCR_TOOLS_KEYFILE_H
#define SVCR_TOOLS_KEYFILE_H

#include <stdint.h>

#include <jansson.h>

#include "crypto/sig_algo.h"
#include "governance/signer_set.h"

/* A loaded key of algorithm `algo` (its sig_algo row): pk is algo->pk_len bytes, sk
 * algo->sk_len bytes. sk is secret: wipe it with keyfile_wipe. */
typedef struct cli_key {
    char signer_id[SIGNER_ID_MAX + 1];
    char org[SIGNER_ID_MAX + 1]; /* "" when the file has none */
    const sig_algo *algo;
    uint8_t pk[SIG_PK_MAX];
    uint8_t sk[SIG_SK_MAX];
} cli_key;

/* Loads a key file written by `svcr keygen`: JSON {"signer_id","algo":"ed25519",
 * "secret_key":"<base64 seed of the algo's seed_len>","public_key":"<base64>","org"?}. Refuses
 * a file that grants any access to group or other, unknown members, an algo without a row in
 * the sig_algo table, a bad encoding, and a public_key that is not the seed's. Returns 0, or -1
 * after printing "svcr <verb>: <path>: ..." (never a secret). The file's bytes are wiped after
 * parsing. */
int keyfile_load(const char *verb, const char *path, cli_key *out);
/* Wipes the secret key. */
void keyfile_wipe(cli_key *k);

/* The signer entry {"signer_id","algo","public_key","org"?} of key pk (algo->pk_len bytes),
 * org omitted when NULL or "". New reference, NULL on OOM. */
json_t *keyfile_signer_entry(const char *signer_id, const sig_algo *algo, const uint8_t *pk,
                             const char *org);
/* The SPEC §2.3 approval body of payload_b3 signed by k now:
 * {"signer_id","algo","sig","signed_at"}. NULL for a malformed tag or OOM. */
json_t *keyfile_approval(const cli_key *k, const char *payload_b3);

#endif
