/* cmd_verify_store.c - svcr verify-store: re-verifies a whole LMDB store, read-only. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "governance/store_verify.h"
#include "storage/store.h"

#define VS_VERB "verify-store"

static void vs_help(void)
{
    printf("usage: svcr verify-store [--json] [--threads N] DATA_DIR\n"
           "Opens the LMDB store in DATA_DIR read-only (it works beside a running registry) and\n"
           "re-verifies all of it: every version from the trust roots to HEAD (artifact hash,\n"
           "payload_b3, prev_hash links, numbering, proposal_id, every approval's signature\n"
           "against the signer set of its era, quorum), the HEAD record, and the audit chain.\n"
           "Prints one summary line (--json: one JSON object) with the elapsed time.\n\n"
           "  --json        print {\"ok\":…,\"versions\":…,…} instead of text\n"
           "  --threads N   worker threads (default: one per CPU)\n\n"
           "Exit status: 0 everything verifies, 1 verification failed, 2 bad usage or the store\n"
           "cannot be opened.\n");
}

static double vs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Progress on a terminal only: one line rewritten in place on stderr. */
static void vs_progress(void *ctx, const store_verify_progress *p)
{
    (void)ctx;
    fprintf(stderr, "\rverifying: %llu/%llu versions, %llu/%llu audit records",
            (unsigned long long)p->versions_done, (unsigned long long)p->versions_total,
            (unsigned long long)p->audit_done, (unsigned long long)p->audit_total);
}

static void vs_print_json(const store_verify_result *r, int ok, double secs, double rate)
{
    json_t *o =
        json_pack("{s:b, s:I, s:I, s:I, s:s, s:f, s:I}", "ok", ok, "versions",
                  (json_int_t)r->versions_verified, "audit_records", (json_int_t)r->audit_verified,
                  "head_version", (json_int_t)r->head_version, "head_b3", r->head_b3, "elapsed_s",
                  secs, "versions_per_s", (json_int_t)llround(rate));
    if (o && !ok) {
        json_object_set_new(o, "error", json_string(r->message));
        json_object_set_new(o, "failed_version",
                            r->failed_version ? json_integer((json_int_t)r->failed_version)
                                              : json_null());
        json_object_set_new(o, "failed_audit_seq",
                            r->failed_audit_seq ? json_integer((json_int_t)r->failed_audit_seq)
                                                : json_null());
    }
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(o);
}

int cmd_verify_store(int argc, char **argv)
{
    int json = 0;
    unsigned threads = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            vs_help();
            return CLI_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            unsigned long n = strtoul(argv[++i], &end, 10);
            if (errno || !end || *end || n < 1 || n > 64)
                return cli_usage_error(VS_VERB, "--threads wants a number from 1 to 64");
            threads = (unsigned)n;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error(VS_VERB, "unknown option %s (see --help)", argv[i]);
        } else if (dir) {
            return cli_usage_error(VS_VERB, "one DATA_DIR only (see --help)");
        } else {
            dir = argv[i];
        }
    }
    if (!dir)
        return cli_usage_error(VS_VERB, "missing DATA_DIR (see --help)");

    store *st = NULL;
    char err[512];
    store_open_opts so = {.data_dir = dir, .read_only = 1};
    int rc = store_open(STORE_KIND_LMDB, &so, &st, err, sizeof err);
    if (rc != STORE_OK) {
        fprintf(stderr, "svcr %s: %s\n", VS_VERB, err[0] ? err : store_status_str(rc));
        return CLI_USAGE;
    }
    int tty = !json && isatty(STDERR_FILENO);
    store_verify_opts o = {.threads = threads, .progress = tty ? vs_progress : NULL};
    store_verify_result r;
    double t0 = vs_now();
    int verdict = store_verify_all(st, &o, &r);
    double secs = vs_now() - t0;
    st->ops->close(st);
    if (tty)
        fputs("\r\033[K", stderr);
    int ok = verdict == STORE_VERIFY_OK;
    double rate = secs > 0 ? (double)r.versions_verified / secs : 0;
    if (json)
        vs_print_json(&r, ok, secs, rate);
    else if (ok)
        printf("ok: %llu versions, %llu audit records, head %s (%.3f s, %.0f versions/s)\n",
               (unsigned long long)r.versions_verified, (unsigned long long)r.audit_verified,
               r.head_b3, secs, rate);
    else
        printf("FAIL: %s (%.3f s, %.0f versions/s)\n", r.message, secs, rate);
    return ok ? CLI_OK : CLI_REFUSED;
}
