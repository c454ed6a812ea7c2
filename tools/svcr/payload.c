/* payload.c - payload lookup, hashing and item diffs for the svcr verbs (see payload.h). */
#include "payload.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "governance/descriptor_set.h"
#include "interop/jcs.h"
#include "term.h"

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
        term_fprintf(stderr, "svcr %s: %s: not a payload object\n", verb, path);
    else if (descriptor_set_decode((json_t *)p, "payload", &ds, &err) != SVCR_OK) {
        term_fprintf(stderr, "svcr %s: %s: not a valid payload: %s: %s\n", verb, path, err.path,
                     err.message);
        rc = -1;
    } else if ((rc = payload_tag(p, tag)) != 0) {
        term_fprintf(stderr, "svcr %s: %s: the payload has no canonical form\n", verb, path);
    } else if (claimed && strcmp(claimed, tag) != 0) {
        term_fprintf(stderr, "svcr %s: %s: its payload_b3 %s is not the payload's hash %s\n", verb,
                     path, claimed, tag);
        rc = -1;
    }
    descriptor_set_free(ds);
    json_decref(doc);
    return rc;
}

/* The key of an item in an index: "<byte length of kind>:<kind><id>", whole strings (a NUL
 * inside one included), so that no two (kind, id) pairs share a key whatever they hold (a
 * server other than ours may send a kind with a space). Returns 0, or -1 when the item has no
 * string kind and id (or out of memory). */
static int item_key(const json_t *item, buf *key)
{
    const json_t *kind = json_object_get(item, "kind"), *id = json_object_get(item, "id");
    buf_reset(key);
    if (!json_is_string(kind) || !json_is_string(id))
        return -1;
    if (buf_printf(key, "%zu:", json_string_length(kind)) != 0 ||
        buf_append(key, json_string_value(kind), json_string_length(kind)) != 0 ||
        buf_append(key, json_string_value(id), json_string_length(id)) != 0)
        return -1;
    return 0;
}

static int add_ref(json_t *arr, const json_t *item)
{
    json_t *ref = json_object();
    if (!ref || json_object_set(ref, "kind", json_object_get(item, "kind")) != 0 ||
        json_object_set(ref, "id", json_object_get(item, "id")) != 0) {
        json_decref(ref);
        return -1;
    }
    return json_array_append_new(arr, ref);
}

/* Index of the items of a payload by item_key (values borrowed from the payload). */
static json_t *index_items(const json_t *payload)
{
    json_t *idx = json_object();
    const json_t *items = json_object_get(payload, "items");
    buf key = {0};
    for (size_t i = 0; idx && i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        if (item_key(it, &key) == 0)
            json_object_setn_nocheck(idx, key.data, key.len, (json_t *)it);
    }
    buf_free(&key);
    return idx;
}

int payload_diff_items(const json_t *from, const json_t *to, payload_diff *d)
{
    d->added = json_array();
    d->removed = json_array();
    d->changed = json_array();
    json_t *old = index_items(from), *cur = index_items(to);
    int rc = d->added && d->removed && d->changed && old && cur ? 0 : -1;
    buf key = {0};
    const json_t *items = json_object_get(to, "items");
    for (size_t i = 0; rc == 0 && i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        if (item_key(it, &key) != 0)
            continue;
        const json_t *before = json_object_getn(old, key.data, key.len);
        if (!before)
            rc = add_ref(d->added, it);
        else if (!json_equal((json_t *)before, (json_t *)it))
            rc = add_ref(d->changed, it);
    }
    items = json_object_get(from, "items");
    for (size_t i = 0; rc == 0 && i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        if (item_key(it, &key) == 0 && !json_object_getn(cur, key.data, key.len))
            rc = add_ref(d->removed, it);
    }
    buf_free(&key);
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
        term_fprintf(f, "%s%c %.*s %.*s\n", indent, sign, TERM_JS(r, "kind", ""),
                     TERM_JS(r, "id", ""));
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
