/* test_http_api.c - SPEC §5 through the real binary: every endpoint, the error envelope and
 * headers, the full governance flow with signatures made here, capabilities, limits, restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "helpers/harness.h"
#include "crypto/b3.h"
#include "interop/ulid.h"

/* Proposes HEAD+1 (extra services), returns id and b3. */
static void propose(srv *s, char id[27], char b3[68], int extra, long *status)
{
    http_resp r;
    assert_int_equal(http_get(s, "/registry/head", &r), 0);
    uint64_t v = (uint64_t)json_integer_value(json_object_get(r.json, "version"));
    char prev[68];
    snprintf(prev, sizeof prev, "%s", json_string_value(json_object_get(r.json, "payload_b3")));
    http_resp_free(&r);
    char *payload = fx_payload_json(v + 1, prev, &s->gov, extra, NULL, NULL);
    char *body = fx_propose_body(payload);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    assert_int_equal(http_post(s, "/registry/proposals", tok, body, &r), 0);
    *status = r.status;
    if (r.status == 202 || r.status == 200) {
        snprintf(id, 27, "%s", json_string_value(json_object_get(r.json, "proposal_id")));
        snprintf(b3, 68, "%s", json_string_value(json_object_get(r.json, "payload_b3")));
    }
    http_resp_free(&r);
    free(tok);
    free(body);
    free(payload);
}

static long approve(srv *s, const char *id, size_t who, const char *b3, http_resp *out)
{
    char *body = fx_approval_body(&s->gov, who, b3, 0);
    char *tok = srv_token(s, "registry:approve", 600, NULL, NULL);
    char path[128];
    snprintf(path, sizeof path, "/registry/approvals/%s", id);
    http_resp r;
    assert_int_equal(http_post(s, path, tok, body, &r), 0);
    long st = r.status;
    if (out)
        *out = r;
    else
        http_resp_free(&r);
    free(tok);
    free(body);
    return st;
}

static long commit(srv *s, const char *id, http_resp *out)
{
    char *tok = srv_token(s, "registry:commit", 600, NULL, NULL);
    char path[128];
    snprintf(path, sizeof path, "/registry/commit/%s", id);
    http_resp r;
    assert_int_equal(http_post(s, path, tok, "", &r), 0);
    long st = r.status;
    if (out)
        *out = r;
    else
        http_resp_free(&r);
    free(tok);
    return st;
}

static void test_read_endpoints_answer_their_contract(void **state)
{
    srv *s = *state;
    http_resp r;
    assert_int_equal(http_get(s, "/version", &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "service")), "svc-registry");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "schema"), "registry")), "1.0.0");
    assert_true(json_is_array(json_object_get(r.json, "deprecations")));
    char h[128];
    assert_int_equal(http_header(&r, "Content-Type", h, sizeof h), 0);
    assert_string_equal(h, "application/json; charset=utf-8");
    assert_int_equal(http_header(&r, "X-Corr-ID", h, sizeof h), 0);
    assert_true(ulid_valid(h, strlen(h)));
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/schema", &r), 0);
    assert_string_equal(r.body.data, "{\"schema\":{\"registry\":\"1.0.0\"},\"deprecations\":[]}");
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/healthz", &r), 0);
    assert_string_equal(r.body.data, "{\"ok\":true}");
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/readyz", &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "ready")));
    assert_int_equal(json_array_size(json_object_get(r.json, "missing")), 0);
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/registry/head", &r), 0);
    assert_int_equal(json_integer_value(json_object_get(r.json, "version")), 0);
    assert_true(json_is_null(json_object_get(r.json, "committed_at")));
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/metrics", &r), 0);
    const char *series[] = {"http_requests_total",        "request_latency_seconds_bucket",
                            "inflight_requests",          "rejected_total",
                            "bus_lagged_total",           "bus_overflow_dropped_total",
                            "registry_updates_total",     "registry_pending_proposals",
                            "registry_head_version",      "registry_signers",
                            "commit_cas_fail_total",      "commit_latency_seconds",
                            "approval_verify_total",      "registry_recoveries_total",
                            "registry_storage_bytes",     "registry_checkpoint_age_seconds",
                            "audit_chain_verify_seconds", "registry_reload_success_total",
                            "registry_reload_fail_total", "sse_clients"};
    for (size_t i = 0; i < sizeof series / sizeof *series; i++)
        if (!strstr(r.body.data, series[i]))
            fail_msg("metric %s missing", series[i]);
    assert_non_null(strstr(r.body.data, "route=\"/healthz\""));
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/registry/proposals", &r), 0);
    assert_string_equal(r.body.data, "{\"next\":null,\"proposals\":[]}");
    http_resp_free(&r);
    assert_int_equal(http_do(s, "HEAD", "/registry/head", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    http_resp_free(&r);
}

static void test_unknown_path_404_and_wrong_method_405_with_allow(void **state)
{
    srv *s = *state;
    http_resp r;
    const char *hdr[] = {"X-Corr-ID: 01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL};
    assert_int_equal(http_do(s, "GET", "/nope", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(http_err_code(&r), "NotFound");
    json_t *e = json_object_get(r.json, "error");
    assert_string_equal(json_string_value(json_object_get(e, "corr_id")),
                        "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_non_null(json_string_value(json_object_get(e, "message")));
    assert_true(json_is_object(json_object_get(e, "details")));
    char h[128];
    assert_int_equal(http_header(&r, "X-Corr-ID", h, sizeof h), 0);
    assert_string_equal(h, "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    http_resp_free(&r);
    const char *junk[] = {"X-Corr-ID: <script>", NULL};
    assert_int_equal(http_do(s, "GET", "/healthz", junk, NULL, 0, &r), 0);
    assert_int_equal(http_header(&r, "X-Corr-ID", h, sizeof h), 0);
    assert_true(ulid_valid(h, strlen(h)));
    http_resp_free(&r);
    assert_int_equal(http_do(s, "DELETE", "/registry/head", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 405);
    assert_string_equal(http_err_code(&r), "MethodNotAllowed");
    assert_int_equal(http_header(&r, "Allow", h, sizeof h), 0);
    assert_string_equal(h, "GET, HEAD");
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/registry/commit/p_0", &r), 0);
    assert_int_equal(r.status, 405);
    assert_int_equal(http_header(&r, "Allow", h, sizeof h), 0);
    assert_string_equal(h, "POST");
    assert_int_equal(http_header(&r, "Cache-Control", h, sizeof h), 0);
    assert_string_equal(h, "no-store");
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/registry/99", &r), 0);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
}

static void test_full_flow_propose_approve_commit_and_read_back(void **state)
{
    srv *s = *state;
    char id[27], b3[68];
    long st;
    propose(s, id, b3, 2, &st);
    assert_int_equal(st, 202);
    propose(s, id, b3, 2, &st);
    assert_int_equal(st, 200); /* idempotent */
    http_resp r;
    assert_int_equal(commit(s, id, &r), 422);
    assert_string_equal(http_err_code(&r), "QuorumFailed");
    http_resp_free(&r);
    assert_int_equal(approve(s, id, 0, b3, &r), 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "accepted");
    assert_int_equal(json_integer_value(json_object_get(r.json, "approvals")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "quorum"), "m")),
                     2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "quorum"), "n")),
                     3);
    char h[256];
    assert_int_equal(http_header(&r, "Cache-Control", h, sizeof h), 0);
    assert_string_equal(h, "no-store");
    http_resp_free(&r);
    assert_int_equal(approve(s, id, 0, b3, &r), 409);
    assert_string_equal(http_err_code(&r), "DuplicateApproval");
    http_resp_free(&r);
    assert_int_equal(approve(s, id, 1, b3, NULL), 200);
    http_resp c1, c2;
    assert_int_equal(commit(s, id, &c1), 201);
    assert_int_equal(commit(s, id, &c2), 201);
    assert_string_equal(c1.body.data, c2.body.data);
    assert_int_equal(json_integer_value(json_object_get(c1.json, "version")), 1);
    http_resp_free(&c1);
    http_resp_free(&c2);
    assert_int_equal(http_get(s, "/registry/head", &r), 0);
    assert_int_equal(json_integer_value(json_object_get(r.json, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(r.json, "payload_b3")), b3);
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/registry/1", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(http_header(&r, "Cache-Control", h, sizeof h), 0);
    assert_string_equal(h, "public, max-age=31536000, immutable");
    char etag[128];
    assert_int_equal(http_header(&r, "ETag", etag, sizeof etag), 0);
    char want[80];
    snprintf(want, sizeof want, "\"%s\"", b3);
    assert_string_equal(etag, want);
    json_t *apps = json_object_get(r.json, "approvals");
    assert_int_equal(json_array_size(apps), 2);
    assert_string_equal(json_string_value(json_object_get(r.json, "proposal_id")), id);
    http_resp_free(&r);
    char inm[160];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *hdr[] = {inm, NULL};
    assert_int_equal(http_do(s, "GET", "/registry/1", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 304);
    http_resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/registry/proposals/%s", id);
    assert_int_equal(http_get(s, path, &r), 0);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "committed");
    /* the committed proposal still shows its payload (read from the version's artifact) */
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r.json, "payload"), "version")), 1);
    assert_string_equal(json_string_value(json_object_get(r.json, "payload_b3")), b3);
    assert_int_equal(json_array_size(json_object_get(r.json, "approvals")), 2);
    http_resp_free(&r);
    /* audit: propose, propose(200), commit(rejected), approve, approve(dup), approve, commit x2 */
    assert_int_equal(http_get(s, "/registry/audit?from=1&limit=1000", &r), 0);
    json_t *recs = json_object_get(r.json, "records");
    assert_int_equal(json_array_size(recs), 8);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 2), "decision")),
                        "rejected");
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 2), "err_code")),
                        "QuorumFailed");
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 1), "prev")),
                        json_string_value(json_object_get(json_array_get(recs, 0), "hash")));
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/registry/audit?limit=0", &r), 0);
    assert_int_equal(r.status, 400);
    http_resp_free(&r);
}

static void test_capability_matrix(void **state)
{
    srv *s = *state;
    char *payload =
        fx_payload_json(1, "b3:0000000000000000000000000000000000000000000000000000000000000000",
                        &s->gov, 0, NULL, NULL);
    char *body = fx_propose_body(payload);
    http_resp r;
    struct {
        const char *token;
        long status;
        const char *code;
    } cases[] = {
        {NULL, 401, "Unauthorized"},
        {"not-a-macaroon", 401, "Unauthorized"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(http_post(s, "/registry/proposals", cases[i].token, body, &r), 0);
        assert_int_equal(r.status, cases[i].status);
        assert_string_equal(http_err_code(&r), cases[i].code);
        http_resp_free(&r);
    }
    char *expired = srv_token(s, "registry:propose", -10, NULL, NULL);
    assert_int_equal(http_post(s, "/registry/proposals", expired, body, &r), 0);
    assert_int_equal(r.status, 401);
    http_resp_free(&r);
    char *far = srv_token(s, "registry:propose", 31L * 86400, NULL, NULL);
    assert_int_equal(http_post(s, "/registry/proposals", far, body, &r), 0);
    assert_int_equal(r.status, 401);
    http_resp_free(&r);
    char *wrong = srv_token(s, "registry:approve", 600, NULL, NULL);
    assert_int_equal(http_post(s, "/registry/proposals", wrong, body, &r), 0);
    assert_int_equal(r.status, 403);
    assert_string_equal(http_err_code(&r), "Forbidden");
    http_resp_free(&r);
    /* the 403 is audited (the caller is authenticated) with the hash of its body; the 401s
     * before it are not */
    assert_int_equal(http_get(s, "/registry/audit", &r), 0);
    json_t *recs = json_object_get(r.json, "records");
    assert_int_equal(json_array_size(recs), 1);
    json_t *rec = json_array_get(recs, 0);
    assert_string_equal(json_string_value(json_object_get(rec, "err_code")), "Forbidden");
    assert_string_equal(json_string_value(json_object_get(rec, "event")), "propose");
    char body_b3[B3_TAG_LEN + 1];
    b3_tag_of(body, strlen(body), body_b3);
    assert_string_equal(json_string_value(json_object_get(rec, "input_b3")), body_b3);
    http_resp_free(&r);
    /* attenuation narrows: propose+approve, attenuated to approve only */
    char *both = srv_token(s, "registry:propose registry:approve", 600, NULL, NULL);
    const char *only[] = {"registry:approve"};
    char *narrow = NULL;
    assert_int_equal(auth_attenuate(both, only, 1, 0, NULL, NULL, &narrow), 0);
    assert_int_equal(http_post(s, "/registry/proposals", narrow, body, &r), 0);
    assert_int_equal(r.status, 403);
    http_resp_free(&r);
    assert_int_equal(http_post(s, "/registry/proposals", both, body, &r), 0);
    assert_int_equal(r.status, 202);
    char id[27], b3[68];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "proposal_id")));
    snprintf(b3, sizeof b3, "%s", json_string_value(json_object_get(r.json, "payload_b3")));
    http_resp_free(&r);
    /* a signer caveat binds the approval's signer */
    char *bound = srv_token(s, "registry:approve", 600, s->gov.s[1].id, NULL);
    char *ab = fx_approval_body(&s->gov, 0, b3, 0);
    char path[128];
    snprintf(path, sizeof path, "/registry/approvals/%s", id);
    assert_int_equal(http_post(s, path, bound, ab, &r), 0);
    assert_int_equal(r.status, 403);
    http_resp_free(&r);
    free(ab);
    ab = fx_approval_body(&s->gov, 1, b3, 0);
    assert_int_equal(http_post(s, path, bound, ab, &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    /* a key the server does not know */
    auth_keys *other = NULL;
    char err[128];
    const char *okeys =
        "{\"keys\":[{\"id\":\"k1\",\"secret\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}]}";
    assert_int_equal(auth_keys_parse(okeys, strlen(okeys), &other, err, sizeof err), 0);
    const char *sc[] = {"registry:propose"};
    char *forged = NULL;
    assert_int_equal(auth_mint(other, "k1", sc, 1, (int64_t)time(NULL) + 600, NULL, NULL, &forged),
                     0);
    assert_int_equal(http_post(s, "/registry/proposals", forged, body, &r), 0);
    assert_int_equal(r.status, 401);
    http_resp_free(&r);
    auth_keys_free(other);
    free(forged);
    free(ab);
    free(bound);
    free(both);
    free(narrow);
    free(wrong);
    free(far);
    free(expired);
    free(body);
    free(payload);
}

static void test_body_limits_media_type_and_malformed_json(void **state)
{
    srv *s = *state;
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    char auth[2048];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
    http_resp r;
    size_t big = 1024 * 1024 + 10;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = '\0';
    const char *h1[] = {"Content-Type: application/json", auth, NULL};
    assert_int_equal(http_do(s, "POST", "/registry/proposals", h1, huge, big, &r), 0);
    assert_int_equal(r.status, 413);
    assert_string_equal(http_err_code(&r), "PayloadTooLarge");
    http_resp_free(&r);
    free(huge);
    const char *h2[] = {"Content-Type: text/plain", auth, NULL};
    assert_int_equal(http_do(s, "POST", "/registry/proposals", h2, "{}", 2, &r), 0);
    assert_int_equal(r.status, 415);
    assert_string_equal(http_err_code(&r), "UnsupportedMediaType");
    http_resp_free(&r);
    const char *h3[] = {"Content-Type: application/json", "Content-Encoding: br", auth, NULL};
    assert_int_equal(http_do(s, "POST", "/registry/proposals", h3, "{}", 2, &r), 0);
    assert_int_equal(r.status, 415);
    http_resp_free(&r);
    const char *h4[] = {"Content-Type: Application/JSON; charset=utf-8", auth, NULL};
    const char *bad[] = {"{", "{\"payload\":{},\"payload\":{}}",
                         "{\"payload\":{\"version\":\"1\"}}", "{\"payload\":{},\"extra\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(http_do(s, "POST", "/registry/proposals", h4, bad[i], strlen(bad[i]), &r),
                         0);
        assert_int_equal(r.status, 400);
        assert_string_equal(http_err_code(&r), "Malformed");
        http_resp_free(&r);
    }
    free(tok);
    /* rejections are counted */
    assert_int_equal(http_get(s, "/metrics", &r), 0);
    assert_non_null(strstr(r.body.data, "rejected_total{reason=\"body_cap\"} 1"));
    assert_non_null(strstr(r.body.data, "rejected_total{reason=\"media_type\"} 2"));
    http_resp_free(&r);
}

static void test_freeze_thaw_and_readiness(void **state)
{
    srv *s = *state;
    char *op = srv_token(s, "registry:operate", 600, NULL, NULL);
    http_resp r;
    assert_int_equal(http_post(s, "/registry/admin/freeze", op, "{\"reason\":\"drill\"}", &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "{\"frozen\":true}");
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/readyz", &r), 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body.data, "\"frozen\""));
    assert_true(json_is_false(json_object_get(r.json, "write_ready")));
    assert_true(json_is_true(json_object_get(r.json, "read_ready")));
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/readyz?plane=read", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    char id[27], b3[68];
    long st;
    propose(s, id, b3, 0, &st);
    assert_int_equal(st, 503);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    char *payload =
        fx_payload_json(1, "b3:0000000000000000000000000000000000000000000000000000000000000000",
                        &s->gov, 0, NULL, NULL);
    char *body = fx_propose_body(payload);
    assert_int_equal(http_post(s, "/registry/proposals", tok, body, &r), 0);
    assert_string_equal(http_err_code(&r), "NotReady");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(r.json, "error"), "details"), "reason")),
        "maintenance");
    char h[64];
    assert_int_equal(http_header(&r, "Retry-After", h, sizeof h), 0);
    http_resp_free(&r);
    assert_int_equal(http_post(s, "/registry/admin/thaw", op, "{\"reason\":\"done\"}", &r), 0);
    assert_string_equal(r.body.data, "{\"frozen\":false}");
    http_resp_free(&r);
    assert_int_equal(http_post(s, "/registry/proposals", tok, body, &r), 0);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
    free(body);
    free(payload);
    free(tok);
    free(op);
}

static void test_restart_keeps_history_and_becomes_ready(void **state)
{
    srv *s = *state;
    for (int i = 0; i < 3; i++) {
        char id[27], b3[68];
        long st;
        propose(s, id, b3, i, &st);
        assert_int_equal(st, 202);
        assert_int_equal(approve(s, id, 0, b3, NULL), 200);
        assert_int_equal(approve(s, id, 2, b3, NULL), 200);
        assert_int_equal(commit(s, id, NULL), 201);
    }
    http_resp before, after;
    assert_int_equal(http_get(s, "/registry/3", &before), 0);
    assert_int_equal(srv_stop(s), 0);
    srv_start(s, NULL);
    assert_int_equal(http_get(s, "/registry/3", &after), 0);
    assert_int_equal(after.status, 200);
    assert_string_equal(before.body.data, after.body.data);
    http_resp_free(&before);
    http_resp_free(&after);
    http_resp r;
    assert_int_equal(http_get(s, "/readyz", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "version")), 3);
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/registry/audit", &r), 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "records")), 12);
    http_resp_free(&r);
}

/* limits.rps and limits.read_rps: token buckets per instance; over them, 429 Busy with
 * Retry-After, counted as rejected_total{reason="busy"}. */
static void test_rate_limits_answer_429_busy(void **state)
{
    srv *s = *state;
    assert_int_equal(srv_stop(s), 0);
    const char *extra[] = {"--limits-rps", "3", "--limits-read-rps", "20", NULL};
    srv_start(s, extra);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    int busy = 0, ok_or_other = 0;
    for (int i = 0; i < 12; i++) {
        http_resp r;
        assert_int_equal(http_post(s, "/registry/proposals", tok, "{}", &r), 0);
        if (r.status == 429) {
            busy++;
            char h[32];
            assert_int_equal(http_header(&r, "Retry-After", h, sizeof h), 0);
            assert_string_equal(http_err_code(&r), "Busy");
        } else {
            ok_or_other++;
        }
        http_resp_free(&r);
    }
    assert_true(busy >= 6); /* burst of ~3 then refused */
    assert_true(ok_or_other >= 2);
    int read_busy = 0, probe_busy = 0;
    for (int i = 0; i < 60; i++) {
        http_resp r;
        assert_int_equal(http_get(s, "/registry/head", &r), 0);
        read_busy += r.status == 429;
        http_resp_free(&r);
        assert_int_equal(http_get(s, "/readyz", &r), 0);
        probe_busy += r.status == 429;
        http_resp_free(&r);
    }
    assert_true(read_busy > 0);
    assert_int_equal(probe_busy, 0); /* probes are never rate-limited */
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_endpoints_answer_their_contract,
                                        srv_setup_started, srv_teardown_exit_0),
        cmocka_unit_test_setup_teardown(test_unknown_path_404_and_wrong_method_405_with_allow,
                                        srv_setup_started, srv_teardown_exit_0),
        cmocka_unit_test_setup_teardown(test_full_flow_propose_approve_commit_and_read_back,
                                        srv_setup_started, srv_teardown_exit_0),
        cmocka_unit_test_setup_teardown(test_capability_matrix, srv_setup_started,
                                        srv_teardown_exit_0),
        cmocka_unit_test_setup_teardown(test_body_limits_media_type_and_malformed_json,
                                        srv_setup_started, srv_teardown_exit_0),
        cmocka_unit_test_setup_teardown(test_freeze_thaw_and_readiness, srv_setup_started,
                                        srv_teardown_exit_0),
        cmocka_unit_test_setup_teardown(test_restart_keeps_history_and_becomes_ready,
                                        srv_setup_started, srv_teardown_exit_0),
        cmocka_unit_test_setup_teardown(test_rate_limits_answer_429_busy, srv_setup_started,
                                        srv_teardown_exit_0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
