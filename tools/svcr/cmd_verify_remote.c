/* cmd_verify_remote.c - svcr verify-remote: re-verify a registry's whole chain locally. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <stdlib.h>

#include "base.h"
#include "cli.h"
#include "governance/chain_verify.h"
#include "remote.h"
#include "term.h"

/* Outcome of a run. */
typedef struct vr_result {
    uint64_t verified, head_version, failed_version;
    char head_b3[B3_TAG_LEN + 1];
    char message[320];
} vr_result;

static double vr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fetches and verifies version cv->next_version. Returns 0, -1 (verification failed: r filled)
 * or CLI_REFUSED (unreachable, printed). */
static int vr_step(remote_call *c, chain_verifier *cv, vr_result *r)
{
    uint64_t v = cv->next_version;
    int rc = base_verify_next(&c->r, cv, NULL, r->message, sizeof r->message);
    if (rc == -1)
        r->failed_version = v;
    else if (rc == CLI_OK)
        r->verified = v;
    return rc;
}

/* Verifies 1..HEAD, then compares the chain's end with HEAD. Same returns as vr_step. */
static int vr_chain(remote_call *c, signer_set *roots, vr_result *r)
{
    json_t *h = NULL;
    if (remote_get_json(&c->r, "/registry/head", &h, NULL, 0) != CLI_OK)
        return CLI_REFUSED;
    r->head_version = cli_json_u64(h, "version", 0);
    snprintf(r->head_b3, sizeof r->head_b3, "%s", cli_json_str(h, "payload_b3", ""));
    json_decref(h);
    chain_verifier cv;
    chain_verifier_init_genesis(&cv, roots);
    int rc = 0;
    while (rc == 0 && cv.next_version <= r->head_version)
        rc = vr_step(c, &cv, r);
    if (rc == 0 && strcmp(cv.prev_b3, r->head_b3) != 0) {
        r->failed_version = r->head_version;
        snprintf(r->message, sizeof r->message,
                 "version %llu: /registry/head says %s but the verified chain ends at %s",
                 (unsigned long long)r->head_version, r->head_b3, cv.prev_b3);
        rc = -1;
    }
    chain_verifier_free(&cv);
    return rc;
}

static void vr_print(const remote_call *c, const vr_result *r, int ok, double secs)
{
    if (c->r.conn.json) {
        json_t *o = json_pack("{s:b, s:I, s:I, s:s}", "ok", ok, "versions", (json_int_t)r->verified,
                              "head_version", (json_int_t)r->head_version, "head_b3", r->head_b3);
        if (o && !ok) {
            json_object_set_new(o, "failed_version", json_integer((json_int_t)r->failed_version));
            json_object_set_new(o, "error", json_string(r->message));
        }
        if (o)
            cli_print_json(o);
        json_decref(o);
    } else if (ok) {
        term_printf("ok: %llu versions verified from the trust roots, head version %llu %s "
                    "(%.3f s)\n",
                    (unsigned long long)r->verified, (unsigned long long)r->head_version,
                    r->head_b3, secs);
    } else {
        term_printf("FAIL: %s\n", r->message);
    }
}

static int run_verify_remote(remote_call *c)
{
    const char *roots_path = c->opt[0] ? c->opt[0] : getenv("SVCR_TRUST_ROOTS");
    if (!roots_path || !*roots_path)
        return cli_usage_error("verify-remote", "--trust-roots FILE is required (the registry "
                                                "does not serve its trust roots)");
    signer_set *roots = base_roots_load("verify-remote", roots_path);
    if (!roots)
        return CLI_USAGE;
    vr_result r = {0};
    double t0 = vr_now();
    int rc = vr_chain(c, roots, &r);
    signer_set_release(roots);
    if (rc == CLI_REFUSED)
        return CLI_REFUSED;
    vr_print(c, &r, rc == 0, vr_now() - t0);
    return rc == 0 ? CLI_OK : CLI_REFUSED;
}

static const remote_spec verify_remote_spec = {
    .name = "verify-remote",
    .help =
        "usage: svcr verify-remote [options] --trust-roots FILE\n"
        "Downloads every version 1..HEAD from the registry and re-verifies all of it here,\n"
        "independently of the server: each payload's hash (RFC 8785 + BLAKE3) against its\n"
        "payload_b3, the prev_hash links and numbering, proposal ids, every approval's signature\n"
        "against the signer set of its era (version 1 against FILE, the trust roots the registry\n"
        "was started with), distinct signers and the quorum; then compares the chain's end with\n"
        "/registry/head. Prints \"ok: ...\" or \"FAIL: version N: what broke\".\n\n"
        "  --trust-roots FILE  the genesis signer set (default $SVCR_TRUST_ROOTS; required: the\n"
        "                      registry does not serve it)\n" CLI_CONN_HELP
        "\nExit status: 0 verified, 1 verification failed or the registry could not be reached,\n"
        "2 bad usage or an unusable trust-roots file.\n",
    .min_pos = 0,
    .max_pos = 0,
    .opts = {"--trust-roots", NULL},
    .run = run_verify_remote,
};

int cmd_verify_remote(int argc, char **argv)
{
    return remote_verb(&verify_remote_spec, argc, argv);
}
