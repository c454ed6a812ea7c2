/* cmd_registry.c - svcr propose/commit/supersede/freeze/thaw/head/get/proposals/audit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "interop/jcs.h"
#include "payload.h"
#include "remote.h"
#include "term.h"

#define EXIT_HELP                                                                                  \
    "\nExit status: 0 done, 1 the registry refused (its error code and message are printed)\n"     \
    "or could not be reached, 2 bad usage or input.\n"

/* Prints the answer as received with --json (characters a terminal acts on escaped, see
 * term_json); returns 1 when it did. */
static int print_raw(const remote_call *c, const buf *raw)
{
    if (!c->r.conn.json)
        return 0;
    term_json(stdout, raw->data, raw->len, 0);
    return 1;
}

/* ---- propose ----------------------------------------------------------------------------- */

/* The proposal request for a payload or request document (borrowed): a bare payload is wrapped
 * into {"schema_version":"1.0.0","payload":...}; payload_b3 is added when absent, so the
 * registry checks this tool's hash against its own. New reference or NULL. */
static json_t *propose_request(json_t *doc)
{
    const json_t *p = payload_of(doc);
    char tag[B3_TAG_LEN + 1];
    if (!p || payload_tag(p, tag) != 0)
        return NULL;
    json_t *req = p == doc ? json_pack("{s:s, s:O}", "schema_version", "1.0.0", "payload", doc)
                           : json_deep_copy(doc);
    if (req && !json_object_get(req, "payload_b3"))
        json_object_set_new(req, "payload_b3", json_string(tag));
    return req;
}

static int run_propose(remote_call *c)
{
    json_t *doc = cli_read_json("propose", c->pos[0]);
    if (!doc)
        return CLI_USAGE;
    json_t *req = propose_request(doc);
    json_decref(doc);
    if (!req)
        return cli_usage_error("propose", "%s: not a payload object", c->pos[0]);
    json_t *ans = NULL;
    buf raw = {0};
    long status = 0;
    int rc = remote_post_json(&c->r, "/registry/proposals", req, &ans, &raw, &status);
    if (rc == CLI_OK && (c->flag[0] || c->flag[1]))
        term_printf("%.*s\n", TERM_JS(ans, "proposal_id", "?")); /* --quiet: the id alone */
    else if (rc == CLI_OK && !print_raw(c, &raw))
        term_printf("proposal %.*s (%s)\npayload_b3 %.*s\nexpires_at %.*s\n",
                    TERM_JS(ans, "proposal_id", "?"), status == 202 ? "new" : "already proposed",
                    TERM_JS(ans, "payload_b3", "?"), TERM_JS(ans, "expires_at", "?"));
    json_decref(ans);
    json_decref(req);
    buf_free(&raw);
    return rc;
}

static const remote_spec propose_spec = {
    .name = "propose",
    .help =
        "usage: svcr propose [options] FILE|-\n"
        "Submits a proposal (POST /registry/proposals; scope registry:propose). FILE holds a\n"
        "payload (a descriptor set, SPEC §2.1) or a full proposal request; a bare payload is\n"
        "wrapped into {\"schema_version\":\"1.0.0\",\"payload\":...} and its payload_b3, computed\n"
        "here, is sent along so the registry checks it. Prints proposal_id, payload_b3 and\n"
        "expires_at (proposing the same payload again returns the same proposal).\n"
        "  --quiet, -q   print only the proposal id (for scripts: ID=$(svcr propose -q "
        "f))\n\n" CLI_CONN_HELP EXIT_HELP,
    .min_pos = 1,
    .max_pos = 1,
    .flags = {"--quiet", "-q"},
    .run = run_propose,
};

int cmd_propose(int argc, char **argv)
{
    return remote_verb(&propose_spec, argc, argv);
}

/* ---- commit, supersede ------------------------------------------------------------------- */

/* POSTs body to path and prints the 201 {version, payload_b3, committed_at} answer. */
static int post_commit(remote_call *c, const char *path, json_t *body, const char *what)
{
    json_t *ans = NULL;
    buf raw = {0};
    int rc = body ? remote_post_json(&c->r, path, body, &ans, &raw, NULL) : CLI_USAGE;
    if (rc == CLI_OK && !print_raw(c, &raw))
        term_printf("%s version %llu %.*s at %.*s\n", what,
                    (unsigned long long)cli_json_u64(ans, "version", 0),
                    TERM_JS(ans, "payload_b3", "?"), TERM_JS(ans, "committed_at", "?"));
    json_decref(ans);
    json_decref(body);
    buf_free(&raw);
    return rc;
}

static int run_commit(remote_call *c)
{
    if (!remote_proposal_id_ok(c->pos[0]))
        return cli_usage_error("commit", "%s is not a proposal id (p_ + 24 hex)", c->pos[0]);
    char path[64];
    snprintf(path, sizeof path, "/registry/commit/%s", c->pos[0]);
    return post_commit(c, path, json_object(), "committed");
}

static int run_supersede(remote_call *c)
{
    if (!remote_proposal_id_ok(c->pos[0]))
        return cli_usage_error("supersede", "%s is not a proposal id (p_ + 24 hex)", c->pos[0]);
    return post_commit(c, "/registry/supersede", json_pack("{s:s}", "proposal_id", c->pos[0]),
                       "superseded: committed");
}

static const remote_spec commit_spec = {
    .name = "commit",
    .help =
        "usage: svcr commit [options] PROPOSAL_ID\n"
        "Commits a proposal that has its quorum as the next version (POST /registry/commit/ID;\n"
        "scope registry:commit). Prints the version, payload_b3 and committed_at. Retrying a\n"
        "committed proposal prints the same answer. Supersede proposals need `svcr "
        "supersede`.\n\n" CLI_CONN_HELP EXIT_HELP,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_commit,
};

static const remote_spec supersede_spec = {
    .name = "supersede",
    .help =
        "usage: svcr supersede [options] PROPOSAL_ID\n"
        "Commits a correction (POST /registry/supersede; scope registry:supersede): a proposal\n"
        "whose payload carries supersede_of (HEAD's payload_b3) and supersede_reason, approved\n"
        "by the same quorum as any change. Prints the new version like `svcr "
        "commit`.\n\n" CLI_CONN_HELP EXIT_HELP,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_supersede,
};

int cmd_commit(int argc, char **argv)
{
    return remote_verb(&commit_spec, argc, argv);
}

int cmd_supersede(int argc, char **argv)
{
    return remote_verb(&supersede_spec, argc, argv);
}

/* ---- freeze, thaw ------------------------------------------------------------------------ */

static int post_admin(remote_call *c, const char *path)
{
    json_t *body = json_pack("{s:s}", "reason", c->pos[0]), *ans = NULL;
    buf raw = {0};
    int rc = body ? remote_post_json(&c->r, path, body, &ans, &raw, NULL) : CLI_USAGE;
    if (rc == CLI_OK && !print_raw(c, &raw))
        term_printf("write plane %s (reason: %s)\n",
                    json_is_true(json_object_get(ans, "frozen")) ? "frozen" : "thawed", c->pos[0]);
    json_decref(ans);
    json_decref(body);
    buf_free(&raw);
    return rc;
}

static int run_freeze(remote_call *c)
{
    return post_admin(c, "/registry/admin/freeze");
}

static int run_thaw(remote_call *c)
{
    return post_admin(c, "/registry/admin/thaw");
}

static const remote_spec freeze_spec = {
    .name = "freeze",
    .help =
        "usage: svcr freeze [options] REASON\n"
        "Freezes the write plane (POST /registry/admin/freeze; scope registry:operate): reads go\n"
        "on, every write answers 503 NotReady until `svcr thaw`. Audited with "
        "REASON.\n\n" CLI_CONN_HELP EXIT_HELP,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_freeze,
};

static const remote_spec thaw_spec = {
    .name = "thaw",
    .help =
        "usage: svcr thaw [options] REASON\n"
        "Thaws the write plane (POST /registry/admin/thaw; scope registry:operate). Audited with\n"
        "REASON.\n\n" CLI_CONN_HELP EXIT_HELP,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_thaw,
};

int cmd_freeze(int argc, char **argv)
{
    return remote_verb(&freeze_spec, argc, argv);
}

int cmd_thaw(int argc, char **argv)
{
    return remote_verb(&thaw_spec, argc, argv);
}

/* ---- head, get --------------------------------------------------------------------------- */

static int run_head(remote_call *c)
{
    json_t *h = NULL;
    buf raw = {0};
    int rc = remote_get_json(&c->r, "/registry/head", &h, &raw, 0);
    if (rc == CLI_OK && !print_raw(c, &raw))
        term_printf("version %llu %.*s committed_at %.*s\n",
                    (unsigned long long)cli_json_u64(h, "version", 0),
                    TERM_JS(h, "payload_b3", "?"), TERM_JS(h, "committed_at", "-"));
    json_decref(h);
    buf_free(&raw);
    return rc;
}

static const remote_spec head_spec = {
    .name = "head",
    .help = "usage: svcr head [options]\n"
            "Prints the registry's HEAD (GET /registry/head): version, payload_b3, "
            "committed_at.\n\n" CLI_CONN_HELP EXIT_HELP,
    .min_pos = 0,
    .max_pos = 0,
    .run = run_head,
};

int cmd_head(int argc, char **argv)
{
    return remote_verb(&head_spec, argc, argv);
}

/* One line per approval: "  <signer_id> signed_at <time>". */
static void print_approvals(const json_t *ap)
{
    for (size_t i = 0; i < json_array_size(ap); i++) {
        const json_t *a = json_array_get(ap, i);
        term_printf("  %.*s signed_at %.*s\n", TERM_JS(a, "signer_id", "?"),
                    TERM_JS(a, "signed_at", "?"));
    }
}

/* Human summary of a signed artifact (as served: `svcr verify-remote` verifies). */
static void print_artifact(const json_t *a)
{
    const json_t *p = json_object_get(a, "payload");
    term_printf("version %llu %.*s\nprev_hash %.*s\ncommitted_at %.*s\nproposal %.*s\n",
                (unsigned long long)cli_json_u64(a, "version", 0), TERM_JS(a, "payload_b3", "?"),
                TERM_JS(a, "prev_hash", "?"), TERM_JS(a, "committed_at", "?"),
                TERM_JS(a, "proposal_id", "?"));
    if (json_is_string(json_object_get(p, "supersede_of")))
        term_printf("supersedes %.*s (%.*s)\n", TERM_JS(p, "supersede_of", ""),
                    TERM_JS(p, "supersede_reason", ""));
    if (json_is_string(json_object_get(p, "supersede_note")))
        term_printf("supersede_note %.*s\n", TERM_JS(p, "supersede_note", ""));
    const json_t *ap = json_object_get(a, "approvals");
    printf("approvals (%zu):\n", json_array_size(ap));
    print_approvals(ap);
    const json_t *items = json_object_get(p, "items");
    printf("items (%zu):\n", json_array_size(items));
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        term_printf("  %.*s %.*s\n", TERM_JS(it, "kind", "?"), TERM_JS(it, "id", "?"));
    }
}

static int run_get(remote_call *c)
{
    uint64_t v = 0;
    if (cli_parse_u64(c->pos[0], 1, 9007199254740991ULL, &v) != 0)
        return cli_usage_error("get", "VERSION must be an integer >= 1");
    char path[64];
    snprintf(path, sizeof path, "/registry/%llu", (unsigned long long)v);
    json_t *a = NULL;
    buf raw = {0};
    int rc = remote_get_json(&c->r, path, &a, &raw, 0);
    if (rc == CLI_OK && !print_raw(c, &raw))
        print_artifact(a);
    json_decref(a);
    buf_free(&raw);
    return rc;
}

static const remote_spec get_spec = {
    .name = "get",
    .help =
        "usage: svcr get [options] VERSION\n"
        "Prints one committed version (GET /registry/VERSION): its hashes, approvals and items;\n"
        "with --json the signed artifact as served (SPEC §2.4; characters a terminal acts on\n"
        "written as \\uXXXX escapes). What the registry serves is printed, not verified here:\n"
        "`svcr verify-remote` verifies.\n\n" CLI_CONN_HELP EXIT_HELP,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_get,
};

int cmd_get(int argc, char **argv)
{
    return remote_verb(&get_spec, argc, argv);
}

/* ---- proposals --------------------------------------------------------------------------- */

static void print_proposal(const json_t *p)
{
    const json_t *q = json_object_get(p, "quorum");
    const json_t *ap = json_object_get(p, "approvals");
    term_printf("proposal %.*s %.*s version %llu\npayload_b3 %.*s\n"
                "approvals %zu, quorum %llu of %llu\n",
                TERM_JS(p, "proposal_id", "?"), TERM_JS(p, "status", "?"),
                (unsigned long long)cli_json_u64(p, "version", 0), TERM_JS(p, "payload_b3", "?"),
                json_array_size(ap), (unsigned long long)cli_json_u64(q, "m", 0),
                (unsigned long long)cli_json_u64(q, "n", 0));
    print_approvals(ap);
    term_printf("accepted_at %.*s\nexpires_at %.*s\n", TERM_JS(p, "accepted_at", "?"),
                TERM_JS(p, "expires_at", "?"));
}

static void print_pending(const json_t *list)
{
    const json_t *ps = json_object_get(list, "proposals");
    if (json_array_size(ps) == 0)
        printf("no pending proposals\n");
    for (size_t i = 0; i < json_array_size(ps); i++) {
        const json_t *p = json_array_get(ps, i), *q = json_object_get(p, "quorum");
        term_printf("%.*s version %llu approvals %llu/%llu expires_at %.*s\n",
                    TERM_JS(p, "proposal_id", "?"),
                    (unsigned long long)cli_json_u64(p, "version", 0),
                    (unsigned long long)cli_json_u64(p, "approvals", 0),
                    (unsigned long long)cli_json_u64(q, "m", 0), TERM_JS(p, "expires_at", "?"));
    }
}

/* Every page of GET /registry/proposals (D42), as one {"proposals":[...],"next":null}. */
static int get_all_pending(remote_call *c, json_t **out)
{
    json_t *all = json_array();
    char path[160] = "/registry/proposals?limit=1000";
    int rc = all ? CLI_OK : CLI_REFUSED;
    for (int page = 0; rc == CLI_OK && page < 64; page++) { /* 64 pages > the 4,096 cap */
        json_t *a = NULL;
        buf raw = {0};
        rc = remote_get_json(&c->r, path, &a, &raw, 0);
        buf_free(&raw);
        if (rc == CLI_OK)
            json_array_extend(all, json_object_get(a, "proposals"));
        const char *next = json_string_value(json_object_get(a, "next"));
        if (rc == CLI_OK && next && strlen(next) < 64 &&
            strspn(next, "0123456789._abcdefp") == strlen(next))
            snprintf(path, sizeof path, "/registry/proposals?limit=1000&after=%s", next);
        else
            page = 64;
        json_decref(a);
    }
    *out = rc == CLI_OK ? json_pack("{s:o, s:n}", "proposals", all, "next") : NULL;
    if (rc != CLI_OK)
        json_decref(all);
    return rc;
}

static int run_proposals(remote_call *c)
{
    char path[64] = "/registry/proposals";
    if (c->npos && !remote_proposal_id_ok(c->pos[0]))
        return cli_usage_error("proposals", "%s is not a proposal id (p_ + 24 hex)", c->pos[0]);
    if (!c->npos) {
        json_t *all = NULL;
        int rc = get_all_pending(c, &all);
        if (rc == CLI_OK && c->r.conn.json)
            cli_print_json(all);
        else if (rc == CLI_OK)
            print_pending(all);
        json_decref(all);
        return rc;
    }
    snprintf(path, sizeof path, "/registry/proposals/%s", c->pos[0]);
    json_t *a = NULL;
    buf raw = {0};
    int rc = remote_get_json(&c->r, path, &a, &raw, 0);
    if (rc == CLI_OK && !print_raw(c, &raw))
        print_proposal(a);
    json_decref(a);
    buf_free(&raw);
    return rc;
}

static const remote_spec proposals_spec = {
    .name = "proposals",
    .help =
        "usage: svcr proposals [options] [PROPOSAL_ID]\n"
        "Without an id: the pending proposals, one line each (GET /registry/proposals).\n"
        "With one: its status, payload_b3, approvals, quorum and times\n"
        "(GET /registry/proposals/ID; --json includes the payload).\n\n" CLI_CONN_HELP EXIT_HELP,
    .min_pos = 0,
    .max_pos = 1,
    .run = run_proposals,
};

int cmd_proposals(int argc, char **argv)
{
    return remote_verb(&proposals_spec, argc, argv);
}

/* ---- audit ------------------------------------------------------------------------------- */

/* Prints " name=value" for a string or integral member that is present. */
static void print_member(const json_t *r, const char *name)
{
    const json_t *v = json_object_get(r, name);
    if (json_is_string(v))
        term_printf(" %s=%.*s", name, TERM_JS(r, name, ""));
    else if (json_is_number(v))
        printf(" %s=%llu", name, (unsigned long long)cli_json_u64(r, name, 0));
}

static void print_audit(const json_t *a)
{
    static const char *const extra[] = {"err_code",  "reason",  "proposal_id",
                                        "signer_id", "version", "corr_id"};
    const json_t *recs = json_object_get(a, "records");
    for (size_t i = 0; i < json_array_size(recs); i++) {
        const json_t *r = json_array_get(recs, i);
        term_printf("%llu %.*s %.*s %.*s", (unsigned long long)cli_json_u64(r, "seq", 0),
                    TERM_JS(r, "ts", "?"), TERM_JS(r, "event", "?"), TERM_JS(r, "decision", "?"));
        for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++)
            print_member(r, extra[k]);
        putchar('\n');
    }
    if (json_is_number(json_object_get(a, "next")))
        printf("next: %llu\n", (unsigned long long)cli_json_u64(a, "next", 0));
}

static int run_audit(remote_call *c)
{
    uint64_t from = 1, limit = 100;
    if (c->opt[0] && cli_parse_u64(c->opt[0], 1, UINT64_MAX, &from) != 0)
        return cli_usage_error("audit", "--from wants an integer >= 1");
    if (c->opt[1] && cli_parse_u64(c->opt[1], 1, 1000, &limit) != 0)
        return cli_usage_error("audit", "--limit wants an integer from 1 to 1000");
    char path[96];
    snprintf(path, sizeof path, "/registry/audit?from=%llu&limit=%llu", (unsigned long long)from,
             (unsigned long long)limit);
    json_t *a = NULL;
    buf raw = {0};
    int rc = remote_get_json(&c->r, path, &a, &raw, 0);
    if (rc == CLI_OK && !print_raw(c, &raw))
        print_audit(a);
    json_decref(a);
    buf_free(&raw);
    return rc;
}

static const remote_spec audit_spec = {
    .name = "audit",
    .help =
        "usage: svcr audit [options] [--from N] [--limit N]\n"
        "Prints audit records (GET /registry/audit), one line each: seq, ts, event, decision and\n"
        "err_code, reason, proposal_id, signer_id, version, corr_id when present; then\n"
        "\"next: N\" when more records exist.\n\n"
        "  --from N            first seq (default 1)\n"
        "  --limit N           records at most, 1..1000 (default 100)\n" CLI_CONN_HELP EXIT_HELP,
    .min_pos = 0,
    .max_pos = 0,
    .opts = {"--from", "--limit", NULL},
    .run = run_audit,
};

int cmd_audit(int argc, char **argv)
{
    return remote_verb(&audit_spec, argc, argv);
}
