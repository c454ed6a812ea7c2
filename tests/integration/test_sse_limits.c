/* test_sse_limits.c - subscribers cannot take every connection slot: the sse.max_clients and
 * per-address caps answer 503 with Retry-After while reads and probes keep answering, a closed
 * subscriber frees its slot within a second or two, and a stream asked for during shutdown gets
 * 503 instead of 200 and an instant close. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/harness.h"
#include "helpers/raw.h"

/* Reads a new stream's response headers; returns the status (0 if none came within 3 s). */
static int stream_status(stream *st, buf *head)
{
    double end = now_s() + 3;
    while (!raw_body(&st->in) && now_s() < end) {
        char tmp[4096];
        struct pollfd p = {.fd = st->fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(st->fd, tmp, sizeof tmp);
        if (n <= 0)
            break;
        buf_append(&st->in, tmp, (size_t)n);
    }
    int status = raw_status(&st->in);
    if (status)
        buf_puts(head, st->in.data);
    return status;
}

static void expect_refused(stream *st, const char *reason)
{
    buf head = {0};
    assert_int_equal(stream_status(st, &head), 503);
    assert_non_null(strstr(head.data, "Retry-After:"));
    assert_non_null(strstr(head.data, "X-Corr-ID:"));
    buf_free(&head);
    /* the envelope follows the headers, then the server closes */
    raw_read_all(st->fd, &st->in, 2);
    const char *body = st->in.data ? strstr(st->in.data, "{\"error\"") : NULL;
    assert_non_null(body);
    char want[64];
    snprintf(want, sizeof want, "\"reason\":\"%s\"", reason);
    assert_non_null(strstr(body, "\"code\":\"NotReady\""));
    assert_non_null(strstr(body, want));
}

static void test_subscriber_cap_keeps_slots_for_reads_and_frees_closed_ones(void **state)
{
    (void)state;
    srv s;
    const char *extra[] = {"--max-conns", "40", NULL}; /* streams: three quarters, 30 */
    srv_start_fresh(&s, extra);
    enum { CAP = 30 };
    stream st[CAP];
    for (int i = 0; i < CAP; i++) {
        stream_open(&s, &st[i], NULL, 0);
        buf head = {0};
        assert_int_equal(stream_status(&st[i], &head), 200);
        buf_free(&head);
    }
    stream extra_one;
    stream_open(&s, &extra_one, NULL, 0);
    expect_refused(&extra_one, "sse_clients");
    stream_close(&extra_one);
    /* reads and probes still have their slots */
    http_resp r;
    assert_int_equal(http_get(&s, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_int_equal(http_get(&s, "/registry/head", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    /* ten subscribers leave: their slots come back within a couple of seconds, not at the
     * next heartbeat (15 s here) */
    for (int i = 0; i < 10; i++)
        stream_close(&st[i]);
    double t0 = now_s();
    while (metric(&s, "sse_clients") > CAP - 10 && now_s() - t0 < 5)
        sleep_ms(50);
    double freed = now_s() - t0;
    print_message("# 10 closed subscribers noticed after %.2f s\n", freed);
    assert_int_equal(metric(&s, "sse_clients"), CAP - 10);
    assert_true(freed < 2.5);
    stream again;
    stream_open(&s, &again, NULL, 0);
    buf head = {0};
    assert_int_equal(stream_status(&again, &head), 200);
    buf_free(&head);
    stream_close(&again);
    for (int i = 10; i < CAP; i++)
        stream_close(&st[i]);
    assert_int_equal(srv_finish(&s), 0);
}

static void test_per_address_cap(void **state)
{
    (void)state;
    srv s;
    const char *extra[] = {"--sse-max-clients-per-ip", "2", NULL};
    srv_start_fresh(&s, extra);
    stream a, b, c;
    buf head = {0};
    stream_open(&s, &a, NULL, 0);
    assert_int_equal(stream_status(&a, &head), 200);
    stream_open(&s, &b, NULL, 0);
    assert_int_equal(stream_status(&b, &head), 200);
    buf_free(&head);
    stream_open(&s, &c, NULL, 0);
    expect_refused(&c, "sse_clients_per_ip");
    stream_close(&a);
    stream_close(&b);
    stream_close(&c);
    assert_int_equal(srv_finish(&s), 0);
}

static void test_stream_during_shutdown_is_refused_with_503(void **state)
{
    (void)state;
    srv s;
    srv_start_fresh(&s, NULL);
    stream open_one; /* keeps the drain waiting for its grace period */
    buf head = {0};
    stream_open(&s, &open_one, NULL, 0);
    assert_int_equal(stream_status(&open_one, &head), 200);
    buf_free(&head);
    assert_int_equal(kill(s.pid, SIGTERM), 0);
    sleep_ms(50);
    stream late;
    stream_open(&s, &late, NULL, 0);
    expect_refused(&late, "shutdown");
    stream_close(&late);
    stream_close(&open_one);
    assert_int_equal(srv_finish(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscriber_cap_keeps_slots_for_reads_and_frees_closed_ones),
        cmocka_unit_test(test_per_address_cap),
        cmocka_unit_test(test_stream_during_shutdown_is_refused_with_503),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
