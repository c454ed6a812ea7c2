/* cmd_approve.c - svcr approve: review a proposal, check its hash, sign and post an approval. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "keyfile.h"
#include "payload.h"
#include "remote.h"

/* What approve fetched: the proposal, HEAD and HEAD's payload (NULL at version 0). */
typedef struct approve_view {
    json_t *prop, *head, *head_artifact;
    const json_t *payload, *base;
    uint64_t head_version;
} approve_view;

static void view_free(approve_view *v)
{
    json_decref(v->prop);
    json_decref(v->head);
    json_decref(v->head_artifact);
}

static int fetch_view(remote_call *c, approve_view *v)
{
    char path[64];
    snprintf(path, sizeof path, "/registry/proposals/%s", c->pos[0]);
    int rc = remote_get_json(&c->r, path, &v->prop, NULL, 0);
    if (rc == CLI_OK)
        rc = remote_get_json(&c->r, "/registry/head", &v->head, NULL, 0);
    if (rc != CLI_OK)
        return rc;
    v->payload = json_object_get(v->prop, "payload");
    v->head_version = cli_json_u64(v->head, "version", 0);
    if (v->head_version == 0)
        return CLI_OK;
    snprintf(path, sizeof path, "/registry/%llu", (unsigned long long)v->head_version);
    rc = remote_get_json(&c->r, path, &v->head_artifact, NULL, 0);
    v->base = json_object_get(v->head_artifact, "payload");
    return rc;
}

/* The registry's payload_b3 and proposal id must be what this tool computes itself. */
static int check_view(const remote_call *c, const approve_view *v, char tag[B3_TAG_LEN + 1])
{
    const char *claimed = cli_json_str(v->prop, "payload_b3", "");
    if (!json_is_object(v->payload) || payload_tag(v->payload, tag) != 0 ||
        strcmp(tag, claimed) != 0) {
        fprintf(stderr,
                "svcr approve: the registry's payload_b3 %s is not the hash of the payload"
                " it served: not signing\n",
                claimed);
        return CLI_REFUSED;
    }
    if (strncmp(c->pos[0] + 2, tag + 3, 24) != 0) {
        fprintf(stderr, "svcr approve: proposal id %s does not match payload_b3 %s: not signing\n",
                c->pos[0], tag);
        return CLI_REFUSED;
    }
    return CLI_OK;
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

static void print_warnings(FILE *f, const approve_view *v, const cli_key *k)
{
    uint64_t target = cli_json_u64(v->payload, "version", 0);
    const char *head_b3 = cli_json_str(v->head, "payload_b3", "");
    if (target != v->head_version + 1)
        fprintf(f,
                "warning: HEAD is version %llu: this proposal for version %llu can never be "
                "committed\n",
                (unsigned long long)v->head_version, (unsigned long long)target);
    else if (strcmp(cli_json_str(v->payload, "prev_hash", ""), head_b3) != 0)
        fprintf(f, "warning: prev_hash does not link to HEAD (%s)\n", head_b3);
    if (v->base && !listed_in(v->base, k->signer_id))
        fprintf(f, "warning: %s is not in HEAD's signer set\n", k->signer_id);
}

/* What is being signed, versus HEAD. */
static int print_summary(FILE *f, const approve_view *v, const cli_key *k, const char *tag)
{
    const json_t *q = json_object_get(v->prop, "quorum");
    fprintf(f, "proposal %s (%s) for version %llu, %zu items\npayload_b3 %s\n",
            cli_json_str(v->prop, "proposal_id", "?"), cli_json_str(v->prop, "status", "?"),
            (unsigned long long)cli_json_u64(v->payload, "version", 0),
            json_array_size(json_object_get(v->payload, "items")), tag);
    fprintf(f, "approvals so far %zu, quorum %llu of %llu\n",
            json_array_size(json_object_get(v->prop, "approvals")),
            (unsigned long long)cli_json_u64(q, "m", 0),
            (unsigned long long)cli_json_u64(q, "n", 0));
    payload_diff d;
    if (payload_diff_items(v->base, v->payload, &d) != 0) {
        payload_diff_free(&d);
        return -1;
    }
    fprintf(f, "changes versus HEAD version %llu:\n", (unsigned long long)v->head_version);
    payload_diff_print(&d, f, "  ");
    payload_diff_free(&d);
    print_warnings(f, v, k);
    fprintf(f, "signing as %s\n", k->signer_id);
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
        printf("%.*s\n", (int)raw.len, raw.data);
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
    cli_key k;
    if (keyfile_load("approve", c->opt[0], &k) != 0)
        return CLI_USAGE;
    approve_view v = {0};
    char tag[B3_TAG_LEN + 1];
    int rc = fetch_view(c, &v);
    if (rc == CLI_OK)
        rc = check_view(c, &v, tag);
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
        "usage: svcr approve [options] PROPOSAL_ID --key FILE [--yes]\n"
        "Approves a proposal as the signer whose key is in FILE. Fetches the proposal and the\n"
        "current HEAD, shows what is being signed (target version, item count, items added (+),\n"
        "removed (-) and changed (~) versus HEAD), checks locally that payload_b3 is the\n"
        "BLAKE3 of the payload's RFC 8785 form, asks for confirmation, then signs and posts the\n"
        "approval (POST /registry/approvals/ID; scope registry:approve). Prints the number of\n"
        "approvals and the quorum.\n\n"
        "  --key FILE          a key file from `svcr keygen`\n"
        "  --yes               sign without asking (required when standard input is not a\n"
        "                      terminal)\n" CLI_CONN_HELP
        "\nExit status: 0 accepted, 1 the registry refused (error code and message printed), "
        "could\n"
        "not be reached, served a payload whose hash does not match, or the prompt was declined;\n"
        "2 bad usage (including no terminal and no --yes) or an unusable key file.\n",
    .min_pos = 1,
    .max_pos = 1,
    .opts = {"--key", NULL},
    .flags = {"--yes", NULL},
    .run = run_approve,
};

int cmd_approve(int argc, char **argv)
{
    return remote_verb(&approve_spec, argc, argv);
}
