/* test_storage_faults.c - storage faults through the real binary (SVCR_FAULT_INJECT, D11): the
 * logs and the audit say what was answered, the fault itself is logged once with its errno
 * text, and no write is accepted while /readyz says the write plane is down, except the one
 * documented probe per transaction (issue 9, defect 11). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/harness.h"
#include "interop/ulid.h"

/* ---------------------------------------------------------------------------------------- */
/* the server's log, as JSON lines                                                            */

typedef struct log_lines {
    json_t **v;
    size_t n;
} log_lines;

static void log_load(const srv *s, log_lines *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(s->log_path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            continue;
        json_t **v = realloc(out->v, (out->n + 1) * sizeof *v);
        assert_non_null(v);
        out->v = v;
        out->v[out->n++] = j;
    }
    free(line);
    fclose(f);
}

static void log_free(log_lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        json_decref(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static const char *str_of(const json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));
    return v ? v : "";
}

/* Index of the first line from `from` with this event (and corr_id when not NULL); -1: none. */
static long log_find(const log_lines *l, size_t from, const char *event, const char *corr)
{
    for (size_t i = from; i < l->n; i++)
        if (strcmp(str_of(l->v[i], "event"), event) == 0 &&
            (!corr || strcmp(str_of(l->v[i], "corr_id"), corr) == 0))
            return (long)i;
    return -1;
}

static size_t log_count(const log_lines *l, const char *event)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += strcmp(str_of(l->v[i], "event"), event) == 0;
    return n;
}

/* The status of the http.request line of `corr`. That line is written when libmicrohttpd
 * reports the request completed, which may be a moment after the client has its answer: poll. */
static long http_line_status(const srv *s, const char *corr)
{
    for (int i = 0; i < 500; i++) {
        log_lines l;
        log_load(s, &l);
        long h = log_find(&l, 0, "http.request", corr);
        long st = h >= 0 ? (long)json_integer_value(json_object_get(l.v[h], "status")) : -1;
        log_free(&l);
        if (h >= 0)
            return st;
        usleep(10000);
    }
    fail_msg("no http.request line for corr_id %s", corr);
    return -1;
}

/* The governance line of one request says what it was answered: status, err.code, and
 * "accepted" exactly when the status is 2xx. Exactly one such line per request. It is written
 * before the answer is sent, so it is in the log already. The HTTP layer's line agrees. */
static void assert_logged_as_answered(const srv *s, const log_lines *l, const char *event,
                                      const char *corr, long status, const char *code)
{
    long i = log_find(l, 0, event, corr);
    if (i < 0)
        fail_msg("no %s line for corr_id %s", event, corr);
    if (log_find(l, (size_t)i + 1, event, corr) >= 0)
        fail_msg("two %s lines for corr_id %s", event, corr);
    const json_t *j = l->v[i];
    long logged = (long)json_integer_value(json_object_get(j, "status"));
    const char *msg = str_of(j, "msg");
    int accepted = strcmp(msg, "accepted") == 0;
    if (logged != status || strcmp(str_of(j, "err.code"), code ? code : "") != 0 ||
        accepted != (status >= 200 && status < 300) ||
        (!accepted && strncmp(msg, "rejected", 8) != 0 &&
         strncmp(msg, "answered Timeout", 16) != 0))
        fail_msg("%s %s answered %ld %s but logged status %ld err.code \"%s\" msg \"%s\"", event,
                 corr, status, code ? code : "-", logged, str_of(j, "err.code"), msg);
    assert_int_equal(http_line_status(s, corr), status);
}

/* ---------------------------------------------------------------------------------------- */
/* requests                                                                                   */

static int post_corr(const srv *s, const char *path, const char *tok, const char *body,
                     const char *corr, http_resp *r)
{
    char auth[4096], cid[80];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
    snprintf(cid, sizeof cid, "X-Corr-ID: %s", corr);
    const char *h[] = {"Content-Type: application/json", auth, cid, NULL};
    return http_do(s, "POST", path, h, body, strlen(body), r);
}

static const char *err_reason(const http_resp *r)
{
    const char *v = json_string_value(
        json_object_get(json_object_get(json_object_get(r->json, "error"), "details"), "reason"));
    return v ? v : "";
}

static void assert_storage_not_ready(const http_resp *r)
{
    if (r->status != 503 || strcmp(http_err_code(r), "NotReady") != 0 ||
        strcmp(err_reason(r), "storage") != 0)
        fail_msg("want 503 NotReady storage, got %ld %s", r->status, r->body.data);
}

/* write_ready of /readyz (and that storage is or is not among the missing items). */
static int write_ready(const srv *s)
{
    http_resp r;
    assert_int_equal(http_get(s, "/readyz", &r), 0);
    int ready = json_is_true(json_object_get(r.json, "write_ready"));
    int storage_missing = 0;
    json_t *m = json_object_get(r.json, "missing");
    for (size_t i = 0; i < json_array_size(m); i++)
        storage_missing |= strcmp(json_string_value(json_array_get(m, i)), "storage") == 0;
    assert_int_equal(ready, !storage_missing);
    http_resp_free(&r);
    return ready;
}

/* The audit records of the registry (GET /registry/audit), as a new JSON array. */
static json_t *audit_records(const srv *s)
{
    http_resp r;
    assert_int_equal(http_get(s, "/registry/audit?limit=1000", &r), 0);
    assert_int_equal(r.status, 200);
    json_t *recs = json_incref(json_object_get(r.json, "records"));
    http_resp_free(&r);
    assert_non_null(recs);
    return recs;
}

static const json_t *audit_for(const json_t *recs, const char *corr)
{
    for (size_t i = 0; i < json_array_size(recs); i++)
        if (strcmp(str_of(json_array_get(recs, i), "corr_id"), corr) == 0)
            return json_array_get(recs, i);
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* a full disk under a pending proposal                                                       */

static void test_writes_failed_by_a_full_disk_are_logged_as_answered(void **state)
{
    srv *s = *state;
    srv_start(s, NULL);
    char *tok = srv_token(s, "registry:propose registry:approve registry:commit", 600, NULL, NULL);
    char id[32], b3[72], path[96];
    srv_propose(s, "pending", tok, id, b3);
    assert_int_equal(srv_stop(s), 0);

    /* the disk is full from the restart on */
    const char *env[] = {"SVCR_FAULT_INJECT=enospc:-1", NULL};
    srv_start_env(s, NULL, env, NULL);
    assert_true(write_ready(s)); /* nothing has failed yet */
    http_resp r;
    snprintf(path, sizeof path, "/registry/approvals/%s", id);
    char corr1[27], corr2[27], corr3[27];
    ulid_new(corr1);
    ulid_new(corr2);
    ulid_new(corr3);
    char *a0 = fx_approval_body(&s->gov, 0, b3, 0);
    assert_int_equal(post_corr(s, path, tok, a0, corr1, &r), 0);
    assert_storage_not_ready(&r);
    http_resp_free(&r);
    assert_false(write_ready(s));
    /* still down: the next approval is the probe of its transaction and fails too */
    char *a1 = fx_approval_body(&s->gov, 1, b3, 0);
    assert_int_equal(post_corr(s, path, tok, a1, corr2, &r), 0);
    assert_storage_not_ready(&r);
    http_resp_free(&r);
    assert_false(write_ready(s));
    /* a request refused before the queue gets its own answer; its audit record is lost */
    assert_int_equal(post_corr(s, path, tok, "{\"signer_id\":", corr3, &r), 0);
    assert_int_equal(r.status, 400);
    http_resp_free(&r);

    log_lines l;
    log_load(s, &l);
    assert_logged_as_answered(s, &l, "governance.approve", corr1, 503, "NotReady");
    assert_logged_as_answered(s, &l, "governance.approve", corr2, 503, "NotReady");
    assert_logged_as_answered(s, &l, "governance.approve", corr3, 400, "Malformed");
    assert_string_equal(str_of(l.v[log_find(&l, 0, "governance.approve", corr1)], "reason"),
                        "storage");
    assert_non_null(
        strstr(str_of(l.v[log_find(&l, 0, "governance.approve", corr3)], "msg"), "not stored"));
    /* the fault itself: logged once, as an error, with the system's words for it */
    assert_int_equal(log_count(&l, "storage.fault"), 1);
    const json_t *f = l.v[log_find(&l, 0, "storage.fault", NULL)];
    assert_string_equal(str_of(f, "level"), "error");
    assert_non_null(strstr(str_of(f, "msg"), "No space left on device"));
    assert_non_null(strstr(str_of(f, "msg"), "injected fault (enospc)"));
    assert_null(strstr(str_of(f, "msg"), tok)); /* never a secret */
    assert_int_equal(log_count(&l, "storage.recovered"), 0);
    log_free(&l);

    /* nothing of the approvals was applied or audited */
    json_t *recs = audit_records(s);
    assert_int_equal(json_array_size(recs), 1); /* the propose of the first run */
    assert_null(audit_for(recs, corr1));
    json_decref(recs);
    snprintf(path, sizeof path, "/registry/proposals/%s", id);
    assert_int_equal(http_get(s, path, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "approvals")), 0);
    http_resp_free(&r);
    free(a0);
    free(a1);
    free(tok);
}

/* ---------------------------------------------------------------------------------------- */
/* concurrent writes right after a fault                                                      */

#define BURST 8

typedef struct burst_req {
    const srv *s;
    const char *tok;
    char *body;
    char corr[27];
    long status;
    char code[32], reason[48];
} burst_req;

static void *burst_main(void *arg)
{
    burst_req *q = arg;
    http_resp r;
    if (post_corr(q->s, "/registry/proposals", q->tok, q->body, q->corr, &r) == 0) {
        q->status = r.status;
        snprintf(q->code, sizeof q->code, "%s", http_err_code(&r));
        snprintf(q->reason, sizeof q->reason, "%s", err_reason(&r));
    }
    http_resp_free(&r);
    return NULL;
}

static void test_no_write_is_accepted_while_storage_is_down_but_one_probe(void **state)
{
    srv *s = *state;
    const char *env[] = {"SVCR_FAULT_INJECT=enospc:1", NULL};
    srv_start_env(s, NULL, env, NULL);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    char *body = srv_next_propose_body(s, "first");
    char corr0[27];
    ulid_new(corr0);
    http_resp r;
    assert_int_equal(post_corr(s, "/registry/proposals", tok, body, corr0, &r), 0);
    assert_storage_not_ready(&r);
    http_resp_free(&r);
    free(body);
    assert_false(write_ready(s));

    /* a burst: the committer may take several of these in one transaction, but while the
     * plane is down a transaction admits one of them (the probe); the others get 503 */
    burst_req q[BURST];
    pthread_t th[BURST];
    for (int i = 0; i < BURST; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "burst-%d", i);
        q[i] = (burst_req){.s = s, .tok = tok, .body = srv_next_propose_body(s, tag)};
        ulid_new(q[i].corr);
    }
    for (int i = 0; i < BURST; i++)
        assert_int_equal(pthread_create(&th[i], NULL, burst_main, &q[i]), 0);
    int accepted = 0;
    for (int i = 0; i < BURST; i++) {
        pthread_join(th[i], NULL);
        if (q[i].status == 202)
            accepted++;
        else if (q[i].status != 503 || strcmp(q[i].code, "NotReady") != 0 ||
                 strcmp(q[i].reason, "storage") != 0)
            fail_msg("burst %d: answered %ld %s %s", i, q[i].status, q[i].code, q[i].reason);
    }
    assert_true(accepted >= 1); /* the probe found the storage healthy again */
    assert_true(write_ready(s));

    log_lines l;
    log_load(s, &l);
    assert_logged_as_answered(s, &l, "governance.propose", corr0, 503, "NotReady");
    for (int i = 0; i < BURST; i++)
        assert_logged_as_answered(s, &l, "governance.propose", q[i].corr, q[i].status,
                                  q[i].status == 202 ? NULL : "NotReady");
    /* in the log's order: the fault, then the recovery, and no acceptance in between */
    long down = log_find(&l, 0, "storage.fault", NULL);
    long up = log_find(&l, 0, "storage.recovered", NULL);
    assert_true(down >= 0);
    assert_true(up > down);
    assert_int_equal(log_count(&l, "storage.fault"), 1);
    for (long i = down; i < up; i++)
        if (strncmp(str_of(l.v[i], "event"), "governance.", 11) == 0 &&
            strcmp(str_of(l.v[i], "msg"), "accepted") == 0)
            fail_msg("a write was accepted while storage was down: %s", str_of(l.v[i], "corr_id"));
    log_free(&l);

    /* the audit agrees with the answers: accepted exactly for the 202s */
    json_t *recs = audit_records(s);
    assert_null(audit_for(recs, corr0)); /* its transaction failed: nothing stored */
    for (int i = 0; i < BURST; i++) {
        const json_t *a = audit_for(recs, q[i].corr);
        if (q[i].status == 202) {
            assert_non_null(a);
            assert_string_equal(str_of(a, "decision"), "accepted");
        } else if (a) { /* refused beside the probe, in a transaction that committed */
            assert_string_equal(str_of(a, "decision"), "rejected");
            assert_string_equal(str_of(a, "err_code"), "NotReady");
            assert_string_equal(str_of(a, "reason"), "storage");
        }
    }
    json_decref(recs);
    for (int i = 0; i < BURST; i++)
        free(q[i].body);
    free(tok);
}

/* ---------------------------------------------------------------------------------------- */
/* the same rule for a caller that stopped waiting                                            */

static void test_a_write_answered_timeout_is_logged_as_timeout(void **state)
{
    srv *s = *state;
    /* a 1 ms write deadline: some writes are answered Timeout before the committer is done */
    const char *extra[] = {"--write-timeout", "1ms", NULL};
    srv_start(s, extra);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    int timeouts = 0, i;
    for (i = 0; i < 300 && timeouts < 3; i++) {
        char tag[32], corr[27];
        snprintf(tag, sizeof tag, "deadline-%d", i);
        ulid_new(corr);
        char *body = srv_next_propose_body(s, tag);
        http_resp r;
        assert_int_equal(post_corr(s, "/registry/proposals", tok, body, corr, &r), 0);
        free(body);
        if (r.status != 202 && strcmp(http_err_code(&r), "Timeout") != 0)
            fail_msg("answered %ld %s", r.status, r.body.data);
        long status = r.status;
        timeouts += status != 202;
        http_resp_free(&r);
        /* the committer logs the op once it is done, possibly after the answer was sent */
        log_lines l;
        for (int k = 0; k < 500; k++) {
            log_load(s, &l);
            if (log_find(&l, 0, "governance.propose", corr) >= 0)
                break;
            log_free(&l);
            usleep(10000);
        }
        assert_logged_as_answered(s, &l, "governance.propose", corr, status,
                                  status == 202 ? NULL : "Timeout");
        if (status != 202)
            assert_non_null(strstr(str_of(l.v[log_find(&l, 0, "governance.propose", corr)], "msg"),
                                   "answered Timeout; the operation then completed: accepted"));
        log_free(&l);
    }
    print_message("# %d of %d writes were answered Timeout\n", timeouts, i);
    assert_true(timeouts > 0);
    free(tok);
}

/* A read the disk fails (EIO) gets a typed 503, nothing is cached or half-served, and the next
 * read of the same thing is whole: the process keeps serving. */
static void test_a_failed_read_is_a_typed_503_and_the_next_read_is_whole(void **state)
{
    srv *s = *state;
    srv_start(s, NULL);
    char id[27], b3[68], path[96];
    srv_cycle(s, "read-fault", id, b3);
    http_resp good;
    assert_int_equal(http_get(s, "/registry/1", &good), 0);
    assert_int_equal(good.status, 200);
    assert_int_equal(srv_stop(s), 0);

    const char *env[] = {"SVCR_FAULT_INJECT=read:1", NULL};
    srv_start_env(s, NULL, env, NULL);
    http_resp r;
    assert_int_equal(http_get(s, "/registry/1", &r), 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(http_err_code(&r), "NotReady");
    char cc[128] = "";
    http_header(&r, "Cache-Control", cc, sizeof cc);
    assert_null(strstr(cc, "immutable"));
    http_resp_free(&r);
    assert_int_equal(http_get(s, "/registry/1", &r), 0); /* the fault is spent */
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, good.body.len);
    assert_memory_equal(r.body.data, good.body.data, good.body.len);
    http_resp_free(&r);
    snprintf(path, sizeof path, "/registry/proposals/%s", id);
    assert_int_equal(http_get(s, path, &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    http_resp_free(&good);
    (void)b3;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_failed_read_is_a_typed_503_and_the_next_read_is_whole, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_writes_failed_by_a_full_disk_are_logged_as_answered,
                                        srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(
            test_no_write_is_accepted_while_storage_is_down_but_one_probe, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_a_write_answered_timeout_is_logged_as_timeout,
                                        srv_setup, srv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
