/* test_oom.c - allocation failures through the real binary (SVCR_FAULT_INJECT=oom:COUNT[@SKIP],
 * D55): while the fault is armed every request still gets an answer (its normal one, or a 503
 * that is a NotReady envelope or, when even that could not be allocated, an empty body), never
 * a crash, a reset or a hang; nothing is half-written (the store verifies, the audit reads, a
 * governance cycle commits); once COUNT allocations have failed the process serves normally. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/harness.h"
#include "helpers/raw.h"

/* The requests of a round. */
enum { REQ_PROPOSE, REQ_HEAD, REQ_READYZ, REQ_AUDIT, REQ_COUNT };

/* What the rounds of requests saw. */
typedef struct oom_tally {
    unsigned failed_by[REQ_COUNT]; /* per request kind, answers that were not the normal one */
    unsigned normal;               /* answered as without the fault */
    unsigned failed;    /* a 503: NotReady envelope, or empty when the envelope failed too */
    unsigned enveloped; /* of those, how many carried the NotReady envelope */
    unsigned known;     /* answers of the known defect below */
} oom_tally;

/* A request body that cannot be stored for want of memory is the server's trouble: it used to
 * be answered 413 PayloadTooLarge (take_chunk marked it too large); it is a 503 now, so a 413
 * under the fault fails the test like any other wrong answer. t->known stays 0. */
static int known_defect(const char *what, const http_resp *r, oom_tally *t)
{
    (void)what;
    (void)r;
    (void)t;
    return 0;
}

/* One answer under the fault: `ok` is the status it has without the fault. Fails the test on
 * anything but that status or a 503 (NotReady envelope, /readyz's not-ready document, or no
 * body at all), and on a transport error (a crash or a reset). Returns 1 when it was the normal
 * answer. SVCR_OOM_VERBOSE=1 prints every answer that was not. */
static int check_answer(int kind, const char *what, int rc, const http_resp *r, long ok,
                        oom_tally *t)
{
    if (rc != 0)
        fail_msg("%s: no answer (transport error): the server crashed or reset", what);
    if (r->status == ok) {
        t->normal++;
        return 1;
    }
    t->failed_by[kind]++;
    if (getenv("SVCR_OOM_VERBOSE"))
        print_message("# %s: %ld %.160s\n", what, r->status, r->body.data ? r->body.data : "");
    if (known_defect(what, r, t))
        return 0;
    if (r->status != 503)
        fail_msg("%s: answered %ld under an allocation fault (want %ld or 503): %.200s", what,
                 r->status, ok, r->body.data ? r->body.data : "");
    t->failed++;
    if (r->body.len == 0)
        return 0;
    if (strcmp(what, "GET /readyz") == 0 && r->json &&
        json_is_false(json_object_get(r->json, "ready"))) {
        /* its own 503 document: a write transaction that ran out of memory took the write
         * plane down as "storage" until the next one commits (D30's probe) */
        t->enveloped++;
        return 0;
    }
    if (!r->json || strcmp(http_err_code(r), "NotReady") != 0)
        fail_msg("%s: a 503 whose body is not a NotReady envelope: %.200s", what, r->body.data);
    t->enveloped++;
    return 0;
}

/* One round: a proposal POST, GET /registry/head, /readyz, /registry/audit. Returns 1 when all
 * four were answered normally. */
static int oom_round(srv *s, const char *tok, unsigned round, oom_tally *t)
{
    char tag[32];
    snprintf(tag, sizeof tag, "oom-%u", round);
    char *body = srv_next_propose_body(s, tag);
    http_resp r;
    int all = 1;
    int rc = http_post(s, "/registry/proposals", tok, body, &r);
    all &= check_answer(REQ_PROPOSE, "POST /registry/proposals", rc, &r, 202, t);
    http_resp_free(&r);
    free(body);
    rc = http_get(s, "/registry/head", &r);
    all &= check_answer(REQ_HEAD, "GET /registry/head", rc, &r, 200, t);
    if (r.status == 200) /* a HEAD answered is whole */
        assert_non_null(json_object_get(r.json, "payload_b3"));
    http_resp_free(&r);
    rc = http_get(s, "/readyz", &r);
    all &= check_answer(REQ_READYZ, "GET /readyz", rc, &r, 200, t);
    http_resp_free(&r);
    rc = http_get(s, "/registry/audit?limit=1000", &r);
    all &= check_answer(REQ_AUDIT, "GET /registry/audit", rc, &r, 200, t);
    if (r.status == 200)
        assert_non_null(json_object_get(r.json, "records"));
    http_resp_free(&r);
    return all;
}

/* svcr verify-store on the data dir (the server stopped): versions, HEAD and the audit chain
 * verify. Returns the exit status; the CLI's output is appended to `out` when not NULL. */
static int verify_store_out(const srv *s, buf *out)
{
    const char *argv[] = {srv_cli_bin(), "verify-store", s->data_dir, NULL};
    buf o = {0};
    int st = run_to_exit(argv, &o, 30);
    if (st != 0)
        print_message("# verify-store %s -> %d: %s\n", s->data_dir, st, o.data);
    if (out)
        buf_puts(out, o.data);
    buf_free(&o);
    return st;
}

/* audit_record_build used to store a record without a member whose allocation failed (no seq,
 * no prev: the chain broke). It refuses the record now, so the store must verify after every
 * position of the walk; no failure of verify-store is tolerated. */
static int known_audit_defect(const buf *verify_out)
{
    (void)verify_out;
    return 0;
}

/* Fails the test unless the stopped store verifies or fails only by the known audit defect
 * (then counted in *defects, and 1 is returned: the caller starts over on a fresh store). */
static int assert_store_verifies(const srv *s, unsigned *defects, const char *after)
{
    buf vo = {0};
    int st = verify_store_out(s, &vo);
    int known = st != 0 && known_audit_defect(&vo);
    buf_free(&vo);
    if (st != 0 && !known)
        fail_msg("the store does not verify after %s", after);
    *defects += (unsigned)known;
    return known;
}

/* The registry under oom:count, from a store with one committed version: rounds of requests
 * until one is answered normally throughout (at most 200), then the checks of the header
 * comment. Returns the tally of the rounds. */
static oom_tally run_under_oom(int count)
{
    srv s;
    srv_prepare(&s, 3, 2);
    srv_start(&s, NULL);
    assert_int_equal(srv_cycle(&s, "before", NULL, NULL), 1);
    assert_int_equal(srv_stop(&s), 0);

    char env0[64];
    snprintf(env0, sizeof env0, "SVCR_FAULT_INJECT=oom:%d", count);
    const char *env[] = {env0, NULL};
    srv_start_env(&s, NULL, env, NULL);
    char *tok = srv_token(&s, "registry:propose registry:approve registry:commit", 600, NULL, NULL);
    oom_tally t = {0};
    unsigned round = 0;
    while (!oom_round(&s, tok, round, &t))
        if (++round >= 200)
            fail_msg("oom:%d: still failing after 200 rounds", count);
    /* spent: everything is normal again, and the writes still work end to end */
    for (unsigned i = 0; i < 3; i++)
        assert_true(oom_round(&s, tok, 1000 + i, &t));
    uint64_t v = srv_cycle(&s, "after", NULL, NULL);
    assert_int_equal(v, 2);
    assert_int_equal(srv_head_version(&s, NULL), 2);
    free(tok);
    assert_int_equal(srv_stop(&s), 0); /* a clean exit: nothing crashed or hung */
    unsigned defects = 0;
    char after[64];
    snprintf(after, sizeof after, "oom:%d", count);
    assert_store_verifies(&s, &defects, after);
    t.known += defects;

    /* the store reopens (its startup verification passes) and serves the same HEAD */
    srv_start(&s, NULL);
    assert_int_equal(srv_head_version(&s, NULL), 2);
    assert_int_equal(srv_finish(&s), 0);
    return t;
}

/* Prints what the requests of one run saw and adds it to *sum. */
static void tally_add(oom_tally *sum, const oom_tally *t, const char *spec)
{
    print_message("# %s: %u normal, %u failed (%u with a typed body, %u known defect); "
                  "failed: propose %u, head %u, readyz %u, audit %u\n",
                  spec, t->normal, t->failed, t->enveloped, t->known, t->failed_by[REQ_PROPOSE],
                  t->failed_by[REQ_HEAD], t->failed_by[REQ_READYZ], t->failed_by[REQ_AUDIT]);
    sum->normal += t->normal;
    sum->failed += t->failed;
    sum->enveloped += t->enveloped;
    sum->known += t->known;
    for (int k = 0; k < REQ_COUNT; k++)
        sum->failed_by[k] += t->failed_by[k];
}

/* A handful of failed allocations: the harness's probe or an early request absorbs them;
 * whatever got them, the registry answers and recovers. */
static void test_a_few_failed_allocations_leave_the_registry_serving(void **state)
{
    (void)state;
    static const int counts[] = {1, 3, 10};
    oom_tally sum = {0};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        oom_tally t = run_under_oom(counts[i]);
        char spec[32];
        snprintf(spec, sizeof spec, "oom:%d", counts[i]);
        tally_add(&sum, &t, spec);
    }
}

/* More failed allocations, in a sweep so that each kind of request runs out in some run: the
 * proposal POST, HEAD, /readyz and the audit get a 503 (never a 400 for a body that was fine,
 * never a crash), and the registry recovers. */
static void test_requests_out_of_memory_get_a_503_and_the_registry_recovers(void **state)
{
    (void)state;
    static const int counts[] = {30, 100, 300, 1000, 3000};
    oom_tally sum = {0};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        oom_tally t = run_under_oom(counts[i]);
        char spec[32];
        snprintf(spec, sizeof spec, "oom:%d", counts[i]);
        tally_add(&sum, &t, spec);
    }
    assert_true(sum.failed > 0); /* the fault reached the requests */
}

/* One failed allocation (oom:1@SKIP), walked through the allocations of the first requests one
 * position after another on the same store: wherever it lands (the body, the JSON parse, the
 * payload's validation, the pipeline, the answer) that request is answered 503 or normally and
 * the next ones normally; at the end the store verifies and a governance cycle commits. */
static void test_one_failed_allocation_anywhere_in_a_request_is_answered(void **state)
{
    (void)state;
    srv s;
    srv_prepare(&s, 3, 2);
    srv_start(&s, NULL);
    char *tok = srv_token(&s, "registry:propose registry:approve registry:commit", 600, NULL, NULL);
    oom_tally sum = {0};
    unsigned audit_defects = 0;
    for (int skip = 0; skip <= 360; skip += 4) {
        char env0[64];
        snprintf(env0, sizeof env0, "SVCR_FAULT_INJECT=oom:1@%d", skip);
        const char *env[] = {env0, NULL};
        assert_int_equal(srv_stop(&s), 0);
        char after[64];
        snprintf(after, sizeof after, "oom:1@%d", skip - 4);
        if (assert_store_verifies(&s, &audit_defects, after)) {
            srv_cleanup(&s); /* on with a store that verifies */
            srv_prepare(&s, 3, 2);
            free(tok);
            tok =
                srv_token(&s, "registry:propose registry:approve registry:commit", 600, NULL, NULL);
        }
        srv_start_env(&s, NULL, env, NULL);
        oom_tally t = {0};
        for (unsigned round = 0; round < 3; round++) /* the one failure lands in these */
            oom_round(&s, tok, (unsigned)skip * 10 + round, &t);
        assert_true(t.failed <= 2); /* one allocation: its request, and /readyz's "storage" */
        for (unsigned round = 3; round < 5; round++) /* and then nothing is left of it */
            assert_true(oom_round(&s, tok, (unsigned)skip * 10 + round, &t));
        if (t.failed)
            tally_add(&sum, &t, env0 + strlen("SVCR_FAULT_INJECT="));
    }
    print_message("# in all: %u failed, propose %u (%u the known 413), readyz %u, audit %u; "
                  "%u known half-written audit record(s)\n",
                  sum.failed, sum.failed_by[REQ_PROPOSE], sum.known, sum.failed_by[REQ_READYZ],
                  sum.failed_by[REQ_AUDIT], audit_defects);
    /* the failure reached the proposal's processing past its body, not only the body */
    assert_true(sum.failed_by[REQ_PROPOSE] > sum.known);
    assert_int_equal(srv_stop(&s), 0);
    if (assert_store_verifies(&s, &audit_defects, "the last position")) {
        srv_cleanup(&s);
        srv_prepare(&s, 3, 2);
    }
    srv_start(&s, NULL);
    assert_int_equal(srv_cycle(&s, "after-walk", NULL, NULL), 1);
    free(tok);
    assert_int_equal(srv_stop(&s), 0);
    assert_int_equal(verify_store_out(&s, NULL), 0);
    srv_start(&s, NULL);
    assert_int_equal(srv_head_version(&s, NULL), 1);
    assert_int_equal(srv_finish(&s), 0);
}

/* A proposal for HEAD+1 with the approvals of signers 0 and 1, ready to commit (no fault). */
static void propose_approved(srv *s, const char *tok, const char *tag, char id[27])
{
    char b3[68], path[96];
    srv_propose(s, tag, tok, id, b3);
    snprintf(path, sizeof path, "/registry/approvals/%s", id);
    for (size_t i = 0; i < 2; i++) {
        char *ab = fx_approval_body(&s->gov, i, b3, 0);
        http_resp r;
        assert_int_equal(http_post(s, path, tok, ab, &r), 0);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
        free(ab);
    }
}

/* One failed allocation walked through a commit (the committer's transaction, the new HEAD
 * snapshot and its JSON, the audit record, the answer): the commit is answered 201 or 503; a
 * 503 commit is retried and then commits (or says it already did); HEAD moves by exactly one
 * and is whole; the store verifies after every position. */
static void test_one_failed_allocation_anywhere_in_a_commit_is_answered(void **state)
{
    (void)state;
    srv s;
    srv_prepare(&s, 3, 2);
    srv_start(&s, NULL);
    char *tok = srv_token(&s, "registry:propose registry:approve registry:commit", 600, NULL, NULL);
    unsigned failed = 0, audit_defects = 0;
    for (int skip = 0; skip <= 120; skip += 3) {
        char id[27], path[96], tag[32], env0[64];
        snprintf(tag, sizeof tag, "commit-%d", skip);
        propose_approved(&s, tok, tag, id);
        uint64_t before = srv_head_version(&s, NULL);
        assert_int_equal(srv_stop(&s), 0);
        char after[64];
        snprintf(after, sizeof after, "the commit before oom:1@%d", skip);
        if (assert_store_verifies(&s, &audit_defects, after)) {
            srv_cleanup(&s); /* on with a store that verifies */
            srv_prepare(&s, 3, 2);
            srv_start(&s, NULL);
            free(tok);
            tok =
                srv_token(&s, "registry:propose registry:approve registry:commit", 600, NULL, NULL);
            propose_approved(&s, tok, tag, id);
            before = srv_head_version(&s, NULL);
            assert_int_equal(srv_stop(&s), 0);
        }
        snprintf(env0, sizeof env0, "SVCR_FAULT_INJECT=oom:1@%d", skip);
        const char *env[] = {env0, NULL};
        srv_start_env(&s, NULL, env, NULL);
        snprintf(path, sizeof path, "/registry/commit/%s", id);
        http_resp r;
        oom_tally t = {0};
        int rc = http_post(&s, path, tok, "", &r);
        int done = check_answer(REQ_PROPOSE, "POST /registry/commit", rc, &r, 201, &t);
        http_resp_free(&r);
        if (!done) { /* the fault is spent: the retry commits, or finds it committed */
            failed++;
            assert_int_equal(http_post(&s, path, tok, "", &r), 0);
            if (r.status != 201 && r.status != 200)
                fail_msg("oom:1@%d: the retried commit answered %ld: %.200s", skip, r.status,
                         r.body.data ? r.body.data : "");
            http_resp_free(&r);
        }
        char b3[68];
        assert_int_equal(srv_head_version(&s, b3), before + 1);
        assert_int_equal(strncmp(b3, "b3:", 3), 0);
        for (unsigned round = 0; round < 2; round++) /* nothing is left of the fault */
            assert_true(oom_round(&s, tok, (unsigned)skip * 10 + round, &t));
    }
    print_message("# commits: %u answered 503 and retried; %u known half-written audit "
                  "record(s)\n",
                  failed, audit_defects);
    assert_true(failed > 0); /* the walk went through the commit's allocations */
    free(tok);
    assert_int_equal(srv_stop(&s), 0);
    assert_store_verifies(&s, &audit_defects, "the last commit");
    srv_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_few_failed_allocations_leave_the_registry_serving),
        cmocka_unit_test(test_requests_out_of_memory_get_a_503_and_the_registry_recovers),
        cmocka_unit_test(test_one_failed_allocation_anywhere_in_a_request_is_answered),
        cmocka_unit_test(test_one_failed_allocation_anywhere_in_a_commit_is_answered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
