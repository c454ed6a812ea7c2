/* test_group_commit.c - 64 concurrent writers on LMDB with fsync on share storage transactions. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "helpers/gov_fixture.h"
#include "observability/log.h"

#define WRITERS 64
#define CYCLES 16 /* per writer: propose, approve x m, commit */

typedef struct world {
    char *dir;
    store *st;
    pipeline *p;
    fx_keys k;
} world;

static store *open_lmdb(const char *dir)
{
    store_open_opts o = {.data_dir = dir, .fsync = 1};
    store *st = NULL;
    char err[256] = "";
    if (store_lmdb_open(&o, &st, err, sizeof err) != STORE_OK)
        fail_msg("store_lmdb_open(%s): %s", dir, err);
    return st;
}

static int setup(void **state)
{
    crypto_init();
    log_configure(1, LOG_WARN); /* hundreds of rejected racers: keep stderr readable */
    world *w = calloc(1, sizeof *w);
    w->dir = fx_tempdir();
    w->st = open_lmdb(w->dir);
    fx_keys_make(&w->k, 3, 2, 1);
    w->p = fx_pipeline(w->st, &w->k, 1000);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    pipeline_close(w->p);
    if (w->st)
        w->st->ops->close(w->st);
    fx_rmrf(w->dir);
    free(w->dir);
    free(w);
    return 0;
}

typedef struct writer {
    pthread_t th;
    size_t t;
    world *w;
    pthread_barrier_t *start;
    size_t ok, mismatch, other, commits;
    svcr_code first_other;
} writer;

static void tally(writer *me, svcr_code c)
{
    if (c == SVCR_OK) {
        me->ok++;
    } else if (c == SVCR_E_CHAIN_MISMATCH) {
        me->mismatch++;
    } else {
        if (!me->other)
            me->first_other = c;
        me->other++;
    }
}

/* A writer: each cycle proposes its own payload for HEAD+1, approves it with a quorum and
 * commits; losing the race for a version (ChainMismatch) ends that cycle. No cmocka assertions
 * off the main thread: outcomes are tallied and checked after the join. */
static void *writer_main(void *arg)
{
    writer *me = arg;
    const fx_keys *k = &me->w->k;
    pthread_barrier_wait(me->start);
    for (size_t c = 0; c < CYCLES; c++) {
        head_snap *h = pipeline_head(me->w->p);
        char tag[32];
        snprintf(tag, sizeof tag, "w%02zu-c%zu", me->t, c);
        char *payload = fx_payload_json_tagged(h->version + 1, h->payload_b3, k, tag);
        head_snap_release(h);
        char b3[68], id[27];
        svcr_code rc = fx_propose(me->w->p, payload, b3, id, NULL);
        free(payload);
        tally(me, rc);
        for (size_t j = 0; rc == SVCR_OK && j < k->m; j++) {
            const fx_signer *s = &k->s[(me->t + j) % k->n];
            char *body = fx_approval_body_as(s->id, s->sk, b3, 0);
            rc = body ? fx_approve_raw(me->w->p, id, body, NULL) : SVCR_E_INTERNAL;
            free(body);
            tally(me, rc);
        }
        if (rc == SVCR_OK) {
            rc = fx_commit(me->w->p, id, NULL);
            tally(me, rc);
            me->commits += rc == SVCR_OK;
        }
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_concurrent_writers_share_fsyncs_in_group_commits(void **state)
{
    world *w = *state;
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, WRITERS), 0);
    writer *ws = calloc(WRITERS, sizeof *ws);
    assert_non_null(ws);
    double t0 = now_s();
    for (size_t t = 0; t < WRITERS; t++) {
        ws[t] = (writer){.t = t, .w = w, .start = &start};
        assert_int_equal(pthread_create(&ws[t].th, NULL, writer_main, &ws[t]), 0);
    }
    size_t ok = 0, mismatch = 0, other = 0, commits = 0;
    svcr_code first_other = SVCR_OK;
    for (size_t t = 0; t < WRITERS; t++) {
        pthread_join(ws[t].th, NULL);
        ok += ws[t].ok;
        mismatch += ws[t].mismatch;
        commits += ws[t].commits;
        if (ws[t].other && !other)
            first_other = ws[t].first_other;
        other += ws[t].other;
    }
    double secs = now_s() - t0;
    free(ws);
    pthread_barrier_destroy(&start);
    if (other)
        fail_msg("%zu writes answered neither OK nor ChainMismatch (first: %s)", other,
                 svcr_code_name(first_other));

    pipeline_stats st;
    pipeline_get_stats(w->p, &st);
    head_snap *h = pipeline_head(w->p);
    uint64_t head = h->version;
    head_snap_release(h);
    assert_int_equal(st.commits, commits);
    assert_int_equal(head, commits);
    assert_true(commits >= 1);
    /* every write (accepted, or rejected and audited) went through a storage transaction */
    assert_true(st.ops >= ok + mismatch);
    /* group commit: some transactions carried more than one operation */
    assert_true(st.max_batch > 1);
    assert_true(st.batches < st.ops);
    printf("# group commit: %d writers, %llu ops in %llu storage txns (max %llu, mean %.1f "
           "ops/txn), %zu versions committed; fsyncs (storage txns) per committed version "
           "%.2f, per write %.3f; %.2f s\n",
           WRITERS, (unsigned long long)st.ops, (unsigned long long)st.batches,
           (unsigned long long)st.max_batch, (double)st.ops / (double)st.batches, commits,
           (double)st.batches / (double)commits, (double)st.batches / (double)st.ops, secs);

    /* what was acknowledged is durable: reopen the store and re-verify the whole chain */
    pipeline_close(w->p);
    w->p = NULL;
    w->st->ops->close(w->st);
    w->st = open_lmdb(w->dir);
    w->p = fx_pipeline(w->st, &w->k, 1000);
    h = pipeline_head(w->p);
    assert_int_equal(h->version, commits);
    head_snap_release(h);
    char msg[256];
    if (fx_verify_chain(w->p, w->st, &w->k, commits, msg, sizeof msg) != SVCR_OK)
        fail_msg("%s", msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_writers_share_fsyncs_in_group_commits,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
