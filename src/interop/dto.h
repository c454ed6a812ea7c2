/* dto.h - strict decoding of JSON write bodies (jansson objects) against a field table. */
#ifndef SVCR_INTEROP_DTO_H
#define SVCR_INTEROP_DTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "interop/error.h"

/* Largest number of fields in one table (one bit each in the `present` mask). */
#define DTO_MAX_FIELDS 64
/* Largest integer magnitude DTO_INT accepts: 2^53 - 1, the last integer a double holds exactly
 * (SPEC §2.1: JSON numbers are IEEE-754 doubles). */
#define DTO_MAX_SAFE_INT INT64_C(9007199254740991)

/* The err->reason words dto_* functions produce (all with code SVCR_E_MALFORMED). */
#define DTO_R_UNKNOWN_FIELD "unknown_field" /* a member the table does not list */
#define DTO_R_MISSING_FIELD "missing_field" /* a required member is absent */
#define DTO_R_WRONG_TYPE "wrong_type"       /* wrong JSON type (1.5 for an INT, null, ...) */
#define DTO_R_OUT_OF_RANGE "out_of_range"   /* integer, string length or array length bounds */
#define DTO_R_INVALID_VALUE "invalid_value" /* right type, bad content (U+0000, bad timestamp) */
/* A broken table (more than 64 fields, a NULL name, a name listed twice, min > max, a flag on
 * the wrong type) is a programming error, reported by dto_decode as SVCR_E_INTERNAL with this
 * reason before the input is looked at. */
#define DTO_R_BAD_TABLE "dto_table"

typedef enum dto_type {
    DTO_STRING, /* slot: const char *   (borrowed from the json value, NUL-terminated) */
    DTO_INT,    /* slot: int64_t */
    DTO_NUMBER, /* slot: double */
    DTO_BOOL,   /* slot: int           (0 or 1) */
    DTO_OBJECT, /* slot: const json_t * (borrowed) */
    DTO_ARRAY,  /* slot: const json_t * (borrowed) */
    DTO_ANY     /* slot: const json_t * (borrowed; any JSON value including null) */
} dto_type;

/* dto_field.flags */
#define DTO_F_NULLABLE 0x1u /* JSON null is accepted: see dto_decode */
#define DTO_F_RFC3339 0x2u  /* DTO_STRING only: must be an RFC 3339 UTC timestamp (rfc3339.h) */
#define DTO_F_TEXT 0x4u     /* DTO_STRING only: printable text (interop/text.h, SPEC §2.2) */

/* One row of a field table. Designated initializers are the intended way to write one; fields
 * left out are zero. Bounds by type (inclusive):
 *   DTO_STRING  byte length in [min, max]; max 0 = no upper bound; min <= 0 = no lower bound.
 *   DTO_ARRAY   element count, same convention as DTO_STRING.
 *   DTO_INT     value in [min, max], always intersected with [-(2^53-1), 2^53-1];
 *               min == max == 0 means "no bounds beyond the safe range".
 *   other types ignore min and max. */
typedef struct dto_field {
    const char *name; /* JSON member name */
    dto_type type;
    int required;  /* non-zero: absence is DTO_R_MISSING_FIELD */
    size_t offset; /* offsetof(slot) in the caller's output struct */
    int64_t min, max;
    unsigned flags; /* DTO_F_* */
} dto_field;

/* Decodes the object `v` against `fields[0..nfields)`, writing each present member into its
 * slot in `out` (see dto_type for slot types). Absent members leave their slot untouched, so
 * callers preset defaults before the call.
 *
 * Rules:
 * - `v` must be an object (else DTO_R_WRONG_TYPE at `path`); every member must be listed in the
 *   table (else DTO_R_UNKNOWN_FIELD); every required field must be present.
 * - STRING: strings containing U+0000 are DTO_R_INVALID_VALUE. With DTO_F_RFC3339 the string
 *   must parse with rfc3339_parse (else DTO_R_INVALID_VALUE).
 * - INT: a json_integer, or a json_real that is finite and integral (1.0 is 1; 1.5 is
 *   DTO_R_WRONG_TYPE, because the project's parser reads every number as a double); values
 *   outside the bounds or with |x| > 2^53-1 are DTO_R_OUT_OF_RANGE.
 * - NUMBER: a json_integer or json_real, stored as double.
 * - null: DTO_R_WRONG_TYPE, except for DTO_ANY (the slot receives the null value) and for
 *   fields with DTO_F_NULLABLE, where null counts as present (it satisfies `required` and sets
 *   the present bit) and stores NULL in pointer slots and 0 in INT/NUMBER/BOOL slots.
 * Members are checked in document order, then missing required fields in table order; the
 * first problem found is reported.
 *
 * On success returns 0 and, if `present` is not NULL, sets bit i of *present when fields[i]
 * was present. On failure returns -1 and fills `err` (may be NULL): SVCR_E_MALFORMED,
 * err->path = full JSON path of the offending member (`path` + ".name"; `path` is the base path
 * of `v`, "" or NULL for the root), err->reason = one of the DTO_R_* words, err->message = prose
 * that never echoes input values. Slots may have been partly written on failure. Borrowed
 * pointers live as long as `v`. */
int dto_decode(const json_t *v, const dto_field *fields, size_t nfields, void *out,
               uint64_t *present, const char *path, svcr_err *err);

/* Checks that every element of the array `arr` is of type `elem` with the same per-type rules
 * as dto_decode (INT: integral and safe, no bounds; STRING: no U+0000; null only for DTO_ANY).
 * `path` is the array's own path; errors name the element ("items[3]"). Returns 0, or -1 with
 * `err` filled (DTO_R_WRONG_TYPE for a non-array `arr` or a wrong element, DTO_R_INVALID_VALUE
 * for U+0000). */
int dto_check_array(const json_t *arr, dto_type elem, const char *path, svcr_err *err);

/* Validates that `s` (NUL-terminated, may be NULL when the field was absent: then it is
 * accepted and *unix_sec is untouched) is an RFC 3339 UTC timestamp, storing its seconds in
 * *unix_sec (may be NULL). Errors name base + ".name" with DTO_R_INVALID_VALUE. Returns 0/-1. */
int dto_check_timestamp(const char *s, const char *base, const char *name, int64_t *unix_sec,
                        svcr_err *err);

/* Path builders: write base + ".name" (just `name` when base is "" or NULL) / base + "[index]"
 * into dst (capacity cap > 0). Always NUL-terminate; a result that does not fit is cut at a
 * UTF-8 character boundary (so it stays valid UTF-8 when the inputs are). dst must not
 * overlap base or name. */
void dto_path_member(char *dst, size_t cap, const char *base, const char *name);
void dto_path_index(char *dst, size_t cap, const char *base, size_t index);

/* The value of a JSON number that must be an integer within [min, max] (intersected with
 * ±(2^53-1)): 0 with *out set, or -1 when v is absent, not a number, not integral or out of
 * range (never converts an out-of-range double: that would be undefined behaviour). */
int dto_int_in(const json_t *v, int64_t min, int64_t max, int64_t *out);

/* Name of a dto_type for messages ("string", "integer", ...). Never NULL. */
const char *dto_type_name(dto_type t);

#endif
