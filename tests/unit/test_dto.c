/* test_dto.c - unit tests for strict DTO decoding of JSON bodies against field tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "governance/approvals.h"
#include "helpers/testutil.h"
#include "interop/dto.h"
#include "interop/error.h"

/* Parses like the project's body parser does. */
static json_t *parse_len(const char *s, size_t len)
{
    json_error_t jerr;
    json_t *v = json_loadb(
        s, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerr);
    if (!v)
        fail_msg("test JSON did not parse: %s (%s)", jerr.text, s);
    return v;
}

static json_t *parse(const char *s)
{
    return parse_len(s, strlen(s));
}

/* A service item, as the payload decoder will see it. */
typedef struct svc_item {
    const char *kind;
    const char *id;
    const char *endpoint;
    const char *region;
    const json_t *meta;
} svc_item;

static const dto_field svc_fields[] = {
    {.name = "kind", .type = DTO_STRING, .required = 1, .offset = offsetof(svc_item, kind)},
    {.name = "id",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(svc_item, id),
     .min = 1,
     .max = 256},
    {.name = "endpoint", .type = DTO_STRING, .required = 1, .offset = offsetof(svc_item, endpoint)},
    {.name = "region", .type = DTO_STRING, .offset = offsetof(svc_item, region)},
    {.name = "meta", .type = DTO_OBJECT, .offset = offsetof(svc_item, meta)},
};
#define SVC_N (sizeof svc_fields / sizeof svc_fields[0])

/* One slot of every type. */
typedef struct all_types {
    const char *s;
    int64_t i;
    double n;
    int b;
    const json_t *o;
    const json_t *a;
    const json_t *any;
} all_types;

static const dto_field all_fields[] = {
    {.name = "s", .type = DTO_STRING, .offset = offsetof(all_types, s)},
    {.name = "i", .type = DTO_INT, .offset = offsetof(all_types, i)},
    {.name = "n", .type = DTO_NUMBER, .offset = offsetof(all_types, n)},
    {.name = "b", .type = DTO_BOOL, .offset = offsetof(all_types, b)},
    {.name = "o", .type = DTO_OBJECT, .offset = offsetof(all_types, o)},
    {.name = "a", .type = DTO_ARRAY, .offset = offsetof(all_types, a)},
    {.name = "any", .type = DTO_ANY, .offset = offsetof(all_types, any)},
};
#define ALL_N (sizeof all_fields / sizeof all_fields[0])

/* Decodes `json` against all_fields at the root; returns dto_decode's result. */
static int decode_all(const char *json, all_types *out, uint64_t *present, svcr_err *err)
{
    json_t *v = parse(json);
    int rc = dto_decode(v, all_fields, ALL_N, out, present, "", err);
    json_decref(v);
    return rc;
}

static void expect_err(const svcr_err *err, const char *path, const char *reason)
{
    assert_int_equal(err->code, SVCR_E_MALFORMED);
    assert_string_equal(err->path, path);
    assert_string_equal(err->reason, reason);
    assert_true(err->message[0] != '\0');
}

/* Decodes a single-member object {"<name>": <value>} against all_fields and checks the error. */
static void expect_member_err(const char *json, const char *path, const char *reason)
{
    all_types out = {0};
    svcr_err err;
    svcr_err_clear(&err);
    if (decode_all(json, &out, NULL, &err) != -1)
        fail_msg("accepted %s", json);
    expect_err(&err, path, reason);
}

static void test_dto_decodes_every_type_into_its_slot(void **state)
{
    (void)state;
    json_t *v = parse("{\"s\":\"hello\",\"i\":-42,\"n\":2.5,\"b\":true,\"o\":{\"k\":1},"
                      "\"a\":[1,2,3],\"any\":\"x\"}");
    all_types out = {0};
    uint64_t present = 0;
    svcr_err err;
    svcr_err_clear(&err);
    assert_int_equal(dto_decode(v, all_fields, ALL_N, &out, &present, "", &err), 0);
    assert_int_equal(err.code, SVCR_OK);
    assert_string_equal(out.s, "hello");
    assert_int_equal(out.i, -42);
    assert_true(out.n == 2.5);
    assert_int_equal(out.b, 1);
    assert_ptr_equal(out.o, json_object_get(v, "o"));
    assert_ptr_equal(out.a, json_object_get(v, "a"));
    assert_ptr_equal(out.any, json_object_get(v, "any"));
    assert_int_equal(present, 0x7f);
    json_decref(v);

    assert_int_equal(decode_all("{\"b\":false,\"n\":7}", &out, &present, &err), 0);
    assert_int_equal(out.b, 0);
    assert_true(out.n == 7.0);
}

static void test_dto_rejects_unknown_field_with_path(void **state)
{
    (void)state;
    expect_member_err("{\"s\":\"x\",\"bogus\":1}", "bogus", DTO_R_UNKNOWN_FIELD);
    expect_member_err("{\"S\":\"x\"}", "S", DTO_R_UNKNOWN_FIELD); /* names are case-sensitive */
    expect_member_err("{\"s \":\"x\"}", "s ", DTO_R_UNKNOWN_FIELD);

    /* A key built through the API with an embedded U+0000 does not match its prefix. */
    json_t *nul = json_object();
    assert_int_equal(json_object_setn_new(nul, "i\0x", 3, json_real(1.0)), 0);
    all_types out = {0};
    svcr_err e2;
    assert_int_equal(dto_decode(nul, all_fields, ALL_N, &out, NULL, "", &e2), -1);
    assert_string_equal(e2.reason, DTO_R_UNKNOWN_FIELD);
    json_decref(nul);

    json_t *v = parse("{\"kind\":\"service\",\"id\":\"svc:a\",\"endpoint\":\"https://a\","
                      "\"endpiont\":\"typo\"}");
    char base[64];
    dto_path_index(base, sizeof base, "payload.items", 3);
    svc_item item = {0};
    svcr_err err;
    svcr_err_clear(&err);
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, base, &err), -1);
    expect_err(&err, "payload.items[3].endpiont", DTO_R_UNKNOWN_FIELD);
    json_decref(v);
}

static void test_dto_rejects_missing_required_field_with_path(void **state)
{
    (void)state;
    json_t *v = parse("{\"kind\":\"service\",\"id\":\"svc:a\",\"region\":\"eu\"}");
    char base[64];
    dto_path_index(base, sizeof base, "payload.items", 3);
    assert_string_equal(base, "payload.items[3]");
    svc_item item = {0};
    svcr_err err;
    svcr_err_clear(&err);
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, base, &err), -1);
    expect_err(&err, "payload.items[3].endpoint", DTO_R_MISSING_FIELD);
    json_decref(v);

    /* At the root the path is the bare name. */
    v = parse("{}");
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "", &err), -1);
    expect_err(&err, "kind", DTO_R_MISSING_FIELD);
    /* A NULL base path is the root too. */
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, NULL, &err), -1);
    expect_err(&err, "kind", DTO_R_MISSING_FIELD);
    json_decref(v);
}

static void test_dto_rejects_wrong_type_with_path(void **state)
{
    (void)state;
    expect_member_err("{\"s\":1}", "s", DTO_R_WRONG_TYPE);
    expect_member_err("{\"s\":true}", "s", DTO_R_WRONG_TYPE);
    expect_member_err("{\"s\":[\"x\"]}", "s", DTO_R_WRONG_TYPE);
    expect_member_err("{\"i\":\"1\"}", "i", DTO_R_WRONG_TYPE);
    expect_member_err("{\"i\":true}", "i", DTO_R_WRONG_TYPE);
    expect_member_err("{\"n\":\"2.5\"}", "n", DTO_R_WRONG_TYPE);
    expect_member_err("{\"b\":1}", "b", DTO_R_WRONG_TYPE);
    expect_member_err("{\"b\":\"true\"}", "b", DTO_R_WRONG_TYPE);
    expect_member_err("{\"o\":[]}", "o", DTO_R_WRONG_TYPE);
    expect_member_err("{\"a\":{}}", "a", DTO_R_WRONG_TYPE);

    json_t *v = parse("{\"kind\":\"service\",\"id\":\"svc:a\",\"endpoint\":{\"url\":\"x\"}}");
    svc_item item = {0};
    svcr_err err;
    svcr_err_clear(&err);
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "payload.items[3]", &err), -1);
    expect_err(&err, "payload.items[3].endpoint", DTO_R_WRONG_TYPE);
    assert_string_equal(err.message, "expected string, got object");
    json_decref(v);
}

static void test_dto_rejects_non_object_at_base_path(void **state)
{
    (void)state;
    /* Top-level scalars do not parse without JSON_DECODE_ANY: take them from an array. */
    json_t *list = parse("[[], \"x\", 1, 2.5, null, true]");
    svc_item item = {0};
    svcr_err err;
    for (size_t k = 0; k < json_array_size(list); k++) {
        const json_t *v = json_array_get(list, k);
        svcr_err_clear(&err);
        assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "payload.items[0]", &err),
                         -1);
        expect_err(&err, "payload.items[0]", DTO_R_WRONG_TYPE);
        svcr_err_clear(&err);
        assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "", &err), -1);
        expect_err(&err, "", DTO_R_WRONG_TYPE);
    }
    json_decref(list);
    svcr_err_clear(&err);
    assert_int_equal(dto_decode(NULL, svc_fields, SVC_N, &item, NULL, "payload", &err), -1);
    expect_err(&err, "payload", DTO_R_WRONG_TYPE);
}

/* A version-like field: 1 <= x <= 2^53 - 1. */
typedef struct versioned {
    int64_t version;
} versioned;
static const dto_field version_fields[] = {
    {.name = "version",
     .type = DTO_INT,
     .required = 1,
     .offset = offsetof(versioned, version),
     .min = 1,
     .max = DTO_MAX_SAFE_INT},
};

static int decode_version(const char *json, int64_t *out, svcr_err *err)
{
    json_t *v = parse(json);
    versioned o = {.version = -7};
    svcr_err_clear(err);
    int rc = dto_decode(v, version_fields, 1, &o, NULL, "payload", err);
    json_decref(v);
    *out = o.version;
    return rc;
}

static void test_dto_int_accepts_2_53_minus_1_and_rejects_2_53(void **state)
{
    (void)state;
    int64_t x;
    svcr_err err;
    assert_int_equal(decode_version("{\"version\":9007199254740991}", &x, &err), 0);
    assert_int_equal(x, 9007199254740991LL);
    assert_int_equal(decode_version("{\"version\":9007199254740992}", &x, &err), -1);
    expect_err(&err, "payload.version", DTO_R_OUT_OF_RANGE);
    /* 2^53 + 1 reads as the double 2^53: still out of range. */
    assert_int_equal(decode_version("{\"version\":9007199254740993}", &x, &err), -1);
    expect_err(&err, "payload.version", DTO_R_OUT_OF_RANGE);
    assert_int_equal(decode_version("{\"version\":1e300}", &x, &err), -1);
    expect_err(&err, "payload.version", DTO_R_OUT_OF_RANGE);

    /* Unbounded INT (min == max == 0) still stops at the safe range, both signs. */
    all_types out = {0};
    assert_int_equal(decode_all("{\"i\":-9007199254740991}", &out, NULL, &err), 0);
    assert_int_equal(out.i, -9007199254740991LL);
    expect_member_err("{\"i\":-9007199254740992}", "i", DTO_R_OUT_OF_RANGE);
    expect_member_err("{\"i\":9007199254740992}", "i", DTO_R_OUT_OF_RANGE);
}

static void test_dto_int_rejects_fraction_and_accepts_integral_real(void **state)
{
    (void)state;
    int64_t x;
    svcr_err err;
    assert_int_equal(decode_version("{\"version\":1.5}", &x, &err), -1);
    expect_err(&err, "payload.version", DTO_R_WRONG_TYPE);
    assert_int_equal(decode_version("{\"version\":1.0000001}", &x, &err), -1);
    expect_err(&err, "payload.version", DTO_R_WRONG_TYPE);
    assert_int_equal(decode_version("{\"version\":1.0}", &x, &err), 0);
    assert_int_equal(x, 1);
    assert_int_equal(decode_version("{\"version\":1e2}", &x, &err), 0);
    assert_int_equal(x, 100);
    assert_int_equal(decode_version("{\"version\":2.55e1}", &x, &err), -1);
    expect_err(&err, "payload.version", DTO_R_WRONG_TYPE);
    all_types out = {.i = 5};
    assert_int_equal(decode_all("{\"i\":-0}", &out, NULL, &err), 0);
    assert_int_equal(out.i, 0);
    /* A number that underflows to 0 is 0 (SPEC §2.1). */
    assert_int_equal(decode_all("{\"i\":1e-400}", &out, NULL, &err), 0);
    assert_int_equal(out.i, 0);
}

static void test_dto_int_enforces_inclusive_bounds(void **state)
{
    (void)state;
    int64_t x;
    svcr_err err;
    assert_int_equal(decode_version("{\"version\":0}", &x, &err), -1);
    expect_err(&err, "payload.version", DTO_R_OUT_OF_RANGE);
    assert_int_equal(decode_version("{\"version\":-1}", &x, &err), -1);
    expect_err(&err, "payload.version", DTO_R_OUT_OF_RANGE);
    assert_int_equal(decode_version("{\"version\":1}", &x, &err), 0);
    assert_int_equal(x, 1);

    typedef struct {
        int64_t m;
    } q;
    static const dto_field f[] = {
        {.name = "m", .type = DTO_INT, .offset = offsetof(q, m), .min = -3, .max = 3}};
    static const char *const ok[] = {"{\"m\":-3}", "{\"m\":3}", "{\"m\":0}"};
    static const char *const bad[] = {"{\"m\":-4}", "{\"m\":4}"};
    for (size_t k = 0; k < 3; k++) {
        json_t *v = parse(ok[k]);
        q o = {0};
        assert_int_equal(dto_decode(v, f, 1, &o, NULL, "quorum", &err), 0);
        json_decref(v);
    }
    for (size_t k = 0; k < 2; k++) {
        json_t *v = parse(bad[k]);
        q o = {0};
        assert_int_equal(dto_decode(v, f, 1, &o, NULL, "quorum", &err), -1);
        expect_err(&err, "quorum.m", DTO_R_OUT_OF_RANGE);
        json_decref(v);
    }
}

/* Values built with the jansson API (json_integer) follow the same rules. */
static void test_dto_int_accepts_json_integer_values(void **state)
{
    (void)state;
    all_types out = {0};
    svcr_err err;
    json_t *v = json_pack("{s:I}", "i", (json_int_t)123456789);
    assert_int_equal(dto_decode(v, all_fields, ALL_N, &out, NULL, "", &err), 0);
    assert_int_equal(out.i, 123456789);
    json_decref(v);
    v = json_pack("{s:I}", "i", (json_int_t)9007199254740992LL);
    assert_int_equal(dto_decode(v, all_fields, ALL_N, &out, NULL, "", &err), -1);
    expect_err(&err, "i", DTO_R_OUT_OF_RANGE);
    json_decref(v);
    v = json_pack("{s:I}", "n", (json_int_t)3);
    assert_int_equal(dto_decode(v, all_fields, ALL_N, &out, NULL, "", &err), 0);
    assert_true(out.n == 3.0);
    json_decref(v);
}

static void test_dto_string_length_bounds_are_bytes(void **state)
{
    (void)state;
    svc_item item = {0};
    svcr_err err;
    char body[600];
    char id[300];
    /* id: 1..256 bytes. "é" is 2 bytes: 128 of them are 256 bytes, 129 are 258. */
    for (int n = 0; n < 129; n++)
        memcpy(id + 2 * n, "\xc3\xa9", 2);
    id[256] = '\0';
    snprintf(body, sizeof body, "{\"kind\":\"k\",\"id\":\"%s\",\"endpoint\":\"e\"}", id);
    json_t *v = parse(body);
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "", &err), 0);
    assert_int_equal(strlen(item.id), 256);
    json_decref(v);

    memcpy(id + 256, "\xc3\xa9", 2);
    id[258] = '\0';
    snprintf(body, sizeof body, "{\"kind\":\"k\",\"id\":\"%s\",\"endpoint\":\"e\"}", id);
    v = parse(body);
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "", &err), -1);
    expect_err(&err, "id", DTO_R_OUT_OF_RANGE);
    json_decref(v);

    v = parse("{\"kind\":\"k\",\"id\":\"\",\"endpoint\":\"e\"}");
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "", &err), -1);
    expect_err(&err, "id", DTO_R_OUT_OF_RANGE);
    json_decref(v);

    /* Without bounds the empty string is fine. */
    v = parse("{\"kind\":\"\",\"id\":\"x\",\"endpoint\":\"\"}");
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "", &err), 0);
    assert_string_equal(item.kind, "");
    json_decref(v);
}

static void test_dto_string_min_without_max_has_no_upper_bound(void **state)
{
    (void)state;
    typedef struct {
        const char *note;
    } s1;
    static const dto_field f[] = {
        {.name = "note", .type = DTO_STRING, .offset = offsetof(s1, note), .min = 2}};
    char *big = malloc(100011);
    assert_non_null(big);
    memcpy(big, "{\"note\":\"", 9);
    memset(big + 9, 'a', 100000);
    memcpy(big + 100009, "\"}", 2);
    json_t *v = parse_len(big, 100011);
    s1 o = {0};
    svcr_err err;
    assert_int_equal(dto_decode(v, f, 1, &o, NULL, "", &err), 0);
    assert_int_equal(strlen(o.note), 100000);
    json_decref(v);
    free(big);
    v = parse("{\"note\":\"a\"}");
    assert_int_equal(dto_decode(v, f, 1, &o, NULL, "", &err), -1);
    expect_err(&err, "note", DTO_R_OUT_OF_RANGE);
    json_decref(v);
}

static void test_dto_rejects_nul_in_string(void **state)
{
    (void)state;
    expect_member_err("{\"s\":\"ab\\u0000cd\"}", "s", DTO_R_INVALID_VALUE);
    expect_member_err("{\"s\":\"\\u0000\"}", "s", DTO_R_INVALID_VALUE);
    json_t *v = parse("{\"kind\":\"service\",\"id\":\"svc:a\\u0000evil\",\"endpoint\":\"x\"}");
    svc_item item = {0};
    svcr_err err;
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "payload.items[1]", &err), -1);
    expect_err(&err, "payload.items[1].id", DTO_R_INVALID_VALUE);
    json_decref(v);
}

static void test_dto_borrowed_strings_point_into_the_json_value(void **state)
{
    (void)state;
    json_t *v = parse("{\"kind\":\"service\",\"id\":\"svc:alpha\",\"endpoint\":\"https://a.local\","
                      "\"region\":\"eu-west\",\"meta\":{\"team\":\"x\"}}");
    svc_item item = {0};
    svcr_err err;
    uint64_t present = 0;
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, &present, "", &err), 0);
    assert_ptr_equal(item.kind, json_string_value(json_object_get(v, "kind")));
    assert_ptr_equal(item.id, json_string_value(json_object_get(v, "id")));
    assert_ptr_equal(item.endpoint, json_string_value(json_object_get(v, "endpoint")));
    assert_ptr_equal(item.region, json_string_value(json_object_get(v, "region")));
    assert_ptr_equal(item.meta, json_object_get(v, "meta"));
    assert_string_equal(item.endpoint, "https://a.local");
    assert_int_equal(present, 0x1f);
    json_decref(v);
}

static void test_dto_present_bits_and_absent_slots_untouched(void **state)
{
    (void)state;
    json_t *v = parse("{\"id\":\"svc:a\",\"endpoint\":\"x\",\"kind\":\"service\"}");
    svc_item item = {.region = "default-region", .meta = NULL};
    uint64_t present = ~UINT64_C(0);
    svcr_err err;
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, &present, "", &err), 0);
    assert_int_equal(present, 0x7); /* kind, id, endpoint: bits 0..2 whatever the order */
    assert_string_equal(item.region, "default-region");
    assert_null(item.meta);
    json_decref(v);

    all_types out = {.i = 99};
    assert_int_equal(decode_all("{\"any\":[]}", &out, &present, &err), 0);
    assert_int_equal(present, UINT64_C(1) << 6);
    assert_int_equal(out.i, 99);
    assert_int_equal(decode_all("{}", &out, &present, &err), 0);
    assert_int_equal(present, 0);
}

static void test_dto_null_is_wrong_type_unless_nullable(void **state)
{
    (void)state;
    expect_member_err("{\"s\":null}", "s", DTO_R_WRONG_TYPE);
    expect_member_err("{\"i\":null}", "i", DTO_R_WRONG_TYPE);
    expect_member_err("{\"n\":null}", "n", DTO_R_WRONG_TYPE);
    expect_member_err("{\"b\":null}", "b", DTO_R_WRONG_TYPE);
    expect_member_err("{\"o\":null}", "o", DTO_R_WRONG_TYPE);
    expect_member_err("{\"a\":null}", "a", DTO_R_WRONG_TYPE);

    typedef struct {
        const char *at;
        int64_t n;
        const json_t *obj;
    } nb;
    static const dto_field f[] = {
        {.name = "at",
         .type = DTO_STRING,
         .required = 1,
         .offset = offsetof(nb, at),
         .flags = DTO_F_NULLABLE},
        {.name = "n", .type = DTO_INT, .offset = offsetof(nb, n), .flags = DTO_F_NULLABLE},
        {.name = "obj", .type = DTO_OBJECT, .offset = offsetof(nb, obj), .flags = DTO_F_NULLABLE},
    };
    json_t *v = parse("{\"at\":null,\"n\":null,\"obj\":null}");
    nb o = {.at = "preset", .n = 5, .obj = json_object_get(v, "at")};
    assert_non_null(o.obj);
    uint64_t present = 0;
    svcr_err err;
    assert_int_equal(dto_decode(v, f, 3, &o, &present, "", &err), 0);
    assert_null(o.at);
    assert_int_equal(o.n, 0);
    assert_null(o.obj);
    assert_int_equal(present, 0x7); /* null counts as present, satisfying `required` */
    json_decref(v);
    /* Nullable fields still check the type of non-null values. */
    v = parse("{\"at\":5}");
    assert_int_equal(dto_decode(v, f, 3, &o, &present, "", &err), -1);
    expect_err(&err, "at", DTO_R_WRONG_TYPE);
    json_decref(v);
}

static void test_dto_any_accepts_null_and_every_type(void **state)
{
    (void)state;
    static const char *const bodies[] = {"{\"any\":null}", "{\"any\":1}",  "{\"any\":\"s\"}",
                                         "{\"any\":[]}",   "{\"any\":{}}", "{\"any\":false}"};
    for (size_t k = 0; k < sizeof bodies / sizeof bodies[0]; k++) {
        json_t *v = parse(bodies[k]);
        all_types out = {0};
        svcr_err err;
        assert_int_equal(dto_decode(v, all_fields, ALL_N, &out, NULL, "", &err), 0);
        assert_ptr_equal(out.any, json_object_get(v, "any"));
        json_decref(v);
    }
}

static void test_dto_refuses_table_over_64_fields(void **state)
{
    (void)state;
    static dto_field many[65];
    static char names[65][16];
    int64_t slots[65];
    for (int k = 0; k < 65; k++) {
        snprintf(names[k], sizeof names[k], "f%d", k);
        many[k] = (dto_field){.name = names[k], .type = DTO_INT, .offset = k * sizeof(int64_t)};
    }
    json_t *v = parse("{\"f63\":7,\"f0\":1}");
    svcr_err err;
    uint64_t present = 0;
    svcr_err_clear(&err);
    assert_int_equal(dto_decode(v, many, 65, slots, &present, "body", &err), -1);
    assert_int_equal(err.code, SVCR_E_INTERNAL);
    assert_string_equal(err.reason, DTO_R_BAD_TABLE);
    /* 64 is allowed, and field 63 uses the top bit. */
    assert_int_equal(dto_decode(v, many, 64, slots, &present, "body", &err), 0);
    assert_int_equal(present, (UINT64_C(1) << 63) | 1);
    assert_int_equal(slots[63], 7);
    assert_int_equal(slots[0], 1);
    json_decref(v);
}

static void test_dto_refuses_broken_tables(void **state)
{
    (void)state;
    typedef struct {
        int64_t a, b;
    } two;
    static const dto_field dup[] = {
        {.name = "a", .type = DTO_INT, .offset = offsetof(two, a)},
        {.name = "a", .type = DTO_INT, .offset = offsetof(two, b)},
    };
    static const dto_field noname[] = {{.name = NULL, .type = DTO_INT}};
    static const dto_field minmax[] = {
        {.name = "a", .type = DTO_INT, .offset = offsetof(two, a), .min = 1}};
    static const dto_field strminmax[] = {{.name = "a", .type = DTO_STRING, .min = 5, .max = 2}};
    static const dto_field rfcint[] = {
        {.name = "a", .type = DTO_INT, .offset = offsetof(two, a), .flags = DTO_F_RFC3339}};
    const dto_field *tables[] = {dup, noname, minmax, strminmax, rfcint};
    size_t sizes[] = {2, 1, 1, 1, 1};
    json_t *v = parse("{}");
    for (size_t k = 0; k < 5; k++) {
        two o;
        svcr_err err;
        svcr_err_clear(&err);
        assert_int_equal(dto_decode(v, tables[k], sizes[k], &o, NULL, "", &err), -1);
        assert_int_equal(err.code, SVCR_E_INTERNAL);
        assert_string_equal(err.reason, DTO_R_BAD_TABLE);
    }
    /* The empty table accepts only the empty object. */
    two o;
    svcr_err err;
    assert_int_equal(dto_decode(v, NULL, 0, &o, NULL, "", &err), 0);
    json_decref(v);
    v = parse("{\"x\":1}");
    assert_int_equal(dto_decode(v, NULL, 0, &o, NULL, "", &err), -1);
    expect_err(&err, "x", DTO_R_UNKNOWN_FIELD);
    json_decref(v);
}

/* A valid-looking Ed25519 signature: 64 zero bytes in standard padded base64. */
#define ZERO_SIG_B64                                                                               \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="

/* The §2.3 approval as production decodes it (gov_approval_decode, whose table flags signed_at
 * DTO_F_RFC3339): a valid timestamp is kept as sent and converted; an invalid one is refused by
 * the table rule, named by its path. */
static void test_dto_rfc3339_flag_validates_timestamps(void **state)
{
    (void)state;
    gov_approval a;
    svcr_err err;
    json_t *v =
        parse("{\"signer_id\":\"org:alpha#key1\",\"algo\":\"ed25519\",\"sig\":\"" ZERO_SIG_B64
              "\",\"signed_at\":\"2026-11-25T12:00:05Z\"}");
    assert_int_equal(gov_approval_decode(v, "", &a, &err), SVCR_OK);
    assert_string_equal(a.signed_at, "2026-11-25T12:00:05Z");
    assert_int_equal(a.signed_at_s, 1795608005);
    assert_string_equal(a.signer_id, "org:alpha#key1");
    assert_int_equal(a.sig_len, 64);
    json_decref(v);
    static const char *const bad[] = {"2026-11-25T12:00:05", "2026-11-25T12:00:05+01:00",
                                      "2026-02-30T12:00:05Z", "yesterday", ""};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"signer_id\":\"s\",\"algo\":\"ed25519\",\"sig\":\"" ZERO_SIG_B64
                 "\",\"signed_at\":\"%s\"}",
                 bad[k]);
        v = parse(body);
        svcr_err_clear(&err);
        assert_int_equal(gov_approval_decode(v, "approval", &a, &err), SVCR_E_MALFORMED);
        expect_err(&err, "approval.signed_at", DTO_R_INVALID_VALUE);
        json_decref(v);
    }
}

/* The approval decoder refuses through the table rules, naming the member under its base path:
 * an unknown member, a missing one, a signer_id over 256 bytes, a sig of the wrong length. */
static void test_approval_decode_names_the_member_it_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *body, *path, *reason;
    } cases[] = {
        {"{\"signer_id\":\"s\",\"algo\":\"ed25519\",\"sig\":\"" ZERO_SIG_B64
         "\",\"signed_at\":\"2026-11-25T12:00:05Z\",\"x\":1}",
         "approval.x", DTO_R_UNKNOWN_FIELD},
        {"{\"signer_id\":\"s\",\"sig\":\"" ZERO_SIG_B64
         "\",\"signed_at\":\"2026-11-25T12:00:05Z\"}",
         "approval.algo", DTO_R_MISSING_FIELD},
        {"{\"signer_id\":1,\"algo\":\"ed25519\",\"sig\":\"" ZERO_SIG_B64
         "\",\"signed_at\":\"2026-11-25T12:00:05Z\"}",
         "approval.signer_id", DTO_R_WRONG_TYPE},
        {"{\"signer_id\":\"s\",\"algo\":\"ed25519\",\"sig\":\"AAAA\","
         "\"signed_at\":\"2026-11-25T12:00:05Z\"}",
         "approval.sig", NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        json_t *v = parse(cases[k].body);
        gov_approval a;
        svcr_err err;
        svcr_err_clear(&err);
        assert_int_equal(gov_approval_decode(v, "approval", &a, &err), SVCR_E_MALFORMED);
        assert_int_equal(err.code, SVCR_E_MALFORMED);
        assert_string_equal(err.path, cases[k].path);
        if (cases[k].reason)
            assert_string_equal(err.reason, cases[k].reason);
        json_decref(v);
    }
    /* a signer_id of 257 bytes is out of range (the table's max) */
    char body[640];
    snprintf(body, sizeof body,
             "{\"signer_id\":\"%0257d\",\"algo\":\"ed25519\",\"sig\":\"" ZERO_SIG_B64
             "\",\"signed_at\":\"2026-11-25T12:00:05Z\"}",
             0);
    json_t *v = parse(body);
    gov_approval a;
    svcr_err err;
    assert_int_equal(gov_approval_decode(v, "", &a, &err), SVCR_E_MALFORMED);
    expect_err(&err, "signer_id", DTO_R_OUT_OF_RANGE);
    json_decref(v);
}

static void test_dto_check_array_names_the_bad_element(void **state)
{
    (void)state;
    svcr_err err;
    json_t *v = parse("{\"services\":[\"svc:a\",\"svc:b\",\"svc:c\",7]}");
    const json_t *arr = json_object_get(v, "services");
    svcr_err_clear(&err);
    assert_int_equal(dto_check_array(arr, DTO_STRING, "payload.items[2].services", &err), -1);
    expect_err(&err, "payload.items[2].services[3]", DTO_R_WRONG_TYPE);
    assert_int_equal(dto_check_array(arr, DTO_ANY, "x", &err), 0);
    json_decref(v);

    v = parse("[{},{},null]");
    assert_int_equal(dto_check_array(v, DTO_OBJECT, "payload.items", &err), -1);
    expect_err(&err, "payload.items[2]", DTO_R_WRONG_TYPE);
    json_decref(v);

    v = parse("[1, 2.0, 9007199254740991]");
    assert_int_equal(dto_check_array(v, DTO_INT, "", &err), 0);
    json_decref(v);
    v = parse("[1, 2.5]");
    assert_int_equal(dto_check_array(v, DTO_INT, "", &err), -1);
    expect_err(&err, "[1]", DTO_R_WRONG_TYPE);
    json_decref(v);
    v = parse("[\"a\", \"b\\u0000\"]");
    assert_int_equal(dto_check_array(v, DTO_STRING, "list", &err), -1);
    expect_err(&err, "list[1]", DTO_R_INVALID_VALUE);
    json_decref(v);
    v = parse("[]");
    assert_int_equal(dto_check_array(v, DTO_BOOL, "list", &err), 0);
    json_decref(v);
    v = parse("{}");
    assert_int_equal(dto_check_array(v, DTO_BOOL, "list", &err), -1);
    expect_err(&err, "list", DTO_R_WRONG_TYPE);
    json_decref(v);
    assert_int_equal(dto_check_array(NULL, DTO_BOOL, "list", &err), -1);
    expect_err(&err, "list", DTO_R_WRONG_TYPE);
}

static void test_dto_array_length_bounds(void **state)
{
    (void)state;
    typedef struct {
        const json_t *signers;
    } ss;
    static const dto_field f[] = {{.name = "signers",
                                   .type = DTO_ARRAY,
                                   .required = 1,
                                   .offset = offsetof(ss, signers),
                                   .min = 1,
                                   .max = 3}};
    static const char *const ok[] = {"{\"signers\":[1]}", "{\"signers\":[1,2,3]}"};
    static const char *const bad[] = {"{\"signers\":[]}", "{\"signers\":[1,2,3,4]}"};
    svcr_err err;
    ss o;
    for (size_t k = 0; k < 2; k++) {
        json_t *v = parse(ok[k]);
        assert_int_equal(dto_decode(v, f, 1, &o, NULL, "items[0]", &err), 0);
        json_decref(v);
        v = parse(bad[k]);
        assert_int_equal(dto_decode(v, f, 1, &o, NULL, "items[0]", &err), -1);
        expect_err(&err, "items[0].signers", DTO_R_OUT_OF_RANGE);
        json_decref(v);
    }
}

static void test_dto_check_timestamp_reports_path(void **state)
{
    (void)state;
    svcr_err err;
    int64_t t = 0;
    assert_int_equal(dto_check_timestamp("2026-11-25T12:00:00Z", "payload", "expiry", &t, &err), 0);
    assert_int_equal(t, 1795608000);
    t = 5;
    assert_int_equal(dto_check_timestamp(NULL, "payload", "expiry", &t, &err), 0);
    assert_int_equal(t, 5);
    svcr_err_clear(&err);
    assert_int_equal(dto_check_timestamp("2026-11-25", "payload", "expiry", &t, &err), -1);
    expect_err(&err, "payload.expiry", DTO_R_INVALID_VALUE);
    assert_int_equal(t, 5);
    assert_int_equal(dto_check_timestamp("x", "", "created_at", NULL, &err), -1);
    expect_err(&err, "created_at", DTO_R_INVALID_VALUE);
}

static void test_dto_reports_first_problem_in_document_order(void **state)
{
    (void)state;
    svc_item item = {0};
    svcr_err err;
    /* Wrong type of `id` comes before the unknown `zzz`, and both before the missing field. */
    json_t *v = parse("{\"kind\":\"service\",\"id\":1,\"zzz\":1}");
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "", &err), -1);
    expect_err(&err, "id", DTO_R_WRONG_TYPE);
    json_decref(v);
    v = parse("{\"zzz\":1,\"id\":1}");
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "", &err), -1);
    expect_err(&err, "zzz", DTO_R_UNKNOWN_FIELD);
    json_decref(v);
    /* Missing fields are reported in table order. */
    v = parse("{\"region\":\"eu\"}");
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "", &err), -1);
    expect_err(&err, "kind", DTO_R_MISSING_FIELD);
    json_decref(v);
}

static void test_dto_messages_never_echo_input_values(void **state)
{
    (void)state;
    svcr_err err;
    svc_item item = {0};
    json_t *v = parse("{\"kind\":\"service\",\"id\":\"SECRET-VALUE\",\"endpoint\":42}");
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "", &err), -1);
    assert_null(strstr(err.message, "42"));
    json_decref(v);
    v = parse("{\"kind\":\"service\",\"id\":\"SECRET-VALUE\",\"endpoint\":\"e\",\"x\":\"SECRET\"}");
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "", &err), -1);
    assert_null(strstr(err.message, "SECRET"));
    json_decref(v);
}

static void test_dto_path_builders(void **state)
{
    (void)state;
    char p[64];
    dto_path_member(p, sizeof p, "", "payload");
    assert_string_equal(p, "payload");
    dto_path_member(p, sizeof p, NULL, "payload");
    assert_string_equal(p, "payload");
    dto_path_member(p, sizeof p, "payload", "items");
    assert_string_equal(p, "payload.items");
    char q[64];
    dto_path_index(q, sizeof q, p, 3);
    assert_string_equal(q, "payload.items[3]");
    dto_path_member(p, sizeof p, q, "endpoint");
    assert_string_equal(p, "payload.items[3].endpoint");
    dto_path_index(p, sizeof p, "", 0);
    assert_string_equal(p, "[0]");
    dto_path_index(p, sizeof p, NULL, 18446744073709551615ULL);
    assert_string_equal(p, "[18446744073709551615]");

    /* Truncation keeps the result NUL-terminated. */
    char small[8];
    dto_path_member(small, sizeof small, "payload", "items");
    assert_string_equal(small, "payload");
    dto_path_member(small, sizeof small, "abc", "defghij");
    assert_string_equal(small, "abc.def");
    dto_path_index(small, sizeof small, "abcde", 12);
    assert_string_equal(small, "abcde[1");
    char one[1];
    dto_path_member(one, sizeof one, "a", "b");
    assert_string_equal(one, "");
}

/* A path that does not fit is cut before a multi-byte character, never inside it. */
static void test_dto_path_truncation_keeps_utf8_whole(void **state)
{
    (void)state;
    char p[8];
    dto_path_member(p, sizeof p, "ab", "c\xc3\xa9\xc3\xa9"); /* "ab.cé|é": 2-byte chars */
    assert_string_equal(p, "ab.c\xc3\xa9");
    dto_path_member(p, sizeof p, "ab", "cd\xe2\x82\xac"); /* "ab.cd" + 3-byte € does not fit */
    assert_string_equal(p, "ab.cd");

    /* The same through dto_decode: a very long unknown key yields a valid UTF-8 path. */
    char body[1200];
    size_t n = 0;
    n += (size_t)snprintf(body, sizeof body, "{\"");
    for (int k = 0; k < 300; k++) {
        memcpy(body + n, "\xe2\x82\xac", 3);
        n += 3;
    }
    memcpy(body + n, "\":1}", 5);
    json_t *v = parse(body);
    svc_item item = {0};
    svcr_err err;
    assert_int_equal(dto_decode(v, svc_fields, SVC_N, &item, NULL, "payload.items[3]", &err), -1);
    assert_string_equal(err.reason, DTO_R_UNKNOWN_FIELD);
    size_t len = strlen(err.path);
    assert_true(len < sizeof err.path);
    assert_int_equal((len - strlen("payload.items[3].")) % 3, 0);
    json_t *s = json_stringn(err.path, len); /* NULL if not valid UTF-8 */
    assert_non_null(s);
    json_decref(s);
    json_decref(v);
}

/* A realistic nested decode: proposal -> payload -> items[i], each with its own base path. */
static void test_dto_decodes_nested_payload_items_with_paths(void **state)
{
    (void)state;
    typedef struct {
        int64_t version;
        const char *prev_hash, *created_at;
        const json_t *items;
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
        {.name = "created_at",
         .type = DTO_STRING,
         .offset = offsetof(payload, created_at),
         .flags = DTO_F_RFC3339},
        {.name = "items", .type = DTO_ARRAY, .required = 1, .offset = offsetof(payload, items)},
    };
    json_t *v =
        parse("{\"version\":2,\"prev_hash\":\"b3:00\",\"created_at\":\"2026-11-25T12:00:00Z\","
              "\"items\":[{\"kind\":\"service\",\"id\":\"a\",\"endpoint\":\"x\"},"
              "{\"kind\":\"service\",\"id\":\"b\",\"endpoint\":\"y\"},"
              "{\"kind\":\"service\",\"id\":\"c\",\"endpoint\":\"z\"},"
              "{\"kind\":\"service\",\"id\":\"d\"}]}");
    payload p = {0};
    svcr_err err;
    assert_int_equal(dto_decode(v, payload_fields, 4, &p, NULL, "payload", &err), 0);
    assert_int_equal(p.version, 2);
    assert_int_equal(dto_check_array(p.items, DTO_OBJECT, "payload.items", &err), 0);
    int failed_at = -1;
    for (size_t k = 0; k < json_array_size(p.items); k++) {
        char base[64];
        dto_path_index(base, sizeof base, "payload.items", k);
        svc_item item = {0};
        if (dto_decode(json_array_get(p.items, k), svc_fields, SVC_N, &item, NULL, base, &err)) {
            failed_at = (int)k;
            break;
        }
    }
    assert_int_equal(failed_at, 3);
    expect_err(&err, "payload.items[3].endpoint", DTO_R_MISSING_FIELD);
    json_decref(v);
}

static void test_dto_type_names(void **state)
{
    (void)state;
    assert_string_equal(dto_type_name(DTO_STRING), "string");
    assert_string_equal(dto_type_name(DTO_INT), "integer");
    assert_string_equal(dto_type_name(DTO_ANY), "any");
    assert_string_equal(dto_type_name((dto_type)99), "unknown");
}

/* dto_int_in never converts an out-of-range or fractional double (that would be undefined
 * behaviour); it answers -1 instead. */
static void test_dto_int_in_refuses_what_it_cannot_convert(void **state)
{
    (void)state;
    const char *ok[] = {"0", "1", "9007199254740991", "-9007199254740991", "2.0"};
    const int64_t want[] = {0, 1, INT64_C(9007199254740991), -INT64_C(9007199254740991), 2};
    for (size_t i = 0; i < 5; i++) {
        json_t *v = json_loads(ok[i], JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
        int64_t out = -7;
        assert_int_equal(dto_int_in(v, INT64_MIN, INT64_MAX, &out), 0);
        assert_true(out == want[i]);
        json_decref(v);
    }
    const char *bad[] = {"-1", "1.5", "1e300", "-1e300", "9007199254740992", "\"1\"", "null"};
    for (size_t i = 0; i < 7; i++) {
        json_t *v = json_loads(bad[i], JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
        int64_t out = 0;
        assert_int_equal(dto_int_in(v, 0, INT64_MAX, &out), -1);
        json_decref(v);
    }
    assert_int_equal(dto_int_in(NULL, 0, 1, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dto_int_in_refuses_what_it_cannot_convert),
        cmocka_unit_test(test_dto_decodes_every_type_into_its_slot),
        cmocka_unit_test(test_dto_rejects_unknown_field_with_path),
        cmocka_unit_test(test_dto_rejects_missing_required_field_with_path),
        cmocka_unit_test(test_dto_rejects_wrong_type_with_path),
        cmocka_unit_test(test_dto_rejects_non_object_at_base_path),
        cmocka_unit_test(test_dto_int_accepts_2_53_minus_1_and_rejects_2_53),
        cmocka_unit_test(test_dto_int_rejects_fraction_and_accepts_integral_real),
        cmocka_unit_test(test_dto_int_enforces_inclusive_bounds),
        cmocka_unit_test(test_dto_int_accepts_json_integer_values),
        cmocka_unit_test(test_dto_string_length_bounds_are_bytes),
        cmocka_unit_test(test_dto_string_min_without_max_has_no_upper_bound),
        cmocka_unit_test(test_dto_rejects_nul_in_string),
        cmocka_unit_test(test_dto_borrowed_strings_point_into_the_json_value),
        cmocka_unit_test(test_dto_present_bits_and_absent_slots_untouched),
        cmocka_unit_test(test_dto_null_is_wrong_type_unless_nullable),
        cmocka_unit_test(test_dto_any_accepts_null_and_every_type),
        cmocka_unit_test(test_dto_refuses_table_over_64_fields),
        cmocka_unit_test(test_dto_refuses_broken_tables),
        cmocka_unit_test(test_dto_rfc3339_flag_validates_timestamps),
        cmocka_unit_test(test_approval_decode_names_the_member_it_refuses),
        cmocka_unit_test(test_dto_check_array_names_the_bad_element),
        cmocka_unit_test(test_dto_array_length_bounds),
        cmocka_unit_test(test_dto_check_timestamp_reports_path),
        cmocka_unit_test(test_dto_reports_first_problem_in_document_order),
        cmocka_unit_test(test_dto_messages_never_echo_input_values),
        cmocka_unit_test(test_dto_path_builders),
        cmocka_unit_test(test_dto_path_truncation_keeps_utf8_whole),
        cmocka_unit_test(test_dto_decodes_nested_payload_items_with_paths),
        cmocka_unit_test(test_dto_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
