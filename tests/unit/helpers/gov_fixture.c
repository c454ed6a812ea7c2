/* gov_fixture.c - governance test fixture (see gov_fixture.h). */
#include "gov_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "crypto/approval.h"
#include "crypto/b3.h"
#include "crypto/codec.h"
#include "governance/artifact.h"
#include "governance/chain_verify.h"
#include "governance/proposal.h"
#include "interop/jcs.h"
#include "interop/rfc3339.h"

void fx_keys_make(fx_keys *k, size_t n, unsigned m, int gen)
{
    memset(k, 0, sizeof *k);
    assert_true(n <= FX_MAX_SIGNERS);
    k->n = n;
    k->m = m;
    for (size_t i = 0; i < n; i++) {
        snprintf(k->s[i].id, sizeof k->s[i].id, "org:o%02zu#k%d", i, gen);
        ed25519_keypair(k->s[i].pk, k->s[i].sk);
    }
}

char *fx_signer_set_json(const fx_keys *k)
{
    buf b = {0};
    buf_printf(&b, "{\"kind\":\"signer_set\",\"id\":\"governance\",\"quorum\":{\"m\":%u}", k->m);
    if (k->ttl_secs)
        buf_printf(&b, ",\"proposal_ttl_secs\":%llu", (unsigned long long)k->ttl_secs);
    buf_puts(&b, ",\"signers\":[");
    for (size_t i = 0; i < k->n; i++) {
        char pk[64];
        b64_encode(k->s[i].pk, ED25519_PK_LEN, pk, sizeof pk, B64_STD);
        buf_printf(&b, "%s{\"signer_id\":\"%s\",\"algo\":\"ed25519\",\"public_key\":\"%s\"%s}",
                   i ? "," : "", k->s[i].id, pk,
                   k->s[i].revoked ? ",\"revoked_at\":\"2026-01-01T00:00:00Z\"" : "");
    }
    buf_puts(&b, "]}");
    return buf_steal(&b, NULL);
}

char *fx_payload_json(uint64_t version, const char *prev_b3, const fx_keys *k, int extra,
                      const char *supersede_of, const char *supersede_reason)
{
    buf b = {0};
    char *set = fx_signer_set_json(k);
    buf_printf(&b, "{\"version\":%llu,\"prev_hash\":\"%s\",", (unsigned long long)version, prev_b3);
    if (supersede_of)
        buf_printf(&b, "\"supersede_of\":\"%s\",\"supersede_reason\":\"%s\",", supersede_of,
                   supersede_reason);
    buf_printf(&b, "\"items\":[%s,{\"kind\":\"region\",\"id\":\"eu-west\"}", set);
    for (int i = 0; i < extra; i++)
        buf_printf(&b,
                   ",{\"kind\":\"service\",\"id\":\"svc:%d-v%llu\",\"endpoint\":"
                   "\"https://s%d.local\",\"region\":\"eu-west\",\"meta\":{\"n\":%d}}",
                   i, (unsigned long long)version, i, i);
    buf_puts(&b, "]}");
    free(set);
    return buf_steal(&b, NULL);
}

char *fx_propose_body(const char *payload_json)
{
    buf b = {0};
    buf_printf(&b, "{\"schema_version\":\"1.0.0\",\"payload\":%s}", payload_json);
    return buf_steal(&b, NULL);
}

char *fx_approval_body(const fx_keys *k, size_t i, const char *payload_b3, long skew_s)
{
    char sig[APPROVAL_SIG_B64_LEN + 1];
    assert_int_equal(approval_sign_ed25519(payload_b3, k->s[i].sk, sig), 0);
    char ts[32];
    rfc3339_format((int64_t)time(NULL) + skew_s, ts);
    buf b = {0};
    buf_printf(&b,
               "{\"signer_id\":\"%s\",\"algo\":\"ed25519\",\"sig\":\"%s\",\"signed_at\":\"%s\"}",
               k->s[i].id, sig, ts);
    return buf_steal(&b, NULL);
}

pipeline *fx_pipeline(store *st, const fx_keys *roots, uint64_t verify_k)
{
    char *rj = roots ? fx_signer_set_json(roots) : NULL;
    pipeline_opts o = {.st = st,
                       .queue_cap = 512,
                       .trust_roots = rj,
                       .trust_roots_len = rj ? strlen(rj) : 0,
                       .verify_last_k = verify_k};
    pipeline *p = NULL;
    svcr_err e;
    svcr_code c = pipeline_open(&o, &p, &e);
    free(rj);
    if (c != SVCR_OK)
        fail_msg("pipeline_open: %s %s", svcr_code_name(c), e.message);
    return p;
}

static const write_ctx fx_ctx = {.corr_id = "01JDTESTCORRELATION0000000", .input_b3 = NULL};

svcr_code fx_propose(pipeline *p, const char *payload_json, char payload_b3_out[68],
                     char id_out[27], int *http_out)
{
    char *body = fx_propose_body(payload_json);
    pipeline_result r = {0};
    pipeline_propose(p, &fx_ctx, body, strlen(body), &r);
    free(body);
    if (r.code == SVCR_OK) {
        json_error_t je;
        json_t *j = json_loadb(r.body.data, r.body.len, 0, &je);
        if (payload_b3_out)
            snprintf(payload_b3_out, 68, "%s", json_string_value(json_object_get(j, "payload_b3")));
        if (id_out)
            snprintf(id_out, 27, "%s", json_string_value(json_object_get(j, "proposal_id")));
        json_decref(j);
    }
    if (http_out)
        *http_out = r.code == SVCR_OK ? r.http_status : svcr_code_http_status(r.code);
    pipeline_result_free(&r);
    return r.code;
}

svcr_code fx_approve(pipeline *p, const char *id, const fx_keys *k, size_t i,
                     const char *payload_b3)
{
    char *body = fx_approval_body(k, i, payload_b3, 0);
    pipeline_result r = {0};
    pipeline_approve(p, &fx_ctx, id, body, strlen(body), &r);
    free(body);
    pipeline_result_free(&r);
    return r.code;
}

svcr_code fx_commit(pipeline *p, const char *id, int *http_out)
{
    pipeline_result r = {0};
    pipeline_commit(p, &fx_ctx, id, "", 0, &r);
    if (http_out)
        *http_out = r.code == SVCR_OK ? r.http_status : svcr_code_http_status(r.code);
    pipeline_result_free(&r);
    return r.code;
}

svcr_code fx_cycle(pipeline *p, const fx_keys *gov, const fx_keys *next, int extra)
{
    head_snap *h = pipeline_head(p);
    char *payload = fx_payload_json(h->version + 1, h->payload_b3, next, extra, NULL, NULL);
    head_snap_release(h);
    char b3[68], id[27];
    svcr_code c = fx_propose(p, payload, b3, id, NULL);
    free(payload);
    if (c != SVCR_OK)
        return c;
    for (size_t i = 0, ok = 0; i < gov->n && ok < gov->m; i++) {
        if (gov->s[i].revoked)
            continue;
        c = fx_approve(p, id, gov, i, b3);
        if (c != SVCR_OK)
            return c;
        ok++;
    }
    return fx_commit(p, id, NULL);
}

char *fx_tempdir(void)
{
    char tmpl[] = "/tmp/svcr-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

void fx_rmrf(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

/* splitmix64: a self-contained stream for deterministic keys and names. */
static uint64_t fx_mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void fx_keys_make_seeded(fx_keys *k, size_t n, unsigned m, int gen, uint64_t seed)
{
    static const char alpha[] = "ABXZabxz09";
    memset(k, 0, sizeof *k);
    if (n > FX_MAX_SIGNERS)
        n = FX_MAX_SIGNERS;
    k->n = n;
    k->m = m;
    uint64_t s = seed ^ ((uint64_t)(unsigned)gen << 32);
    for (size_t i = 0; i < n; i++) {
        char name[8];
        size_t len = 1 + fx_mix(&s) % 4;
        for (size_t j = 0; j < len; j++)
            name[j] = alpha[fx_mix(&s) % (sizeof alpha - 1)];
        name[len] = '\0';
        snprintf(k->s[i].id, sizeof k->s[i].id, "org:%s%zu#k%d", name, i, gen);
        uint8_t sd[ED25519_SEED_LEN];
        for (size_t j = 0; j < sizeof sd; j += 8) {
            uint64_t r = fx_mix(&s);
            memcpy(sd + j, &r, 8);
        }
        ed25519_keypair_from_seed(sd, k->s[i].pk, k->s[i].sk);
    }
}

char *fx_approval_body_as(const char *signer_id, const uint8_t sk[ED25519_SK_LEN],
                          const char *payload_b3, long skew_s)
{
    char sig[APPROVAL_SIG_B64_LEN + 1];
    if (approval_sign_ed25519(payload_b3, sk, sig) != 0)
        return NULL;
    char ts[32];
    rfc3339_format((int64_t)time(NULL) + skew_s, ts);
    buf b = {0};
    buf_printf(&b,
               "{\"signer_id\":\"%s\",\"algo\":\"ed25519\",\"sig\":\"%s\",\"signed_at\":\"%s\"}",
               signer_id, sig, ts);
    return buf_steal(&b, NULL);
}

char *fx_payload_json_tagged(uint64_t version, const char *prev_b3, const fx_keys *k,
                             const char *tag)
{
    buf b = {0};
    char *set = fx_signer_set_json(k);
    buf_printf(&b,
               "{\"version\":%llu,\"prev_hash\":\"%s\",\"items\":[%s,"
               "{\"kind\":\"region\",\"id\":\"eu-west\"},{\"kind\":\"service\",\"id\":"
               "\"svc:%s\",\"endpoint\":\"https://%s.local\",\"region\":\"eu-west\","
               "\"meta\":{\"tag\":\"%s\"}}]}",
               (unsigned long long)version, prev_b3, set, tag, tag, tag);
    free(set);
    return buf_steal(&b, NULL);
}

svcr_code fx_approve_raw(pipeline *p, const char *id, const char *body, svcr_err *err_out)
{
    pipeline_result r = {0};
    pipeline_approve(p, &fx_ctx, id, body, strlen(body), &r);
    if (err_out)
        *err_out = r.err;
    pipeline_result_free(&r);
    return r.code;
}

static int fx_append(void *ctx, const void *data, size_t len)
{
    return buf_append(ctx, data, len) == 0 ? 0 : -1;
}

svcr_code fx_verify_chain(pipeline *p, store *st, const fx_keys *roots, uint64_t through, char *msg,
                          size_t cap)
{
    svcr_err e;
    svcr_err_clear(&e);
    char *rj = fx_signer_set_json(roots);
    json_t *j = jcs_parse(rj, strlen(rj), 0, &e);
    signer_set *set = NULL;
    svcr_code c = j ? signer_set_from_json(j, "roots", &set, &e) : SVCR_E_MALFORMED;
    json_decref(j);
    free(rj);
    if (c != SVCR_OK) {
        snprintf(msg, cap, "trust roots do not parse: %s", e.message);
        return c;
    }
    chain_verifier cv;
    chain_verifier_init_genesis(&cv, set);
    signer_set_release(set);
    snprintf(msg, cap, "ok");
    for (uint64_t v = 1; c == SVCR_OK && v <= through; v++) {
        buf art = {0};
        uint8_t h[B3_LEN];
        c = pipeline_get_version(p, v, fx_append, &art, NULL);
        if (c != SVCR_OK) {
            snprintf(msg, cap, "version %llu: get_version %s", (unsigned long long)v,
                     svcr_code_name(c));
        } else if (st->ops->get_artifact_hash(st, v, h) != STORE_OK) {
            snprintf(msg, cap, "version %llu: no stored artifact hash", (unsigned long long)v);
            c = SVCR_E_INTERNAL;
        } else if ((c = chain_verify_next(&cv, art.data, art.len, h, 1, &e)) != SVCR_OK) {
            snprintf(msg, cap, "%s", e.message);
        }
        buf_free(&art);
    }
    chain_verifier_free(&cv);
    return c;
}

/* --- hand-written history (for verifier tests: bypasses every validation) ------------- */

/* Writes version v (payload_json extending *prev_b3, approvals in signer_id order) into the
 * open write txn t, straight through the storage API: nothing validates it. Updates *prev_b3
 * to the new payload_b3 and sets HEAD to v. */
static void put_hand_version(store *st, store_txn *t, uint64_t v, const char *payload_json,
                             const fx_hand_approval *apps, size_t n, char prev_b3[B3_TAG_LEN + 1])
{
    json_t *payload = jcs_parse(payload_json, strlen(payload_json), 0, NULL);
    assert_non_null(payload);
    buf canon = {0};
    assert_int_equal(jcs_write(&canon, payload, NULL), 0);
    char b3[B3_TAG_LEN + 1], pid[32], ts[32], at[32];
    b3_tag_of(canon.data, canon.len, b3);
    snprintf(pid, sizeof pid, "p_%.24s", b3 + 3);
    int64_t committed_ms = INT64_C(1700000000000) + (int64_t)v * 1000; /* 2023, one a second */
    assert_true(rfc3339_format_ms(committed_ms, ts) > 0);
    assert_true(rfc3339_format(committed_ms / 1000 - 1, at) > 0);
    json_t *approvals = json_array();
    for (size_t i = 0; i < n; i++) {
        char sig[APPROVAL_SIG_B64_LEN + 1];
        assert_int_equal(approval_sign_ed25519(b3, apps[i].sk, sig), 0);
        json_array_append_new(approvals,
                              json_pack("{s:s, s:s, s:s, s:s}", "signer_id", apps[i].signer_id,
                                        "algo", "ed25519", "sig", sig, "signed_at", at));
    }
    json_t *art =
        json_pack("{s:s, s:I, s:o, s:s, s:o, s:s, s:s, s:s}", "schema_version", SCHEMA_VERSION,
                  "version", (json_int_t)v, "payload", payload, "payload_b3", b3, "approvals",
                  approvals, "prev_hash", prev_b3, "committed_at", ts, "proposal_id", pid);
    assert_non_null(art);
    buf bytes = {0};
    assert_int_equal(jcs_write(&bytes, art, NULL), 0);
    json_decref(art);
    uint8_t art_b3[B3_LEN];
    b3_hash(bytes.data, bytes.len, art_b3);
    assert_int_equal(st->ops->txn_put_version(t, v, bytes.data, bytes.len, art_b3), STORE_OK);
    store_head h = {.version = v, .committed_at_ms = committed_ms};
    assert_int_equal(b3_tag_parse(b3, B3_TAG_LEN, h.payload_b3), 0);
    assert_int_equal(st->ops->txn_put_head(t, &h), STORE_OK);
    memcpy(prev_b3, b3, B3_TAG_LEN + 1);
    buf_free(&canon);
    buf_free(&bytes);
}

void fx_keys_one_key_twice(fx_keys *d)
{
    fx_keys_make(d, 3, 2, 7);
    snprintf(d->s[0].id, sizeof d->s[0].id, "org:x#k1");
    snprintf(d->s[1].id, sizeof d->s[1].id, "org:x#k2");
    snprintf(d->s[2].id, sizeof d->s[2].id, "org:y#k1");
    memcpy(d->s[1].pk, d->s[0].pk, ED25519_PK_LEN);
    memcpy(d->s[1].sk, d->s[0].sk, ED25519_SK_LEN);
}

void fx_write_hand_store(const char *dir, const fx_keys *roots, const fx_keys *const *sets,
                         const fx_hand_approval (*apps)[2], uint64_t n)
{
    store *st = NULL;
    store_open_opts so = {.data_dir = dir};
    assert_int_equal(store_lmdb_open(&so, &st, NULL, 0), STORE_OK);
    store_txn *t = NULL;
    assert_int_equal(st->ops->txn_begin(st, &t), STORE_OK);
    char *rj = fx_signer_set_json(roots);
    json_t *rjs = jcs_parse(rj, strlen(rj), 0, NULL);
    buf rc = {0};
    assert_int_equal(jcs_write(&rc, rjs, NULL), 0);
    assert_int_equal(st->ops->txn_put_meta(t, "trust_roots", rc.data, rc.len), STORE_OK);
    char prev[B3_TAG_LEN + 1];
    memcpy(prev, B3_ZERO_TAG, sizeof prev);
    for (uint64_t v = 1; v <= n; v++) {
        char *payload = fx_payload_json(v, prev, sets[v - 1], 1, NULL, NULL);
        put_hand_version(st, t, v, payload, apps[v - 1], 2, prev);
        free(payload);
    }
    assert_int_equal(st->ops->txn_commit(t), STORE_OK);
    st->ops->close(st);
    json_decref(rjs);
    buf_free(&rc);
    free(rj);
}
