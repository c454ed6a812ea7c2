/* bench_pipeline.c - durable governance cycles/s (LMDB, fsync on) with K = 1, 8, 64 clients. */
/*
 * Prints one JSON object per line for scripts/bench.sh. Usage: bench_pipeline [seconds-per-K]
 * (default 5). The store lives in a temp dir under the current directory (build/ if present;
 * never /tmp, which may be tmpfs; the filesystem type is printed as "fs"), removed afterwards.
 *
 * What a cycle is: propose -> 3 approvals -> commit against a 3-of-5 Ed25519 signer set. The
 * client thread signs each approval itself (real signatures over the payload_b3 the propose
 * answered) just before submitting it. Every step is a durable write: the committer applies a
 * batch of queued operations in one storage transaction with one fsync (group commit).
 *
 * Why rounds. The chain is serial by construction: version V+1 must carry V's payload_b3 as
 * prev_hash and propose refuses a payload that does not extend HEAD, so at most one cycle can
 * commit per version, and V+1 cannot even be proposed before V is committed. Free-running
 * clients that all chase HEAD+1 mostly die half way (their proposal goes stale while they
 * approve), so "cycles" would count little but noise; a token-passing stream (one client
 * proposes after it sees HEAD advance) keeps a single request in flight and measures only
 * 5 x fsync latency, never the group commit. So the K clients run in rounds: each round all K
 * read the same HEAD and each proposes its own payload for HEAD+1 and approves it 3 times
 * (K requests in flight at every step: what the group commit batches); then all K commit at
 * once: exactly one wins (201) and K-1 are refused with 409 ChainMismatch (refused commits are
 * audited, so they too are durable writes). A round is K complete cycles, 5K durable writes and
 * one committed version. We report both rates; whoever quotes these numbers should too:
 *   cycles_per_s     complete cycles per second (every step acknowledged; one per round commits)
 *   versions_per_s   committed versions (HEAD advances) per second
 *   ops_per_s        durable writes per second: operations the committer applied (stats.ops)
 *   batches_per_s    storage transactions (each one fsync'd commit) per second; ops_per_batch
 *   commit_ms        latency of every pipeline_commit call (p50/p95/p99)
 *   cycle_ms         one client's cycle, propose to commit answer, without the wait for the
 *                    other clients at the commit line (p50/p95/p99)
 */
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include <jansson.h>

#include "crypto/approval.h"
#include "crypto/codec.h"
#include "interop/buf.h"
#include "interop/rfc3339.h"
#include "observability/log.h"
#include "pipeline/pipeline.h"

#define SIGNERS 5
#define QUORUM 3

typedef struct keyset {
    char id[SIGNERS][32];
    uint8_t pk[SIGNERS][ED25519_PK_LEN];
    uint8_t sk[SIGNERS][ED25519_SK_LEN];
    char *set_json; /* the signer_set item */
} keyset;

typedef struct samples {
    double *v;
    size_t n, cap;
} samples;

typedef struct run run;

typedef struct client {
    pthread_t th;
    size_t idx;
    run *r;
    samples commit_ms, cycle_ms;
    uint64_t cycles, wins, errors;
} client;

struct run {
    pipeline *p;
    const keyset *keys;
    size_t k;
    double deadline;
    int go; /* written by the barrier's serial thread before the next barrier */
    pthread_barrier_t bar;
    client *clients;
};

static const write_ctx bench_ctx = {.corr_id = "01JDBENCHPIPELINE000000000"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void samples_add(samples *s, double x)
{
    if (s->n == s->cap) {
        size_t c = s->cap ? s->cap * 2 : 1024;
        double *v = realloc(s->v, c * sizeof *v);
        if (!v)
            return;
        s->v = v;
        s->cap = c;
    }
    s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentile q (0..1) of sorted values, nearest rank. */
static double pct(const samples *s, double q)
{
    if (!s->n)
        return 0;
    size_t i = (size_t)(q * (double)s->n);
    return s->v[i < s->n ? i : s->n - 1];
}

static void keyset_make(keyset *k)
{
    buf b = {0};
    buf_printf(&b,
               "{\"kind\":\"signer_set\",\"id\":\"governance\",\"quorum\":{\"m\":%d},"
               "\"signers\":[",
               QUORUM);
    for (int i = 0; i < SIGNERS; i++) {
        snprintf(k->id[i], sizeof k->id[i], "org:bench%d#k1", i);
        ed25519_keypair(k->pk[i], k->sk[i]);
        char pk[64];
        b64_encode(k->pk[i], ED25519_PK_LEN, pk, sizeof pk, B64_STD);
        buf_printf(&b, "%s{\"signer_id\":\"%s\",\"algo\":\"ed25519\",\"public_key\":\"%s\"}",
                   i ? "," : "", k->id[i], pk);
    }
    buf_puts(&b, "]}");
    k->set_json = buf_steal(&b, NULL);
}

/* The propose body for HEAD+1 of a ~1 KiB payload unique to (client, round). */
static char *propose_body(const keyset *k, const head_snap *h, size_t who, uint64_t round)
{
    buf b = {0};
    buf_printf(&b,
               "{\"schema_version\":\"1.0.0\",\"payload\":{\"version\":%llu,\"prev_hash\":\"%s\","
               "\"items\":[%s,{\"kind\":\"region\",\"id\":\"eu-west\"},{\"kind\":\"service\","
               "\"id\":\"svc:c%zu\",\"endpoint\":\"https://c%zu.bench.local\",\"region\":"
               "\"eu-west\",\"meta\":{\"round\":%llu}}]}}",
               (unsigned long long)(h->version + 1), h->payload_b3, k->set_json, who, who,
               (unsigned long long)round);
    return buf_steal(&b, NULL);
}

/* Pulls proposal_id and payload_b3 out of a propose answer. 0 or -1. */
static int parse_accepted(const buf *body, char id[32], char b3[B3_TAG_LEN + 1])
{
    json_t *j = json_loadb(body->data, body->len, 0, NULL);
    const char *i = json_string_value(json_object_get(j, "proposal_id"));
    const char *h = json_string_value(json_object_get(j, "payload_b3"));
    int ok = i && h && strlen(i) < 32 && strlen(h) == B3_TAG_LEN;
    if (ok) {
        strcpy(id, i);
        strcpy(b3, h);
    }
    json_decref(j);
    return ok ? 0 : -1;
}

/* One client's part of a round: propose, sign and submit 3 approvals. 0, or -1 on a failure
 * (counted). The cycle's own time so far goes to *spent. */
static int propose_and_approve(client *c, uint64_t round, char id[32], double *spent)
{
    run *r = c->r;
    double t0 = now_s();
    head_snap *h = pipeline_head(r->p);
    char *body = propose_body(r->keys, h, c->idx, round);
    head_snap_release(h);
    pipeline_result res = {0};
    pipeline_propose(r->p, &bench_ctx, body, strlen(body), &res);
    free(body);
    char b3[B3_TAG_LEN + 1];
    int rc = res.code == SVCR_OK && parse_accepted(&res.body, id, b3) == 0 ? 0 : -1;
    pipeline_result_free(&res);
    for (int j = 0; rc == 0 && j < QUORUM; j++) {
        size_t s = (c->idx + (size_t)round + (size_t)j) % SIGNERS;
        char sig[APPROVAL_SIG_B64_LEN + 1], ts[32], ab[256];
        approval_sign_ed25519(b3, r->keys->sk[s], sig);
        rfc3339_format((int64_t)time(NULL), ts);
        int n = snprintf(ab, sizeof ab,
                         "{\"signer_id\":\"%s\",\"algo\":\"ed25519\",\"sig\":\"%s\","
                         "\"signed_at\":\"%s\"}",
                         r->keys->id[s], sig, ts);
        pipeline_result ar = {0};
        pipeline_approve(r->p, &bench_ctx, id, ab, (size_t)n, &ar);
        rc = ar.code == SVCR_OK ? 0 : -1;
        pipeline_result_free(&ar);
    }
    *spent = now_s() - t0;
    if (rc != 0)
        c->errors++;
    return rc;
}

static void *client_main(void *arg)
{
    client *c = arg;
    run *r = c->r;
    for (uint64_t round = 0;; round++) {
        pthread_barrier_wait(&r->bar); /* the previous round is over; r->go is published */
        if (!r->go)
            break;
        char id[32];
        double spent = 0;
        int ok = propose_and_approve(c, round, id, &spent) == 0;
        /* nobody commits before every client has its approvals in */
        if (pthread_barrier_wait(&r->bar) == PTHREAD_BARRIER_SERIAL_THREAD)
            r->go = now_s() < r->deadline;
        if (!ok)
            continue;
        double t0 = now_s();
        pipeline_result res = {0};
        pipeline_commit(r->p, &bench_ctx, id, "", 0, &res);
        double ms = (now_s() - t0) * 1e3;
        if (res.code == SVCR_OK || res.code == SVCR_E_CHAIN_MISMATCH) {
            samples_add(&c->commit_ms, ms);
            samples_add(&c->cycle_ms, spent * 1e3 + ms);
            c->cycles++;
            c->wins += res.code == SVCR_OK;
        } else {
            c->errors++;
        }
        pipeline_result_free(&res);
    }
    return NULL;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static const char *fs_name(const char *dir)
{
    struct statfs sf;
    if (statfs(dir, &sf) != 0)
        return "unknown";
    switch ((unsigned long)sf.f_type) {
    case 0xEF53UL:
        return "ext4";
    case 0x01021994UL:
        return "tmpfs";
    case 0x58465342UL:
        return "xfs";
    case 0x9123683EUL:
        return "btrfs";
    case 0x794C7630UL:
        return "overlayfs";
    default:
        return "other";
    }
}

static void merge(samples *into, const samples *from)
{
    for (size_t i = 0; i < from->n; i++)
        samples_add(into, from->v[i]);
}

/* Runs K clients for `secs` seconds on a fresh store in `dir`; prints one JSON line. */
static int bench_k(const keyset *keys, const char *dir, size_t k, double secs, const char *fs)
{
    store_open_opts so = {.data_dir = dir, .fsync = 1};
    store *st = NULL;
    char err[256] = "";
    if (store_lmdb_open(&so, &st, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "bench_pipeline: store_lmdb_open(%s): %s\n", dir, err);
        return -1;
    }
    pipeline_opts po = {.st = st,
                        .queue_cap = 1024,
                        .trust_roots = keys->set_json,
                        .trust_roots_len = strlen(keys->set_json)};
    pipeline *p = NULL;
    svcr_err e;
    if (pipeline_open(&po, &p, &e) != SVCR_OK) {
        fprintf(stderr, "bench_pipeline: pipeline_open: %s\n", e.message);
        st->ops->close(st);
        return -1;
    }
    run r = {.p = p, .keys = keys, .k = k, .go = 1};
    r.clients = calloc(k, sizeof *r.clients);
    pthread_barrier_init(&r.bar, NULL, (unsigned)k);
    pipeline_stats s0, s1;
    pipeline_get_stats(p, &s0);
    double t0 = now_s();
    r.deadline = t0 + secs;
    for (size_t i = 0; i < k; i++) {
        r.clients[i] = (client){.idx = i, .r = &r};
        pthread_create(&r.clients[i].th, NULL, client_main, &r.clients[i]);
    }
    samples commit = {0}, cycle = {0};
    uint64_t cycles = 0, wins = 0, errors = 0;
    for (size_t i = 0; i < k; i++) {
        client *c = &r.clients[i];
        pthread_join(c->th, NULL);
        merge(&commit, &c->commit_ms);
        merge(&cycle, &c->cycle_ms);
        cycles += c->cycles;
        wins += c->wins;
        errors += c->errors;
        free(c->commit_ms.v);
        free(c->cycle_ms.v);
    }
    double el = now_s() - t0;
    pipeline_get_stats(p, &s1);
    head_snap *h = pipeline_head(p);
    uint64_t head = h->version;
    head_snap_release(h);
    qsort(commit.v, commit.n, sizeof *commit.v, cmp_double);
    qsort(cycle.v, cycle.n, sizeof *cycle.v, cmp_double);
    double ops = (double)(s1.ops - s0.ops), batches = (double)(s1.batches - s0.batches);
    double versions = (double)(s1.commits - s0.commits);
    printf("{\"bench\":\"pipeline_cycle\",\"clients\":%zu,\"signers\":\"%d-of-%d\","
           "\"fsync\":true,\"fs\":\"%s\",\"seconds\":%.2f,\"cycles\":%llu,\"cycles_per_s\":%.0f,"
           "\"versions\":%llu,\"versions_per_s\":%.1f,\"ops_per_s\":%.0f,\"batches_per_s\":%.1f,"
           "\"ops_per_batch\":%.2f,\"max_batch\":%llu,\"fsyncs_per_version\":%.2f,"
           "\"commit_ms_p50\":%.3f,\"commit_ms_p95\":%.3f,\"commit_ms_p99\":%.3f,"
           "\"cycle_ms_p50\":%.3f,\"cycle_ms_p95\":%.3f,\"cycle_ms_p99\":%.3f,\"errors\":%llu}\n",
           k, QUORUM, SIGNERS, fs, el, (unsigned long long)cycles, (double)cycles / el,
           (unsigned long long)head, versions / el, ops / el, batches / el,
           batches > 0 ? ops / batches : 0, (unsigned long long)s1.max_batch,
           versions > 0 ? batches / versions : 0, pct(&commit, 0.50), pct(&commit, 0.95),
           pct(&commit, 0.99), pct(&cycle, 0.50), pct(&cycle, 0.95), pct(&cycle, 0.99),
           (unsigned long long)errors);
    fflush(stdout);
    free(commit.v);
    free(cycle.v);
    pthread_barrier_destroy(&r.bar);
    free(r.clients);
    pipeline_close(p);
    st->ops->close(st);
    if (wins != head || errors)
        fprintf(stderr, "bench_pipeline: K=%zu: %llu wins for HEAD %llu, %llu errors\n", k,
                (unsigned long long)wins, (unsigned long long)head, (unsigned long long)errors);
    return errors ? -1 : 0;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 5.0;
    if (secs <= 0)
        secs = 5.0;
    if (crypto_init() != 0)
        return 1;
    log_configure(1, LOG_WARN); /* one info line per write would measure stderr */
    /* build/ (git-ignored) when run from the repository root, as bench.sh does; else "." */
    struct stat sb;
    char root[64];
    snprintf(root, sizeof root, "%s/.bench_pipeline.XXXXXX",
             stat("build", &sb) == 0 && S_ISDIR(sb.st_mode) ? "build" : ".");
    if (!mkdtemp(root)) {
        perror("bench_pipeline: mkdtemp under the current directory");
        return 1;
    }
    const char *fs = fs_name(root);
    if (strcmp(fs, "tmpfs") == 0)
        fprintf(stderr,
                "bench_pipeline: warning: %s is on tmpfs; fsync is free there and "
                "these numbers are not durable writes\n",
                root);
    keyset keys;
    keyset_make(&keys);
    const size_t ks[] = {1, 8, 64};
    int rc = 0;
    for (size_t i = 0; i < sizeof ks / sizeof *ks && rc == 0; i++) {
        char dir[96];
        snprintf(dir, sizeof dir, "%s/k%zu", root, ks[i]);
        rc = bench_k(&keys, dir, ks[i], secs, fs);
    }
    free(keys.set_json);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc ? 1 : 0;
}
