/* cmd_diff.c - svcr diff: the items added, removed and changed between two versions. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "payload.h"
#include "remote.h"

/* A version argument: an integer >= 0 or "head". Returns 0 or -1. */
static int diff_version(remote_call *c, const char *arg, uint64_t *v)
{
    if (strcmp(arg, "head") != 0)
        return cli_parse_u64(arg, 0, 9007199254740991ULL, v);
    json_t *h = NULL;
    if (remote_get_json(&c->r, "/registry/head", &h, NULL, 0) != CLI_OK)
        return -2;
    *v = cli_json_u64(h, "version", 0);
    json_decref(h);
    return 0;
}

/* The artifact of version v (NULL for version 0, the empty set). */
static int diff_fetch(remote_call *c, uint64_t v, json_t **artifact)
{
    *artifact = NULL;
    if (v == 0)
        return CLI_OK;
    char path[64];
    snprintf(path, sizeof path, "/registry/%llu", (unsigned long long)v);
    return remote_get_json(&c->r, path, artifact, NULL, 0);
}

static int diff_print(const remote_call *c, uint64_t a, uint64_t b, const payload_diff *d)
{
    if (c->r.conn.json) {
        json_t *o =
            json_pack("{s:I, s:I, s:O, s:O, s:O}", "from", (json_int_t)a, "to", (json_int_t)b,
                      "added", d->added, "removed", d->removed, "changed", d->changed);
        int rc = o ? cli_print_json(o) : -1;
        json_decref(o);
        return rc == 0 ? CLI_OK : CLI_USAGE;
    }
    printf("version %llu -> %llu: %zu added, %zu removed, %zu changed\n", (unsigned long long)a,
           (unsigned long long)b, json_array_size(d->added), json_array_size(d->removed),
           json_array_size(d->changed));
    if (payload_diff_count(d))
        payload_diff_print(d, stdout, "");
    return CLI_OK;
}

static int run_diff(remote_call *c)
{
    uint64_t a = 0, b = 0;
    int pa = diff_version(c, c->pos[0], &a), pb = pa == 0 ? diff_version(c, c->pos[1], &b) : 0;
    if (pa == -2 || pb == -2)
        return CLI_REFUSED;
    if (pa != 0 || pb != 0)
        return cli_usage_error("diff", "versions are integers >= 0 or \"head\"");
    json_t *x = NULL, *y = NULL;
    int rc = diff_fetch(c, a, &x);
    if (rc == CLI_OK)
        rc = diff_fetch(c, b, &y);
    payload_diff d = {0};
    if (rc == CLI_OK &&
        payload_diff_items(json_object_get(x, "payload"), json_object_get(y, "payload"), &d) != 0)
        rc = CLI_USAGE;
    if (rc == CLI_OK)
        rc = diff_print(c, a, b, &d);
    payload_diff_free(&d);
    json_decref(x);
    json_decref(y);
    return rc;
}

static const remote_spec diff_spec = {
    .name = "diff",
    .help =
        "usage: svcr diff [options] A B\n"
        "Compares the items of versions A and B (integers; 0 is the empty genesis; \"head\" is\n"
        "the current HEAD) by (kind, id): one line per item added (+), removed (-) or changed (~)\n"
        "going from A to B, after a summary line, as the registry serves them (not verified\n"
        "here: `svcr verify-remote` verifies). --json prints\n"
        "{\"from\",\"to\",\"added\":[{kind,id}],\"removed\":[...],\"changed\":[...]}."
        "\n\n" CLI_CONN_HELP
        "\nExit status: 0 done, 1 the registry refused (e.g. NotFound) or could not be reached,\n"
        "2 bad usage.\n",
    .min_pos = 2,
    .max_pos = 2,
    .run = run_diff,
};

int cmd_diff(int argc, char **argv)
{
    return remote_verb(&diff_spec, argc, argv);
}
