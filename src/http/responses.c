/* responses.c - every response leaves through here: JSON bodies, the one error envelope of
 * SPEC §5.1 (with rejected_total counted), and the common headers. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "http/internal.h"

void resp_json(resp *r, int status, buf *body)
{
    r->status = status;
    r->content_type = JSON_CT;
    buf_free(&r->body);
    r->body = *body;
    memset(body, 0, sizeof *body);
}

void resp_text(resp *r, int status, const char *ctype, buf *body)
{
    resp_json(r, status, body);
    r->content_type = ctype;
}

/* A JSON string that is valid even if `s` was cut inside a UTF-8 sequence. */
static json_t *safe_string(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char tmp[512];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n < sizeof tmp - 1; p++)
        tmp[n++] = *p < 0x80 ? (char)*p : '?';
    tmp[n] = '\0';
    return json_string(tmp);
}

void resp_error(resp *r, const char *corr_id, const svcr_err *e)
{
    svcr_code code = e->code == SVCR_OK ? SVCR_E_INTERNAL : e->code;
    json_t *details = json_object();
    if (e->reason[0])
        json_object_set_new(details, "reason", safe_string(e->reason));
    if (e->path[0])
        json_object_set_new(details, "path", safe_string(e->path));
    json_t *env =
        json_pack("{s:{s:s, s:o, s:s, s:o}}", "error", "code", svcr_code_name(code), "message",
                  safe_string(e->message[0] ? e->message : svcr_code_name(code)), "corr_id",
                  corr_id, "details", details);
    buf_free(&r->body);
    char *text = env ? json_dumps(env, JSON_COMPACT) : NULL;
    if (text)
        buf_puts(&r->body, text);
    else
        buf_puts(&r->body, "{\"error\":{\"code\":\"NotReady\",\"message\":\"out of memory\"}}");
    free(text);
    json_decref(env);
    r->status = svcr_code_http_status(code);
    r->code = code;
    r->content_type = JSON_CT;
    if (code == SVCR_E_BUSY || code == SVCR_E_NOT_READY || code == SVCR_E_INTERNAL)
        r->retry_after = code == SVCR_E_BUSY ? 1 : 5;
}

void resp_error_code(resp *r, const char *corr_id, svcr_code code, const char *reason,
                     const char *message)
{
    svcr_err e;
    svcr_err_set(&e, code, NULL, reason, "%s", message);
    resp_error(r, corr_id, &e);
}

void resp_zero_copy(resp *r, int status, const char *data, size_t len, void (*release)(void *),
                    void *cls)
{
    buf_free(&r->body);
    r->status = status;
    r->content_type = JSON_CT;
    r->zc_data = data;
    r->zc_len = len;
    r->zc_free = release;
    r->zc_cls = cls;
}

void resp_free(resp *r)
{
    if (r->zc_free)
        r->zc_free(r->zc_cls); /* not handed to libmicrohttpd */
    r->zc_free = NULL;
    buf_free(&r->body);
    if (r->raw)
        MHD_destroy_response(r->raw);
    r->raw = NULL;
}

enum MHD_Result resp_queue(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    struct MHD_Response *mr = r->raw;
    r->raw = NULL;
    if (!mr && r->zc_free) {
        mr = MHD_create_response_from_buffer_with_free_callback_cls(r->zc_len, (void *)r->zc_data,
                                                                    r->zc_free, r->zc_cls);
        if (mr)
            r->zc_free = NULL; /* libmicrohttpd releases it when the response is destroyed */
    }
    if (!mr)
        mr = MHD_create_response_from_buffer(r->body.len, r->body.data ? r->body.data : (void *)"",
                                             MHD_RESPMEM_MUST_COPY);
    if (!mr)
        return MHD_NO;
    if (r->content_type)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(mr, "X-Corr-ID", q->corr_id);
    const char *cc = r->cache_control;
    if (q->method == M_POST || route_table[q->route].methods == M_POST)
        cc = "no-store"; /* every response of a write route, errors included */
    if (cc)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
    if (r->allow)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->etag[0])
        MHD_add_response_header(mr, MHD_HTTP_HEADER_ETAG, r->etag);
    if (r->close)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    if (r->retry_after) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (r->status >= 400)
        metrics_reject(s->o.m, r->code);
    q->status = r->status;
    q->code = r->code;
    q->queued = 1;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    return ok;
}
