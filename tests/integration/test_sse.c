/* test_sse.c - GET /registry/stream through the real binary: first event is HEAD, live
 * delivery, resume with Last-Event-ID and ?from= in order, reconcile for laggards, heartbeats,
 * and commits that keep their pace while many clients stall. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/harness.h"
#include "helpers/raw.h"

/* Reads events (and comments) until one containing `type` (NULL: any) arrives or timeout_s
 * passes in all; the events before it are consumed. Returns its text (static buffer) or NULL. */
static const char *next_event(stream *st, const char *type, double timeout_s)
{
    static char ev[4096];
    double end = now_s() + timeout_s, at;
    /* a block already buffered is taken even once the time is up */
    while (stream_next(st, ev, sizeof ev, end - now_s(), &at) == 0)
        if (!type || strstr(ev, type))
            return ev;
    return NULL;
}

static uint64_t event_id(const char *ev)
{
    const char *p = strstr(ev, "id: ");
    return p ? strtoull(p + 4, NULL, 10) : 0;
}

static int setup(void **state)
{
    srv *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    const char *extra[] = {"--sse-heartbeat", "300ms", "--bus-channel-bound", "16", NULL};
    srv_start_fresh(s, extra);
    *state = s;
    return 0;
}

static void test_live_delivery_and_head_first(void **state)
{
    srv *s = *state;
    srv_cycle(s, "sse", NULL, NULL);
    stream st;
    stream_open(s, &st, NULL, 0);
    const char *ev = next_event(&st, "registry.update", 5);
    assert_non_null(ev);
    assert_int_equal(event_id(ev), 1); /* the current head first */
    uint64_t v = srv_cycle(s, "sse", NULL, NULL);
    ev = next_event(&st, "registry.update", 5);
    assert_non_null(ev);
    assert_int_equal(event_id(ev), v);
    assert_non_null(strstr(ev, "\"corr_id\":\""));
    assert_non_null(strstr(ev, "\"payload_b3\":\"b3:"));
    assert_non_null(next_event(&st, ": hb", 2)); /* heartbeat comment while idle */
    stream_close(&st);
}

static void test_resume_with_last_event_id_replays_in_order(void **state)
{
    srv *s = *state;
    for (int i = 0; i < 6; i++)
        srv_cycle(s, "sse", NULL, NULL);
    stream st;
    stream_open(s, &st, "2", 0);
    for (uint64_t want = 3; want <= 6; want++) {
        const char *ev = next_event(&st, "registry.update", 5);
        assert_non_null(ev);
        assert_int_equal(event_id(ev), want);
    }
    uint64_t v = srv_cycle(s, "sse", NULL, NULL);
    const char *ev = next_event(&st, "registry.update", 5);
    assert_non_null(ev);
    assert_int_equal(event_id(ev), v);
    stream_close(&st);
    stream_open_path(s, &st, "/registry/stream?from=5", NULL, 0);
    ev = next_event(&st, "registry.update", 5);
    assert_non_null(ev);
    assert_int_equal(event_id(ev), 6);
    stream_close(&st);
    /* resuming at HEAD gets only what comes after it: no repeat of HEAD */
    char at[32];
    snprintf(at, sizeof at, "%llu", (unsigned long long)v);
    stream_open(s, &st, at, 0);
    uint64_t next = srv_cycle(s, "sse", NULL, NULL);
    ev = next_event(&st, "registry.update", 5);
    assert_non_null(ev);
    assert_int_equal(event_id(ev), next);
    stream_close(&st);
}

static void test_stalled_clients_get_reconcile_and_commits_keep_pace(void **state)
{
    srv *s = *state;
    srv_cycle(s, "sse", NULL, NULL);
    double t0 = now_s();
    for (int i = 0; i < 5; i++)
        srv_cycle(s, "sse", NULL, NULL);
    double base = (now_s() - t0) / 5;
    /* 100 clients that never read, plus one that reads only at the end */
    stream stalled[100];
    for (int i = 0; i < 100; i++)
        stream_open(s, &stalled[i], NULL, 2048);
    stream late;
    stream_open(s, &late, NULL, 2048);
    assert_non_null(next_event(&late, "registry.update", 5));
    t0 = now_s();
    /* enough events to fill the stalled sockets' buffers, then far past the bus bound of 16 */
    const int n = 700;
    for (int i = 0; i < n; i++)
        srv_cycle(s, "sse", NULL, NULL);
    double with = (now_s() - t0) / n;
    print_message("# cycle %.2f ms alone, %.2f ms with 100 stalled streams\n", base * 1000,
                  with * 1000);
    assert_true(with < base * 3 + 0.05); /* the committer never waits for a subscriber */
    const char *ev = next_event(&late, "registry.reconcile", 10);
    if (!ev)
        print_message("# late stream got %zu bytes, ends with: %.300s\n", late.in.len,
                      late.in.len > 300 ? late.in.data + late.in.len - 300 : late.in.data);
    assert_non_null(ev);
    assert_true(event_id(ev) > 7);
    for (int i = 0; i < 100; i++)
        stream_close(&stalled[i]);
    stream_close(&late);
    http_resp r;
    assert_int_equal(http_get(s, "/metrics", &r), 0);
    assert_null(strstr(r.body.data, "bus_lagged_total 0\n"));
    http_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_live_delivery_and_head_first, setup,
                                        srv_teardown_exit_0),
        cmocka_unit_test_setup_teardown(test_resume_with_last_event_id_replays_in_order, setup,
                                        srv_teardown_exit_0),
        cmocka_unit_test_setup_teardown(test_stalled_clients_get_reconcile_and_commits_keep_pace,
                                        setup, srv_teardown_exit_0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
