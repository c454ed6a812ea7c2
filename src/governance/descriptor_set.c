/* descriptor_set.c - payload validation and hashing (see descriptor_set.h). */
#include "governance/descriptor_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interop/buf.h"
#include "interop/dto.h"
#include "interop/text.h"
#include "interop/jcs.h"

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

typedef struct payload_dto {
    int64_t version;
    const char *prev_hash, *created_at, *expiry;
    const char *supersede_of, *supersede_reason, *supersede_note;
    const json_t *items;
} payload_dto;

static const dto_field payload_fields[] = {
    {.name = "version",
     .type = DTO_INT,
     .required = 1,
     .offset = offsetof(payload_dto, version),
     .min = 1,
     .max = DTO_MAX_SAFE_INT},
    {.name = "prev_hash",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(payload_dto, prev_hash)},
    {.name = "created_at",
     .type = DTO_STRING,
     .offset = offsetof(payload_dto, created_at),
     .flags = DTO_F_RFC3339},
    {.name = "expiry",
     .type = DTO_STRING,
     .offset = offsetof(payload_dto, expiry),
     .flags = DTO_F_RFC3339},
    {.name = "supersede_of", .type = DTO_STRING, .offset = offsetof(payload_dto, supersede_of)},
    {.name = "supersede_reason",
     .type = DTO_STRING,
     .offset = offsetof(payload_dto, supersede_reason)},
    {.name = "supersede_note",
     .type = DTO_STRING,
     .offset = offsetof(payload_dto, supersede_note),
     .max = SUPERSEDE_NOTE_MAX},
    {.name = "items", .type = DTO_ARRAY, .required = 1, .offset = offsetof(payload_dto, items)},
};

/* One table per item kind. Every slot is a const char * or const json_t *, so one struct holds
 * any kind's fields. */
typedef struct item_dto {
    const char *kind, *id, *endpoint, *region;
    const json_t *services, *meta;
} item_dto;

#define F_KIND                                                                                     \
    {                                                                                              \
        .name = "kind", .type = DTO_STRING, .required = 1, .offset = offsetof(item_dto, kind)      \
    }
#define F_ID                                                                                       \
    {                                                                                              \
        .name = "id", .type = DTO_STRING, .required = 1, .offset = offsetof(item_dto, id),         \
        .min = 1, .max = ITEM_ID_MAX                                                               \
    }
#define F_META                                                                                     \
    {                                                                                              \
        .name = "meta", .type = DTO_OBJECT, .offset = offsetof(item_dto, meta)                     \
    }
#define F_REGION(req)                                                                              \
    {                                                                                              \
        .name = "region", .type = DTO_STRING, .required = (req),                                   \
        .offset = offsetof(item_dto, region), .min = 1, .max = ITEM_ID_MAX                         \
    }
#define F_ENDPOINT(req)                                                                            \
    {                                                                                              \
        .name = "endpoint", .type = DTO_STRING, .required = (req),                                 \
        .offset = offsetof(item_dto, endpoint), .min = 1, .max = ENDPOINT_MAX                      \
    }

static const dto_field service_fields[] = {F_KIND, F_ID, F_META, F_ENDPOINT(1), F_REGION(0)};
static const dto_field node_fields[] = {F_KIND, F_ID, F_META, F_ENDPOINT(0), F_REGION(0)};
static const dto_field region_fields[] = {F_KIND, F_ID, F_META};
static const dto_field placement_fields[] = {
    F_KIND,
    F_ID,
    F_META,
    F_REGION(1),
    {.name = "services", .type = DTO_ARRAY, .offset = offsetof(item_dto, services)}};

static const struct {
    const char *kind;
    const dto_field *fields;
    size_t n;
} kinds[] = {
    {"service", service_fields, NFIELDS(service_fields)},
    {"node", node_fields, NFIELDS(node_fields)},
    {"region", region_fields, NFIELDS(region_fields)},
    {"placement", placement_fields, NFIELDS(placement_fields)},
};

static const char *const supersede_reasons[] = {"KeyCompromise", "DataError", "GovernanceAction",
                                                "Other"};

/* (kind, id) of one item, for the uniqueness and reference checks. */
typedef struct item_key {
    const char *kind, *id;
    size_t index;
} item_key;

static int key_cmp(const void *a, const void *b)
{
    const item_key *x = a, *y = b;
    int c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->id, y->id);
}

static int has_key(const item_key *keys, size_t n, const char *kind, const char *id)
{
    item_key probe = {kind, id, 0};
    return bsearch(&probe, keys, n, sizeof *keys, key_cmp) != NULL;
}

static svcr_code bad(svcr_err *err, const char *base, const char *member, const char *reason,
                     const char *msg)
{
    char p[192];
    dto_path_member(p, sizeof p, base, member);
    return svcr_err_set(err, SVCR_E_MALFORMED, p, reason, "%s", msg);
}

/* Decodes one item; sets keys[i] and, for a signer_set, *signers. */
static svcr_code decode_item(const json_t *item, const char *ipath, item_key *key, item_dto *out,
                             signer_set **signers, svcr_err *err)
{
    const char *kind = json_string_value(json_object_get(item, "kind"));
    if (!json_is_object(item))
        return svcr_err_set(err, SVCR_E_MALFORMED, ipath, "wrong_type", "an item is an object");
    if (!kind)
        return bad(err, ipath, "kind",
                   json_object_get(item, "kind") ? "wrong_type" : "missing_field",
                   "every item has a string kind");
    memset(out, 0, sizeof *out);
    if (strcmp(kind, "signer_set") == 0) {
        if (*signers)
            return bad(err, ipath, "kind", "duplicate_item",
                       "a descriptor set has exactly one signer_set item");
        svcr_code c = signer_set_from_json(item, ipath, signers, err);
        if (c != SVCR_OK)
            return c;
        key->kind = "signer_set";
        key->id = "governance";
        return SVCR_OK;
    }
    for (size_t k = 0; k < NFIELDS(kinds); k++) {
        if (strcmp(kind, kinds[k].kind) != 0)
            continue;
        if (dto_decode(item, kinds[k].fields, kinds[k].n, out, NULL, ipath, err) != 0)
            return SVCR_E_MALFORMED;
        if (out->services) {
            char sp[192];
            dto_path_member(sp, sizeof sp, ipath, "services");
            if (dto_check_array(out->services, DTO_STRING, sp, err) != 0)
                return SVCR_E_MALFORMED;
        }
        key->kind = kinds[k].kind;
        key->id = out->id;
        return SVCR_OK;
    }
    return bad(err, ipath, "kind", "unknown_kind",
               "kind must be service, node, region, placement or signer_set");
}

/* Checks the references items make to regions and services. */
static svcr_code check_references(const json_t *items, const char *ipath_base, const item_key *keys,
                                  size_t n, svcr_err *err)
{
    char ipath[192], p[192];
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *item = json_array_get(items, i);
        dto_path_index(ipath, sizeof ipath, ipath_base, i);
        const char *region = json_string_value(json_object_get(item, "region"));
        const char *kind = json_string_value(json_object_get(item, "kind"));
        if (region && strcmp(kind, "signer_set") != 0 && !has_key(keys, n, "region", region)) {
            dto_path_member(p, sizeof p, ipath, "region");
            return svcr_err_set(err, SVCR_E_MALFORMED, p, "dangling_reference",
                                "region \"%.64s\" is not a region item of this set", region);
        }
        const json_t *services = json_object_get(item, "services");
        for (size_t s = 0; strcmp(kind, "placement") == 0 && s < json_array_size(services); s++) {
            const char *sid = json_string_value(json_array_get(services, s));
            if (!has_key(keys, n, "service", sid)) {
                char sp[192];
                dto_path_member(sp, sizeof sp, ipath, "services");
                dto_path_index(p, sizeof p, sp, s);
                return svcr_err_set(err, SVCR_E_MALFORMED, p, "dangling_reference",
                                    "service \"%.64s\" is not a service item of this set", sid);
            }
        }
    }
    return SVCR_OK;
}

static svcr_code check_supersede(const payload_dto *d, const char *path, svcr_err *err)
{
    if (!d->supersede_of && !d->supersede_reason && !d->supersede_note)
        return SVCR_OK;
    if (!d->supersede_of)
        return bad(err, path, "supersede_of", "missing_field",
                   "supersede_reason and supersede_note need supersede_of");
    if (b3_tag_parse(d->supersede_of, strlen(d->supersede_of), NULL) != 0)
        return bad(err, path, "supersede_of", "invalid_value", "supersede_of must be a b3: hash");
    if (!d->supersede_reason)
        return bad(err, path, "supersede_reason", "missing_field",
                   "supersede_of needs supersede_reason");
    int known = 0;
    for (size_t i = 0; i < NFIELDS(supersede_reasons); i++)
        known |= strcmp(d->supersede_reason, supersede_reasons[i]) == 0;
    if (!known)
        return bad(err, path, "supersede_reason", "invalid_value",
                   "supersede_reason must be KeyCompromise, DataError, GovernanceAction or Other");
    if (strcmp(d->supersede_reason, "Other") == 0 && !d->supersede_note)
        return bad(err, path, "supersede_note", "missing_field",
                   "supersede_reason Other needs supersede_note");
    return SVCR_OK;
}

void descriptor_set_free(descriptor_set *d)
{
    if (!d)
        return;
    json_decref(d->json);
    signer_set_release(d->signers);
    free(d->canonical);
    free(d);
}

static svcr_code validate(descriptor_set *ds, const char *path, svcr_err *err)
{
    payload_dto d = {0};
    if (dto_decode(ds->json, payload_fields, NFIELDS(payload_fields), &d, NULL, path, err) != 0)
        return SVCR_E_MALFORMED;
    if (b3_tag_parse(d.prev_hash, strlen(d.prev_hash), NULL) != 0)
        return bad(err, path, "prev_hash", "invalid_value",
                   "prev_hash must be b3: followed by 64 lowercase hex digits");
    int64_t created = 0, expiry = 0;
    if (d.created_at && d.expiry) {
        dto_check_timestamp(d.created_at, path, "created_at", &created, NULL);
        dto_check_timestamp(d.expiry, path, "expiry", &expiry, NULL);
        if (expiry <= created)
            return bad(err, path, "expiry", "invalid_value", "expiry must be after created_at");
    }
    svcr_code c = check_supersede(&d, path, err);
    if (c != SVCR_OK)
        return c;
    char ipath_base[192], ipath[192];
    dto_path_member(ipath_base, sizeof ipath_base, path, "items");
    size_t n = json_array_size(d.items);
    item_key *keys = calloc(n ? n : 1, sizeof *keys);
    if (!keys)
        return svcr_err_set(err, SVCR_E_INTERNAL, path, "oom", "out of memory");
    c = SVCR_OK;
    for (size_t i = 0; i < n && c == SVCR_OK; i++) {
        item_dto it;
        dto_path_index(ipath, sizeof ipath, ipath_base, i);
        c = decode_item(json_array_get(d.items, i), ipath, &keys[i], &it, &ds->signers, err);
        keys[i].index = i;
    }
    if (c == SVCR_OK && !ds->signers)
        c = bad(err, path, "items", "missing_signer_set",
                "a descriptor set must hold exactly one signer_set item (id \"governance\")");
    if (c == SVCR_OK) {
        qsort(keys, n, sizeof *keys, key_cmp);
        for (size_t i = 1; i < n && c == SVCR_OK; i++) {
            if (key_cmp(&keys[i - 1], &keys[i]) == 0) {
                dto_path_index(ipath, sizeof ipath, ipath_base, keys[i].index);
                c = svcr_err_set(err, SVCR_E_MALFORMED, ipath, "duplicate_item",
                                 "(kind, id) = (%s, %.64s) appears twice", keys[i].kind,
                                 keys[i].id);
            }
        }
    }
    if (c == SVCR_OK)
        c = check_references(d.items, ipath_base, keys, n, err);
    free(keys);
    if (c != SVCR_OK)
        return c;
    ds->version = (uint64_t)d.version;
    strcpy(ds->prev_hash, d.prev_hash);
    if (d.supersede_of) {
        strcpy(ds->supersede_of, d.supersede_of);
        strcpy(ds->supersede_reason, d.supersede_reason);
    }
    ds->n_items = n;
    return SVCR_OK;
}

svcr_code descriptor_set_decode(json_t *payload, const char *path, descriptor_set **out,
                                svcr_err *err)
{
    *out = NULL;
    descriptor_set *ds = calloc(1, sizeof *ds);
    if (!ds)
        return svcr_err_set(err, SVCR_E_INTERNAL, path, "oom", "out of memory");
    ds->json = json_incref(payload);
    svcr_code c = validate(ds, path, err);
    if (c == SVCR_OK) {
        buf canon = {0};
        if (jcs_write(&canon, payload, err) != 0) {
            buf_free(&canon);
            c = err ? err->code : SVCR_E_MALFORMED;
        } else {
            ds->canonical = buf_steal(&canon, &ds->canonical_len);
            b3_tag_of(ds->canonical, ds->canonical_len, ds->b3);
        }
    }
    if (c != SVCR_OK) {
        descriptor_set_free(ds);
        return c;
    }
    *out = ds;
    return SVCR_OK;
}

svcr_code descriptor_set_parse(const void *bytes, size_t len, const char *path,
                               descriptor_set **out, svcr_err *err)
{
    *out = NULL;
    json_t *v = jcs_parse(bytes, len, 0, err);
    if (!v)
        return SVCR_E_MALFORMED;
    svcr_code c = descriptor_set_decode(v, path, out, err);
    json_decref(v);
    return c;
}

/* Checks one string member of obj against the printable-text rule; path names obj. */
static svcr_code check_text_member(const json_t *obj, const char *path, const char *name,
                                   svcr_err *err)
{
    const json_t *v = json_object_get(obj, name);
    uint32_t bad;
    if (!json_is_string(v) || text_printable(json_string_value(v), json_string_length(v), &bad))
        return SVCR_OK;
    char fpath[192];
    dto_path_member(fpath, sizeof fpath, path, name);
    return svcr_err_set(err, SVCR_E_MALFORMED, fpath, "not_printable",
                        "U+%04X is not printable text: controls, bidi and zero-width characters "
                        "are refused (SPEC §2.2)",
                        (unsigned)bad);
}

svcr_code descriptor_set_check_text(const descriptor_set *d, const char *path, svcr_err *err)
{
    if (check_text_member(d->json, path, "supersede_note", err) != SVCR_OK)
        return SVCR_E_MALFORMED;
    char ipath[192], spath[192], epath[192];
    const json_t *items = json_object_get(d->json, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        snprintf(ipath, sizeof ipath, "%s.items[%zu]", path, i);
        if (check_text_member(it, ipath, "id", err) != SVCR_OK ||
            check_text_member(it, ipath, "region", err) != SVCR_OK)
            return SVCR_E_MALFORMED;
        const json_t *signers = json_object_get(it, "signers");
        dto_path_member(spath, sizeof spath, ipath, "signers");
        for (size_t j = 0; j < json_array_size(signers); j++) {
            dto_path_index(epath, sizeof epath, spath, j);
            if (check_text_member(json_array_get(signers, j), epath, "signer_id", err) != SVCR_OK ||
                check_text_member(json_array_get(signers, j), epath, "org", err) != SVCR_OK)
                return SVCR_E_MALFORMED;
        }
    }
    return SVCR_OK;
}

void descriptor_set_drop_tree(descriptor_set *d)
{
    if (!d)
        return;
    json_decref(d->json);
    d->json = NULL;
}
