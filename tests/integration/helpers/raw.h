/* raw.h - black-box test utilities below HTTP: clocks, files, child processes, raw sockets (to
 * send what curl will not: broken framing, trickles, silent connections) and reading metrics. */
#ifndef SVCR_TEST_RAW_H
#define SVCR_TEST_RAW_H

#include <stddef.h>
#include <sys/types.h>

#include "harness.h"
#include "interop/buf.h"

/* Monotonic seconds. */
double now_s(void);
/* Sleeps ms milliseconds (EINTR-safe). */
void sleep_ms(long ms);
/* A whole file as a NUL-terminated string (caller frees), or NULL if it cannot be opened or
 * read or memory runs out. */
char *slurp(const char *path);
/* Creates (or truncates) path and writes text to it; the file ends with exactly `mode`, whatever
 * the umask or the mode it had before. Fails the test on any error. */
void write_text(const char *path, const char *text, mode_t mode);

/* Waits up to timeout_s for the child pid to exit and reaps it; returns its exit status, 128 +
 * the signal that ended it, or -1 on timeout (the process is then left running, unreaped). */
int wait_exit(pid_t pid, double timeout_s);
/* Runs argv[0] (a path; argv NULL-terminated) to its exit, its stdout and stderr both appended to
 * out; afterwards out->data is never NULL and is NUL-terminated (out->len excludes the NUL).
 * Returns the exit status (127: argv[0] could not be executed), or 128 + the signal that ended
 * it. A process still running a second past timeout_s (a server that came up) is killed and the
 * test fails, showing its output. */
int run_to_exit(const char *const *argv, buf *out, double timeout_s);
/* A TCP connection to 127.0.0.1:port, or -1. */
int raw_connect(unsigned port);
/* Sends all n bytes: 0, or -1. */
int raw_send(int fd, const char *p, size_t n);
/* Appends what fd (a socket or a pipe) yields until the other end closes (0), a read fails, e.g.
 * on a reset (-1), or timeout_s passes (-2). */
int raw_read_all(int fd, buf *out, double timeout_s);
/* The body of a raw response (after the header block), or NULL. */
const char *raw_body(const buf *b);
/* The status of a raw response's first status line, or 0. */
int raw_status(const buf *b);
/* A response header of a raw response (case-insensitive name); 0 or -1. */
int raw_header(const buf *b, const char *name, char *out, size_t cap);
/* The value of one exact series ("name" or "name{labels}") on /metrics of `port`, -1 if absent. */
long long metric_on(const srv *s, unsigned port, const char *series);
/* metric_on the server's own port. */
long long metric(const srv *s, const char *series);
/* Polls until the series reaches at least `want`; returns the last value seen. */
long long wait_metric(const srv *s, const char *series, long long want, double timeout_s);

/* An SSE stream read raw (events and comments as the server writes them, chunk sizes and
 * all). */
typedef struct stream {
    int fd;
    buf in;
    size_t off;
} stream;

/* Opens GET `path` (a stream URL with any query, e.g. "/registry/stream?from=5") on a fresh
 * connection, with Last-Event-ID when not NULL and a receive buffer of rcvbuf bytes when > 0 (set
 * before connecting, so the window stays small). Fails the test if it cannot connect or send. */
void stream_open_path(const srv *s, stream *st, const char *path, const char *last_event_id,
                      int rcvbuf);
/* stream_open_path on "/registry/stream". */
void stream_open(const srv *s, stream *st, const char *last_event_id, int rcvbuf);
/* The next block up to a blank line into ev; *at = arrival time of the bytes that completed it.
 * 0, or -1 on timeout or close. */
int stream_next(stream *st, char *ev, size_t cap, double timeout_s, double *at);
/* Closes the stream and frees its buffer. */
void stream_close(stream *st);

#endif
