/* reads.c - the GET/HEAD handlers of the route table: reads answer from the HEAD snapshot or
 * through the pipeline's read side, never from storage directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b3.h"
#include "http/internal.h"
#include "observability/log.h"
#include "observability/scrape.h"
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

void read_artifact(http_server *s, struct MHD_Connection *c, req *q, resp *r)
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

void read_audit(http_server *s, struct MHD_Connection *c, req *q, resp *r)
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

void read_readyz(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    (void)q;
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

void read_version(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    (void)c;
    (void)q;
    buf out = {0};
    buf_printf(&out,
               "{\"service\":\"svc-registry\",\"version\":\"%s\",\"commit\":\"%s\","
               "\"build_time\":\"%s\",\"schema\":{\"registry\":\"1.0.0\"},\"deprecations\":[]}",
               s->o.build_version, s->o.build_commit, s->o.build_time);
    resp_json(r, 200, &out);
}

void read_schema(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    (void)s;
    (void)c;
    (void)q;
    buf out = {0};
    buf_puts(&out, "{\"schema\":{\"registry\":\"1.0.0\"},\"deprecations\":[]}");
    resp_json(r, 200, &out);
}

void read_healthz(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    (void)s;
    (void)c;
    (void)q;
    buf out = {0};
    buf_puts(&out, "{\"ok\":true}");
    resp_json(r, 200, &out);
}

/* The orgs of the governing set's signers without revoked_at (borrowed from h), for a scrape.
 * NULL with *n = 0 when there are none or memory runs out (the gauge is then left out). */
static const char **active_orgs(const head_snap *h, size_t *n)
{
    *n = 0;
    if (!h->governing || h->governing->n == 0)
        return NULL;
    const char **orgs = calloc(h->governing->n, sizeof *orgs);
    if (!orgs)
        return NULL;
    for (size_t i = 0; i < h->governing->n; i++)
        if (!h->governing->signers[i].revoked)
            orgs[(*n)++] = h->governing->signers[i].org;
    return orgs;
}

void read_metrics(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    (void)c;
    (void)q;
    pipeline_stats st;
    pipeline_status ps;
    pipeline_get_stats(s->o.pl, &st);
    pipeline_get_status(s->o.pl, &ps);
    head_snap *h = pipeline_head(s->o.pl);
    size_t norgs = 0;
    const char **orgs = active_orgs(h, &norgs);
    scrape_state ss = {.head_version = h->version,
                       .signer_orgs = orgs,
                       .nsigners = norgs,
                       .updates_ok = st.updates_ok,
                       .updates_rejected = st.updates_rejected,
                       .pending_proposals = ps.pending_proposals,
                       .pending_bytes = ps.pending_bytes,
                       .cas_failures = st.cas_failures,
                       .commit_latency_sum_s = st.commit_latency_sum_s,
                       .commit_latency_count = st.commit_latency_count,
                       .recoveries_startup = st.recoveries_startup,
                       .storage_faults = st.storage_faults,
                       .storage_bytes = pipeline_storage_bytes(s->o.pl),
                       .verify_seconds = st.verify_seconds,
                       .bus_dropped = s->o.bus ? bus_dropped_total(s->o.bus) : 0,
                       .batches = st.batches,
                       .ops = st.ops};
    buf out = {0};
    scrape_render(s->o.m, &ss, &out);
    free(orgs);
    head_snap_release(h);
    resp_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", &out);
}

void read_head(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    (void)c;
    head_snap *h = pipeline_head(s->o.pl); /* the body rendered once per commit, no copy */
    q->version = h->version;
    r->cache_control = "no-cache";
    resp_zero_copy(r, 200, h->json, h->json_len, release_head, h);
}

/* A pipeline read's JSON, or its error (NotFound: no such proposal; else storage). */
static void answer_read(resp *r, const req *q, svcr_code code, buf *out)
{
    if (code != SVCR_OK) {
        buf_free(out);
        resp_error_code(r, q->corr_id, code, code == SVCR_E_NOT_FOUND ? "proposal" : "storage",
                        code == SVCR_E_NOT_FOUND ? "no proposal with this id"
                                                 : "storage read failed");
        return;
    }
    resp_json(r, 200, out);
}

void read_proposals(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    uint64_t limit = 100;
    const char *l = query(c, "limit"), *after = query(c, "after");
    if ((l && (parse_u64(l, &limit) != 0 || limit < 1 || limit > 1000)) ||
        (after && !pipeline_pending_cursor_valid(after))) {
        resp_error_code(r, q->corr_id, SVCR_E_MALFORMED, "query",
                        "limit must be an integer in 1..1000 and after a cursor from "
                        "\"next\"");
        return;
    }
    buf out = {0};
    svcr_code code = pipeline_pending_json(s->o.pl, after, (size_t)limit, &out);
    answer_read(r, q, code, &out);
}

void read_proposal(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
    (void)c;
    snprintf(q->proposal_id, sizeof q->proposal_id, "%s", q->param);
    buf out = {0};
    svcr_code code = pipeline_proposal_json(s->o.pl, q->param, &out);
    answer_read(r, q, code, &out);
}

void read_stream(http_server *s, struct MHD_Connection *c, req *q, resp *r)
{
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
        buf out = {0};
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
}
