/* test_b3.c - BLAKE3 wrapper against the official test vectors (all modes, extended output). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "crypto/b3.h"
#include "crypto/codec.h"
#include "helpers/testutil.h"

#define XOF_LEN 131

static json_t *load_vectors(void)
{
    size_t len = 0;
    char *text = tu_read_vector("blake3/test_vectors.json", &len);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    free(text);
    assert_non_null(root);
    return root;
}

static uint8_t *pattern_input(size_t n)
{
    uint8_t *in = malloc(n ? n : 1);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)(i % 251);
    return in;
}

static void expect_hex(const uint8_t *got, size_t n, const char *want_hex)
{
    char hex[2 * XOF_LEN + 1];
    hex_encode(got, n, hex);
    assert_int_equal(strlen(want_hex) >= 2 * n, 1);
    assert_memory_equal(hex, want_hex, 2 * n);
}

/* Every case: plain, keyed and derive_key modes, at 32 bytes and the full 131-byte XOF. */
static void test_b3_official_vectors_all_modes_and_xof(void **state)
{
    (void)state;
    json_t *root = load_vectors();
    const char *key = json_string_value(json_object_get(root, "key"));
    const char *ctx = json_string_value(json_object_get(root, "context_string"));
    assert_int_equal(strlen(key), B3_LEN);
    json_t *cases = json_object_get(root, "cases");
    size_t i, checked = 0;
    json_t *c;
    json_array_foreach (cases, i, c) {
        size_t n = (size_t)json_integer_value(json_object_get(c, "input_len"));
        uint8_t *in = pattern_input(n);
        uint8_t out[XOF_LEN];
        b3_hasher h;
        const char *modes[] = {"hash", "keyed_hash", "derive_key"};
        for (int m = 0; m < 3; m++) {
            if (m == 0)
                b3_init(&h);
            else if (m == 1)
                b3_init_keyed(&h, (const uint8_t *)key);
            else
                b3_init_derive_key(&h, ctx);
            b3_update(&h, in, n);
            const char *want = json_string_value(json_object_get(c, modes[m]));
            b3_final_xof(&h, out, XOF_LEN);
            expect_hex(out, XOF_LEN, want);
            b3_final(&h, out);
            expect_hex(out, B3_LEN, want);
            checked++;
        }
        /* the one-shot and tag helpers agree with the plain-mode vector */
        uint8_t d[B3_LEN];
        b3_hash(in, n, d);
        expect_hex(d, B3_LEN, json_string_value(json_object_get(c, "hash")));
        char tag[B3_TAG_LEN + 1];
        b3_tag_of(in, n, tag);
        assert_memory_equal(tag, "b3:", 3);
        assert_memory_equal(tag + 3, json_string_value(json_object_get(c, "hash")), 64);
        free(in);
    }
    print_message("# vectors: blake3 cases %zu, mode checks %zu\n", json_array_size(cases),
                  checked);
    assert_int_equal(json_array_size(cases), 35);
    json_decref(root);
}

/* Feeding the input in random splits gives the same digest as one update. */
static void test_b3_incremental_updates_match_one_shot(void **state)
{
    (void)state;
    uint64_t seed = 42;
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(tu_rand(&seed) % 70000);
        uint8_t *in = malloc(n + 1);
        tu_rand_bytes(&seed, in, n);
        uint8_t whole[B3_LEN], parts[B3_LEN];
        b3_hash(in, n, whole);
        b3_hasher h;
        b3_init(&h);
        size_t off = 0;
        while (off < n) {
            size_t k = (size_t)(tu_rand(&seed) % 5000) + 1;
            if (k > n - off)
                k = n - off;
            b3_update(&h, in + off, k);
            off += k;
        }
        b3_final(&h, parts);
        assert_memory_equal(whole, parts, B3_LEN);
        free(in);
    }
}

static void test_b3_tag_parse_accepts_only_lowercase_hex_tags(void **state)
{
    (void)state;
    uint8_t d[B3_LEN];
    assert_int_equal(b3_tag_parse(B3_ZERO_TAG, strlen(B3_ZERO_TAG), d), 0);
    for (int i = 0; i < B3_LEN; i++)
        assert_int_equal(d[i], 0);
    char tag[B3_TAG_LEN + 1];
    b3_tag_of("abc", 3, tag);
    assert_int_equal(b3_tag_parse(tag, B3_TAG_LEN, d), 0);
    char bad[B3_TAG_LEN + 1];
    memcpy(bad, tag, sizeof bad);
    bad[10] = 'A'; /* upper case is not the canonical tag */
    assert_int_equal(b3_tag_parse(bad, B3_TAG_LEN, NULL), -1);
    assert_int_equal(b3_tag_parse(tag, B3_TAG_LEN - 1, NULL), -1);
    assert_int_equal(b3_tag_parse("b4:00", 5, NULL), -1);
    memcpy(bad, tag, sizeof bad);
    bad[0] = 'B';
    assert_int_equal(b3_tag_parse(bad, B3_TAG_LEN, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b3_official_vectors_all_modes_and_xof),
        cmocka_unit_test(test_b3_incremental_updates_match_one_shot),
        cmocka_unit_test(test_b3_tag_parse_accepts_only_lowercase_hex_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
