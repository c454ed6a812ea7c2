/* test_sse.c - GET /registry/stream through the real binary: first event is HEAD, live
 * delivery, resume with Last-Event-ID and ?from= in order, reconcile for laggards, heartbeats,
 * and commits that keep their pace while many clients stall. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/harness.h"

typedef struct stream {
    int fd;
    buf in;
    size_t off;
} stream;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stream_open_rcvbuf(srv *s, stream *st, const char *path, const char *last_event_id,
                               int rcvbuf)
{
    memset(st, 0, sizeof *st);
    st->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) /* a small window makes a client that stops reading really stall */
        setsockopt(st->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(st->fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%s%s%s\r\n", path,
                     last_event_id ? "Last-Event-ID: " : "", last_event_id ? last_event_id : "",
                     last_event_id ? "\r\n" : "");
    assert_int_equal(write(st->fd, req, (size_t)n), n);
}

static void stream_open(srv *s, stream *st, const char *path, const char *last_event_id)
{
    stream_open_rcvbuf(s, st, path, last_event_id, 0);
}

static void stream_close(stream *st)
{
    close(st->fd);
    buf_free(&st->in);
}

/* Reads until `needle` appears after the current offset or the timeout passes; consumes up to
 * the end of the matching event. Returns the event text (static buffer) or NULL. */
static const char *next_event(stream *st, const char *type, double timeout_s)
{
    static char ev[4096];
    double end = now_s() + timeout_s;
    for (;;) {
        while (st->in.data && st->off < st->in.len) {
            char *blank = strstr(st->in.data + st->off, "\n\n");
            if (!blank)
                break;
            size_t len = (size_t)(blank - (st->in.data + st->off));
            snprintf(ev, sizeof ev, "%.*s", (int)len, st->in.data + st->off);
            st->off += len + 2;
            if (!type || strstr(ev, type))
                return ev;
        }
        double left = end - now_s();
        if (left <= 0)
            return NULL;
        struct pollfd p = {.fd = st->fd, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        char tmp[8192];
        ssize_t n = read(st->fd, tmp, sizeof tmp);
        if (n <= 0)
            return NULL;
        buf_append(&st->in, tmp, (size_t)n);
    }
}

static uint64_t event_id(const char *ev)
{
    const char *p = strstr(ev, "id: ");
    return p ? strtoull(p + 4, NULL, 10) : 0;
}

static int setup(void **state)
{
    srv *s = calloc(1, sizeof *s);
    srv_prepare(s, 3, 2);
    const char *extra[] = {"--sse-heartbeat", "300ms", "--bus-channel-bound", "16", NULL};
    srv_start(s, extra);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    srv *s = *state;
    int st = srv_stop(s);
    srv_cleanup(s);
    free(s);
    assert_int_equal(st, 0);
    return 0;
}

static void test_live_delivery_and_head_first(void **state)
{
    srv *s = *state;
    srv_cycle(s, "sse", NULL, NULL);
    stream st;
    stream_open(s, &st, "/registry/stream", NULL);
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
    stream_open(s, &st, "/registry/stream", "2");
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
    stream_open(s, &st, "/registry/stream?from=5", NULL);
    ev = next_event(&st, "registry.update", 5);
    assert_non_null(ev);
    assert_int_equal(event_id(ev), 6);
    stream_close(&st);
    /* resuming at HEAD gets only what comes after it: no repeat of HEAD */
    char at[32];
    snprintf(at, sizeof at, "%llu", (unsigned long long)v);
    stream_open(s, &st, "/registry/stream", at);
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
        stream_open_rcvbuf(s, &stalled[i], "/registry/stream", NULL, 2048);
    stream late;
    stream_open_rcvbuf(s, &late, "/registry/stream", NULL, 2048);
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
        cmocka_unit_test_setup_teardown(test_live_delivery_and_head_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_with_last_event_id_replays_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stalled_clients_get_reconcile_and_commits_keep_pace,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
