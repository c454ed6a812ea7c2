/* descriptor_set.h - the payload of SPEC §2.1/§2.2: a full descriptor set that signers approve,
 * validated (fields, kinds, uniqueness, referential integrity) and hashed. */
#ifndef SVCR_GOVERNANCE_DESCRIPTOR_SET_H
#define SVCR_GOVERNANCE_DESCRIPTOR_SET_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto/b3.h"
#include "governance/signer_set.h"
#include "interop/error.h"

#define ITEM_ID_MAX 256
#define ENDPOINT_MAX 2048
#define SUPERSEDE_NOTE_MAX 1024

typedef struct descriptor_set {
    json_t *json; /* the payload object (one reference owned) */
    uint64_t version;
    char prev_hash[B3_TAG_LEN + 1];
    char supersede_of[B3_TAG_LEN + 1]; /* "" when absent */
    char supersede_reason[24];         /* "" when absent */
    signer_set *signers;               /* the set this payload declares (one reference owned) */
    size_t n_items;
    char *canonical; /* RFC 8785 bytes of the payload (owned, NUL-terminated) */
    size_t canonical_len;
    char b3[B3_TAG_LEN + 1]; /* payload_b3 */
} descriptor_set;

/* Validates `payload` (borrowed; the result takes its own reference) and computes its canonical
 * bytes and payload_b3. `path` is the payload's JSON path for errors ("payload"). Rules: only
 * the fields of §2.1; version 1..2^53-1; prev_hash a b3 tag; created_at/expiry RFC 3339 UTC with
 * expiry after created_at; supersede_of requires supersede_reason and the reverse; reason one of
 * KeyCompromise|DataError|GovernanceAction|Other, `Other` requiring supersede_note (<= 1 KiB);
 * items: known kinds only, each with only its fields, id 1..256 bytes, (kind, id) unique,
 * exactly one signer_set item (id "governance"), regions and placement services referenced
 * must exist. Returns SVCR_OK with *out, or SVCR_E_MALFORMED with err naming the field. */
svcr_code descriptor_set_decode(json_t *payload, const char *path, descriptor_set **out,
                                svcr_err *err);
/* Parses canonical (or any) payload bytes and decodes them as above. */
svcr_code descriptor_set_parse(const void *bytes, size_t len, const char *path,
                               descriptor_set **out, svcr_err *err);
/* The printable-text rule of SPEC §2.2 (v1.2) over a decoded payload: item ids and regions,
 * signer_ids and orgs of the signer set, supersede_note. Applied to new input only (proposals):
 * history committed before v1.2 still decodes and verifies. SVCR_OK, or
 * SVCR_E_MALFORMED with err naming the field, reason "not_printable". */
svcr_code descriptor_set_check_text(const descriptor_set *d, const char *path, svcr_err *err);
/* Releases the payload's parsed tree (json becomes NULL); canonical bytes, hash, version and the
 * declared signer set stay. A tree costs ~20 times its bytes: pending proposals keep none. */
void descriptor_set_drop_tree(descriptor_set *d);
void descriptor_set_free(descriptor_set *d);

#endif
