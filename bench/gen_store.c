/* gen_store.c - builds a registry store for benchmarks through the real pipeline: N versions of
 * about S bytes of payload each (3-of-5 signer set, real Ed25519 approvals), optionally a last
 * version of B bytes. Writes DIR/store (LMDB) and DIR/trust-roots.json.
 *
 * usage: gen_store DIR N [--size S] [--last-size B] [--fsync]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "crypto/approval.h"
#include "crypto/codec.h"
#include "interop/buf.h"
#include "interop/rfc3339.h"
#include "observability/log.h"
#include "pipeline/pipeline.h"

#define NSIGNERS 5
#define QUORUM 3

typedef struct keyset {
    char id[NSIGNERS][32];
    uint8_t pk[NSIGNERS][ED25519_PK_LEN];
    uint8_t sk[NSIGNERS][ED25519_SK_LEN];
} keyset;

static char *signer_set_json(const keyset *k)
{
    buf b = {0};
    buf_printf(&b,
               "{\"kind\":\"signer_set\",\"id\":\"governance\",\"quorum\":{\"m\":%d},"
               "\"signers\":[",
               QUORUM);
    for (int i = 0; i < NSIGNERS; i++) {
        char pk[64];
        b64_encode(k->pk[i], ED25519_PK_LEN, pk, sizeof pk, B64_STD);
        buf_printf(&b, "%s{\"signer_id\":\"%s\",\"algo\":\"ed25519\",\"public_key\":\"%s\"}",
                   i ? "," : "", k->id[i], pk);
    }
    buf_puts(&b, "]}");
    return buf_steal(&b, NULL);
}

static char *payload(uint64_t v, const char *prev, const char *set, size_t target)
{
    buf b = {0};
    buf_printf(&b,
               "{\"schema_version\":\"1.0.0\",\"payload\":{\"version\":%llu,\"prev_hash\":\"%s\","
               "\"items\":[%s,{\"kind\":\"region\",\"id\":\"eu-west\"},"
               "{\"kind\":\"service\",\"id\":\"svc:checkout\",\"endpoint\":"
               "\"https://checkout.eu-west.internal\",\"region\":\"eu-west\","
               "\"meta\":{\"rev\":%llu,\"pad\":\"",
               (unsigned long long)v, prev, set, (unsigned long long)v);
    size_t base = b.len - strlen("{\"schema_version\":\"1.0.0\",\"payload\":") + 6;
    for (size_t i = base; i < target; i++)
        buf_putc(&b, (char)('a' + (i % 26)));
    buf_puts(&b, "\"}}]}}");
    return buf_steal(&b, NULL);
}

static const write_ctx ctx = {.corr_id = "01JDBENCHGENERATOR00000000"};

static int field(const buf *body, const char *name, char *out, size_t cap)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":\"", name);
    const char *p = body->data ? strstr(body->data, key) : NULL;
    if (!p)
        return -1;
    p += strlen(key);
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= cap)
        return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gen_store DIR N [--size S] [--last-size B] [--fsync]\n");
        return 2;
    }
    const char *dir = argv[1];
    uint64_t n = strtoull(argv[2], NULL, 10);
    size_t size = 1024, last = 0;
    int fsync_on = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--last-size") && i + 1 < argc)
            last = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--fsync"))
            fsync_on = 1;
    }
    crypto_init();
    log_configure(1, LOG_WARN);
    keyset k;
    for (int i = 0; i < NSIGNERS; i++) {
        snprintf(k.id[i], sizeof k.id[i], "org:bench%d#key1", i);
        uint8_t seed[ED25519_SEED_LEN];
        memset(seed, i + 1, sizeof seed);
        ed25519_keypair_from_seed(seed, k.pk[i], k.sk[i]);
    }
    char *set = signer_set_json(&k);
    mkdir(dir, 0700);
    char path[4096];
    snprintf(path, sizeof path, "%s/trust-roots.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fputs(set, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/store", dir);
    store *st = NULL;
    char err[256];
    store_open_opts so = {.data_dir = path, .fsync = fsync_on, .map_size = 1ULL << 30};
    if (store_lmdb_open(&so, &st, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "gen_store: %s\n", err);
        return 1;
    }
    pipeline_opts po = {.st = st,
                        .queue_cap = 64,
                        .trust_roots = set,
                        .trust_roots_len = strlen(set),
                        .verify_last_k = 1};
    pipeline *p = NULL;
    svcr_err e;
    if (pipeline_open(&po, &p, &e) != SVCR_OK) {
        fprintf(stderr, "gen_store: %s\n", e.message);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t v = 1; v <= n; v++) {
        head_snap *h = pipeline_head(p);
        if (h->version + 1 != v) {
            fprintf(stderr, "gen_store: HEAD is %llu, expected %llu\n",
                    (unsigned long long)h->version, (unsigned long long)(v - 1));
            return 1;
        }
        char *body = payload(v, h->payload_b3, set, v == n && last ? last : size);
        head_snap_release(h);
        pipeline_result r = {0};
        pipeline_propose(p, &ctx, body, strlen(body), &r);
        free(body);
        char id[32], b3[80];
        if (r.code != SVCR_OK || field(&r.body, "proposal_id", id, sizeof id) ||
            field(&r.body, "payload_b3", b3, sizeof b3)) {
            fprintf(stderr, "gen_store: propose %llu: %s\n", (unsigned long long)v, r.err.message);
            return 1;
        }
        pipeline_result_free(&r);
        for (int i = 0; i < QUORUM; i++) {
            char sig[APPROVAL_SIG_B64_LEN + 1], ts[32], ab[512];
            approval_sign_ed25519(b3, k.sk[i], sig);
            rfc3339_format((int64_t)time(NULL), ts);
            snprintf(
                ab, sizeof ab,
                "{\"signer_id\":\"%s\",\"algo\":\"ed25519\",\"sig\":\"%s\",\"signed_at\":\"%s\"}",
                k.id[i], sig, ts);
            pipeline_approve(p, &ctx, id, ab, strlen(ab), &r);
            if (r.code != SVCR_OK) {
                fprintf(stderr, "gen_store: approve: %s\n", r.err.message);
                return 1;
            }
            pipeline_result_free(&r);
        }
        pipeline_commit(p, &ctx, id, "", 0, &r);
        if (r.code != SVCR_OK) {
            fprintf(stderr, "gen_store: commit: %s\n", r.err.message);
            return 1;
        }
        pipeline_result_free(&r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("{\"bench\":\"gen_store\",\"versions\":%llu,\"seconds\":%.2f,\"versions_per_s\":%.0f}\n",
           (unsigned long long)n, s, (double)n / s);
    pipeline_close(p);
    st->ops->close(st);
    free(set);
    return 0;
}
