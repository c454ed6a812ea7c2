/* dto.c - strict decoding of JSON write bodies against field tables (see dto.h). */
#include "interop/dto.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "interop/rfc3339.h"
#include "interop/text.h"

/* Room for one JSON path: the same size as svcr_err.path, so paths are cut here, at a UTF-8
 * boundary, and never again by svcr_err_set. */
#define PATH_CAP sizeof(((svcr_err *)0)->path)

const char *dto_type_name(dto_type t)
{
    switch (t) {
    case DTO_STRING:
        return "string";
    case DTO_INT:
        return "integer";
    case DTO_NUMBER:
        return "number";
    case DTO_BOOL:
        return "boolean";
    case DTO_OBJECT:
        return "object";
    case DTO_ARRAY:
        return "array";
    case DTO_ANY:
        return "any";
    }
    return "unknown";
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

/* Copies at most n bytes of src to dst + *pos (capacity cap), never splitting a UTF-8 sequence;
 * keeps dst NUL-terminated. Returns 0, or -1 once the output is full (later calls add nothing). */
static int path_append(char *dst, size_t cap, size_t *pos, const char *src, size_t n)
{
    size_t room = cap - 1 - *pos;
    int full = 0;
    if (n > room) {
        n = room;
        /* Back up to the start of the character that does not fit. */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
        full = 1;
    }
    memcpy(dst + *pos, src, n);
    *pos += n;
    dst[*pos] = '\0';
    if (full)
        *pos = cap - 1; /* nothing more may follow a cut */
    return full ? -1 : 0;
}

void dto_path_member(char *dst, size_t cap, const char *base, const char *name)
{
    assert(cap > 0);
    size_t pos = 0;
    dst[0] = '\0';
    if (!name)
        name = "";
    if (base && *base) {
        if (path_append(dst, cap, &pos, base, strlen(base)) < 0 ||
            path_append(dst, cap, &pos, ".", 1) < 0)
            return;
    }
    path_append(dst, cap, &pos, name, strlen(name));
}

void dto_path_index(char *dst, size_t cap, const char *base, size_t index)
{
    assert(cap > 0);
    char idx[32];
    int n = snprintf(idx, sizeof idx, "[%zu]", index);
    size_t pos = 0;
    dst[0] = '\0';
    if (base && *base && path_append(dst, cap, &pos, base, strlen(base)) < 0)
        return;
    path_append(dst, cap, &pos, idx, (size_t)n);
}

/* Reports a MALFORMED error at base + ".name" (or at base itself when name is NULL). */
static int fail_at(svcr_err *err, const char *base, const char *name, const char *reason,
                   const char *msg)
{
    char path[PATH_CAP];
    if (name)
        dto_path_member(path, sizeof path, base, name);
    else
        dto_path_member(path, sizeof path, NULL, base ? base : "");
    svcr_err_set(err, SVCR_E_MALFORMED, path, reason, "%s", msg);
    return -1;
}

static int wrong_type(svcr_err *err, const char *path, dto_type want, const json_t *got)
{
    char msg[64];
    snprintf(msg, sizeof msg, "expected %s, got %s", dto_type_name(want), json_type_name(got));
    return fail_at(err, path, NULL, DTO_R_WRONG_TYPE, msg);
}

/* Reads a JSON number as a safe integer. Returns 0, -1 when it is not an integral number
 * (wrong type), -2 when it is integral but |x| > 2^53-1. */
static int number_as_int(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i > DTO_MAX_SAFE_INT || i < -DTO_MAX_SAFE_INT)
            return -2;
        *out = (int64_t)i;
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    double d = json_real_value(v);
    if (!isfinite(d) || d != trunc(d))
        return -1;
    if (fabs(d) > (double)DTO_MAX_SAFE_INT)
        return -2;
    *out = (int64_t)d; /* exact: |d| <= 2^53-1 and integral; -0.0 becomes 0 */
    return 0;
}

/* Checks a JSON string for U+0000. Returns its byte length, or -1. */
static long long string_len(const json_t *v)
{
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (memchr(s, '\0', n))
        return -1;
    return (long long)n;
}

/* Checks a length against the STRING/ARRAY bound convention; on failure writes a message
 * ("string length 0 out of range [1, 256]") to msg and returns -1. */
static int check_len(size_t n, const dto_field *f, const char *what, char *msg, size_t cap)
{
    int lo_ok = f->min <= 0 || (uint64_t)n >= (uint64_t)f->min;
    int hi_ok = f->max <= 0 || (uint64_t)n <= (uint64_t)f->max;
    if (lo_ok && hi_ok)
        return 0;
    long long lo = f->min > 0 ? (long long)f->min : 0;
    if (f->max > 0)
        snprintf(msg, cap, "%s %zu out of range [%lld, %lld]", what, n, lo, (long long)f->max);
    else
        snprintf(msg, cap, "%s %zu below minimum %lld", what, n, lo);
    return -1;
}

static void *slot(void *out, const dto_field *f)
{
    return (char *)out + f->offset;
}

/* Stores the null of a DTO_F_NULLABLE field. */
static void store_null(void *out, const dto_field *f, const json_t *v)
{
    switch (f->type) {
    case DTO_STRING:
        *(const char **)slot(out, f) = NULL;
        break;
    case DTO_INT:
        *(int64_t *)slot(out, f) = 0;
        break;
    case DTO_NUMBER:
        *(double *)slot(out, f) = 0.0;
        break;
    case DTO_BOOL:
        *(int *)slot(out, f) = 0;
        break;
    case DTO_OBJECT:
    case DTO_ARRAY:
        *(const json_t **)slot(out, f) = NULL;
        break;
    case DTO_ANY:
        *(const json_t **)slot(out, f) = v;
        break;
    }
}

/* Decodes one member value into its slot. `path` is the member's full path. */
static int decode_member(const json_t *v, const dto_field *f, void *out, const char *path,
                         svcr_err *err)
{
    char msg[128];
    if (json_is_null(v) && f->type != DTO_ANY) {
        if (!(f->flags & DTO_F_NULLABLE))
            return wrong_type(err, path, f->type, v);
        store_null(out, f, v);
        return 0;
    }
    switch (f->type) {
    case DTO_STRING: {
        if (!json_is_string(v))
            return wrong_type(err, path, f->type, v);
        long long n = string_len(v);
        if (n < 0)
            return fail_at(err, path, NULL, DTO_R_INVALID_VALUE, "string contains U+0000");
        if (check_len((size_t)n, f, "string length", msg, sizeof msg) < 0)
            return fail_at(err, path, NULL, DTO_R_OUT_OF_RANGE, msg);
        const char *s = json_string_value(v);
        uint32_t bad;
        if ((f->flags & DTO_F_TEXT) && !text_printable(s, (size_t)n, &bad)) {
            snprintf(msg, sizeof msg,
                     "U+%04X is not printable text: controls, bidi and zero-width characters "
                     "are refused",
                     (unsigned)bad);
            return fail_at(err, path, NULL, DTO_R_INVALID_VALUE, msg);
        }
        if ((f->flags & DTO_F_RFC3339) && rfc3339_parse(s, (size_t)n, NULL, NULL) < 0)
            return fail_at(err, path, NULL, DTO_R_INVALID_VALUE,
                           "not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.frac]Z)");
        *(const char **)slot(out, f) = s;
        return 0;
    }
    case DTO_INT: {
        if (!json_is_number(v))
            return wrong_type(err, path, f->type, v);
        int64_t lo = -DTO_MAX_SAFE_INT, hi = DTO_MAX_SAFE_INT, x = 0;
        if (f->min != 0 || f->max != 0) {
            lo = f->min > lo ? f->min : lo;
            hi = f->max < hi ? f->max : hi;
        }
        int rc = number_as_int(v, &x);
        if (rc == -1)
            return fail_at(err, path, NULL, DTO_R_WRONG_TYPE,
                           "expected integer, got a fractional number");
        if (rc == -2 || x < lo || x > hi) {
            snprintf(msg, sizeof msg, "integer out of range [%lld, %lld]", (long long)lo,
                     (long long)hi);
            return fail_at(err, path, NULL, DTO_R_OUT_OF_RANGE, msg);
        }
        *(int64_t *)slot(out, f) = x;
        return 0;
    }
    case DTO_NUMBER:
        if (!json_is_number(v))
            return wrong_type(err, path, f->type, v);
        *(double *)slot(out, f) = json_number_value(v);
        return 0;
    case DTO_BOOL:
        if (!json_is_boolean(v))
            return wrong_type(err, path, f->type, v);
        *(int *)slot(out, f) = json_is_true(v);
        return 0;
    case DTO_OBJECT:
        if (!json_is_object(v))
            return wrong_type(err, path, f->type, v);
        *(const json_t **)slot(out, f) = v;
        return 0;
    case DTO_ARRAY:
        if (!json_is_array(v))
            return wrong_type(err, path, f->type, v);
        if (check_len(json_array_size(v), f, "array length", msg, sizeof msg) < 0)
            return fail_at(err, path, NULL, DTO_R_OUT_OF_RANGE, msg);
        *(const json_t **)slot(out, f) = v;
        return 0;
    case DTO_ANY:
        *(const json_t **)slot(out, f) = v;
        return 0;
    }
    return fail_at(err, path, NULL, DTO_R_BAD_TABLE, "unknown dto_type");
}

/* Rejects tables that cannot be right whatever the input: too many fields, missing names,
 * flags on types they do not apply to. */
static int check_table(const dto_field *fields, size_t nfields, const char *path, svcr_err *err)
{
    const char *why = NULL;
    if (nfields > DTO_MAX_FIELDS)
        why = "field table has more than 64 fields";
    else if (nfields > 0 && !fields)
        why = "field table is NULL";
    for (size_t i = 0; !why && i < nfields; i++) {
        if (!fields[i].name)
            why = "field without a name";
        else if ((unsigned)fields[i].type > DTO_ANY)
            why = "field with an unknown type";
        else if ((fields[i].flags & (DTO_F_RFC3339 | DTO_F_TEXT)) && fields[i].type != DTO_STRING)
            why = "DTO_F_RFC3339 or DTO_F_TEXT on a non-string field";
        else if (fields[i].min > fields[i].max && (fields[i].type == DTO_INT || fields[i].max > 0))
            why = "field with min > max";
        for (size_t j = 0; !why && j < i; j++)
            if (strcmp(fields[i].name, fields[j].name) == 0)
                why = "field listed twice";
    }
    if (!why)
        return 0;
    svcr_err_set(err, SVCR_E_INTERNAL, path ? path : "", DTO_R_BAD_TABLE, "%s", why);
    return -1;
}

int dto_decode(const json_t *v, const dto_field *fields, size_t nfields, void *out,
               uint64_t *present, const char *path, svcr_err *err)
{
    if (check_table(fields, nfields, path, err) < 0)
        return -1;
    if (!v || !json_is_object(v)) {
        if (!v)
            return fail_at(err, path, NULL, DTO_R_WRONG_TYPE, "expected object, got nothing");
        return wrong_type(err, path, DTO_OBJECT, v);
    }

    uint64_t seen = 0;
    char member[PATH_CAP];
    /* jansson's iterator API is not const-clean; the loop only reads. */
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
        size_t key_len = json_object_iter_key_len(it); /* API-built keys may hold U+0000 */
        const json_t *value = json_object_iter_value(it);
        size_t i = 0;
        while (i < nfields &&
               (strlen(fields[i].name) != key_len || memcmp(fields[i].name, key, key_len) != 0))
            i++;
        if (i == nfields)
            return fail_at(err, path, key, DTO_R_UNKNOWN_FIELD, "unknown field");
        dto_path_member(member, sizeof member, path, key);
        if (decode_member(value, &fields[i], out, member, err) < 0)
            return -1;
        seen |= UINT64_C(1) << i;
    }
    for (size_t i = 0; i < nfields; i++)
        if (fields[i].required && !(seen & (UINT64_C(1) << i)))
            return fail_at(err, path, fields[i].name, DTO_R_MISSING_FIELD,
                           "missing required field");
    if (present)
        *present = seen;
    return 0;
}

int dto_check_array(const json_t *arr, dto_type elem, const char *path, svcr_err *err)
{
    if (!arr || !json_is_array(arr)) {
        if (!arr)
            return fail_at(err, path, NULL, DTO_R_WRONG_TYPE, "expected array, got nothing");
        return wrong_type(err, path, DTO_ARRAY, arr);
    }
    /* Reuse decode_member with an unbounded pseudo-field and a scratch slot. */
    dto_field f = {.name = "", .type = elem};
    union {
        const char *s;
        int64_t i;
        double d;
        int b;
        const json_t *j;
    } scratch;
    char elem_path[PATH_CAP];
    for (size_t idx = 0; idx < json_array_size(arr); idx++) {
        dto_path_index(elem_path, sizeof elem_path, path, idx);
        if (decode_member(json_array_get(arr, idx), &f, &scratch, elem_path, err) < 0)
            return -1;
    }
    return 0;
}

int dto_check_timestamp(const char *s, const char *base, const char *name, int64_t *unix_sec,
                        svcr_err *err)
{
    if (!s)
        return 0;
    int64_t t;
    if (rfc3339_parse(s, strlen(s), &t, NULL) < 0)
        return fail_at(err, base, name, DTO_R_INVALID_VALUE,
                       "not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.frac]Z)");
    if (unix_sec)
        *unix_sec = t;
    return 0;
}

int dto_int_in(const json_t *v, int64_t min, int64_t max, int64_t *out)
{
    if (!json_is_number(v))
        return -1;
    double d = json_number_value(v);
    if (min < -DTO_MAX_SAFE_INT)
        min = -DTO_MAX_SAFE_INT;
    if (max > DTO_MAX_SAFE_INT)
        max = DTO_MAX_SAFE_INT;
    if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d)
        return -1;
    *out = (int64_t)d;
    return 0;
}
