/* log.h - structured logs: one JSON line (or text line) per event on stderr, flat field names
 * of SPEC §12 (literally "err.code"). Never given tokens, keys or payloads. */
#ifndef SVCR_OBSERVABILITY_LOG_H
#define SVCR_OBSERVABILITY_LOG_H

#include <stdint.h>

typedef enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Sets the format (json != 0: JSON lines, else text) and level. Safe to call again (reload). */
void log_configure(int json, log_level level);
/* Parses "debug|info|warn|error". 0 or -1. */
int log_level_parse(const char *s, log_level *out);
int log_enabled(log_level level);

/* Fields of one line; NULL/0 fields are omitted. */
typedef struct log_fields {
    const char *event;
    const char *msg;
    const char *corr_id;
    const char *route;
    const char *method;
    int status;
    double latency_ms; /* < 0: omitted */
    const char *err_code;
    const char *reason;
    const char *proposal_id;
    uint64_t version; /* 0: omitted */
    const char *payload_b3;
} log_fields;

/* Writes one line (a single write(2), so lines from threads never interleave). */
void log_emit(log_level level, const log_fields *f);
/* Shorthand: an event with a printf message. */
void log_msg(log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
