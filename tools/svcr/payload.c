/* payload.c - payload lookup, hashing and item diffs for the svcr verbs (see payload.h). */
#include "payload.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "governance/descriptor_set.h"
#include "interop/jcs.h"

const json_t *payload_of(const json_t *doc)
{
    const json_t *p = json_object_get(doc, "payload");
    if (json_is_object(p))
        return p;
    return json_is_object(doc) ? doc : NULL;
}

int payload_tag(const json_t *payload, char tag[B3_TAG_LEN + 1])
{
    buf canon = {0};
    int rc = payload && jcs_write(&canon, payload, NULL) == 0 ? 0 : -1;
    if (rc == 0)
        b3_tag_of(canon.data, canon.len, tag);
    buf_free(&canon);
    return rc;
}

int payload_file_tag(const char *verb, const char *path, char tag[B3_TAG_LEN + 1])
{
    json_t *doc = cli_read_json(verb, path);
    if (!doc)
        return -1;
    const json_t *p = payload_of(doc);
    const char *claimed = p != doc ? cli_json_str(doc, "payload_b3", NULL) : NULL;
    descriptor_set *ds = NULL;
    svcr_err err;
    int rc = p ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "svcr %s: %s: not a payload object\n", verb, path);
    else if (descriptor_set_decode((json_t *)p, "payload", &ds, &err) != SVCR_OK) {
        fprintf(stderr, "svcr %s: %s: not a valid payload: %s: %s\n", verb, path, err.path,
                err.message);
        rc = -1;
    } else if ((rc = payload_tag(p, tag)) != 0) {
        fprintf(stderr, "svcr %s: %s: the payload has no canonical form\n", verb, path);
    } else if (claimed && strcmp(claimed, tag) != 0) {
        fprintf(stderr, "svcr %s: %s: its payload_b3 %s is not the payload's hash %s\n", verb, path,
                claimed, tag);
        rc = -1;
    }
    descriptor_set_free(ds);
    json_decref(doc);
    return rc;
}

/* "kind id" (kinds hold no space, so this names one item unambiguously), or NULL. */
static char *item_key(const json_t *item)
{
    const char *kind = cli_json_str(item, "kind", NULL), *id = cli_json_str(item, "id", NULL);
    char *key = NULL;
    if (!kind || !id || asprintf(&key, "%s %s", kind, id) < 0)
        return NULL;
    return key;
}

static int add_ref(json_t *arr, const json_t *item)
{
    return json_array_append_new(arr,
                                 json_pack("{s:s, s:s}", "kind", cli_json_str(item, "kind", ""),
                                           "id", cli_json_str(item, "id", "")));
}

/* Index of the items of a payload by item_key (values borrowed from the payload). */
static json_t *index_items(const json_t *payload)
{
    json_t *idx = json_object();
    const json_t *items = json_object_get(payload, "items");
    for (size_t i = 0; idx && i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        char *key = item_key(it);
        if (key)
            json_object_set(idx, key, (json_t *)it);
        free(key);
    }
    return idx;
}

int payload_diff_items(const json_t *from, const json_t *to, payload_diff *d)
{
    d->added = json_array();
    d->removed = json_array();
    d->changed = json_array();
    json_t *old = index_items(from), *cur = index_items(to);
    int rc = d->added && d->removed && d->changed && old && cur ? 0 : -1;
    const json_t *items = json_object_get(to, "items");
    for (size_t i = 0; rc == 0 && i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        char *key = item_key(it);
        const json_t *before = key ? json_object_get(old, key) : NULL;
        if (key && !before)
            rc = add_ref(d->added, it);
        else if (key && !json_equal((json_t *)before, (json_t *)it))
            rc = add_ref(d->changed, it);
        free(key);
    }
    items = json_object_get(from, "items");
    for (size_t i = 0; rc == 0 && i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        char *key = item_key(it);
        if (key && !json_object_get(cur, key))
            rc = add_ref(d->removed, it);
        free(key);
    }
    json_decref(old);
    json_decref(cur);
    return rc == 0 ? 0 : -1;
}

void payload_diff_free(payload_diff *d)
{
    json_decref(d->added);
    json_decref(d->removed);
    json_decref(d->changed);
    memset(d, 0, sizeof *d);
}

size_t payload_diff_count(const payload_diff *d)
{
    return json_array_size(d->added) + json_array_size(d->removed) + json_array_size(d->changed);
}

static void print_refs(const json_t *arr, char sign, FILE *f, const char *indent)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *r = json_array_get(arr, i);
        fprintf(f, "%s%c %s %s\n", indent, sign, cli_json_str(r, "kind", ""),
                cli_json_str(r, "id", ""));
    }
}

void payload_diff_print(const payload_diff *d, FILE *f, const char *indent)
{
    if (payload_diff_count(d) == 0)
        fprintf(f, "%s(no item changes)\n", indent);
    print_refs(d->added, '+', f, indent);
    print_refs(d->removed, '-', f, indent);
    print_refs(d->changed, '~', f, indent);
}
