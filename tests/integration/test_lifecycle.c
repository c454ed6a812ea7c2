/* test_lifecycle.c - the real binary over its life: drain, faults, reload, listeners, logs. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "helpers/harness.h"
#include "helpers/raw.h"
#include "http/routes.h"
#include "interop/ulid.h"

#define ZERO_B3 "b3:0000000000000000000000000000000000000000000000000000000000000000"
#define CORR "01ARZ3NDEKTSV4RRFFQ69G5FAV"
#define TMPFS_MAGIC_NUMBER 0x01021994

/* ---------------------------------------------------------------------------------------- */
/* small utilities                                                                            */

/* Entries of a directory other than . and .. (-1 if it cannot be opened). */
static int dir_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static int on_tmpfs(const char *path)
{
    struct statfs fs;
    return statfs(path, &fs) == 0 && (unsigned long)fs.f_type == TMPFS_MAGIC_NUMBER;
}

/* ---------------------------------------------------------------------------------------- */
/* raw HTTP over a socket: exact timing, streams, HEAD without libcurl's opinions            */

enum { RAW_OK, RAW_CONNECT, RAW_NORESP, RAW_TIMEOUT };

typedef struct raw_result {
    int outcome;
    int status;
    double t_start, t_sent, t_done; /* before connect(); after the last byte was written;
                                       after the answer (or the close) was read */
    buf data;                       /* the whole response, headers included, NUL-terminated */
} raw_result;

/* One request on a fresh connection (Connection: close). `extra_headers` are full lines with
 * CRLF; body may be NULL. The caller frees the returned text. */
static char *raw_request_text(const char *method, const char *path, const char *token,
                              const char *extra_headers, const char *body)
{
    buf b = {0};
    buf_printf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, path);
    if (token)
        buf_printf(&b, "Authorization: Bearer %s\r\n", token);
    if (body)
        buf_printf(&b, "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body));
    if (extra_headers)
        buf_puts(&b, extra_headers);
    buf_puts(&b, "\r\n");
    if (body)
        buf_puts(&b, body);
    return buf_steal(&b, NULL);
}

static void raw_exchange(unsigned port, const char *req, double timeout_s, raw_result *r)
{
    memset(r, 0, sizeof *r);
    r->t_start = now_s();
    int fd = raw_connect(port);
    if (fd < 0) {
        r->outcome = RAW_CONNECT;
        return;
    }
    raw_send(fd, req, strlen(req)); /* a reset while sending shows as no answer below */
    r->t_sent = now_s();
    int rc = raw_read_all(fd, &r->data, timeout_s);
    r->t_done = now_s();
    close(fd);
    buf_putc(&r->data, '\0');
    r->status = raw_status(&r->data);
    if (r->status && raw_body(&r->data))
        r->outcome = RAW_OK;
    else if (rc == -2)
        r->outcome = RAW_TIMEOUT;
    else
        r->outcome = RAW_NORESP;
}

static void raw_result_free(raw_result *r)
{
    buf_free(&r->data);
}

/* Reads one response with a Content-Length body from a keep-alive connection. 0 or -1. */
static int raw_read_response(int fd, buf *out, double timeout_s)
{
    double end = now_s() + timeout_s;
    for (;;) {
        buf_putc(out, '\0');
        out->len--;
        const char *body = raw_body(out);
        if (body) {
            char cl[32];
            size_t want = raw_header(out, "Content-Length", cl, sizeof cl) == 0
                              ? (size_t)strtoull(cl, NULL, 10)
                              : 0;
            if ((size_t)(out->data + out->len - body) >= want)
                return 0;
        }
        int left = (int)((end - now_s()) * 1000);
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, left) <= 0)
            return -1;
        char tmp[8192];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0)
            return -1;
        buf_append(out, tmp, (size_t)n);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* the server and governance through it                                                      */

/* /dev/shm directory of the tmpfs amnesia case, removed by teardown ("" if none). */
static char shm_dir[64];

/* Stops the server if it still runs (exit status 0 expected), removes everything. */
static int teardown(void **state)
{
    srv *s = *state;
    int st = srv_finish(s);
    free(s);
    if (shm_dir[0]) {
        fx_rmrf(shm_dir);
        shm_dir[0] = '\0';
    }
    assert_int_equal(st, 0);
    return 0;
}

static const char *err_reason(const http_resp *r)
{
    const char *v = json_string_value(
        json_object_get(json_object_get(json_object_get(r->json, "error"), "details"), "reason"));
    return v ? v : "";
}

static int json_array_has(const json_t *arr, const char *s)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (json_is_string(json_array_get(arr, i)) &&
            strcmp(json_string_value(json_array_get(arr, i)), s) == 0)
            return 1;
    return 0;
}

/* svcr verify-store on the data dir (the server must not be writing); returns the exit status
 * and prints the CLI's line when it is not 0. */
static int verify_store(const srv *s)
{
    const char *argv[] = {srv_cli_bin(), "verify-store", s->data_dir, NULL};
    buf out = {0};
    int st = run_to_exit(argv, &out, 30);
    if (st != 0)
        print_message("# %s verify-store %s -> %d: %s\n", argv[0], s->data_dir, st, out.data);
    buf_free(&out);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* SIGTERM                                                                                   */

#define SLOW 4

/* Requests whose headers and half their body are in when SIGTERM comes are in flight: each is
 * answered normally once its body arrives; a keep-alive connection open before the signal
 * sees /readyz answer 503 "shutdown"; the process exits 0 within the drain deadline. */
static void test_sigterm_drains_in_flight_requests(void **state)
{
    srv *s = *state;
    const char *extra[] = {"--shutdown-drain-deadline", "3s", NULL};
    srv_start(s, extra);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    int fds[SLOW];
    char *bodies[SLOW];
    for (int i = 0; i < SLOW; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "slow%d", i);
        bodies[i] = srv_next_propose_body(s, tag);
        char *req = raw_request_text("POST", "/registry/proposals", tok, NULL, bodies[i]);
        size_t head_len = strlen(req) - strlen(bodies[i]);
        fds[i] = raw_connect(s->port);
        assert_true(fds[i] >= 0);
        assert_int_equal(raw_send(fds[i], req, head_len + strlen(bodies[i]) / 2), 0);
        free(req);
    }
    int ka = raw_connect(s->port);
    assert_true(ka >= 0);
    const char *hz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    assert_int_equal(raw_send(ka, hz, strlen(hz)), 0);
    buf kb = {0};
    assert_int_equal(raw_read_response(ka, &kb, 5), 0);
    assert_int_equal(raw_status(&kb), 200);
    buf_free(&kb);
    /* the server has all of them in flight (the /metrics request itself is one more) */
    assert_true(wait_metric(s, "inflight_requests", SLOW + 1, 5) >= SLOW + 1);

    double t_sig = now_s();
    assert_int_equal(kill(s->pid, SIGTERM), 0);
    sleep_ms(200);
    const char *rz = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    assert_int_equal(raw_send(ka, rz, strlen(rz)), 0);
    assert_int_equal(raw_read_response(ka, &kb, 5), 0);
    assert_int_equal(raw_status(&kb), 503);
    json_t *rj = json_loads(raw_body(&kb), 0, NULL);
    assert_non_null(rj);
    assert_true(json_is_false(json_object_get(rj, "ready")));
    assert_true(json_array_has(json_object_get(rj, "missing"), "shutdown"));
    json_decref(rj);
    buf_free(&kb);
    close(ka);

    char ids[SLOW][27];
    for (int i = 0; i < SLOW; i++) {
        size_t half = strlen(bodies[i]) / 2;
        assert_int_equal(raw_send(fds[i], bodies[i] + half, strlen(bodies[i]) - half), 0);
        buf out = {0};
        raw_read_all(fds[i], &out, 5);
        buf_putc(&out, '\0');
        close(fds[i]);
        if (raw_status(&out) != 202)
            fail_msg("in-flight request %d after SIGTERM: %s", i, out.data ? out.data : "");
        json_t *j = json_loads(raw_body(&out), 0, NULL);
        snprintf(ids[i], sizeof ids[i], "%s", json_string_value(json_object_get(j, "proposal_id")));
        json_decref(j);
        buf_free(&out);
    }
    int st = wait_exit(s->pid, 3 + 1 - (now_s() - t_sig));
    if (st < 0)
        fail_msg("still running %.1f s after SIGTERM (drain deadline 3 s)", now_s() - t_sig);
    s->pid = 0;
    assert_int_equal(st, 0);
    print_message("# exited %.2f s after SIGTERM\n", now_s() - t_sig);

    /* nothing partial: the store verifies, every answered proposal is there, ready again */
    assert_int_equal(verify_store(s), 0);
    srv_start(s, NULL);
    assert_int_equal(srv_head_version(s, NULL), 0);
    for (int i = 0; i < SLOW; i++) {
        char path[96];
        snprintf(path, sizeof path, "/registry/proposals/%.26s", ids[i]);
        http_resp r;
        assert_int_equal(http_get(s, path, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "status")), "pending");
        http_resp_free(&r);
        free(bodies[i]);
    }
    http_resp r;
    assert_int_equal(http_get(s, "/readyz", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    free(tok);
}

/* A request whose headers are still arriving at SIGTERM is answered: the server keeps accepting
 * and serving for a short grace after the signal while connections are open. */
static void test_sigterm_waits_for_a_request_whose_headers_are_arriving(void **state)
{
    srv *s = *state;
    const char *extra[] = {"--shutdown-drain-deadline", "3s", NULL};
    srv_start(s, extra);
    int fd = raw_connect(s->port);
    assert_true(fd >= 0);
    const char *part = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    assert_int_equal(raw_send(fd, part, strlen(part)), 0);
    sleep_ms(200);
    double t_sig = now_s();
    assert_int_equal(kill(s->pid, SIGTERM), 0);
    sleep_ms(200);
    raw_send(fd, "\r\n", 2);
    buf out = {0};
    raw_read_all(fd, &out, 5);
    buf_putc(&out, '\0');
    close(fd);
    int st = wait_exit(s->pid, 3 + 1 - (now_s() - t_sig));
    if (st >= 0)
        s->pid = 0;
    assert_int_equal(st, 0);
    if (raw_status(&out) != 200)
        fail_msg("the request begun before SIGTERM got no answer (%zu bytes)", out.len - 1);
    buf_free(&out);
}

/* A burst of concurrent writes (proposers + one client running whole governance cycles) with
 * SIGTERM in the middle. */
#define BURST_PROPOSERS 12
#define BURST_MAX_IDS 20000

typedef struct burst {
    unsigned port;
    const char *token;
    const fx_keys *gov;
    atomic_int stop;
    atomic_llong t_sig_ns; /* CLOCK_MONOTONIC of the signal; 0 before it */
    pthread_mutex_t mu;
    char (*ids)[27]; /* proposals answered 202/200 */
    size_t n_ids;
    uint64_t acked_v[4096]; /* versions answered 201 */
    char acked_b3[4096][68];
    size_t n_acked;
    int problems;
    char first_problem[512];
    int answered, refused_after, cut_after, cut_before, answered_after, answered_across;
    double worst_cut_before; /* seconds between send and the signal of the worst cut */
} burst;

typedef struct burst_worker {
    burst *b;
    int idx;
} burst_worker;

static double burst_t_sig(burst *b)
{
    long long ns = atomic_load(&b->t_sig_ns);
    return ns ? (double)ns / 1e9 : 0;
}

static void burst_problem(burst *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void burst_problem(burst *b, const char *fmt, ...)
{
    pthread_mutex_lock(&b->mu);
    if (!b->problems++) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->first_problem, sizeof b->first_problem, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&b->mu);
}

/* Judges one exchange. Returns 1 when the thread should stop (the server is gone). */
static int burst_judge(burst *b, const raw_result *r, const char *what, const int *allowed)
{
    double sig = burst_t_sig(b);
    switch (r->outcome) {
    case RAW_OK:
        for (const int *a = allowed; *a; a++)
            if (r->status == *a) {
                pthread_mutex_lock(&b->mu);
                b->answered++;
                if (sig && r->t_sent > sig)
                    b->answered_after++;
                else if (sig && r->t_done > sig)
                    b->answered_across++; /* in flight at the signal, answered */
                pthread_mutex_unlock(&b->mu);
                return 0;
            }
        burst_problem(b, "%s answered %d: %.300s", what, r->status, r->data.data);
        return 0;
    case RAW_CONNECT:
        if (!sig || r->t_start < sig)
            burst_problem(b, "%s: connect failed before SIGTERM", what);
        pthread_mutex_lock(&b->mu);
        b->refused_after++;
        pthread_mutex_unlock(&b->mu);
        return 1;
    case RAW_NORESP:
        pthread_mutex_lock(&b->mu);
        if (sig && r->t_sent >= sig) {
            b->cut_after++;
        } else {
            /* sent before the signal: it had to be answered */
            b->cut_before++;
            double early = sig ? sig - r->t_sent : 1e9;
            if (early > b->worst_cut_before)
                b->worst_cut_before = early;
        }
        pthread_mutex_unlock(&b->mu);
        return 0;
    default:
        burst_problem(b, "%s: no answer and no close within 10 s (hang)", what);
        return 1;
    }
}

/* HEAD through a raw GET; 0, or 1 when the thread should stop (-1: try again). */
static int burst_head(burst *b, uint64_t *v, char prev[68])
{
    static const int ok[] = {200, 0};
    char *req = raw_request_text("GET", "/registry/head", NULL, NULL, NULL);
    raw_result r;
    raw_exchange(b->port, req, 10, &r);
    free(req);
    int stop = burst_judge(b, &r, "GET /registry/head", ok);
    int rc = stop ? 1 : -1;
    json_t *j =
        r.outcome == RAW_OK && r.status == 200 ? json_loads(raw_body(&r.data), 0, NULL) : NULL;
    if (j) {
        *v = (uint64_t)json_integer_value(json_object_get(j, "version"));
        snprintf(prev, 68, "%s", json_string_value(json_object_get(j, "payload_b3")));
        rc = 0;
    }
    json_decref(j);
    raw_result_free(&r);
    return rc;
}

/* POSTs and returns the parsed JSON of a 2xx answer (NULL otherwise); *stop set as judged. */
static json_t *burst_post(burst *b, const char *path, const char *body, const int *allowed,
                          int *stop, int *status)
{
    char *req = raw_request_text("POST", path, b->token, NULL, body);
    raw_result r;
    raw_exchange(b->port, req, 10, &r);
    free(req);
    char what[128];
    snprintf(what, sizeof what, "POST %.100s", path);
    *stop = burst_judge(b, &r, what, allowed);
    *status = r.outcome == RAW_OK ? r.status : 0;
    json_t *j =
        r.outcome == RAW_OK && r.status < 300 ? json_loads(raw_body(&r.data), 0, NULL) : NULL;
    raw_result_free(&r);
    return j;
}

static void burst_note_id(burst *b, const json_t *j)
{
    const char *id = json_string_value(json_object_get(j, "proposal_id"));
    pthread_mutex_lock(&b->mu);
    if (id && b->n_ids < BURST_MAX_IDS)
        snprintf(b->ids[b->n_ids++], 27, "%s", id);
    pthread_mutex_unlock(&b->mu);
}

static void *burst_proposer(void *arg)
{
    burst_worker *w = arg;
    burst *b = w->b;
    /* 409: HEAD moved on; 429/503: back-pressure or shutdown, with Retry-After */
    static const int ok[] = {200, 202, 409, 429, 503, 0};
    for (int i = 0; !atomic_load(&b->stop); i++) {
        uint64_t v = 0;
        char prev[68];
        int rc = burst_head(b, &v, prev);
        if (rc > 0)
            break;
        if (rc < 0)
            continue;
        char tag[32];
        snprintf(tag, sizeof tag, "p%d-%d", w->idx, i);
        char *payload = fx_payload_json_tagged(v + 1, prev, b->gov, tag);
        char *body = fx_propose_body(payload);
        int stop = 0, status = 0;
        json_t *j = burst_post(b, "/registry/proposals", body, ok, &stop, &status);
        if (j)
            burst_note_id(b, j);
        json_decref(j);
        free(body);
        free(payload);
        if (stop)
            break;
    }
    return NULL;
}

/* One governance cycle; returns 1 when the thread should stop. */
static int burst_cycle_once(burst *b, int i)
{
    static const int prop_ok[] = {202, 409, 429, 503, 0};
    static const int appr_ok[] = {200, 409, 429, 503, 0};
    static const int commit_ok[] = {201, 409, 429, 503, 0};
    uint64_t v = 0;
    char prev[68], tag[32], path[96];
    int rc = burst_head(b, &v, prev);
    if (rc != 0)
        return rc > 0;
    snprintf(tag, sizeof tag, "c%d", i);
    char *payload = fx_payload_json_tagged(v + 1, prev, b->gov, tag);
    char *body = fx_propose_body(payload);
    free(payload);
    int stop = 0, status = 0;
    json_t *j = burst_post(b, "/registry/proposals", body, prop_ok, &stop, &status);
    free(body);
    if (!j)
        return stop;
    burst_note_id(b, j);
    char id[27], b3[68];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "proposal_id")));
    snprintf(b3, sizeof b3, "%s", json_string_value(json_object_get(j, "payload_b3")));
    json_decref(j);
    snprintf(path, sizeof path, "/registry/approvals/%s", id);
    for (size_t k = 0; k < 2 && !stop; k++) {
        char *ab = fx_approval_body_as(b->gov->s[k].id, b->gov->s[k].sk, b3, 0);
        json_decref(burst_post(b, path, ab, appr_ok, &stop, &status));
        free(ab);
        if (status != 200)
            return stop;
    }
    snprintf(path, sizeof path, "/registry/commit/%s", id);
    j = stop ? NULL : burst_post(b, path, "{}", commit_ok, &stop, &status);
    if (j && status == 201) {
        pthread_mutex_lock(&b->mu);
        if (b->n_acked < 4096) {
            b->acked_v[b->n_acked] = (uint64_t)json_integer_value(json_object_get(j, "version"));
            snprintf(b->acked_b3[b->n_acked++], 68, "%s", b3);
        }
        pthread_mutex_unlock(&b->mu);
    }
    json_decref(j);
    return stop;
}

static void *burst_cycler(void *arg)
{
    burst_worker *w = arg;
    for (int i = 0; !atomic_load(&w->b->stop); i++)
        if (burst_cycle_once(w->b, i))
            break;
    return NULL;
}

/* After the exit: every write that was acknowledged is durable, the store verifies, HEAD is a
 * committed version, and the restarted server is ready. */
static void burst_check_restart(srv *s, burst *b)
{
    assert_int_equal(verify_store(s), 0);
    srv_start(s, NULL);
    char head_b3[68];
    uint64_t hv = srv_head_version(s, head_b3);
    uint64_t max_acked = 0;
    for (size_t i = 0; i < b->n_acked; i++) {
        if (b->acked_v[i] > max_acked)
            max_acked = b->acked_v[i];
        char path[64];
        snprintf(path, sizeof path, "/registry/%llu", (unsigned long long)b->acked_v[i]);
        http_resp r;
        assert_int_equal(http_get(s, path, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "payload_b3")),
                            b->acked_b3[i]);
        http_resp_free(&r);
    }
    assert_true(hv >= max_acked);
    if (hv > 0) {
        char path[64];
        snprintf(path, sizeof path, "/registry/%llu", (unsigned long long)hv);
        http_resp r;
        assert_int_equal(http_get(s, path, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "payload_b3")), head_b3);
        http_resp_free(&r);
    }
    for (size_t i = 0; i < b->n_ids; i++) {
        char path[96];
        snprintf(path, sizeof path, "/registry/proposals/%s", b->ids[i]);
        http_resp r;
        assert_int_equal(http_get(s, path, &r), 0);
        if (r.status != 200)
            fail_msg("acknowledged proposal %s is gone after restart (%ld)", b->ids[i], r.status);
        http_resp_free(&r);
    }
    http_resp r;
    assert_int_equal(http_get(s, "/readyz", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    print_message("# after restart: HEAD %llu, %zu commits and %zu proposals acknowledged, "
                  "all present\n",
                  (unsigned long long)hv, b->n_acked, b->n_ids);
}

static void test_sigterm_during_concurrent_writes_loses_no_acknowledged_write(void **state)
{
    srv *s = *state;
    const char *extra[] = {"--shutdown-drain-deadline", "2s", "--limits-rps", "0", NULL};
    srv_start(s, extra);
    srv_cycle(s, "base", NULL, NULL);
    burst *b = calloc(1, sizeof *b);
    assert_non_null(b);
    b->ids = calloc(BURST_MAX_IDS, sizeof *b->ids);
    assert_non_null(b->ids);
    pthread_mutex_init(&b->mu, NULL);
    b->port = s->port;
    b->gov = &s->gov;
    char *tok = srv_token(s, "registry:propose registry:approve registry:commit", 600, NULL, NULL);
    b->token = tok;
    pthread_t th[BURST_PROPOSERS + 1];
    burst_worker w[BURST_PROPOSERS + 1];
    for (int i = 0; i <= BURST_PROPOSERS; i++) {
        w[i] = (burst_worker){.b = b, .idx = i};
        assert_int_equal(pthread_create(&th[i], NULL,
                                        i == BURST_PROPOSERS ? burst_cycler : burst_proposer,
                                        &w[i]),
                         0);
    }
    sleep_ms(800);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    atomic_store(&b->t_sig_ns, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    double t_sig = burst_t_sig(b);
    assert_int_equal(kill(s->pid, SIGTERM), 0);
    int st = wait_exit(s->pid, 2 + 1);
    double took = now_s() - t_sig;
    atomic_store(&b->stop, 1);
    for (int i = 0; i <= BURST_PROPOSERS; i++)
        pthread_join(th[i], NULL);
    if (st < 0) {
        srv_kill(s);
        fail_msg("still running 3 s after SIGTERM (drain deadline 2 s)");
    }
    s->pid = 0;
    print_message("# exit %d after %.2f s; %d answered; in flight at the signal: %d answered, "
                  "%d cut (sent up to %.1f ms before it); after it: %d answered, %d refused, "
                  "%d cut\n",
                  st, took, b->answered, b->answered_across, b->cut_before,
                  b->worst_cut_before * 1000, b->answered_after, b->refused_after, b->cut_after);
    assert_int_equal(st, 0);
    if (b->problems)
        fail_msg("%d problem(s); first: %s", b->problems, b->first_problem);
    /* a request sent before the signal must be answered; tolerated: the last milliseconds
     * before it, where a connection may still sit in the listen backlog or have its request
     * unparsed (see test_sigterm_waits_for_a_request_whose_headers_are_arriving) */
    if (b->cut_before && b->worst_cut_before > 0.1)
        fail_msg("%d request(s) sent before SIGTERM got no answer (one %.0f ms before it)",
                 b->cut_before, b->worst_cut_before * 1000);
    assert_true(b->answered > 0);
    assert_true(b->n_acked > 0);
    burst_check_restart(s, b);
    free(tok);
    free(b->ids);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* ---------------------------------------------------------------------------------------- */
/* storage faults (SVCR_FAULT_INJECT, docs/DECISIONS.md D11)                                 */

static void assert_storage_not_ready(const http_resp *r)
{
    assert_int_equal(r->status, 503);
    assert_string_equal(http_err_code(r), "NotReady");
    assert_string_equal(err_reason(r), "storage");
    char h[64];
    assert_int_equal(http_header(r, "Retry-After", h, sizeof h), 0);
    assert_true(atoi(h) > 0);
    assert_int_equal(http_header(r, "Cache-Control", h, sizeof h), 0);
    assert_string_equal(h, "no-store");
}

/* /readyz with the write plane down for storage and reads up. */
static void assert_write_plane_down_for_storage(const srv *s)
{
    http_resp r;
    assert_int_equal(http_get(s, "/readyz", &r), 0);
    assert_int_equal(r.status, 503);
    assert_true(json_is_false(json_object_get(r.json, "ready")));
    assert_true(json_is_false(json_object_get(r.json, "write_ready")));
    assert_true(json_is_true(json_object_get(r.json, "read_ready")));
    assert_true(json_array_has(json_object_get(r.json, "missing"), "storage"));
    char h[64];
    assert_int_equal(http_header(&r, "Retry-After", h, sizeof h), 0);
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/readyz?plane=read", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/registry/head", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

static void test_a_failed_sync_fails_one_write_then_the_write_plane_recovers(void **state)
{
    srv *s = *state;
    const char *env[] = {"SVCR_FAULT_INJECT=sync:1", NULL};
    srv_start_env(s, NULL, env, NULL);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    char *body = srv_next_propose_body(s, "fault");
    http_resp r;
    assert_int_equal(http_post(s, "/registry/proposals", tok, body, &r), 0);
    assert_storage_not_ready(&r);
    http_resp_free(&r);
    assert_write_plane_down_for_storage(s);
    assert_int_equal(metric(s, "registry_recoveries_total{kind=\"storage_fault\"}"), 1);
    /* nothing of the failed write was applied */
    assert_int_equal(http_get(s, "/registry/proposals", &r), 0);
    assert_string_equal(r.body.data, "{\"next\":null,\"proposals\":[]}");
    http_resp_free(&r);
    /* the next write goes through and readiness comes back */
    assert_int_equal(http_post(s, "/registry/proposals", tok, body, &r), 0);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/readyz", &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "write_ready")));
    assert_int_equal(json_array_size(json_object_get(r.json, "missing")), 0);
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/registry/audit", &r), 0);
    json_t *recs = json_object_get(r.json, "records");
    assert_int_equal(json_array_size(recs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "decision")),
                        "accepted");
    http_resp_free(&r);
    free(body);
    free(tok);
}

static void test_a_full_disk_fails_every_write_while_reads_keep_serving(void **state)
{
    srv *s = *state;
    const char *env[] = {"SVCR_FAULT_INJECT=enospc:-1", NULL};
    srv_start_env(s, NULL, env, NULL);
    char *tok = srv_token(s, "registry:propose registry:operate", 600, NULL, NULL);
    char *body = srv_next_propose_body(s, "enospc");
    http_resp r;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(http_post(s, "/registry/proposals", tok, body, &r), 0);
        assert_storage_not_ready(&r);
        http_resp_free(&r);
    }
    assert_int_equal(http_post(s, "/registry/admin/freeze", tok, "{\"reason\":\"x\"}", &r), 0);
    assert_storage_not_ready(&r);
    http_resp_free(&r);
    assert_write_plane_down_for_storage(s);
    const char *reads[] = {"/version",        "/healthz", "/registry/proposals",
                           "/registry/audit", "/metrics", "/schema"};
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        assert_int_equal(http_get(s, reads[i], &r), 0);
        if (r.status != 200)
            fail_msg("GET %s answered %ld while the disk is full", reads[i], r.status);
        http_resp_free(&r);
    }
    assert_int_equal(http_get(s, "/registry/audit", &r), 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "records")), 0);
    http_resp_free(&r);
    free(body);
    free(tok);
}

/* ---------------------------------------------------------------------------------------- */
/* SIGHUP                                                                                    */

static void write_config(const char *path, unsigned port, const char *max_body)
{
    char text[256];
    snprintf(text, sizeof text,
             "bind_addr = \"127.0.0.1:%u\"\n\n[limits]\nmax_body_bytes = \"%s\"\n", port, max_body);
    write_text(path, text, 0600);
}

/* A valid proposal body padded with whitespace to `size` bytes. */
static char *padded_body(const srv *s, size_t size)
{
    char *body = srv_next_propose_body(s, "big");
    size_t n = strlen(body);
    assert_true(n < size);
    char *big = malloc(size + 1);
    memcpy(big, body, n);
    memset(big + n, ' ', size - n);
    big[size] = '\0';
    free(body);
    return big;
}

static void test_sighup_reloads_limits_and_refuses_a_changed_bind_addr(void **state)
{
    srv *s = *state;
    unsigned port = srv_free_port(), other = srv_free_port();
    while (other == port)
        other = srv_free_port();
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/svcr.toml", s->dir);
    write_config(cfg, port, "64KiB");
    const char *extra[] = {"--config", cfg, NULL};
    srv_launch l = {.extra = extra, .port = port, .omit_bind = 1};
    srv_start_with(s, &l);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    char *big = padded_body(s, 100 * 1024);
    http_resp r;
    assert_int_equal(http_post(s, "/registry/proposals", tok, big, &r), 0);
    assert_int_equal(r.status, 413);
    assert_string_equal(http_err_code(&r), "PayloadTooLarge");
    http_resp_free(&r);

    write_config(cfg, port, "2MiB");
    assert_int_equal(kill(s->pid, SIGHUP), 0);
    assert_int_equal(wait_metric(s, "registry_reload_success_total", 1, 5), 1);
    assert_int_equal(http_post(s, "/registry/proposals", tok, big, &r), 0);
    assert_true(r.status == 202 || r.status == 400);
    http_resp_free(&r);

    write_config(cfg, other, "2MiB");
    assert_int_equal(kill(s->pid, SIGHUP), 0);
    assert_int_equal(wait_metric(s, "registry_reload_fail_total{reason=\"disruptive_key\"}", 1, 5),
                     1);
    assert_int_equal(metric(s, "registry_reload_success_total"), 1);
    assert_int_equal(http_get(s, "/healthz", &r), 0); /* still on the old port */
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    int fd = raw_connect(other);
    if (fd >= 0)
        close(fd);
    assert_true(fd < 0);
    /* the snapshot in force is still the accepted one (2MiB): the same body, idempotent */
    assert_int_equal(http_post(s, "/registry/proposals", tok, big, &r), 0);
    assert_true(r.status == 200 || r.status == 400);
    http_resp_free(&r);

    write_text(cfg, "[limits\n", 0600);
    assert_int_equal(kill(s->pid, SIGHUP), 0);
    assert_int_equal(wait_metric(s, "registry_reload_fail_total{reason=\"parse\"}", 1, 5), 1);
    assert_int_equal(http_get(s, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    char *log = slurp(s->log_path);
    assert_non_null(log);
    const char *line = strstr(log, "config.reload");
    int named = 0;
    for (; line && !named; line = strstr(line + 1, "config.reload")) {
        const char *eol = strchr(line, '\n');
        const char *key = strstr(line, "bind_addr");
        named = key && (!eol || key < eol);
    }
    assert_true(named); /* the log names the disruptive key */
    free(log);
    free(big);
    free(tok);
}

/* ---------------------------------------------------------------------------------------- */
/* metrics_addr                                                                              */

static void test_metrics_addr_serves_only_metrics(void **state)
{
    srv *s = *state;
    unsigned mport = srv_free_port();
    char maddr[64];
    snprintf(maddr, sizeof maddr, "127.0.0.1:%u", mport);
    const char *extra[] = {"--metrics", maddr, NULL};
    srv_start(s, extra);
    srv m = *s;
    m.port = mport;
    http_resp r;
    assert_int_equal(http_get(&m, "/metrics", &r), 0);
    assert_int_equal(r.status, 200);
    char h[128];
    assert_int_equal(http_header(&r, "Content-Type", h, sizeof h), 0);
    assert_non_null(strstr(h, "text/plain"));
    assert_non_null(strstr(h, "version=0.0.4"));
    assert_non_null(strstr(r.body.data, "# TYPE http_requests_total counter"));
    assert_non_null(strstr(r.body.data, "registry_head_version 0"));
    assert_int_equal(http_header(&r, "X-Corr-ID", h, sizeof h), 0);
    http_resp_free(&r);
    const char *others[] = {"/healthz", "/registry/head", "/readyz", "/metrics/", "/"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        assert_int_equal(http_get(&m, others[i], &r), 0);
        if (r.status != 404)
            fail_msg("GET %s on metrics_addr answered %ld", others[i], r.status);
        assert_string_equal(http_err_code(&r), "NotFound");
        http_resp_free(&r);
    }
    assert_int_equal(http_do(&m, "POST", "/metrics", NULL, "", 0, &r), 0);
    assert_int_equal(r.status, 405);
    assert_int_equal(http_header(&r, "Allow", h, sizeof h), 0);
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/metrics", &r), 0); /* and still on bind_addr */
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

/* ---------------------------------------------------------------------------------------- */
/* amnesia                                                                                   */

static void test_amnesia_with_memory_storage_leaves_no_file(void **state)
{
    srv *s = *state;
    char work[300], data[512];
    snprintf(work, sizeof work, "%s/cwd", s->dir); /* fresh and empty; not where the log is */
    assert_int_equal(mkdir(work, 0700), 0);
    snprintf(data, sizeof data, "%s/data/registry", work);
    const char *extra[] = {
        "--storage-kind", "memory", "--amnesia-enabled", "true", "--data-dir", data, NULL};
    srv_start_env(s, extra, NULL, work);
    char id[27];
    assert_int_equal(srv_cycle(s, "amnesia", id, NULL), 1);
    char *op = srv_token(s, "registry:operate", 600, NULL, NULL);
    http_resp r;
    assert_int_equal(http_post(s, "/registry/admin/freeze", op, "{\"reason\":\"a\"}", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_int_equal(http_post(s, "/registry/admin/thaw", op, "{\"reason\":\"b\"}", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/registry/1", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_int_equal(dir_entries(work), 0);
    struct stat st;
    assert_true(stat(s->data_dir, &st) != 0); /* nor the harness's default data dir */
    assert_int_equal(srv_stop(s), 0);
    assert_int_equal(dir_entries(work), 0);
    /* nothing survives a restart */
    srv_start_env(s, extra, NULL, work);
    assert_int_equal(srv_head_version(s, NULL), 0);
    char path[96];
    snprintf(path, sizeof path, "/registry/proposals/%s", id);
    assert_int_equal(http_get(s, path, &r), 0);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    assert_int_equal(dir_entries(work), 0);
    free(op);
}

static void test_amnesia_refuses_a_data_dir_not_on_tmpfs(void **state)
{
    srv *s = *state;
    if (on_tmpfs(s->dir)) {
        print_message("# %s is on tmpfs here: the refusal cannot be shown\n", s->dir);
    } else {
        const char *extra[] = {"--storage-kind", "lmdb", "--amnesia-enabled", "true", NULL};
        srv_run run = {.extra = extra};
        buf out = {0};
        assert_int_equal(srv_run_to_exit(s, &run, &out, 20), 2);
        if (!strstr(out.data, "amnesia"))
            fail_msg("the refusal does not name amnesia: %s", out.data);
        buf_free(&out);
        struct stat st;
        assert_true(stat(s->data_dir, &st) != 0); /* and it wrote nothing */
    }
    /* the same LMDB store on a tmpfs is fine */
    if (on_tmpfs("/dev/shm")) {
        snprintf(shm_dir, sizeof shm_dir, "/dev/shm/svcr-it-XXXXXX");
        assert_non_null(mkdtemp(shm_dir));
        char data[128];
        snprintf(data, sizeof data, "%s/data", shm_dir);
        const char *extra[] = {"--data-dir", data, "--amnesia-enabled", "true", NULL};
        srv_start(s, extra);
        assert_int_equal(srv_cycle(s, "shm", NULL, NULL), 1);
        assert_int_equal(srv_stop(s), 0);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* logs                                                                                      */

/* The log line of the request with this corr id (parsed), or NULL. */
static json_t *log_line_for(const char *log, const char *corr_id)
{
    char needle[80];
    snprintf(needle, sizeof needle, "\"corr_id\":\"%s\"", corr_id);
    for (const char *p = log; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *hit = strstr(p, needle);
        if (hit && hit < p + len && strstr(p, "\"event\":\"http.request\"") &&
            strstr(p, "\"event\":\"http.request\"") < p + len)
            return json_loadb(p, len, 0, NULL);
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

/* Sends one request with X-Corr-ID `corr` (and a token if given); returns the status. */
static long logged_request(srv *s, const char *method, const char *path, const char *token,
                           const char *body, const char *corr)
{
    char ch[80], auth[2048];
    snprintf(ch, sizeof ch, "X-Corr-ID: %s", corr);
    const char *h[4] = {ch, "Content-Type: application/json", NULL, NULL};
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h[2] = auth;
    }
    http_resp r;
    assert_int_equal(http_do(s, method, path, h, body, body ? strlen(body) : 0, &r), 0);
    long st = r.status;
    http_resp_free(&r);
    return st;
}

static void assert_request_line(const json_t *j, const char *route, const char *method, long status,
                                const char *err_code)
{
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "route")), route);
    assert_string_equal(json_string_value(json_object_get(j, "method")), method);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
    assert_true(json_is_number(json_object_get(j, "latency_ms")));
    const json_t *ec = json_object_get(j, "err.code");
    if (err_code)
        assert_string_equal(json_string_value(ec), err_code);
    else
        assert_null(ec);
}

static void test_logs_are_json_lines_with_request_fields_and_no_token(void **state)
{
    srv *s = *state;
    srv_start(s, NULL);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    char *wrong = srv_token(s, "registry:approve", 600, NULL, NULL);
    char *body = srv_next_propose_body(s, "logs");
    const char *c[] = {"01HZZZZZZZZZZZZZZZZZZZZZZ1", "01HZZZZZZZZZZZZZZZZZZZZZZ2",
                       "01HZZZZZZZZZZZZZZZZZZZZZZ3", "01HZZZZZZZZZZZZZZZZZZZZZZ4",
                       "01HZZZZZZZZZZZZZZZZZZZZZZ5"};
    assert_int_equal(logged_request(s, "GET", "/registry/head", NULL, NULL, c[0]), 200);
    assert_int_equal(logged_request(s, "POST", "/registry/proposals", tok, "{", c[1]), 400);
    assert_int_equal(logged_request(s, "POST", "/registry/proposals", wrong, body, c[2]), 403);
    assert_int_equal(logged_request(s, "POST", "/registry/proposals", tok, body, c[3]), 202);
    assert_int_equal(logged_request(s, "GET", "/registry/77", NULL, NULL, c[4]), 404);
    /* lines are written when a request completes, just after its answer */
    char *log = NULL;
    json_t *last = NULL;
    for (int i = 0; i < 100 && !last; i++) {
        free(log);
        log = slurp(s->log_path);
        last = log ? log_line_for(log, c[4]) : NULL;
        if (!last)
            sleep_ms(20);
    }
    assert_non_null(last);
    json_decref(last);
    int lines = 0;
    for (char *p = log; p && *p;) {
        char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len) {
            json_t *j = json_loadb(p, len, 0, NULL);
            if (!json_is_object(j))
                fail_msg("not a JSON line: %.*s", (int)len, p);
            assert_true(json_is_string(json_object_get(j, "ts")));
            assert_true(json_is_string(json_object_get(j, "level")));
            assert_string_equal(json_string_value(json_object_get(j, "service")), "svc-registry");
            assert_true(json_is_string(json_object_get(j, "event")));
            json_decref(j);
            lines++;
        }
        p = eol ? eol + 1 : NULL;
    }
    assert_true(lines >= 5);
    struct {
        const char *route, *method;
        long status;
        const char *err;
    } want[] = {{"/registry/head", "GET", 200, NULL},
                {"/registry/proposals", "POST", 400, "Malformed"},
                {"/registry/proposals", "POST", 403, "Forbidden"},
                {"/registry/proposals", "POST", 202, NULL},
                {"/registry/{version}", "GET", 404, "NotFound"}};
    for (size_t i = 0; i < 5; i++) {
        json_t *j = log_line_for(log, c[i]);
        if (!j)
            fail_msg("no http.request line with corr_id %s", c[i]);
        assert_request_line(j, want[i].route, want[i].method, want[i].status, want[i].err);
        json_decref(j);
    }
    assert_null(strstr(log, tok));
    assert_null(strstr(log, wrong));
    assert_null(strstr(log, "Bearer"));
    free(log);
    free(body);
    free(wrong);
    free(tok);
}

static void test_log_format_text_writes_plain_lines(void **state)
{
    srv *s = *state;
    const char *extra[] = {"--log-format", "text", NULL};
    srv_start(s, extra);
    http_resp r;
    assert_int_equal(http_get(s, "/version", &r), 0);
    http_resp_free(&r);
    assert_int_equal(srv_stop(s), 0);
    char *log = slurp(s->log_path);
    assert_non_null(log);
    int lines = 0, requests = 0;
    for (char *p = log; *p;) {
        char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len) {
            json_t *j = json_loadb(p, len, 0, NULL);
            if (j || *p == '{')
                fail_msg("a JSON line with --log-format text: %.*s", (int)len, p);
            lines++;
            char line[1024];
            snprintf(line, sizeof line, "%.*s", (int)len, p);
            requests += strstr(line, "http.request") && strstr(line, "route=/version") &&
                        strstr(line, "status=200");
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    assert_true(lines >= 2);
    assert_int_equal(requests, 1);
    free(log);
}

/* ---------------------------------------------------------------------------------------- */
/* configuration errors: exit status 2 and a message naming the key                          */

static void expect_exit_2(const srv *s, const char *const *extra, const char *root_keys,
                          const char *must_name)
{
    srv_run run = {.keys_path = root_keys, .extra = extra};
    buf out = {0};
    int st = srv_run_to_exit(s, &run, &out, 20);
    if (st != 2 || !strstr(out.data, must_name))
        fail_msg("expected exit 2 naming %s, got %d: %s", must_name, st, out.data);
    buf_free(&out);
}

static void test_config_errors_stop_the_start_with_status_2(void **state)
{
    srv *s = *state;
    const char *inflight[] = {"--limits-inflight", "0", NULL};
    expect_exit_2(s, inflight, NULL, "limits.inflight");
    const char *unknown[] = {"--no-such-flag", "1", NULL};
    expect_exit_2(s, unknown, NULL, "--no-such-flag");
    const char *pin[] = {"--bootstrap-trust-roots-hash", ZERO_B3, NULL};
    expect_exit_2(s, pin, NULL, "bootstrap.trust_roots_hash");
    char loose[400];
    snprintf(loose, sizeof loose, "%s/root-keys-0644.json", s->dir);
    char *keys = slurp(s->keys_path);
    write_text(loose, keys, 0644);
    free(keys);
    expect_exit_2(s, NULL, loose, "auth.root_keys_path");
    /* and with the right pin it starts */
    char roots_b3[128];
    {
        const char *argv[] = {srv_cli_bin(), "payload-b3", s->roots_path, NULL};
        buf out = {0};
        assert_int_equal(run_to_exit(argv, &out, 10), 0);
        snprintf(roots_b3, sizeof roots_b3, "%.67s", out.data);
        buf_free(&out);
    }
    const char *good[] = {"--bootstrap-trust-roots-hash", roots_b3, NULL};
    srv_start(s, good);
}

/* ---------------------------------------------------------------------------------------- */
/* HEAD, 405 and X-Corr-ID on every answer                                                   */

/* Request on a raw connection; reads at most `max_s` (a stream never ends). */
static void raw_get(const srv *s, const char *method, const char *path, const char *headers,
                    double max_s, raw_result *r)
{
    char *req = raw_request_text(method, path, NULL, headers, NULL);
    raw_exchange(s->port, req, max_s, r);
    free(req);
}

/* Concrete paths of every route, given a committed version 1 and a proposal id. */
static void concrete_paths(const char *id, char paths[RT_COUNT][96])
{
    for (int i = 0; i < RT_COUNT; i++) {
        const char *label = route_labels[i];
        const char *brace = strchr(label, '{');
        if (i == RT_NOT_FOUND)
            snprintf(paths[i], 96, "/no/such/path");
        else if (!brace)
            snprintf(paths[i], 96, "%s", label);
        else if (strstr(label, "{version}"))
            snprintf(paths[i], 96, "%.*s1", (int)(brace - label), label);
        else
            snprintf(paths[i], 96, "%.*s%s", (int)(brace - label), label, id);
    }
}

static void compare_head_with_get(const srv *s, const char *path)
{
    int is_stream = strcmp(path, "/registry/stream") == 0;
    raw_result g, h;
    raw_get(s, "GET", path, NULL, is_stream ? 0.5 : 10, &g);
    raw_get(s, "HEAD", path, NULL, is_stream ? 0.5 : 10, &h);
    if (g.status != h.status || !g.status)
        fail_msg("%s: GET %d, HEAD %d", path, g.status, h.status);
    const char *names[] = {"Content-Type", "Cache-Control", "ETag", "Allow", "Retry-After"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char gv[256] = "", hv[256] = "";
        int gh = raw_header(&g.data, names[i], gv, sizeof gv);
        int hh = raw_header(&h.data, names[i], hv, sizeof hv);
        if (gh != hh || strcmp(gv, hv) != 0)
            fail_msg("%s: %s differs: GET \"%s\"%s, HEAD \"%s\"%s", path, names[i], gv,
                     gh ? " (absent)" : "", hv, hh ? " (absent)" : "");
    }
    char cl[32];
    if (!is_stream && strcmp(path, "/metrics") != 0 &&
        raw_header(&g.data, "Content-Length", cl, sizeof cl) == 0) {
        char hl[32] = "";
        raw_header(&h.data, "Content-Length", hl, sizeof hl);
        if (strcmp(cl, hl) != 0)
            fail_msg("%s: Content-Length GET %s, HEAD %s", path, cl, hl);
    }
    char id[64];
    assert_int_equal(raw_header(&h.data, "X-Corr-ID", id, sizeof id), 0);
    if (*raw_body(&h.data))
        fail_msg("HEAD %s has a body: %.100s", path, raw_body(&h.data));
    raw_result_free(&g);
    raw_result_free(&h);
}

static void test_head_answers_like_get_and_other_methods_get_405_with_allow(void **state)
{
    srv *s = *state;
    srv_start(s, NULL);
    char id[27];
    srv_cycle(s, "head", id, NULL);
    char paths[RT_COUNT][96];
    concrete_paths(id, paths);
    for (int i = 0; i < RT_COUNT; i++)
        if (route_table[i].methods & M_GET)
            compare_head_with_get(s, paths[i]);
    const char *methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (int i = 0; i < RT_COUNT; i++) {
        char param[96];
        assert_int_equal(route_match(paths[i], param, sizeof param), i);
        for (size_t k = 0; k < sizeof methods / sizeof *methods; k++) {
            unsigned bit = strcmp(methods[k], "GET") == 0    ? M_GET
                           : strcmp(methods[k], "POST") == 0 ? M_POST
                                                             : 0;
            if (route_table[i].methods & bit)
                continue;
            raw_result r;
            raw_get(s, methods[k], paths[i], NULL, 10, &r);
            char allow[64] = "", cc[64] = "", corr[64] = "";
            int want = i == RT_NOT_FOUND ? 404 : 405;
            if (r.status != want)
                fail_msg("%s %s: %d, expected %d", methods[k], paths[i], r.status, want);
            assert_int_equal(raw_header(&r.data, "X-Corr-ID", corr, sizeof corr), 0);
            if (want == 405) {
                assert_int_equal(raw_header(&r.data, "Allow", allow, sizeof allow), 0);
                assert_string_equal(allow, route_allow(&route_table[i]));
                assert_non_null(strstr(raw_body(&r.data), "\"MethodNotAllowed\""));
                if (route_table[i].methods == M_POST) {
                    assert_int_equal(raw_header(&r.data, "Cache-Control", cc, sizeof cc), 0);
                    assert_string_equal(cc, "no-store");
                }
            }
            raw_result_free(&r);
        }
    }
}

static void assert_corr_echo(const raw_result *r, const char *want, int status)
{
    char got[64] = "";
    if (r->status != status)
        fail_msg("status %d, expected %d: %.200s", r->status, status,
                 r->data.data ? r->data.data : "");
    assert_int_equal(raw_header(&r->data, "X-Corr-ID", got, sizeof got), 0);
    if (want)
        assert_string_equal(got, want);
    else
        assert_true(ulid_valid(got, strlen(got)));
}

static void test_every_answer_carries_x_corr_id_304_and_sse_included(void **state)
{
    srv *s = *state;
    srv_start(s, NULL);
    char b3[68];
    srv_cycle(s, "corr", NULL, b3);
    char inm[160], both[256];
    snprintf(inm, sizeof inm, "If-None-Match: \"%s\"\r\n", b3);
    snprintf(both, sizeof both, "%sX-Corr-ID: " CORR "\r\n", inm);
    const char *uuid = "123e4567-e89b-42d3-a456-426614174000";
    char uuid_h[96];
    snprintf(uuid_h, sizeof uuid_h, "X-Corr-ID: %s\r\n", uuid);
    struct {
        const char *method, *path, *headers, *echo;
        int status;
    } cases[] = {
        {"GET", "/registry/1", "X-Corr-ID: " CORR "\r\n", CORR, 200},
        {"GET", "/registry/1", both, CORR, 304},
        {"GET", "/registry/1", inm, NULL, 304},
        {"HEAD", "/registry/1", both, CORR, 304},
        {"GET", "/registry/2", "X-Corr-ID: " CORR "\r\n", CORR, 404},
        {"GET", "/nope", uuid_h, uuid, 404},
        {"DELETE", "/registry/head", "X-Corr-ID: " CORR "\r\n", CORR, 405},
        {"POST", "/registry/proposals", "X-Corr-ID: " CORR "\r\n", CORR, 401},
        {"GET", "/readyz", "X-Corr-ID: not-an-id\r\n", NULL, 200},
        {"GET", "/metrics", NULL, NULL, 200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        raw_result r;
        raw_get(s, cases[i].method, cases[i].path, cases[i].headers, 10, &r);
        assert_corr_echo(&r, cases[i].echo, cases[i].status);
        raw_result_free(&r);
    }
    /* SSE: the stream's headers carry it too (read for a moment: the stream does not end) */
    raw_result r;
    raw_get(s, "GET", "/registry/stream", "X-Corr-ID: " CORR "\r\n", 0.5, &r);
    assert_corr_echo(&r, CORR, 200);
    char ct[64];
    assert_int_equal(raw_header(&r.data, "Content-Type", ct, sizeof ct), 0);
    assert_non_null(strstr(ct, "text/event-stream"));
    raw_result_free(&r);
    raw_get(s, "GET", "/registry/stream?from=0", NULL, 0.5, &r);
    assert_corr_echo(&r, NULL, 200);
    raw_result_free(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigterm_drains_in_flight_requests, srv_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_sigterm_during_concurrent_writes_loses_no_acknowledged_write, srv_setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_failed_sync_fails_one_write_then_the_write_plane_recovers, srv_setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_full_disk_fails_every_write_while_reads_keep_serving,
                                        srv_setup, teardown),
        cmocka_unit_test_setup_teardown(test_sighup_reloads_limits_and_refuses_a_changed_bind_addr,
                                        srv_setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_addr_serves_only_metrics, srv_setup, teardown),
        cmocka_unit_test_setup_teardown(test_amnesia_with_memory_storage_leaves_no_file, srv_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_amnesia_refuses_a_data_dir_not_on_tmpfs, srv_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_logs_are_json_lines_with_request_fields_and_no_token,
                                        srv_setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_format_text_writes_plain_lines, srv_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_errors_stop_the_start_with_status_2, srv_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_head_answers_like_get_and_other_methods_get_405_with_allow, srv_setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_answer_carries_x_corr_id_304_and_sse_included,
                                        srv_setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_waits_for_a_request_whose_headers_are_arriving,
                                        srv_setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
