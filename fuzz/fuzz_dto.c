/* fuzz_dto.c - libFuzzer target: strict DTO decoding, RFC 3339 and ULID/UUID checks on
 * arbitrary JSON, with invariants on every result. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "interop/dto.h"
#include "interop/error.h"
#include "interop/rfc3339.h"
#include "interop/ulid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

typedef struct approval {
    const char *signer_id, *algo, *sig, *signed_at;
} approval;
static const dto_field approval_fields[] = {
    {.name = "signer_id",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(approval, signer_id),
     .min = 1,
     .max = 256},
    {.name = "algo", .type = DTO_STRING, .required = 1, .offset = offsetof(approval, algo)},
    {.name = "sig", .type = DTO_STRING, .required = 1, .offset = offsetof(approval, sig)},
    {.name = "signed_at",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(approval, signed_at),
     .flags = DTO_F_RFC3339},
};

typedef struct proposal {
    const char *schema_version, *payload_b3;
    const json_t *payload;
} proposal;
static const dto_field proposal_fields[] = {
    {.name = "schema_version",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(proposal, schema_version)},
    {.name = "payload", .type = DTO_OBJECT, .required = 1, .offset = offsetof(proposal, payload)},
    {.name = "payload_b3", .type = DTO_STRING, .offset = offsetof(proposal, payload_b3)},
};

typedef struct payload {
    int64_t version;
    const char *prev_hash, *created_at, *expiry, *supersede_note;
    const json_t *items, *meta;
} payload;
static const dto_field payload_fields[] = {
    {.name = "version",
     .type = DTO_INT,
     .required = 1,
     .offset = offsetof(payload, version),
     .min = 1,
     .max = DTO_MAX_SAFE_INT},
    {.name = "prev_hash",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(payload, prev_hash)},
    {.name = "created_at", .type = DTO_STRING, .offset = offsetof(payload, created_at)},
    {.name = "expiry",
     .type = DTO_STRING,
     .offset = offsetof(payload, expiry),
     .flags = DTO_F_RFC3339},
    {.name = "supersede_note",
     .type = DTO_STRING,
     .offset = offsetof(payload, supersede_note),
     .max = 1024,
     .flags = DTO_F_NULLABLE},
    {.name = "items", .type = DTO_ARRAY, .required = 1, .offset = offsetof(payload, items)},
    {.name = "meta", .type = DTO_OBJECT, .offset = offsetof(payload, meta)},
};

typedef struct item {
    const char *kind, *id, *endpoint, *region;
    const json_t *services, *meta, *quorum, *signers;
    int64_t k_pq;
    double weight;
    int enabled;
    const json_t *extra;
} item;
static const dto_field item_fields[] = {
    {.name = "kind", .type = DTO_STRING, .required = 1, .offset = offsetof(item, kind)},
    {.name = "id",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(item, id),
     .min = 1,
     .max = 256},
    {.name = "endpoint", .type = DTO_STRING, .offset = offsetof(item, endpoint)},
    {.name = "region", .type = DTO_STRING, .offset = offsetof(item, region)},
    {.name = "services", .type = DTO_ARRAY, .offset = offsetof(item, services), .max = 64},
    {.name = "meta", .type = DTO_OBJECT, .offset = offsetof(item, meta)},
    {.name = "quorum", .type = DTO_OBJECT, .offset = offsetof(item, quorum)},
    {.name = "signers", .type = DTO_ARRAY, .offset = offsetof(item, signers), .min = 1},
    {.name = "k_pq", .type = DTO_INT, .offset = offsetof(item, k_pq), .min = 0, .max = 4294967295},
    {.name = "weight", .type = DTO_NUMBER, .offset = offsetof(item, weight)},
    {.name = "enabled", .type = DTO_BOOL, .offset = offsetof(item, enabled)},
    {.name = "extra", .type = DTO_ANY, .offset = offsetof(item, extra)},
};

typedef struct quorum {
    int64_t m;
} quorum;
static const dto_field quorum_fields[] = {
    {.name = "m",
     .type = DTO_INT,
     .required = 1,
     .offset = offsetof(quorum, m),
     .min = 1,
     .max = 1000},
};

typedef struct signer {
    const char *signer_id, *algo, *public_key, *org, *revoked_at;
} signer;
static const dto_field signer_fields[] = {
    {.name = "signer_id",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(signer, signer_id),
     .min = 1,
     .max = 256},
    {.name = "algo", .type = DTO_STRING, .required = 1, .offset = offsetof(signer, algo)},
    {.name = "public_key",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(signer, public_key)},
    {.name = "org", .type = DTO_STRING, .offset = offsetof(signer, org)},
    {.name = "revoked_at", .type = DTO_STRING, .offset = offsetof(signer, revoked_at)},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

static int popcount64(uint64_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/* Invariants of every dto_* result. */
static void check_result(int rc, const json_t *obj, uint64_t present, const svcr_err *err)
{
    if (rc == 0) {
        /* Every member of an accepted object is a known field, so one bit per member. */
        if (obj)
            CHECK((size_t)popcount64(present) == json_object_size(obj));
        return;
    }
    CHECK(rc == -1);
    CHECK(err->code == SVCR_E_MALFORMED);
    CHECK(strcmp(err->reason, DTO_R_UNKNOWN_FIELD) == 0 ||
          strcmp(err->reason, DTO_R_MISSING_FIELD) == 0 ||
          strcmp(err->reason, DTO_R_WRONG_TYPE) == 0 ||
          strcmp(err->reason, DTO_R_OUT_OF_RANGE) == 0 ||
          strcmp(err->reason, DTO_R_INVALID_VALUE) == 0);
    CHECK(err->message[0] != '\0');
    /* The path must stay valid UTF-8 so the error envelope can carry it. */
    json_t *s = json_string(err->path);
    CHECK(s != NULL);
    json_decref(s);
}

static int decode(const json_t *v, const dto_field *f, size_t n, void *out, const char *path)
{
    svcr_err err;
    uint64_t present = 0;
    svcr_err_clear(&err);
    int rc = dto_decode(v, f, n, out, &present, path, &err);
    check_result(rc, json_is_object(v) ? v : NULL, present, &err);
    return rc;
}

static void exercise_string(const char *s, size_t len)
{
    int64_t t;
    int32_t ns;
    if (rfc3339_parse(s, len, &t, &ns) == 0) {
        CHECK(ns >= 0 && ns <= 999999999);
        CHECK(t >= RFC3339_MIN_UNIX && t <= RFC3339_MAX_UNIX + 1);
        char out[32];
        if (t <= RFC3339_MAX_UNIX) {
            int64_t back;
            CHECK(rfc3339_format(t, out) == 20);
            CHECK(rfc3339_parse(out, 20, &back, NULL) == 0 && back == t);
        }
    }
    if (ulid_valid(s, len)) {
        uint64_t ms;
        CHECK(ulid_time(s, len, &ms) == 0 && ms <= ULID_MAX_MS);
    }
    if (uuid_valid(s, len))
        CHECK(len == 36);
}

/* Visits every value: strings through the scalar checks, arrays through dto_check_array. */
static void walk(const json_t *v, int depth)
{
    if (depth > 64)
        return;
    if (json_is_string(v)) {
        exercise_string(json_string_value(v), json_string_length(v));
    } else if (json_is_array(v)) {
        static const dto_type types[] = {DTO_STRING, DTO_INT,   DTO_NUMBER, DTO_BOOL,
                                         DTO_OBJECT, DTO_ARRAY, DTO_ANY};
        for (size_t k = 0; k < NFIELDS(types); k++) {
            svcr_err err;
            int rc = dto_check_array(v, types[k], "a", &err);
            check_result(rc, NULL, 0, &err);
        }
        for (size_t i = 0; i < json_array_size(v); i++)
            walk(json_array_get(v, i), depth + 1);
    } else if (json_is_object(v)) {
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            const char *k = json_object_iter_key(it);
            exercise_string(k, strlen(k));
            walk(json_object_iter_value(it), depth + 1);
        }
    }
}

static void decode_items(const json_t *items)
{
    svcr_err err;
    int rc = dto_check_array(items, DTO_OBJECT, "payload.items", &err);
    check_result(rc, NULL, 0, &err);
    if (rc < 0)
        return;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *e = json_array_get(items, i);
        char base[64];
        dto_path_index(base, sizeof base, "payload.items", i);
        item it = {0};
        if (decode(e, item_fields, NFIELDS(item_fields), &it, base) < 0)
            continue;
        char path[192];
        if (it.quorum) {
            quorum q;
            dto_path_member(path, sizeof path, base, "quorum");
            decode(it.quorum, quorum_fields, NFIELDS(quorum_fields), &q, path);
        }
        if (it.services) {
            dto_path_member(path, sizeof path, base, "services");
            rc = dto_check_array(it.services, DTO_STRING, path, &err);
            check_result(rc, NULL, 0, &err);
        }
        if (it.signers) {
            for (size_t j = 0; j < json_array_size(it.signers); j++) {
                const json_t *s = json_array_get(it.signers, j);
                char sp[192];
                dto_path_member(path, sizeof path, base, "signers");
                dto_path_index(sp, sizeof sp, path, j);
                signer sg = {0};
                if (decode(s, signer_fields, NFIELDS(signer_fields), &sg, sp) == 0) {
                    rc = dto_check_timestamp(sg.revoked_at, sp, "revoked_at", NULL, &err);
                    check_result(rc, NULL, 0, &err);
                }
            }
        }
    }
}

static void decode_payload(const json_t *v, const char *path)
{
    payload p = {0};
    if (decode(v, payload_fields, NFIELDS(payload_fields), &p, path) < 0)
        return;
    CHECK(p.version >= 1 && p.version <= DTO_MAX_SAFE_INT);
    CHECK(p.prev_hash != NULL &&
          strlen(p.prev_hash) == json_string_length(json_object_get(v, "prev_hash")));
    if (p.expiry)
        CHECK(rfc3339_parse(p.expiry, strlen(p.expiry), NULL, NULL) == 0);
    if (p.supersede_note)
        CHECK(strlen(p.supersede_note) <= 1024);
    svcr_err err;
    int rc = dto_check_timestamp(p.created_at, path, "created_at", NULL, &err);
    check_result(rc, NULL, 0, &err);
    decode_items(p.items);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The raw bytes as a scalar, from an exact-size copy so over-reads are caught. */
    char *raw = malloc(size ? size : 1);
    if (!raw)
        return 0;
    memcpy(raw, data, size);
    exercise_string(raw, size);
    free(raw);

    json_error_t jerr;
    json_t *v =
        json_loadb((const char *)data, size,
                   JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return 0;
    walk(v, 0);

    approval a;
    if (decode(v, approval_fields, NFIELDS(approval_fields), &a, "") == 0)
        CHECK(strlen(a.signer_id) >= 1 && strlen(a.signer_id) <= 256);

    proposal pr = {0};
    if (decode(v, proposal_fields, NFIELDS(proposal_fields), &pr, "") == 0)
        decode_payload(pr.payload, "payload");
    decode_payload(v, "");
    if (json_is_object(v)) {
        const json_t *items = json_object_get(v, "items");
        if (items)
            decode_items(items);
    }
    json_decref(v);
    return 0;
}
