/* test_ed25519.c - Ed25519 verify/sign against Wycheproof, RFC 8032 §7.1 and CCTV edge cases,
 * and the public-key check (ed25519_pk_valid). */
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
    json_array_foreach (groups, gi, g) {
        size_t pklen;
        uint8_t *pk = hex_field(json_object_get(g, "publicKey"), "pk", &pklen);
        json_array_foreach (json_object_get(g, "tests"), ti, t) {
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
    json_array_foreach (json_object_get(root, "tests"), i, t) {
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
    static const char *rejected_flags[] = {"low_order_A",       "low_order_R",
                                           "non_canonical_A",   "non_canonical_R",
                                           "low_order_residue", "reencoded_k"};
    json_t *root = load_json("ed25519/cctv/ed25519vectors.json");
    size_t i, accepted = 0;
    json_t *v;
    json_array_foreach (root, i, v) {
        size_t pklen, slen;
        uint8_t *pk = hex_field(v, "key", &pklen);
        uint8_t *sig = hex_field(v, "sig", &slen);
        const char *msg = json_string_value(json_object_get(v, "msg"));
        int ok = verify_any_length(sig, slen, (const uint8_t *)msg, strlen(msg), pk, pklen);
        if (ok) {
            accepted++;
            size_t fi;
            json_t *f;
            json_array_foreach (json_object_get(v, "flags"), fi, f) {
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

/* 32 bytes from hex; the test fails on anything else. */
static void pk_from_hex(const char *hex, uint8_t pk[ED25519_PK_LEN])
{
    size_t n = 0;
    uint8_t *b = tu_unhex(hex, &n);
    assert_non_null(b);
    assert_int_equal(n, ED25519_PK_LEN);
    memcpy(pk, b, ED25519_PK_LEN);
    free(b);
}

/* Keys that can never verify, or that would let one key count as two, are refused; each one is
 * a real point encoding with the property its name says (checked with independent Edwards
 * arithmetic when the test was written). */
static void test_ed25519_pk_valid_refuses_weak_keys(void **state)
{
    (void)state;
    static const struct {
        const char *what, *hex;
    } weak[] = {
        {"all zero (y = 0: a point of order 4)",
         "0000000000000000000000000000000000000000000000000000000000000000"},
        {"the identity (y = 1)",
         "0100000000000000000000000000000000000000000000000000000000000000"},
        {"order 2 (y = -1)", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
        {"order 8, from CCTV low_order_A",
         "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"},
        {"non-canonical: y = p",
         "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
        {"non-canonical: y = p + 1 (the identity again)",
         "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
        {"non-canonical: y = 2^255 - 1",
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
        {"off the curve (y = 2)",
         "0200000000000000000000000000000000000000000000000000000000000000"},
        {"off the curve (y = 7)",
         "0700000000000000000000000000000000000000000000000000000000000000"},
        {"on the curve, not small order, outside the prime-order subgroup (y = 3)",
         "0300000000000000000000000000000000000000000000000000000000000000"},
        {"a real key plus a point of order 8, from CCTV low_order_component_A",
         "10eb7c3acfb2bed3e0d6ab89bf5a3d6afddd1176ce4812e38d9fd485058fdb1f"},
    };
    for (size_t i = 0; i < sizeof weak / sizeof *weak; i++) {
        uint8_t pk[ED25519_PK_LEN];
        pk_from_hex(weak[i].hex, pk);
        if (ed25519_pk_valid(pk))
            fail_msg("accepted a weak key: %s", weak[i].what);
    }
    /* real keys pass: RFC 8032's, fresh ones, and the one ordinary CCTV key */
    json_t *root = load_json("ed25519/rfc8032_7.1.json");
    size_t i;
    json_t *t;
    json_array_foreach (json_object_get(root, "tests"), i, t) {
        uint8_t pk[ED25519_PK_LEN];
        pk_from_hex(json_string_value(json_object_get(t, "public_key")), pk);
        assert_true(ed25519_pk_valid(pk));
    }
    json_decref(root);
    for (int k = 0; k < 64; k++) {
        uint8_t pk[ED25519_PK_LEN], sk[ED25519_SK_LEN];
        ed25519_keypair(pk, sk);
        assert_true(ed25519_pk_valid(pk));
    }
    uint8_t pk[ED25519_PK_LEN];
    pk_from_hex("ef75b20e7540e3dff77404193652ba2bd13df99c1508eee1515e27ae25f28076", pk);
    assert_true(ed25519_pk_valid(pk));
}

/* Every public key in the CCTV set is refused exactly when a vector flags it low_order_A,
 * non_canonical_A or low_order_component_A (the last is what ed25519_verify still accepts). */
static void test_ed25519_pk_valid_matches_the_cctv_key_flags(void **state)
{
    (void)state;
    static const char *weak_flags[] = {"low_order_A", "non_canonical_A", "low_order_component_A"};
    json_t *root = load_json("ed25519/cctv/ed25519vectors.json");
    size_t i, refused = 0, accepted = 0, mixed_verifying = 0;
    json_t *v;
    json_array_foreach (root, i, v) {
        int weak = 0;
        size_t fi;
        json_t *f;
        json_array_foreach (json_object_get(v, "flags"), fi, f) {
            for (size_t w = 0; w < sizeof weak_flags / sizeof *weak_flags; w++)
                weak |= strcmp(json_string_value(f), weak_flags[w]) == 0;
        }
        size_t pklen, slen;
        uint8_t *pk = hex_field(v, "key", &pklen);
        assert_int_equal(pklen, ED25519_PK_LEN);
        if (ed25519_pk_valid(pk) != !weak)
            fail_msg("cctv #%zu: key %s", i, weak ? "accepted though flagged" : "refused");
        refused += (size_t)weak;
        accepted += (size_t)!weak;
        /* the keys ed25519_verify accepts but the registry refuses: why the check exists */
        uint8_t *sig = hex_field(v, "sig", &slen);
        const char *msg = json_string_value(json_object_get(v, "msg"));
        if (weak && verify_any_length(sig, slen, (const uint8_t *)msg, strlen(msg), pk, pklen))
            mixed_verifying++;
        free(sig);
        free(pk);
    }
    /* 21 of the 22 distinct keys are weak; 42 of their vectors verify under ed25519_verify */
    assert_int_equal(refused, 886);
    assert_int_equal(accepted, 28);
    assert_int_equal(mixed_verifying, 42);
    print_message("# vectors: cctv keys %zu refused, %zu accepted (%zu refused keys verify a "
                  "signature)\n",
                  refused, accepted, mixed_verifying);
    json_decref(root);
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
        cmocka_unit_test(test_ed25519_pk_valid_refuses_weak_keys),
        cmocka_unit_test(test_ed25519_pk_valid_matches_the_cctv_key_flags),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
