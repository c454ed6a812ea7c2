/* test_storage_probe.c - while the write plane is down for storage, a write transaction admits
 * one write (the recovery probe) and answers the others 503 NotReady "storage", audited as
 * such. The batch is made deterministic by holding the committer inside a commit. */
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
#include <jansson.h>

#include "helpers/gov_fixture.h"
#include "observability/log.h"

/* --- a memory store whose commits can be held at the door --------------------------------- */

static pthread_mutex_t door_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t door_cv = PTHREAD_COND_INITIALIZER;
static int door_closed, door_waiting;
static int (*real_commit)(store_txn *t);
static store_ops held_ops;

static int held_commit(store_txn *t)
{
    pthread_mutex_lock(&door_mu);
    door_waiting++;
    pthread_cond_broadcast(&door_cv);
    while (door_closed)
        pthread_cond_wait(&door_cv, &door_mu);
    door_waiting--;
    pthread_mutex_unlock(&door_mu);
    return real_commit(t);
}

static void door_set(int closed)
{
    pthread_mutex_lock(&door_mu);
    door_closed = closed;
    pthread_cond_broadcast(&door_cv);
    pthread_mutex_unlock(&door_mu);
}

static void door_wait_for_a_commit(void)
{
    pthread_mutex_lock(&door_mu);
    while (door_waiting == 0)
        pthread_cond_wait(&door_cv, &door_mu);
    pthread_mutex_unlock(&door_mu);
}

/* --- proposals from threads (no cmocka assertion off the main thread) ---------------------- */

typedef struct proposer {
    pthread_t th;
    pipeline *p;
    char *body;
    svcr_code code;
    int http;
    char reason[48];
} proposer;

static void *propose_main(void *arg)
{
    proposer *q = arg;
    write_ctx w = {.corr_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV"};
    pipeline_result r = {0};
    pipeline_propose(q->p, &w, q->body, strlen(q->body), &r);
    q->code = r.code;
    q->http = r.code == SVCR_OK ? r.http_status : svcr_code_http_status(r.code);
    snprintf(q->reason, sizeof q->reason, "%s", r.err.reason);
    pipeline_result_free(&r);
    return NULL;
}

static void propose_start(proposer *q, pipeline *p, const fx_keys *k, const char *tag)
{
    head_snap *h = pipeline_head(p);
    char *payload = fx_payload_json_tagged(h->version + 1, h->payload_b3, k, tag);
    head_snap_release(h);
    memset(q, 0, sizeof *q);
    q->p = p;
    q->body = fx_propose_body(payload);
    free(payload);
    assert_int_equal(pthread_create(&q->th, NULL, propose_main, q), 0);
}

static void propose_join(proposer *q)
{
    pthread_join(q->th, NULL);
    free(q->body);
}

static void test_a_transaction_admits_one_write_while_storage_is_down(void **state)
{
    (void)state;
    crypto_init();
    log_configure(1, LOG_ERROR);
    store *st = NULL;
    store_open_opts o = {0};
    assert_int_equal(store_memory_open(&o, &st, NULL, 0), STORE_OK);
    held_ops = *st->ops;
    real_commit = held_ops.txn_commit;
    held_ops.txn_commit = held_commit;
    st->ops = &held_ops;
    fx_keys k;
    fx_keys_make(&k, 3, 2, 1);
    pipeline *p = fx_pipeline(st, &k, 1000);

    /* X's transaction is held in its commit, then fails for a full disk */
    st->ops->fault_arm(st, STORE_FAULT_ENOSPC, 1);
    door_set(1);
    proposer x, q[3];
    propose_start(&x, p, &k, "x");
    door_wait_for_a_commit();
    /* meanwhile three writes queue up: they will share the next transaction */
    propose_start(&q[0], p, &k, "b");
    propose_start(&q[1], p, &k, "c");
    propose_start(&q[2], p, &k, "d");
    for (int i = 0; i < 5000; i++) {
        pipeline_status ps;
        pipeline_get_status(p, &ps);
        if (ps.queue_depth == 3)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    pipeline_status ps;
    pipeline_get_status(p, &ps);
    assert_int_equal(ps.queue_depth, 3);
    door_set(0);
    propose_join(&x);
    assert_int_equal(x.code, SVCR_E_NOT_READY);
    assert_string_equal(x.reason, "storage");
    int accepted = 0, refused = 0;
    for (int i = 0; i < 3; i++) {
        propose_join(&q[i]);
        if (q[i].code == SVCR_OK && q[i].http == 202)
            accepted++;
        else if (q[i].code == SVCR_E_NOT_READY && q[i].http == 503 &&
                 strcmp(q[i].reason, "storage") == 0)
            refused++;
    }
    assert_int_equal(accepted, 1); /* the probe */
    assert_int_equal(refused, 2);
    pipeline_get_status(p, &ps);
    assert_false(ps.storage_fault);
    assert_true(ps.write_ready);
    /* the probe's transaction committed: all three are audited as answered */
    buf out = {0};
    assert_int_equal(pipeline_audit_json(p, 1, 100, &out), SVCR_OK);
    json_t *j = json_loads(out.data, 0, NULL);
    json_t *recs = json_object_get(j, "records");
    assert_int_equal(json_array_size(recs), 3);
    int acc = 0, rej = 0;
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(recs, i);
        const char *d = json_string_value(json_object_get(r, "decision"));
        if (strcmp(d, "accepted") == 0) {
            acc++;
        } else {
            rej++;
            assert_string_equal(json_string_value(json_object_get(r, "err_code")), "NotReady");
            assert_string_equal(json_string_value(json_object_get(r, "reason")), "storage");
        }
    }
    assert_int_equal(acc, 1);
    assert_int_equal(rej, 2);
    json_decref(j);
    buf_free(&out);
    /* back to normal: every write of a transaction counts again */
    proposer n[2];
    door_set(1);
    propose_start(&n[0], p, &k, "e");
    door_wait_for_a_commit();
    propose_start(&n[1], p, &k, "f");
    door_set(0);
    propose_join(&n[0]);
    propose_join(&n[1]);
    assert_int_equal(n[0].code, SVCR_OK);
    assert_int_equal(n[1].code, SVCR_OK);
    pipeline_close(p);
    st->ops->close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_transaction_admits_one_write_while_storage_is_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
