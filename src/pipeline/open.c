/* open.c - starting and stopping the pipeline: trust roots at genesis, loading HEAD, the audit
 * tip, the freeze state and pending proposals, verifying recent history before serving, and the
 * background verifier for the rest. */
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "governance/artifact.h"
#include "governance/chain_verify.h"
#include "interop/jcs.h"
#include "pipeline/batch.h"

#define META_TRUST_ROOTS "trust_roots"
#define META_FROZEN "frozen"

/* Reads the record `key` through fn (one of the store's get_*) into out. Opener. */
static int get_bytes(store *st, int (*fn)(store *, const char *, store_bytes_cb, void *),
                     const char *key, buf *out)
{
    return fn(st, key, pl_copy_bytes, out);
}

/* Parses trust-roots bytes into their canonical form and signer set. Opener. */
static svcr_code parse_roots(const void *bytes, size_t len, buf *canon, signer_set **set,
                             svcr_err *err)
{
    json_t *j = jcs_parse(bytes, len, 0, err);
    if (!j)
        return SVCR_E_MALFORMED;
    svcr_code c = jcs_write(canon, j, err) == 0 ? SVCR_OK : SVCR_E_MALFORMED;
    if (c == SVCR_OK)
        c = signer_set_from_json(j, "trust_roots", set, err);
    json_decref(j);
    return c;
}

/* Resolves the genesis signer set: the configured file (pinned) and what the store was founded
 * with must agree; the store's copy wins and a first start records it. Opener. */
static svcr_code setup_roots(pipeline *p, const store_head *sh, svcr_err *err)
{
    const pipeline_opts *o = &p->cfg.o;
    buf cfg = {0}, stored = {0};
    signer_set *cfg_set = NULL;
    svcr_code c = SVCR_OK;
    if (o->trust_roots) {
        c = parse_roots(o->trust_roots, o->trust_roots_len, &cfg, &cfg_set, err);
        if (c == SVCR_OK && o->trust_roots_pin && *o->trust_roots_pin) {
            char tag[B3_TAG_LEN + 1];
            b3_tag_of(cfg.data, cfg.len, tag);
            if (strcmp(tag, o->trust_roots_pin) != 0)
                c = svcr_err_set(err, SVCR_E_MALFORMED, "bootstrap.trust_roots_hash",
                                 "pin_mismatch", "trust roots hash %s does not match the pin", tag);
        }
    }
    int rc = c == SVCR_OK
                 ? get_bytes(p->cfg.st, p->cfg.st->ops->get_meta, META_TRUST_ROOTS, &stored)
                 : STORE_OK;
    if (c == SVCR_OK && rc == STORE_OK) {
        buf canon = {0};
        signer_set *set = NULL;
        if (parse_roots(stored.data, stored.len, &canon, &set, NULL) != SVCR_OK) {
            p->state.chain_fault = 1;
            snprintf(p->state.chain_fault_msg, sizeof p->state.chain_fault_msg,
                     "stored trust roots are unreadable");
        } else if (cfg_set && (cfg.len != canon.len || memcmp(cfg.data, canon.data, cfg.len))) {
            c = svcr_err_set(err, SVCR_E_MALFORMED, "bootstrap.trust_roots_path", "roots_differ",
                             "the configured trust roots differ from the ones this registry "
                             "was founded with");
        }
        p->cfg.trust_roots = set;
        buf_free(&canon);
    } else if (c == SVCR_OK && rc == STORE_NOTFOUND && cfg_set) {
        if (sh->version > 0) {
            p->state.chain_fault = 1;
            snprintf(p->state.chain_fault_msg, sizeof p->state.chain_fault_msg,
                     "history exists but its trust roots were never recorded");
        } else {
            store_txn *t = NULL;
            rc = p->cfg.st->ops->txn_begin(p->cfg.st, &t);
            if (rc == STORE_OK)
                rc = p->cfg.st->ops->txn_put_meta(t, META_TRUST_ROOTS, cfg.data, cfg.len);
            if (rc == STORE_OK)
                rc = p->cfg.st->ops->txn_commit(t);
            else if (t)
                p->cfg.st->ops->txn_abort(t);
            if (rc != STORE_OK) {
                char why[160];
                p->cfg.st->ops->last_write_error(p->cfg.st, why, sizeof why);
                c = svcr_err_set(err, SVCR_E_INTERNAL, NULL, "storage",
                                 "cannot record the trust roots: %s (%s)", store_status_str(rc),
                                 why[0] ? why : "no detail");
            } else {
                p->cfg.trust_roots = signer_set_retain(cfg_set);
            }
        }
    } else if (c == SVCR_OK && rc != STORE_NOTFOUND) {
        c = svcr_err_set(err, SVCR_E_INTERNAL, NULL, "storage", "cannot read the store: %s",
                         store_status_str(rc));
    }
    signer_set_release(cfg_set);
    buf_free(&cfg);
    buf_free(&stored);
    return c;
}

/* HEAD from the store: the artifact of the last version gives the governing signer set. Opener. */
static svcr_code load_head(pipeline *p, const store_head *sh, svcr_err *err)
{
    head_snap *h = NULL;
    if (sh->version == 0) {
        h = head_snap_new(0, NULL, 0, p->cfg.trust_roots);
    } else {
        buf art = {0};
        artifact *a = NULL;
        int rc = p->cfg.st->ops->get_version(p->cfg.st, sh->version, pl_copy_bytes, &art);
        char tag[B3_TAG_LEN + 1];
        b3_tag_format(sh->payload_b3, tag);
        if (rc != STORE_OK || artifact_parse(art.data, art.len, &a, NULL) != SVCR_OK ||
            strcmp(a->ds->b3, tag) != 0) {
            p->state.chain_fault = 1;
            snprintf(p->state.chain_fault_msg, sizeof p->state.chain_fault_msg,
                     "HEAD version %llu cannot be read back or does not match its artifact",
                     (unsigned long long)sh->version);
            h = head_snap_new(sh->version, tag, sh->committed_at_ms, NULL);
        } else {
            h = head_snap_new(sh->version, tag, sh->committed_at_ms, a->ds->signers);
        }
        artifact_free(a);
        buf_free(&art);
    }
    if (!h)
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "oom", "out of memory");
    head_cell_init(&p->head, h);
    return SVCR_OK;
}

typedef struct tip_ctx {
    audit_tip *tip;
    int ok;
} tip_ctx;

/* iter_audit callback: takes the hash of the last audit record. Opener. */
static int read_tip(void *vctx, uint64_t seq, const void *data, size_t len)
{
    tip_ctx *c = vctx;
    json_t *j = jcs_parse(data, len, 0, NULL);
    const char *h = json_string_value(json_object_get(j, "hash"));
    if (h && strlen(h) == B3_TAG_LEN) {
        c->tip->seq = seq;
        memcpy(c->tip->hash, h, B3_TAG_LEN + 1);
        c->ok = 1;
    }
    json_decref(j);
    return STORE_STOP; /* one record is enough */
}

/* The audit chain's tip (the committer's from then on). Opener. */
static svcr_code load_audit_tip(pipeline *p, svcr_err *err)
{
    audit_tip_init(&p->wr.tip);
    uint64_t last = 0;
    if (p->cfg.st->ops->last_audit_seq(p->cfg.st, &last) != STORE_OK)
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "storage", "cannot read the audit log");
    if (last == 0)
        return SVCR_OK;
    tip_ctx c = {&p->wr.tip, 0};
    p->cfg.st->ops->iter_audit(p->cfg.st, last, read_tip, &c);
    if (!c.ok) {
        p->state.chain_fault = 1;
        snprintf(p->state.chain_fault_msg, sizeof p->state.chain_fault_msg,
                 "the last audit record cannot be read");
    }
    return SVCR_OK;
}

/* The operator's freeze, if one is stored. Opener. */
static void load_frozen(pipeline *p)
{
    buf b = {0};
    if (get_bytes(p->cfg.st, p->cfg.st->ops->get_meta, META_FROZEN, &b) == STORE_OK) {
        json_t *j = jcs_parse(b.data, b.len, 0, NULL);
        p->state.frozen = 1;
        snprintf(p->state.frozen_reason, sizeof p->state.frozen_reason, "%s",
                 j ? json_string_value(json_object_get(j, "reason")) : "");
        json_decref(j);
    }
    buf_free(&b);
}

/* Keeps one stored proposal in the map if it is still open for HEAD+1. Opener. */
static int load_pending(void *vctx, const char *id, const void *data, size_t len)
{
    pipeline *p = vctx;
    (void)id;
    head_snap *h = p->head.cur;
    proposal *pr = NULL;
    int decoded = proposal_decode(data, len, h->governing, &pr, NULL) == SVCR_OK;
    /* the record was parsed into a tree ~20 times its size and freed (only the canonical bytes
     * are kept): hand that memory back, so that startup never needs RAM for the trees of every
     * open proposal at once (D41) */
    if (len >= (256u << 10))
        malloc_trim(0);
    if (!decoded)
        return 0; /* an unreadable record stays in storage; it cannot be approved */
    if (pr->status == PROPOSAL_PENDING && pr->ds->version == h->version + 1 && h->governing &&
        pl_map_put(&p->pend.map, pr) == 0)
        return 0;
    proposal_free(pr);
    return 0;
}

/* Loads the proposals open for HEAD+1 from the pending index (meta "pending"); a store written
 * before the index existed is scanned instead. Opener. */
static void load_pending_index(pipeline *p)
{
    buf idx = {0};
    int rc = get_bytes(p->cfg.st, p->cfg.st->ops->get_meta, "pending", &idx);
    json_t *ids = rc == STORE_OK ? jcs_parse(idx.data, idx.len, 0, NULL) : NULL;
    buf_free(&idx);
    if (!json_is_array(ids)) {
        json_decref(ids);
        p->cfg.st->ops->iter_proposals(p->cfg.st, load_pending, p);
        return;
    }
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        const char *s = json_string_value(id);
        buf rec = {0};
        if (s && p->cfg.st->ops->get_proposal(p->cfg.st, s, pl_copy_bytes, &rec) == STORE_OK)
            load_pending(p, s, rec.data, rec.len);
        buf_free(&rec);
    }
    json_decref(ids);
}

/* Verification of versions [from, to] with signatures; stops at the first failure. */
typedef struct verify_ctx {
    pipeline *p;
    chain_verifier cv;
    uint64_t to;
    svcr_err err;
    int failed;
} verify_ctx;

/* iter_versions callback: verifies one version and records the progress. Verifier (or the
 * opener at startup). */
static int verify_one(void *vctx, uint64_t version, const void *data, size_t len)
{
    verify_ctx *c = vctx;
    if (version > c->to || atomic_load(&c->p->ver.stop))
        return STORE_STOP;
    uint8_t stored[B3_LEN];
    int have = c->p->cfg.st->ops->get_artifact_hash(c->p->cfg.st, version, stored) == STORE_OK;
    if (version != c->cv.next_version ||
        chain_verify_next(&c->cv, data, len, have ? stored : NULL, 1, &c->err) != SVCR_OK) {
        if (version != c->cv.next_version)
            svcr_err_set(&c->err, SVCR_E_MALFORMED, NULL, "chain", "version %llu is missing",
                         (unsigned long long)c->cv.next_version);
        c->failed = 1;
        return STORE_STOP;
    }
    pthread_mutex_lock(&c->p->state.mu);
    if (version > c->p->state.verified_through)
        c->p->state.verified_through = version;
    pthread_mutex_unlock(&c->p->state.mu);
    return 0;
}

/* Records a verification failure: writes are refused from then on. Verifier (or opener). */
static void mark_chain_fault(pipeline *p, const svcr_err *e)
{
    pthread_mutex_lock(&p->state.mu);
    p->state.chain_fault = 1;
    snprintf(p->state.chain_fault_msg, sizeof p->state.chain_fault_msg, "%s", e->message);
    pthread_mutex_unlock(&p->state.mu);
}

/* Verifies [from, to]; from == 1 starts at the trust roots. Verifier (or opener). */
static void verify_chunk(pipeline *p, uint64_t from, uint64_t to)
{
    verify_ctx c = {.p = p, .to = to};
    if (from == 1) {
        chain_verifier_init_genesis(&c.cv, p->cfg.trust_roots);
    } else {
        buf prev = {0};
        if (p->cfg.st->ops->get_version(p->cfg.st, from - 1, pl_copy_bytes, &prev) != STORE_OK ||
            chain_verifier_init_after(&c.cv, from - 1, prev.data, prev.len, &c.err) != SVCR_OK) {
            svcr_err_set(&c.err, SVCR_E_MALFORMED, NULL, "chain", "version %llu cannot be read",
                         (unsigned long long)(from - 1));
            c.failed = 1;
        }
        buf_free(&prev);
    }
    if (!c.failed)
        p->cfg.st->ops->iter_versions(p->cfg.st, from, verify_one, &c);
    if (!c.failed && c.cv.next_version <= to && !atomic_load(&p->ver.stop)) {
        svcr_err_set(&c.err, SVCR_E_MALFORMED, NULL, "chain", "version %llu is missing",
                     (unsigned long long)c.cv.next_version);
        c.failed = 1;
    }
    if (c.failed)
        mark_chain_fault(p, &c.err);
    chain_verifier_free(&c.cv);
}

typedef struct chunk_args {
    pipeline *p;
    uint64_t from, to;
} chunk_args;

/* A startup verification chunk's thread body. Verifier (a chunk thread). */
static void *chunk_main(void *arg)
{
    chunk_args *a = arg;
    verify_chunk(a->p, a->from, a->to);
    return NULL;
}

/* Verifies [from, to], split across the cores: each chunk starts from the artifact before it,
 * which the previous chunk verifies, so the result equals one sequential pass. */
static void verify_parts(pipeline *p, uint64_t from, uint64_t to);

/* Verifies [from, to] and records how long it took. Verifier (or opener). */
static void verify_range(pipeline *p, uint64_t from, uint64_t to)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    verify_parts(p, from, to);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_lock(&p->state.mu);
    p->state.stats.verify_seconds =
        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    pthread_mutex_unlock(&p->state.mu);
}

/* See its declaration above. Verifier (or opener). */
static void verify_parts(pipeline *p, uint64_t from, uint64_t to)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t n = to >= from ? to - from + 1 : 0;
    size_t parts = cores > 1 && n >= 256 ? (size_t)(cores > 8 ? 8 : cores) : 1;
    if (parts == 1) {
        verify_chunk(p, from, to);
        return;
    }
    pthread_t th[8];
    chunk_args args[8];
    int started[8] = {0};
    for (size_t i = 0; i < parts; i++) {
        args[i].p = p;
        args[i].from = from + n * i / parts;
        args[i].to = from + n * (i + 1) / parts - 1;
        started[i] = i > 0 && pthread_create(&th[i], NULL, chunk_main, &args[i]) == 0;
    }
    verify_chunk(p, args[0].from, args[0].to);
    for (size_t i = 1; i < parts; i++) {
        if (started[i])
            pthread_join(th[i], NULL);
        else
            verify_chunk(p, args[i].from, args[i].to);
    }
}

/* svcr-verify's body: verifies the versions older than the last verify_last_k, then drops the
 * store's cached pages. Verifier. */
static void *verifier_main(void *arg)
{
    pipeline *p = arg;
    pthread_setname_np(pthread_self(), "svcr-verify");
    head_snap *h = head_cell_get(&p->head);
    uint64_t k = p->cfg.o.verify_last_k;
    uint64_t to = h->version > k ? h->version - k : 0;
    head_snap_release(h);
    if (to > 0)
        verify_range(p, 1, to);
    p->cfg.st->ops->drop_cache(p->cfg.st); /* the scan touched every page: give them back */
    return NULL;
}

svcr_code pipeline_open(const pipeline_opts *o, pipeline **out, svcr_err *err)
{
    *out = NULL;
    pipeline *p = calloc(1, sizeof *p);
    pl_batch *b = p ? pl_batch_new() : NULL;
    if (!b) {
        free(p);
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "oom", "out of memory");
    }
    p->wr.batch = b;
    p->cfg.o = *o;
    p->cfg.st = o->st;
    p->cfg.bus = o->bus;
    p->q.cap = o->queue_cap ? o->queue_cap : 512;
    if (!p->cfg.o.verify_last_k)
        p->cfg.o.verify_last_k = 1000;
    pthread_rwlock_init(&p->pend.lock, NULL);
    pl_map_init(&p->pend.map);
    pthread_mutex_init(&p->q.mu, NULL);
    pthread_cond_init(&p->q.cv, NULL);
    pthread_mutex_init(&p->state.mu, NULL);
    atomic_init(&p->ver.stop, 0);
    store_head sh;
    int rc = p->cfg.st->ops->get_head(p->cfg.st, &sh);
    svcr_code c = rc == STORE_OK ? SVCR_OK
                                 : svcr_err_set(err, SVCR_E_INTERNAL, NULL, "storage",
                                                "cannot read HEAD: %s", store_status_str(rc));
    if (c == SVCR_OK)
        c = setup_roots(p, &sh, err);
    int head_ready = 0;
    if (c == SVCR_OK && (c = load_head(p, &sh, err)) == SVCR_OK)
        head_ready = 1;
    if (c == SVCR_OK)
        c = load_audit_tip(p, err);
    if (c != SVCR_OK) {
        if (head_ready)
            head_cell_destroy(&p->head);
        signer_set_release(p->cfg.trust_roots);
        pl_map_free(&p->pend.map);
        pl_batch_free(p->wr.batch);
        free(p);
        return c;
    }
    load_frozen(p);
    load_pending_index(p);
    if (sh.version > 0) {
        p->state.stats.recoveries_startup = 1;
        uint64_t k = p->cfg.o.verify_last_k;
        uint64_t from = sh.version > k ? sh.version - k + 1 : 1;
        verify_range(p, from, sh.version);
        if (from > 1 && o->background_verify && !p->state.chain_fault)
            p->ver.started = pthread_create(&p->ver.thread, NULL, verifier_main, p) == 0;
    }
    if (pthread_create(&p->wr.thread, NULL, pl_committer_main, p) != 0) {
        pipeline_close(p);
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "thread", "cannot start the committer");
    }
    p->wr.started = 1;
    *out = p;
    return SVCR_OK;
}

void pipeline_close(pipeline *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->q.mu);
    p->q.stopping = 1;
    pthread_cond_broadcast(&p->q.cv);
    pthread_mutex_unlock(&p->q.mu);
    if (p->wr.started)
        pthread_join(p->wr.thread, NULL);
    atomic_store(&p->ver.stop, 1);
    if (p->ver.started)
        pthread_join(p->ver.thread, NULL);
    pl_map_free(&p->pend.map);
    pl_batch_free(p->wr.batch);
    head_cell_destroy(&p->head);
    signer_set_release(p->cfg.trust_roots);
    pthread_rwlock_destroy(&p->pend.lock);
    pthread_mutex_destroy(&p->q.mu);
    pthread_cond_destroy(&p->q.cv);
    pthread_mutex_destroy(&p->state.mu);
    free(p);
}
