/* test_http_hardening.c - the real binary against hostile or broken HTTP clients: trickling and
 * silent connections (read_timeout, shedding), idle keep-alives after a SIGHUP, refusals
 * answered from the headers, request smuggling, error envelopes, a second process on the same
 * port, and SSE streams resumed from the future, heartbeats and stalled subscribers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/harness.h"
#include "helpers/raw.h"

/* One raw exchange on a fresh connection: sends `req`, reads until the server closes or
 * timeout_s passes. Returns what raw_read_all returns (0: closed by the server). */
static int exchange(const srv *s, const char *req, buf *out, double timeout_s)
{
    int fd = raw_connect(s->port);
    assert_true(fd >= 0);
    assert_int_equal(raw_send(fd, req, strlen(req)), 0);
    int rc = raw_read_all(fd, out, timeout_s);
    close(fd);
    return rc;
}

/* How many lines of b begin with `prefix` (status lines: "HTTP/1.1 "). */
static int occurrences(const buf *b, const char *prefix)
{
    int n = 0;
    for (const char *p = b->data; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, strlen(prefix)) == 0;
    return n;
}

/* A refusal: status, one status line, the §5.1 envelope with `code`, X-Corr-ID, and the
 * connection closed by the server. */
static void assert_refusal(const buf *b, int rc, int status, const char *code)
{
    assert_int_equal(rc, 0); /* closed: nothing after the answer is read as a request */
    if (raw_status(b) != status || occurrences(b, "HTTP/1.1 ") != 1)
        print_message("# unexpected answer:\n%s\n", b->data ? b->data : "(nothing)");
    assert_int_equal(raw_status(b), status);
    assert_int_equal(occurrences(b, "HTTP/1.1 "), 1);
    char corr[64];
    assert_int_equal(raw_header(b, "X-Corr-ID", corr, sizeof corr), 0);
    json_t *j = json_loads(raw_body(b), 0, NULL);
    assert_non_null(j);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_string_equal(json_string_value(json_object_get(e, "corr_id")), corr);
    json_decref(j);
}

/* GET path on a fresh connection; its latency in ms, or -1 if it did not answer 200. */
static double probe_ms(const srv *s, const char *path)
{
    double t0 = now_s();
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    buf b = {0};
    int fd = raw_connect(s->port);
    int ok = fd >= 0 && raw_send(fd, req, strlen(req)) == 0 && raw_read_all(fd, &b, 3) == 0 &&
             raw_status(&b) == 200;
    if (fd >= 0)
        close(fd);
    buf_free(&b);
    return ok ? (now_s() - t0) * 1000 : -1;
}

/* 1 if the server has closed fd (reads EOF or an error without blocking). */
static int closed_by_server(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static void test_trickling_clients_are_dropped_and_reads_keep_answering(void **state)
{
    (void)state;
    srv s;
    const char *extra[] = {"--max-conns", "20", "--read-timeout", "1s", NULL};
    srv_start_fresh(&s, extra);
    enum { N = 20 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = raw_connect(s.port);
        assert_true(fds[i] >= 0);
    }
    /* each sends a byte every 100 ms: never idle long, never done */
    const char *req = "GET /registry/head HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaa";
    double worst = 0;
    for (size_t k = 0; k < 30; k++) {
        for (int i = 0; i < N; i++)
            send(fds[i], req + (k % strlen(req)), 1, MSG_NOSIGNAL);
        double a = probe_ms(&s, k % 2 ? "/registry/head" : "/readyz?plane=read");
        assert_true(a >= 0);
        worst = a > worst ? a : worst;
        sleep_ms(100);
    }
    print_message("# worst probe latency with %d trickling clients: %.1f ms\n", N, worst);
    assert_true(worst < 500);
    int closed = 0;
    for (int i = 0; i < N; i++) {
        closed += closed_by_server(fds[i]);
        close(fds[i]);
    }
    assert_int_equal(closed, N); /* past read_timeout, every one was dropped */
    assert_true(metric(&s, "rejected_total{reason=\"timeout\"}") >= N);
    assert_int_equal(srv_finish(&s), 0);
}

static void test_silent_socket_flood_does_not_lock_out_reads(void **state)
{
    (void)state;
    srv s;
    const char *extra[] = {"--max-conns", "64", NULL}; /* read_timeout stays 5 s */
    srv_start_fresh(&s, extra);
    enum { N = 300 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = raw_connect(s.port); /* they connect and say nothing */
    double worst = 0;
    int slow = 0;
    for (int k = 0; k < 20; k++) {
        double a = probe_ms(&s, k % 2 ? "/registry/head" : "/readyz?plane=read");
        assert_true(a >= 0);
        worst = a > worst ? a : worst;
        slow += a > 100;
        sleep_ms(50);
    }
    print_message("# %d silent sockets, max_conns 64: worst probe %.1f ms, %d over 100 ms\n", N,
                  worst, slow);
    assert_true(worst < 1500); /* the first probe may queue behind the flood's backlog */
    assert_true(slow <= 2);
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    assert_int_equal(srv_finish(&s), 0);
}

static void write_timeouts(const char *path, const char *idle, const char *read)
{
    char text[256];
    snprintf(text, sizeof text, "idle_timeout = \"%s\"\nread_timeout = \"%s\"\n", idle, read);
    write_text(path, text, 0600);
}

static void test_sighup_changes_idle_and_read_timeouts(void **state)
{
    (void)state;
    srv s;
    srv_prepare(&s, 3, 2);
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/svcr.toml", s.dir);
    write_timeouts(cfg, "60s", "30s");
    const char *extra[] = {"--config", cfg, NULL};
    srv_start(&s, extra);
    write_timeouts(cfg, "1s", "1s");
    assert_int_equal(kill(s.pid, SIGHUP), 0);
    assert_int_equal(wait_metric(&s, "registry_reload_success_total", 1, 5), 1);
    /* an idle keep-alive connection is closed after the new idle_timeout */
    int idle = raw_connect(s.port);
    const char *req = "GET /registry/head HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(raw_send(idle, req, strlen(req)), 0);
    /* and a request that never completes is dropped after the new read_timeout */
    int slow = raw_connect(s.port);
    assert_int_equal(raw_send(slow, "GET /registry/head HTTP/1.1\r\n", 29), 0);
    buf b = {0};
    double t0 = now_s();
    assert_int_equal(raw_read_all(idle, &b, 5), 0);
    double idle_s = now_s() - t0;
    assert_int_equal(raw_status(&b), 200);
    buf_free(&b);
    assert_int_equal(raw_read_all(slow, &b, 5), 0);
    double slow_s = now_s() - t0;
    buf_free(&b);
    print_message("# idle closed after %.2f s, unfinished request after %.2f s\n", idle_s, slow_s);
    assert_true(idle_s < 3.5);
    assert_true(slow_s < 3.5);
    close(idle);
    close(slow);
    assert_int_equal(srv_finish(&s), 0);
}

static void test_refusals_are_answered_from_the_headers(void **state)
{
    (void)state;
    srv s;
    srv_start_fresh(&s, NULL);
    char *tok = srv_token(&s, "registry:propose", 600, NULL, NULL);
    char req[4096];
    /* over max_body_bytes, with Expect: 100-continue: 413 at once, no 100 Continue */
    snprintf(req, sizeof req,
             "POST /registry/proposals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: 10000000000\r\n"
             "Expect: 100-continue\r\n\r\n",
             tok);
    buf b = {0};
    double t0 = now_s();
    int rc = exchange(&s, req, &b, 3);
    assert_true(now_s() - t0 < 1.0);
    assert_null(strstr(b.data ? b.data : "", "100 Continue"));
    assert_refusal(&b, rc, 413, "PayloadTooLarge");
    buf_free(&b);
    /* an unauthenticated write that announces a body: 401 at once, the body is never waited for */
    const char *anon = "POST /registry/proposals HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       "application/json\r\nContent-Length: 500000\r\n\r\n";
    t0 = now_s();
    rc = exchange(&s, anon, &b, 3);
    assert_true(now_s() - t0 < 1.0);
    assert_refusal(&b, rc, 401, "Unauthorized");
    buf_free(&b);
    free(tok);
    assert_int_equal(srv_finish(&s), 0);
}

static void test_ambiguous_framing_is_refused_and_nothing_is_smuggled(void **state)
{
    (void)state;
    srv s;
    srv_start_fresh(&s, NULL);
    const char *hidden = "GET /registry/head HTTP/1.1\r\nHost: x\r\n\r\n";
    char req[1024];
    buf b = {0};
    /* Content-Length and Transfer-Encoding: the chunked body "ends" before a second request */
    snprintf(req, sizeof req,
             "POST /registry/proposals HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s",
             hidden);
    assert_refusal(&b, exchange(&s, req, &b, 3), 400, "Malformed");
    buf_free(&b);
    /* two Content-Length values */
    snprintf(req, sizeof req,
             "POST /registry/proposals HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 5\r\nContent-Length: 7\r\n\r\n12345%s",
             hidden);
    assert_refusal(&b, exchange(&s, req, &b, 3), 400, "Malformed");
    buf_free(&b);
    /* HTTP/1.1 without Host, and with two */
    assert_refusal(&b, exchange(&s, "GET /registry/head HTTP/1.1\r\n\r\n", &b, 3), 400,
                   "Malformed");
    buf_free(&b);
    assert_refusal(&b,
                   exchange(&s, "GET /registry/head HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &b, 3),
                   400, "Malformed");
    buf_free(&b);
    /* a transfer coding nobody knows: 501 at once (it used to hang) */
    double t0 = now_s();
    assert_refusal(&b,
                   exchange(&s,
                            "POST /registry/proposals HTTP/1.1\r\nHost: x\r\nContent-Type: "
                            "application/json\r\nTransfer-Encoding: xchunked\r\n\r\n",
                            &b, 3),
                   501, "NotImplemented");
    assert_true(now_s() - t0 < 1.0);
    buf_free(&b);
    /* HTTP/1.0 needs no Host; pipelined well-framed requests are all answered */
    assert_int_equal(exchange(&s, "GET /registry/head HTTP/1.0\r\n\r\n", &b, 3), 0);
    assert_int_equal(raw_status(&b), 200);
    buf_free(&b);
    snprintf(req, sizeof req, "%s%.*sConnection: close\r\n\r\n", hidden, (int)strlen(hidden) - 2,
             hidden);
    assert_int_equal(exchange(&s, req, &b, 3), 0);
    int answers = 0;
    for (const char *p = b.data; p && (p = strstr(p, "HTTP/1.1 200 OK\r\n")); p++)
        answers++;
    assert_int_equal(answers, 2);
    buf_free(&b);
    assert_int_equal(srv_finish(&s), 0);
}

static void test_a_second_process_cannot_share_the_port(void **state)
{
    (void)state;
    srv a, b;
    srv_start_fresh(&a, NULL);
    srv_prepare(&b, 3, 2); /* its own data dir: only the port is shared */
    srv_run same_port = {.port = a.port};
    buf out = {0};
    int st = srv_run_to_exit(&b, &same_port, &out, 10);
    char *log = buf_steal(&out, NULL);
    print_message("# second process on port %u: exit %d\n", a.port, st);
    assert_true(st > 0);
    assert_non_null(strstr(log, "bind_addr"));
    free(log);
    assert_true(probe_ms(&a, "/registry/head") >= 0);
    srv_cleanup(&b);
    assert_int_equal(srv_finish(&a), 0);
}

static void test_sse_resume_from_the_future_gets_reconcile(void **state)
{
    (void)state;
    srv s;
    srv_start_fresh(&s, NULL);
    srv_cycle(&s, "one", NULL, NULL);
    stream st;
    stream_open(&s, &st, "99", 0); /* a client that saw version 99 of a restored registry */
    char ev[4096];
    double at;
    int got = 0;
    while (!got && stream_next(&st, ev, sizeof ev, 3, &at) == 0)
        got = strstr(ev, "event: registry.reconcile") != NULL;
    assert_true(got);
    assert_non_null(strstr(ev, "id: 1\n"));
    srv_cycle(&s, "two", NULL, NULL); /* then live events */
    got = 0;
    while (!got && stream_next(&st, ev, sizeof ev, 3, &at) == 0)
        got = strstr(ev, "event: registry.update") != NULL;
    assert_true(got);
    assert_non_null(strstr(ev, "id: 2\n"));
    stream_close(&st);
    assert_int_equal(srv_finish(&s), 0);
}

static void test_sse_heartbeat_arrives_within_the_interval(void **state)
{
    (void)state;
    srv s;
    const char *extra[] = {"--sse-heartbeat", "1s", NULL};
    srv_start_fresh(&s, extra);
    stream st;
    stream_open(&s, &st, NULL, 0);
    char ev[4096];
    double at = 0, last = 0, worst = 0;
    int beats = 0;
    double end = now_s() + 10;
    while (beats < 5 && now_s() < end && stream_next(&st, ev, sizeof ev, 3, &at) == 0) {
        if (strstr(ev, ": hb")) { /* (chunk sizes sit between the blocks) */
            if (last > 0 && at - last > worst)
                worst = at - last;
            beats++;
        }
        last = at;
    }
    print_message("# %d heartbeats, widest gap %.3f s (interval 1 s)\n", beats, worst);
    assert_int_equal(beats, 5);
    assert_true(worst <= 1.0);
    stream_close(&st);
    assert_int_equal(srv_finish(&s), 0);
}

static void test_stalled_subscriber_is_closed_and_counted(void **state)
{
    (void)state;
    srv s;
    const char *extra[] = {"--idle-timeout", "1s", "--sse-heartbeat", "100ms", NULL};
    srv_start_fresh(&s, extra);
    stream st;
    stream_open(&s, &st, NULL, 1024); /* never reads, with a tiny window */
    /* fill the window and the server's send buffer with versions */
    for (int i = 0; i < 200 && metric(&s, "sse_stalled_closed_total") < 1; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "v%d", i);
        srv_cycle(&s, tag, NULL, NULL);
    }
    assert_true(wait_metric(&s, "sse_stalled_closed_total", 1, 10) >= 1);
    double end = now_s() + 2;
    while (metric(&s, "sse_clients") != 0 && now_s() < end)
        sleep_ms(20);
    assert_int_equal(metric(&s, "sse_clients"), 0);
    stream_close(&st);
    assert_int_equal(srv_finish(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trickling_clients_are_dropped_and_reads_keep_answering),
        cmocka_unit_test(test_silent_socket_flood_does_not_lock_out_reads),
        cmocka_unit_test(test_sighup_changes_idle_and_read_timeouts),
        cmocka_unit_test(test_refusals_are_answered_from_the_headers),
        cmocka_unit_test(test_ambiguous_framing_is_refused_and_nothing_is_smuggled),
        cmocka_unit_test(test_a_second_process_cannot_share_the_port),
        cmocka_unit_test(test_sse_resume_from_the_future_gets_reconcile),
        cmocka_unit_test(test_sse_heartbeat_arrives_within_the_interval),
        cmocka_unit_test(test_stalled_subscriber_is_closed_and_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
