/* test_rfc3339.c - unit tests for RFC 3339 UTC timestamp parsing and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/testutil.h"
#include "interop/rfc3339.h"

static int parse(const char *s, int64_t *t, int32_t *ns)
{
    return rfc3339_parse(s, strlen(s), t, ns);
}

/* Asserts that s parses to the given seconds and nanoseconds. */
static void expect_time(const char *s, int64_t want_sec, int32_t want_ns)
{
    int64_t t = 12345;
    int32_t ns = 777;
    if (parse(s, &t, &ns) != 0)
        fail_msg("rejected valid timestamp %s", s);
    if (t != want_sec || ns != want_ns)
        fail_msg("%s: got %lld.%09d, want %lld.%09d", s, (long long)t, ns, (long long)want_sec,
                 want_ns);
}

static void expect_reject(const char *s)
{
    int64_t t = 42;
    int32_t ns = 43;
    if (parse(s, &t, &ns) == 0)
        fail_msg("accepted invalid timestamp \"%s\"", s);
    assert_int_equal(t, 42); /* outputs untouched on failure */
    assert_int_equal(ns, 43);
}

static void test_rfc3339_parses_known_values(void **state)
{
    (void)state;
    /* Values checked with `date -u -d <ts> +%s`. */
    expect_time("1970-01-01T00:00:00Z", 0, 0);
    expect_time("2026-11-25T12:00:00Z", 1795608000, 0);
    expect_time("0000-01-01T00:00:00Z", -62167219200LL, 0);
    expect_time("9999-12-31T23:59:59Z", 253402300799LL, 0);
    expect_time("2000-02-29T00:00:00Z", 951782400, 0);
    expect_time("1900-03-01T00:00:00Z", -2203891200LL, 0);
    expect_time("1969-12-31T23:59:59Z", -1, 0);
    expect_time("2024-02-29T23:59:59Z", 1709251199, 0);
    expect_time("0004-02-29T12:34:56Z", -62035845904LL, 0);
    expect_time("1600-12-31T00:00:00Z", -11644560000LL, 0);
    assert_int_equal(RFC3339_MIN_UNIX, -62167219200LL);
    assert_int_equal(RFC3339_MAX_UNIX, 253402300799LL);
}

static void test_rfc3339_accepts_lowercase_t_z_and_utc_offset(void **state)
{
    (void)state;
    expect_time("2026-11-25t12:00:00z", 1795608000, 0);
    expect_time("2026-11-25T12:00:00+00:00", 1795608000, 0);
    expect_time("2026-11-25t12:00:00.5+00:00", 1795608000, 500000000);
}

static void test_rfc3339_parses_fractions_of_any_length_truncating_past_nanoseconds(void **state)
{
    (void)state;
    expect_time("2026-11-25T12:00:00.1Z", 1795608000, 100000000);
    expect_time("2026-11-25T12:00:00.123Z", 1795608000, 123000000);
    expect_time("2026-11-25T12:00:00.000001Z", 1795608000, 1000);
    expect_time("2026-11-25T12:00:00.999999999Z", 1795608000, 999999999);
    expect_time("1969-12-31T23:59:59.5Z", -1, 500000000);
    /* RFC 3339 sets no limit on the fraction: past nanoseconds the digits are truncated */
    expect_time("2026-11-25T12:00:00.1234567891Z", 1795608000, 123456789);
    expect_time("2026-11-25T12:00:00.999999999999999999999999+00:00", 1795608000, 999999999);
    expect_reject("2026-11-25T12:00:00.Z");
    expect_reject("2026-11-25T12:00:00,5Z");
    expect_reject("2026-11-25T12:00:00.5.5Z");
}

static void test_rfc3339_accepts_null_outputs(void **state)
{
    (void)state;
    assert_int_equal(parse("2026-11-25T12:00:00Z", NULL, NULL), 0);
}

static void test_rfc3339_rejects_missing_or_foreign_offsets(void **state)
{
    (void)state;
    expect_reject("2026-11-25T12:00:00");
    expect_reject("2026-11-25T12:00:00+01:00");
    expect_reject("2026-11-25T12:00:00-05:00");
    expect_reject("2026-11-25T12:00:00-00:00"); /* "unknown local offset": not UTC-only */
    expect_reject("2026-11-25T12:00:00+0000");
    expect_reject("2026-11-25T12:00:00+00");
    expect_reject("2026-11-25T12:00:00+00:00Z");
    expect_reject("2026-11-25T12:00:00ZZ");
    expect_reject("2026-11-25T12:00:00Z ");
    expect_reject("2026-11-25T12:00:00 UTC");
    expect_reject("2026-11-25T12:00:00GMT");
}

static void test_rfc3339_rejects_malformed_shapes(void **state)
{
    (void)state;
    expect_reject("");
    expect_reject("2026-11-25");
    expect_reject("2026-11-25 12:00:00Z"); /* space separator */
    expect_reject("2026-11-25X12:00:00Z");
    expect_reject("26-11-25T12:00:00Z");
    expect_reject("02026-11-25T12:00:00Z");
    expect_reject("+2026-11-25T12:00:00Z");
    expect_reject("2026/11/25T12:00:00Z");
    expect_reject("2026-1-25T12:00:00Z");
    expect_reject("2026-11-25T12:0:00Z");
    expect_reject("2026-11-25T12:00Z");
    expect_reject("2026-11-25T12:00:0Z");
    expect_reject(" 2026-11-25T12:00:00Z");
    expect_reject("2026-11-25T12:00:00.5 Z");
    expect_reject("2026-1a-25T12:00:00Z");
    expect_reject("2026-11-25T1-:00:00Z");
    expect_reject("-001-11-25T12:00:00Z");
}

static void test_rfc3339_rejects_bad_month_day_hour_minute_second(void **state)
{
    (void)state;
    expect_reject("2026-00-10T12:00:00Z");
    expect_reject("2026-13-10T12:00:00Z");
    expect_reject("2026-11-00T12:00:00Z");
    expect_reject("2026-11-31T12:00:00Z");
    expect_reject("2026-04-31T12:00:00Z");
    expect_reject("2026-01-32T12:00:00Z");
    expect_reject("2026-11-25T24:00:00Z");
    expect_reject("2026-11-25T12:60:00Z");
    expect_reject("2026-11-25T12:00:61Z");
    expect_reject("2026-11-25T12:00:99Z");
    expect_time("2026-12-31T23:59:59Z", 1798761599, 0);
    expect_time("2026-01-31T00:00:00Z", 1769817600, 0);
}

static void test_rfc3339_feb_29_only_in_leap_years(void **state)
{
    (void)state;
    expect_time("2000-02-29T00:00:00Z", 951782400, 0); /* divisible by 400: leap */
    expect_reject("1900-02-29T00:00:00Z");             /* divisible by 100 only: common */
    expect_reject("2100-02-29T00:00:00Z");
    expect_time("2024-02-29T23:59:59Z", 1709251199, 0);
    expect_reject("2023-02-29T00:00:00Z");
    expect_reject("2024-02-30T00:00:00Z");
    expect_time("0000-02-29T00:00:00Z", -62167219200LL + 59 * 86400, 0); /* year 0 is leap */
    expect_reject("1900-02-29T12:00:00Z");
    expect_time("1900-02-28T00:00:00Z", -2203891200LL - 86400, 0);
}

static void test_rfc3339_leap_second_counts_as_next_second(void **state)
{
    (void)state;
    expect_time("2016-12-31T23:59:60Z", 1483228800, 0);
    expect_time("2015-06-30T23:59:60.25Z", 1435708800, 250000000);
    expect_reject("2016-12-30T23:59:60Z"); /* not the last day of a month */
    expect_reject("2016-12-31T23:58:60Z");
    expect_reject("2016-12-31T12:59:60Z");
}

/* Naive day walk over the whole 0000..9999 range: every date parses to the previous one plus
 * 86400 and formats back to the same text. */
static void test_rfc3339_every_day_of_0000_to_9999_parses_and_formats(void **state)
{
    (void)state;
    static const int mlen[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t want = RFC3339_MIN_UNIX + 3723; /* 01:02:03 on 0000-01-01 */
    char text[64], out[32];
    long days = 0;
    for (int y = 0; y <= 9999; y++) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for (int m = 1; m <= 12; m++) {
            int n = mlen[m - 1] + (m == 2 && leap);
            for (int d = 1; d <= n; d++) {
                snprintf(text, sizeof text, "%04d-%02d-%02dT01:02:03Z", y, m, d);
                int64_t t;
                if (rfc3339_parse(text, 20, &t, NULL) != 0 || t != want)
                    fail_msg("%s: parse gave %lld, want %lld", text, (long long)t, (long long)want);
                if (rfc3339_format(want, out) != 20 || strcmp(out, text) != 0)
                    fail_msg("format(%lld) = %s, want %s", (long long)want, out, text);
                want += 86400;
                days++;
            }
        }
    }
    assert_int_equal(days, 3652425);
}

static void test_rfc3339_round_trips_random_times(void **state)
{
    (void)state;
    uint64_t rng = 0x5eed3339;
    uint64_t span = (uint64_t)(RFC3339_MAX_UNIX - RFC3339_MIN_UNIX) + 1;
    char out[32];
    for (int i = 0; i < 20000; i++) {
        int64_t t = RFC3339_MIN_UNIX + (int64_t)(tu_rand(&rng) % span);
        int64_t back;
        int32_t ns;
        assert_int_equal(rfc3339_format(t, out), 20);
        assert_int_equal(rfc3339_parse(out, 20, &back, &ns), 0);
        if (back != t || ns != 0)
            fail_msg("round trip of %lld via %s gave %lld", (long long)t, out, (long long)back);

        int64_t ms = t * 1000 + (int64_t)(tu_rand(&rng) % 1000);
        assert_int_equal(rfc3339_format_ms(ms, out), 24);
        assert_int_equal(rfc3339_parse(out, 24, &back, &ns), 0);
        if (back * 1000 + ns / 1000000 != ms || ns % 1000000 != 0)
            fail_msg("ms round trip of %lld via %s failed", (long long)ms, out);
    }
}

static void test_rfc3339_format_known_values_and_range(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(rfc3339_format(1795608000, out), 20);
    assert_string_equal(out, "2026-11-25T12:00:00Z");
    assert_int_equal(rfc3339_format(0, out), 20);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    assert_int_equal(rfc3339_format(-1, out), 20);
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    assert_int_equal(rfc3339_format(RFC3339_MIN_UNIX, out), 20);
    assert_string_equal(out, "0000-01-01T00:00:00Z");
    assert_int_equal(rfc3339_format(RFC3339_MAX_UNIX, out), 20);
    assert_string_equal(out, "9999-12-31T23:59:59Z");
    assert_int_equal(rfc3339_format(RFC3339_MAX_UNIX + 1, out), -1);
    assert_string_equal(out, "");
    assert_int_equal(rfc3339_format(RFC3339_MIN_UNIX - 1, out), -1);
    assert_int_equal(rfc3339_format(INT64_MIN, out), -1);
    assert_int_equal(rfc3339_format(INT64_MAX, out), -1);
}

static void test_rfc3339_format_ms_pads_and_floors(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(rfc3339_format_ms(1795608000007LL, out), 24);
    assert_string_equal(out, "2026-11-25T12:00:00.007Z");
    assert_int_equal(rfc3339_format_ms(-1, out), 24);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    assert_int_equal(rfc3339_format_ms(-1000, out), 24);
    assert_string_equal(out, "1969-12-31T23:59:59.000Z");
    assert_int_equal(rfc3339_format_ms(RFC3339_MAX_UNIX * 1000 + 999, out), 24);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    assert_int_equal(rfc3339_format_ms(RFC3339_MAX_UNIX * 1000 + 1000, out), -1);
    assert_int_equal(rfc3339_format_ms(RFC3339_MIN_UNIX * 1000, out), 24);
    assert_string_equal(out, "0000-01-01T00:00:00.000Z");
    assert_int_equal(rfc3339_format_ms(RFC3339_MIN_UNIX * 1000 - 1, out), -1);
    assert_int_equal(rfc3339_format_ms(INT64_MIN, out), -1);
    assert_int_equal(rfc3339_format_ms(INT64_MAX, out), -1);
}

/* Every proper prefix of valid timestamps is rejected, and the parser reads nothing past len:
 * each prefix sits at the very end of its own heap block (ASan catches an over-read). */
static void test_rfc3339_never_reads_past_len(void **state)
{
    (void)state;
    static const char *const good[] = {"2026-11-25T12:00:00Z", "2026-11-25T12:00:00.123456789Z",
                                       "2026-11-25T12:00:00+00:00", "2016-12-31T23:59:60.5z"};
    for (size_t g = 0; g < sizeof good / sizeof good[0]; g++) {
        size_t n = strlen(good[g]);
        for (size_t k = 0; k <= n; k++) {
            char *p = malloc(k ? k : 1);
            assert_non_null(p);
            memcpy(p, good[g], k);
            int rc = rfc3339_parse(p, k, NULL, NULL);
            free(p);
            if (k < n && rc == 0)
                fail_msg("accepted prefix %zu of %s", k, good[g]);
            if (k == n)
                assert_int_equal(rc, 0);
        }
    }
    assert_int_equal(rfc3339_parse(NULL, 0, NULL, NULL), -1);
    /* Embedded NUL inside the length is just a bad byte. */
    assert_int_equal(rfc3339_parse("2026-11-25T12:00:00Z\0", 21, NULL, NULL), -1);
}

/* Random bytes, and random mutations of a valid timestamp, never crash the parser; whatever it
 * accepts formats back to a valid timestamp. */
static void test_rfc3339_survives_random_mutations(void **state)
{
    (void)state;
    uint64_t rng = 77;
    const char *base = "2024-02-29T23:59:59.123Z";
    char buf[40], out[32];
    for (int i = 0; i < 50000; i++) {
        size_t n = strlen(base);
        memcpy(buf, base, n);
        int flips = 1 + (int)(tu_rand(&rng) % 3);
        for (int f = 0; f < flips; f++)
            buf[tu_rand(&rng) % n] = (char)(tu_rand(&rng) & 0xff);
        int64_t t;
        if (rfc3339_parse(buf, n, &t, NULL) == 0) {
            assert_true(t >= RFC3339_MIN_UNIX && t <= RFC3339_MAX_UNIX + 1);
            if (t <= RFC3339_MAX_UNIX)
                assert_int_equal(rfc3339_format(t, out), 20);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_parses_known_values),
        cmocka_unit_test(test_rfc3339_accepts_lowercase_t_z_and_utc_offset),
        cmocka_unit_test(test_rfc3339_parses_fractions_of_any_length_truncating_past_nanoseconds),
        cmocka_unit_test(test_rfc3339_accepts_null_outputs),
        cmocka_unit_test(test_rfc3339_rejects_missing_or_foreign_offsets),
        cmocka_unit_test(test_rfc3339_rejects_malformed_shapes),
        cmocka_unit_test(test_rfc3339_rejects_bad_month_day_hour_minute_second),
        cmocka_unit_test(test_rfc3339_feb_29_only_in_leap_years),
        cmocka_unit_test(test_rfc3339_leap_second_counts_as_next_second),
        cmocka_unit_test(test_rfc3339_every_day_of_0000_to_9999_parses_and_formats),
        cmocka_unit_test(test_rfc3339_round_trips_random_times),
        cmocka_unit_test(test_rfc3339_format_known_values_and_range),
        cmocka_unit_test(test_rfc3339_format_ms_pads_and_floors),
        cmocka_unit_test(test_rfc3339_never_reads_past_len),
        cmocka_unit_test(test_rfc3339_survives_random_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
