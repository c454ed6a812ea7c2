/* log.c - JSON/text log lines on stderr (see log.h). */
#include "observability/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "interop/buf.h"
#include "interop/rfc3339.h"
#include "observability/clock.h"

static atomic_int cfg_json = 1;
static atomic_int cfg_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_configure(int json, log_level level)
{
    atomic_store(&cfg_json, json);
    atomic_store(&cfg_level, (int)level);
}

int log_level_parse(const char *s, log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    return -1;
}

int log_enabled(log_level level)
{
    return (int)level >= atomic_load(&cfg_level);
}

/* JSON string escaping; control bytes as \u00XX. */
static void put_json_str(buf *b, const char *s)
{
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)*p);
        } else if (*p < 0x20) {
            buf_printf(b, "\\u%04x", *p);
        } else {
            buf_putc(b, (char)*p);
        }
    }
    buf_putc(b, '"');
}

static void field(buf *b, int json, const char *k, const char *v)
{
    if (!v || !*v)
        return;
    if (json) {
        buf_printf(b, ",\"%s\":", k);
        put_json_str(b, v);
    } else {
        buf_printf(b, " %s=%s", k, v);
    }
}

void log_emit(log_level level, const log_fields *f)
{
    if (!log_enabled(level))
        return;
    int json = atomic_load(&cfg_json);
    char t[32];
    rfc3339_format_ms(clock_wall_ms(), t);
    buf b = {0};
    if (json)
        buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"svc-registry\"", t,
                   level_names[level]);
    else
        buf_printf(&b, "%s %-5s", t, level_names[level]);
    field(&b, json, "event", f->event);
    field(&b, json, "msg", f->msg);
    field(&b, json, "corr_id", f->corr_id);
    field(&b, json, "route", f->route);
    field(&b, json, "method", f->method);
    if (f->status)
        buf_printf(&b, json ? ",\"status\":%d" : " status=%d", f->status);
    if (f->latency_ms >= 0 && (f->route || f->status))
        buf_printf(&b, json ? ",\"latency_ms\":%.3f" : " latency_ms=%.3f", f->latency_ms);
    field(&b, json, "err.code", f->err_code);
    field(&b, json, "reason", f->reason);
    field(&b, json, "proposal_id", f->proposal_id);
    if (f->version)
        buf_printf(&b, json ? ",\"version\":%llu" : " version=%llu",
                   (unsigned long long)f->version);
    field(&b, json, "payload_b3", f->payload_b3);
    buf_puts(&b, json ? "}\n" : "\n");
    if (b.data) {
        ssize_t off = 0;
        while ((size_t)off < b.len) {
            ssize_t n = write(STDERR_FILENO, b.data + off, b.len - (size_t)off);
            if (n < 0 && errno == EINTR)
                continue; /* a signal is no reason to lose a line */
            if (n <= 0)
                break;
            off += n;
        }
    }
    buf_free(&b);
}

void log_msg(log_level level, const char *event, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_fields f = {.event = event, .msg = msg, .latency_ms = -1};
    log_emit(level, &f);
}
