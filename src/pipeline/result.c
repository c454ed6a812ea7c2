/* result.c - filling a write's result: success with a body, or an error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "interop/rfc3339.h"
#include "pipeline/internal.h"

void pl_result_ok(pipeline_result *r, int http_status, buf *body)
{
    r->code = SVCR_OK;
    svcr_err_clear(&r->err);
    r->http_status = http_status;
    buf_free(&r->body);
    r->body = *body;
    memset(body, 0, sizeof *body);
}

void pl_result_error(pipeline_result *r, const svcr_err *e)
{
    r->code = e->code;
    r->err = *e;
    r->http_status = svcr_code_http_status(e->code);
    buf_free(&r->body);
}

void pl_result_fail(pipeline_result *r, svcr_code code, const char *reason, const char *fmt, ...)
{
    r->code = code;
    r->err.code = code;
    r->err.path[0] = '\0';
    snprintf(r->err.reason, sizeof r->err.reason, "%s", reason ? reason : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err.message, sizeof r->err.message, fmt, ap);
    va_end(ap);
    r->http_status = svcr_code_http_status(code);
    buf_free(&r->body);
}

void pipeline_result_free(pipeline_result *r)
{
    buf_free(&r->body);
}

int pl_render_commit_body(buf *out, uint64_t version, const char *payload_b3,
                          int64_t committed_at_ms)
{
    char ts[32];
    rfc3339_format_ms(committed_at_ms, ts);
    return buf_printf(out, "{\"version\":%llu,\"payload_b3\":\"%s\",\"committed_at\":\"%s\"}",
                      (unsigned long long)version, payload_b3, ts);
}
