/* raw.c - black-box test utilities below HTTP (see raw.h). */
#include "raw.h"

#include <arpa/inet.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf b = {0};
    char chunk[8192];
    size_t n;
    int ok = 1;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = buf_append(&b, chunk, n) == 0;
    ok = ok && !ferror(f);
    fclose(f);
    if (!ok) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, NULL); /* an empty file: an allocated "" */
}

void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

int wait_exit(pid_t pid, double timeout_s)
{
    double end = now_s() + timeout_s;
    for (;;) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (now_s() > end)
            return -1;
        sleep_ms(10);
    }
}

int run_to_exit(const char *const *argv, buf *out, double timeout_s)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        dup2(p[1], STDERR_FILENO);
        close(p[0]);
        close(p[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    double end = now_s() + timeout_s;
    raw_read_all(p[0], out, timeout_s); /* until the child's end closes (it exited) or time is up */
    close(p[0]);
    buf_putc(out, '\0'); /* out->data is a string even when the child wrote nothing */
    out->len--;
    /* the pipe closes a moment before the exit can be reaped: allow a second past the end */
    double grace = end - now_s() > 1.0 ? end - now_s() : 1.0;
    int st = wait_exit(pid, grace);
    if (st < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("%s did not exit within %.0f s (a server that started?); output: %s", argv[0],
                 timeout_s, out->data);
    }
    return st;
}

int raw_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int raw_send(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* read(), not recv(): run_to_exit reads a pipe with it. */
int raw_read_all(int fd, buf *out, double timeout_s)
{
    double end = now_s() + timeout_s;
    for (;;) {
        int left = (int)((end - now_s()) * 1000);
        if (left <= 0)
            return -2;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        char tmp[16384];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        buf_append(out, tmp, (size_t)n);
    }
}

const char *raw_body(const buf *b)
{
    const char *p = b->data ? strstr(b->data, "\r\n\r\n") : NULL;
    return p ? p + 4 : NULL;
}

int raw_status(const buf *b)
{
    int st = 0;
    if (!b->data || sscanf(b->data, "HTTP/1.%*d %d", &st) != 1)
        return 0;
    return st;
}

/* A response header of a raw response (case-insensitive name); 0 or -1. */
int raw_header(const buf *b, const char *name, char *out, size_t cap)
{
    const char *end = raw_body(b);
    size_t n = strlen(name);
    const char *p = b->data ? strstr(b->data, "\r\n") : NULL;
    while (p && end && p + 2 < end) {
        p += 2;
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(eol - v), v);
            return 0;
        }
        p = eol;
    }
    return -1;
}

/* The value of one exact series ("name" or "name{labels}") on /metrics of `port`, -1 if absent. */
long long metric_on(const srv *s, unsigned port, const char *series)
{
    srv m = *s;
    m.port = port;
    http_resp r;
    if (http_get(&m, "/metrics", &r) != 0 || !r.body.data) {
        http_resp_free(&r);
        return -1;
    }
    long long v = -1;
    size_t n = strlen(series);
    for (const char *p = r.body.data; p && *p;) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtoll(p + n + 1, NULL, 10);
            break;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    http_resp_free(&r);
    return v;
}

long long metric(const srv *s, const char *series)
{
    return metric_on(s, s->port, series);
}

/* Polls until the series reaches at least `want`; returns the last value seen. */
long long wait_metric(const srv *s, const char *series, long long want, double timeout_s)
{
    double end = now_s() + timeout_s;
    long long v;
    while ((v = metric(s, series)) < want && now_s() < end)
        sleep_ms(20);
    return v;
}

void stream_open_path(const srv *s, stream *st, const char *path, const char *last_event_id,
                      int rcvbuf)
{
    memset(st, 0, sizeof *st);
    st->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(st->fd >= 0);
    if (rcvbuf > 0) /* before connect, so the advertised window is small from the start */
        setsockopt(st->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)s->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(st->fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%s%s%s\r\n", path,
                     last_event_id ? "Last-Event-ID: " : "", last_event_id ? last_event_id : "",
                     last_event_id ? "\r\n" : "");
    assert_true(n > 0 && (size_t)n < sizeof req);
    assert_int_equal(raw_send(st->fd, req, (size_t)n), 0);
}

void stream_open(const srv *s, stream *st, const char *last_event_id, int rcvbuf)
{
    stream_open_path(s, st, "/registry/stream", last_event_id, rcvbuf);
}

/* The next event (or comment) block, text into ev; its arrival time in *at. 0, or -1 on timeout
 * or close. */
int stream_next(stream *st, char *ev, size_t cap, double timeout_s, double *at)
{
    double end = now_s() + timeout_s;
    for (;;) {
        char *blank =
            st->in.data && st->off < st->in.len ? strstr(st->in.data + st->off, "\n\n") : NULL;
        if (blank) {
            size_t len = (size_t)(blank - (st->in.data + st->off));
            snprintf(ev, cap, "%.*s", (int)len, st->in.data + st->off);
            st->off += len + 2;
            return 0;
        }
        double left = end - now_s();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = st->fd, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        char tmp[8192];
        ssize_t n = read(st->fd, tmp, sizeof tmp);
        if (n <= 0)
            return -1;
        *at = now_s();
        buf_append(&st->in, tmp, (size_t)n);
        buf_putc(&st->in, '\0');
        st->in.len--;
    }
}

void stream_close(stream *st)
{
    if (st->fd >= 0)
        close(st->fd);
    st->fd = -1;
    buf_free(&st->in);
}
