/* test_ulid.c - unit tests for ULID generation and the ULID/UUID syntax checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "helpers/testutil.h"
#include "interop/ulid.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int valid(const char *s)
{
    return ulid_valid(s, strlen(s));
}

static int uuid(const char *s)
{
    return uuid_valid(s, strlen(s));
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_ulid_new_is_26_uppercase_crockford_chars(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        char id[27];
        memset(id, '!', sizeof id);
        ulid_new(id);
        assert_int_equal(strlen(id), ULID_LEN);
        for (int k = 0; k < ULID_LEN; k++)
            if (!strchr(alphabet, id[k]))
                fail_msg("char %c of %s is not upper-case Crockford", id[k], id);
        assert_true(id[0] <= '7');
        assert_true(valid(id));
    }
}

static void test_ulid_new_encodes_the_current_time(void **state)
{
    (void)state;
    uint64_t before = now_ms();
    char id[27];
    ulid_new(id);
    uint64_t after = now_ms(), t = 0;
    assert_int_equal(ulid_time(id, ULID_LEN, &t), 0);
    assert_true(t >= before && t <= after);
}

static void test_ulid_encode_known_vectors(void **state)
{
    (void)state;
    uint8_t zero[10] = {0}, ones[10];
    memset(ones, 0xff, sizeof ones);
    char id[27];
    ulid_encode(0, zero, id);
    assert_string_equal(id, "00000000000000000000000000");
    ulid_encode(ULID_MAX_MS, ones, id);
    assert_string_equal(id, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    ulid_encode(1, zero, id);
    assert_string_equal(id, "00000000010000000000000000");
    /* 1469918176385 ms = 0x0156_3DF3_6481: the time part of the ULID spec's example. */
    ulid_encode(1469918176385ULL, zero, id);
    assert_memory_equal(id, "01ARYZ6S41", 10);
    /* The last random byte is the low 8 bits: 0x21 -> ...0011 0000 1 = "11" in the tail. */
    uint8_t r[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0x21};
    ulid_encode(0, r, id);
    assert_string_equal(id, "00000000000000000000000011");
    /* Bits above 48 of the time are ignored. */
    ulid_encode((UINT64_C(1) << 48) | 5, zero, id);
    assert_memory_equal(id, "0000000005", 10);
}

static void test_ulid_time_decodes_what_encode_wrote(void **state)
{
    (void)state;
    uint64_t rng = 0x011d;
    for (int i = 0; i < 10000; i++) {
        uint64_t ms = tu_rand(&rng) & ULID_MAX_MS, back = 0;
        uint8_t rnd[10];
        tu_rand_bytes(&rng, rnd, sizeof rnd);
        char id[27];
        ulid_encode(ms, rnd, id);
        assert_true(valid(id));
        assert_int_equal(ulid_time(id, ULID_LEN, &back), 0);
        assert_int_equal(back, ms);
        /* Time order is text order (the first 10 chars are fixed-width big-endian). */
        char id2[27];
        ulid_encode(ms == ULID_MAX_MS ? ms : ms + 1, rnd, id2);
        assert_true(memcmp(id, id2, 10) <= 0);
    }
    uint64_t untouched = 99;
    assert_int_equal(ulid_time("not a ulid", 10, &untouched), -1);
    assert_int_equal(untouched, 99);
}

static int cmp_ids(const void *a, const void *b)
{
    return memcmp(a, b, 27);
}

static void test_ulid_new_10000_ids_are_distinct(void **state)
{
    (void)state;
    enum { N = 10000 };
    char(*ids)[27] = malloc(sizeof(char[27]) * N);
    assert_non_null(ids);
    for (int i = 0; i < N; i++)
        ulid_new(ids[i]);
    qsort(ids, N, sizeof ids[0], cmp_ids);
    for (int i = 1; i < N; i++)
        if (memcmp(ids[i - 1], ids[i], 27) == 0)
            fail_msg("duplicate ULID %s", ids[i]);
    free(ids);
}

static void test_ulid_valid_accepts_lowercase_and_mixed_case(void **state)
{
    (void)state;
    assert_true(valid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
    assert_true(valid("01arz3ndektsv4rrffq69g5fav"));
    assert_true(valid("01ArZ3nDeKtSv4RrFfQ69g5FaV"));
    assert_true(valid("7zzzzzzzzzzzzzzzzzzzzzzzzz"));
    assert_true(valid("00000000000000000000000000"));
}

static void test_ulid_valid_rejects_bad_chars_and_length(void **state)
{
    (void)state;
    assert_false(valid(""));
    assert_false(ulid_valid(NULL, 0));
    assert_false(valid("01ARZ3NDEKTSV4RRFFQ69G5FA"));   /* 25 */
    assert_false(valid("01ARZ3NDEKTSV4RRFFQ69G5FAVX")); /* 27 */
    assert_false(valid("81ARZ3NDEKTSV4RRFFQ69G5FAV"));  /* > 128 bits */
    assert_false(valid("Z1ARZ3NDEKTSV4RRFFQ69G5FAV"));
    /* The decoding aliases I, L, O, U (either case) are refused. */
    const char *aliases = "ILOUilou";
    for (const char *a = aliases; *a; a++) {
        char id[27] = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        id[5] = *a;
        assert_false(valid(id));
    }
    const char *others = "-_ .!*{}~\x7f\x80\xff";
    for (const char *a = others; *a; a++) {
        char id[27] = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        id[12] = *a;
        assert_false(valid(id));
    }
    /* An embedded NUL within len. */
    assert_false(ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FA\0", 26));
    /* Every single byte value in every position: only the alphabet passes. */
    for (int pos = 0; pos < ULID_LEN; pos++) {
        for (int c = 0; c < 256; c++) {
            char id[27] = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
            id[pos] = (char)c;
            int want = c != 0 && strchr(alphabet, c >= 'a' && c <= 'z' ? c - 32 : c) != NULL;
            if (pos == 0)
                want = c >= '0' && c <= '7';
            if (ulid_valid(id, ULID_LEN) != want)
                fail_msg("byte 0x%02x at %d: got %d", c, pos, !want);
        }
    }
}

static void test_uuid_valid_accepts_8_4_4_4_12_hex_either_case(void **state)
{
    (void)state;
    assert_true(uuid("123e4567-e89b-12d3-a456-426614174000"));
    assert_true(uuid("123E4567-E89B-12D3-A456-426614174000"));
    assert_true(uuid("00000000-0000-0000-0000-000000000000"));
    assert_true(uuid("ffffffff-FFFF-ffff-FFFF-ffffffffffff"));
}

static void test_uuid_valid_rejects_other_forms(void **state)
{
    (void)state;
    assert_false(uuid(""));
    assert_false(uuid_valid(NULL, 0));
    assert_false(uuid("123e4567e89b12d3a456426614174000"));
    assert_false(uuid("{123e4567-e89b-12d3-a456-426614174000}"));
    assert_false(uuid("urn:uuid:123e4567-e89b-12d3-a456-426614174000"));
    assert_false(uuid("123e4567-e89b-12d3-a456-42661417400"));
    assert_false(uuid("123e4567-e89b-12d3-a456-4266141740000"));
    assert_false(uuid("123e4567-e89b-12d3-a4564-26614174000"));
    assert_false(uuid("123e4567-e89b-12d3-a456_426614174000"));
    assert_false(uuid("123g4567-e89b-12d3-a456-426614174000"));
    assert_false(uuid(" 23e4567-e89b-12d3-a456-426614174000"));
    assert_false(uuid_valid("123e4567-e89b-12d3-a456-42661417400\0", 36));
    assert_false(uuid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ulid_new_is_26_uppercase_crockford_chars),
        cmocka_unit_test(test_ulid_new_encodes_the_current_time),
        cmocka_unit_test(test_ulid_encode_known_vectors),
        cmocka_unit_test(test_ulid_time_decodes_what_encode_wrote),
        cmocka_unit_test(test_ulid_new_10000_ids_are_distinct),
        cmocka_unit_test(test_ulid_valid_accepts_lowercase_and_mixed_case),
        cmocka_unit_test(test_ulid_valid_rejects_bad_chars_and_length),
        cmocka_unit_test(test_uuid_valid_accepts_8_4_4_4_12_hex_either_case),
        cmocka_unit_test(test_uuid_valid_rejects_other_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
