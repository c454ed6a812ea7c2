/* test_store_verify.c - whole-store verification (store_verify_all) over a real LMDB store built
 * through the pipeline, tampering with the stored bytes through liblmdb directly, and history
 * written past validation in which one key approved twice (startup and background verification
 * of the same stores too).
 *
 * With SVCR_MAKE_STORE=DIR in the environment the binary only builds such a store in DIR
 * (SVCR_MAKE_STORE_VERSIONS versions, default 12) and exits 0: tests/integration/verify_store.sh
 * uses that. */
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
#include <lmdb.h>

#include "governance/artifact.h"
#include "governance/chain_verify.h"
#include "governance/store_verify.h"
#include "helpers/gov_fixture.h"
#include "observability/log.h"

#define SMALL_VERSIONS 8
#define BIG_VERSIONS 520 /* more than two verification ranges of versions (and of audit) */

static const write_ctx wctx = {.corr_id = "01JDTESTCORRELATION0000002"};

/* What the builder made. */
typedef struct built {
    uint64_t versions;
    uint64_t rotation;      /* the version whose payload declares the second signer set */
    uint64_t audit_records; /* operations the builder sent (each one is audited) */
    fx_keys a, b;           /* the trust roots, and the set declared at `rotation` */
} built;

typedef struct world {
    char *root;      /* temp dir holding everything */
    char small[512]; /* pristine stores, never modified */
    char big[512];
    built small_info, big_info;
    char work[512]; /* the copy a test may tamper with */
    int copies;
} world;

/* --- building a store through the pipeline ------------------------------------------------ */

/* Proposes HEAD+1 declaring `next`; fills b3 and id. */
static void propose_next(pipeline *p, const fx_keys *next, int extra, char b3[68], char id[27])
{
    head_snap *h = pipeline_head(p);
    char *payload = fx_payload_json(h->version + 1, h->payload_b3, next, extra, NULL, NULL);
    head_snap_release(h);
    assert_int_equal(fx_propose(p, payload, b3, id, NULL), SVCR_OK);
    free(payload);
}

/* Builds `versions` (>= 4) versions in dir: version 1 by hand with rejections (a malformed
 * proposal, a commit without quorum, an unknown signer, a duplicate approval), a signer rotation
 * declared at version 3 (3-of-4 new keys govern from version 4), another rejection after it. */
static void build_store(const char *dir, uint64_t versions, built *out)
{
    assert_true(versions >= 4);
    store *st = NULL;
    store_open_opts so = {.data_dir = dir};
    char err[256];
    assert_int_equal(store_lmdb_open(&so, &st, err, sizeof err), STORE_OK);
    fx_keys a, b, other;
    fx_keys_make(&a, 3, 2, 1);
    fx_keys_make(&b, 4, 3, 2);
    fx_keys_make(&other, 1, 1, 9);
    pipeline *p = fx_pipeline(st, &a, 1000);
    uint64_t ops = 0;
    pipeline_result r = {0};
    pipeline_propose(p, &wctx, "not json", 8, &r);
    assert_int_equal(r.code, SVCR_E_MALFORMED);
    pipeline_result_free(&r);
    ops++;

    char b3[68], id[27];
    propose_next(p, &a, 2, b3, id);
    assert_int_equal(fx_commit(p, id, NULL), SVCR_E_QUORUM_FAILED);
    assert_int_equal(fx_approve(p, id, &other, 0, b3), SVCR_E_UNKNOWN_SIGNER);
    assert_int_equal(fx_approve(p, id, &a, 0, b3), SVCR_OK);
    assert_int_equal(fx_approve(p, id, &a, 2, b3), SVCR_OK);
    assert_int_equal(fx_approve(p, id, &a, 0, b3), SVCR_E_DUPLICATE_APPROVAL);
    assert_int_equal(fx_commit(p, id, NULL), SVCR_OK);
    ops += 7;

    out->rotation = 3;
    for (uint64_t v = 2; v <= versions; v++) {
        const fx_keys *gov = v > out->rotation ? &b : &a;
        const fx_keys *next = v >= out->rotation ? &b : &a;
        if (v == out->rotation + 1) { /* the old keys are unknown now */
            propose_next(p, next, 2, b3, id);
            assert_int_equal(fx_approve(p, id, &a, 0, b3), SVCR_E_UNKNOWN_SIGNER);
            for (size_t i = 0; i < b.m; i++)
                assert_int_equal(fx_approve(p, id, &b, i, b3), SVCR_OK);
            assert_int_equal(fx_commit(p, id, NULL), SVCR_OK);
            ops += 3 + b.m;
            continue;
        }
        assert_int_equal(fx_cycle(p, gov, next, 2), SVCR_OK);
        ops += 2 + gov->m;
    }
    head_snap *h = pipeline_head(p);
    assert_int_equal(h->version, versions);
    head_snap_release(h);
    pipeline_close(p);
    st->ops->close(st);
    out->versions = versions;
    out->audit_records = ops;
    out->a = a;
    out->b = b;
}

/* --- liblmdb directly, on a store nobody has open ------------------------------------------ */

static void be64(uint64_t v, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

typedef enum lm_op { LM_GET, LM_PUT, LM_DEL } lm_op;

/* One get, put or delete in named DB `db` of the store in dir, in its own env and txn. */
static void lm_do(const char *dir, lm_op op, const char *db, const void *key, size_t klen, buf *val)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, dir, op == LM_GET ? MDB_RDONLY : 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, op == LM_GET ? MDB_RDONLY : 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key}, v;
    if (op == LM_GET) {
        assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
        buf_reset(val);
        assert_int_equal(buf_append(val, v.mv_data, v.mv_size), 0);
        mdb_txn_abort(txn);
    } else {
        v.mv_size = op == LM_PUT ? val->len : 0;
        v.mv_data = op == LM_PUT ? val->data : NULL;
        assert_int_equal(op == LM_PUT ? mdb_put(txn, dbi, &k, &v, 0) : mdb_del(txn, dbi, &k, NULL),
                         0);
        assert_int_equal(mdb_txn_commit(txn), 0);
    }
    mdb_env_close(env);
}

static void lm_seq(const char *dir, lm_op op, const char *db, uint64_t seq, buf *val)
{
    uint8_t kb[8];
    be64(seq, kb);
    lm_do(dir, op, db, kb, sizeof kb, val);
}

/* Changes the byte `off` bytes after the first `find` in `b` (to `to`, or the next letter). */
static void flip_after(buf *b, const char *find, size_t off, char to)
{
    char *p = memmem(b->data, b->len, find, strlen(find));
    assert_non_null(p);
    assert_true((size_t)(p - b->data) + off < b->len);
    char *c = p + off;
    *c = to ? to : (*c == 'A' ? 'B' : 'A');
}

/* Tampers with version v's artifact; `rehash` also stores the new artifact hash, so that the
 * artifact hash check passes and what is inside must catch it. */
static void tamper_artifact(const char *dir, uint64_t v, const char *find, size_t off, char to,
                            int rehash)
{
    buf art = {0};
    lm_seq(dir, LM_GET, "versions", v, &art);
    flip_after(&art, find, off, to);
    lm_seq(dir, LM_PUT, "versions", v, &art);
    if (rehash) {
        buf h = {0};
        assert_int_equal(buf_reserve(&h, B3_LEN), 0);
        b3_hash(art.data, art.len, (uint8_t *)h.data);
        h.len = B3_LEN;
        lm_seq(dir, LM_PUT, "artifact_b3", v, &h);
        buf_free(&h);
    }
    buf_free(&art);
}

/* --- verifying ----------------------------------------------------------------------------- */

static int append_bytes(void *ctx, const void *data, size_t len)
{
    return buf_append(ctx, data, len) == 0 ? 0 : -1;
}

typedef struct progress_seen {
    int calls;
    store_verify_progress last;
} progress_seen;

static void on_progress(void *ctx, const store_verify_progress *p)
{
    progress_seen *s = ctx;
    s->calls++;
    s->last = *p;
}

static int verify_dir(const char *dir, unsigned threads, store_verify_result *r)
{
    store *st = NULL;
    char err[256];
    store_open_opts so = {.data_dir = dir, .read_only = 1};
    assert_int_equal(store_lmdb_open(&so, &st, err, sizeof err), STORE_OK);
    store_verify_opts o = {.threads = threads};
    int v = store_verify_all(st, &o, r);
    st->ops->close(st);
    return v;
}

/* Verification fails, at `version` (0: not a version) / `seq` (0: not audit), with a message
 * containing `what`. */
static void expect_failure(const char *dir, uint64_t version, uint64_t seq, const char *what)
{
    unsigned threads[] = {1, 3};
    for (size_t i = 0; i < 2; i++) {
        store_verify_result r;
        assert_int_equal(verify_dir(dir, threads[i], &r), STORE_VERIFY_FAILED);
        if (!strstr(r.message, what))
            fail_msg("expected \"%s\" in \"%s\"", what, r.message);
        assert_int_equal(r.failed_version, version);
        if (seq)
            assert_int_equal(r.failed_audit_seq, seq);
        if (version)
            assert_int_equal(r.versions_verified, version - 1);
        assert_false(r.storage_error);
    }
}

/* A fresh copy of a pristine store, for tampering. */
static const char *copy_store(world *w, const char *src)
{
    snprintf(w->work, sizeof w->work, "%s/work%d", w->root, w->copies++);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", src, w->work);
    assert_int_equal(system(cmd), 0);
    return w->work;
}

static int group_setup(void **state)
{
    crypto_init();
    world *w = calloc(1, sizeof *w);
    w->root = fx_tempdir();
    snprintf(w->small, sizeof w->small, "%s/small", w->root);
    snprintf(w->big, sizeof w->big, "%s/big", w->root);
    build_store(w->small, SMALL_VERSIONS, &w->small_info);
    build_store(w->big, BIG_VERSIONS, &w->big_info);
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    world *w = *state;
    fx_rmrf(w->root);
    free(w->root);
    free(w);
    return 0;
}

/* --- tests --------------------------------------------------------------------------------- */

static void test_a_built_store_verifies_and_the_counts_match(void **state)
{
    world *w = *state;
    const char *dirs[] = {w->small, w->big};
    const built *info[] = {&w->small_info, &w->big_info};
    for (size_t d = 0; d < 2; d++) {
        for (unsigned threads = 1; threads <= 4; threads += 3) {
            store_verify_result r;
            assert_int_equal(verify_dir(dirs[d], threads, &r), STORE_VERIFY_OK);
            assert_string_equal(r.message, "");
            assert_int_equal(r.head_version, info[d]->versions);
            assert_int_equal(r.versions_verified, info[d]->versions);
            assert_int_equal(r.audit_records, info[d]->audit_records);
            assert_int_equal(r.audit_verified, info[d]->audit_records);
            assert_int_equal(r.failed_version, 0);
            assert_int_equal(r.failed_audit_seq, 0);
            assert_false(r.head_mismatch);
            assert_memory_equal(r.head_b3, "b3:", 3);
            assert_string_not_equal(r.head_b3, B3_ZERO_TAG);
        }
    }
}

static void test_progress_is_reported_with_the_final_totals(void **state)
{
    world *w = *state;
    store *st = NULL;
    store_open_opts so = {.data_dir = w->big, .read_only = 1};
    assert_int_equal(store_lmdb_open(&so, &st, NULL, 0), STORE_OK);
    progress_seen seen = {0};
    store_verify_opts o = {.threads = 2, .progress = on_progress, .progress_ctx = &seen};
    store_verify_result r;
    assert_int_equal(store_verify_all(st, &o, &r), STORE_VERIFY_OK);
    st->ops->close(st);
    assert_true(seen.calls >= 1);
    assert_int_equal(seen.last.versions_done, BIG_VERSIONS);
    assert_int_equal(seen.last.versions_total, BIG_VERSIONS);
    assert_int_equal(seen.last.audit_done, w->big_info.audit_records);
    assert_int_equal(seen.last.audit_total, w->big_info.audit_records);
}

static void test_an_empty_store_verifies_with_zero_versions(void **state)
{
    world *w = *state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/empty", w->root);
    store *st = NULL;
    store_open_opts so = {.data_dir = dir};
    assert_int_equal(store_lmdb_open(&so, &st, NULL, 0), STORE_OK);
    st->ops->close(st);
    store_verify_result r;
    assert_int_equal(verify_dir(dir, 0, &r), STORE_VERIFY_OK);
    assert_int_equal(r.head_version, 0);
    assert_int_equal(r.versions_verified, 0);
    assert_int_equal(r.audit_verified, 0);
    assert_string_equal(r.head_b3, B3_ZERO_TAG);
}

static void test_a_flipped_payload_byte_fails_at_its_version(void **state)
{
    world *w = *state;
    /* the stored artifact hash catches it */
    const char *dir = copy_store(w, w->small);
    tamper_artifact(dir, 5, "https://s0.local", 8, 't', 0);
    expect_failure(dir, 5, 0, "version 5: artifact bytes do not match their stored hash");
    /* with the artifact hash recomputed, the payload hash catches it */
    dir = copy_store(w, w->small);
    tamper_artifact(dir, 5, "https://s0.local", 8, 't', 1);
    expect_failure(dir, 5, 0, "version 5: payload_b3 does not match the payload's hash");
}

static void test_a_flipped_signature_byte_fails_at_its_version(void **state)
{
    world *w = *state;
    /* one version governed by the trust roots, one by the rotated set */
    uint64_t versions[] = {2, w->small_info.rotation + 2};
    for (size_t i = 0; i < 2; i++) {
        const char *dir = copy_store(w, w->small);
        tamper_artifact(dir, versions[i], "\"sig\":\"", 6 + 10, 0, 1);
        char what[96];
        snprintf(what, sizeof what, "version %llu: an approval's signature does not verify",
                 (unsigned long long)versions[i]);
        expect_failure(dir, versions[i], 0, what);
    }
}

static void test_tampering_at_range_boundaries_names_the_first_bad_version(void **state)
{
    world *w = *state;
    /* 1 and 3 threads split 520 versions into ranges of 256: versions 256 and 257 sit on both
     * sides of a boundary, and the range after 256 starts from its (tampered) artifact */
    uint64_t versions[] = {256, 257, BIG_VERSIONS};
    for (size_t i = 0; i < 3; i++) {
        const char *dir = copy_store(w, w->big);
        tamper_artifact(dir, versions[i], "\"sig\":\"", 6 + 20, 0, 1);
        expect_failure(dir, versions[i], 0, "an approval's signature does not verify");
    }
    /* two tampered versions: the first one is named */
    const char *dir = copy_store(w, w->big);
    tamper_artifact(dir, 300, "https://s1.local", 8, 't', 0);
    tamper_artifact(dir, 30, "https://s1.local", 8, 't', 0);
    expect_failure(dir, 30, 0, "version 30: artifact bytes do not match their stored hash");
}

static void test_a_flipped_audit_byte_fails_at_its_seq(void **state)
{
    world *w = *state;
    uint64_t seqs[] = {1, 3, w->small_info.audit_records};
    for (size_t i = 0; i < 3; i++) {
        const char *dir = copy_store(w, w->small);
        buf rec = {0};
        lm_seq(dir, LM_GET, "audit", seqs[i], &rec);
        flip_after(&rec, "\"corr_id\":\"01JD", 12, 'K');
        lm_seq(dir, LM_PUT, "audit", seqs[i], &rec);
        buf_free(&rec);
        char what[96];
        snprintf(what, sizeof what, "audit record %llu: hash does not match its content",
                 (unsigned long long)seqs[i]);
        expect_failure(dir, 0, seqs[i], what);
        store_verify_result r;
        verify_dir(dir, 2, &r);
        assert_int_equal(r.versions_verified, SMALL_VERSIONS); /* the chain itself is fine */
        assert_int_equal(r.audit_verified, seqs[i] - 1);
    }
    /* in the big store, across audit range boundaries */
    uint64_t big_seqs[] = {256, 257, 1000};
    for (size_t i = 0; i < 3; i++) {
        const char *dir = copy_store(w, w->big);
        buf rec = {0};
        lm_seq(dir, LM_GET, "audit", big_seqs[i], &rec);
        flip_after(&rec, "\"ts\":\"20", 8, 0);
        lm_seq(dir, LM_PUT, "audit", big_seqs[i], &rec);
        buf_free(&rec);
        char what[96];
        snprintf(what, sizeof what, "audit record %llu:", (unsigned long long)big_seqs[i]);
        expect_failure(dir, 0, big_seqs[i], what);
    }
}

static void test_a_deleted_audit_record_is_named(void **state)
{
    world *w = *state;
    const char *dir = copy_store(w, w->small);
    lm_seq(dir, LM_DEL, "audit", 4, NULL);
    expect_failure(dir, 0, 4, "audit record 4 is missing");
}

static void test_a_flipped_head_byte_fails_as_head(void **state)
{
    world *w = *state;
    const char *dir = copy_store(w, w->small);
    buf head = {0};
    lm_do(dir, LM_GET, "meta", "head", 4, &head);
    assert_int_equal(head.len, 48);
    head.data[8 + 5] ^= 0x01; /* inside payload_b3 */
    lm_do(dir, LM_PUT, "meta", "head", 4, &head);
    expect_failure(dir, 0, 0, "HEAD: the record (version 8, b3:");
    store_verify_result r;
    verify_dir(dir, 0, &r);
    assert_true(r.head_mismatch);
    assert_int_equal(r.versions_verified, SMALL_VERSIONS);
    /* committed_at is part of the record too */
    dir = copy_store(w, w->small);
    head.data[8 + 5] ^= 0x01;
    head.data[47] ^= 0x01;
    lm_do(dir, LM_PUT, "meta", "head", 4, &head);
    expect_failure(dir, 0, 0, "HEAD: the record (version 8,");
    buf_free(&head);
}

static void test_head_rolled_back_one_version_is_caught(void **state)
{
    world *w = *state;
    const char *dir = copy_store(w, w->small);
    buf art = {0};
    lm_seq(dir, LM_GET, "versions", SMALL_VERSIONS - 1, &art);
    artifact *a = NULL;
    assert_int_equal(artifact_parse(art.data, art.len, &a, NULL), SVCR_OK);
    buf head = {0};
    assert_int_equal(buf_reserve(&head, 48), 0);
    be64(SMALL_VERSIONS - 1, (uint8_t *)head.data);
    assert_int_equal(b3_tag_parse(a->ds->b3, B3_TAG_LEN, (uint8_t *)head.data + 8), 0);
    be64((uint64_t)a->committed_at_ms, (uint8_t *)head.data + 40);
    head.len = 48;
    lm_do(dir, LM_PUT, "meta", "head", 4, &head);
    expect_failure(dir, 0, 0, "HEAD: version 8 is stored beyond HEAD (version 7)");
    artifact_free(a);
    buf_free(&art);
    buf_free(&head);
}

static void test_a_missing_version_is_named(void **state)
{
    world *w = *state;
    const char *dir = copy_store(w, w->small);
    lm_seq(dir, LM_DEL, "versions", 4, NULL);
    expect_failure(dir, 4, 0, "version 4 is missing");
    dir = copy_store(w, w->small);
    lm_seq(dir, LM_DEL, "artifact_b3", 6, NULL);
    expect_failure(dir, 6, 0, "version 6: no stored artifact hash");
}

static void test_other_trust_roots_fail_version_one(void **state)
{
    world *w = *state;
    const char *dir = copy_store(w, w->small);
    fx_keys k;
    fx_keys_make(&k, 3, 2, 1); /* same ids, other keys */
    char *roots = fx_signer_set_json(&k);
    buf b = {0};
    assert_int_equal(buf_append(&b, roots, strlen(roots)), 0);
    lm_do(dir, LM_PUT, "meta", "trust_roots", strlen("trust_roots"), &b);
    expect_failure(dir, 1, 0, "version 1: an approval's signature does not verify");
    /* without trust roots, history cannot be verified at all */
    dir = copy_store(w, w->small);
    lm_do(dir, LM_DEL, "meta", "trust_roots", strlen("trust_roots"), NULL);
    expect_failure(dir, 0, 0, "the store records no trust roots");
    buf_free(&b);
    free(roots);
}

/* A registry process appending to dir (versions governed by k) until it is killed; one byte on
 * fd after each commit. Uses no cmocka assertion of its own: failures are exit statuses. */
static void live_writer(const char *dir, const fx_keys *roots, const fx_keys *k, int fd)
    __attribute__((noreturn));
static void live_writer(const char *dir, const fx_keys *roots, const fx_keys *k, int fd)
{
    store *st = NULL;
    store_open_opts so = {.data_dir = dir};
    if (store_lmdb_open(&so, &st, NULL, 0) != STORE_OK)
        _exit(10);
    char *rj = fx_signer_set_json(roots);
    pipeline_opts o = {.st = st,
                       .queue_cap = 64,
                       .trust_roots = rj,
                       .trust_roots_len = strlen(rj),
                       .verify_last_k = 4};
    pipeline *p = NULL;
    svcr_err e;
    if (pipeline_open(&o, &p, &e) != SVCR_OK)
        _exit(11);
    for (;;) {
        if (fx_cycle(p, k, k, 1) != SVCR_OK)
            _exit(12);
        char c = 'v';
        if (write(fd, &c, 1) != 1)
            _exit(0);
    }
}

static void test_verification_beside_a_live_writer_passes(void **state)
{
    world *w = *state;
    const char *dir = copy_store(w, w->small);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        live_writer(dir, &w->small_info.a, &w->small_info.b, fds[1]);
    }
    close(fds[1]);
    char c;
    int started = read(fds[0], &c, 1) == 1;
    uint64_t last = SMALL_VERSIONS;
    for (int i = 0; started && i < 6; i++) {
        store_verify_result r;
        if (verify_dir(dir, i % 3, &r) != STORE_VERIFY_OK) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("verification beside the writer failed: %s", r.message);
        }
        assert_true(r.head_version > SMALL_VERSIONS);
        assert_true(r.head_version >= last);
        assert_int_equal(r.versions_verified, r.head_version);
        assert_int_equal(r.audit_verified, r.audit_records);
        last = r.head_version;
    }
    kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(fds[0]);
    if (!started)
        fail_msg("the writer never committed (status %d)", status);
    assert_true(WIFSIGNALED(status));
    store_verify_result r;
    assert_int_equal(verify_dir(dir, 0, &r), STORE_VERIFY_OK);
    assert_true(r.head_version >= last);
    printf("# verified 6 times beside a writer that went from version %d to %llu\n", SMALL_VERSIONS,
           (unsigned long long)r.head_version);
}

/* An artifact whose committed_at is not a timestamp (re-hashed so only that is wrong) fails. */
static void test_an_invalid_committed_at_fails_its_version(void **state)
{
    world *w = *state;
    const char *dir = copy_store(w, w->small);
    tamper_artifact(dir, 3, "\"committed_at\":\"20", 16 + 5, '9', 1); /* month 11 -> 91 */
    store_verify_result r;
    assert_int_equal(verify_dir(dir, 1, &r), STORE_VERIFY_FAILED);
    assert_int_equal(r.failed_version, 3);
}

/* --- history that relied on one key counting twice (written past validation) ------------ */

/* Opens a pipeline on dir as the server does (trust roots `roots`, startup verification of
 * the last k versions, background verification of the rest) and waits up to 10 s for a chain
 * fault; returns its message ("" if none came). */
static void open_and_wait_for_chain_fault(const char *dir, const fx_keys *roots, uint64_t k,
                                          char msg[256])
{
    store *st = NULL;
    store_open_opts so = {.data_dir = dir};
    assert_int_equal(store_lmdb_open(&so, &st, NULL, 0), STORE_OK);
    char *rj = fx_signer_set_json(roots);
    pipeline_opts o = {.st = st,
                       .trust_roots = rj,
                       .trust_roots_len = strlen(rj),
                       .verify_last_k = k,
                       .background_verify = 1};
    pipeline *p = NULL;
    svcr_err e;
    assert_int_equal(pipeline_open(&o, &p, &e), SVCR_OK);
    pipeline_status ps = {0};
    for (int i = 0; i < 1000; i++) {
        pipeline_get_status(p, &ps);
        if (ps.chain_fault)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    snprintf(msg, 256, "%s", ps.chain_fault ? ps.chain_fault_msg : "");
    if (ps.chain_fault)
        assert_false(ps.write_ready);
    pipeline_close(p);
    st->ops->close(st);
    free(rj);
}

/* Version 1 (approved by the trust roots) declares a set listing one key under two ids;
 * version 2 is approved by that one key alone, twice, and hands governance back to the trust
 * roots' keys, which approve versions 3 and 4. verify-store, startup verification and the
 * background verifier (startup checks only version 4) all refuse this history at version 1. */
static void test_history_where_one_key_approved_twice_fails_verification(void **state)
{
    world *w = *state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/one-key-twice", w->root);
    fx_keys a, d;
    fx_keys_make(&a, 3, 2, 1);
    fx_keys_one_key_twice(&d);
    const fx_keys *sets[] = {&d, &a, &a, &a};
    const fx_hand_approval apps[][2] = {
        {{a.s[0].id, a.s[0].sk}, {a.s[1].id, a.s[1].sk}},
        {{d.s[0].id, d.s[0].sk}, {d.s[1].id, d.s[0].sk}}, /* one key, as two signers */
        {{a.s[0].id, a.s[0].sk}, {a.s[1].id, a.s[1].sk}},
        {{a.s[0].id, a.s[0].sk}, {a.s[1].id, a.s[1].sk}},
    };
    fx_write_hand_store(dir, &a, sets, apps, 4);
    const char *want = "version 1: artifact is not a valid signed artifact (duplicate_key at "
                       "payload.items[0].signers[1].public_key)";
    /* svcr verify-store (store_verify_all), on one thread and on several */
    expect_failure(dir, 1, 0, want);
    /* the server's startup verification of the whole chain */
    char msg[256];
    open_and_wait_for_chain_fault(dir, &a, 1000, msg);
    if (!strstr(msg, want))
        fail_msg("startup verification: \"%s\"", msg);
    /* startup verifies version 4 only (it is fine); the background verifier finds version 1 */
    open_and_wait_for_chain_fault(dir, &a, 1, msg);
    if (!strstr(msg, want))
        fail_msg("background verification: \"%s\"", msg);
}

/* The same with the one key listed twice in the stored trust roots themselves. */
static void test_trust_roots_listing_one_key_twice_fail_verification(void **state)
{
    world *w = *state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/roots-one-key-twice", w->root);
    fx_keys d;
    fx_keys_one_key_twice(&d);
    const fx_keys *sets[] = {&d};
    const fx_hand_approval apps[][2] = {{{d.s[0].id, d.s[0].sk}, {d.s[1].id, d.s[0].sk}}};
    fx_write_hand_store(dir, &d, sets, apps, 1);
    store_verify_result r;
    assert_int_equal(verify_dir(dir, 2, &r), STORE_VERIFY_FAILED);
    if (!strstr(r.message, "trust roots: the stored signer set is invalid") ||
        !strstr(r.message, "org:x#k1") || !strstr(r.message, "org:x#k2"))
        fail_msg("unexpected message: %s", r.message);
    assert_int_equal(r.versions_verified, 0);
}

/* Defence in depth: a governing set that lists one key under two ids reaches the chain
 * verifier without passing signer_set_from_json (patched after parsing); the version that one
 * key approved twice still fails, at quorum, naming it. */
static void test_chain_verify_counts_one_key_once_even_past_parsing(void **state)
{
    world *w = *state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/past-parsing", w->root);
    fx_keys a, d;
    fx_keys_make(&a, 3, 2, 1);
    fx_keys_one_key_twice(&d);
    fx_keys d_ok = d; /* what version 1 declares: valid, x#k2 with a key of its own */
    fx_keys_make(&d_ok, 3, 2, 7);
    for (size_t i = 0; i < 3; i++)
        memcpy(d_ok.s[i].id, d.s[i].id, sizeof d.s[i].id);
    const fx_keys *sets[] = {&d_ok, &a};
    const fx_hand_approval apps[][2] = {
        {{a.s[0].id, a.s[0].sk}, {a.s[1].id, a.s[1].sk}},
        {{d.s[0].id, d_ok.s[0].sk}, {d.s[1].id, d_ok.s[0].sk}}, /* x#k1's key, twice */
    };
    fx_write_hand_store(dir, &a, sets, apps, 2);

    store *st = NULL;
    store_open_opts so = {.data_dir = dir, .read_only = 1};
    assert_int_equal(store_lmdb_open(&so, &st, NULL, 0), STORE_OK);
    buf v1 = {0}, v2 = {0};
    assert_int_equal(st->ops->get_version(st, 1, append_bytes, &v1), STORE_OK);
    assert_int_equal(st->ops->get_version(st, 2, append_bytes, &v2), STORE_OK);
    st->ops->close(st);
    chain_verifier cv;
    svcr_err e;
    assert_int_equal(chain_verifier_init_after(&cv, 1, v1.data, v1.len, &e), SVCR_OK);
    /* x#k2 now carries x#k1's key, as if its set had never been parsed */
    signer *x1 = (signer *)signer_set_find(cv.governing, "org:x#k1");
    signer *x2 = (signer *)signer_set_find(cv.governing, "org:x#k2");
    assert_non_null(x1);
    assert_non_null(x2);
    memcpy(x2->pk, x1->pk, ED25519_PK_LEN);
    assert_int_equal(chain_verify_next(&cv, v2.data, v2.len, NULL, 1, &e), SVCR_E_QUORUM_FAILED);
    assert_string_equal(e.message, "version 2: approvals do not reach the quorum of its era");
    assert_int_equal(cv.next_version, 2); /* unchanged on failure */
    chain_verifier_free(&cv);
    buf_free(&v1);
    buf_free(&v2);
}

int main(void)
{
    log_configure(1, LOG_WARN); /* every audited write logs at info: keep stderr readable */
    const char *mk = getenv("SVCR_MAKE_STORE");
    if (mk && *mk) {
        crypto_init();
        const char *nv = getenv("SVCR_MAKE_STORE_VERSIONS");
        uint64_t n = nv ? strtoull(nv, NULL, 10) : 12;
        built info;
        build_store(mk, n < 4 ? 4 : n, &info);
        printf("built %s: %llu versions, %llu audit records\n", mk,
               (unsigned long long)info.versions, (unsigned long long)info.audit_records);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_built_store_verifies_and_the_counts_match),
        cmocka_unit_test(test_progress_is_reported_with_the_final_totals),
        cmocka_unit_test(test_an_empty_store_verifies_with_zero_versions),
        cmocka_unit_test(test_an_invalid_committed_at_fails_its_version),
        cmocka_unit_test(test_verification_beside_a_live_writer_passes),
        cmocka_unit_test(test_a_flipped_payload_byte_fails_at_its_version),
        cmocka_unit_test(test_a_flipped_signature_byte_fails_at_its_version),
        cmocka_unit_test(test_tampering_at_range_boundaries_names_the_first_bad_version),
        cmocka_unit_test(test_a_flipped_audit_byte_fails_at_its_seq),
        cmocka_unit_test(test_a_deleted_audit_record_is_named),
        cmocka_unit_test(test_a_flipped_head_byte_fails_as_head),
        cmocka_unit_test(test_head_rolled_back_one_version_is_caught),
        cmocka_unit_test(test_a_missing_version_is_named),
        cmocka_unit_test(test_other_trust_roots_fail_version_one),
        cmocka_unit_test(test_history_where_one_key_approved_twice_fails_verification),
        cmocka_unit_test(test_trust_roots_listing_one_key_twice_fail_verification),
        cmocka_unit_test(test_chain_verify_counts_one_key_once_even_past_parsing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
