/* test_ed25519.c - Ed25519 verify/sign against Wycheproof, RFC 8032 §7.1 and CCTV edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "crypto/ed25519.h"
#include "helpers/testutil.h"

static json_t *load_json(const char *rel)
{
    size_t len = 0;
    char *text = tu_read_vector(rel, &len);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    free(text);
    assert_non_null(root);
    return root;
}

static uint8_t *hex_field(json_t *obj, const char *name, size_t *n)
{
    uint8_t *p = tu_unhex(json_string_value(json_object_get(obj, name)), n);
    assert_non_null(p);
    return p;
}

/* A signature is only a candidate when it is exactly 64 bytes; anything else is invalid. */
static int verify_any_length(const uint8_t *sig, size_t siglen, const uint8_t *msg, size_t mlen,
                             const uint8_t *pk, size_t pklen)
{
    if (siglen != ED25519_SIG_LEN || pklen != ED25519_PK_LEN)
        return 0;
    return ed25519_verify(sig, msg, mlen, pk);
}

static void test_ed25519_wycheproof_every_vector_gives_expected_result(void **state)
{
    (void)state;
    json_t *root = load_json("ed25519/wycheproof/ed25519_test.json");
    json_t *groups = json_object_get(root, "testGroups");
    size_t gi, ti, total = 0, valid = 0;
    json_t *g, *t;
    json_array_foreach(groups, gi, g)
    {
        size_t pklen;
        uint8_t *pk = hex_field(json_object_get(g, "publicKey"), "pk", &pklen);
        json_array_foreach(json_object_get(g, "tests"), ti, t)
        {
            size_t mlen, slen;
            uint8_t *msg = hex_field(t, "msg", &mlen);
            uint8_t *sig = hex_field(t, "sig", &slen);
            int want = strcmp(json_string_value(json_object_get(t, "result")), "valid") == 0;
            int got = verify_any_length(sig, slen, msg, mlen, pk, pklen);
            if (got != want)
                fail_msg("wycheproof tcId %lld: expected %s",
                         (long long)json_integer_value(json_object_get(t, "tcId")),
                         want ? "valid" : "invalid");
            total++;
            valid += (size_t)want;
            free(msg);
            free(sig);
        }
        free(pk);
    }
    assert_int_equal(total, 151);
    assert_int_equal(valid, 88);
    print_message("# vectors: wycheproof ed25519 %zu (%zu valid, %zu invalid)\n", total, valid,
                  total - valid);
    json_decref(root);
}

static void test_ed25519_rfc8032_signing_reproduces_signatures(void **state)
{
    (void)state;
    json_t *root = load_json("ed25519/rfc8032_7.1.json");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(root, "tests"), i, t)
    {
        size_t sklen, pklen, mlen, slen;
        uint8_t *seed = hex_field(t, "secret_key", &sklen);
        uint8_t *want_pk = hex_field(t, "public_key", &pklen);
        uint8_t *msg = hex_field(t, "message", &mlen);
        uint8_t *want_sig = hex_field(t, "signature", &slen);
        assert_int_equal(sklen, ED25519_SEED_LEN);
        uint8_t pk[ED25519_PK_LEN], sk[ED25519_SK_LEN], sig[ED25519_SIG_LEN];
        ed25519_keypair_from_seed(seed, pk, sk);
        assert_memory_equal(pk, want_pk, ED25519_PK_LEN);
        ed25519_sign(sig, msg, mlen, sk);
        assert_memory_equal(sig, want_sig, ED25519_SIG_LEN);
        assert_true(ed25519_verify(sig, msg, mlen, pk));
        sig[0] ^= 1;
        assert_false(ed25519_verify(sig, msg, mlen, pk));
        crypto_wipe(sk, sizeof sk);
        free(seed);
        free(want_pk);
        free(msg);
        free(want_sig);
    }
    assert_int_equal(json_array_size(json_object_get(root, "tests")), 5);
    print_message("# vectors: rfc8032 7.1 signing %zu\n",
                  json_array_size(json_object_get(root, "tests")));
    json_decref(root);
}

/* CCTV edge cases have no expected result: they pin the library's policy. libsodium 1.0.18
 * accepts exactly 43 of 914 and none flagged with a policy it rejects (SOURCES.md §3d). */
static void test_ed25519_cctv_edge_cases_pin_strict_policy(void **state)
{
    (void)state;
    static const char *rejected_flags[] = {"low_order_A",      "low_order_R",
                                           "non_canonical_A",  "non_canonical_R",
                                           "low_order_residue", "reencoded_k"};
    json_t *root = load_json("ed25519/cctv/ed25519vectors.json");
    size_t i, accepted = 0;
    json_t *v;
    json_array_foreach(root, i, v)
    {
        size_t pklen, slen;
        uint8_t *pk = hex_field(v, "key", &pklen);
        uint8_t *sig = hex_field(v, "sig", &slen);
        const char *msg = json_string_value(json_object_get(v, "msg"));
        int ok = verify_any_length(sig, slen, (const uint8_t *)msg, strlen(msg), pk, pklen);
        if (ok) {
            accepted++;
            size_t fi;
            json_t *f;
            json_array_foreach(json_object_get(v, "flags"), fi, f)
            {
                for (size_t r = 0; r < sizeof rejected_flags / sizeof *rejected_flags; r++)
                    if (strcmp(json_string_value(f), rejected_flags[r]) == 0)
                        fail_msg("cctv #%zu accepted despite flag %s", i, rejected_flags[r]);
            }
        }
        free(pk);
        free(sig);
    }
    assert_int_equal(json_array_size(root), 914);
    assert_int_equal(accepted, 43);
    print_message("# vectors: cctv ed25519 %zu (accepted %zu)\n", json_array_size(root), accepted);
    json_decref(root);
}

static void test_ed25519_fresh_keys_sign_and_verify(void **state)
{
    (void)state;
    uint8_t pk[ED25519_PK_LEN], sk[ED25519_SK_LEN], sig[ED25519_SIG_LEN];
    ed25519_keypair(pk, sk);
    const uint8_t msg[] = "registry";
    ed25519_sign(sig, msg, sizeof msg, sk);
    assert_true(ed25519_verify(sig, msg, sizeof msg, pk));
    assert_false(ed25519_verify(sig, msg, sizeof msg - 1, pk));
    assert_true(crypto_equal(pk, pk, sizeof pk));
    uint8_t other[ED25519_PK_LEN];
    memcpy(other, pk, sizeof pk);
    other[31] ^= 0x80;
    assert_false(crypto_equal(pk, other, sizeof pk));
}

static int setup(void **state)
{
    (void)state;
    return crypto_init();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_wycheproof_every_vector_gives_expected_result),
        cmocka_unit_test(test_ed25519_rfc8032_signing_reproduces_signatures),
        cmocka_unit_test(test_ed25519_cctv_edge_cases_pin_strict_policy),
        cmocka_unit_test(test_ed25519_fresh_keys_sign_and_verify),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
