/* handlers.c - what each route does: reads answer from the HEAD snapshot or through the
 * pipeline's read side; writes parse nothing themselves and hand the body to the pipeline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/b3.h"
#include "http/internal.h"
#include "observability/log.h"
#include "readiness/gate.h"

static const char *query(struct MHD_Connection *c, const char *k)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
}

static const char *header(struct MHD_Connection *c, const char *k)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, k);
}

/* Parses a decimal u64 (no sign, no spaces, <= 2^53 - 1). 0 or -1. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || strlen(s) > 16 || strspn(s, "0123456789") != strlen(s))
        return -1;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > 9007199254740991ULL)
        return -1;
    *out = v;
    return 0;
}

static void release_head(void *h)
{
    head_snap_release(h);
}

static int copy_cb(void *ctx, const void *data, size_t len)
{
    return buf_append(ctx, data, len);
}

/* The top-level payload_b3 of a canonical artifact: its members are sorted, so the last
 * "payload_b3" key in the text is the artifact's own (any in the payload come before it, and
 * the members after it hold no such key). */
static int artifact_etag(const buf *art, char out[80])
{
    const char *key = "\"payload_b3\":\"";
    const char *hit = NULL;
    for (const char *p = art->data; (p = strstr(p, key)); p++)
        hit = p;
    if (!hit || strlen(hit + strlen(key)) < B3_TAG_LEN)
        return -1;
    snprintf(out, 80, "\"%.*s\"", B3_TAG_LEN, hit + strlen(key));
    return 0;
}

static void get_version(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    uint64_t v = 0;
    if (parse_u64(q->param, &v) != 0) {
        resp_error_code(r, q->corr_id, SVCR_E_NOT_FOUND, "version", "no such version");
        return;
    }
    body_blob *blob = body_cache_get(s->bodies, v);
    if (!blob) {
        buf art = {0};
        svcr_err e;
        svcr_err_clear(&e);
        if (pipeline_get_version(s->o.pl, v, copy_cb, &art, &e) != SVCR_OK) {
            buf_free(&art);
            resp_error(r, q->corr_id, &e);
            if (e.code == SVCR_E_INTERNAL)
                log_msg(LOG_ERROR, "storage.read", "%s", e.message);
            return;
        }
        blob = body_blob_new(v, art.data, art.len);
        if (blob)
            artifact_etag(&art, blob->etag);
        buf_free(&art);
        if (!blob) {
            resp_error_code(r, q->corr_id, SVCR_E_INTERNAL, "oom", "out of memory");
            return;
        }
        body_cache_put(s->bodies, blob);
    }
    q->version = v;
    r->cache_control = "public, max-age=31536000, immutable";
    snprintf(r->etag, sizeof r->etag, "%s", blob->etag);
    const char *inm = header(c, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && r->etag[0] && (strstr(inm, r->etag) || strcmp(inm, "*") == 0)) {
        body_blob_release(blob);
        buf empty = {0};
        resp_json(r, 304, &empty);
        r->content_type = NULL;
        return;
    }
    resp_zero_copy(r, 200, blob->data, blob->len, body_blob_release, blob);
}

static void get_audit(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    uint64_t from = 1, limit = 100;
    const char *f = query(c, "from"), *l = query(c, "limit");
    if ((f && (parse_u64(f, &from) != 0 || from < 1)) ||
        (l && (parse_u64(l, &limit) != 0 || limit < 1 || limit > 1000))) {
        resp_error_code(r, q->corr_id, SVCR_E_MALFORMED, "query",
                        "from must be an integer >= 1 and limit an integer in 1..1000");
        return;
    }
    buf out = {0};
    svcr_code code = pipeline_audit_json(s->o.pl, from, (size_t)limit, &out);
    if (code != SVCR_OK) {
        buf_free(&out);
        resp_error_code(r, q->corr_id, code, "storage", "storage read failed");
        return;
    }
    resp_json(r, 200, &out);
}

static void get_readyz(http_server *s, struct MHD_Connection *c, resp *r)
{
    pipeline_status st;
    pipeline_get_status(s->o.pl, &st);
    head_snap *h = pipeline_head(s->o.pl);
    const char *plane = query(c, "plane");
    buf out = {0};
    int status = readiness_render(&st, h->version, h->payload_b3, atomic_load(&s->shutting_down),
                                  plane && !strcmp(plane, "read"), &out);
    head_snap_release(h);
    resp_json(r, status, &out);
    if (status != 200)
        r->retry_after = 5;
}

void handle_read(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    buf out = {0};
    svcr_code code = SVCR_OK;
    switch (q->route) {
    case RT_VERSION:
        buf_printf(&out,
                   "{\"service\":\"svc-registry\",\"version\":\"%s\",\"commit\":\"%s\","
                   "\"build_time\":\"%s\",\"schema\":{\"registry\":\"1.0.0\"},\"deprecations\":[]}",
                   s->o.build_version, s->o.build_commit, s->o.build_time);
        resp_json(r, 200, &out);
        return;
    case RT_SCHEMA:
        buf_puts(&out, "{\"schema\":{\"registry\":\"1.0.0\"},\"deprecations\":[]}");
        resp_json(r, 200, &out);
        return;
    case RT_HEALTHZ:
        buf_puts(&out, "{\"ok\":true}");
        resp_json(r, 200, &out);
        return;
    case RT_READYZ:
        get_readyz(s, c, r);
        return;
    case RT_METRICS:
        render_metrics(s, &out);
        resp_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", &out);
        return;
    case RT_HEAD: { /* the body rendered once per commit, sent without a copy */
        head_snap *h = pipeline_head(s->o.pl);
        q->version = h->version;
        r->cache_control = "no-cache";
        resp_zero_copy(r, 200, h->json, h->json_len, release_head, h);
        return;
    }
    case RT_GET_VERSION:
        get_version(s, c, q, r);
        return;
    case RT_PROPOSALS: {
        uint64_t limit = 100;
        const char *l = query(c, "limit"), *after = query(c, "after");
        if ((l && (parse_u64(l, &limit) != 0 || limit < 1 || limit > 1000)) ||
            (after && !pipeline_pending_cursor_valid(after))) {
            resp_error_code(r, q->corr_id, SVCR_E_MALFORMED, "query",
                            "limit must be an integer in 1..1000 and after a cursor from "
                            "\"next\"");
            return;
        }
        code = pipeline_pending_json(s->o.pl, after, (size_t)limit, &out);
        break;
    }
    case RT_PROPOSAL:
        snprintf(q->proposal_id, sizeof q->proposal_id, "%s", q->param);
        code = pipeline_proposal_json(s->o.pl, q->param, &out);
        break;
    case RT_AUDIT:
        get_audit(s, c, q, r);
        return;
    case RT_STREAM: {
        const char *lei = header(c, "Last-Event-ID");
        const char *from = query(c, "from");
        uint64_t n = 0;
        int has = 0;
        if ((lei && parse_u64(lei, &n) == 0) || (!lei && from && parse_u64(from, &n) == 0))
            has = 1;
        else if (lei || from) {
            resp_error_code(r, q->corr_id, SVCR_E_MALFORMED, "from",
                            "Last-Event-ID / from must be a version number");
            return;
        }
        if (q->method == M_HEAD) { /* the GET's headers, without opening a stream */
            resp_text(r, 200, "text/event-stream", &out);
            r->cache_control = "no-store";
            return;
        }
        sse_refusal why;
        r->raw = sse_open(s->sse, c, has, n, &why);
        if (!r->raw) {
            static const char *const reasons[] = {
                [SSE_REFUSE_OOM] = "oom",
                [SSE_REFUSE_FULL] = "sse_clients",
                [SSE_REFUSE_ADDRESS] = "sse_clients_per_ip",
                [SSE_REFUSE_CLOSING] = "shutdown",
            };
            static const char *const messages[] = {
                [SSE_REFUSE_OOM] = "cannot open the stream",
                [SSE_REFUSE_FULL] = "sse.max_clients streams are open; retry later",
                [SSE_REFUSE_ADDRESS] = "this address holds sse.max_clients_per_ip streams",
                [SSE_REFUSE_CLOSING] = "the registry is shutting down; reconnect elsewhere",
            };
            resp_error_code(r, q->corr_id, SVCR_E_NOT_READY, reasons[why], messages[why]);
            return;
        }
        q->is_sse = 1;
        r->status = 200;
        r->content_type = "text/event-stream";
        r->cache_control = "no-store";
        return;
    }
    default:
        code = SVCR_E_NOT_FOUND;
    }
    if (code != SVCR_OK) {
        buf_free(&out);
        resp_error_code(r, q->corr_id, code, code == SVCR_E_NOT_FOUND ? "proposal" : "storage",
                        code == SVCR_E_NOT_FOUND ? "no proposal with this id"
                                                 : "storage read failed");
        return;
    }
    resp_json(r, 200, &out);
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

void handle_write(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    const route_def *rt = &route_table[q->route];
    char input_b3[B3_TAG_LEN + 1];
    b3_tag_of(q->body.data ? q->body.data : "", q->body.len, input_b3);
    http_limits lim = http_get_limits(s);
    write_ctx w = {.corr_id = q->corr_id,
                   .input_b3 = input_b3,
                   .deadline_ms = http_now_ms() + lim.write_timeout_ms,
                   .cap_signer = q->grant.signer[0] ? q->grant.signer : NULL,
                   .cap_proposal = q->grant.proposal[0] ? q->grant.proposal : NULL,
                   .cap_key_id = q->grant.key_id[0] ? q->grant.key_id : NULL};
    const char *pid = (q->route == RT_APPROVE || q->route == RT_COMMIT) ? q->param : NULL;
    svcr_err e;
    svcr_err_clear(&e);
    const char *enc = header(c, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (q->too_large) {
        svcr_err_set(&e, SVCR_E_PAYLOAD_TOO_LARGE, NULL, "body_cap",
                     "the body is larger than limits.max_body_bytes (%llu)",
                     (unsigned long long)lim.max_body_bytes);
    } else if (enc && strcasecmp(enc, "identity") != 0) {
        svcr_err_set(&e, SVCR_E_UNSUPPORTED_MEDIA_TYPE, NULL, "content_encoding",
                     "unsupported Content-Encoding");
    } else if ((q->body.len > 0 || q->route != RT_COMMIT) &&
               !is_json_media(header(c, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        svcr_err_set(&e, SVCR_E_UNSUPPORTED_MEDIA_TYPE, NULL, "media_type",
                     "the body must be sent as application/json");
    }
    if (e.code != SVCR_OK) {
        pipeline_audit_rejection(s->o.pl, &w, rt->event, pid, &e);
        resp_error(r, q->corr_id, &e);
        return;
    }
    pipeline_result res = {0};
    const char *body = q->body.data ? q->body.data : "";
    switch (q->route) {
    case RT_PROPOSALS:
        pipeline_propose(s->o.pl, &w, body, q->body.len, &res);
        break;
    case RT_APPROVE:
        pipeline_approve(s->o.pl, &w, q->param, body, q->body.len, &res);
        break;
    case RT_COMMIT:
        pipeline_commit(s->o.pl, &w, q->param, body, q->body.len, &res);
        break;
    case RT_SUPERSEDE:
        pipeline_supersede(s->o.pl, &w, body, q->body.len, &res);
        break;
    case RT_FREEZE:
    case RT_THAW:
        pipeline_freeze(s->o.pl, &w, q->route == RT_FREEZE, body, q->body.len, &res);
        break;
    default:
        svcr_err_set(&res.err, SVCR_E_NOT_FOUND, NULL, NULL, "no such route");
        res.code = SVCR_E_NOT_FOUND;
    }
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

void render_metrics(http_server *s, buf *out)
{
    metrics_render(s->o.m, out);
    pipeline_stats st;
    pipeline_status ps;
    pipeline_get_stats(s->o.pl, &st);
    pipeline_get_status(s->o.pl, &ps);
    head_snap *h = pipeline_head(s->o.pl);
    metrics_put_help(out, "registry_head_version", "gauge", "version of HEAD");
    metrics_put_u64(out, "registry_head_version", NULL, h->version);
    metrics_put_help(out, "registry_signers", "gauge", "signers without revoked_at, by org");
    if (h->governing) {
        for (size_t i = 0; i < h->governing->n; i++) {
            const signer *sg = &h->governing->signers[i];
            if (sg->revoked)
                continue;
            size_t count = 0;
            int first = 1;
            for (size_t j = 0; j < h->governing->n; j++) {
                if (h->governing->signers[j].revoked ||
                    strcmp(h->governing->signers[j].org, sg->org) != 0)
                    continue;
                if (j < i)
                    first = 0;
                count++;
            }
            if (!first)
                continue;
            char labels[300];
            snprintf(labels, sizeof labels, "org=\"%.256s\"", sg->org);
            metrics_put_u64(out, "registry_signers", labels, count);
        }
    }
    head_snap_release(h);
    metrics_put_help(out, "registry_updates_total", "counter", "commit attempts by result");
    metrics_put_u64(out, "registry_updates_total", "result=\"ok\"", st.updates_ok);
    metrics_put_u64(out, "registry_updates_total", "result=\"rejected\"", st.updates_rejected);
    metrics_put_help(out, "registry_pending_proposals", "gauge", "proposals awaiting commit");
    metrics_put_u64(out, "registry_pending_proposals", NULL, ps.pending_proposals);
    metrics_put_help(out, "registry_pending_bytes", "gauge",
                     "canonical payload bytes held by proposals awaiting commit");
    metrics_put_u64(out, "registry_pending_bytes", NULL, ps.pending_bytes);
    metrics_put_help(out, "commit_cas_fail_total", "counter", "commits refused by the HEAD CAS");
    metrics_put_u64(out, "commit_cas_fail_total", NULL, st.cas_failures);
    metrics_put_help(out, "commit_latency_seconds", "summary", "queue-to-durable commit latency");
    metrics_put_f64(out, "commit_latency_seconds_sum", NULL, st.commit_latency_sum_s);
    metrics_put_u64(out, "commit_latency_seconds_count", NULL, st.commit_latency_count);
    metrics_put_help(out, "registry_recoveries_total", "counter", "store recoveries by kind");
    metrics_put_u64(out, "registry_recoveries_total", "kind=\"startup\"", st.recoveries_startup);
    metrics_put_u64(out, "registry_recoveries_total", "kind=\"storage_fault\"", st.storage_faults);
    metrics_put_help(out, "registry_storage_bytes", "gauge", "bytes used by the store");
    metrics_put_u64(out, "registry_storage_bytes", NULL, pipeline_storage_bytes(s->o.pl));
    metrics_put_help(out, "registry_checkpoint_age_seconds", "gauge",
                     "age of the newest signed checkpoint (none yet: 0)");
    metrics_put_u64(out, "registry_checkpoint_age_seconds", NULL, 0);
    metrics_put_help(out, "audit_chain_verify_seconds", "gauge",
                     "time the last full verification took");
    metrics_put_f64(out, "audit_chain_verify_seconds", NULL, st.verify_seconds);
    metrics_put_help(out, "bus_overflow_dropped_total", "counter", "bus events lost by laggards");
    metrics_put_u64(out, "bus_overflow_dropped_total", NULL,
                    s->o.bus ? bus_dropped_total(s->o.bus) : 0);
    metrics_put_help(out, "registry_group_commit_batches_total", "counter",
                     "storage transactions (one fsync each)");
    metrics_put_u64(out, "registry_group_commit_batches_total", NULL, st.batches);
    metrics_put_help(out, "registry_pipeline_ops_total", "counter", "operations applied");
    metrics_put_u64(out, "registry_pipeline_ops_total", NULL, st.ops);
}
