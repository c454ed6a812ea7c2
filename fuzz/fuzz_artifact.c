/* fuzz_artifact.c - libFuzzer target: what verify-store and startup read back from a possibly
 * corrupted store. Arbitrary bytes go through artifact parsing, one chain verification step
 * against a fixed 3-of-5 signer set (the keys bench/gen_store uses, so the seed artifact in
 * fuzz/corpus/artifact verifies and mutations explore the checks), and audit record
 * verification. Nothing may crash or leak; a verdict is all that may come out. Every approval
 * that parses writes back as JSON that parses to the same approval (signature bytes and
 * length, algo as sent): approvals keep their bytes whatever the algo. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b3.h"
#include "crypto/codec.h"
#include "crypto/ed25519.h"
#include "governance/artifact.h"
#include "governance/audit.h"
#include "governance/chain_verify.h"
#include "interop/buf.h"
#include "interop/jcs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static signer_set *roots;

/* The signer set bench/gen_store writes: signer i has the seed of 32 bytes all equal to i+1. */
static void make_roots(void)
{
    crypto_init();
    buf b = {0};
    buf_puts(&b,
             "{\"kind\":\"signer_set\",\"id\":\"governance\",\"quorum\":{\"m\":3},\"signers\":[");
    for (int i = 0; i < 5; i++) {
        uint8_t seed[ED25519_SEED_LEN], pk[ED25519_PK_LEN], sk[ED25519_SK_LEN];
        memset(seed, i + 1, sizeof seed);
        ed25519_keypair_from_seed(seed, pk, sk);
        char pk64[64];
        b64_encode(pk, sizeof pk, pk64, sizeof pk64, B64_STD);
        buf_printf(&b,
                   "%s{\"signer_id\":\"org:bench%d#key1\",\"algo\":\"ed25519\","
                   "\"public_key\":\"%s\"}",
                   i ? "," : "", i, pk64);
    }
    buf_puts(&b, "]}");
    json_t *j = jcs_parse(b.data, b.len, 0, NULL);
    CHECK(j && signer_set_from_json(j, "roots", &roots, NULL) == SVCR_OK);
    json_decref(j);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!roots)
        make_roots();
    artifact *a = NULL;
    svcr_err e;
    if (artifact_parse(data, size, &a, &e) == SVCR_OK) {
        CHECK(a->ds && a->ds->canonical && strlen(a->payload_b3) <= B3_TAG_LEN);
        for (size_t i = 0; i < a->n_approvals; i++) {
            json_t *o = gov_approval_to_json(&a->approvals[i]);
            gov_approval back;
            CHECK(o && gov_approval_decode(o, "", &back, NULL) == SVCR_OK);
            CHECK(back.sig_len == a->approvals[i].sig_len &&
                  memcmp(back.sig, a->approvals[i].sig, back.sig_len) == 0 &&
                  strcmp(back.algo, a->approvals[i].algo) == 0);
            json_decref(o);
        }
        artifact_free(a);
    }
    chain_verifier cv;
    chain_verifier_init_genesis(&cv, roots);
    uint8_t h[B3_LEN];
    b3_hash(data, size, h);
    svcr_code c = chain_verify_next(&cv, data, size, h, 1, &e);
    CHECK(c == SVCR_OK ? cv.next_version == 2 : cv.next_version == 1);
    chain_verifier_free(&cv);
    audit_tip tip;
    audit_tip_init(&tip);
    c = audit_record_verify(&tip, data, size, &e);
    CHECK(c == SVCR_OK ? tip.seq == 1 : tip.seq == 0);
    return 0;
}
