/* test_approval.c - the SPEC §3 approval message (87 bytes), base64 codecs, sign and verify, and
 * the sig_algo table that maps an algo name to its sizes and functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/approval.h"
#include "crypto/codec.h"
#include "crypto/sig_algo.h"

static void test_approval_message_is_context_then_tag_87_bytes(void **state)
{
    (void)state;
    char tag[B3_TAG_LEN + 1];
    b3_tag_of("{}", 2, tag);
    uint8_t msg[APPROVAL_MSG_LEN];
    assert_int_equal(APPROVAL_MSG_LEN, 87);
    assert_int_equal(approval_message(tag, strlen(tag), msg), 0);
    assert_memory_equal(msg, "ron:svc-registry:v1\n", 20);
    assert_int_equal(msg[19], '\n');
    assert_memory_equal(msg + 20, tag, 67);
    assert_int_equal(approval_message("b3:xyz", 6, msg), -1);
}

static void test_approval_sign_then_verify_and_reject_tampering(void **state)
{
    (void)state;
    uint8_t pk[ED25519_PK_LEN], sk[ED25519_SK_LEN];
    ed25519_keypair(pk, sk);
    char tag[B3_TAG_LEN + 1], other[B3_TAG_LEN + 1];
    b3_tag_of("payload", 7, tag);
    b3_tag_of("payload2", 8, other);
    char sig[APPROVAL_SIG_B64_LEN + 1];
    assert_int_equal(approval_sign_ed25519(tag, sk, sig), 0);
    assert_int_equal(strlen(sig), 88);
    assert_int_equal(sig[87], '=');
    svcr_err err;
    assert_int_equal(approval_verify_ed25519(tag, sig, strlen(sig), pk, &err), SVCR_OK);
    assert_int_equal(approval_verify_ed25519(other, sig, strlen(sig), pk, &err),
                     SVCR_E_INVALID_SIG);
    uint8_t pk2[ED25519_PK_LEN], sk2[ED25519_SK_LEN];
    ed25519_keypair(pk2, sk2);
    assert_int_equal(approval_verify_ed25519(tag, sig, strlen(sig), pk2, &err), SVCR_E_INVALID_SIG);
    /* The signature is over the 87-byte message, not over the bare tag. */
    uint8_t raw[ED25519_SIG_LEN];
    ed25519_sign(raw, (const uint8_t *)tag, B3_TAG_LEN, sk);
    char bare[APPROVAL_SIG_B64_LEN + 1];
    b64_encode(raw, sizeof raw, bare, sizeof bare, B64_STD);
    assert_int_equal(approval_verify_ed25519(tag, bare, strlen(bare), pk, &err),
                     SVCR_E_INVALID_SIG);
}

static void test_approval_sig_encoding_errors_are_malformed(void **state)
{
    (void)state;
    uint8_t pk[ED25519_PK_LEN], sk[ED25519_SK_LEN];
    ed25519_keypair(pk, sk);
    char tag[B3_TAG_LEN + 1];
    b3_tag_of("x", 1, tag);
    char sig[APPROVAL_SIG_B64_LEN + 1];
    approval_sign_ed25519(tag, sk, sig);
    svcr_err err;
    /* unpadded */
    assert_int_equal(approval_verify_ed25519(tag, sig, 86, pk, &err), SVCR_E_MALFORMED);
    assert_string_equal(err.reason, "sig_encoding");
    /* URL-safe alphabet is not standard base64 */
    char url[APPROVAL_SIG_B64_LEN + 1];
    memcpy(url, sig, sizeof url);
    int changed = 0;
    for (int i = 0; i < 86; i++) {
        if (url[i] == '+' || url[i] == '/') {
            url[i] = url[i] == '+' ? '-' : '_';
            changed = 1;
        }
    }
    if (changed)
        assert_int_equal(approval_verify_ed25519(tag, url, 88, pk, &err), SVCR_E_MALFORMED);
    /* 63-byte signature */
    uint8_t short_sig[63] = {0};
    char enc[100];
    int n = b64_encode(short_sig, sizeof short_sig, enc, sizeof enc, B64_STD);
    assert_int_equal(approval_verify_ed25519(tag, enc, (size_t)n, pk, &err), SVCR_E_MALFORMED);
    /* embedded whitespace */
    char ws[APPROVAL_SIG_B64_LEN + 2];
    memcpy(ws, sig, 40);
    ws[40] = ' ';
    memcpy(ws + 41, sig + 40, 49);
    assert_int_equal(approval_verify_ed25519(tag, ws, 89, pk, &err), SVCR_E_MALFORMED);
}

static void test_base64_strict_decoding(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t n;
    assert_int_equal(b64_decode("Zm9v", 4, out, sizeof out, &n, B64_STD), 0);
    assert_int_equal(n, 3);
    assert_int_equal(b64_decode("Zm8=", 4, out, sizeof out, &n, B64_STD), 0);
    assert_int_equal(n, 2);
    assert_int_equal(b64_decode("Zm8", 3, out, sizeof out, &n, B64_STD), -1);  /* no pad */
    assert_int_equal(b64_decode("Zm9=", 4, out, sizeof out, &n, B64_STD), -1); /* bits */
    assert_int_equal(b64_decode("Zm8", 3, out, sizeof out, &n, B64_URL_NOPAD), 0);
    assert_int_equal(b64_decode("Zm8=", 4, out, sizeof out, &n, B64_URL_NOPAD), -1);
    assert_int_equal(b64_decode("-_8", 3, out, sizeof out, &n, B64_URL_NOPAD), 0);
    assert_int_equal(b64_decode("+/8=", 4, out, sizeof out, &n, B64_URL_NOPAD), -1);
    char enc[16];
    const uint8_t raw[] = {0xfb, 0xff};
    assert_int_equal(b64_encode(raw, 2, enc, sizeof enc, B64_STD), 4);
    assert_string_equal(enc, "+/8=");
    assert_int_equal(b64_encode(raw, 2, enc, sizeof enc, B64_URL_NOPAD), 3);
    assert_string_equal(enc, "-_8");
    assert_int_equal(b64_encode(raw, 2, enc, 4, B64_STD), -1);
}

static void test_hex_roundtrip_and_rejects(void **state)
{
    (void)state;
    const uint8_t raw[] = {0x00, 0xab, 0xff, 0x10};
    char hex[9];
    hex_encode(raw, 4, hex);
    assert_string_equal(hex, "00abff10");
    uint8_t back[4];
    size_t n;
    assert_int_equal(hex_decode("00ABff10", 8, back, 4, &n), 0);
    assert_memory_equal(back, raw, 4);
    assert_int_equal(hex_decode("00a", 3, back, 4, &n), -1);
    assert_int_equal(hex_decode("0g", 2, back, 4, &n), -1);
    assert_int_equal(hex_decode("0011223344", 10, back, 4, &n), -1);
}

/* The table has Ed25519 with its sizes and libsodium's functions; names without a row (the
 * reserved PQ names, other spellings) find nothing; every row fits the fixed bounds. */
static void test_sig_algo_table_maps_names_to_sizes_and_functions(void **state)
{
    (void)state;
    const sig_algo *ed = sig_algo_find("ed25519");
    assert_non_null(ed);
    assert_string_equal(ed->name, "ed25519");
    assert_int_equal(ed->pk_len, ED25519_PK_LEN);
    assert_int_equal(ed->sig_len, ED25519_SIG_LEN);
    assert_int_equal(ed->seed_len, ED25519_SEED_LEN);
    assert_int_equal(ed->sk_len, ED25519_SK_LEN);
    assert_int_equal(ed->pq, 0);
    assert_null(sig_algo_find("ml-dsa-65"));
    assert_null(sig_algo_find("ml-dsa-44"));
    assert_null(sig_algo_find("falcon-512"));
    assert_null(sig_algo_find("Ed25519"));
    assert_null(sig_algo_find(""));
    assert_true(sig_algo_count() >= 1);
    assert_ptr_equal(sig_algo_at(0), ed);
    assert_null(sig_algo_at(sig_algo_count()));
    for (size_t i = 0; i < sig_algo_count(); i++) {
        const sig_algo *a = sig_algo_at(i);
        assert_ptr_equal(sig_algo_find(a->name), a);
        assert_true(strlen(a->name) <= SIG_ALGO_NAME_MAX);
        assert_true(a->pk_len <= SIG_PK_MAX && a->sig_len <= SIG_SIG_MAX);
        assert_true(a->seed_len <= SIG_SEED_MAX && a->sk_len <= SIG_SK_MAX);
        assert_true(sig_algo_sig_len_known(a->sig_len));
        /* a key from a seed signs, and the row verifies it and accepts the key */
        uint8_t seed[SIG_SEED_MAX], pk[SIG_PK_MAX], sk[SIG_SK_MAX], sig[SIG_SIG_MAX];
        memset(seed, 0x5a, sizeof seed);
        a->keypair_from_seed(seed, pk, sk);
        assert_int_equal(a->pk_valid(pk), 1);
        a->sign(sig, (const uint8_t *)"m", 1, sk);
        assert_int_equal(a->verify(pk, sig, (const uint8_t *)"m", 1), 1);
        assert_int_equal(a->verify(pk, sig, (const uint8_t *)"n", 1), 0);
    }
    /* the Ed25519 row is ed25519.c: the same key checks (identity and zero refused) */
    uint8_t identity[ED25519_PK_LEN] = {1}, zero[ED25519_PK_LEN] = {0};
    assert_int_equal(ed->pk_valid(identity), ed25519_pk_valid(identity));
    assert_int_equal(ed->pk_valid(zero), 0);
    assert_int_equal(sig_algo_sig_len_known(ED25519_SIG_LEN + 1), 0);
}

/* A sig is decoded against its algo's row: exactly sig_len bytes, and the bytes write back as
 * the text they came from. An algo without a row takes any row's length (so it reaches the
 * algo check), nothing else. */
static void test_sig_decode_uses_the_row_and_round_trips(void **state)
{
    (void)state;
    const sig_algo *ed = sig_algo_find("ed25519");
    uint8_t raw[SIG_SIG_MAX + 1], sig[SIG_SIG_MAX];
    char text[APPROVAL_SIG_B64_MAX + 8], back[APPROVAL_SIG_B64_MAX + 1];
    uint64_t x = 88172645463325252u;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof raw; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            raw[i] = (uint8_t)x;
        }
        int n = b64_encode(raw, ed->sig_len, text, sizeof text, B64_STD);
        size_t len = 0;
        svcr_err e;
        assert_int_equal(approval_sig_decode(ed, text, (size_t)n, sig, &len, &e), SVCR_OK);
        assert_int_equal(len, ed->sig_len);
        assert_memory_equal(sig, raw, len);
        assert_int_equal(approval_sig_encode(sig, len, back, sizeof back), n);
        assert_string_equal(back, text);
        assert_int_equal(approval_sig_decode(NULL, text, (size_t)n, sig, &len, &e), SVCR_OK);
        /* one byte more or less is another length: malformed for the row and without one */
        for (size_t m = ed->sig_len - 1; m <= ed->sig_len + 1; m += 2) {
            n = b64_encode(raw, m, text, sizeof text, B64_STD);
            assert_int_equal(approval_sig_decode(ed, text, (size_t)n, sig, &len, &e),
                             SVCR_E_MALFORMED);
            assert_string_equal(e.reason, "sig_encoding");
            assert_int_equal(approval_sig_decode(NULL, text, (size_t)n, sig, &len, &e),
                             SVCR_E_MALFORMED);
        }
    }
    char small[8];
    assert_int_equal(approval_sig_encode(sig, ed->sig_len, small, sizeof small), -1);
    /* a signature of the wrong length never reaches the row's verify */
    uint8_t pk[SIG_PK_MAX] = {0};
    char tag[B3_TAG_LEN + 1];
    b3_tag_of("{}", 2, tag);
    assert_int_equal(approval_verify(ed, tag, sig, ed->sig_len - 1, pk, NULL), SVCR_E_MALFORMED);
}

static int setup(void **state)
{
    (void)state;
    return crypto_init();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_approval_message_is_context_then_tag_87_bytes),
        cmocka_unit_test(test_approval_sign_then_verify_and_reject_tampering),
        cmocka_unit_test(test_approval_sig_encoding_errors_are_malformed),
        cmocka_unit_test(test_base64_strict_decoding),
        cmocka_unit_test(test_hex_roundtrip_and_rejects),
        cmocka_unit_test(test_sig_algo_table_maps_names_to_sizes_and_functions),
        cmocka_unit_test(test_sig_decode_uses_the_row_and_round_trips),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
