/* cmd_watch.c - svcr watch: follow the SSE stream, reconnecting with Last-Event-ID. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli.h"
#include "interop/jcs.h"
#include "remote.h"
#include "term.h"

#define WATCH_BACKOFF_MIN_MS 250
#define WATCH_BACKOFF_MAX_MS 10000
#define WATCH_IDLE_MS 45000       /* default: three missed heartbeats at sse.heartbeat = 15 s */
#define WATCH_LINE_MAX (1 << 20)  /* one line of the stream */
#define WATCH_EVENT_MAX (1 << 20) /* the data of one event (the registry's are < 1 KiB) */

typedef struct watch_state {
    int json;
    uint64_t max_events, events;
    int64_t idle_ms;  /* reconnect when nothing arrived for this long */
    uint64_t last_id; /* highest version seen; valid when have_last */
    int have_last;
    int got_data; /* something arrived on the current connection */
    buf line, data;
    char event[64];
    char fatal[200]; /* why the stream cannot be followed (exit 1); "" while it can */
} watch_state;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Forgets a half-received event (the connection it came on is gone). */
static void event_reset(watch_state *w)
{
    buf_reset(&w->data);
    w->event[0] = '\0';
}

/* {"event":"<type>","data":<the data as sent>} on one line. The data parsed as JSON, so any
 * line break in it (several data: lines) lies between tokens and becomes a space (term_json,
 * which also escapes what a terminal would act on). */
static void print_json_event(watch_state *w, const char *type)
{
    json_t *t = json_string(type);
    char *ts = t ? json_dumps(t, JSON_ENCODE_ANY) : NULL;
    buf line = {0};
    if (buf_printf(&line, "{\"event\":%s,\"data\":", ts ? ts : "\"?\"") == 0 &&
        buf_append(&line, w->data.data, w->data.len) == 0 && buf_putc(&line, '}') == 0)
        term_json(stdout, line.data, line.len, 0);
    buf_free(&line);
    free(ts);
    json_decref(t);
}

/* Stops following: the reason is printed when the connection ends; the exit status is 1. */
static int watch_fail(watch_state *w, const char *why)
{
    snprintf(w->fatal, sizeof w->fatal, "%s", why);
    return 1;
}

/* Prints one event; returns 1 when it counted, -1 when the stream went back (a rollback:
 * w->fatal says so). */
static int event_print(watch_state *w, const char *type, const json_t *d)
{
    int update = strcmp(type, "registry.update") == 0;
    int reconcile = strcmp(type, "registry.reconcile") == 0;
    uint64_t v = cli_json_u64(d, "version", 0);
    if ((update || reconcile) && w->have_last && v < w->last_id) {
        /* SPEC §22.2 rule 5: a HEAD below one already seen is a rollback, never followed */
        char why[160];
        snprintf(why, sizeof why,
                 "Rollback: the registry's %s is version %llu, below version %llu already seen",
                 reconcile ? "head" : "stream", (unsigned long long)v,
                 (unsigned long long)w->last_id);
        watch_fail(w, why);
        return -1;
    }
    if (update && w->have_last && v == w->last_id)
        return 0; /* already seen (a resumed stream may repeat its starting point) */
    int corr_len = term_strlen(d, "corr_id", "");
    const char *corr = corr_len ? term_str(d, "corr_id", "") : "-";
    if (w->json)
        print_json_event(w, type);
    else if (update)
        term_printf("version %llu %.*s %.*s %.*s\n", (unsigned long long)v,
                    TERM_JS(d, "payload_b3", "?"), TERM_JS(d, "committed_at", "-"),
                    corr_len ? corr_len : 1, corr);
    else if (reconcile)
        term_printf("reconcile: continuing from head version %llu %.*s\n", (unsigned long long)v,
                    TERM_JS(d, "payload_b3", "?"));
    else
        term_printf("event %s %.*s\n", type, (int)w->data.len, w->data.data);
    fflush(stdout);
    if (update || reconcile) {
        w->last_id = v;
        w->have_last = 1;
    }
    return 1;
}

/* An empty line ends an event. Returns 1 when --max-events is reached. */
static int event_dispatch(watch_state *w)
{
    if (w->data.len == 0) {
        event_reset(w);
        return 0;
    }
    json_t *d = jcs_parse(w->data.data, w->data.len, 0, NULL);
    int counted = 0;
    if (d)
        counted = event_print(w, w->event[0] ? w->event : "message", d);
    else
        fprintf(stderr, "svcr watch: skipped an event whose data is not JSON\n");
    json_decref(d);
    event_reset(w);
    if (counted < 0)
        return 1;
    w->events += (uint64_t)counted;
    return w->max_events && w->events >= w->max_events;
}

/* One line of the stream (without its end of line). */
static int line_process(watch_state *w, const char *l)
{
    if (*l == '\0')
        return event_dispatch(w);
    if (*l == ':')
        return 0; /* comment: the heartbeat */
    const char *colon = strchr(l, ':');
    size_t flen = colon ? (size_t)(colon - l) : strlen(l);
    const char *val = colon ? colon + 1 : "";
    if (*val == ' ')
        val++;
    if (flen == 5 && strncmp(l, "event", 5) == 0)
        snprintf(w->event, sizeof w->event, "%s", val);
    else if (flen == 4 && strncmp(l, "data", 4) == 0) {
        size_t n = strlen(val);
        if (n + 1 > WATCH_EVENT_MAX - w->data.len)
            return watch_fail(w, "an event of the stream is larger than 1 MiB");
        if (w->data.len)
            buf_putc(&w->data, '\n');
        buf_append(&w->data, val, n);
    }
    return 0; /* id and retry: the id is the version, read from data */
}

/* http_stream callback: splits the bytes into lines. */
static int on_chunk(void *ctx, const char *data, size_t len)
{
    watch_state *w = ctx;
    w->got_data = 1;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n') {
            if (w->line.len >= WATCH_LINE_MAX)
                return watch_fail(w, "a line of the stream is longer than 1 MiB");
            if (buf_putc(&w->line, data[i]) != 0)
                return watch_fail(w, "out of memory");
            continue;
        }
        if (w->line.len && w->line.data[w->line.len - 1] == '\r')
            w->line.data[--w->line.len] = '\0';
        int stop = line_process(w, w->line.data ? w->line.data : "");
        buf_reset(&w->line);
        if (stop)
            return 1;
    }
    return 0;
}

/* The next pause: exponential with jitter (half fixed, half random), capped. */
static int64_t next_backoff(int64_t *backoff)
{
    *backoff = *backoff ? *backoff * 2 : WATCH_BACKOFF_MIN_MS;
    if (*backoff > WATCH_BACKOFF_MAX_MS)
        *backoff = WATCH_BACKOFF_MAX_MS;
    return *backoff / 2 + (int64_t)randombytes_uniform((uint32_t)(*backoff / 2 + 1));
}

/* One connection. Returns -1 to go on (reconnect), else the exit status. */
static int watch_once(remote_call *c, watch_state *w, int64_t deadline)
{
    char lei[32];
    if (w->have_last)
        snprintf(lei, sizeof lei, "%llu", (unsigned long long)w->last_id);
    const char *resume = w->have_last ? lei : NULL;
    int64_t left = deadline ? deadline - mono_ms() : 0;
    if (deadline && left <= 0)
        return CLI_OK;
    http_reply err = {0};
    w->got_data = 0;
    http_stream_end end =
        http_stream(c->r.http, "/registry/stream", resume, left, w->idle_ms, on_chunk, w, &err);
    buf_reset(&w->line);
    event_reset(w);
    int rc = -1;
    if (w->fatal[0]) {
        term_fprintf(stderr, "svcr watch: %s: stopping\n", w->fatal);
        rc = CLI_REFUSED;
    } else if (http_client_over_limit(c->r.http)) {
        rc = remote_unreachable(&c->r);
    } else if (end == HTTP_STREAM_STOPPED || (deadline && mono_ms() >= deadline))
        rc = CLI_OK;
    else if (end == HTTP_STREAM_STATUS && err.status >= 400 && err.status < 500)
        rc = remote_report(&c->r, &err);
    else if (end == HTTP_STREAM_STATUS)
        fprintf(stderr, "svcr watch: HTTP %ld; ", err.status);
    else
        term_fprintf(stderr, "svcr watch: %s; ",
                     end == HTTP_STREAM_FAILED ? http_client_error(c->r.http) : "stream ended");
    http_reply_free(&err);
    return rc;
}

static int run_watch(remote_call *c)
{
    uint64_t from = 0, max = 0;
    int64_t timeout = 0, backoff = 0, idle = WATCH_IDLE_MS;
    if (c->opt[0] && cli_parse_u64(c->opt[0], 0, 9007199254740991ULL, &from) != 0)
        return cli_usage_error("watch", "--from wants a version number");
    if (c->opt[1] && cli_parse_u64(c->opt[1], 1, UINT64_MAX, &max) != 0)
        return cli_usage_error("watch", "--max-events wants an integer >= 1");
    if (c->opt[2] && cli_parse_duration(c->opt[2], &timeout) != 0)
        return cli_usage_error("watch", "--timeout wants a duration (ms s m h d)");
    if (c->opt[3] && cli_parse_duration(c->opt[3], &idle) != 0)
        return cli_usage_error("watch", "--idle-timeout wants a duration (ms s m h d)");
    /* Resuming after N means N itself is seen (the registry may send it again). */
    watch_state w = {.json = c->r.conn.json,
                     .max_events = max,
                     .idle_ms = idle,
                     .last_id = from,
                     .have_last = c->opt[0] != NULL};
    int64_t deadline = timeout ? mono_ms() + timeout : 0;
    int rc;
    while ((rc = watch_once(c, &w, deadline)) < 0) {
        if (w.got_data)
            backoff = 0;
        int64_t pause = next_backoff(&backoff);
        if (deadline && mono_ms() + pause > deadline)
            pause = deadline - mono_ms() > 0 ? deadline - mono_ms() : 0;
        fprintf(stderr, "reconnecting in %lld ms\n", (long long)pause);
        sleep_ms(pause);
    }
    buf_free(&w.line);
    buf_free(&w.data);
    return rc;
}

static const remote_spec watch_spec = {
    .name = "watch",
    .help =
        "usage: svcr watch [options] [--from N] [--max-events N] [--timeout DUR]\n"
        "                  [--idle-timeout DUR]\n"
        "Follows the registry's event stream (GET /registry/stream), printing one line per event:\n"
        "  version N b3:<hex> <committed_at> <corr_id>\n"
        "and on registry.reconcile (the stream fell behind or history was pruned)\n"
        "  reconcile: continuing from head version N b3:<hex>\n"
        "With --json: {\"event\":\"registry.update\",\"data\":<the event's JSON as sent>} per "
        "event.\n"
        "On a disconnect it reconnects with Last-Event-ID set to the last version seen\n"
        "(exponential backoff with jitter, at most 10 s between attempts), so no version is\n"
        "missed while the registry keeps it. A reconcile or update below the last version seen\n"
        "is a rollback (SPEC 22.2 rule 5): reported, never followed, exit 1. So is a stream line\n"
        "or an event's data over 1 MiB (the registry's events are far smaller). Text from the\n"
        "registry is printed with control, bidi and invisible characters escaped.\n\n"
        "  --from N            start after version N (default: the current HEAD, then live)\n"
        "  --max-events N      exit 0 after N events\n"
        "  --timeout DUR       exit 0 after DUR (ms s m h d)\n"
        "  --idle-timeout DUR  reconnect when nothing, not even a heartbeat, arrived for DUR\n"
        "                      (default 45s: three of the registry's default "
        "heartbeats)\n" CLI_CONN_HELP
        "\nExit status: 0 at --max-events or --timeout; 1 the registry refused the stream (4xx),\n"
        "rolled back, or sent a line or an event over 1 MiB; 2 bad usage. Without --max-events\n"
        "or --timeout it runs until interrupted.\n",
    .min_pos = 0,
    .max_pos = 0,
    .opts = {"--from", "--max-events", "--timeout", "--idle-timeout", NULL},
    .run = run_watch,
};

int cmd_watch(int argc, char **argv)
{
    return remote_verb(&watch_spec, argc, argv);
}
