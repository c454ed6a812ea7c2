/* keyfile.h - svcr's Ed25519 signer key files, and the approvals and entries made from them. */
#ifndef SVCR_TOOLS_KEYFILE_H
#define SVCR_TOOLS_KEYFILE_H

#include <stdint.h>

#include <jansson.h>

#include "crypto/ed25519.h"
#include "governance/signer_set.h"

/* A loaded key. sk is secret: wipe it with keyfile_wipe. */
typedef struct cli_key {
    char signer_id[SIGNER_ID_MAX + 1];
    char org[SIGNER_ID_MAX + 1]; /* "" when the file has none */
    uint8_t pk[ED25519_PK_LEN];
    uint8_t sk[ED25519_SK_LEN];
} cli_key;

/* Loads a key file written by `svcr keygen`: JSON {"signer_id","algo":"ed25519",
 * "secret_key":"<base64 32-byte seed>","public_key":"<base64>","org"?}. Refuses a file that
 * grants any access to group or other, unknown members, another algo, a bad encoding, and a
 * public_key that is not the seed's. Returns 0, or -1 after printing "svcr <verb>: <path>: ..."
 * (never a secret). The file's bytes are wiped after parsing. */
int keyfile_load(const char *verb, const char *path, cli_key *out);
/* Wipes the secret key. */
void keyfile_wipe(cli_key *k);

/* The signer entry {"signer_id","algo":"ed25519","public_key","org"?} (org omitted when NULL
 * or ""). New reference, NULL on OOM. */
json_t *keyfile_signer_entry(const char *signer_id, const uint8_t pk[ED25519_PK_LEN],
                             const char *org);
/* The SPEC §2.3 approval body of payload_b3 signed by k now:
 * {"signer_id","algo":"ed25519","sig","signed_at"}. NULL for a malformed tag or OOM. */
json_t *keyfile_approval(const cli_key *k, const char *payload_b3);

#endif
