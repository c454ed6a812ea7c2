/* writes.c - the POST handlers of the route table: the checks every write shares (body cap,
 * Content-Encoding, media type; refusals audited), then one pipeline operation per route. The
 * handlers parse nothing themselves. */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crypto/b3.h"
#include "http/internal.h"
#include "observability/clock.h"

static const char *header(struct MHD_Connection *c, const char *k)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, k);
}

/* application/json with optional parameters, any case. */
static int is_json_media(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n) != 0)
        return 0;
    const char *rest = ct + n;
    while (*rest == ' ')
        rest++;
    return *rest == '\0' || *rest == ';';
}

/* The refusal of a body the pipeline must not see, or SVCR_OK (e untouched). */
static svcr_code body_check(struct MHD_Connection *c, const req *q, svcr_err *e)
{
    const char *enc = header(c, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (q->body_oom)
        return svcr_err_set(e, SVCR_E_INTERNAL, NULL, "out_of_memory",
                            "the body could not be stored (out of memory); retry");
    if (q->too_large)
        return svcr_err_set(e, SVCR_E_PAYLOAD_TOO_LARGE, NULL, "body_cap",
                            "the body is larger than limits.max_body_bytes (%llu)",
                            (unsigned long long)q->lim.max_body_bytes);
    if (enc && strcasecmp(enc, "identity") != 0)
        return svcr_err_set(e, SVCR_E_UNSUPPORTED_MEDIA_TYPE, NULL, "content_encoding",
                            "unsupported Content-Encoding");
    if ((q->body.len > 0 || !(route_table[q->route].flags & RF_EMPTY_BODY_OK)) &&
        !is_json_media(header(c, MHD_HTTP_HEADER_CONTENT_TYPE)))
        return svcr_err_set(e, SVCR_E_UNSUPPORTED_MEDIA_TYPE, NULL, "media_type",
                            "the body must be sent as application/json");
    return SVCR_OK;
}

void http_write(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    const route_def *rt = &route_table[q->route];
    assert(rt->write);
    char input_b3[B3_TAG_LEN + 1];
    b3_tag_of(q->body.data ? q->body.data : "", q->body.len, input_b3);
    /* the deadline is monotonic: a wall-clock step neither shortens nor stretches a write */
    write_ctx w = {.corr_id = q->corr_id,
                   .input_b3 = input_b3,
                   .deadline_ms = clock_mono_ms() + q->lim.write_timeout_ms,
                   .cap_signer = q->grant.signer[0] ? q->grant.signer : NULL,
                   .cap_proposal = q->grant.proposal[0] ? q->grant.proposal : NULL,
                   .cap_key_id = q->grant.key_id[0] ? q->grant.key_id : NULL};
    const char *pid = rt->flags & RF_PROPOSAL_PARAM ? q->param : NULL;
    svcr_err e;
    svcr_err_clear(&e);
    if (body_check(c, q, &e) != SVCR_OK) {
        pipeline_audit_rejection(s->o.pl, &w, rt->event, pid, &e);
        resp_error(r, q->corr_id, &e);
        return;
    }
    pipeline_result res = {0};
    rt->write(s, q, &w, q->body.data ? q->body.data : "", q->body.len, &res);
    if (pid)
        snprintf(q->proposal_id, sizeof q->proposal_id, "%s", pid);
    if (res.code == SVCR_OK)
        resp_json(r, res.http_status, &res.body);
    else
        resp_error(r, q->corr_id, &res.err);
    if (res.code == SVCR_E_INVALID_SIG || (q->route == RT_APPROVE && res.code == SVCR_OK))
        metrics_approval_verify(s->o.m, res.code == SVCR_OK);
    pipeline_result_free(&res);
}

void write_propose(http_server *s, req *q, const write_ctx *w, const char *body, size_t len,
                   pipeline_result *res)
{
    (void)q;
    pipeline_propose(s->o.pl, w, body, len, res);
}

void write_approve(http_server *s, req *q, const write_ctx *w, const char *body, size_t len,
                   pipeline_result *res)
{
    pipeline_approve(s->o.pl, w, q->param, body, len, res);
}

void write_commit(http_server *s, req *q, const write_ctx *w, const char *body, size_t len,
                  pipeline_result *res)
{
    pipeline_commit(s->o.pl, w, q->param, body, len, res);
}

void write_supersede(http_server *s, req *q, const write_ctx *w, const char *body, size_t len,
                     pipeline_result *res)
{
    (void)q;
    pipeline_supersede(s->o.pl, w, body, len, res);
}

void write_freeze(http_server *s, req *q, const write_ctx *w, const char *body, size_t len,
                  pipeline_result *res)
{
    (void)q;
    pipeline_freeze(s->o.pl, w, 1, body, len, res);
}

void write_thaw(http_server *s, req *q, const write_ctx *w, const char *body, size_t len,
                pipeline_result *res)
{
    (void)q;
    pipeline_freeze(s->o.pl, w, 0, body, len, res);
}
