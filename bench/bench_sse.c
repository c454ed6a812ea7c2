/* bench_sse.c - SSE fan-out: N subscribers, K governed commits, commit -> delivery latency. */
/*
 * usage: bench_sse --port P --root-keys FILE --trust-roots FILE [--host 127.0.0.1]
 *                  [--clients 10000] [--commits 20] [--interval-ms 300] [--window 256]
 *                  [--server-pid PID] [--key-id ID] [--connect-timeout-s 40] [--drain-s 5]
 *
 * The server must hold a store made by gen_store (its HEAD's signer set is the 3-of-5 set of
 * `--trust-roots`, whose keys are deterministic: signer "org:bench<i>#key1" has the Ed25519 seed
 * of 32 bytes all equal to i+1, i = 0..4) and must accept tokens minted from `--root-keys`.
 *
 * What it does:
 *   1. Opens --clients non-blocking TCP connections to GET /registry/stream, at most --window
 *      of them between connect() and their first event at a time (so the accept queue keeps
 *      up), all driven by one epoll loop in a reader thread. The reader de-chunks the HTTP/1.1
 *      body, parses SSE lines (`id:`, `event:`, blank line = dispatch) and records, per client
 *      and committed version, the CLOCK_MONOTONIC time of the read() that completed the event.
 *      Every client's first event must be the current HEAD (version B).
 *   2. Reads the server's VmRSS (--server-pid) before any client connects and once all are.
 *   3. A writer thread makes --commits governed commits over HTTP with libcurl (one keep-alive
 *      connection): GET /registry/head, propose HEAD+1 (the trust-roots signer set + one small
 *      service item), 3 real Ed25519 approvals (signers 0..2), then commit; commits are spaced
 *      --interval-ms apart. t0 = the moment just before the commit request is sent.
 *   4. Waits until every live client has every version B+1..B+K (or --drain-s after the last
 *      commit), then stops and reports.
 *
 * Latency of a delivery = receive time - t0 of that version's commit. Reported per commit and
 * overall: p50 / p99 / max over all subscribers (the per-commit max is "commit -> last
 * delivery"), missed deliveries (a version a connected client never got: must be 0), reconcile
 * events, duplicates, disconnects. Output: one JSON object per line on stdout (kind "commit"
 * per commit, then kind "summary"); a human summary on stderr. Exit status 0 when every client
 * connected and first saw HEAD, every commit succeeded and nothing was missed; 1 otherwise; 2 for
 * bad usage.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "lib/proc_rss.h"
#include "auth/macaroon.h"
#include "crypto/approval.h"
#include "interop/buf.h"
#include "interop/rfc3339.h"

#define NSIGNERS 5
#define QUORUM 3
#define HDR_CAP 2048
#define LINE_CAP 48

/* ---- options ---------------------------------------------------------------------------- */

typedef struct opts {
    const char *host;
    int port;
    size_t clients;
    size_t commits;
    long interval_ms;
    size_t window;
    long server_pid;
    const char *root_keys;
    const char *key_id;
    const char *trust_roots;
    double connect_timeout_s;
    double drain_s;
} opts;

/* ---- time, stats ------------------------------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..1) of v[0..n) already sorted ascending; 0 when n is 0. */
static double pct(const double *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t i = (size_t)(q * (double)n + 0.999999); /* ceil(q n): the rank */
    if (i > 0)
        i--;
    return v[i < n ? i : n - 1];
}

/* utime + stime of process `pid` in seconds, or -1. */
static double read_cpu_s(long pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *p = strrchr(text, ')'); /* comm may hold spaces */
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the subscribers (reader thread) ----------------------------------------------------- */

enum { CS_CONNECTING, CS_HEADERS, CS_BODY, CS_DEAD };
enum { CH_SIZE, CH_EXT, CH_DATA, CH_CRLF };

typedef struct sse_cli {
    int fd;
    uint8_t state;
    uint8_t chunked;
    uint8_t ch_state;
    uint8_t got_first;
    uint8_t has_id;
    uint8_t ev_reconcile;
    uint16_t line_len;
    uint32_t reconciles; /* registry.reconcile events after the first event */
    uint32_t hdr_len;
    uint64_t chunk_left;
    uint64_t ev_id;
    uint64_t last_id;
    uint64_t first_id;
    char *hdr; /* response header bytes until the blank line; NULL afterwards */
    char line[LINE_CAP];
} sse_cli;

typedef struct fanout {
    const opts *o;
    struct sockaddr_in addr;
    sse_cli *cli;
    int ep;
    /* written by the reader thread only */
    size_t started, inflight, connect_failed, first_reconcile, header_failed;
    uint64_t first_min, first_max;
    uint64_t reconciles, dups, unexpected, reorders;
    int64_t *recv_ns;     /* [client * commits + k]: receive time of version base+1+k, 0 = none */
    atomic_size_t *deliv; /* [k]: clients that got version base+1+k */
    atomic_size_t firsts; /* clients that got their first event */
    atomic_size_t dead;   /* clients gone after their first event */
    atomic_size_t dead_before_first;
    atomic_uint_fast64_t base; /* HEAD version at the start of the commit phase; set by main */
    atomic_int stop;
    atomic_int connect_done;
    double reader_cpu_s;
} fanout;

static const char stream_req_fmt[] = "GET /registry/stream HTTP/1.1\r\nHost: %s:%d\r\n"
                                     "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";

static void cli_kill(fanout *f, sse_cli *c)
{
    if (c->state == CS_DEAD)
        return;
    if (c->got_first)
        atomic_fetch_add(&f->dead, 1);
    else {
        atomic_fetch_add(&f->dead_before_first, 1);
        f->inflight--;
    }
    epoll_ctl(f->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->state = CS_DEAD;
    free(c->hdr);
    c->hdr = NULL;
}

/* Starts connection i. A failure to even create the socket counts as connect_failed. */
static void cli_start(fanout *f, size_t i)
{
    sse_cli *c = &f->cli[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    f->started++;
    if (c->fd < 0) {
        c->state = CS_DEAD;
        f->connect_failed++;
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)&f->addr, sizeof f->addr) != 0 &&
        errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        c->state = CS_DEAD;
        f->connect_failed++;
        return;
    }
    c->state = CS_CONNECTING;
    f->inflight++;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u64 = i};
    if (epoll_ctl(f->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        cli_kill(f, c);
}

/* One complete SSE event (id, type) arrived at time ts on client c. */
static void dispatch(fanout *f, sse_cli *c, int64_t ts)
{
    uint64_t id = c->ev_id;
    if (!c->got_first) {
        c->got_first = 1;
        c->first_id = id;
        if (c->ev_reconcile)
            f->first_reconcile++;
        if (id < f->first_min)
            f->first_min = id;
        if (id > f->first_max)
            f->first_max = id;
        f->inflight--;
        atomic_fetch_add(&f->firsts, 1);
    } else {
        uint64_t base = atomic_load(&f->base);
        if (c->ev_reconcile) {
            f->reconciles++;
            c->reconciles++;
        }
        if (id <= c->last_id)
            f->reorders++;
        size_t k = f->o->commits;
        if (base && id > base && id <= base + k) {
            int64_t *slot = &f->recv_ns[(size_t)(c - f->cli) * k + (id - base - 1)];
            if (*slot)
                f->dups++;
            else {
                *slot = ts;
                atomic_fetch_add(&f->deliv[id - base - 1], 1);
            }
        } else {
            f->unexpected++;
        }
    }
    if (id > c->last_id)
        c->last_id = id;
}

static void on_line(fanout *f, sse_cli *c, int64_t ts)
{
    const char *l = c->line;
    size_t n = c->line_len;
    if (n && l[n - 1] == '\r')
        n--;
    if (n == 0) {
        if (c->has_id)
            dispatch(f, c, ts);
        c->has_id = 0;
        c->ev_reconcile = 0;
        return;
    }
    if (n >= 3 && !memcmp(l, "id:", 3)) {
        c->ev_id = strtoull(l + 3 + (l[3] == ' '), NULL, 10);
        c->has_id = 1;
    } else if (n >= 6 && !memcmp(l, "event:", 6)) {
        const char *t = l + 6 + (l[6] == ' ');
        c->ev_reconcile = !strncmp(t, "registry.reconcile", 18);
    }
}

/* Feeds SSE body bytes. Lines longer than LINE_CAP-1 are truncated (only `id:`/`event:`
 * prefixes matter; `data:` lines are skipped). */
static void sse_feed(fanout *f, sse_cli *c, const char *p, size_t n, int64_t ts)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            c->line[c->line_len < LINE_CAP ? c->line_len : LINE_CAP - 1] = '\0';
            on_line(f, c, ts);
            c->line_len = 0;
        } else if (c->line_len < LINE_CAP - 1) {
            c->line[c->line_len++] = p[i];
        } else {
            c->line_len = LINE_CAP - 1;
        }
    }
}

/* Feeds HTTP body bytes (de-chunking when needed). Returns -1 at the end of the stream. */
static int body_feed(fanout *f, sse_cli *c, const char *p, size_t n, int64_t ts)
{
    if (!c->chunked) {
        sse_feed(f, c, p, n, ts);
        return 0;
    }
    size_t i = 0;
    while (i < n) {
        switch (c->ch_state) {
        case CH_SIZE: {
            char ch = p[i++];
            if (isxdigit((unsigned char)ch))
                c->chunk_left =
                    c->chunk_left * 16 +
                    (uint64_t)(isdigit((unsigned char)ch) ? ch - '0' : (tolower(ch) - 'a' + 10));
            else if (ch == ';')
                c->ch_state = CH_EXT;
            else if (ch == '\n') {
                if (c->chunk_left == 0)
                    return -1; /* last chunk: the server ended the stream */
                c->ch_state = CH_DATA;
            }
            break;
        }
        case CH_EXT:
            if (p[i++] == '\n') {
                if (c->chunk_left == 0)
                    return -1;
                c->ch_state = CH_DATA;
            }
            break;
        case CH_DATA: {
            size_t take = n - i;
            if (take > c->chunk_left)
                take = (size_t)c->chunk_left;
            sse_feed(f, c, p + i, take, ts);
            i += take;
            c->chunk_left -= take;
            if (!c->chunk_left)
                c->ch_state = CH_CRLF;
            break;
        }
        case CH_CRLF:
            if (p[i++] == '\n')
                c->ch_state = CH_SIZE;
            break;
        }
    }
    return 0;
}

/* Collects response header bytes; on the blank line checks the status and framing and feeds
 * the rest as body. Returns -1 to drop the client. */
static int hdr_feed(fanout *f, sse_cli *c, const char *p, size_t n, int64_t ts)
{
    if (!c->hdr && !(c->hdr = malloc(HDR_CAP + 1)))
        return -1;
    size_t take = n;
    if (take > HDR_CAP - c->hdr_len)
        take = HDR_CAP - c->hdr_len;
    memcpy(c->hdr + c->hdr_len, p, take);
    size_t old = c->hdr_len;
    c->hdr_len += (uint32_t)take;
    c->hdr[c->hdr_len] = '\0';
    char *end = strstr(c->hdr, "\r\n\r\n");
    if (!end)
        return c->hdr_len >= HDR_CAP ? -1 : 0;
    size_t hlen = (size_t)(end - c->hdr) + 4;
    if (strncmp(c->hdr, "HTTP/1.1 200", 12) && strncmp(c->hdr, "HTTP/1.0 200", 12)) {
        f->header_failed++;
        return -1;
    }
    c->chunked = strcasestr(c->hdr, "\r\ntransfer-encoding: chunked") != NULL;
    c->state = CS_BODY;
    c->ch_state = CH_SIZE;
    free(c->hdr);
    c->hdr = NULL;
    size_t used = hlen - old; /* bytes of p that belonged to the header */
    return body_feed(f, c, p + used, n - used, ts);
}

static void cli_event(fanout *f, sse_cli *c, uint32_t events, char *rd, size_t rdcap)
{
    if (c->state == CS_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
            f->connect_failed++;
            cli_kill(f, c);
            return;
        }
        char req[256];
        int n = snprintf(req, sizeof req, stream_req_fmt, f->o->host, f->o->port);
        if (write(c->fd, req, (size_t)n) != n) {
            f->connect_failed++;
            cli_kill(f, c);
            return;
        }
        c->state = CS_HEADERS;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(c - f->cli)};
        epoll_ctl(f->ep, EPOLL_CTL_MOD, c->fd, &ev);
        return;
    }
    ssize_t n = read(c->fd, rd, rdcap);
    int64_t ts = now_ns();
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        cli_kill(f, c);
        return;
    }
    int rc = c->state == CS_HEADERS ? hdr_feed(f, c, rd, (size_t)n, ts)
                                    : body_feed(f, c, rd, (size_t)n, ts);
    if (rc < 0)
        cli_kill(f, c);
}

static void *reader_main(void *arg)
{
    fanout *f = arg;
    size_t want = f->o->clients;
    struct epoll_event evs[1024];
    char *rd = malloc(65536);
    if (!rd) {
        atomic_store(&f->connect_done, 1);
        return NULL;
    }
    while (!atomic_load(&f->stop)) {
        while (f->started < want && f->inflight < f->o->window)
            cli_start(f, f->started);
        if (!atomic_load(&f->connect_done) && f->started == want && f->inflight == 0)
            atomic_store(&f->connect_done, 1);
        int n = epoll_wait(f->ep, evs, 1024, 20);
        for (int i = 0; i < n; i++)
            cli_event(f, &f->cli[evs[i].data.u64], evs[i].events, rd, 65536);
    }
    free(rd);
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    f->reader_cpu_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return NULL;
}

/* ---- the writer (libcurl) ---------------------------------------------------------------- */

typedef struct keyset {
    char id[NSIGNERS][32];
    uint8_t pk[NSIGNERS][ED25519_PK_LEN];
    uint8_t sk[NSIGNERS][ED25519_SK_LEN];
} keyset;

typedef struct writer {
    const opts *o;
    fanout *f;
    CURL *h;
    const char *token;
    const char *roots; /* the signer_set item, verbatim */
    const keyset *keys;
    char base_url[128];
    int64_t *t0_ns;    /* [k]: commit request sent */
    double *commit_ms; /* [k]: commit answer latency */
    uint64_t *version; /* [k]: committed version */
    size_t done;       /* commits that succeeded (in order; the writer stops at the first error) */
    char error[512];
} writer;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    return buf_append(ud, p, sz * nm) == 0 ? sz * nm : 0;
}

/* One request on the writer's keep-alive handle. body == NULL: GET. Returns the HTTP status
 * (0 on a transport error); the answer's body is in *out (reset first). */
static long http_do(writer *w, const char *path, const char *body, buf *out)
{
    char url[512], auth[AUTH_TOKEN_MAX_LEN + 32];
    snprintf(url, sizeof url, "%s%s", w->base_url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", w->token);
    struct curl_slist *hd = NULL;
    hd = curl_slist_append(hd, auth);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Expect:");
    buf_reset(out);
    curl_easy_setopt(w->h, CURLOPT_URL, url);
    curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(w->h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(w->h, CURLOPT_TIMEOUT_MS, 10000L);
    if (body) {
        curl_easy_setopt(w->h, CURLOPT_POST, 1L);
        curl_easy_setopt(w->h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(w->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(w->h, CURLOPT_HTTPGET, 1L);
    }
    long status = 0;
    if (curl_easy_perform(w->h) == CURLE_OK)
        curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hd);
    return status;
}

/* Copies string member `name` of JSON text `text` into out[0..cap). Returns 0 or -1. */
static int json_str(const char *text, const char *name, char *out, size_t cap)
{
    json_t *j = json_loads(text ? text : "", 0, NULL);
    const char *s = json_string_value(json_object_get(j, name));
    int rc = -1;
    if (s && strlen(s) < cap) {
        memcpy(out, s, strlen(s) + 1);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

static int json_u64(const char *text, const char *name, uint64_t *out)
{
    json_t *j = json_loads(text ? text : "", 0, NULL);
    json_t *v = json_object_get(j, name);
    int rc = json_is_integer(v) ? 0 : -1;
    if (!rc)
        *out = (uint64_t)json_integer_value(v);
    json_decref(j);
    return rc;
}

/* Prepares (propose + quorum of approvals) and, at `at_ns`, commits version HEAD+1 as commit
 * number k. Returns 0 or -1 with w->error set. */
static int one_commit(writer *w, size_t k, int64_t at_ns)
{
    buf out = {0}, body = {0};
    int rc = -1;
    uint64_t head = 0;
    char prev[80], id[40], b3[80], path[128];
    long st = http_do(w, "/registry/head", NULL, &out);
    if (st != 200 || json_u64(out.data, "version", &head) ||
        json_str(out.data, "payload_b3", prev, sizeof prev)) {
        snprintf(w->error, sizeof w->error, "GET /registry/head: %ld %s", st,
                 out.data ? out.data : "");
        goto done;
    }
    buf_printf(&body,
               "{\"schema_version\":\"1.0.0\",\"payload\":{\"version\":%llu,\"prev_hash\":\"%s\","
               "\"items\":[%s,{\"kind\":\"service\",\"id\":\"svc:sse-bench\",\"endpoint\":"
               "\"https://sse-bench.local\",\"meta\":{\"commit\":%zu}}]}}",
               (unsigned long long)head + 1, prev, w->roots, k);
    st = http_do(w, "/registry/proposals", body.data, &out);
    if ((st != 202 && st != 200) || json_str(out.data, "proposal_id", id, sizeof id) ||
        json_str(out.data, "payload_b3", b3, sizeof b3)) {
        snprintf(w->error, sizeof w->error, "propose v%llu: %ld %s", (unsigned long long)head + 1,
                 st, out.data ? out.data : "");
        goto done;
    }
    snprintf(path, sizeof path, "/registry/approvals/%s", id);
    for (int i = 0; i < QUORUM; i++) {
        char sig[APPROVAL_SIG_B64_LEN + 1], ts[32];
        if (approval_sign_ed25519(b3, w->keys->sk[i], sig) != 0) {
            snprintf(w->error, sizeof w->error, "cannot sign %s", b3);
            goto done;
        }
        rfc3339_format((int64_t)time(NULL), ts);
        buf_reset(&body);
        buf_printf(
            &body,
            "{\"signer_id\":\"%s\",\"algo\":\"ed25519\",\"sig\":\"%s\",\"signed_at\":\"%s\"}",
            w->keys->id[i], sig, ts);
        st = http_do(w, path, body.data, &out);
        if (st != 200) {
            snprintf(w->error, sizeof w->error, "approve %s by %s: %ld %s", id, w->keys->id[i], st,
                     out.data ? out.data : "");
            goto done;
        }
    }
    snprintf(path, sizeof path, "/registry/commit/%s", id);
    sleep_ns(at_ns - now_ns());
    int64_t t0 = now_ns();
    w->t0_ns[k] = t0;
    st = http_do(w, path, "{}", &out);
    w->commit_ms[k] = (double)(now_ns() - t0) / 1e6;
    uint64_t v = 0;
    if (st != 201 || json_u64(out.data, "version", &v) || v != head + 1) {
        snprintf(w->error, sizeof w->error, "commit %s: %ld %s", id, st, out.data ? out.data : "");
        goto done;
    }
    w->version[k] = v;
    rc = 0;
done:
    buf_free(&out);
    buf_free(&body);
    return rc;
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    int64_t start = now_ns() + 100 * 1000000LL;
    for (size_t k = 0; k < w->o->commits; k++) {
        if (one_commit(w, k, start + (int64_t)k * w->o->interval_ms * 1000000LL) != 0)
            break;
        w->done++;
    }
    return NULL;
}

/* ---- setup helpers ----------------------------------------------------------------------- */

/* Raises RLIMIT_NOFILE to at least `need` if the hard limit allows. Returns the soft limit. */
static rlim_t raise_nofile(rlim_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        struct rlimit up = {need, need};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            return need;
    }
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
    if (rl.rlim_cur < need)
        rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

/* Reads a whole small text file, trailing whitespace removed. Caller frees; NULL on error. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    buf b = {0};
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        buf_append(&b, tmp, n);
    fclose(fp);
    while (b.len && isspace((unsigned char)b.data[b.len - 1]))
        b.data[--b.len] = '\0';
    return b.data ? buf_steal(&b, NULL) : NULL;
}

static void keyset_make(keyset *k)
{
    for (int i = 0; i < NSIGNERS; i++) {
        snprintf(k->id[i], sizeof k->id[i], "org:bench%d#key1", i);
        uint8_t seed[ED25519_SEED_LEN];
        memset(seed, i + 1, sizeof seed);
        ed25519_keypair_from_seed(seed, k->pk[i], k->sk[i]);
    }
}

/* The value of the first sample of metric `name` (exact name, optionally followed by labels)
 * in Prometheus text, or -1. */
static double metric_value(const char *text, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (!strncmp(p, name, nl) && (p[nl] == ' ' || p[nl] == '{')) {
            const char *sp = strchr(p, ' ');
            return sp ? strtod(sp + 1, NULL) : -1;
        }
    }
    return -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_sse --port P --root-keys FILE --trust-roots FILE [--host H]\n"
                    "                 [--clients N] [--commits K] [--interval-ms MS] [--window W]\n"
                    "                 [--server-pid PID] [--key-id ID] [--connect-timeout-s S]"
                    " [--drain-s S]\n");
}

static int parse_opts(int argc, char **argv, opts *o)
{
    *o = (opts){.host = "127.0.0.1",
                .clients = 10000,
                .commits = 20,
                .interval_ms = 300,
                .window = 256,
                .connect_timeout_s = 40,
                .drain_s = 5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return -1;
        }
        if (!strcmp(a, "--host"))
            o->host = v;
        else if (!strcmp(a, "--port"))
            o->port = atoi(v);
        else if (!strcmp(a, "--clients"))
            o->clients = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--commits"))
            o->commits = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--interval-ms"))
            o->interval_ms = strtol(v, NULL, 10);
        else if (!strcmp(a, "--window"))
            o->window = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--server-pid"))
            o->server_pid = strtol(v, NULL, 10);
        else if (!strcmp(a, "--root-keys"))
            o->root_keys = v;
        else if (!strcmp(a, "--key-id"))
            o->key_id = v;
        else if (!strcmp(a, "--trust-roots"))
            o->trust_roots = v;
        else if (!strcmp(a, "--connect-timeout-s"))
            o->connect_timeout_s = atof(v);
        else if (!strcmp(a, "--drain-s"))
            o->drain_s = atof(v);
        else {
            usage();
            return -1;
        }
        i++;
    }
    if (o->port <= 0 || o->port > 65535 || !o->root_keys || !o->trust_roots || !o->clients ||
        !o->commits || !o->window) {
        usage();
        return -1;
    }
    return 0;
}

/* ---- main -------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    opts o;
    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    rlim_t lim = raise_nofile((rlim_t)o.clients + 256);
    if (lim < (rlim_t)o.clients + 32) {
        fprintf(stderr, "bench_sse: RLIMIT_NOFILE is %llu, need %zu (raise the hard limit)\n",
                (unsigned long long)lim, o.clients + 32);
        return 2;
    }
    if (crypto_init() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    int status = 1;
    auth_keys *ak = NULL;
    char *token = NULL, *roots = NULL;
    char err[512];
    fanout f;
    memset(&f, 0, sizeof f);
    f.ep = -1;
    writer w;
    memset(&w, 0, sizeof w);
    if (auth_keys_load(o.root_keys, &ak, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sse: %s\n", err);
        goto out;
    }
    const char *scopes[] = {AUTH_SCOPE_PROPOSE, AUTH_SCOPE_APPROVE, AUTH_SCOPE_COMMIT};
    if (auth_mint(ak, o.key_id ? o.key_id : auth_keys_id(ak, 0), scopes, 3,
                  (int64_t)time(NULL) + 3600, NULL, NULL, &token) != 0) {
        fprintf(stderr, "bench_sse: cannot mint a token with key %s\n",
                o.key_id ? o.key_id : auth_keys_id(ak, 0));
        goto out;
    }
    if (!(roots = slurp(o.trust_roots))) {
        fprintf(stderr, "bench_sse: cannot read %s\n", o.trust_roots);
        goto out;
    }
    keyset keys;
    keyset_make(&keys);

    /* subscribers */
    f.o = &o;
    f.addr.sin_family = AF_INET;
    f.addr.sin_port = htons((uint16_t)o.port);
    if (inet_pton(AF_INET, o.host, &f.addr.sin_addr) != 1) {
        fprintf(stderr, "bench_sse: --host must be an IPv4 address\n");
        goto out;
    }
    f.first_min = UINT64_MAX;
    f.cli = calloc(o.clients, sizeof *f.cli);
    f.recv_ns = calloc(o.clients * o.commits, sizeof *f.recv_ns);
    f.deliv = calloc(o.commits, sizeof *f.deliv);
    w.t0_ns = calloc(o.commits, sizeof *w.t0_ns);
    w.commit_ms = calloc(o.commits, sizeof *w.commit_ms);
    w.version = calloc(o.commits, sizeof *w.version);
    f.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!f.cli || !f.recv_ns || !f.deliv || !w.t0_ns || !w.commit_ms || !w.version || f.ep < 0) {
        fprintf(stderr, "bench_sse: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < o.clients; i++)
        f.cli[i].fd = -1;
    w.o = &o;
    w.f = &f;
    w.token = token;
    w.roots = roots;
    w.keys = &keys;
    snprintf(w.base_url, sizeof w.base_url, "http://%s:%d", o.host, o.port);
    if (!(w.h = curl_easy_init()))
        goto out;
    curl_easy_setopt(w.h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w.h, CURLOPT_TCP_NODELAY, 1L);

    buf mt = {0};
    rss_info rss0 = read_rss(o.server_pid);
    double cpu0 = read_cpu_s(o.server_pid);
    int64_t tc0 = now_ns();
    pthread_t rth;
    if (pthread_create(&rth, NULL, reader_main, &f) != 0)
        goto out;
    while (!atomic_load(&f.connect_done) && (double)(now_ns() - tc0) / 1e9 < o.connect_timeout_s)
        sleep_ns(5 * 1000000LL);
    double connect_s = (double)(now_ns() - tc0) / 1e9;
    int connected_all = atomic_load(&f.connect_done);
    size_t firsts = atomic_load(&f.firsts);
    sleep_ns(200 * 1000000LL); /* let the server settle before reading its RSS */
    rss_info rss1 = read_rss(o.server_pid);
    double cpu1 = read_cpu_s(o.server_pid);
    double sse_clients_metric = -1;
    if (http_do(&w, "/metrics", NULL, &mt) == 200)
        sse_clients_metric = metric_value(mt.data, "sse_clients");
    uint64_t head = 0;
    if (http_do(&w, "/registry/head", NULL, &mt) != 200 || json_u64(mt.data, "version", &head)) {
        fprintf(stderr, "bench_sse: GET /registry/head failed\n");
        atomic_store(&f.stop, 1);
        pthread_join(rth, NULL);
        buf_free(&mt);
        goto out;
    }
    atomic_store(&f.base, head);
    fprintf(stderr,
            "bench_sse: %zu/%zu clients got their first event in %.2f s "
            "(connect failures %zu, dropped before first event %zu); HEAD %llu\n",
            firsts, o.clients, connect_s, f.connect_failed, atomic_load(&f.dead_before_first),
            (unsigned long long)head);

    /* commits */
    int64_t tw0 = now_ns();
    if (connected_all && firsts == o.clients) {
        pthread_t wth;
        if (pthread_create(&wth, NULL, writer_main, &w) == 0)
            pthread_join(wth, NULL);
    } else {
        snprintf(w.error, sizeof w.error, "not every client connected; no commits made");
    }
    /* drain: every live client has every committed version, or drain_s passed */
    int64_t td = now_ns();
    while ((double)(now_ns() - td) / 1e9 < o.drain_s) {
        size_t live = firsts - atomic_load(&f.dead);
        int all = 1;
        for (size_t k = 0; k < w.done && all; k++)
            all = atomic_load(&f.deliv[k]) >= live;
        if (all)
            break;
        sleep_ns(2 * 1000000LL);
    }
    double fan_s = (double)(now_ns() - tw0) / 1e9;
    double cpu2 = read_cpu_s(o.server_pid);
    rss_info rss2 = read_rss(o.server_pid);
    double lagged = -1;
    if (http_do(&w, "/metrics", NULL, &mt) == 200)
        lagged = metric_value(mt.data, "bus_lagged_total");
    buf_free(&mt);
    atomic_store(&f.stop, 1);
    pthread_join(rth, NULL);

    /* ---- report ---- */
    size_t nk = w.done, nc = o.clients;
    double *all = malloc((nk * nc + 1) * sizeof *all), *one = malloc((nc + 1) * sizeof *one);
    double *last = malloc((nk + 1) * sizeof *last);
    if (!all || !one || !last) {
        free(all);
        free(one);
        free(last);
        goto out;
    }
    size_t na = 0, missed_total = 0, clients_missed = 0, clients_reconciled = 0;
    for (size_t c = 0; c < nc; c++) {
        size_t miss = 0;
        for (size_t k = 0; f.cli[c].got_first && k < nk; k++)
            miss += !f.recv_ns[c * o.commits + k];
        clients_missed += miss > 0;
        clients_reconciled += f.cli[c].reconciles > 0;
    }
    for (size_t k = 0; k < nk; k++) {
        size_t n1 = 0, missed = 0;
        for (size_t c = 0; c < nc; c++) {
            if (!f.cli[c].got_first)
                continue;
            int64_t t = f.recv_ns[c * o.commits + k];
            if (!t) {
                missed++;
                continue;
            }
            double ms = (double)(t - w.t0_ns[k]) / 1e6;
            one[n1++] = ms;
            all[na++] = ms;
        }
        qsort(one, n1, sizeof *one, cmp_double);
        last[k] = n1 ? one[n1 - 1] : 0;
        missed_total += missed;
        printf("{\"bench\":\"sse_fanout\",\"kind\":\"commit\",\"seq\":%zu,\"version\":%llu,"
               "\"commit_http_ms\":%.3f,\"delivered\":%zu,\"missed\":%zu,\"p50_ms\":%.3f,"
               "\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
               k + 1, (unsigned long long)w.version[k], w.commit_ms[k], n1, missed,
               pct(one, n1, 0.50), pct(one, n1, 0.99), last[k]);
        fprintf(stderr,
                "  commit %2zu v%-6llu http %7.2f ms | delivered %zu missed %zu | "
                "p50 %7.2f  p99 %7.2f  max %7.2f ms\n",
                k + 1, (unsigned long long)w.version[k], w.commit_ms[k], n1, missed,
                pct(one, n1, 0.50), pct(one, n1, 0.99), last[k]);
    }
    qsort(all, na, sizeof *all, cmp_double);
    qsort(last, nk, sizeof *last, cmp_double);
    double reader_cpu = f.reader_cpu_s;
    size_t dead = atomic_load(&f.dead);
    printf("{\"bench\":\"sse_fanout\",\"kind\":\"summary\",\"clients\":%zu,\"connected\":%zu,"
           "\"connect_failed\":%zu,\"dropped_before_first\":%zu,\"connect_s\":%.3f,"
           "\"first_event_head\":%llu,\"first_event_min\":%llu,\"first_event_max\":%llu,"
           "\"commits\":%zu,\"commits_ok\":%zu,\"interval_ms\":%ld,"
           "\"deliveries\":%zu,\"missed\":%zu,\"clients_missed\":%zu,"
           "\"clients_reconciled\":%zu,\"reconciles\":%llu,\"first_reconciles\":%zu,"
           "\"duplicates\":%llu,\"unexpected\":%llu,\"reordered\":%llu,\"disconnects\":%zu,"
           "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"last_delivery_p50_ms\":%.3f,\"last_delivery_max_ms\":%.3f,"
           "\"server_rss_before_kib\":%ld,\"server_rss_connected_kib\":%ld,"
           "\"server_rss_anon_connected_kib\":%ld,\"server_rss_file_connected_kib\":%ld,"
           "\"server_rss_after_kib\":%ld,\"server_hwm_kib\":%ld,\"rss_per_client_kib\":%.2f,"
           "\"server_cpu_connect_s\":%.2f,\"server_cpu_fanout_s\":%.2f,\"fanout_wall_s\":%.2f,"
           "\"client_reader_cpu_s\":%.2f,\"sse_clients_metric\":%.0f,\"bus_lagged_total\":%.0f,"
           "\"writer_error\":%s}\n",
           nc, firsts, f.connect_failed, atomic_load(&f.dead_before_first), connect_s,
           (unsigned long long)head, (unsigned long long)(firsts ? f.first_min : 0),
           (unsigned long long)f.first_max, o.commits, nk, o.interval_ms, na, missed_total,
           clients_missed, clients_reconciled, (unsigned long long)f.reconciles, f.first_reconcile,
           (unsigned long long)f.dups, (unsigned long long)f.unexpected,
           (unsigned long long)f.reorders, dead, pct(all, na, 0.50), pct(all, na, 0.99),
           na ? all[na - 1] : 0, pct(last, nk, 0.50), nk ? last[nk - 1] : 0, rss0.rss, rss1.rss,
           rss1.anon, rss1.file, rss2.rss, rss2.hwm,
           rss0.rss >= 0 && firsts ? (double)(rss1.rss - rss0.rss) / (double)firsts : 0,
           cpu1 - cpu0, cpu2 - cpu1, fan_s, reader_cpu, sse_clients_metric, lagged,
           w.error[0] ? "true" : "false");
    fprintf(stderr,
            "bench_sse: %zu clients, %zu/%zu commits every %ld ms: %zu deliveries, missed %zu "
            "(clients missing an event: %zu), reconciles %llu (clients: %zu), duplicates %llu, "
            "disconnects %zu\n"
            "  delivery latency (commit sent -> event read) p50 %.2f ms, p99 %.2f ms, max %.2f ms;"
            " last delivery per commit: median %.2f ms, worst %.2f ms\n"
            "  server VmRSS: %ld KiB before, %ld KiB with all clients (anon %ld, file %ld; "
            "%.2f KiB/client), %ld KiB after; server CPU %.2f s connecting, %.2f s fan-out;"
            " client reader CPU %.2f s\n",
            nc, nk, o.commits, o.interval_ms, na, missed_total, clients_missed,
            (unsigned long long)f.reconciles, clients_reconciled, (unsigned long long)f.dups, dead,
            pct(all, na, 0.50), pct(all, na, 0.99), na ? all[na - 1] : 0, pct(last, nk, 0.50),
            nk ? last[nk - 1] : 0, rss0.rss, rss1.rss, rss1.anon, rss1.file,
            rss0.rss >= 0 && firsts ? (double)(rss1.rss - rss0.rss) / (double)firsts : 0, rss2.rss,
            cpu1 - cpu0, cpu2 - cpu1, reader_cpu);
    if (w.error[0])
        fprintf(stderr, "bench_sse: writer: %s\n", w.error);
    free(all);
    free(one);
    free(last);
    status = (firsts == nc && nk == o.commits && missed_total == 0 && !w.error[0] &&
              f.first_min == head && f.first_max == head)
                 ? 0
                 : 1;
out:
    if (f.cli) {
        for (size_t i = 0; i < o.clients; i++) {
            if (f.cli[i].fd >= 0)
                close(f.cli[i].fd);
            free(f.cli[i].hdr);
        }
    }
    if (f.ep >= 0)
        close(f.ep);
    if (w.h)
        curl_easy_cleanup(w.h);
    free(f.cli);
    free(f.recv_ns);
    free(f.deliv);
    free(w.t0_ns);
    free(w.commit_ms);
    free(w.version);
    free(roots);
    free(token);
    auth_keys_free(ak);
    curl_global_cleanup();
    return status;
}
