/* test_observability.c - the clocks and the /metrics page of src/observability, without a
 * server: clock_* are monotonic or wall as named, scrape_render shows what it is given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "observability/clock.h"
#include "observability/scrape.h"

static void test_monotonic_clocks_never_go_back_and_agree(void **state)
{
    (void)state;
    int64_t ms = clock_mono_ms();
    uint64_t us = clock_mono_us();
    double s = clock_mono_s();
    for (int i = 0; i < 1000; i++) {
        int64_t ms2 = clock_mono_ms();
        uint64_t us2 = clock_mono_us();
        double s2 = clock_mono_s();
        assert_true(ms2 >= ms && us2 >= us && s2 >= s);
        ms = ms2, us = us2, s = s2;
    }
    assert_true(llabs((long long)(us / 1000) - (long long)ms) <= 1000);
    assert_true(llabs((long long)(s * 1000.0) - (long long)ms) <= 1000);
}

static void test_wall_clock_is_unix_time(void **state)
{
    (void)state;
    time_t t = time(NULL);
    int64_t w = clock_wall_ms();
    assert_true(llabs((long long)(w / 1000) - (long long)t) <= 2);
}

static void test_mono_deadline_is_in_the_future_and_normalized(void **state)
{
    (void)state;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t after[] = {-5, 0, 1, 999, 1000, 1999, 123456};
    for (size_t i = 0; i < sizeof after / sizeof *after; i++) {
        struct timespec d = clock_mono_deadline(after[i]);
        assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
        int64_t diff_ms =
            (int64_t)(d.tv_sec - now.tv_sec) * 1000 + (int64_t)(d.tv_nsec - now.tv_nsec) / 1000000;
        int64_t want = after[i] < 0 ? 0 : after[i];
        assert_true(diff_ms >= want && diff_ms <= want + 1000);
    }
}

static const char *const labels[] = {"/a", "unmatched"};

static void test_scrape_shows_counters_then_the_state_it_is_given(void **state)
{
    (void)state;
    metrics *m = metrics_new(labels, 2);
    assert_non_null(m);
    metrics_request(m, 0, MM_GET, 200, 0.001);
    const char *orgs[] = {"acme", "beta", "acme", "acme"};
    scrape_state st = {.head_version = 7,
                       .signer_orgs = orgs,
                       .nsigners = 4,
                       .updates_ok = 3,
                       .pending_bytes = 99,
                       .bus_dropped = 5,
                       .ops = 11};
    buf out = {0};
    scrape_render(m, &st, &out);
    assert_non_null(out.data);
    const char *req =
        strstr(out.data, "http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 1\n");
    const char *head = strstr(out.data, "\nregistry_head_version 7\n");
    const char *acme = strstr(out.data, "\nregistry_signers{org=\"acme\"} 3\n");
    const char *beta = strstr(out.data, "\nregistry_signers{org=\"beta\"} 1\n");
    assert_non_null(req);
    assert_non_null(head);
    assert_non_null(acme);
    assert_non_null(beta);
    assert_true(req < head && head < acme && acme < beta); /* first appearance order */
    /* one sample per org */
    assert_null(strstr(strchr(acme + 1, '\n'), "org=\"acme\""));
    assert_non_null(strstr(out.data, "\nregistry_updates_total{result=\"ok\"} 3\n"));
    assert_non_null(strstr(out.data, "\nregistry_pending_bytes 99\n"));
    assert_non_null(strstr(out.data, "\nbus_overflow_dropped_total 5\n"));
    assert_non_null(strstr(out.data, "\nregistry_pipeline_ops_total 11\n"));
    buf_free(&out);
    metrics_free(m);
}

static void test_scrape_without_signers_keeps_the_help_line(void **state)
{
    (void)state;
    metrics *m = metrics_new(labels, 2);
    scrape_state st = {0};
    buf out = {0};
    scrape_render(m, &st, &out);
    assert_non_null(strstr(out.data, "# TYPE registry_signers gauge\n"));
    assert_null(strstr(out.data, "registry_signers{"));
    buf_free(&out);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic_clocks_never_go_back_and_agree),
        cmocka_unit_test(test_wall_clock_is_unix_time),
        cmocka_unit_test(test_mono_deadline_is_in_the_future_and_normalized),
        cmocka_unit_test(test_scrape_shows_counters_then_the_state_it_is_given),
        cmocka_unit_test(test_scrape_without_signers_keeps_the_help_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
