/* fuzz_dto.c - libFuzzer target: the production decoders (approvals, descriptor sets, signer
 * sets) and the generic DTO rules, RFC 3339 and ULID/UUID checks on arbitrary JSON, with
 * invariants on every result: an accepted value is sane and round-trips, a refusal is
 * Malformed with a path under the one it was given. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/b3.h"
#include "governance/approvals.h"
#include "governance/descriptor_set.h"
#include "governance/signer_set.h"
#include "interop/dto.h"
#include "interop/error.h"
#include "interop/jcs.h"
#include "interop/rfc3339.h"
#include "interop/ulid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Invariants of every dto_* refusal: one of the documented reasons, a message, a path that
 * can travel in a JSON error envelope. */
static void check_dto_error(int rc, const svcr_err *err)
{
    if (rc == 0)
        return;
    CHECK(rc == -1);
    CHECK(err->code == SVCR_E_MALFORMED);
    CHECK(strcmp(err->reason, DTO_R_UNKNOWN_FIELD) == 0 ||
          strcmp(err->reason, DTO_R_MISSING_FIELD) == 0 ||
          strcmp(err->reason, DTO_R_WRONG_TYPE) == 0 ||
          strcmp(err->reason, DTO_R_OUT_OF_RANGE) == 0 ||
          strcmp(err->reason, DTO_R_INVALID_VALUE) == 0);
    CHECK(err->message[0] != '\0');
    json_t *s = json_string(err->path);
    CHECK(s != NULL);
    json_decref(s);
}

/* Invariants of a production decoder's refusal: Malformed, a reason and a message, and a path
 * that names something under `base` (the path the decoder was given, never ""), valid UTF-8. */
static void check_refusal(svcr_code c, const svcr_err *err, const char *base)
{
    CHECK(c == SVCR_E_MALFORMED && err->code == SVCR_E_MALFORMED);
    CHECK(err->reason[0] != '\0' && err->message[0] != '\0');
    CHECK(strncmp(err->path, base, strlen(base)) == 0);
    json_t *s = json_string(err->path);
    CHECK(s != NULL);
    json_decref(s);
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
            check_dto_error(rc, &err);
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

/* gov_approval_decode: an accepted approval has its fields within their bounds, a signed_at
 * that parses to signed_at_s, and is written back (gov_approval_to_json) as an approval that
 * decodes to the same value. */
static void fuzz_approval(const json_t *v)
{
    gov_approval a;
    svcr_err err;
    svcr_err_clear(&err);
    svcr_code c = gov_approval_decode(v, "approval", &a, &err);
    if (c != SVCR_OK) {
        check_refusal(c, &err, "approval");
        return;
    }
    size_t id_len = strlen(a.signer_id), algo_len = strlen(a.algo);
    CHECK(id_len >= 1 && id_len <= SIGNER_ID_MAX);
    CHECK(algo_len >= 1 && algo_len <= APPROVAL_ALGO_MAX);
    CHECK(a.sig_len >= 1 && a.sig_len <= SIG_SIG_MAX);
    int64_t t;
    CHECK(rfc3339_parse(a.signed_at, strlen(a.signed_at), &t, NULL) == 0 && t == a.signed_at_s);
    json_t *back = gov_approval_to_json(&a);
    CHECK(back != NULL);
    gov_approval again;
    CHECK(gov_approval_decode(back, "approval", &again, &err) == SVCR_OK);
    CHECK(memcmp(&a, &again, sizeof a) == 0);
    json_decref(back);
}

/* A signer set signer_set_from_json accepted: 1 <= m <= N <= n, ids sorted and unique and
 * found by signer_set_find, each key of its algo's length and listed once. */
static void check_signer_set(const signer_set *set)
{
    CHECK(set->n >= 1 && set->n_active <= set->n);
    CHECK(set->m >= 1 && set->m <= set->n_active);
    CHECK(set->ttl_secs >= 1 && set->ttl_secs <= SIGNER_SET_MAX_TTL_SECS);
    for (size_t i = 0; i < set->n; i++) {
        const signer *s = &set->signers[i];
        CHECK(s->algo != NULL && s->pk_len == s->algo->pk_len);
        CHECK(strlen(s->id) >= 1 && signer_set_find(set, s->id) == s);
        if (i > 0)
            CHECK(strcmp(set->signers[i - 1].id, s->id) < 0);
        for (size_t j = 0; j < i; j++)
            CHECK(!signer_same_key(&set->signers[j], s));
    }
}

/* signer_set_from_json on `item` (any value), its errors under `path`. */
static void fuzz_signer_set(const json_t *item, const char *path)
{
    signer_set *set = NULL;
    svcr_err err;
    svcr_err_clear(&err);
    svcr_code c = signer_set_from_json(item, path, &set, &err);
    if (c != SVCR_OK) {
        check_refusal(c, &err, path);
        CHECK(set == NULL);
        return;
    }
    check_signer_set(set);
    signer_set_release(set);
}

/* The decoded fields of `a` and `b` agree (b decoded from a's canonical bytes). */
static void check_same_descriptor_set(const descriptor_set *a, const descriptor_set *b)
{
    CHECK(a->version == b->version && a->n_items == b->n_items);
    CHECK(strcmp(a->b3, b->b3) == 0 && strcmp(a->prev_hash, b->prev_hash) == 0);
    CHECK(strcmp(a->supersede_of, b->supersede_of) == 0);
    CHECK(strcmp(a->supersede_reason, b->supersede_reason) == 0);
    CHECK(a->canonical_len == b->canonical_len);
    CHECK(memcmp(a->canonical, b->canonical, a->canonical_len) == 0);
}

/* descriptor_set_decode: an accepted payload has a version in range, a b3 prev_hash, a signer
 * set, canonical bytes that are their own canonical form, payload_b3 the b3 of those bytes, and
 * re-parses (descriptor_set_parse) to the same set; the text rule refuses only as documented;
 * dropping the tree keeps bytes and hash. */
static void fuzz_descriptor_set(json_t *payload)
{
    descriptor_set *d = NULL;
    svcr_err err;
    svcr_err_clear(&err);
    svcr_code c = descriptor_set_decode(payload, "payload", &d, &err);
    if (c != SVCR_OK) {
        check_refusal(c, &err, "payload");
        CHECK(d == NULL);
        return;
    }
    CHECK(d->version >= 1 && d->version <= DTO_MAX_SAFE_INT);
    CHECK(b3_tag_parse(d->prev_hash, strlen(d->prev_hash), NULL) == 0);
    CHECK(d->signers != NULL);
    check_signer_set(d->signers);
    CHECK(d->canonical != NULL && strlen(d->canonical) == d->canonical_len);
    char tag[B3_TAG_LEN + 1];
    b3_tag_of(d->canonical, d->canonical_len, tag);
    CHECK(strcmp(tag, d->b3) == 0);
    buf again = {0};
    CHECK(jcs_canonicalize(d->canonical, d->canonical_len, 0, &again, &err) == 0);
    CHECK(again.len == d->canonical_len && memcmp(again.data, d->canonical, again.len) == 0);
    buf_free(&again);
    descriptor_set *e = NULL;
    CHECK(descriptor_set_parse(d->canonical, d->canonical_len, "payload", &e, &err) == SVCR_OK);
    check_same_descriptor_set(d, e);
    descriptor_set_free(e);
    svcr_err_clear(&err);
    c = descriptor_set_check_text(d, "payload", &err);
    if (c != SVCR_OK) {
        check_refusal(c, &err, "payload");
        CHECK(strcmp(err.reason, "not_printable") == 0);
    }
    char b3[B3_TAG_LEN + 1];
    memcpy(b3, d->b3, sizeof b3);
    descriptor_set_drop_tree(d);
    CHECK(d->json == NULL && strcmp(d->b3, b3) == 0 && strlen(d->canonical) == d->canonical_len);
    descriptor_set_free(d);
}

/* Every element of `items` (if it is an array) through signer_set_from_json, as the payload
 * decoder names them. */
static void fuzz_items(const json_t *items, const char *base)
{
    if (!json_is_array(items))
        return;
    for (size_t i = 0; i < json_array_size(items) && i < 64; i++) {
        char path[192];
        dto_path_index(path, sizeof path, base, i);
        fuzz_signer_set(json_array_get(items, i), path);
    }
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

    /* the document as an approval body, a payload, a signer_set item */
    fuzz_approval(v);
    fuzz_descriptor_set(v);
    fuzz_signer_set(v, "item");
    /* a proposal request's payload (pipeline/propose.c's envelope is private: its payload member
     * is what reaches descriptor_set_decode), and the items of either */
    json_t *payload = json_is_object(v) ? json_object_get(v, "payload") : NULL;
    if (payload)
        fuzz_descriptor_set(payload);
    fuzz_items(json_is_object(v) ? json_object_get(v, "items") : NULL, "payload.items");
    fuzz_items(json_is_object(payload) ? json_object_get(payload, "items") : NULL, "payload.items");
    json_decref(v);
    return 0;
}
