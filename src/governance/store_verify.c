/* store_verify.c - whole-store verification, split into ranges over worker threads (see
 * store_verify.h). */
#include "governance/store_verify.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "governance/audit.h"
#include "governance/chain_verify.h"
#include "interop/buf.h"
#include "interop/jcs.h"

#define SV_MAX_THREADS 16
#define SV_MIN_RANGE 256      /* versions or audit records per task, at least */
#define SV_TASKS_PER_THREAD 4 /* smaller tasks than threads: a slow range does not idle others */
#define SV_PROGRESS_NS 100000000L
#define SV_META_TRUST_ROOTS "trust_roots"

/* Iteration callbacks' stop values: positive and distinct from every store_status. */
#define SV_STOP 100

typedef enum sv_kind { SV_VERSIONS, SV_AUDIT } sv_kind;

/* One contiguous range of versions or audit seqs, verified by one worker. */
typedef struct sv_task {
    sv_kind kind;
    uint64_t from, to;  /* inclusive */
    uint64_t failed_at; /* first failing version / seq of this range, 0: none */
    int storage_error;
    int reached_end;             /* verified through `to` */
    char end_b3[B3_TAG_LEN + 1]; /* versions: payload_b3 of `to` once reached */
    int64_t end_committed_at_ms;
    char message[320];
} sv_task;

typedef struct sv_shared {
    store *st;
    signer_set *roots; /* borrowed; NULL when the store has none */
    sv_task *tasks;
    size_t n_tasks;
    atomic_size_t next_task;
    atomic_uint_fast64_t versions_done, audit_done;
    atomic_uint_fast64_t first_bad_version, first_bad_seq; /* UINT64_MAX: none yet */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned running;
} sv_shared;

static void sv_lower(atomic_uint_fast64_t *a, uint64_t v)
{
    uint_fast64_t cur = atomic_load(a);
    while (v < cur && !atomic_compare_exchange_weak(a, &cur, v))
        ;
}

/* Records the first failure of task t at version/seq `at`. */
static void sv_fail(sv_shared *sh, sv_task *t, uint64_t at, int storage, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void sv_fail(sv_shared *sh, sv_task *t, uint64_t at, int storage, const char *fmt, ...)
{
    if (t->failed_at)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->message, sizeof t->message, fmt, ap);
    va_end(ap);
    t->failed_at = at;
    t->storage_error = storage;
    sv_lower(t->kind == SV_VERSIONS ? &sh->first_bad_version : &sh->first_bad_seq, at);
}

static int sv_copy(void *ctx, const void *data, size_t len)
{
    return buf_append(ctx, data, len) == 0 ? 0 : STORE_ENOMEM;
}

/* --- versions ------------------------------------------------------------------------------ */

typedef struct sv_vctx {
    sv_shared *sh;
    sv_task *t;
    chain_verifier cv;
} sv_vctx;

static int sv_version_cb(void *vctx, uint64_t version, const void *data, size_t len)
{
    sv_vctx *c = vctx;
    sv_shared *sh = c->sh;
    uint64_t want = c->cv.next_version;
    if (want > c->t->to || want > atomic_load(&sh->first_bad_version))
        return SV_STOP; /* range done, or an earlier failure decides the outcome */
    if (version != want) {
        sv_fail(sh, c->t, want, 0, "version %llu is missing", (unsigned long long)want);
        return SV_STOP;
    }
    uint8_t stored[B3_LEN];
    int rc = sh->st->ops->get_artifact_hash(sh->st, version, stored);
    if (rc != STORE_OK) {
        int storage = rc != STORE_NOTFOUND && rc != STORE_ECORRUPT;
        sv_fail(sh, c->t, version, storage, "version %llu: %s", (unsigned long long)version,
                rc == STORE_NOTFOUND ? "no stored artifact hash" : store_status_str(rc));
        return SV_STOP;
    }
    svcr_err e;
    if (chain_verify_next(&c->cv, data, len, stored, 1, &e) != SVCR_OK) {
        sv_fail(sh, c->t, version, 0, "%s", e.message);
        return SV_STOP;
    }
    atomic_fetch_add(&sh->versions_done, 1);
    return 0;
}

static void sv_run_versions(sv_shared *sh, sv_task *t)
{
    store *st = sh->st;
    sv_vctx c = {.sh = sh, .t = t};
    if (t->from == 1) {
        chain_verifier_init_genesis(&c.cv, sh->roots);
    } else {
        /* Start from the artifact before the range as stored; the range before verifies it. */
        buf prev = {0};
        svcr_err e;
        int rc = st->ops->get_version(st, t->from - 1, sv_copy, &prev);
        if (rc != STORE_OK)
            sv_fail(sh, t, t->from - 1, rc != STORE_NOTFOUND, "version %llu: %s",
                    (unsigned long long)(t->from - 1),
                    rc == STORE_NOTFOUND ? "is missing" : store_status_str(rc));
        else if (chain_verifier_init_after(&c.cv, t->from - 1, prev.data, prev.len, &e) != SVCR_OK)
            sv_fail(sh, t, t->from - 1, 0, "version %llu: artifact is not a valid signed artifact",
                    (unsigned long long)(t->from - 1));
        buf_free(&prev);
        if (t->failed_at) {
            chain_verifier_free(&c.cv);
            return;
        }
    }
    int rc = st->ops->iter_versions(st, t->from, sv_version_cb, &c);
    uint64_t next = c.cv.next_version;
    if (rc < 0)
        sv_fail(sh, t, next, 1, "version %llu: cannot read the store: %s", (unsigned long long)next,
                store_status_str(rc));
    else if (!t->failed_at && next <= t->to && next <= atomic_load(&sh->first_bad_version))
        sv_fail(sh, t, next, 0, "version %llu is missing", (unsigned long long)next);
    if (!t->failed_at && next == t->to + 1) {
        t->reached_end = 1;
        memcpy(t->end_b3, c.cv.prev_b3, sizeof t->end_b3);
        t->end_committed_at_ms = c.cv.prev_committed_at_ms;
    }
    chain_verifier_free(&c.cv);
}

/* --- audit --------------------------------------------------------------------------------- */

typedef struct sv_actx {
    sv_shared *sh;
    sv_task *t;
    audit_tip tip;
} sv_actx;

static int sv_audit_cb(void *vctx, uint64_t seq, const void *data, size_t len)
{
    sv_actx *c = vctx;
    sv_shared *sh = c->sh;
    uint64_t want = c->tip.seq + 1;
    if (want > c->t->to || want > atomic_load(&sh->first_bad_seq))
        return SV_STOP;
    if (seq != want) {
        sv_fail(sh, c->t, want, 0, "audit record %llu is missing", (unsigned long long)want);
        return SV_STOP;
    }
    svcr_err e;
    if (audit_record_verify(&c->tip, data, len, &e) != SVCR_OK) {
        if (strncmp(e.message, "audit record ", 13) == 0)
            sv_fail(sh, c->t, seq, 0, "%s", e.message);
        else
            sv_fail(sh, c->t, seq, 0, "audit record %llu: not a valid record (%s)",
                    (unsigned long long)seq, e.message);
        return SV_STOP;
    }
    atomic_fetch_add(&sh->audit_done, 1);
    return 0;
}

/* Takes the stored (not yet verified) hash of the first record the iteration gives. */
static int sv_tip_cb(void *vctx, uint64_t seq, const void *data, size_t len)
{
    audit_tip *tip = vctx;
    json_t *j = jcs_parse(data, len, 0, NULL);
    const char *h = json_string_value(json_object_get(j, "hash"));
    int ok = h && strlen(h) == B3_TAG_LEN;
    if (ok) {
        tip->seq = seq;
        memcpy(tip->hash, h, sizeof tip->hash);
    }
    json_decref(j);
    return SV_STOP;
}

static void sv_run_audit(sv_shared *sh, sv_task *t)
{
    store *st = sh->st;
    sv_actx c = {.sh = sh, .t = t};
    audit_tip_init(&c.tip);
    if (t->from > 1) {
        /* Start from the record before the range as stored; the range before verifies it. */
        int rc = st->ops->iter_audit(st, t->from - 1, sv_tip_cb, &c.tip);
        if (rc < 0 || c.tip.seq != t->from - 1) {
            sv_fail(sh, t, t->from - 1, rc < 0, "audit record %llu: %s",
                    (unsigned long long)(t->from - 1),
                    rc < 0 ? store_status_str(rc) : "missing or unreadable");
            return;
        }
    }
    int rc = st->ops->iter_audit(st, t->from, sv_audit_cb, &c);
    uint64_t next = c.tip.seq + 1;
    if (rc < 0)
        sv_fail(sh, t, next, 1, "audit record %llu: cannot read the store: %s",
                (unsigned long long)next, store_status_str(rc));
    else if (!t->failed_at && next <= t->to && next <= atomic_load(&sh->first_bad_seq))
        sv_fail(sh, t, next, 0, "audit record %llu is missing", (unsigned long long)next);
    if (!t->failed_at && next == t->to + 1)
        t->reached_end = 1;
}

/* --- the worker pool ----------------------------------------------------------------------- */

static void *sv_worker(void *arg)
{
    sv_shared *sh = arg;
    pthread_setname_np(pthread_self(), "svcr-sverify");
    for (;;) {
        size_t i = atomic_fetch_add(&sh->next_task, 1);
        if (i >= sh->n_tasks)
            break;
        sv_task *t = &sh->tasks[i];
        if (t->kind == SV_VERSIONS)
            sv_run_versions(sh, t);
        else
            sv_run_audit(sh, t);
    }
    pthread_mutex_lock(&sh->mu);
    sh->running--;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    return NULL;
}

/* Appends the tasks covering [1, last] of one kind, in order. */
static void sv_plan(sv_shared *sh, sv_kind kind, uint64_t last, unsigned threads)
{
    if (last == 0)
        return;
    uint64_t n = (uint64_t)threads * SV_TASKS_PER_THREAD;
    uint64_t per = last / n + (last % n != 0); /* never overflows, even for a bogus HEAD */
    if (per < SV_MIN_RANGE)
        per = SV_MIN_RANGE;
    for (uint64_t from = 1; from <= last; from += per) {
        sv_task *t = &sh->tasks[sh->n_tasks++];
        t->kind = kind;
        t->from = from;
        t->to = last - from + 1 > per ? from + per - 1 : last;
        if (t->to == last)
            break;
    }
}

static void sv_report(const sv_shared *sh, const store_verify_opts *o,
                      const store_verify_result *out)
{
    if (!o || !o->progress)
        return;
    store_verify_progress p = {
        .versions_done = atomic_load(&sh->versions_done),
        .versions_total = out->head_version,
        .audit_done = atomic_load(&sh->audit_done),
        .audit_total = out->audit_records,
    };
    o->progress(o->progress_ctx, &p);
}

/* Runs every task on `threads` workers while this thread reports progress. */
static void sv_run_pool(sv_shared *sh, unsigned threads, const store_verify_opts *o,
                        const store_verify_result *out)
{
    pthread_t tids[SV_MAX_THREADS];
    unsigned started = 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sh->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&sh->mu, NULL);
    pthread_mutex_lock(&sh->mu);
    for (unsigned i = 0; i < threads; i++) {
        sh->running++;
        if (pthread_create(&tids[started], NULL, sv_worker, sh) != 0) {
            sh->running--;
            break;
        }
        started++;
    }
    pthread_mutex_unlock(&sh->mu);
    if (started == 0) {
        sh->running = 1;
        sv_worker(sh); /* no thread could start: do it all here */
    }
    pthread_mutex_lock(&sh->mu);
    while (sh->running > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += SV_PROGRESS_NS;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
        if (sh->running > 0) {
            pthread_mutex_unlock(&sh->mu);
            sv_report(sh, o, out);
            pthread_mutex_lock(&sh->mu);
        }
    }
    pthread_mutex_unlock(&sh->mu);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_cond_destroy(&sh->cv);
    pthread_mutex_destroy(&sh->mu);
}

/* --- the whole store ----------------------------------------------------------------------- */

static int sv_result_fail(store_verify_result *out, int storage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int sv_result_fail(store_verify_result *out, int storage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    out->storage_error = storage;
    return STORE_VERIFY_FAILED;
}

/* The genesis signer set from meta "trust_roots": STORE_VERIFY_OK with *roots (NULL if the store
 * records none), or STORE_VERIFY_FAILED with out->message. */
static int sv_load_roots(store *st, signer_set **roots, store_verify_result *out)
{
    *roots = NULL;
    buf b = {0};
    int rc = st->ops->get_meta(st, SV_META_TRUST_ROOTS, sv_copy, &b);
    if (rc == STORE_NOTFOUND)
        return STORE_VERIFY_OK;
    if (rc != STORE_OK) {
        buf_free(&b);
        return sv_result_fail(out, 1, "trust roots: cannot read the store: %s",
                              store_status_str(rc));
    }
    svcr_err e;
    json_t *j = jcs_parse(b.data, b.len, 0, &e);
    buf_free(&b);
    svcr_code c = j ? signer_set_from_json(j, "trust_roots", roots, &e) : SVCR_E_MALFORMED;
    json_decref(j);
    if (c != SVCR_OK)
        return sv_result_fail(out, 0, "trust roots: the stored signer set is invalid (%s)",
                              e.message);
    return STORE_VERIFY_OK;
}

/* With no version failure: the HEAD record must equal the last version, and nothing may lie
 * beyond HEAD while HEAD is unchanged (a live writer may have appended since the start). */
static int sv_check_head(sv_shared *sh, const store_head *h, store_verify_result *out)
{
    store *st = sh->st;
    if (h->version > 0) {
        const sv_task *last = NULL;
        for (size_t i = 0; i < sh->n_tasks; i++)
            if (sh->tasks[i].kind == SV_VERSIONS && sh->tasks[i].to == h->version)
                last = &sh->tasks[i];
        if (!last || !last->reached_end)
            return sv_result_fail(out, 0, "HEAD: version %llu was not verified",
                                  (unsigned long long)h->version);
        if (strcmp(last->end_b3, out->head_b3) != 0 ||
            last->end_committed_at_ms != h->committed_at_ms) {
            out->head_mismatch = 1;
            return sv_result_fail(out, 0,
                                  "HEAD: the record (version %llu, %s) does not match version "
                                  "%llu's artifact (%s)",
                                  (unsigned long long)h->version, out->head_b3,
                                  (unsigned long long)h->version, last->end_b3);
        }
    }
    /* Look beyond HEAD first, then re-read HEAD: a writer stores version V and HEAD = V in one
     * transaction, so if HEAD is still unchanged after V was seen, V lies beyond HEAD. */
    uint8_t hash[B3_LEN];
    buf b = {0};
    int rh = st->ops->get_artifact_hash(st, h->version + 1, hash);
    int rv = st->ops->get_version(st, h->version + 1, sv_copy, &b);
    buf_free(&b);
    store_head now;
    int rc = st->ops->get_head(st, &now);
    if (rc == STORE_OK && (rh < 0 || rv < 0))
        rc = rh < 0 ? rh : rv;
    if (rc != STORE_OK)
        return sv_result_fail(out, rc != STORE_ECORRUPT, "HEAD: cannot read the store: %s",
                              store_status_str(rc));
    if (now.version != h->version)
        return STORE_VERIFY_OK; /* a live writer moved on: what lies beyond is not ours */
    if (rh != STORE_NOTFOUND || rv != STORE_NOTFOUND) {
        out->head_mismatch = 1;
        return sv_result_fail(out, 0, "HEAD: version %llu is stored beyond HEAD (version %llu)",
                              (unsigned long long)(h->version + 1), (unsigned long long)h->version);
    }
    return STORE_VERIFY_OK;
}

static unsigned sv_threads(const store_verify_opts *o)
{
    long n = o && o->threads ? (long)o->threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > SV_MAX_THREADS ? SV_MAX_THREADS : (unsigned)n;
}

/* Fills the counts from the tasks after the pool ran and finds the first failing range of
 * each kind (NULL: none). */
static void sv_collect(const sv_shared *sh, store_verify_result *out, const sv_task **bad_v,
                       const sv_task **bad_a)
{
    *bad_v = *bad_a = NULL;
    for (size_t i = 0; i < sh->n_tasks; i++) {
        const sv_task *t = &sh->tasks[i];
        const sv_task **slot = t->kind == SV_VERSIONS ? bad_v : bad_a;
        if (t->failed_at && (!*slot || t->failed_at < (*slot)->failed_at))
            *slot = t;
    }
    out->failed_version = *bad_v ? (*bad_v)->failed_at : 0;
    out->failed_audit_seq = *bad_a ? (*bad_a)->failed_at : 0;
    out->versions_verified = *bad_v ? (*bad_v)->failed_at - 1 : out->head_version;
    out->audit_verified = *bad_a ? (*bad_a)->failed_at - 1 : out->audit_records;
}

int store_verify_all(store *st, const store_verify_opts *o, store_verify_result *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->head_b3, B3_ZERO_TAG, sizeof out->head_b3);
    store_head h;
    int rc = st->ops->get_head(st, &h);
    if (rc != STORE_OK)
        return sv_result_fail(out, rc != STORE_ECORRUPT, "HEAD: cannot read the record: %s",
                              store_status_str(rc));
    out->head_version = h.version;
    if (h.version > 0)
        b3_tag_format(h.payload_b3, out->head_b3);
    uint64_t last_seq = 0;
    rc = st->ops->last_audit_seq(st, &last_seq);
    if (rc != STORE_OK)
        return sv_result_fail(out, 1, "audit: cannot read the store: %s", store_status_str(rc));
    out->audit_records = last_seq;
    signer_set *roots = NULL;
    if (sv_load_roots(st, &roots, out) != STORE_VERIFY_OK)
        return STORE_VERIFY_FAILED;
    if (!roots && h.version > 0)
        return sv_result_fail(out, 0,
                              "trust roots: history exists (HEAD is version %llu) but "
                              "the store records no trust roots",
                              (unsigned long long)h.version);

    unsigned threads = sv_threads(o);
    size_t cap = 2 * ((size_t)threads * SV_TASKS_PER_THREAD + 1);
    sv_shared sh = {.st = st, .roots = roots};
    sh.tasks = calloc(cap, sizeof *sh.tasks);
    if (!sh.tasks) {
        signer_set_release(roots);
        return sv_result_fail(out, 0, "out of memory");
    }
    atomic_init(&sh.next_task, 0);
    atomic_init(&sh.versions_done, 0);
    atomic_init(&sh.audit_done, 0);
    atomic_init(&sh.first_bad_version, UINT64_MAX);
    atomic_init(&sh.first_bad_seq, UINT64_MAX);
    sv_plan(&sh, SV_VERSIONS, h.version, threads);
    sv_plan(&sh, SV_AUDIT, last_seq, threads);
    if (threads > sh.n_tasks)
        threads = sh.n_tasks > 0 ? (unsigned)sh.n_tasks : 1;
    sv_run_pool(&sh, threads, o, out);
    sv_report(&sh, o, out);

    /* The first failure in reading order: versions, then HEAD, then the audit chain. */
    const sv_task *bad_v, *bad_a;
    sv_collect(&sh, out, &bad_v, &bad_a);
    int verdict = STORE_VERIFY_OK;
    if (bad_v)
        verdict = sv_result_fail(out, bad_v->storage_error, "%s", bad_v->message);
    else if (sv_check_head(&sh, &h, out) != STORE_VERIFY_OK)
        verdict = STORE_VERIFY_FAILED;
    else if (bad_a)
        verdict = sv_result_fail(out, bad_a->storage_error, "%s", bad_a->message);
    free(sh.tasks);
    signer_set_release(roots);
    return verdict;
}
