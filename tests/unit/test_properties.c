/* test_properties.c - seeded random properties of the governed write path (memory store). */
/*
 * Every property runs >= 1,000 cases drawn from one printed seed: PROP_SEED=<n> replays a run
 * (the racing-committers property replays its choices, not the thread interleaving), and
 * PROP_SCALE=<k> multiplies every case count. Signer keys and ids are derived from the seed.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "crypto/approval.h"
#include "crypto/codec.h"
#include "helpers/gov_fixture.h"
#include "helpers/testutil.h"
#include "interop/rfc3339.h"
#include "observability/log.h"

#define MIN_CASES 1000
#define POOL_IN 40  /* signers that sets are drawn from */
#define POOL_OUT 8  /* signers never listed anywhere */
#define MAX_EXTRA 8 /* bad approvals per quorum case */
#define RACERS 8

typedef struct prop_env {
    uint64_t seed;
    unsigned scale;
    fx_keys in, out;
} prop_env;

/* Set once by main before any test runs; read-only afterwards. */
static prop_env g_env;

/* What a test holds so its teardown can release it even after a failed assertion. */
typedef struct world {
    store *st;
    pipeline *p;
} world;

static const write_ctx prop_ctx = {.corr_id = "01JDPROPERTYTEST0000000000"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t n_cases(void)
{
    return (size_t)MIN_CASES * g_env.scale;
}

static uint64_t prop_rng(unsigned property)
{
    uint64_t s = g_env.seed ^ (0x9E3779B97F4A7C15ULL * (property + 1));
    tu_rand(&s);
    return s;
}

static uint64_t rnd(uint64_t *rng, uint64_t n)
{
    return n ? tu_rand(rng) % n : 0;
}

static int coin(uint64_t *rng, unsigned percent)
{
    return rnd(rng, 100) < percent;
}

static void shuffle(uint64_t *rng, size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rnd(rng, i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static void world_close(world *w)
{
    pipeline_close(w->p);
    if (w->st)
        w->st->ops->close(w->st);
    w->p = NULL;
    w->st = NULL;
}

/* A fresh memory store and pipeline founded on `roots`. */
static void world_open(world *w, const fx_keys *roots)
{
    world_close(w);
    store_open_opts so = {0};
    assert_int_equal(store_memory_open(&so, &w->st, NULL, 0), STORE_OK);
    w->p = fx_pipeline(w->st, roots, 1000);
}

static int setup(void **state)
{
    *state = calloc(1, sizeof(world));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    world_close(*state);
    free(*state);
    return 0;
}

/* A random signer set of 1..n_max signers from the pool (listed[i] marks pool member i), some of
 * them revoked (at least one stays active), quorum m in 1..active. */
static void random_set(uint64_t *rng, size_t n_max, fx_keys *k, int listed[POOL_IN])
{
    size_t idx[POOL_IN];
    for (size_t i = 0; i < POOL_IN; i++)
        idx[i] = i;
    shuffle(rng, idx, POOL_IN);
    memset(k, 0, sizeof *k);
    k->n = 1 + (size_t)rnd(rng, n_max);
    if (listed)
        memset(listed, 0, POOL_IN * sizeof *listed);
    for (size_t i = 0; i < k->n; i++) {
        k->s[i] = g_env.in.s[idx[i]];
        if (listed)
            listed[idx[i]] = 1;
    }
    size_t revoke = coin(rng, 50) ? 0 : (size_t)rnd(rng, k->n);
    size_t pos[FX_MAX_SIGNERS];
    for (size_t i = 0; i < k->n; i++)
        pos[i] = i;
    shuffle(rng, pos, k->n);
    for (size_t i = 0; i < revoke; i++)
        k->s[pos[i]].revoked = 1;
    k->m = 1 + (unsigned)rnd(rng, k->n - revoke);
}

/* Indexes of the set's active signers in random order; returns how many. */
static size_t active_signers(uint64_t *rng, const fx_keys *k, size_t out[FX_MAX_SIGNERS])
{
    size_t n = 0;
    for (size_t i = 0; i < k->n; i++)
        if (!k->s[i].revoked)
            out[n++] = i;
    shuffle(rng, out, n);
    return n;
}

static int append_cb(void *ctx, const void *data, size_t len)
{
    return buf_append(ctx, data, len) == 0 ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The stored artifact of `version` (parsed); fails the test if it cannot be read. */
static json_t *read_artifact(pipeline *p, uint64_t version)
{
    buf art = {0};
    svcr_code c = pipeline_get_version(p, version, append_cb, &art, NULL);
    if (c != SVCR_OK)
        fail_msg("seed %llu: version %llu cannot be read: %s", (unsigned long long)g_env.seed,
                 (unsigned long long)version, svcr_code_name(c));
    json_t *a = json_loadb(art.data, art.len, 0, NULL);
    buf_free(&art);
    assert_non_null(a);
    return a;
}

/* The artifact of `version` lists exactly the signers `ids` (any order here), sorted by
 * signer_id (strcmp order, strictly increasing). */
static void assert_artifact_approvals(pipeline *p, uint64_t version, const char **ids, size_t n,
                                      size_t ci)
{
    const char *sorted[FX_MAX_SIGNERS];
    memcpy(sorted, ids, n * sizeof *ids);
    qsort(sorted, n, sizeof *sorted, cmp_str);
    json_t *a = read_artifact(p, version);
    json_t *apps = json_object_get(a, "approvals");
    if (json_array_size(apps) != n)
        fail_msg("seed %llu case %zu: artifact v%llu lists %zu approvals, %zu were accepted",
                 (unsigned long long)g_env.seed, ci, (unsigned long long)version,
                 json_array_size(apps), n);
    for (size_t i = 0; i < n; i++) {
        const char *got = json_string_value(json_object_get(json_array_get(apps, i), "signer_id"));
        if (!got || strcmp(got, sorted[i]) != 0)
            fail_msg("seed %llu case %zu: artifact v%llu approval %zu is %s, expected %s",
                     (unsigned long long)g_env.seed, ci, (unsigned long long)version, i,
                     got ? got : "(none)", sorted[i]);
    }
    json_decref(a);
}

static uint64_t head_version(pipeline *p)
{
    head_snap *h = pipeline_head(p);
    uint64_t v = h->version;
    head_snap_release(h);
    return v;
}

/* Proposes HEAD+1 declaring `next` with `extra` services; fills b3 and id (202 expected). */
static void propose_next(pipeline *p, const fx_keys *next, int extra, char b3[68], char id[27],
                         size_t ci)
{
    head_snap *h = pipeline_head(p);
    char *payload = fx_payload_json(h->version + 1, h->payload_b3, next, extra, NULL, NULL);
    head_snap_release(h);
    int http = 0;
    svcr_code c = fx_propose(p, payload, b3, id, &http);
    free(payload);
    if (c != SVCR_OK || http != 202)
        fail_msg("seed %llu case %zu: propose answered %s (%d)", (unsigned long long)g_env.seed, ci,
                 svcr_code_name(c), http);
}

/* One approval by set member i with its own key over b3 (random signed_at skew within the
 * allowed window); returns the code. */
static svcr_code approve_as(pipeline *p, const char *id, const char *signer_id, const uint8_t *sk,
                            const char *b3, uint64_t *rng)
{
    char *body = fx_approval_body_as(signer_id, sk, b3, (long)rnd(rng, 401) - 200);
    assert_non_null(body);
    svcr_code c = fx_approve_raw(p, id, body, NULL);
    free(body);
    return c;
}

/* An Ed25519 signature of the approval message made with a random nonce instead of RFC 8032's
 * deterministic one (as a hedged signer or another library may do): different bytes from
 * approval_sign_ed25519's, and exactly as valid. R = r.B, S = r + H(R || A || M).a mod L. */
static void sign_hedged(const char *b3, const uint8_t sk[ED25519_SK_LEN], uint64_t *rng,
                        uint8_t sig[ED25519_SIG_LEN])
{
    uint8_t msg[APPROVAL_MSG_LEN], h[64], wide[64] = {0}, a[32], r[32], k[32], ka[32];
    assert_int_equal(approval_message(b3, strlen(b3), msg), 0);
    crypto_hash_sha512(h, sk, 32); /* sk = seed || public key */
    h[0] &= 248;
    h[31] &= 127;
    h[31] |= 64;
    memcpy(wide, h, 32);
    crypto_core_ed25519_scalar_reduce(a, wide);
    do {
        tu_rand_bytes(rng, wide, sizeof wide);
        crypto_core_ed25519_scalar_reduce(r, wide);
    } while (crypto_scalarmult_ed25519_base_noclamp(sig, r) != 0); /* R into sig[0..32) */
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, sig, 32);
    crypto_hash_sha512_update(&st, sk + 32, 32);
    crypto_hash_sha512_update(&st, msg, sizeof msg);
    crypto_hash_sha512_final(&st, h);
    crypto_core_ed25519_scalar_reduce(k, h);
    crypto_core_ed25519_scalar_mul(ka, k, a);
    crypto_core_ed25519_scalar_add(sig + 32, r, ka);
}

/* Like approve_as, but signed with a random nonce (see sign_hedged). */
static svcr_code approve_hedged(pipeline *p, const char *id, const char *signer_id,
                                const uint8_t *sk, const char *b3, uint64_t *rng)
{
    uint8_t sig[ED25519_SIG_LEN];
    sign_hedged(b3, sk, rng, sig);
    char sig64[APPROVAL_SIG_B64_LEN + 1], ts[32];
    assert_int_equal(b64_encode(sig, sizeof sig, sig64, sizeof sig64, B64_STD),
                     APPROVAL_SIG_B64_LEN);
    rfc3339_format((int64_t)time(NULL) - (int64_t)rnd(rng, 200), ts);
    buf b = {0};
    buf_printf(&b,
               "{\"signer_id\":\"%s\",\"algo\":\"ed25519\",\"sig\":\"%s\",\"signed_at\":\"%s\"}",
               signer_id, sig64, ts);
    svcr_code c = fx_approve_raw(p, id, b.data, NULL);
    buf_free(&b);
    return c;
}

static void expect_code(svcr_code got, svcr_code want, size_t ci, const char *what)
{
    if (got != want)
        fail_msg("seed %llu case %zu: %s answered %s, expected %s", (unsigned long long)g_env.seed,
                 ci, what, svcr_code_name(got), svcr_code_name(want));
}

/* --- property 1: no commit without quorum, and every bad approval gets its own code --- */

typedef enum akind { A_VALID, A_UNKNOWN, A_DUPLICATE, A_WRONG_KEY, A_REVOKED } akind;

static const char *const akind_name[] = {"valid", "unknown signer", "duplicate", "wrong key",
                                         "revoked"};

typedef struct quorum_stats {
    size_t committed, refused, bad, commits_tried;
} quorum_stats;

/* One quorum case: the set, who has approved so far, the proposal. */
typedef struct qcase {
    fx_keys set;
    int listed[POOL_IN];                     /* pool members the set lists */
    size_t active[FX_MAX_SIGNERS], n_active; /* in the order valid approvals arrive */
    size_t revoked[FX_MAX_SIGNERS], n_revoked;
    int approved[FX_MAX_SIGNERS];
    const char *ok_ids[FX_MAX_SIGNERS];
    size_t n_ok, next_valid;
    char b3[68], id[27], other_b3[68];
} qcase;

/* One approval to submit: who claims it, the key that signs it, over what, and the answer. */
typedef struct attempt {
    akind kind;
    size_t i; /* set index (valid, duplicate, wrong key, revoked) */
    const char *sid, *signed_b3;
    const uint8_t *sk;
    svcr_code want;
} attempt;

static void plan_attempt(qcase *q, akind k, uint64_t *rng, attempt *a)
{
    if (k == A_DUPLICATE && q->n_ok == 0)
        k = A_UNKNOWN;
    if (k == A_REVOKED && q->n_revoked == 0)
        k = A_WRONG_KEY;
    *a = (attempt){.kind = k, .signed_b3 = q->b3, .want = SVCR_OK};
    const fx_signer *s = NULL;
    switch (k) {
    case A_VALID:
        a->i = q->active[q->next_valid++];
        break;
    case A_UNKNOWN:
        a->want = SVCR_E_UNKNOWN_SIGNER;
        if (coin(rng, 50)) {
            s = &g_env.out.s[rnd(rng, POOL_OUT)];
        } else { /* a pool signer this set does not list (n <= 32 < 40: one exists) */
            size_t j = (size_t)rnd(rng, POOL_IN);
            while (q->listed[j])
                j = (j + 1) % POOL_IN;
            s = &g_env.in.s[j];
        }
        break;
    case A_DUPLICATE: {
        size_t pick = (size_t)rnd(rng, q->n_ok), seen = 0;
        for (a->i = 0; a->i < q->set.n; a->i++)
            if (q->approved[a->i] && seen++ == pick)
                break;
        a->want = SVCR_E_DUPLICATE_APPROVAL;
        break;
    }
    case A_WRONG_KEY: /* a listed id with another key, or its own key over another payload */
        a->i = (size_t)rnd(rng, q->set.n);
        if (coin(rng, 50)) {
            a->sk = g_env.out.s[rnd(rng, POOL_OUT)].sk;
        } else {
            a->sk = q->set.s[a->i].sk;
            a->signed_b3 = q->other_b3;
        }
        /* §4.3 order: a revoked signer is RevokedKey before its signature is looked at */
        a->want = q->set.s[a->i].revoked ? SVCR_E_REVOKED_KEY : SVCR_E_INVALID_SIG;
        break;
    case A_REVOKED:
        a->i = q->revoked[rnd(rng, q->n_revoked)];
        a->want = SVCR_E_REVOKED_KEY;
        break;
    }
    if (!s)
        s = &q->set.s[a->i];
    a->sid = s->id;
    if (!a->sk)
        a->sk = s->sk;
}

/* After the last step: HEAD moved iff quorum was met, nothing is stored otherwise; a commit
 * stores exactly the accepted approvals; afterwards approvals are refused and a retry is
 * idempotent. */
static void check_quorum_outcome(world *w, qcase *q, int committed, uint64_t *rng, size_t ci,
                                 quorum_stats *qs)
{
    if (head_version(w->p) != (uint64_t)committed)
        fail_msg("seed %llu case %zu: HEAD is %llu after committed=%d",
                 (unsigned long long)g_env.seed, ci, (unsigned long long)head_version(w->p),
                 committed);
    pipeline_stats st;
    pipeline_get_stats(w->p, &st);
    assert_int_equal(st.commits, (uint64_t)committed);
    if (!committed) {
        buf none = {0};
        assert_int_equal(pipeline_get_version(w->p, 1, append_cb, &none, NULL), SVCR_E_NOT_FOUND);
        buf_free(&none);
        qs->refused++;
        return;
    }
    qs->committed++;
    assert_artifact_approvals(w->p, 1, q->ok_ids, q->n_ok, ci);
    char msg[256];
    if (fx_verify_chain(w->p, w->st, &q->set, 1, msg, sizeof msg) != SVCR_OK)
        fail_msg("seed %llu case %zu: %s", (unsigned long long)g_env.seed, ci, msg);
    if (!coin(rng, 30))
        return;
    for (size_t j = 0; j < q->n_active; j++) {
        const fx_signer *s = &q->set.s[q->active[j]];
        if (q->approved[q->active[j]])
            continue;
        expect_code(approve_as(w->p, q->id, s->id, s->sk, q->b3, rng), SVCR_E_CHAIN_MISMATCH, ci,
                    "approval after commit");
        break;
    }
    int http = 0;
    expect_code(fx_commit(w->p, q->id, &http), SVCR_OK, ci, "commit retry");
    assert_int_equal(http, 201);
    assert_int_equal(head_version(w->p), 1);
}

static void quorum_case(world *w, qcase *q, uint64_t *rng, size_t ci, quorum_stats *qs)
{
    memset(q, 0, sizeof *q);
    random_set(rng, 32, &q->set, q->listed);
    q->n_active = active_signers(rng, &q->set, q->active);
    for (size_t i = 0; i < q->set.n; i++)
        if (q->set.s[i].revoked)
            q->revoked[q->n_revoked++] = i;
    /* how many distinct valid signers approve: often right at the threshold */
    size_t n_valid =
        coin(rng, 40) ? q->set.m - 1 + (size_t)rnd(rng, 2) : (size_t)rnd(rng, q->n_active + 1);
    size_t n_plan = n_valid + (size_t)rnd(rng, MAX_EXTRA + 1);
    akind plan[FX_MAX_SIGNERS + MAX_EXTRA];
    size_t order[FX_MAX_SIGNERS + MAX_EXTRA];
    for (size_t i = 0; i < n_plan; i++) {
        plan[i] = i < n_valid ? A_VALID : (akind)(1 + rnd(rng, 4));
        order[i] = i;
    }
    shuffle(rng, order, n_plan);

    world_open(w, &q->set);
    propose_next(w->p, &q->set, (int)rnd(rng, 3), q->b3, q->id, ci);
    b3_tag_of(q->id, strlen(q->id), q->other_b3); /* some other payload hash */
    int committed = 0;
    char what[200];
    size_t steps = n_plan ? n_plan : 1; /* with no approvals at all, one commit attempt */
    for (size_t step = 0; step < steps && !committed; step++) {
        if (step < n_plan) {
            attempt a;
            plan_attempt(q, plan[order[step]], rng, &a);
            /* valid and duplicate approvals are sometimes signed with a random nonce: a hedged
             * signature counts like a deterministic one, and a second one by the same signer
             * is still a duplicate although its bytes differ */
            int hedged = (a.kind == A_VALID || a.kind == A_DUPLICATE) && coin(rng, 30);
            snprintf(what, sizeof what, "approval %zu (%s%s, %s, set %u-of-%zu/%zu listed)", step,
                     akind_name[a.kind], hedged ? ", hedged" : "", a.sid, q->set.m, q->n_active,
                     q->set.n);
            expect_code(hedged ? approve_hedged(w->p, q->id, a.sid, a.sk, a.signed_b3, rng)
                               : approve_as(w->p, q->id, a.sid, a.sk, a.signed_b3, rng),
                        a.want, ci, what);
            if (a.kind == A_VALID) {
                q->approved[a.i] = 1;
                q->ok_ids[q->n_ok++] = a.sid;
            } else {
                qs->bad++;
            }
        }
        /* commit at random points, and always after the last approval */
        if (step + 1 == steps || coin(rng, 15)) {
            int http = 0;
            svcr_code got = fx_commit(w->p, q->id, &http);
            qs->commits_tried++;
            snprintf(what, sizeof what, "commit after %zu valid approvals of m=%u", q->n_ok,
                     q->set.m);
            expect_code(got, q->n_ok >= q->set.m ? SVCR_OK : SVCR_E_QUORUM_FAILED, ci, what);
            committed = got == SVCR_OK;
            if (committed)
                assert_int_equal(http, 201);
        }
    }
    check_quorum_outcome(w, q, committed, rng, ci, qs);
}

static void test_commit_happens_iff_distinct_valid_approvals_reach_quorum(void **state)
{
    world *w = *state;
    double t0 = now_s();
    uint64_t rng = prop_rng(1);
    quorum_stats qs = {0};
    qcase *q = malloc(sizeof *q);
    assert_non_null(q);
    size_t cases = n_cases();
    for (size_t ci = 0; ci < cases; ci++)
        quorum_case(w, q, &rng, ci, &qs);
    free(q);
    printf("# quorum: %zu cases, %zu committed, %zu refused, %zu bad approvals, %zu commits "
           "tried, %.1f s\n",
           cases, qs.committed, qs.refused, qs.bad, qs.commits_tried, now_s() - t0);
    assert_true(qs.committed > 0 && qs.refused > 0);
}

/* --- property 2: approvals beyond the quorum never change the outcome --- */

static void test_superfluous_approvals_still_commit_and_are_all_listed(void **state)
{
    world *w = *state;
    double t0 = now_s();
    uint64_t rng = prop_rng(2);
    fx_keys roots, gov, next;
    random_set(&rng, 32, &roots, NULL);
    gov = roots;
    world_open(w, &roots);
    size_t cases = n_cases(), beyond = 0;
    for (size_t ci = 0; ci < cases; ci++) {
        random_set(&rng, 32, &next, NULL); /* the payload rotates the set for the next case */
        char b3[68], id[27];
        propose_next(w->p, &next, (int)rnd(&rng, 3), b3, id, ci);
        size_t active[FX_MAX_SIGNERS];
        size_t n_active = active_signers(&rng, &gov, active);
        size_t k = gov.m + (size_t)rnd(&rng, n_active - gov.m + 1);
        beyond += k - gov.m;
        const char *ids[FX_MAX_SIGNERS];
        for (size_t j = 0; j < k; j++) {
            const fx_signer *s = &gov.s[active[j]];
            expect_code(approve_as(w->p, id, s->id, s->sk, b3, &rng), SVCR_OK, ci, "approval");
            ids[j] = s->id;
        }
        pipeline_result r = {0};
        pipeline_commit(w->p, &prop_ctx, id, "", 0, &r);
        expect_code(r.code, SVCR_OK, ci, "commit");
        assert_int_equal(r.http_status, 201);
        char want[48];
        snprintf(want, sizeof want, "\"version\":%zu", ci + 1);
        assert_non_null(strstr(r.body.data, want));
        assert_non_null(strstr(r.body.data, b3));
        pipeline_result_free(&r);
        assert_artifact_approvals(w->p, ci + 1, ids, k, ci);
        gov = next;
    }
    char msg[256];
    if (fx_verify_chain(w->p, w->st, &roots, cases, msg, sizeof msg) != SVCR_OK)
        fail_msg("seed %llu: %s", (unsigned long long)g_env.seed, msg);
    printf("# superfluous: %zu cases, %zu approvals beyond quorum, %.1f s\n", cases, beyond,
           now_s() - t0);
}

/* --- property 3: versions are dense from 1 and each links to the previous payload --- */

/* Approves proposal `id` with active signers order[from..to) of `gov`. */
static void approve_range(pipeline *p, const char *id, const char *b3, const fx_keys *gov,
                          const size_t *order, size_t from, size_t to, uint64_t *rng, size_t ci)
{
    for (size_t j = from; j < to; j++)
        expect_code(approve_as(p, id, gov->s[order[j]].id, gov->s[order[j]].sk, b3, rng), SVCR_OK,
                    ci, "approval");
}

typedef struct chain_stats {
    size_t rivals, short_quorum;
} chain_stats;

/* Commits version v (HEAD is v-1) under `gov`: the payload declares a new random set now and
 * then (it governs the next version: *gov becomes it), a rival payload for the same version
 * sometimes competes and loses with ChainMismatch, a commit one approval short of quorum is
 * sometimes tried first and refused. The winner's payload_b3 goes to winner_b3. */
static void chain_cycle(world *w, uint64_t *rng, fx_keys *gov, size_t v, size_t ci,
                        char winner_b3[68], chain_stats *cs)
{
    assert_int_equal(head_version(w->p), v - 1);
    fx_keys next = *gov;
    if (coin(rng, 30))
        random_set(rng, 5, &next, NULL);
    int extra = (int)rnd(rng, 4);
    char b3[68], id[27], rb3[68], rid[27];
    propose_next(w->p, &next, extra, b3, id, ci);
    int rival = coin(rng, 25);
    if (rival) /* a competing payload for the same version */
        propose_next(w->p, &next, extra + 1, rb3, rid, ci);
    size_t order[FX_MAX_SIGNERS];
    active_signers(rng, gov, order);
    size_t have = 0;
    if (gov->m > 1 && coin(rng, 15)) { /* one short of quorum: refused, HEAD stays */
        approve_range(w->p, id, b3, gov, order, 0, gov->m - 1, rng, ci);
        expect_code(fx_commit(w->p, id, NULL), SVCR_E_QUORUM_FAILED, ci, "short commit");
        assert_int_equal(head_version(w->p), v - 1);
        have = gov->m - 1;
        cs->short_quorum++;
    }
    approve_range(w->p, id, b3, gov, order, have, gov->m, rng, ci);
    int rival_wins = 0;
    if (rival) {
        cs->rivals++;
        approve_range(w->p, rid, rb3, gov, order, 0, gov->m, rng, ci);
        rival_wins = coin(rng, 50);
    }
    expect_code(fx_commit(w->p, rival_wins ? rid : id, NULL), SVCR_OK, ci, "commit");
    if (rival)
        expect_code(fx_commit(w->p, rival_wins ? id : rid, NULL), SVCR_E_CHAIN_MISMATCH, ci,
                    "losing commit");
    memcpy(winner_b3, rival_wins ? rb3 : b3, 68);
    *gov = next;
}

/* Versions 1..k exist and nothing after; each artifact's version fields match its position,
 * its payload_b3 is the winner's, and its prev_hash (outside and inside the payload) is the
 * previous version's payload_b3; the whole chain re-verifies from the trust roots. */
static void check_chain(world *w, const fx_keys *roots, char (*b3s)[68], size_t k, size_t run)
{
    assert_int_equal(head_version(w->p), k);
    for (size_t v = 1; v <= k; v++) {
        json_t *a = read_artifact(w->p, v);
        json_t *pl = json_object_get(a, "payload");
        assert_int_equal(json_integer_value(json_object_get(a, "version")), v);
        assert_int_equal(json_integer_value(json_object_get(pl, "version")), v);
        assert_string_equal(json_string_value(json_object_get(a, "payload_b3")), b3s[v]);
        assert_string_equal(json_string_value(json_object_get(a, "prev_hash")), b3s[v - 1]);
        assert_string_equal(json_string_value(json_object_get(pl, "prev_hash")), b3s[v - 1]);
        json_decref(a);
    }
    buf none = {0};
    assert_int_equal(pipeline_get_version(w->p, k + 1, append_cb, &none, NULL), SVCR_E_NOT_FOUND);
    buf_free(&none);
    char msg[256];
    if (fx_verify_chain(w->p, w->st, roots, k, msg, sizeof msg) != SVCR_OK)
        fail_msg("seed %llu run %zu: %s", (unsigned long long)g_env.seed, run, msg);
}

static void test_versions_are_dense_and_each_links_to_the_previous_payload(void **state)
{
    world *w = *state;
    double t0 = now_s();
    uint64_t rng = prop_rng(3);
    size_t target = n_cases(), total = 0, runs = 0;
    chain_stats cs = {0};
    while (total < target) { /* runs of 1..150 cycles on a fresh store until enough cycles */
        size_t k = 1 + (size_t)rnd(&rng, 150);
        fx_keys roots, gov;
        random_set(&rng, 5, &roots, NULL);
        gov = roots;
        world_open(w, &roots);
        char(*b3s)[68] = calloc(k + 1, sizeof *b3s);
        assert_non_null(b3s);
        memcpy(b3s[0], B3_ZERO_TAG, sizeof b3s[0]);
        for (size_t v = 1; v <= k; v++)
            chain_cycle(w, &rng, &gov, v, total + v - 1, b3s[v], &cs);
        check_chain(w, &roots, b3s, k, runs);
        free(b3s);
        total += k;
        runs++;
    }
    printf("# chain: %zu cycles in %zu runs, %zu with a losing rival, %zu short of quorum "
           "first, %.1f s\n",
           total, runs, cs.rivals, cs.short_quorum, now_s() - t0);
}

/* --- property 4: racing committers produce exactly one HEAD per version --- */

typedef struct race_slot {
    uint64_t target; /* the version this racer proposed */
    int stage;       /* 0 propose, 1 approve, 2 commit: where the cycle ended */
    svcr_code code;
    int http;
} race_slot;

typedef struct race {
    pipeline *p;
    const fx_keys *gov;
    size_t rounds;
    pthread_barrier_t bar;
    race_slot *slots; /* rounds x RACERS */
} race;

typedef struct racer {
    race *r;
    size_t t;
    uint64_t rng;
} racer;

/* One racer: every round it proposes its own payload for HEAD+1, approves it with a quorum and
 * commits. Every racer reads HEAD before anyone may commit. Even rounds then wait for everyone
 * at the commit (all commits race); odd rounds run free (a racer may lose at propose or approve
 * too). No cmocka assertions off the main thread:
 * outcomes go to the slots and the test checks them after the join. */
static void *racer_main(void *arg)
{
    racer *me = arg;
    race *r = me->r;
    for (size_t round = 0; round < r->rounds; round++) {
        int tight = round % 2 == 0;
        pthread_barrier_wait(&r->bar); /* the previous round is over */
        race_slot *s = &r->slots[round * RACERS + me->t];
        head_snap *h = pipeline_head(r->p);
        s->target = h->version + 1;
        char *payload =
            fx_payload_json(h->version + 1, h->payload_b3, r->gov, (int)me->t + 1, NULL, NULL);
        head_snap_release(h);
        pthread_barrier_wait(&r->bar); /* everyone read the same HEAD before anyone commits */
        char b3[68], id[27];
        int http = 0;
        svcr_code c = fx_propose(r->p, payload, b3, id, &http);
        free(payload);
        size_t first = (size_t)rnd(&me->rng, r->gov->n);
        for (size_t j = 0; c == SVCR_OK && j < r->gov->m; j++) {
            const fx_signer *sg = &r->gov->s[(first + j) % r->gov->n];
            char *body = fx_approval_body_as(sg->id, sg->sk, b3, 0);
            c = body ? fx_approve_raw(r->p, id, body, NULL) : SVCR_E_INTERNAL;
            free(body);
            s->stage = 1;
            http = svcr_code_http_status(c);
        }
        if (tight)
            pthread_barrier_wait(&r->bar);
        if (c == SVCR_OK) {
            s->stage = 2;
            c = fx_commit(r->p, id, &http);
        }
        s->code = c;
        s->http = http;
    }
    return NULL;
}

static void test_racing_committers_produce_exactly_one_head_per_version(void **state)
{
    world *w = *state;
    double t0 = now_s();
    uint64_t rng = prop_rng(4);
    fx_keys gov;
    fx_keys_make_seeded(&gov, 3, 2, 7, g_env.seed);
    world_open(w, &gov);
    race r = {.p = w->p, .gov = &gov, .rounds = n_cases()};
    r.slots = calloc(r.rounds * RACERS, sizeof *r.slots);
    assert_non_null(r.slots);
    assert_int_equal(pthread_barrier_init(&r.bar, NULL, RACERS), 0);
    racer racers[RACERS];
    pthread_t th[RACERS];
    for (size_t t = 0; t < RACERS; t++) {
        racers[t] = (racer){.r = &r, .t = t, .rng = tu_rand(&rng)};
        assert_int_equal(pthread_create(&th[t], NULL, racer_main, &racers[t]), 0);
    }
    for (size_t t = 0; t < RACERS; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&r.bar);
    size_t lost_at[3] = {0};
    for (size_t round = 0; round < r.rounds; round++) {
        size_t winners = 0;
        for (size_t t = 0; t < RACERS; t++) {
            const race_slot *s = &r.slots[round * RACERS + t];
            if (s->target != round + 1)
                fail_msg("round %zu: racer %zu proposed version %llu", round, t,
                         (unsigned long long)s->target);
            if (s->code == SVCR_OK) {
                if (s->stage != 2 || s->http != 201)
                    fail_msg("round %zu: racer %zu succeeded with %d at stage %d", round, t,
                             s->http, s->stage);
                winners++;
            } else if (s->code != SVCR_E_CHAIN_MISMATCH || s->http != 409) {
                fail_msg("round %zu: racer %zu lost with %s (%d) at stage %d, expected "
                         "ChainMismatch",
                         round, t, svcr_code_name(s->code), s->http, s->stage);
            } else {
                lost_at[s->stage]++;
            }
        }
        if (winners != 1)
            fail_msg("round %zu: %zu commits won version %zu", round, winners, round + 1);
    }
    free(r.slots);
    assert_int_equal(head_version(w->p), r.rounds);
    pipeline_stats st;
    pipeline_get_stats(w->p, &st);
    assert_int_equal(st.commits, r.rounds);
    assert_true(st.cas_failures >= lost_at[2]);
    char msg[256];
    if (fx_verify_chain(w->p, w->st, &gov, r.rounds, msg, sizeof msg) != SVCR_OK)
        fail_msg("%s", msg);
    buf none = {0};
    assert_int_equal(pipeline_get_version(w->p, r.rounds + 1, append_cb, &none, NULL),
                     SVCR_E_NOT_FOUND);
    buf_free(&none);
    printf("# race: %zu versions, %d racers; losers at propose %zu, approve %zu, commit %zu; "
           "%llu ops in %llu batches (max %llu), %.1f s\n",
           r.rounds, RACERS, lost_at[0], lost_at[1], lost_at[2], (unsigned long long)st.ops,
           (unsigned long long)st.batches, (unsigned long long)st.max_batch, now_s() - t0);
}

int main(void)
{
    if (crypto_init() != 0)
        return 1;
    log_configure(1, LOG_WARN); /* thousands of accepted/rejected writes: keep stderr readable */
    const char *s = getenv("PROP_SEED");
    if (s && *s) {
        g_env.seed = strtoull(s, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t t = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
                     ((uint64_t)getpid() << 40);
        g_env.seed = tu_rand(&t) >> 1; /* mixed, and short enough to paste */
    }
    const char *sc = getenv("PROP_SCALE");
    long scale = sc && *sc ? strtol(sc, NULL, 10) : 1;
    g_env.scale = scale >= 1 ? (unsigned)scale : 1;
    fx_keys_make_seeded(&g_env.in, POOL_IN, 1, 1, g_env.seed);
    fx_keys_make_seeded(&g_env.out, POOL_OUT, 1, 2, g_env.seed);
    printf("# seed %llu (PROP_SEED=%llu replays it), scale %u: %zu cases per property\n",
           (unsigned long long)g_env.seed, (unsigned long long)g_env.seed, g_env.scale, n_cases());
    fflush(stdout);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_commit_happens_iff_distinct_valid_approvals_reach_quorum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_superfluous_approvals_still_commit_and_are_all_listed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_versions_are_dense_and_each_links_to_the_previous_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racing_committers_produce_exactly_one_head_per_version,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
