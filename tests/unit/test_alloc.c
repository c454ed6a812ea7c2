/* test_alloc.c - unit tests for the allocation hook (interop/alloc.c): arming, skipping,
 * thread-local failure counts, SVCR_FAULT_INJECT's oom spec, and what the hook's users do with
 * a NULL: a buf is left unchanged, and jcs_parse answers out of memory, never Malformed and
 * never a tree jansson built around a byte it could not store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "interop/alloc.h"
#include "interop/buf.h"
#include "interop/error.h"
#include "interop/jcs.h"

static int disarm(void **state)
{
    (void)state;
    svcr_alloc_fail_arm(0);
    return 0;
}

static void test_armed_count_fails_exactly_that_many_allocations(void **state)
{
    (void)state;
    unsigned long f0 = svcr_alloc_thread_failures();
    svcr_alloc_fail_arm(3);
    assert_int_equal(svcr_alloc_fail_remaining(), 3);
    for (int i = 0; i < 3; i++)
        assert_null(svcr_malloc(16));
    assert_int_equal(svcr_alloc_thread_failures() - f0, 3);
    void *p = svcr_malloc(16);
    assert_non_null(p);
    assert_int_equal(svcr_alloc_fail_remaining(), 0);
    svcr_free(p);
}

static void test_arm_after_lets_skip_allocations_succeed_first(void **state)
{
    (void)state;
    svcr_alloc_fail_arm_after(2, 1);
    void *a = svcr_malloc(8), *b = svcr_realloc(NULL, 8);
    assert_non_null(a);
    assert_non_null(b);
    void *c = svcr_realloc(a, 64); /* the third fails, and leaves `a` as it was */
    assert_null(c);
    void *d = svcr_malloc(8);
    assert_non_null(d);
    svcr_free(a);
    svcr_free(b);
    svcr_free(d);
}

static void test_negative_count_fails_until_rearmed(void **state)
{
    (void)state;
    svcr_alloc_fail_arm(-1);
    assert_int_equal(svcr_alloc_fail_remaining(), -1);
    for (int i = 0; i < 100; i++)
        assert_null(svcr_malloc(1));
    svcr_alloc_fail_arm(0);
    void *p = svcr_malloc(1);
    assert_non_null(p);
    free(p); /* svcr_malloc's memory is plain heap memory */
}

static void test_oom_spec_parses_count_and_skip_and_leaves_other_kinds(void **state)
{
    (void)state;
    int count = 42, skip = 42;
    assert_int_equal(svcr_alloc_fault_parse("oom", &count, &skip), 0);
    assert_int_equal(count, 1);
    assert_int_equal(skip, 0);
    assert_int_equal(svcr_alloc_fault_parse("oom:7", &count, &skip), 0);
    assert_int_equal(count, 7);
    assert_int_equal(svcr_alloc_fault_parse("oom:-1", &count, &skip), 0);
    assert_int_equal(count, -1);
    assert_int_equal(svcr_alloc_fault_parse("oom:2@150", &count, &skip), 0);
    assert_int_equal(count, 2);
    assert_int_equal(skip, 150);
    count = skip = 42;
    static const char *const others[] = {"write", "enospc:3", "oomx", "oo", "", "read:1"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        assert_int_equal(svcr_alloc_fault_parse(others[i], &count, &skip), -1);
    assert_int_equal(svcr_alloc_fault_parse(NULL, &count, &skip), -1);
    assert_int_equal(count, 42);
    assert_int_equal(skip, 42);
}

static void test_a_buf_append_that_cannot_grow_leaves_the_buf_unchanged(void **state)
{
    (void)state;
    buf b = {0};
    assert_int_equal(buf_puts(&b, "kept"), 0);
    char big[200];
    memset(big, 'x', sizeof big);
    svcr_alloc_fail_arm(1);
    assert_int_equal(buf_append(&b, big, sizeof big), -1);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "kept");
    assert_int_equal(buf_append(&b, big, sizeof big), 0); /* spent */
    assert_int_equal(b.len, 4 + sizeof big);
    buf_free(&b);
    buf e = {0};
    svcr_alloc_fail_arm(1);
    assert_null(buf_steal(&e, NULL)); /* an empty buffer's "" needs an allocation too */
    assert_null(e.data);
}

/* One failed allocation at every position of a parse (jansson allocating through the hook):
 * each parse is either whole (the same canonical bytes as without the fault) or refused as
 * SVCR_E_INTERNAL "out_of_memory"; never Malformed, never a different tree. */
static void test_jcs_parse_under_every_single_allocation_failure(void **state)
{
    (void)state;
    svcr_alloc_install();
    static const char doc[] =
        "{\"version\":1,\"prev_hash\":\"b3:0000000000000000000000000000000000000000000000000000"
        "000000000000\",\"items\":[{\"kind\":\"service\",\"id\":\"svc:a\",\"endpoint\":"
        "\"https://a.example\",\"meta\":{\"tier\":1,\"owner\":\"team-a\",\"tags\":[\"x\",\"y\"]}}"
        ",{\"kind\":\"region\",\"id\":\"eu\"}],\"note\":\"a string long enough to make the lexer "
        "grow its buffer more than once, past its first sixteen bytes and more\"}";
    svcr_err err;
    buf want = {0};
    assert_int_equal(jcs_canonicalize(doc, strlen(doc), 0, &want, &err), 0);
    int whole = 0, refused = 0;
    for (int skip = 0; skip < 400; skip++) {
        svcr_alloc_fail_arm_after(skip, 1);
        svcr_err_clear(&err);
        json_t *v = jcs_parse(doc, strlen(doc), 0, &err);
        int spent = svcr_alloc_fail_remaining() == 0;
        svcr_alloc_fail_arm(0);
        if (!v) {
            assert_int_equal(err.code, SVCR_E_INTERNAL);
            assert_string_equal(err.reason, "out_of_memory");
            refused++;
            continue;
        }
        buf got = {0};
        assert_int_equal(jcs_write(&got, v, &err), 0);
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.data, want.data, want.len);
        buf_free(&got);
        json_decref(v);
        whole++;
        if (!spent) /* the fault fell past the parse: every later position does too */
            break;
    }
    assert_true(refused > 10); /* the walk went through the parse's allocations */
    assert_true(whole >= 1);
    buf_free(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_armed_count_fails_exactly_that_many_allocations, disarm),
        cmocka_unit_test_teardown(test_arm_after_lets_skip_allocations_succeed_first, disarm),
        cmocka_unit_test_teardown(test_negative_count_fails_until_rearmed, disarm),
        cmocka_unit_test_teardown(test_oom_spec_parses_count_and_skip_and_leaves_other_kinds,
                                  disarm),
        cmocka_unit_test_teardown(test_a_buf_append_that_cannot_grow_leaves_the_buf_unchanged,
                                  disarm),
        cmocka_unit_test_teardown(test_jcs_parse_under_every_single_allocation_failure, disarm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
