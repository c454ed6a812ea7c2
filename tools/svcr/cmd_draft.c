/* cmd_draft.c - svcr draft: turns a file of items into the next payload to propose (version
 * HEAD+1, prev_hash = HEAD's payload_b3, and a signer_set item). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "remote.h"
#include "term.h"

/* The signer_set item of a payload's items, or NULL. Borrowed. */
static json_t *find_signer_set(const json_t *items)
{
    size_t i;
    json_t *it;
    json_array_foreach (items, i, it) {
        const char *kind = json_string_value(json_object_get(it, "kind"));
        if (kind && strcmp(kind, "signer_set") == 0)
            return it;
    }
    return NULL;
}

/* The signer set to declare: --signer-set FILE, else the one in the verified HEAD's payload.
 * New reference, or NULL after printing why. */
static json_t *signer_set_for(remote_call *c, const base_head *base)
{
    if (c->opt[0]) {
        json_t *set = cli_read_json("draft", c->opt[0]);
        if (set && !json_object_get(set, "kind")) {
            json_t *inner = find_signer_set(json_object_get(set, "items"));
            json_t *copy = inner ? json_incref(inner) : NULL;
            json_decref(set);
            set = copy;
        }
        return set;
    }
    if (base->version == 0) {
        fprintf(stderr, "svcr draft: HEAD is version 0 (no signer set yet): pass "
                        "--signer-set TRUST_ROOTS.json\n");
        return NULL;
    }
    json_t *set = find_signer_set(json_object_get(base->payload, "items"));
    if (!set)
        fprintf(stderr, "svcr draft: HEAD's payload has no signer_set item\n");
    return set ? json_deep_copy(set) : NULL;
}

/* The draft: the document's payload with version, prev_hash and a signer_set from base. */
static json_t *draft_build(remote_call *c, const json_t *payload, const base_head *base)
{
    json_t *out = json_deep_copy(payload), *new_items = json_array();
    const json_t *it;
    size_t i;
    json_array_foreach (json_object_get(payload, "items"), i, it) {
        const char *kind = json_string_value(json_object_get(it, "kind"));
        if (!kind || strcmp(kind, "signer_set") != 0 || !c->opt[0])
            json_array_append(new_items, (json_t *)it);
    }
    if (out && new_items && !find_signer_set(new_items)) {
        json_t *set = signer_set_for(c, base);
        if (!set) {
            json_decref(new_items);
            json_decref(out);
            return NULL;
        }
        json_array_insert_new(new_items, 0, set);
    }
    json_object_set_new(out, "version", json_integer((json_int_t)(base->version + 1)));
    json_object_set_new(out, "prev_hash", json_string(base->b3));
    json_object_set_new(out, "items", new_items);
    return out;
}

static int run_draft(remote_call *c)
{
    json_t *doc = cli_read_json("draft", c->pos[0]);
    if (!doc)
        return CLI_USAGE;
    json_t *payload = json_object_get(doc, "payload") ? json_object_get(doc, "payload") : doc;
    if (!json_is_array(json_object_get(payload, "items"))) {
        json_decref(doc);
        return cli_usage_error("draft", "%s: expected {\"items\":[...]} or a payload", c->pos[0]);
    }
    const char *roots_path = c->opt[1] ? c->opt[1] : getenv("SVCR_TRUST_ROOTS");
    signer_set *roots = NULL;
    if (roots_path && *roots_path && !(roots = base_roots_load("draft", roots_path))) {
        json_decref(doc);
        return CLI_USAGE;
    }
    base_head base;
    int rc = base_head_fetch(&c->r, roots, &base);
    signer_set_release(roots);
    json_t *out = rc == CLI_OK ? draft_build(c, payload, &base) : NULL;
    if (rc == CLI_OK && !out)
        rc = CLI_USAGE;
    char *text = out ? json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text) {
        base_head_describe(&base, stderr);
        term_json(stdout, text, strlen(text), 1);
    } else if (rc == CLI_OK) {
        rc = CLI_USAGE;
    }
    free(text);
    json_decref(out);
    base_head_free(&base);
    json_decref(doc);
    return rc;
}

static const remote_spec draft_spec = {
    .name = "draft",
    .help = "usage: svcr draft [options] [--signer-set FILE] [--trust-roots FILE] FILE|-\n"
            "Prints the next payload to propose: the items of FILE (a payload, or just\n"
            "{\"items\":[...]}) with version = HEAD+1 and prev_hash = HEAD's payload_b3, and a\n"
            "signer_set item: the one in FILE, else --signer-set FILE (a signer_set item, e.g.\n"
            "the trust roots), else the set declared by HEAD's payload. HEAD is verified first,\n"
            "as `svcr approve` verifies it (its payload hash, links, and approvals against the\n"
            "signer set that governs it: from --trust-roots FILE, default $SVCR_TRUST_ROOTS, or\n"
            "the set of version HEAD - 1 as served); one that does not verify is exit 1 and\n"
            "nothing is printed. How HEAD was verified goes to stderr. Nothing is sent; review\n"
            "the output, then `svcr propose` it.\n\n"
            "  --signer-set FILE   the signer_set item to declare (a trust-roots file)\n"
            "  --trust-roots FILE  verify HEAD's chain from the genesis signer set in FILE\n"
            "                      (default $SVCR_TRUST_ROOTS)\n" CLI_CONN_HELP
            "\nExit status: 0 printed, 1 the registry could not be read or its HEAD does not\n"
            "verify, 2 bad input.\n",
    .min_pos = 1,
    .max_pos = 1,
    .opts = {"--signer-set", "--trust-roots", NULL},
    .run = run_draft,
};

int cmd_draft(int argc, char **argv)
{
    return remote_verb(&draft_spec, argc, argv);
}
