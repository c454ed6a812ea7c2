/* test_crash.c - crash safety: a child process commits governance cycles (LMDB, fsync on) and is
 * SIGKILLed at a random moment; the store must then hold every acknowledged version, verify end
 * to end, and show no partial state. Rounds continue on the same store.
 *
 * SVCR_CRASH_SEED (decimal) replays a run; SVCR_CRASH_ROUNDS changes the number of rounds. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "governance/store_verify.h"
#include "helpers/gov_fixture.h"
#include "helpers/testutil.h"
#include "interop/jcs.h"
#include "observability/log.h"

#define CRASH_ROUNDS 24
#define CRASH_MIN_MS 20
#define CRASH_MAX_MS 350

/* Child exit statuses: it should only ever die of SIGKILL. */
enum { CHILD_OPEN = 10, CHILD_PIPELINE, CHILD_NOT_WRITABLE, CHILD_CYCLE, CHILD_HEAD, CHILD_PIPE };

typedef struct crash_world {
    char *dir;
    fx_keys a, b; /* version v declares b when v is odd, a when even; a are the trust roots */
} crash_world;

/* The signer set version v declares (version 0: the trust roots). */
static const fx_keys *declared(const crash_world *w, uint64_t v)
{
    return v % 2 ? &w->b : &w->a;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_full(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = write(fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* One governance cycle for HEAD+1. A proposal with the same payload may be pending already, with
 * approvals, left by a child killed mid-cycle: its approvals count (duplicates are fine). */
static svcr_code cycle(pipeline *p, const fx_keys *gov, const fx_keys *next, int extra)
{
    head_snap *h = pipeline_head(p);
    char *payload = fx_payload_json(h->version + 1, h->payload_b3, next, extra, NULL, NULL);
    head_snap_release(h);
    char b3[68], id[27];
    svcr_code c = fx_propose(p, payload, b3, id, NULL);
    free(payload);
    for (size_t i = 0; c == SVCR_OK && i < gov->m; i++) {
        c = fx_approve(p, id, gov, i, b3);
        if (c == SVCR_E_DUPLICATE_APPROVAL)
            c = SVCR_OK;
    }
    return c == SVCR_OK ? fx_commit(p, id, NULL) : c;
}

/* The child: continue the chain from HEAD, one cycle after another (signer set rotating at every
 * version, a rejected commit now and then), reporting each version right after its 201. Never
 * returns; uses no cmocka assertion on its own paths (a failure is an exit status). */
static void crash_child(const crash_world *w, int fd) __attribute__((noreturn));
static void crash_child(const crash_world *w, int fd)
{
    store *st = NULL;
    store_open_opts so = {.data_dir = w->dir, .fsync = 1};
    if (store_lmdb_open(&so, &st, NULL, 0) != STORE_OK)
        _exit(CHILD_OPEN);
    char *roots = fx_signer_set_json(&w->a);
    pipeline_opts o = {.st = st,
                       .queue_cap = 64,
                       .trust_roots = roots,
                       .trust_roots_len = strlen(roots),
                       .verify_last_k = 8};
    pipeline *p = NULL;
    svcr_err e;
    if (pipeline_open(&o, &p, &e) != SVCR_OK)
        _exit(CHILD_PIPELINE);
    pipeline_status ps;
    pipeline_get_status(p, &ps);
    if (!ps.write_ready)
        _exit(CHILD_NOT_WRITABLE);
    for (uint64_t i = 0;; i++) {
        head_snap *h = pipeline_head(p);
        uint64_t v = h->version;
        head_snap_release(h);
        if (i % 5 == 4) /* audited as a rejection; no version */
            fx_commit(p, "p_000000000000000000000000", NULL);
        if (cycle(p, declared(w, v), declared(w, v + 1), (int)(i % 3)) != SVCR_OK)
            _exit(CHILD_CYCLE);
        h = pipeline_head(p);
        uint64_t now = h->version;
        head_snap_release(h);
        if (now != v + 1)
            _exit(CHILD_HEAD);
        if (write_full(fd, &now, sizeof now) != 0)
            _exit(CHILD_PIPE);
    }
}

/* Reads acknowledgements until the deadline, then kills the child and drains what it wrote
 * before it died. Returns the last acknowledged version (0: none) and the child's status. */
static uint64_t run_and_kill(int fd, pid_t pid, int64_t deadline, int *status, int *acks)
{
    uint64_t last = 0;
    uint8_t pending[sizeof(uint64_t)];
    size_t have = 0;
    int killed = 0;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (!killed && left <= 0) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, killed ? 1000 : (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            continue;
        ssize_t k = read(fd, pending + have, sizeof pending - have);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) /* EOF: the child is gone (killed, or it exited on its own) */
            break;
        have += (size_t)k;
        if (have == sizeof pending) {
            memcpy(&last, pending, sizeof last);
            (*acks)++;
            have = 0;
        }
    }
    if (!killed)
        kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return last;
}

typedef struct commit_scan {
    uint64_t max_version; /* highest version of an accepted commit record */
    uint64_t records;
} commit_scan;

static int scan_commit(void *vctx, uint64_t seq, const void *data, size_t len)
{
    commit_scan *c = vctx;
    (void)seq;
    json_t *j = jcs_parse(data, len, 0, NULL);
    const char *ev = json_string_value(json_object_get(j, "event"));
    const char *dec = json_string_value(json_object_get(j, "decision"));
    if (ev && dec && strcmp(ev, "commit") == 0 && strcmp(dec, "accepted") == 0) {
        uint64_t v = (uint64_t)json_number_value(json_object_get(j, "version"));
        if (v > c->max_version)
            c->max_version = v;
    }
    c->records++;
    json_decref(j);
    return 0;
}

/* The store after a crash: whole-chain verification passes, and the last accepted commit in the
 * audit trail is HEAD (the version, HEAD and the audit record went in one transaction). Returns
 * HEAD. */
static uint64_t check_store(const char *dir, int round)
{
    store *st = NULL;
    char err[256];
    store_open_opts so = {.data_dir = dir, .read_only = 1};
    assert_int_equal(store_lmdb_open(&so, &st, err, sizeof err), STORE_OK);
    store_verify_result r;
    if (store_verify_all(st, NULL, &r) != STORE_VERIFY_OK)
        fail_msg("round %d: verification failed: %s", round, r.message);
    assert_int_equal(r.versions_verified, r.head_version);
    assert_int_equal(r.audit_verified, r.audit_records);
    for (uint64_t v = 1; v <= r.head_version; v++) {
        uint8_t h[B3_LEN];
        assert_int_equal(st->ops->get_artifact_hash(st, v, h), STORE_OK);
    }
    commit_scan c = {0};
    assert_int_equal(st->ops->iter_audit(st, 1, scan_commit, &c), STORE_OK);
    assert_int_equal(c.records, r.audit_records);
    assert_int_equal(c.max_version, r.head_version);
    st->ops->close(st);
    return r.head_version;
}

static void test_sigkill_during_commits_keeps_every_acknowledged_version(void **state)
{
    (void)state;
    crash_world w;
    w.dir = fx_tempdir();
    fx_keys_make(&w.a, 3, 2, 1);
    fx_keys_make(&w.b, 4, 3, 2);
    const char *env = getenv("SVCR_CRASH_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 20261125;
    env = getenv("SVCR_CRASH_ROUNDS");
    int rounds = env ? atoi(env) : CRASH_ROUNDS;
    printf("# crash seed %llu, %d rounds\n", (unsigned long long)seed, rounds);
    store *st = NULL; /* created here, closed before any child runs */
    store_open_opts so = {.data_dir = w.dir, .fsync = 1};
    assert_int_equal(store_lmdb_open(&so, &st, NULL, 0), STORE_OK);
    st->ops->close(st);
    uint64_t rng = seed, head = 0;
    int total_acks = 0, early = 0;
    for (int round = 0; round < rounds; round++) {
        int fds[2];
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        int64_t delay = CRASH_MIN_MS + (int64_t)(tu_rand(&rng) % (CRASH_MAX_MS - CRASH_MIN_MS));
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(&w, fds[1]);
        }
        close(fds[1]);
        int status = 0, acks = 0;
        uint64_t acked = run_and_kill(fds[0], pid, now_ms() + delay, &status, &acks);
        close(fds[0]);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("round %d: the child did not die of SIGKILL (status %d, exit %d)", round,
                     status, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        uint64_t now = check_store(w.dir, round);
        if (now < acked)
            fail_msg("round %d: HEAD %llu is behind the acknowledged version %llu", round,
                     (unsigned long long)now, (unsigned long long)acked);
        assert_true(now >= head);
        early += acks == 0;
        total_acks += acks;
        head = now;
    }
    printf("# %d rounds: HEAD %llu, %d acknowledged commits, %d rounds killed before the first\n",
           rounds, (unsigned long long)head, total_acks, early);
    assert_true(head > 0);

    /* A registry opening the crashed store verifies all of it and is writable. */
    assert_int_equal(store_lmdb_open(&so, &st, NULL, 0), STORE_OK);
    pipeline *p = fx_pipeline(st, &w.a, 1u << 20);
    pipeline_status ps;
    pipeline_get_status(p, &ps);
    assert_false(ps.chain_fault);
    assert_true(ps.write_ready);
    assert_int_equal(cycle(p, declared(&w, head), declared(&w, head + 1), 0), SVCR_OK);
    pipeline_close(p);
    st->ops->close(st);
    fx_rmrf(w.dir);
    free(w.dir);
}

int main(void)
{
    log_configure(1, LOG_WARN); /* every audited write logs at info: keep stderr readable */
    crypto_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_during_commits_keeps_every_acknowledged_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
