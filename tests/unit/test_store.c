/* test_store.c - the store contract suite, run over every backend of the `backends` table through
 * store.h (a new backend is done when this suite passes on it), plus backend-specific tests. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "helpers/testutil.h"
#include "storage/store.h"

/* --- fixture: one backend, one fresh temp dir, one open store ----------------------------- */

typedef struct backend {
    const char *name; /* store_ops.name of its stores */
    store_kind kind;  /* what store_open is asked for */
} backend;

/* Every backend the contract suite runs over: one row per backend. */
static const backend backends[] = {
    {"lmdb", STORE_KIND_LMDB},
    {"memory", STORE_KIND_MEMORY},
};
static const backend *lmdb_backend = &backends[0];
static const backend *memory_backend = &backends[1];

/* The backend the contract group now running is about (its tests carry no state of their own). */
static const backend *contract_backend;

typedef struct fixture {
    const backend *be;
    char root[256];     /* mkdtemp() directory, removed at teardown */
    char data_dir[300]; /* <root>/data */
    store *s;
} fixture;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Number of entries in a directory other than . and .. (-1 if it cannot be read). */
static int dir_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static store_open_opts fx_opts(const fixture *fx)
{
    store_open_opts o = {.data_dir = fx->data_dir, .fsync = 0, .read_only = 0, .map_size = 0};
    return o;
}

/* Closes the fixture's store (if open) and opens it again with `o`. */
static void fx_reopen(fixture *fx, const store_open_opts *o)
{
    char err[256];
    if (fx->s)
        fx->s->ops->close(fx->s);
    fx->s = NULL;
    int st = store_open(fx->be->kind, o, &fx->s, err, sizeof err);
    if (st != STORE_OK)
        fail_msg("%s reopen: %s (%s)", fx->be->name, store_status_str(st), err);
}

static int fx_setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    char err[256];
    const char *tmp = getenv("TMPDIR");
    if (!fx)
        return -1;
    fx->be = *state ? *state : contract_backend;
    snprintf(fx->root, sizeof fx->root, "%s/svcr-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fx->root)) {
        free(fx);
        return -1;
    }
    snprintf(fx->data_dir, sizeof fx->data_dir, "%s/data", fx->root);
    store_open_opts o = fx_opts(fx);
    if (store_open(fx->be->kind, &o, &fx->s, err, sizeof err) != STORE_OK) {
        print_error("%s open: %s\n", fx->be->name, err);
        rm_rf(fx->root);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture *fx = *state;
    if (fx->s)
        fx->s->ops->close(fx->s);
    rm_rf(fx->root);
    free(fx);
    return 0;
}

/* --- record builders and readers ---------------------------------------------------------- */

#define ART_LEN 200

/* Deterministic artifact bytes for `version`; the first 8 bytes are the version (BE). */
static void make_artifact(uint64_t version, uint8_t *out, size_t len)
{
    uint64_t seed = version * 0x9E3779B97F4A7C15ull + 1;
    tu_rand_bytes(&seed, out, len);
    for (size_t i = 0; i < 8 && i < len; i++)
        out[i] = (uint8_t)(version >> (56 - 8 * i));
}

static void make_hash(uint64_t version, uint8_t out[32])
{
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(version * 31 + (uint64_t)i);
}

static store_head make_head(uint64_t version)
{
    store_head h = {.version = version, .committed_at_ms = 1700000000000 + (int64_t)version};
    make_hash(version + 1000, h.payload_b3);
    return h;
}

/* Stages version v, HEAD = v and audit record v into t. */
static void stage_version(store *s, store_txn *t, uint64_t v, size_t art_len)
{
    uint8_t *art = malloc(art_len ? art_len : 1), b3[32];
    char rec[64];
    assert_non_null(art);
    make_artifact(v, art, art_len);
    make_hash(v, b3);
    store_head h = make_head(v);
    int n = snprintf(rec, sizeof rec, "{\"seq\":%llu}", (unsigned long long)v);
    assert_int_equal(s->ops->txn_put_version(t, v, art, art_len, b3), STORE_OK);
    assert_int_equal(s->ops->txn_put_head(t, &h), STORE_OK);
    assert_int_equal(s->ops->txn_put_audit(t, v, rec, (size_t)n), STORE_OK);
    free(art);
}

/* Commits versions from..to, `per_txn` of them per transaction. */
static void commit_versions(store *s, uint64_t from, uint64_t to, uint64_t per_txn, size_t art_len)
{
    for (uint64_t v = from; v <= to;) {
        store_txn *t;
        assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
        for (uint64_t k = 0; k < per_txn && v <= to; k++, v++)
            stage_version(s, t, v, art_len);
        assert_int_equal(s->ops->txn_commit(t), STORE_OK);
    }
}

typedef struct got {
    uint8_t *data;
    size_t len;
    int calls;
} got;

static int got_cb(void *ctx, const void *data, size_t len)
{
    got *g = ctx;
    free(g->data);
    g->data = malloc(len ? len : 1);
    if (!g->data)
        return -100;
    memcpy(g->data, data, len);
    g->len = len;
    g->calls++;
    return 0;
}

static void got_free(got *g)
{
    free(g->data);
    memset(g, 0, sizeof *g);
}

/* Asserts that the stored artifact of `v` is exactly make_artifact(v, art_len). */
static void assert_version_is(store *s, uint64_t v, size_t art_len)
{
    got g = {0};
    uint8_t *want = malloc(art_len ? art_len : 1), b3[32], want_b3[32];
    assert_non_null(want);
    make_artifact(v, want, art_len);
    assert_int_equal(s->ops->get_version(s, v, got_cb, &g), STORE_OK);
    assert_int_equal(g.len, art_len);
    assert_memory_equal(g.data, want, art_len);
    assert_int_equal(s->ops->get_artifact_hash(s, v, b3), STORE_OK);
    make_hash(v, want_b3);
    assert_memory_equal(b3, want_b3, 32);
    got_free(&g);
    free(want);
}

static void assert_head_version(store *s, uint64_t v)
{
    store_head h, want = v ? make_head(v) : (store_head){0};
    assert_int_equal(s->ops->get_head(s, &h), STORE_OK);
    assert_int_equal(h.version, v);
    assert_memory_equal(h.payload_b3, want.payload_b3, 32);
    assert_true(h.committed_at_ms == want.committed_at_ms);
}

static uint64_t last_audit(store *s)
{
    uint64_t q = 99;
    assert_int_equal(s->ops->last_audit_seq(s, &q), STORE_OK);
    return q;
}

/* Collects the keys an iteration visits. */
typedef struct keys {
    uint64_t k[512];
    size_t n;
    size_t stop_after; /* 0: never stop */
} keys;

static int keys_cb(void *ctx, uint64_t key, const void *data, size_t len)
{
    keys *ks = ctx;
    (void)data, (void)len;
    if (ks->n < sizeof ks->k / sizeof ks->k[0])
        ks->k[ks->n] = key;
    ks->n++;
    return ks->stop_after && ks->n == ks->stop_after ? 42 : 0;
}

static int never_cb(void *ctx, const void *data, size_t len)
{
    (void)ctx, (void)data, (void)len;
    fail_msg("callback called for an absent key");
    return 0;
}

/* --- both backends ------------------------------------------------------------------------- */

static void test_store_empty_store_has_head_version_zero(void **state)
{
    fixture *fx = *state;
    store *s = fx->s;
    keys ks = {0};
    uint8_t b3[32];
    assert_head_version(s, 0);
    assert_int_equal(last_audit(s), 0);
    assert_int_equal(s->ops->iter_versions(s, 0, keys_cb, &ks), STORE_OK);
    assert_int_equal(s->ops->iter_audit(s, 0, keys_cb, &ks), STORE_OK);
    assert_int_equal(ks.n, 0);
    assert_int_equal(s->ops->get_version(s, 1, never_cb, NULL), STORE_NOTFOUND);
    assert_int_equal(s->ops->get_version(s, 0, never_cb, NULL), STORE_NOTFOUND);
    assert_int_equal(s->ops->get_artifact_hash(s, 1, b3), STORE_NOTFOUND);
    assert_int_equal(s->ops->get_proposal(s, "p1", never_cb, NULL), STORE_NOTFOUND);
    assert_int_equal(s->ops->get_meta(s, "frozen", never_cb, NULL), STORE_NOTFOUND);
    assert_string_equal(s->ops->name, fx->be->name);
}

/* Asserts that version 1 and its companions of full_batch() are (not) visible. */
static void assert_full_batch_visible(store *s, int visible)
{
    got g = {0};
    if (!visible) {
        assert_head_version(s, 0);
        assert_int_equal(last_audit(s), 0);
        assert_int_equal(s->ops->get_version(s, 1, never_cb, NULL), STORE_NOTFOUND);
        assert_int_equal(s->ops->get_proposal(s, "01HPROPOSAL", never_cb, NULL), STORE_NOTFOUND);
        assert_int_equal(s->ops->get_meta(s, "frozen", never_cb, NULL), STORE_NOTFOUND);
        return;
    }
    assert_head_version(s, 1);
    assert_version_is(s, 1, ART_LEN);
    assert_int_equal(last_audit(s), 1);
    assert_int_equal(s->ops->get_proposal(s, "01HPROPOSAL", got_cb, &g), STORE_OK);
    assert_int_equal(g.len, 4);
    assert_memory_equal(g.data, "prop", 4);
    assert_int_equal(s->ops->get_meta(s, "frozen", got_cb, &g), STORE_OK);
    assert_int_equal(g.len, 3);
    assert_memory_equal(g.data, "yes", 3);
    got_free(&g);
}

static store_txn *full_batch(store *s)
{
    store_txn *t;
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    stage_version(s, t, 1, ART_LEN);
    assert_int_equal(s->ops->txn_put_proposal(t, "01HPROPOSAL", "prop", 4), STORE_OK);
    assert_int_equal(s->ops->txn_put_meta(t, "frozen", "yes", 3), STORE_OK);
    return t;
}

static void test_store_commit_makes_batch_visible_atomically(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_txn *t = full_batch(s);
    assert_full_batch_visible(s, 0); /* staged, not committed: readers see nothing */
    assert_int_equal(s->ops->txn_commit(t), STORE_OK);
    assert_full_batch_visible(s, 1);
}

static void test_store_abort_leaves_nothing_visible(void **state)
{
    store *s = ((fixture *)*state)->s;
    s->ops->txn_abort(full_batch(s));
    assert_full_batch_visible(s, 0);
    /* the aborted version number is still the next one */
    assert_int_equal(s->ops->txn_commit(full_batch(s)), STORE_OK);
    assert_full_batch_visible(s, 1);
}

static void test_store_second_write_txn_is_rejected(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_txn *t, *t2 = (store_txn *)&t;
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_begin(s, &t2), STORE_EINVAL);
    assert_null(t2);
    assert_int_equal(s->ops->txn_commit(t), STORE_OK); /* an empty batch is fine */
    assert_int_equal(s->ops->txn_begin(s, &t2), STORE_OK);
    s->ops->txn_abort(t2);
    assert_head_version(s, 0);
}

static void test_store_out_of_order_version_is_rejected(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_txn *t;
    uint8_t b3[32] = {0};
    /* a gap on an empty store; then the txn stays poisoned even for a right put */
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_version(t, 2, "x", 1, b3), STORE_EINVAL);
    assert_int_equal(s->ops->txn_put_version(t, 1, "x", 1, b3), STORE_EINVAL);
    assert_int_equal(s->ops->txn_commit(t), STORE_EINVAL);
    assert_int_equal(s->ops->get_version(s, 1, never_cb, NULL), STORE_NOTFOUND);
    /* version 0 never exists */
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_version(t, 0, "x", 1, b3), STORE_EINVAL);
    s->ops->txn_abort(t);
    commit_versions(s, 1, 3, 2, ART_LEN);
    /* a repeat, a step back and a gap after stored versions; within a txn too */
    uint64_t bad[] = {3, 2, 5};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
        assert_int_equal(s->ops->txn_put_version(t, bad[i], "x", 1, b3), STORE_EINVAL);
        assert_int_equal(s->ops->txn_commit(t), STORE_EINVAL);
    }
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_version(t, 4, "x", 1, b3), STORE_OK);
    assert_int_equal(s->ops->txn_put_version(t, 4, "x", 1, b3), STORE_EINVAL);
    s->ops->txn_abort(t);
    assert_head_version(s, 3);
    assert_int_equal(s->ops->get_version(s, 4, never_cb, NULL), STORE_NOTFOUND);
    commit_versions(s, 4, 4, 1, ART_LEN);
    assert_version_is(s, 4, ART_LEN);
}

static void test_store_out_of_order_audit_seq_is_rejected(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_txn *t;
    uint64_t bad_empty[] = {0, 2};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
        assert_int_equal(s->ops->txn_put_audit(t, bad_empty[i], "a", 1), STORE_EINVAL);
        assert_int_equal(s->ops->txn_put_audit(t, 1, "a", 1), STORE_EINVAL);
        assert_int_equal(s->ops->txn_commit(t), STORE_EINVAL);
    }
    assert_int_equal(last_audit(s), 0);
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_audit(t, 1, "a", 1), STORE_OK);
    assert_int_equal(s->ops->txn_put_audit(t, 2, "b", 1), STORE_OK);
    assert_int_equal(s->ops->txn_put_audit(t, 2, "b", 1), STORE_EINVAL);
    assert_int_equal(s->ops->txn_commit(t), STORE_EINVAL);
    assert_int_equal(last_audit(s), 0);
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_audit(t, 1, "a", 1), STORE_OK);
    assert_int_equal(s->ops->txn_commit(t), STORE_OK);
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_audit(t, 3, "c", 1), STORE_EINVAL);
    s->ops->txn_abort(t);
    assert_int_equal(last_audit(s), 1);
}

static void test_store_iteration_is_ordered_and_honours_from(void **state)
{
    store *s = ((fixture *)*state)->s;
    /* 300 crosses a byte boundary of the 8-byte big-endian keys */
    commit_versions(s, 1, 300, 37, 16);
    uint64_t froms[] = {0, 1, 2, 255, 256, 257, 300, 301, UINT64_MAX};
    for (size_t i = 0; i < sizeof froms / sizeof froms[0]; i++) {
        uint64_t first = froms[i] ? froms[i] : 1;
        size_t want = first > 300 ? 0 : (size_t)(300 - first + 1);
        keys kv = {0}, ka = {0};
        assert_int_equal(s->ops->iter_versions(s, froms[i], keys_cb, &kv), STORE_OK);
        assert_int_equal(s->ops->iter_audit(s, froms[i], keys_cb, &ka), STORE_OK);
        assert_int_equal(kv.n, want);
        assert_int_equal(ka.n, want);
        for (size_t k = 0; k < want && k < 512; k++) {
            assert_int_equal(kv.k[k], first + k);
            assert_int_equal(ka.k[k], first + k);
        }
    }
    assert_int_equal(last_audit(s), 300);
    assert_head_version(s, 300);
    assert_version_is(s, 256, 16);
}

static void test_store_iteration_stops_with_the_callbacks_value(void **state)
{
    store *s = ((fixture *)*state)->s;
    commit_versions(s, 1, 10, 10, 8);
    keys kv = {.stop_after = 3}, ka = {.stop_after = 2};
    assert_int_equal(s->ops->iter_versions(s, 4, keys_cb, &kv), 42);
    assert_int_equal(kv.n, 3);
    assert_int_equal(kv.k[2], 6);
    assert_int_equal(s->ops->iter_audit(s, 0, keys_cb, &ka), 42);
    assert_int_equal(ka.n, 2);
}

typedef struct names {
    char ids[16][16];
    char vals[16][16];
    size_t n;
} names;

static int names_cb(void *ctx, const char *key, const void *data, size_t len)
{
    names *nm = ctx;
    if (nm->n >= 16 || strlen(key) >= 16 || len >= 16)
        return -1;
    strcpy(nm->ids[nm->n], key);
    memcpy(nm->vals[nm->n], data, len);
    nm->vals[nm->n][len] = '\0';
    nm->n++;
    return 0;
}

static void test_store_proposals_iterate_in_id_order_and_replace(void **state)
{
    store *s = ((fixture *)*state)->s;
    /* byte order: upper case before lower case, a prefix before its extensions, UTF-8 last */
    const char *ins[] = {"b", "ab", "a", "\xc3\xa9t\xc3\xa9", "B", "a0", "01J"};
    const char *want[] = {"01J", "B", "a", "a0", "ab", "b", "\xc3\xa9t\xc3\xa9"};
    store_txn *t;
    names nm = {0};
    assert_int_equal(s->ops->iter_proposals(s, names_cb, &nm), STORE_OK);
    assert_int_equal(nm.n, 0);
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(s->ops->txn_put_proposal(t, ins[i], "v1", 2), STORE_OK);
    assert_int_equal(s->ops->txn_commit(t), STORE_OK);
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    for (size_t i = 4; i < 7; i++)
        assert_int_equal(s->ops->txn_put_proposal(t, ins[i], "v1", 2), STORE_OK);
    assert_int_equal(s->ops->txn_put_proposal(t, "a", "v2-a", 4), STORE_OK); /* replace */
    assert_int_equal(s->ops->txn_put_proposal(t, "01J", "v2", 2), STORE_OK); /* twice in a txn */
    assert_int_equal(s->ops->txn_commit(t), STORE_OK);
    assert_int_equal(s->ops->iter_proposals(s, names_cb, &nm), STORE_OK);
    assert_int_equal(nm.n, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(nm.ids[i], want[i]);
        const char *v = strcmp(want[i], "a") == 0 ? "v2-a" : strcmp(want[i], "01J") ? "v1" : "v2";
        assert_string_equal(nm.vals[i], v);
    }
}

static void test_store_get_artifact_hash_returns_the_stored_hash(void **state)
{
    store *s = ((fixture *)*state)->s;
    uint8_t b3[32], want[32];
    commit_versions(s, 1, 5, 2, 0); /* empty artifacts are allowed, their hash is kept */
    for (uint64_t v = 1; v <= 5; v++) {
        assert_int_equal(s->ops->get_artifact_hash(s, v, b3), STORE_OK);
        make_hash(v, want);
        assert_memory_equal(b3, want, 32);
        assert_version_is(s, v, 0);
    }
    assert_int_equal(s->ops->get_artifact_hash(s, 6, b3), STORE_NOTFOUND);
    assert_int_equal(s->ops->get_artifact_hash(s, 0, b3), STORE_NOTFOUND);
}

static void test_store_meta_set_replace_and_delete(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_txn *t;
    got g = {0};
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_meta(t, "frozen", "maintenance", 11), STORE_OK);
    assert_int_equal(s->ops->txn_put_meta(t, "other", "1", 1), STORE_OK);
    assert_int_equal(s->ops->txn_commit(t), STORE_OK);
    assert_int_equal(s->ops->get_meta(s, "frozen", got_cb, &g), STORE_OK);
    assert_int_equal(g.len, 11);
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_meta(t, "frozen", "x", 1), STORE_OK);
    assert_int_equal(s->ops->txn_commit(t), STORE_OK);
    assert_int_equal(s->ops->get_meta(s, "frozen", got_cb, &g), STORE_OK);
    assert_int_equal(g.len, 1);
    assert_memory_equal(g.data, "x", 1);
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_meta(t, "frozen", NULL, 0), STORE_OK);
    assert_int_equal(s->ops->txn_put_meta(t, "never-set", NULL, 0), STORE_OK);
    assert_int_equal(s->ops->txn_commit(t), STORE_OK);
    assert_int_equal(s->ops->get_meta(s, "frozen", never_cb, NULL), STORE_NOTFOUND);
    assert_int_equal(s->ops->get_meta(s, "other", got_cb, &g), STORE_OK);
    assert_memory_equal(g.data, "1", 1);
    /* set then delete in one txn: gone; delete then set: present */
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_meta(t, "k1", "v", 1), STORE_OK);
    assert_int_equal(s->ops->txn_put_meta(t, "k1", NULL, 0), STORE_OK);
    assert_int_equal(s->ops->txn_put_meta(t, "other", NULL, 0), STORE_OK);
    assert_int_equal(s->ops->txn_put_meta(t, "other", "2", 1), STORE_OK);
    assert_int_equal(s->ops->txn_commit(t), STORE_OK);
    assert_int_equal(s->ops->get_meta(s, "k1", never_cb, NULL), STORE_NOTFOUND);
    assert_int_equal(s->ops->get_meta(s, "other", got_cb, &g), STORE_OK);
    assert_memory_equal(g.data, "2", 1);
    got_free(&g);
}

static void test_store_invalid_arguments_are_rejected(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_txn *t;
    char long_key[513];
    memset(long_key, 'k', 512);
    long_key[512] = '\0';
    const char *bad_keys[] = {NULL, "", long_key};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
        assert_int_equal(s->ops->txn_put_proposal(t, bad_keys[i], "r", 1), STORE_EINVAL);
        assert_int_equal(s->ops->txn_commit(t), STORE_EINVAL); /* poisoned: nothing written */
        assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
        assert_int_equal(s->ops->txn_put_meta(t, bad_keys[i], "r", 1), STORE_EINVAL);
        s->ops->txn_abort(t);
        assert_int_equal(s->ops->get_proposal(s, bad_keys[i], never_cb, NULL), STORE_EINVAL);
        assert_int_equal(s->ops->get_meta(s, bad_keys[i], never_cb, NULL), STORE_EINVAL);
    }
    /* "head" is the reserved meta key holding HEAD */
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_meta(t, "head", "r", 1), STORE_EINVAL);
    s->ops->txn_abort(t);
    assert_int_equal(s->ops->get_meta(s, "head", never_cb, NULL), STORE_EINVAL);
    /* bytes missing for a non-zero length */
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_proposal(t, "p", NULL, 3), STORE_EINVAL);
    s->ops->txn_abort(t);
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_head(t, NULL), STORE_EINVAL);
    s->ops->txn_abort(t);
    assert_int_equal(s->ops->get_version(s, 1, NULL, NULL), STORE_EINVAL);
    /* a 511-byte key is fine */
    long_key[511] = '\0';
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_proposal(t, long_key, "r", 1), STORE_OK);
    assert_int_equal(s->ops->txn_commit(t), STORE_OK);
    got g = {0};
    assert_int_equal(s->ops->get_proposal(s, long_key, got_cb, &g), STORE_OK);
    got_free(&g);
    assert_head_version(s, 0);
}

/* Commits version 1, arms `f` once and checks that a full batch for version 2 fails with
 * `want` leaving nothing visible, and that the same batch then commits. */
static void check_fault(store *s, store_fault f, int want)
{
    store_txn *t;
    got g = {0};
    commit_versions(s, 1, 1, 1, ART_LEN);
    s->ops->fault_arm(s, f, 1);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
        stage_version(s, t, 2, ART_LEN);
        assert_int_equal(s->ops->txn_put_proposal(t, "p2", "r", 1), STORE_OK);
        assert_int_equal(s->ops->txn_put_meta(t, "m2", "v", 1), STORE_OK);
        assert_int_equal(s->ops->txn_commit(t), round == 0 ? want : STORE_OK);
        char why[192];
        s->ops->last_write_error(s, why, sizeof why);
        if (round == 1)
            assert_string_equal(why, ""); /* a successful commit leaves no error behind */
        else if (!strstr(why, "injected fault") ||
                 !strstr(why, f == STORE_FAULT_ENOSPC ? strerror(ENOSPC) : strerror(EIO)))
            fail_msg("last_write_error says \"%s\"", why);
        if (round == 0) {
            assert_head_version(s, 1);
            assert_int_equal(last_audit(s), 1);
            assert_int_equal(s->ops->get_version(s, 2, never_cb, NULL), STORE_NOTFOUND);
            uint8_t b3[32];
            assert_int_equal(s->ops->get_artifact_hash(s, 2, b3), STORE_NOTFOUND);
            assert_int_equal(s->ops->get_proposal(s, "p2", never_cb, NULL), STORE_NOTFOUND);
            assert_int_equal(s->ops->get_meta(s, "m2", never_cb, NULL), STORE_NOTFOUND);
        }
    }
    assert_head_version(s, 2);
    assert_version_is(s, 2, ART_LEN);
    assert_int_equal(last_audit(s), 2);
    assert_int_equal(s->ops->get_proposal(s, "p2", got_cb, &g), STORE_OK);
    assert_int_equal(s->ops->get_meta(s, "m2", got_cb, &g), STORE_OK);
    got_free(&g);
}

static void test_store_write_fault_fails_commit_and_leaves_nothing_visible(void **state)
{
    check_fault(((fixture *)*state)->s, STORE_FAULT_WRITE, STORE_EIO);
}

static void test_store_sync_fault_fails_commit_and_leaves_nothing_visible(void **state)
{
    check_fault(((fixture *)*state)->s, STORE_FAULT_SYNC, STORE_EIO);
}

static void test_store_enospc_fault_fails_commit_and_leaves_nothing_visible(void **state)
{
    check_fault(((fixture *)*state)->s, STORE_FAULT_ENOSPC, STORE_ENOSPC);
}

/* Tries to commit version v alone; returns the commit status. */
static int try_commit(store *s, uint64_t v)
{
    store_txn *t;
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    stage_version(s, t, v, 32);
    return s->ops->txn_commit(t);
}

static void test_store_fault_count_fails_that_many_commits(void **state)
{
    store *s = ((fixture *)*state)->s;
    s->ops->fault_arm(s, STORE_FAULT_SYNC, 2);
    assert_int_equal(try_commit(s, 1), STORE_EIO);
    assert_int_equal(try_commit(s, 1), STORE_EIO);
    assert_int_equal(try_commit(s, 1), STORE_OK);
    assert_int_equal(try_commit(s, 2), STORE_OK);
    s->ops->fault_arm(s, STORE_FAULT_WRITE, 1);
    s->ops->fault_arm(s, STORE_FAULT_NONE, 0); /* disarmed before it fired */
    assert_int_equal(try_commit(s, 3), STORE_OK);
    assert_head_version(s, 3);
}

static void test_store_fault_forever_fails_until_disarmed(void **state)
{
    store *s = ((fixture *)*state)->s;
    s->ops->fault_arm(s, STORE_FAULT_ENOSPC, -1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(try_commit(s, 1), STORE_ENOSPC);
    assert_head_version(s, 0);
    s->ops->fault_arm(s, STORE_FAULT_WRITE, -1); /* re-arming replaces the fault */
    assert_int_equal(try_commit(s, 1), STORE_EIO);
    s->ops->fault_arm(s, STORE_FAULT_NONE, 0);
    assert_int_equal(try_commit(s, 1), STORE_OK);
    assert_int_equal(try_commit(s, 2), STORE_OK);
    assert_head_version(s, 2);
}

typedef struct nest_ctx {
    store *s;
    int checked;
} nest_ctx;

static int nest_cb(void *ctx, uint64_t key, const void *data, size_t len)
{
    nest_ctx *n = ctx;
    uint8_t b3[32], want[32];
    store_head h;
    (void)data, (void)len;
    if (n->s->ops->get_artifact_hash(n->s, key, b3) != STORE_OK ||
        n->s->ops->get_head(n->s, &h) != STORE_OK)
        return -1;
    make_hash(key, want);
    if (memcmp(b3, want, 32) != 0)
        return -2;
    n->checked++;
    return 0;
}

static void test_store_read_callbacks_may_nest_reads(void **state)
{
    store *s = ((fixture *)*state)->s;
    nest_ctx n = {.s = s};
    commit_versions(s, 1, 20, 5, 8);
    assert_int_equal(s->ops->iter_versions(s, 0, nest_cb, &n), STORE_OK);
    assert_int_equal(n.checked, 20);
}

static void test_store_size_bytes_grows_with_data(void **state)
{
    store *s = ((fixture *)*state)->s;
    int64_t before = s->ops->size_bytes(s);
    assert_true(before >= 0);
    commit_versions(s, 1, 64, 16, 4096);
    int64_t after = s->ops->size_bytes(s);
    assert_true(after >= 64 * 4096);
    assert_true(after > before);
}

/* The reader thread of the snapshot test: loops until told to stop, checking that every
 * iteration sees versions 1..n contiguous with head(before) <= n <= head(after). */
typedef struct snap_reader {
    store *s;
    atomic_int stop;
    atomic_int done; /* set by the reader when it leaves its loop */
    atomic_long loops;
    char failure[200];
} snap_reader;

typedef struct snap_scan {
    uint64_t n;
    int bad;
} snap_scan;

static int snap_cb(void *ctx, uint64_t key, const void *data, size_t len)
{
    snap_scan *sc = ctx;
    const uint8_t *p = data;
    uint64_t embedded = 0;
    for (size_t i = 0; i < 8 && i < len; i++)
        embedded = embedded << 8 | p[i];
    if (key != sc->n + 1 || len < 8 || embedded != key) {
        sc->bad = 1;
        return 1;
    }
    sc->n++;
    return 0;
}

static void *snap_reader_main(void *arg)
{
    snap_reader *r = arg;
    store *s = r->s;
    got g = {0};
    while (!atomic_load(&r->stop) && !r->failure[0]) {
        store_head h1, h2;
        snap_scan sc = {0};
        uint64_t q = 0;
        int st1 = s->ops->get_head(s, &h1);
        int st = s->ops->iter_versions(s, 0, snap_cb, &sc);
        int st3 = s->ops->last_audit_seq(s, &q);
        int st2 = s->ops->get_head(s, &h2);
        if (st1 || st || st2 || st3 || sc.bad)
            snprintf(r->failure, sizeof r->failure, "read failed: %d %d %d %d bad=%d", st1, st, st2,
                     st3, sc.bad);
        else if (h1.version > sc.n || sc.n > h2.version || q < h1.version || q > h2.version)
            snprintf(r->failure, sizeof r->failure, "inconsistent: head %llu..%llu, n %llu",
                     (unsigned long long)h1.version, (unsigned long long)h2.version,
                     (unsigned long long)sc.n);
        else if (h1.version && s->ops->get_version(s, h1.version, got_cb, &g) != STORE_OK)
            snprintf(r->failure, sizeof r->failure, "head %llu without its version",
                     (unsigned long long)h1.version);
        atomic_fetch_add(&r->loops, 1);
    }
    got_free(&g);
    atomic_store(&r->done, 1);
    return NULL;
}

/* Waits (at most ~5 s) until the reader has completed one more scan or has stopped. */
static void wait_for_reader(snap_reader *r)
{
    long start = atomic_load(&r->loops);
    for (int i = 0; i < 50000 && atomic_load(&r->loops) == start && !atomic_load(&r->done); i++)
        nanosleep(&(struct timespec){.tv_nsec = 100000}, NULL);
}

static int stage_quiet(store *s, store_txn *t, uint64_t v, size_t art_len)
{
    uint8_t art[1024], b3[32];
    make_artifact(v, art, art_len);
    make_hash(v, b3);
    store_head h = make_head(v);
    int st = s->ops->txn_put_version(t, v, art, art_len, b3);
    if (st == STORE_OK)
        st = s->ops->txn_put_head(t, &h);
    if (st == STORE_OK)
        st = s->ops->txn_put_audit(t, v, "rec", 3);
    return st;
}

static void test_store_reader_sees_consistent_snapshots_while_writer_commits(void **state)
{
    fixture *fx = *state;
    store_open_opts o = fx_opts(fx);
    o.map_size = 64 << 10; /* LMDB: the map grows several times while the reader runs */
    fx_reopen(fx, &o);
    store *s = fx->s;
    snap_reader r = {.s = s};
    pthread_t th;
    char failure[200] = "";
    assert_int_equal(pthread_create(&th, NULL, snap_reader_main, &r), 0);
    for (uint64_t v = 1; v <= 1000 && !failure[0]; v++) {
        store_txn *t;
        if (v % 50 == 1) /* let the reader finish a scan, so they surely overlap */
            wait_for_reader(&r);
        int st = s->ops->txn_begin(s, &t);
        if (st == STORE_OK) {
            st = stage_quiet(s, t, v, 1024);
            st = st == STORE_OK ? s->ops->txn_commit(t) : (s->ops->txn_abort(t), st);
        }
        if (st != STORE_OK)
            snprintf(failure, sizeof failure, "commit %llu: %s", (unsigned long long)v,
                     store_status_str(st));
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    if (failure[0])
        fail_msg("writer: %s", failure);
    if (r.failure[0])
        fail_msg("reader: %s", r.failure);
    assert_true(atomic_load(&r.loops) >= 20);
    assert_head_version(s, 1000);
    assert_version_is(s, 1000, 1024);
}

/* --- LMDB only ------------------------------------------------------------------------------ */

static void test_lmdb_data_persists_across_close_and_reopen(void **state)
{
    fixture *fx = *state;
    store_open_opts o = fx_opts(fx);
    o.fsync = 1;
    fx_reopen(fx, &o);
    store_txn *t = full_batch(fx->s);
    assert_int_equal(fx->s->ops->txn_commit(t), STORE_OK);
    commit_versions(fx->s, 2, 5, 2, ART_LEN);
    o.fsync = 0;
    fx_reopen(fx, &o);
    assert_head_version(fx->s, 5);
    for (uint64_t v = 1; v <= 5; v++)
        assert_version_is(fx->s, v, ART_LEN);
    assert_int_equal(last_audit(fx->s), 5);
    got g = {0};
    assert_int_equal(fx->s->ops->get_proposal(fx->s, "01HPROPOSAL", got_cb, &g), STORE_OK);
    assert_int_equal(fx->s->ops->get_meta(fx->s, "frozen", got_cb, &g), STORE_OK);
    got_free(&g);
    commit_versions(fx->s, 6, 6, 1, ART_LEN); /* the order check sees the stored tail */
    store_txn *t2;
    uint8_t b3[32] = {0};
    assert_int_equal(fx->s->ops->txn_begin(fx->s, &t2), STORE_OK);
    assert_int_equal(fx->s->ops->txn_put_version(t2, 8, "x", 1, b3), STORE_EINVAL);
    fx->s->ops->txn_abort(t2);
}

static void test_lmdb_creates_dir_0700_and_files_0600(void **state)
{
    fixture *fx = *state;
    char dir[320], path[512], err[256];
    struct stat sb;
    store *s = NULL;
    snprintf(dir, sizeof dir, "%s/a/b", fx->root);
    mode_t old = umask(0); /* the modes must not depend on the caller's umask */
    store_open_opts o = {.data_dir = dir};
    int st = store_lmdb_open(&o, &s, err, sizeof err);
    umask(old);
    assert_int_equal(st, STORE_OK);
    commit_versions(s, 1, 1, 1, 10);
    s->ops->close(s);
    const char *dirs[] = {"a", "a/b"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", fx->root, dirs[i]);
        assert_int_equal(stat(path, &sb), 0);
        assert_true(S_ISDIR(sb.st_mode));
        assert_int_equal(sb.st_mode & 07777, 0700);
    }
    const char *files[] = {"data.mdb", "lock.mdb", "LOCK"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 07777, 0600);
    }
}

static void test_lmdb_open_refuses_a_data_dir_that_is_a_file(void **state)
{
    fixture *fx = *state;
    char path[512], err[256] = "";
    store *s = (store *)&path;
    snprintf(path, sizeof path, "%s/file", fx->root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    store_open_opts o = {.data_dir = path};
    assert_int_equal(store_lmdb_open(&o, &s, err, sizeof err), STORE_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "not a directory"));
    o.data_dir = NULL;
    assert_int_equal(store_lmdb_open(&o, &s, err, sizeof err), STORE_EINVAL);
    assert_true(err[0] != '\0');
}

static void test_lmdb_map_grows_within_one_large_txn(void **state)
{
    fixture *fx = *state;
    store_open_opts o = fx_opts(fx);
    o.map_size = 64 << 10;
    fx_reopen(fx, &o);
    commit_versions(fx->s, 1, 64, 64, 64 << 10); /* 4 MiB in one commit */
    assert_head_version(fx->s, 64);
    for (uint64_t v = 1; v <= 64; v += 9)
        assert_version_is(fx->s, v, 64 << 10);
    assert_true(fx->s->ops->size_bytes(fx->s) >= 64 * (64 << 10));
}

static void test_lmdb_map_grows_across_many_txns_and_reopens_small(void **state)
{
    fixture *fx = *state;
    store_open_opts o = fx_opts(fx);
    o.map_size = 64 << 10;
    fx_reopen(fx, &o);
    commit_versions(fx->s, 1, 256, 1, 16 << 10); /* 4 MiB in 256 commits */
    /* reopening with a map smaller than the file: the file size decides */
    fx_reopen(fx, &o);
    assert_head_version(fx->s, 256);
    commit_versions(fx->s, 257, 320, 8, 16 << 10);
    for (uint64_t v = 1; v <= 320; v += 17)
        assert_version_is(fx->s, v, 16 << 10);
    assert_int_equal(last_audit(fx->s), 320);
}

/* Child side of the read-only test; returns the process exit code (0 = all good). */
static int ro_child(const char *dir, int to_parent, int from_parent)
{
    store *s = NULL;
    store_txn *t = NULL;
    store_head h;
    char err[256], c = 'A';
    alarm(20);
    store_open_opts o = {.data_dir = dir, .read_only = 1, .map_size = 64 << 10};
    if (store_lmdb_open(&o, &s, err, sizeof err) != STORE_OK)
        return 10;
    int rc = 0;
    if (s->ops->get_head(s, &h) != STORE_OK || h.version != 3)
        rc = 11;
    else if (s->ops->txn_begin(s, &t) != STORE_EINVAL || t != NULL)
        rc = 12;
    else if (write(to_parent, &c, 1) != 1 || read(from_parent, &c, 1) != 1)
        rc = 13;
    /* the writer has grown the file far beyond this process's map: MDB_MAP_RESIZED */
    else if (s->ops->get_head(s, &h) != STORE_OK || h.version != 67)
        rc = 14;
    else {
        uint8_t b3[32];
        keys ks = {0};
        if (s->ops->iter_versions(s, 0, keys_cb, &ks) != STORE_OK || ks.n != 67)
            rc = 15;
        else if (s->ops->get_artifact_hash(s, 67, b3) != STORE_OK)
            rc = 16;
    }
    s->ops->close(s);
    return rc;
}

static void test_lmdb_read_only_open_beside_a_live_writer_sees_data_and_refuses_writes(void **state)
{
    fixture *fx = *state;
    int up[2], down[2], status = 0;
    char c;
    commit_versions(fx->s, 1, 3, 3, ART_LEN);
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(ro_child(fx->data_dir, up[1], down[0]));
    close(up[1]);
    close(down[0]);
    int got_a = read(up[0], &c, 1) == 1;
    if (got_a)
        commit_versions(fx->s, 4, 67, 8, 64 << 10); /* 4 MiB more while the reader is open */
    c = 'B';
    if (got_a)
        assert_int_equal(write(down[1], &c, 1), 1);
    close(up[0]);
    close(down[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(got_a);
}

/* The pid a LOCK file names (0 if none). */
static long lock_file_pid(const char *dir)
{
    char path[512], text[32] = "";
    snprintf(path, sizeof path, "%s/LOCK", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long pid = fgets(text, sizeof text, f) ? atol(text) : 0;
    fclose(f);
    return pid;
}

static void test_lmdb_second_writer_on_a_data_dir_is_refused_while_readers_are_not(void **state)
{
    fixture *fx = *state;
    char err[512] = "", want[64];
    store *s2 = NULL;
    commit_versions(fx->s, 1, 2, 2, ART_LEN);
    assert_int_equal(lock_file_pid(fx->data_dir), (long)getpid());
    /* a second read-write open - here in this process, the same rule for another one */
    store_open_opts o = fx_opts(fx);
    assert_int_equal(store_lmdb_open(&o, &s2, err, sizeof err), STORE_EBUSY);
    assert_null(s2);
    assert_non_null(strstr(err, fx->data_dir));
    snprintf(want, sizeof want, "pid %ld", (long)getpid());
    assert_non_null(strstr(err, want));
    /* another process is refused the same way and leaves the holder's pid in place */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        store *c = NULL;
        _exit(store_lmdb_open(&o, &c, NULL, 0) == STORE_EBUSY ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(lock_file_pid(fx->data_dir), (long)getpid());
    /* readers take no lock */
    store_open_opts ro = {.data_dir = fx->data_dir, .read_only = 1};
    assert_int_equal(store_lmdb_open(&ro, &s2, err, sizeof err), STORE_OK);
    assert_head_version(s2, 2);
    s2->ops->close(s2);
    /* the writer still writes, and once it closes the next writer gets the directory */
    commit_versions(fx->s, 3, 3, 1, ART_LEN);
    fx->s->ops->close(fx->s);
    fx->s = NULL;
    assert_int_equal(store_lmdb_open(&o, &fx->s, err, sizeof err), STORE_OK);
    assert_head_version(fx->s, 3);
}

static void test_lmdb_lock_of_a_killed_writer_is_released(void **state)
{
    fixture *fx = *state;
    char err[256];
    fx->s->ops->close(fx->s);
    fx->s = NULL;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        store *c = NULL;
        store_open_opts o = fx_opts(fx);
        char ch = store_lmdb_open(&o, &c, NULL, 0) == STORE_OK ? 'y' : 'n';
        if (write(ready[1], &ch, 1) != 1)
            _exit(1);
        for (;;)
            pause(); /* holds the lock until killed */
    }
    close(ready[1]);
    char ch = 0;
    assert_int_equal(read(ready[0], &ch, 1), 1);
    close(ready[0]);
    assert_int_equal(ch, 'y');
    store_open_opts o = fx_opts(fx);
    assert_int_equal(store_lmdb_open(&o, &fx->s, err, sizeof err), STORE_EBUSY);
    assert_int_equal(lock_file_pid(fx->data_dir), (long)pid);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    /* no stale lock: the kernel dropped it with the process; the stale pid is overwritten */
    assert_int_equal(store_lmdb_open(&o, &fx->s, err, sizeof err), STORE_OK);
    assert_int_equal(lock_file_pid(fx->data_dir), (long)getpid());
}

static void test_lmdb_lock_file_that_is_a_symlink_is_refused(void **state)
{
    fixture *fx = *state;
    char dir[512], path[600], target[600], err[512] = "";
    store *s = NULL;
    snprintf(dir, sizeof dir, "%s/linked", fx->root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/LOCK", dir);
    snprintf(target, sizeof target, "%s/elsewhere", fx->root);
    assert_int_equal(symlink(target, path), 0);
    store_open_opts o = {.data_dir = dir};
    assert_int_equal(store_lmdb_open(&o, &s, err, sizeof err), STORE_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "LOCK"));
    assert_int_equal(access(target, F_OK), -1); /* nothing created through the link */
}

static void test_lmdb_read_only_open_of_a_missing_store_creates_nothing(void **state)
{
    fixture *fx = *state;
    char dir[512], err[256] = "";
    store *s = NULL;
    store_open_opts o = {.data_dir = dir, .read_only = 1};
    snprintf(dir, sizeof dir, "%s/none", fx->root);
    assert_int_equal(store_lmdb_open(&o, &s, err, sizeof err), STORE_EIO);
    assert_null(s);
    assert_true(err[0] != '\0');
    assert_int_equal(access(dir, F_OK), -1);
    assert_int_equal(mkdir(dir, 0700), 0); /* an empty directory stays empty */
    err[0] = '\0';
    assert_int_equal(store_lmdb_open(&o, &s, err, sizeof err), STORE_EIO);
    assert_true(err[0] != '\0');
    assert_int_equal(dir_entries(dir), 0);
}

static void test_lmdb_short_head_record_is_reported_as_corrupt(void **state)
{
    fixture *fx = *state;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    commit_versions(fx->s, 1, 1, 1, 10);
    fx->s->ops->close(fx->s);
    fx->s = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, fx->data_dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    MDB_val k = {.mv_size = 4, .mv_data = "head"}, v = {.mv_size = 10, .mv_data = "0123456789"};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    store_open_opts o = fx_opts(fx);
    fx_reopen(fx, &o);
    store_head h;
    assert_int_equal(fx->s->ops->get_head(fx->s, &h), STORE_ECORRUPT);
}

static void test_lmdb_size_bytes_is_the_data_file_size(void **state)
{
    fixture *fx = *state;
    char path[512];
    struct stat sb;
    commit_versions(fx->s, 1, 10, 5, 5000);
    snprintf(path, sizeof path, "%s/data.mdb", fx->data_dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(fx->s->ops->size_bytes(fx->s), (int64_t)sb.st_size);
}

/* --- memory only ----------------------------------------------------------------------------- */

static void test_memory_store_creates_no_file(void **state)
{
    fixture *fx = *state;
    char cwd[PATH_MAX], sub[512], err[256];
    store *s = NULL;
    assert_int_equal(dir_entries(fx->root), 0); /* the fixture's data_dir was never created */
    snprintf(sub, sizeof sub, "%s/cwd", fx->root);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(sub), 0);
    store_open_opts o = {.data_dir = "data/registry", .fsync = 1};
    int st = store_memory_open(&o, &s, err, sizeof err);
    if (st == STORE_OK) {
        commit_versions(s, 1, 50, 7, 512);
        assert_version_is(s, 50, 512);
        s->ops->close(s);
    }
    int entries = dir_entries(".");
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(st, STORE_OK);
    assert_int_equal(entries, 0);
    assert_int_equal(dir_entries(fx->root), 1);
}

static void test_memory_read_only_open_refuses_writes(void **state)
{
    (void)state;
    store *s = NULL;
    store_txn *t = (store_txn *)&s;
    store_open_opts o = {.read_only = 1};
    assert_int_equal(store_memory_open(&o, &s, NULL, 0), STORE_OK);
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_EINVAL);
    assert_null(t);
    assert_head_version(s, 0);
    s->ops->close(s);
}

static void test_store_status_str_names_every_status(void **state)
{
    (void)state;
    int all[] = {STORE_OK,       STORE_NOTFOUND, STORE_EIO,    STORE_ENOSPC,
                 STORE_ECORRUPT, STORE_ENOMEM,   STORE_EINVAL, STORE_EBUSY};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(store_status_str(all[i]), store_status_str(all[j]));
    assert_non_null(store_status_str(12345));
}

/* Commits one proposal record "r" under `id`. */
static void commit_proposal(store *s, const char *id)
{
    store_txn *t;
    assert_int_equal(s->ops->txn_begin(s, &t), STORE_OK);
    assert_int_equal(s->ops->txn_put_proposal(t, id, "r", 1), STORE_OK);
    assert_int_equal(s->ops->txn_commit(t), STORE_OK);
}

static int stop_cb(void *ctx, const void *data, size_t len)
{
    (void)data, (void)len;
    (*(int *)ctx)++;
    return STORE_STOP;
}

static int stop_seq_cb(void *ctx, uint64_t key, const void *data, size_t len)
{
    (void)key;
    return stop_cb(ctx, data, len);
}

static int stop_named_cb(void *ctx, const char *key, const void *data, size_t len)
{
    (void)key;
    return stop_cb(ctx, data, len);
}

static void test_store_stop_value_ends_reads_and_is_not_notfound(void **state)
{
    store *s = ((fixture *)*state)->s;
    int calls = 0;
    assert_int_not_equal(STORE_STOP, STORE_NOTFOUND);
    assert_int_not_equal(STORE_STOP, STORE_OK);
    commit_versions(s, 1, 3, 3, 8);
    commit_proposal(s, "p1");
    commit_proposal(s, "p2");
    assert_int_equal(s->ops->iter_versions(s, 0, stop_seq_cb, &calls), STORE_STOP);
    assert_int_equal(s->ops->iter_audit(s, 2, stop_seq_cb, &calls), STORE_STOP);
    assert_int_equal(s->ops->iter_proposals(s, stop_named_cb, &calls), STORE_STOP);
    assert_int_equal(s->ops->get_version(s, 2, stop_cb, &calls), STORE_STOP);
    assert_int_equal(calls, 4); /* the iterations stopped at their first record */
    assert_int_equal(s->ops->get_version(s, 9, stop_cb, &calls), STORE_NOTFOUND);
    assert_int_equal(calls, 4);
}

/* A read fault fails that many read calls with EIO, changes nothing and leaves the store
 * serving; it is armed beside a write fault, and STORE_FAULT_NONE disarms both. */
static void test_store_read_fault_fails_that_many_reads_and_changes_nothing(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_head h;
    uint8_t b3[32];
    uint64_t seq;
    got g = {0};
    commit_versions(s, 1, 2, 2, ART_LEN);
    commit_proposal(s, "p1");
    s->ops->fault_arm(s, STORE_FAULT_READ, 6);
    assert_int_equal(s->ops->get_version(s, 1, never_cb, NULL), STORE_EIO);
    assert_int_equal(s->ops->get_artifact_hash(s, 1, b3), STORE_EIO);
    assert_int_equal(s->ops->get_proposal(s, "p1", never_cb, NULL), STORE_EIO);
    assert_int_equal(s->ops->get_head(s, &h), STORE_EIO);
    assert_int_equal(s->ops->iter_versions(s, 0, keys_cb, &(keys){0}), STORE_EIO);
    assert_int_equal(s->ops->last_audit_seq(s, &seq), STORE_EIO);
    assert_head_version(s, 2); /* the sixth was the last */
    assert_version_is(s, 2, ART_LEN);
    assert_int_equal(try_commit(s, 3), STORE_OK); /* writes never consumed it */
    s->ops->fault_arm(s, STORE_FAULT_READ, -1);
    s->ops->fault_arm(s, STORE_FAULT_SYNC, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(s->ops->get_meta(s, "m1", never_cb, NULL), STORE_EIO);
    assert_int_equal(try_commit(s, 4), STORE_EIO);
    s->ops->fault_arm(s, STORE_FAULT_NONE, 0);
    assert_int_equal(s->ops->get_proposal(s, "p1", got_cb, &g), STORE_OK);
    got_free(&g);
    assert_head_version(s, 3);
    assert_int_equal(try_commit(s, 4), STORE_OK);
}

/* The DSN is for SQL backends: these two accept and ignore it. */
static void test_store_open_accepts_a_dsn_it_does_not_use(void **state)
{
    fixture *fx = *state;
    commit_versions(fx->s, 1, 1, 1, ART_LEN);
    store_open_opts o = fx_opts(fx);
    o.dsn = "postgresql://nobody@127.0.0.1:1/none";
    fx_reopen(fx, &o);
    if (fx->be->kind == STORE_KIND_LMDB)
        assert_head_version(fx->s, 1);
    else
        assert_head_version(fx->s, 0); /* amnesia */
}

static void test_store_open_of_an_unknown_kind_is_einval(void **state)
{
    (void)state;
    store *s = (store *)&s;
    char err[128];
    assert_int_equal(store_open((store_kind)99, NULL, &s, err, sizeof err), STORE_EINVAL);
    assert_null(s);
    assert_non_null(strstr(err, "unknown backend"));
}

static void test_store_fault_parse_reads_every_kind(void **state)
{
    (void)state;
    store_fault f = STORE_FAULT_NONE;
    int count = 0;
    assert_int_equal(store_fault_parse("write", &f, &count), 0);
    assert_int_equal(f, STORE_FAULT_WRITE);
    assert_int_equal(count, 1);
    assert_int_equal(store_fault_parse("sync:3", &f, &count), 0);
    assert_int_equal(f, STORE_FAULT_SYNC);
    assert_int_equal(count, 3);
    assert_int_equal(store_fault_parse("enospc:-1", &f, &count), 0);
    assert_int_equal(f, STORE_FAULT_ENOSPC);
    assert_int_equal(count, -1);
    assert_int_equal(store_fault_parse("read:2", &f, &count), 0);
    assert_int_equal(f, STORE_FAULT_READ);
    assert_int_equal(count, 2);
    assert_int_equal(store_fault_parse("reader", &f, &count), -1);
    assert_int_equal(store_fault_parse("", &f, &count), -1);
    assert_int_equal(store_fault_parse(NULL, &f, &count), -1);
    assert_int_equal(f, STORE_FAULT_READ); /* a refused spec sets nothing */
}

/* The contract: every test here runs once per row of `backends`. */
#define CONTRACT(f)                                                                                \
    {                                                                                              \
#f, f, fx_setup, fx_teardown, NULL                                                         \
    }
/* Backend-specific tests carry their backend. */
/* clang-format off */
#define LMDB(f) {"lmdb: " #f, f, fx_setup, fx_teardown, (void *)lmdb_backend}
#define MEMORY(f) {"memory: " #f, f, fx_setup, fx_teardown, (void *)memory_backend}
/* clang-format on */

int main(void)
{
    const struct CMUnitTest contract[] = {
        CONTRACT(test_store_empty_store_has_head_version_zero),
        CONTRACT(test_store_commit_makes_batch_visible_atomically),
        CONTRACT(test_store_abort_leaves_nothing_visible),
        CONTRACT(test_store_second_write_txn_is_rejected),
        CONTRACT(test_store_out_of_order_version_is_rejected),
        CONTRACT(test_store_out_of_order_audit_seq_is_rejected),
        CONTRACT(test_store_iteration_is_ordered_and_honours_from),
        CONTRACT(test_store_iteration_stops_with_the_callbacks_value),
        CONTRACT(test_store_stop_value_ends_reads_and_is_not_notfound),
        CONTRACT(test_store_proposals_iterate_in_id_order_and_replace),
        CONTRACT(test_store_get_artifact_hash_returns_the_stored_hash),
        CONTRACT(test_store_meta_set_replace_and_delete),
        CONTRACT(test_store_invalid_arguments_are_rejected),
        CONTRACT(test_store_write_fault_fails_commit_and_leaves_nothing_visible),
        CONTRACT(test_store_sync_fault_fails_commit_and_leaves_nothing_visible),
        CONTRACT(test_store_enospc_fault_fails_commit_and_leaves_nothing_visible),
        CONTRACT(test_store_fault_count_fails_that_many_commits),
        CONTRACT(test_store_fault_forever_fails_until_disarmed),
        CONTRACT(test_store_read_fault_fails_that_many_reads_and_changes_nothing),
        CONTRACT(test_store_read_callbacks_may_nest_reads),
        CONTRACT(test_store_size_bytes_grows_with_data),
        CONTRACT(test_store_reader_sees_consistent_snapshots_while_writer_commits),
        CONTRACT(test_store_open_accepts_a_dsn_it_does_not_use),
    };
    const struct CMUnitTest specific[] = {
        LMDB(test_lmdb_data_persists_across_close_and_reopen),
        LMDB(test_lmdb_creates_dir_0700_and_files_0600),
        LMDB(test_lmdb_open_refuses_a_data_dir_that_is_a_file),
        LMDB(test_lmdb_map_grows_within_one_large_txn),
        LMDB(test_lmdb_map_grows_across_many_txns_and_reopens_small),
        LMDB(test_lmdb_read_only_open_beside_a_live_writer_sees_data_and_refuses_writes),
        LMDB(test_lmdb_read_only_open_of_a_missing_store_creates_nothing),
        LMDB(test_lmdb_second_writer_on_a_data_dir_is_refused_while_readers_are_not),
        LMDB(test_lmdb_lock_of_a_killed_writer_is_released),
        LMDB(test_lmdb_lock_file_that_is_a_symlink_is_refused),
        LMDB(test_lmdb_short_head_record_is_reported_as_corrupt),
        LMDB(test_lmdb_size_bytes_is_the_data_file_size),
        MEMORY(test_memory_store_creates_no_file),
        MEMORY(test_memory_read_only_open_refuses_writes),
        cmocka_unit_test(test_store_status_str_names_every_status),
        cmocka_unit_test(test_store_open_of_an_unknown_kind_is_einval),
        cmocka_unit_test(test_store_fault_parse_reads_every_kind),
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        char name[64];
        contract_backend = &backends[i];
        snprintf(name, sizeof name, "store contract: %s", backends[i].name);
        failed += _cmocka_run_group_tests(name, contract, sizeof contract / sizeof contract[0],
                                          NULL, NULL);
    }
    return failed + cmocka_run_group_tests_name("backend-specific", specific, NULL, NULL);
}
