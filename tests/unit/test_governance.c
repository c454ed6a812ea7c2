/* test_governance.c - the governed log through the pipeline (memory store): propose, approve,
 * commit, every rejection code of §4, idempotency, supersede, freeze, rotation, audit chain,
 * and the signer-set checks: one key per set, no weak keys, a bounded proposal_ttl_secs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "governance/approvals.h"
#include "governance/artifact.h"
#include "governance/audit.h"
#include "governance/signer_set.h"
#include "helpers/gov_fixture.h"
#include "interop/jcs.h"
#include "interop/rfc3339.h"

typedef struct world {
    store *st;
    pipeline *p;
    fx_keys k;
} world;

static int setup(void **state)
{
    crypto_init();
    world *w = calloc(1, sizeof *w);
    store_open_opts so = {0};
    assert_int_equal(store_memory_open(&so, &w->st, NULL, 0), STORE_OK);
    fx_keys_make(&w->k, 3, 2, 1);
    w->p = fx_pipeline(w->st, &w->k, 1000);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    pipeline_close(w->p);
    w->st->ops->close(w->st);
    free(w);
    return 0;
}

static const write_ctx ctx = {.corr_id = "01JDTESTCORRELATION0000001"};

static int append_cb(void *b, const void *data, size_t len)
{
    return buf_append(b, data, len);
}

/* Proposes HEAD+1 with the world's keys; fills b3 and id. */
static void propose_next(world *w, char b3[68], char id[27], int extra)
{
    head_snap *h = pipeline_head(w->p);
    char *payload = fx_payload_json(h->version + 1, h->payload_b3, &w->k, extra, NULL, NULL);
    head_snap_release(h);
    int http = 0;
    assert_int_equal(fx_propose(w->p, payload, b3, id, &http), SVCR_OK);
    assert_int_equal(http, 202);
    free(payload);
}

static svcr_code approve_body(world *w, const char *id, const char *body, pipeline_result *r)
{
    memset(r, 0, sizeof *r);
    pipeline_approve(w->p, &ctx, id, body, strlen(body), r);
    pipeline_result_free(r); /* tests look at code and err only */
    return r->code;
}

static void test_genesis_head_is_version_zero_with_zero_hash(void **state)
{
    world *w = *state;
    head_snap *h = pipeline_head(w->p);
    assert_int_equal(h->version, 0);
    assert_string_equal(h->payload_b3, B3_ZERO_TAG);
    assert_non_null(h->governing);
    assert_string_equal(h->json, "{\"version\":0,\"payload_b3\":\"b3:00000000000000000000000000000"
                                 "00000000000000000000000000000000000\",\"committed_at\":null}");
    head_snap_release(h);
    pipeline_status s;
    pipeline_get_status(w->p, &s);
    assert_true(s.write_ready);
}

static void test_full_cycle_commits_version_one_and_retry_is_idempotent(void **state)
{
    world *w = *state;
    char b3[68], id[27];
    propose_next(w, b3, id, 2);
    assert_memory_equal(id, "p_", 2);
    assert_memory_equal(id + 2, b3 + 3, 24);
    int http = 0;
    assert_int_equal(fx_commit(w->p, id, &http), SVCR_E_QUORUM_FAILED);
    assert_int_equal(fx_approve(w->p, id, &w->k, 0, b3), SVCR_OK);
    assert_int_equal(fx_commit(w->p, id, &http), SVCR_E_QUORUM_FAILED);
    assert_int_equal(fx_approve(w->p, id, &w->k, 2, b3), SVCR_OK);
    pipeline_result r1 = {0}, r2 = {0};
    pipeline_commit(w->p, &ctx, id, "{}", 2, &r1);
    assert_int_equal(r1.code, SVCR_OK);
    assert_int_equal(r1.http_status, 201);
    pipeline_commit(w->p, &ctx, id, "", 0, &r2);
    assert_int_equal(r2.http_status, 201);
    assert_string_equal(r1.body.data, r2.body.data);
    head_snap *h = pipeline_head(w->p);
    assert_int_equal(h->version, 1);
    assert_string_equal(h->payload_b3, b3);
    head_snap_release(h);
    pipeline_result_free(&r1);
    pipeline_result_free(&r2);
    /* the stored artifact carries the approvals sorted by signer_id */
    buf art = {0};
    assert_int_equal(pipeline_get_version(w->p, 1, append_cb, &art, NULL), SVCR_OK);
    json_t *a = json_loadb(art.data, art.len, 0, NULL);
    assert_non_null(a);
    json_t *apps = json_object_get(a, "approvals");
    assert_int_equal(json_array_size(apps), 2);
    assert_true(strcmp(json_string_value(json_object_get(json_array_get(apps, 0), "signer_id")),
                       json_string_value(json_object_get(json_array_get(apps, 1), "signer_id"))) <
                0);
    assert_string_equal(json_string_value(json_object_get(a, "payload_b3")), b3);
    assert_string_equal(json_string_value(json_object_get(a, "prev_hash")), B3_ZERO_TAG);
    assert_string_equal(json_string_value(json_object_get(a, "schema_version")), "1.0.0");
    json_decref(a);
    buf_free(&art);
}

static void test_same_payload_twice_returns_the_same_proposal(void **state)
{
    world *w = *state;
    char *payload = fx_payload_json(1, B3_ZERO_TAG, &w->k, 1, NULL, NULL);
    char *body = fx_propose_body(payload);
    pipeline_result a = {0}, b = {0};
    pipeline_propose(w->p, &ctx, body, strlen(body), &a);
    pipeline_propose(w->p, &ctx, body, strlen(body), &b);
    assert_int_equal(a.http_status, 202);
    assert_int_equal(b.http_status, 200);
    assert_string_equal(a.body.data, b.body.data);
    pipeline_result_free(&a);
    pipeline_result_free(&b);
    free(body);
    free(payload);
}

static void test_approval_rejections_have_their_codes(void **state)
{
    world *w = *state;
    char b3[68], id[27];
    propose_next(w, b3, id, 0);
    pipeline_result r;
    /* unknown signer: signed by a key that is not in the set */
    fx_keys other;
    fx_keys_make(&other, 1, 1, 9);
    char *body = fx_approval_body(&other, 0, b3, 0);
    assert_int_equal(approve_body(w, id, body, &r), SVCR_E_UNKNOWN_SIGNER);
    free(body);
    /* wrong key under a known signer id */
    memcpy(other.s[0].id, w->k.s[1].id, sizeof other.s[0].id);
    body = fx_approval_body(&other, 0, b3, 0);
    assert_int_equal(approve_body(w, id, body, &r), SVCR_E_INVALID_SIG);
    free(body);
    /* signed over another payload */
    char wrong[68];
    b3_tag_of("x", 1, wrong);
    body = fx_approval_body(&w->k, 0, wrong, 0);
    assert_int_equal(approve_body(w, id, body, &r), SVCR_E_INVALID_SIG);
    free(body);
    /* signed_at too far in the future / before acceptance */
    body = fx_approval_body(&w->k, 0, b3, 400);
    assert_int_equal(approve_body(w, id, body, &r), SVCR_E_INVALID_SIG);
    assert_string_equal(r.err.reason, "signed_at");
    free(body);
    body = fx_approval_body(&w->k, 0, b3, -400);
    assert_int_equal(approve_body(w, id, body, &r), SVCR_E_INVALID_SIG);
    free(body);
    /* algo mismatch */
    body = fx_approval_body(&w->k, 0, b3, 0);
    char *alg = strstr(body, "\"ed25519\"");
    memcpy(alg, "\"ml-dsa-65\"", 0); /* keep length: replace below */
    char *b2 = malloc(strlen(body) + 8);
    size_t pre = (size_t)(alg - body);
    memcpy(b2, body, pre);
    strcpy(b2 + pre, "\"ml-dsa-65\"");
    strcat(b2, alg + strlen("\"ed25519\""));
    assert_int_equal(approve_body(w, id, b2, &r), SVCR_E_INVALID_SIG);
    assert_string_equal(r.err.reason, "algo_mismatch");
    free(b2);
    /* malformed bodies */
    assert_int_equal(approve_body(w, id, "{\"signer_id\":1}", &r), SVCR_E_MALFORMED);
    assert_int_equal(approve_body(w, id, "not json", &r), SVCR_E_MALFORMED);
    char *extra = malloc(strlen(body) + 32);
    strcpy(extra, body);
    strcpy(extra + strlen(extra) - 1, ",\"x\":1}");
    assert_int_equal(approve_body(w, id, extra, &r), SVCR_E_MALFORMED);
    free(extra);
    /* a good one, then the duplicate (even with a fresh signature) */
    assert_int_equal(approve_body(w, id, body, &r), SVCR_OK);
    free(body);
    body = fx_approval_body(&w->k, 0, b3, -5);
    assert_int_equal(approve_body(w, id, body, &r), SVCR_E_DUPLICATE_APPROVAL);
    free(body);
    /* unknown proposal */
    body = fx_approval_body(&w->k, 1, b3, 0);
    assert_int_equal(approve_body(w, "p_000000000000000000000000", body, &r), SVCR_E_NOT_FOUND);
    assert_int_equal(approve_body(w, "nonsense", body, &r), SVCR_E_NOT_FOUND);
    free(body);
}

static void test_stale_proposal_is_chain_mismatch_forever(void **state)
{
    world *w = *state;
    char b3a[68], ida[27];
    head_snap *h = pipeline_head(w->p);
    char *pa = fx_payload_json(1, h->payload_b3, &w->k, 1, NULL, NULL);
    char *pb = fx_payload_json(1, h->payload_b3, &w->k, 2, NULL, NULL);
    head_snap_release(h);
    char b3b[68], idb[27];
    assert_int_equal(fx_propose(w->p, pa, b3a, ida, NULL), SVCR_OK);
    assert_int_equal(fx_propose(w->p, pb, b3b, idb, NULL), SVCR_OK);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(fx_approve(w->p, ida, &w->k, i, b3a), SVCR_OK);
        assert_int_equal(fx_approve(w->p, idb, &w->k, i, b3b), SVCR_OK);
    }
    assert_int_equal(fx_commit(w->p, ida, NULL), SVCR_OK);
    assert_int_equal(fx_commit(w->p, idb, NULL), SVCR_E_CHAIN_MISMATCH);
    assert_int_equal(fx_approve(w->p, idb, &w->k, 2, b3b), SVCR_E_CHAIN_MISMATCH);
    buf v = {0};
    assert_int_equal(pipeline_proposal_json(w->p, idb, &v), SVCR_OK);
    assert_non_null(strstr(v.data, "\"status\":\"stale\""));
    buf_reset(&v);
    assert_int_equal(pipeline_proposal_json(w->p, ida, &v), SVCR_OK);
    assert_non_null(strstr(v.data, "\"status\":\"committed\""));
    buf_free(&v);
    /* a payload that does not extend HEAD is refused at propose time */
    assert_int_equal(fx_propose(w->p, pb, NULL, NULL, NULL), SVCR_OK); /* same proposal: 200 */
    char *pc = fx_payload_json(5, B3_ZERO_TAG, &w->k, 0, NULL, NULL);
    assert_int_equal(fx_propose(w->p, pc, NULL, NULL, NULL), SVCR_E_CHAIN_MISMATCH);
    free(pa);
    free(pb);
    free(pc);
    pipeline_stats st;
    pipeline_get_stats(w->p, &st);
    assert_true(st.cas_failures >= 1);
}

static void test_propose_rejects_bad_payloads_with_paths(void **state)
{
    world *w = *state;
    pipeline_result r = {0};
    const char *bodies[] = {
        "{\"payload\":{\"version\":1}}",
        "{\"payload\":{\"version\":1,\"prev_hash\":\"b3:00\",\"items\":[]}}",
        "{\"schema_version\":\"2.0.0\",\"payload\":{}}",
        "{\"payload\":{},\"payload\":{}}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        pipeline_propose(w->p, &ctx, bodies[i], strlen(bodies[i]), &r);
        assert_int_equal(r.code, SVCR_E_MALFORMED);
        pipeline_result_free(&r);
    }
    /* a dangling region reference names the item */
    char *payload = fx_payload_json(1, B3_ZERO_TAG, &w->k, 1, NULL, NULL);
    char *p2 = strstr(payload, "\"region\":\"eu-west\",\"meta\"");
    assert_non_null(p2);
    memcpy(p2, "\"region\":\"eu-wesX\"", 18);
    char *body = fx_propose_body(payload);
    pipeline_propose(w->p, &ctx, body, strlen(body), &r);
    assert_int_equal(r.code, SVCR_E_MALFORMED);
    assert_string_equal(r.err.path, "payload.items[2].region");
    pipeline_result_free(&r);
    free(body);
    free(payload);
    /* payload_b3 must match */
    payload = fx_payload_json(1, B3_ZERO_TAG, &w->k, 0, NULL, NULL);
    buf b = {0};
    buf_printf(&b, "{\"payload\":%s,\"payload_b3\":\"%s\"}", payload, B3_ZERO_TAG);
    pipeline_propose(w->p, &ctx, b.data, b.len, &r);
    assert_int_equal(r.code, SVCR_E_MALFORMED);
    assert_string_equal(r.err.reason, "hash_mismatch");
    pipeline_result_free(&r);
    buf_free(&b);
    free(payload);
}

static void test_freeze_refuses_writes_and_thaw_restores_them(void **state)
{
    world *w = *state;
    pipeline_result r = {0};
    pipeline_freeze(w->p, &ctx, 1, "{\"reason\":\"key rotation\"}", 25, &r);
    assert_int_equal(r.code, SVCR_OK);
    assert_string_equal(r.body.data, "{\"frozen\":true}");
    pipeline_result_free(&r);
    pipeline_status s;
    pipeline_get_status(w->p, &s);
    assert_true(s.frozen);
    assert_false(s.write_ready);
    char *payload = fx_payload_json(1, B3_ZERO_TAG, &w->k, 0, NULL, NULL);
    char *body = fx_propose_body(payload);
    pipeline_propose(w->p, &ctx, body, strlen(body), &r);
    assert_int_equal(r.code, SVCR_E_NOT_READY);
    assert_string_equal(r.err.reason, "maintenance");
    pipeline_result_free(&r);
    pipeline_freeze(w->p, &ctx, 0, "{\"reason\":\"done\"}", 17, &r);
    assert_string_equal(r.body.data, "{\"frozen\":false}");
    pipeline_result_free(&r);
    pipeline_propose(w->p, &ctx, body, strlen(body), &r);
    assert_int_equal(r.code, SVCR_OK);
    pipeline_result_free(&r);
    pipeline_freeze(w->p, &ctx, 1, "{}", 2, &r);
    assert_int_equal(r.code, SVCR_E_MALFORMED);
    pipeline_result_free(&r);
    free(body);
    free(payload);
}

static void test_supersede_uses_its_own_route(void **state)
{
    world *w = *state;
    assert_int_equal(fx_cycle(w->p, &w->k, &w->k, 1), SVCR_OK);
    head_snap *h = pipeline_head(w->p);
    char *payload = fx_payload_json(2, h->payload_b3, &w->k, 0, h->payload_b3, "DataError");
    head_snap_release(h);
    char b3[68], id[27];
    assert_int_equal(fx_propose(w->p, payload, b3, id, NULL), SVCR_OK);
    free(payload);
    assert_int_equal(fx_approve(w->p, id, &w->k, 0, b3), SVCR_OK);
    assert_int_equal(fx_approve(w->p, id, &w->k, 1, b3), SVCR_OK);
    pipeline_result r = {0};
    pipeline_commit(w->p, &ctx, id, "", 0, &r);
    assert_int_equal(r.code, SVCR_E_MALFORMED);
    assert_string_equal(r.err.reason, "use_supersede_route");
    pipeline_result_free(&r);
    char body[96];
    snprintf(body, sizeof body, "{\"proposal_id\":\"%s\"}", id);
    pipeline_supersede(w->p, &ctx, body, strlen(body), &r);
    assert_int_equal(r.code, SVCR_OK);
    assert_int_equal(r.http_status, 201);
    pipeline_result_free(&r);
    /* an ordinary proposal is refused by the supersede route */
    assert_int_equal(fx_cycle(w->p, &w->k, &w->k, 2), SVCR_OK);
    h = pipeline_head(w->p);
    payload = fx_payload_json(h->version + 1, h->payload_b3, &w->k, 0, NULL, NULL);
    head_snap_release(h);
    assert_int_equal(fx_propose(w->p, payload, b3, id, NULL), SVCR_OK);
    free(payload);
    snprintf(body, sizeof body, "{\"proposal_id\":\"%s\"}", id);
    pipeline_supersede(w->p, &ctx, body, strlen(body), &r);
    assert_int_equal(r.code, SVCR_E_MALFORMED);
    assert_string_equal(r.err.reason, "use_commit_route");
    pipeline_result_free(&r);
}

static void test_signer_rotation_applies_from_the_next_version(void **state)
{
    world *w = *state;
    fx_keys next;
    fx_keys_make(&next, 4, 3, 2);
    /* version 1 declares the new set; it is still approved by the old one */
    assert_int_equal(fx_cycle(w->p, &w->k, &next, 0), SVCR_OK);
    /* version 2: the old signers are unknown now */
    head_snap *h = pipeline_head(w->p);
    char *payload = fx_payload_json(2, h->payload_b3, &next, 0, NULL, NULL);
    head_snap_release(h);
    char b3[68], id[27];
    assert_int_equal(fx_propose(w->p, payload, b3, id, NULL), SVCR_OK);
    free(payload);
    assert_int_equal(fx_approve(w->p, id, &w->k, 0, b3), SVCR_E_UNKNOWN_SIGNER);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(fx_approve(w->p, id, &next, i, b3), SVCR_OK);
    assert_int_equal(fx_commit(w->p, id, NULL), SVCR_E_QUORUM_FAILED); /* 3-of-4 now */
    assert_int_equal(fx_approve(w->p, id, &next, 3, b3), SVCR_OK);
    assert_int_equal(fx_commit(w->p, id, NULL), SVCR_OK);
    /* a revoked key stays listed and never counts (the revocation itself is approved under the
     * rules of the set before it) */
    fx_keys v2 = next;
    next.s[0].revoked = 1;
    next.m = 2;
    assert_int_equal(fx_cycle(w->p, &v2, &next, 0), SVCR_OK);
    h = pipeline_head(w->p);
    payload = fx_payload_json(h->version + 1, h->payload_b3, &next, 0, NULL, NULL);
    head_snap_release(h);
    assert_int_equal(fx_propose(w->p, payload, b3, id, NULL), SVCR_OK);
    free(payload);
    assert_int_equal(fx_approve(w->p, id, &next, 0, b3), SVCR_E_REVOKED_KEY);
}

/* Every accepted and rejected mutation is in the audit chain, hash-linked. */
static void test_audit_chain_records_accepts_and_rejections(void **state)
{
    world *w = *state;
    char b3[68], id[27];
    propose_next(w, b3, id, 0);
    assert_int_equal(fx_commit(w->p, id, NULL), SVCR_E_QUORUM_FAILED);
    assert_int_equal(fx_approve(w->p, id, &w->k, 0, b3), SVCR_OK);
    buf out = {0};
    assert_int_equal(pipeline_audit_json(w->p, 1, 100, &out), SVCR_OK);
    json_t *j = json_loadb(out.data, out.len, 0, NULL);
    assert_non_null(j);
    json_t *recs = json_object_get(j, "records");
    assert_int_equal(json_array_size(recs), 3);
    assert_true(json_is_null(json_object_get(j, "next")));
    audit_tip tip;
    audit_tip_init(&tip);
    const char *events[] = {"propose", "commit", "approve"};
    const char *decisions[] = {"accepted", "rejected", "accepted"};
    for (size_t i = 0; i < 3; i++) {
        json_t *rec = json_array_get(recs, i);
        assert_string_equal(json_string_value(json_object_get(rec, "event")), events[i]);
        assert_string_equal(json_string_value(json_object_get(rec, "decision")), decisions[i]);
        buf canon = {0};
        assert_int_equal(jcs_write(&canon, rec, NULL), 0);
        svcr_err e;
        assert_int_equal(audit_record_verify(&tip, canon.data, canon.len, &e), SVCR_OK);
        buf_free(&canon);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 1), "err_code")),
                        "QuorumFailed");
    json_decref(j);
    buf_reset(&out);
    assert_int_equal(pipeline_audit_json(w->p, 1, 2, &out), SVCR_OK);
    j = json_loadb(out.data, out.len, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "next")), 3);
    json_decref(j);
    buf_free(&out);
}

static void test_expired_proposal_answers_410(void **state)
{
    world *w = *state;
    pipeline_close(w->p);
    w->st->ops->close(w->st);
    store_open_opts so = {0};
    assert_int_equal(store_memory_open(&so, &w->st, NULL, 0), STORE_OK);
    w->k.ttl_secs = 1;
    w->p = fx_pipeline(w->st, &w->k, 1000);
    char b3[68], id[27];
    propose_next(w, b3, id, 0);
    assert_int_equal(fx_approve(w->p, id, &w->k, 0, b3), SVCR_OK);
    assert_int_equal(fx_approve(w->p, id, &w->k, 1, b3), SVCR_OK);
    struct timespec ts = {1, 100000000};
    nanosleep(&ts, NULL);
    assert_int_equal(fx_approve(w->p, id, &w->k, 2, b3), SVCR_E_PROPOSAL_EXPIRED);
    assert_int_equal(fx_commit(w->p, id, NULL), SVCR_E_PROPOSAL_EXPIRED);
    buf v = {0};
    assert_int_equal(pipeline_proposal_json(w->p, id, &v), SVCR_OK);
    assert_non_null(strstr(v.data, "\"status\":\"expired\""));
    buf_free(&v);
}

/* History's signers cannot be swapped from outside: reopening the same store with other trust
 * roots is refused, and with the founding ones (or none) the stored set still governs. */
static void test_reopening_with_other_trust_roots_is_refused(void **state)
{
    world *w = *state;
    assert_int_equal(fx_cycle(w->p, &w->k, &w->k, 0), SVCR_OK);
    pipeline_close(w->p);
    fx_keys other;
    fx_keys_make(&other, 1, 1, 7);
    char *rj = fx_signer_set_json(&other);
    pipeline_opts o = {.st = w->st, .trust_roots = rj, .trust_roots_len = strlen(rj)};
    pipeline *p2 = NULL;
    svcr_err e;
    assert_int_equal(pipeline_open(&o, &p2, &e), SVCR_E_MALFORMED);
    assert_string_equal(e.reason, "roots_differ");
    free(rj);
    pipeline_opts none = {.st = w->st};
    assert_int_equal(pipeline_open(&none, &w->p, &e), SVCR_OK);
    head_snap *h = pipeline_head(w->p);
    assert_int_equal(h->version, 1);
    assert_int_equal(h->governing->m, w->k.m);
    head_snap_release(h);
    /* a single outside key still cannot approve the next version */
    h = pipeline_head(w->p);
    char *payload = fx_payload_json(2, h->payload_b3, &other, 0, NULL, NULL);
    head_snap_release(h);
    char b3[68], id[27];
    assert_int_equal(fx_propose(w->p, payload, b3, id, NULL), SVCR_OK);
    free(payload);
    assert_int_equal(fx_approve(w->p, id, &other, 0, b3), SVCR_E_UNKNOWN_SIGNER);
    assert_int_equal(fx_commit(w->p, id, NULL), SVCR_E_QUORUM_FAILED);
}

/* At most PENDING_PROPOSALS_MAX proposals are open at once; the next one is 429 Busy, and a
 * commit (which makes the others stale) frees the room. */
static void test_open_proposals_are_capped(void **state)
{
    world *w = *state;
    char *set = fx_signer_set_json(&w->k);
    char first_id[27] = "", first_b3[68] = "";
    for (int i = 0; i <= 4096; i++) {
        buf pl = {0};
        buf_printf(&pl,
                   "{\"version\":1,\"prev_hash\":\"%s\",\"items\":[%s,"
                   "{\"kind\":\"region\",\"id\":\"r%d\"}]}",
                   B3_ZERO_TAG, set, i);
        char b3[68], id[27];
        svcr_code c = fx_propose(w->p, pl.data, b3, id, NULL);
        buf_free(&pl);
        if (i < 4096) {
            assert_int_equal(c, SVCR_OK);
            if (i == 0) {
                memcpy(first_id, id, sizeof first_id);
                memcpy(first_b3, b3, sizeof first_b3);
            }
        } else {
            assert_int_equal(c, SVCR_E_BUSY);
        }
    }
    free(set);
    assert_int_equal(fx_approve(w->p, first_id, &w->k, 0, first_b3), SVCR_OK);
    assert_int_equal(fx_approve(w->p, first_id, &w->k, 1, first_b3), SVCR_OK);
    assert_int_equal(fx_commit(w->p, first_id, NULL), SVCR_OK);
    pipeline_status st;
    pipeline_get_status(w->p, &st);
    assert_int_equal(st.pending_proposals, 0); /* the 4,095 others went stale */
    assert_int_equal(fx_cycle(w->p, &w->k, &w->k, 0), SVCR_OK);
}

/* --- signer keys (issue 9, defects 1 and 10) ------------------------------------------- */

/* Proposes version 1 declaring `k`; returns the result code, with r->err filled. */
static svcr_code propose_set(world *w, const fx_keys *k, pipeline_result *r)
{
    char *payload = fx_payload_json(1, B3_ZERO_TAG, k, 0, NULL, NULL);
    char *body = fx_propose_body(payload);
    memset(r, 0, sizeof *r);
    pipeline_propose(w->p, &ctx, body, strlen(body), r);
    free(body);
    free(payload);
    return r->code;
}

/* Opens a pipeline over a fresh memory store with trust roots `k`; returns pipeline_open's
 * code (the pipeline, if any, is closed). */
static svcr_code open_with_roots(const fx_keys *k, svcr_err *e)
{
    store *st = NULL;
    store_open_opts so = {0};
    assert_int_equal(store_memory_open(&so, &st, NULL, 0), STORE_OK);
    char *rj = fx_signer_set_json(k);
    pipeline_opts o = {.st = st, .trust_roots = rj, .trust_roots_len = strlen(rj)};
    pipeline *p = NULL;
    svcr_err_clear(e);
    svcr_code c = pipeline_open(&o, &p, e);
    pipeline_close(p);
    st->ops->close(st);
    free(rj);
    return c;
}

/* The error names `path`, gives `reason`, and its message holds both signer ids. */
static void expect_named(const svcr_err *e, const char *path, const char *reason, const char *id_a,
                         const char *id_b)
{
    assert_int_equal(e->code, SVCR_E_MALFORMED);
    assert_string_equal(e->path, path);
    assert_string_equal(e->reason, reason);
    if ((id_a && !strstr(e->message, id_a)) || (id_b && !strstr(e->message, id_b)))
        fail_msg("message does not name %s and %s: %s", id_a, id_b ? id_b : "-", e->message);
}

/* One key under two signer_ids would let its holder approve twice: refused at propose and in
 * the trust roots, revoked entries included, naming both entries. */
static void test_a_signer_set_repeating_a_key_is_refused_naming_both_entries(void **state)
{
    world *w = *state;
    pipeline_result r;
    fx_keys k = w->k;
    memcpy(k.s[1].pk, k.s[0].pk, ED25519_PK_LEN);
    assert_int_equal(propose_set(w, &k, &r), SVCR_E_MALFORMED);
    assert_int_equal(svcr_code_http_status(r.code), 400);
    expect_named(&r.err, "payload.items[0].signers[1].public_key", "duplicate_key", k.s[0].id,
                 k.s[1].id);
    pipeline_result_free(&r);
    /* a revoked entry may not repeat a key either: a key appears once per set */
    k = w->k;
    memcpy(k.s[2].pk, k.s[0].pk, ED25519_PK_LEN);
    k.s[2].revoked = 1;
    assert_int_equal(propose_set(w, &k, &r), SVCR_E_MALFORMED);
    expect_named(&r.err, "payload.items[0].signers[2].public_key", "duplicate_key", k.s[0].id,
                 k.s[2].id);
    pipeline_result_free(&r);
    /* nothing was stored */
    buf pend = {0};
    assert_int_equal(pipeline_pending_json(w->p, NULL, 1000, &pend), SVCR_OK);
    assert_null(strstr(pend.data, "\"p_"));
    buf_free(&pend);
    /* the trust roots: the registry does not open */
    k = w->k;
    memcpy(k.s[2].pk, k.s[1].pk, ED25519_PK_LEN);
    svcr_err e;
    assert_int_equal(open_with_roots(&k, &e), SVCR_E_MALFORMED);
    expect_named(&e, "trust_roots.signers[2].public_key", "duplicate_key", k.s[1].id, k.s[2].id);
}

/* Public keys that can never verify, or that weaken verification, are refused by path. */
static void test_weak_public_keys_are_refused_naming_the_key(void **state)
{
    world *w = *state;
    static const char *const weak[] = {
        "0000000000000000000000000000000000000000000000000000000000000000", /* all zero */
        "0100000000000000000000000000000000000000000000000000000000000000", /* identity */
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", /* order 8 */
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = p */
        "0200000000000000000000000000000000000000000000000000000000000000", /* off the curve */
        "0300000000000000000000000000000000000000000000000000000000000000", /* mixed order */
    };
    for (size_t i = 0; i < sizeof weak / sizeof *weak; i++) {
        fx_keys k = w->k;
        for (size_t j = 0; j < ED25519_PK_LEN; j++)
            sscanf(weak[i] + 2 * j, "%2hhx", &k.s[1].pk[j]);
        pipeline_result r;
        assert_int_equal(propose_set(w, &k, &r), SVCR_E_MALFORMED);
        expect_named(&r.err, "payload.items[0].signers[1].public_key", "weak_key", k.s[1].id, NULL);
        pipeline_result_free(&r);
        svcr_err e;
        assert_int_equal(open_with_roots(&k, &e), SVCR_E_MALFORMED);
        expect_named(&e, "trust_roots.signers[1].public_key", "weak_key", k.s[1].id, NULL);
    }
    /* the same set with its own keys is fine */
    pipeline_result r;
    assert_int_equal(propose_set(w, &w->k, &r), SVCR_OK);
    pipeline_result_free(&r);
}

/* proposal_ttl_secs is at most 365 days, so expires_at is always a valid RFC 3339 time. */
static void test_proposal_ttl_secs_is_bounded_so_expires_at_is_a_time(void **state)
{
    world *w = *state;
    static const uint64_t too_long[] = {1000000000000ULL, 9007199254740991ULL,
                                        SIGNER_SET_MAX_TTL_SECS + 1ULL};
    for (size_t i = 0; i < sizeof too_long / sizeof *too_long; i++) {
        fx_keys k = w->k;
        k.ttl_secs = too_long[i];
        pipeline_result r;
        assert_int_equal(propose_set(w, &k, &r), SVCR_E_MALFORMED);
        expect_named(&r.err, "payload.items[0].proposal_ttl_secs", "out_of_range", NULL, NULL);
        pipeline_result_free(&r);
        svcr_err e;
        assert_int_equal(open_with_roots(&k, &e), SVCR_E_MALFORMED);
        expect_named(&e, "trust_roots.proposal_ttl_secs", "out_of_range", NULL, NULL);
    }
    /* the bound itself governs: a proposal expires a year after it was accepted */
    pipeline_close(w->p);
    w->st->ops->close(w->st);
    store_open_opts so = {0};
    assert_int_equal(store_memory_open(&so, &w->st, NULL, 0), STORE_OK);
    w->k.ttl_secs = SIGNER_SET_MAX_TTL_SECS;
    w->p = fx_pipeline(w->st, &w->k, 1000);
    pipeline_result r;
    int64_t before = (int64_t)time(NULL) - 1; /* time() may lag the clock the pipeline reads */
    assert_int_equal(propose_set(w, &w->k, &r), SVCR_OK);
    int64_t after = (int64_t)time(NULL) + 1;
    json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
    const char *exp = json_string_value(json_object_get(j, "expires_at"));
    assert_non_null(exp);
    int64_t sec = 0;
    assert_int_equal(rfc3339_parse(exp, strlen(exp), &sec, NULL), 0);
    assert_in_range(sec, before + SIGNER_SET_MAX_TTL_SECS, after + SIGNER_SET_MAX_TTL_SECS);
    json_decref(j);
    pipeline_result_free(&r);
}

/* Quorum counts approvers by key as well as by id, for any set that bypassed parsing. */
static void test_quorum_counts_one_key_once_under_two_ids(void **state)
{
    world *w = *state;
    char *sj = fx_signer_set_json(&w->k);
    json_t *j = json_loads(sj, 0, NULL);
    signer_set *set = NULL;
    assert_int_equal(signer_set_from_json(j, "roots", &set, NULL), SVCR_OK);
    json_decref(j);
    free(sj);
    signer *s0 = (signer *)signer_set_find(set, w->k.s[0].id);
    signer *s1 = (signer *)signer_set_find(set, w->k.s[1].id);
    memcpy(s1->pk, s0->pk, ED25519_PK_LEN); /* patched after parsing: one key, two ids */
    gov_approval list[3];
    memset(list, 0, sizeof list);
    for (size_t i = 0; i < 3; i++) {
        snprintf(list[i].signer_id, sizeof list[i].signer_id, "%s", w->k.s[i].id);
        snprintf(list[i].algo, sizeof list[i].algo, "ed25519");
    }
    assert_int_equal(gov_quorum_count(list, 2, set), 1);
    svcr_err e;
    assert_int_equal(gov_quorum_check(list, 2, set, &e), SVCR_E_QUORUM_FAILED);
    assert_int_equal(gov_quorum_count(list, 3, set), 2);
    assert_int_equal(gov_quorum_check(list, 3, set, NULL), SVCR_OK);
    gov_approval twice[2] = {list[0], list[0]};
    assert_int_equal(gov_quorum_count(twice, 2, set), 1);
    signer_set_release(set);
}

/* ---- records on disk and on the wire are pinned ----------------------------------------- */

/* Expected bytes, written by this code before approvals learned their algorithm (issue 10,
 * item 2): the records must stay byte-identical whatever the representation in memory. */
static const char PINNED_ARTIFACT[] =
    "{\"approvals\":[{\"algo\":\"ed25519\",\"sig\":\"KRZz1tT/ZYhi6oA/ZCFAS0yVdGiDfvnfrJf9"
    "ywJyewWDhkQQJSihKCgUJqjGnHGPA8wbMNvfrpQ/LDMes8pNBw==\",\"signed_at\":\"2026-11-25T12"
    ":00:01.5Z\",\"signer_id\":\"org:alpha#key1\"},{\"algo\":\"ed25519\",\"sig\":\"hP70fF"
    "bPVLDU19riByfR+wBQOVpnKcehi3e4eqVDMLHQJRm8p4Vj9u5EFYJDpilIKV+OMKwUAvlovypy2+zICA==\""
    ",\"signed_at\":\"2026-11-25T12:00:00.5Z\",\"signer_id\":\"org:beta#key1\"}],\"commit"
    "ted_at\":\"2025-11-25T12:00:01.456Z\",\"payload\":{\"items\":[{\"id\":\"governance\""
    ",\"kind\":\"signer_set\",\"quorum\":{\"m\":2},\"signers\":[{\"algo\":\"ed25519\",\"p"
    "ublic_key\":\"0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc=\",\"signer_id\":\"org:bet"
    "a#key1\"},{\"algo\":\"ed25519\",\"public_key\":\"oJql9HpnWYAv+VX43C0qFKXJnSO+l/hkEn/"
    "5ODRVpPA=\",\"signer_id\":\"org:alpha#key1\"}]},{\"id\":\"eu-west\",\"kind\":\"regio"
    "n\"},{\"endpoint\":\"https://s0.local\",\"id\":\"svc:0-v1\",\"kind\":\"service\",\"m"
    "eta\":{\"n\":0},\"region\":\"eu-west\"}],\"prev_hash\":\"b3:000000000000000000000000"
    "0000000000000000000000000000000000000000\",\"version\":1},\"payload_b3\":\"b3:2e3bd0"
    "4cd877f9ddc107de33ef08070b8b69d54832e0ed75f24e3c093edc3325\",\"prev_hash\":\"b3:0000"
    "000000000000000000000000000000000000000000000000000000000000\",\"proposal_id\":\"p_2"
    "e3bd04cd877f9ddc107de33\",\"schema_version\":\"1.0.0\",\"version\":1}";
static const char PINNED_RECORD[] =
    "{\"accepted_at_ms\":1764072000123,\"approvals\":[{\"algo\":\"ed25519\",\"sig\":\"hP7"
    "0fFbPVLDU19riByfR+wBQOVpnKcehi3e4eqVDMLHQJRm8p4Vj9u5EFYJDpilIKV+OMKwUAvlovypy2+zICA="
    "=\",\"signed_at\":\"2026-11-25T12:00:00.5Z\",\"signer_id\":\"org:beta#key1\"},{\"alg"
    "o\":\"ed25519\",\"sig\":\"KRZz1tT/ZYhi6oA/ZCFAS0yVdGiDfvnfrJf9ywJyewWDhkQQJSihKCgUJq"
    "jGnHGPA8wbMNvfrpQ/LDMes8pNBw==\",\"signed_at\":\"2026-11-25T12:00:01.5Z\",\"signer_i"
    "d\":\"org:alpha#key1\"}],\"expires_at_ms\":1764331200123,\"id\":\"p_2e3bd04cd877f9dd"
    "c107de33\",\"payload\":{\"items\":[{\"id\":\"governance\",\"kind\":\"signer_set\",\""
    "quorum\":{\"m\":2},\"signers\":[{\"algo\":\"ed25519\",\"public_key\":\"0EqyMnQrtKs6E"
    "2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc=\",\"signer_id\":\"org:beta#key1\"},{\"algo\":\"ed255"
    "19\",\"public_key\":\"oJql9HpnWYAv+VX43C0qFKXJnSO+l/hkEn/5ODRVpPA=\",\"signer_id\":"
    "\"org:alpha#key1\"}]},{\"id\":\"eu-west\",\"kind\":\"region\"},{\"endpoint\":\"https"
    "://s0.local\",\"id\":\"svc:0-v1\",\"kind\":\"service\",\"meta\":{\"n\":0},\"region\""
    ":\"eu-west\"}],\"prev_hash\":\"b3:00000000000000000000000000000000000000000000000000"
    "00000000000000\",\"version\":1},\"payload_b3\":\"b3:2e3bd04cd877f9ddc107de33ef08070b"
    "8b69d54832e0ed75f24e3c093edc3325\",\"payload_version\":1,\"quorum\":{\"m\":2,\"n\":2"
    "},\"status\":\"pending\"}";

/* Two signers from fixed seeds, a payload for version 1, two approvals with fixed signed_at:
 * every input is fixed and Ed25519 is deterministic, so the bytes are too. */
static proposal *pinned_proposal(void)
{
    fx_keys k;
    memset(&k, 0, sizeof k);
    k.n = 2;
    k.m = 2;
    for (size_t i = 0; i < 2; i++) {
        uint8_t seed[ED25519_SEED_LEN];
        memset(seed, (int)(0x11 * (i + 1)), sizeof seed);
        ed25519_keypair_from_seed(seed, k.s[i].pk, k.s[i].sk);
        snprintf(k.s[i].id, sizeof k.s[i].id, "org:%s#key1", i ? "alpha" : "beta");
    }
    char *payload = fx_payload_json(1, B3_ZERO_TAG, &k, 1, NULL, NULL);
    json_t *j = json_loads(payload, JSON_DECODE_INT_AS_REAL, NULL);
    free(payload);
    assert_non_null(j);
    descriptor_set *ds = NULL;
    assert_int_equal(descriptor_set_decode(j, "payload", &ds, NULL), SVCR_OK);
    json_decref(j);
    proposal *p = proposal_new(ds, ds->signers, 1764072000123);
    assert_non_null(p);
    for (size_t i = 0; i < 2; i++) {
        char sig[APPROVAL_SIG_B64_LEN + 1], body[512];
        assert_int_equal(approval_sign_ed25519(ds->b3, k.s[i].sk, sig), 0);
        snprintf(body, sizeof body,
                 "{\"signer_id\":\"%s\",\"algo\":\"ed25519\",\"sig\":\"%s\","
                 "\"signed_at\":\"2026-11-25T12:00:0%zu.5Z\"}",
                 k.s[i].id, sig, i);
        json_t *a = json_loads(body, 0, NULL);
        gov_approval g;
        assert_int_equal(gov_approval_decode(a, "", &g, NULL), SVCR_OK);
        json_decref(a);
        assert_int_equal(proposal_add_approval(p, &g), 0);
    }
    return p;
}

static void expect_bytes(const buf *got, const char *want)
{
    assert_int_equal(got->len, strlen(want));
    assert_memory_equal(got->data, want, got->len);
}

/* The artifact and the proposal record of fixed inputs are fixed bytes, and parsing the
 * artifact back and writing its approvals again gives the same approvals. */
static void test_artifact_and_record_bytes_are_pinned(void **state)
{
    (void)state;
    proposal *p = pinned_proposal();
    buf art = {0}, rec = {0};
    uint8_t ab3[B3_LEN];
    assert_int_equal(artifact_build(p, 1, 1764072001456, &art, ab3), 0);
    assert_int_equal(proposal_encode(p, &rec), 0);
    if (getenv("SVCR_PRINT_PINNED")) /* how the expected bytes were made */
        printf("# artifact: %.*s\n# record: %.*s\n", (int)art.len, art.data, (int)rec.len,
               rec.data);
    expect_bytes(&art, PINNED_ARTIFACT);
    expect_bytes(&rec, PINNED_RECORD);
    artifact *a = NULL;
    assert_int_equal(artifact_parse(art.data, art.len, &a, NULL), SVCR_OK);
    assert_int_equal(a->n_approvals, 2);
    for (size_t i = 0; i < a->n_approvals; i++) {
        json_t *o = gov_approval_to_json(&a->approvals[i]);
        buf again = {0};
        assert_int_equal(jcs_write(&again, o, NULL), 0);
        json_decref(o);
        assert_non_null(memmem(art.data, art.len, again.data, again.len));
        buf_free(&again);
    }
    artifact_free(a);
    buf_free(&art);
    buf_free(&rec);
    proposal_free(p);
}

/* v1 still refuses what the PQ phase will add: a signer whose algo has no row in the table
 * (ml-dsa-65 has none yet) and a k_pq other than 0. */
static void test_signer_set_refuses_algos_without_a_row_and_k_pq(void **state)
{
    world *w = *state;
    char *sj = fx_signer_set_json(&w->k);
    const char *variants[][2] = {
        {"\"algo\":\"ml-dsa-65\"", "algo_unsupported"},
        {"\"algo\":\"falcon-512\"", "algo_unsupported"},
        {"\"algo\":\"ED25519\"", "algo_unsupported"},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        char *t = strdup(sj);
        char *at = strstr(t, "\"algo\":\"ed25519\"");
        assert_non_null(at);
        char *patched = malloc(strlen(t) + 32);
        snprintf(patched, strlen(t) + 32, "%.*s%s%s", (int)(at - t), t, variants[i][0],
                 at + strlen("\"algo\":\"ed25519\""));
        json_t *j = json_loads(patched, JSON_DECODE_INT_AS_REAL, NULL);
        signer_set *set = NULL;
        svcr_err e;
        assert_int_equal(signer_set_from_json(j, "roots", &set, &e), SVCR_E_MALFORMED);
        assert_string_equal(e.reason, variants[i][1]);
        assert_string_equal(e.path, "roots.signers[0].algo");
        json_decref(j);
        free(patched);
        free(t);
    }
    json_t *j = json_loads(sj, JSON_DECODE_INT_AS_REAL, NULL);
    json_object_set_new(j, "k_pq", json_real(1));
    signer_set *set = NULL;
    svcr_err e;
    assert_int_equal(signer_set_from_json(j, "roots", &set, &e), SVCR_E_MALFORMED);
    assert_string_equal(e.path, "roots.k_pq");
    json_object_set_new(j, "k_pq", json_real(0));
    assert_int_equal(signer_set_from_json(j, "roots", &set, &e), SVCR_OK);
    assert_int_equal(set->k_pq, 0);
    signer_set_release(set);
    json_decref(j);
    free(sj);
}

/* A post-quantum row, for the k_pq count only: the table has none yet (SPEC §19). */
static const sig_algo fake_pq = {.name = "test-pq", .display = "test-pq", .pk_rule = "", .pq = 1};

/* The quorum reads k_pq: among the distinct approvers it counts those whose algo row is
 * post-quantum and needs at least k_pq of them (0 in v1: nothing changes). */
static void test_quorum_counts_post_quantum_approvers_for_k_pq(void **state)
{
    world *w = *state;
    char *sj = fx_signer_set_json(&w->k);
    json_t *j = json_loads(sj, 0, NULL);
    signer_set *set = NULL;
    assert_int_equal(signer_set_from_json(j, "roots", &set, NULL), SVCR_OK);
    json_decref(j);
    free(sj);
    gov_approval list[3];
    memset(list, 0, sizeof list);
    for (size_t i = 0; i < 3; i++) {
        snprintf(list[i].signer_id, sizeof list[i].signer_id, "%s", w->k.s[i].id);
        snprintf(list[i].algo, sizeof list[i].algo, "ed25519");
    }
    size_t pq = 9;
    assert_int_equal(gov_quorum_tally(list, 3, set, &pq), 3);
    assert_int_equal(pq, 0);
    assert_int_equal(gov_quorum_check(list, 2, set, NULL), SVCR_OK); /* m = 2, k_pq = 0 */
    set->k_pq = 1; /* patched after parsing, as the PQ phase will allow */
    svcr_err e;
    assert_int_equal(gov_quorum_check(list, 3, set, &e), SVCR_E_QUORUM_FAILED);
    assert_non_null(strstr(e.message, "k_pq"));
    /* signer 2 becomes a PQ signer: its approval (same algo name) counts toward k_pq */
    signer *s2 = (signer *)signer_set_find(set, w->k.s[2].id);
    s2->algo = &fake_pq;
    snprintf(list[2].algo, sizeof list[2].algo, "test-pq");
    assert_int_equal(gov_quorum_tally(list, 3, set, &pq), 3);
    assert_int_equal(pq, 1);
    assert_int_equal(gov_quorum_check(list, 3, set, NULL), SVCR_OK);
    assert_int_equal(gov_quorum_check(list, 2, set, NULL), SVCR_E_QUORUM_FAILED); /* no PQ */
    /* twice the same PQ approver is one */
    gov_approval twice[3] = {list[2], list[2], list[0]};
    assert_int_equal(gov_quorum_tally(twice, 3, set, &pq), 2);
    assert_int_equal(pq, 1);
    /* an approval naming another algo than its signer's counts for nothing */
    snprintf(list[2].algo, sizeof list[2].algo, "ed25519");
    assert_int_equal(gov_quorum_tally(list, 3, set, &pq), 2);
    assert_int_equal(pq, 0);
    signer_set_release(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_genesis_head_is_version_zero_with_zero_hash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_full_cycle_commits_version_one_and_retry_is_idempotent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_payload_twice_returns_the_same_proposal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_approval_rejections_have_their_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_proposal_is_chain_mismatch_forever, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_propose_rejects_bad_payloads_with_paths, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_freeze_refuses_writes_and_thaw_restores_them, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_supersede_uses_its_own_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signer_rotation_applies_from_the_next_version, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_audit_chain_records_accepts_and_rejections, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_expired_proposal_answers_410, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopening_with_other_trust_roots_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_open_proposals_are_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_signer_set_repeating_a_key_is_refused_naming_both_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weak_public_keys_are_refused_naming_the_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_proposal_ttl_secs_is_bounded_so_expires_at_is_a_time,
                                        setup, teardown),
        cmocka_unit_test(test_artifact_and_record_bytes_are_pinned),
        cmocka_unit_test_setup_teardown(test_signer_set_refuses_algos_without_a_row_and_k_pq, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_quorum_counts_post_quantum_approvers_for_k_pq, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_quorum_counts_one_key_once_under_two_ids, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
