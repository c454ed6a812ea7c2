/* cmd_approve.c - svcr approve: review a proposal, check its hash, sign and post an approval. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "cli.h"
#include "keyfile.h"
#include "payload.h"
#include "remote.h"
#include "term.h"

/* What approve fetched: the proposal and the verified HEAD it is reviewed against. */
typedef struct approve_view {
    json_t *prop;
    const json_t *payload; /* borrowed from prop */
    base_head base;
} approve_view;

static void view_free(approve_view *v)
{
    json_decref(v->prop);
    base_head_free(&v->base);
}

/* The registry's payload_b3 and proposal id must be what this tool computes itself. */
static int check_proposal(const remote_call *c, const approve_view *v, char tag[B3_TAG_LEN + 1])
{
    if (!json_is_object(v->payload) || payload_tag(v->payload, tag) != 0 ||
        strcmp(tag, cli_json_str(v->prop, "payload_b3", "")) != 0) {
        term_fprintf(stderr,
                     "svcr approve: the registry's payload_b3 %.*s is not the hash of the payload"
                     " it served: not signing\n",
                     TERM_JS(v->prop, "payload_b3", ""));
        return CLI_REFUSED;
    }
    if (strncmp(c->pos[0] + 2, tag + 3, 24) != 0) {
        term_fprintf(stderr,
                     "svcr approve: proposal id %s does not match payload_b3 %s: not signing\n",
                     c->pos[0], tag);
        return CLI_REFUSED;
    }
    return CLI_OK;
}

/* The proposal must extend the verified HEAD: version HEAD + 1, prev_hash HEAD's payload_b3
 * (the diff shown is then against exactly what the signature commits to). */
static int check_extends(const approve_view *v)
{
    uint64_t target = cli_json_u64(v->payload, "version", 0);
    if (target != v->base.version + 1) {
        fprintf(stderr,
                "svcr approve: the proposal is for version %llu but the verified HEAD is version "
                "%llu: it can never be committed: not signing\n",
                (unsigned long long)target, (unsigned long long)v->base.version);
        return CLI_REFUSED;
    }
    if (strcmp(cli_json_str(v->payload, "prev_hash", ""), v->base.b3) != 0) {
        term_fprintf(stderr,
                     "svcr approve: the proposal's prev_hash %.*s is not the verified HEAD's "
                     "payload_b3 %s: not signing\n",
                     TERM_JS(v->payload, "prev_hash", ""), v->base.b3);
        return CLI_REFUSED;
    }
    return CLI_OK;
}

static int fetch_view(remote_call *c, signer_set *roots, approve_view *v, char tag[B3_TAG_LEN + 1])
{
    char path[64];
    snprintf(path, sizeof path, "/registry/proposals/%s", c->pos[0]);
    int rc = remote_get_json(&c->r, path, &v->prop, NULL, 0);
    v->payload = json_object_get(v->prop, "payload");
    if (rc == CLI_OK)
        rc = check_proposal(c, v, tag);
    if (rc == CLI_OK) {
        rc = base_head_fetch(&c->r, roots, &v->base);
        if (rc != CLI_OK)
            fprintf(stderr, "svcr approve: not signing\n");
    }
    if (rc == CLI_OK)
        rc = check_extends(v);
    return rc;
}

/* 1 if signer_id is listed in the signer_set item of payload. */
static int listed_in(const json_t *payload, const char *signer_id)
{
    const json_t *items = json_object_get(payload, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        if (strcmp(cli_json_str(it, "kind", ""), "signer_set") != 0)
            continue;
        const json_t *ss = json_object_get(it, "signers");
        for (size_t k = 0; k < json_array_size(ss); k++)
            if (strcmp(cli_json_str(json_array_get(ss, k), "signer_id", ""), signer_id) == 0)
                return 1;
    }
    return 0;
}

/* What is being signed, versus the verified HEAD. Every string from the registry is escaped. */
static int print_summary(FILE *f, const approve_view *v, const cli_key *k, const char *tag)
{
    const json_t *q = json_object_get(v->prop, "quorum"), *p = v->payload;
    term_fprintf(f, "proposal %.*s (%.*s) for version %llu, %zu items\npayload_b3 %s\n",
                 TERM_JS(v->prop, "proposal_id", "?"), TERM_JS(v->prop, "status", "?"),
                 (unsigned long long)cli_json_u64(p, "version", 0),
                 json_array_size(json_object_get(p, "items")), tag);
    if (json_object_get(p, "supersede_of"))
        term_fprintf(f, "supersedes %.*s (reason %.*s%s%.*s)\n", TERM_JS(p, "supersede_of", "?"),
                     TERM_JS(p, "supersede_reason", "?"),
                     json_object_get(p, "supersede_note") ? ", note: " : "",
                     TERM_JS(p, "supersede_note", ""));
    fprintf(f, "approvals so far %zu, quorum %llu of %llu\n",
            json_array_size(json_object_get(v->prop, "approvals")),
            (unsigned long long)cli_json_u64(q, "m", 0),
            (unsigned long long)cli_json_u64(q, "n", 0));
    base_head_describe(&v->base, f);
    payload_diff d;
    if (payload_diff_items(v->base.payload, p, &d) != 0) {
        payload_diff_free(&d);
        return -1;
    }
    fprintf(f, "changes versus HEAD version %llu:\n", (unsigned long long)v->base.version);
    payload_diff_print(&d, f, "  ");
    payload_diff_free(&d);
    if (v->base.payload && !listed_in(v->base.payload, k->signer_id))
        term_fprintf(f, "warning: %s is not in HEAD's signer set\n", k->signer_id);
    term_fprintf(f, "signing as %s\n", k->signer_id);
    return 0;
}

/* Asks on the terminal; 1 for yes. */
static int confirm(void)
{
    fprintf(stderr, "Sign this proposal? [y/N] ");
    fflush(stderr);
    char line[32];
    if (!fgets(line, sizeof line, stdin))
        return 0;
    return strcmp(line, "y\n") == 0 || strcmp(line, "Y\n") == 0 || strcmp(line, "yes\n") == 0;
}

static int post_approval(remote_call *c, const cli_key *k, const char *tag)
{
    json_t *body = keyfile_approval(k, tag), *ans = NULL;
    if (!body)
        return cli_usage_error("approve", "cannot sign");
    char path[64];
    snprintf(path, sizeof path, "/registry/approvals/%s", c->pos[0]);
    buf raw = {0};
    int rc = remote_post_json(&c->r, path, body, &ans, &raw, NULL);
    uint64_t n = cli_json_u64(ans, "approvals", 0);
    uint64_t m = cli_json_u64(json_object_get(ans, "quorum"), "m", 0);
    if (rc == CLI_OK && c->r.conn.json)
        term_json(stdout, raw.data, raw.len, 0);
    else if (rc == CLI_OK)
        printf("accepted: %llu approvals, quorum %llu of %llu%s\n", (unsigned long long)n,
               (unsigned long long)m,
               (unsigned long long)cli_json_u64(json_object_get(ans, "quorum"), "n", 0),
               n >= m ? " (quorum reached: ready to commit)" : "");
    json_decref(ans);
    json_decref(body);
    buf_free(&raw);
    return rc;
}

static int run_approve(remote_call *c)
{
    int yes = c->flag[0];
    if (!remote_proposal_id_ok(c->pos[0]))
        return cli_usage_error("approve", "%s is not a proposal id (p_ + 24 hex)", c->pos[0]);
    if (!c->opt[0])
        return cli_usage_error("approve", "--key FILE is required");
    if (!yes && !isatty(STDIN_FILENO))
        return cli_usage_error("approve", "standard input is not a terminal: pass --yes to sign "
                                          "without confirmation");
    const char *roots_path = c->opt[1] ? c->opt[1] : getenv("SVCR_TRUST_ROOTS");
    signer_set *roots = NULL;
    if (roots_path && *roots_path && !(roots = base_roots_load("approve", roots_path)))
        return CLI_USAGE;
    cli_key k;
    if (keyfile_load("approve", c->opt[0], &k) != 0) {
        signer_set_release(roots);
        return CLI_USAGE;
    }
    approve_view v = {0};
    char tag[B3_TAG_LEN + 1];
    int rc = fetch_view(c, roots, &v, tag);
    signer_set_release(roots);
    if (rc == CLI_OK && print_summary(c->r.conn.json ? stderr : stdout, &v, &k, tag) != 0)
        rc = CLI_USAGE;
    fflush(stdout);
    if (rc == CLI_OK && !yes && !confirm()) {
        fprintf(stderr, "svcr approve: not signed\n");
        rc = CLI_REFUSED;
    }
    if (rc == CLI_OK)
        rc = post_approval(c, &k, tag);
    keyfile_wipe(&k);
    view_free(&v);
    return rc;
}

static const remote_spec approve_spec = {
    .name = "approve",
    .help =
        "usage: svcr approve [options] PROPOSAL_ID --key FILE [--yes] [--trust-roots FILE]\n"
        "Approves a proposal as the signer whose key is in FILE. Before showing anything it\n"
        "checks that payload_b3 is the BLAKE3 of the payload's RFC 8785 form and matches the\n"
        "id, and verifies HEAD, the version the proposal is reviewed against: its payload\n"
        "hashes to its payload_b3, which is /registry/head's and the proposal's prev_hash, its\n"
        "version is the proposal's - 1, and its approvals reach the quorum of the signer set\n"
        "that governs it (from the trust roots with --trust-roots; else the set version\n"
        "HEAD - 1 declares, as served). Any mismatch: exit 1, nothing signed. Then it shows what\n"
        "is being signed (target version, item count, items added (+), removed (-) and changed\n"
        "(~) versus HEAD; text from the registry with control, bidi and invisible characters\n"
        "escaped as \\uXXXX), asks for confirmation, signs and posts the approval\n"
        "(POST /registry/approvals/ID; scope registry:approve) and prints the count.\n\n"
        "  --key FILE          a key file from `svcr keygen`\n"
        "  --yes               sign without asking (required when standard input is not a\n"
        "                      terminal)\n"
        "  --trust-roots FILE  verify HEAD's chain from the genesis signer set in FILE\n"
        "                      (default $SVCR_TRUST_ROOTS)\n" CLI_CONN_HELP
        "\nExit status: 0 accepted; 1 the registry refused (error code and message printed),\n"
        "could not be reached, served a payload whose hash does not match, a HEAD that does not\n"
        "verify or that the proposal does not extend, or the prompt was declined; 2 bad usage\n"
        "(including no terminal and no --yes) or an unusable key or trust-roots file.\n",
    .min_pos = 1,
    .max_pos = 1,
    .opts = {"--key", "--trust-roots", NULL},
    .flags = {"--yes", NULL},
    .run = run_approve,
};

int cmd_approve(int argc, char **argv)
{
    return remote_verb(&approve_spec, argc, argv);
}
