/* cmd_draft.c - svcr draft: turns a file of items into the next payload to propose (version
 * HEAD+1, prev_hash = HEAD's payload_b3, and a signer_set item). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "remote.h"

/* The signer_set item of a payload's items, or NULL. Borrowed. */
static json_t *find_signer_set(const json_t *items)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *kind = json_string_value(json_object_get(it, "kind"));
        if (kind && strcmp(kind, "signer_set") == 0)
            return it;
    }
    return NULL;
}

/* The signer set to declare: --signer-set FILE, else the one in HEAD's payload. New ref. */
static json_t *signer_set_for(remote_call *c, uint64_t head_version)
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
    if (head_version == 0) {
        fprintf(stderr, "svcr draft: HEAD is version 0 (no signer set yet): pass "
                        "--signer-set TRUST_ROOTS.json\n");
        return NULL;
    }
    char path[64];
    snprintf(path, sizeof path, "/registry/%llu", (unsigned long long)head_version);
    json_t *art = NULL;
    if (remote_get_json(&c->r, path, &art, NULL, 0) != CLI_OK)
        return NULL;
    json_t *set = find_signer_set(json_object_get(json_object_get(art, "payload"), "items"));
    json_t *copy = set ? json_incref(set) : NULL;
    json_decref(art);
    return copy;
}

static int run_draft(remote_call *c)
{
    json_t *doc = cli_read_json("draft", c->pos[0]);
    if (!doc)
        return CLI_USAGE;
    json_t *payload = json_object_get(doc, "payload") ? json_object_get(doc, "payload") : doc;
    json_t *items = json_object_get(payload, "items");
    if (!json_is_array(items)) {
        json_decref(doc);
        return cli_usage_error("draft", "%s: expected {\"items\":[...]} or a payload", c->pos[0]);
    }
    json_t *head = NULL;
    int rc = remote_get_json(&c->r, "/registry/head", &head, NULL, 0);
    if (rc != CLI_OK) {
        json_decref(doc);
        return rc;
    }
    uint64_t v = cli_json_u64(head, "version", 0);
    json_t *out = json_deep_copy(payload);
    json_t *new_items = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *kind = json_string_value(json_object_get(it, "kind"));
        if (!kind || strcmp(kind, "signer_set") != 0 || !c->opt[0])
            json_array_append(new_items, it);
    }
    if (!find_signer_set(new_items)) {
        json_t *set = signer_set_for(c, v);
        if (!set) {
            json_decref(new_items);
            json_decref(out);
            json_decref(head);
            json_decref(doc);
            return CLI_USAGE;
        }
        json_array_insert_new(new_items, 0, set);
    }
    json_object_set_new(out, "version", json_integer((json_int_t)(v + 1)));
    json_object_set_new(out, "prev_hash", json_string(cli_json_str(head, "payload_b3", "")));
    json_object_set_new(out, "items", new_items);
    char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(out);
    json_decref(head);
    json_decref(doc);
    return text ? CLI_OK : CLI_USAGE;
}

static const remote_spec draft_spec = {
    .name = "draft",
    .help = "usage: svcr draft [options] [--signer-set FILE] FILE|-\n"
            "Prints the next payload to propose: the items of FILE (a payload, or just\n"
            "{\"items\":[...]}) with version = HEAD+1 and prev_hash = HEAD's payload_b3 from the\n"
            "registry, and a signer_set item: the one in FILE, else --signer-set FILE (a\n"
            "signer_set item, e.g. the trust roots), else the set declared by HEAD's payload.\n"
            "Nothing is sent; review the output, then `svcr propose` it.\n\n" CLI_CONN_HELP
            "\nExit status: 0 printed, 1 the registry could not be read, 2 bad input.\n",
    .min_pos = 1,
    .max_pos = 1,
    .opts = {"--signer-set"},
    .run = run_draft,
};

int cmd_draft(int argc, char **argv)
{
    return remote_verb(&draft_spec, argc, argv);
}
