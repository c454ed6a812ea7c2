/* macaroon.h - capability tokens (libmacaroons v1): root keys, verification, minting (SPEC §7). */
#ifndef SVCR_AUTH_MACAROON_H
#define SVCR_AUTH_MACAROON_H

#include <stddef.h>
#include <stdint.h>

#include "interop/error.h"

/* Location every token is minted with. It is an unsigned hint in the v1 format, so verification
 * does not look at it. */
#define AUTH_LOCATION "svc-registry"
/* An `expires` caveat may lie at most this far ahead of now (30 days). */
#define AUTH_MAX_TTL_S INT64_C(2592000)
/* Longest token text (the part after "Bearer ") auth_check looks at; longer is "unparsable". */
#define AUTH_TOKEN_MAX_LEN 8192
/* Root-key bounds: decoded secret length and key id length in bytes. */
#define AUTH_SECRET_MIN_LEN 32
#define AUTH_SECRET_MAX_LEN 1024
#define AUTH_KEY_ID_MAX 63
/* Longest `signer` / `proposal` caveat value a grant can carry (SPEC §2.2: ids <= 256 bytes). */
#define AUTH_SIGNER_MAX 256
#define AUTH_PROPOSAL_MAX 63
/* Largest root-keys file auth_keys_load reads. */
#define AUTH_KEYS_FILE_MAX (1024 * 1024)

/* The route scopes (SPEC §5). */
#define AUTH_SCOPE_PROPOSE "registry:propose"
#define AUTH_SCOPE_APPROVE "registry:approve"
#define AUTH_SCOPE_COMMIT "registry:commit"
#define AUTH_SCOPE_SUPERSEDE "registry:supersede"
#define AUTH_SCOPE_OPERATE "registry:operate"

/* err->reason words of auth_check. 401 (SVCR_E_UNAUTHORIZED):
 *   missing          no header, or a scheme other than Bearer
 *   unparsable       not a well-formed v1 macaroon (or over AUTH_TOKEN_MAX_LEN)
 *   unknown_key      the identifier names no root key
 *   bad_signature    the HMAC chain does not verify
 *   expires_missing  no `expires = ...` caveat
 *   expires_invalid  an `expires` value is not an RFC 3339 UTC timestamp
 *   expired          an `expires` value is <= now
 *   expires_too_far  an `expires` value is > now + 30 days
 * 403 (SVCR_E_FORBIDDEN), reported in this order of precedence:
 *   unknown_caveat     any other first-party caveat, or any third-party caveat
 *   scope              the route's scope is missing from a scope caveat, or there is none
 *   signer_route       a `signer` caveat on a route other than approvals
 *   signer_invalid     a `signer` value that is empty, too long or contains NUL
 *   signer_conflict    two different `signer` values
 *   proposal_invalid   a `proposal` value that is empty, too long or contains NUL
 *   proposal_conflict  two different `proposal` values */
#define AUTH_R_MISSING "missing"
#define AUTH_R_UNPARSABLE "unparsable"
#define AUTH_R_UNKNOWN_KEY "unknown_key"
#define AUTH_R_BAD_SIGNATURE "bad_signature"
#define AUTH_R_EXPIRES_MISSING "expires_missing"
#define AUTH_R_EXPIRES_INVALID "expires_invalid"
#define AUTH_R_EXPIRED "expired"
#define AUTH_R_EXPIRES_TOO_FAR "expires_too_far"
#define AUTH_R_UNKNOWN_CAVEAT "unknown_caveat"
#define AUTH_R_SCOPE "scope"
#define AUTH_R_SIGNER_ROUTE "signer_route"
#define AUTH_R_SIGNER_INVALID "signer_invalid"
#define AUTH_R_SIGNER_CONFLICT "signer_conflict"
#define AUTH_R_PROPOSAL_INVALID "proposal_invalid"
#define AUTH_R_PROPOSAL_CONFLICT "proposal_conflict"

/* ---- root keys (root_keys.c) ------------------------------------------------------------- */

/* An immutable set of root keys. Safe to share between threads once loaded. */
typedef struct auth_keys auth_keys;

/* Loads the root-keys file `path`: JSON {"keys":[{"id":"k1","secret":"<standard base64>"}]}.
 * Refuses (returns -1 with a NUL-terminated message in err[0..errcap), which may be NULL/0):
 * a file that is not a regular file, is larger than AUTH_KEYS_FILE_MAX, or grants any
 * permission to group or other (mode & 077: "chmod 600" it), and everything auth_keys_parse
 * refuses. The file's bytes are wiped from memory after parsing. Returns 0 and *out (owned by
 * the caller, free with auth_keys_free). Messages name the path and JSON path, never a secret. */
int auth_keys_load(const char *path, auth_keys **out, char *err, size_t errcap);
/* Parses the JSON text json[0..len) as above. Refuses: invalid JSON, duplicate JSON members,
 * unknown members (top level or per key), an empty `keys` array, an `id` that is not 1..63
 * bytes of printable ASCII without spaces, a `secret` that is not strict standard padded base64,
 * or that decodes to fewer than AUTH_SECRET_MIN_LEN or more than AUTH_SECRET_MAX_LEN bytes, and
 * the same id twice. Returns 0 and *out, or -1 with err as for auth_keys_load. */
int auth_keys_parse(const char *json, size_t len, auth_keys **out, char *err, size_t errcap);
/* Wipes every secret and frees `k` (NULL is fine). */
void auth_keys_free(auth_keys *k);
/* Number of keys (>= 1 for a loaded set; 0 for NULL). */
size_t auth_keys_count(const auth_keys *k);
/* Id of key i (file order), borrowed from k; NULL when i is out of range. */
const char *auth_keys_id(const auth_keys *k, size_t i);
/* Finds the key whose id is exactly id[0..id_len). Returns 1 and sets *secret and *secret_len
 * (borrowed from k, never to be logged) or 0 when there is none. */
int auth_keys_find(const auth_keys *k, const void *id, size_t id_len, const uint8_t **secret,
                   size_t *secret_len);

/* ---- verification (macaroon.c) ----------------------------------------------------------- */

typedef struct auth_grant {
    char signer[AUTH_SIGNER_MAX + 1];     /* "" when the token has no signer caveat */
    char proposal[AUTH_PROPOSAL_MAX + 1]; /* "" when no proposal caveat */
    char key_id[AUTH_KEY_ID_MAX + 1];
    int64_t expires_s; /* the earliest `expires` caveat, unix seconds (fraction dropped) */
} auth_grant;

/* Checks the Authorization header value `authorization` (NULL when absent) for the route scope
 * `scope` (one of AUTH_SCOPE_*) at unix time now_s. `route_is_approve` is non-zero only on
 * POST /registry/approvals/{id}.
 *
 * Order: header ("Bearer" scheme, case-insensitive, then one or more spaces and the token;
 * trailing spaces/tabs ignored) -> token text (URL-safe or standard base64, padding optional;
 * one alphabet only) -> v1 structure -> key id -> signature -> `expires` caveats (all 401) ->
 * every other caveat (403). So a token is 403 only once it is proven genuine and unexpired.
 *
 * Returns SVCR_OK with *grant filled. The caller must enforce a non-empty grant->signer (equal
 * to the approval's signer_id) and grant->proposal (equal to the proposal the request acts on;
 * on a route that acts on no proposal, a non-empty proposal is a 403).
 * Returns SVCR_E_UNAUTHORIZED or SVCR_E_FORBIDDEN with err (may be NULL) carrying one of the
 * AUTH_R_* reason words and a message; SVCR_E_INTERNAL (err reason "auth_internal") only when
 * memory runs out. On 401 *grant is all zero; on 403 grant->key_id and grant->expires_s are
 * filled (the caller is authenticated, for the audit trail) and signer/proposal are "".
 * err never holds the token, the signature or a key. Thread-safe: nothing libmacaroons
 * allocates is shared between calls; `k` is only read. */
svcr_code auth_check(const auth_keys *k, const char *authorization, const char *scope,
                     int route_is_approve, int64_t now_s, auth_grant *grant, svcr_err *err);

/* 1 if s is one of the five AUTH_SCOPE_* strings, else 0. */
int auth_scope_known(const char *s);

/* A decoded v1 token: structural view over its bytes (no verification done). */
typedef struct auth_caveat_view {
    const uint8_t *cid; /* predicate (first-party) or third-party caveat identifier */
    size_t cid_len;
    const uint8_t *vid; /* NULL for a first-party caveat */
    size_t vid_len;
    const uint8_t *cl; /* third-party location or NULL */
    size_t cl_len;
} auth_caveat_view;

typedef struct auth_token {
    char *canonical; /* the token as URL-safe base64 without padding (libmacaroons' own form) */
    uint8_t *raw;    /* decoded bytes; every pointer below points into it */
    size_t raw_len;
    const uint8_t *location;
    size_t location_len;
    const uint8_t *identifier;
    size_t identifier_len;
    auth_caveat_view *caveats; /* in token order */
    size_t ncaveats;
    size_t nthird_party;
    const uint8_t *signature; /* 32 bytes */
} auth_token;

/* Decodes the token text text[0..len) (URL-safe or standard base64, padding optional, not both
 * alphabets) and reads its v1 packets strictly: location, identifier, caveats (cid, then vid and
 * cl for a third-party caveat), a 32-byte signature, nothing after it. Returns 0 and *out (free
 * with auth_token_free) or -1 when the text is longer than AUTH_TOKEN_MAX_LEN, not base64, not
 * a v1 macaroon, or memory runs out. */
int auth_token_decode(const char *text, size_t len, auth_token **out);
void auth_token_free(auth_token *t);

/* ---- minting, attenuation, inspection (mint.c) ------------------------------------------- */

/* Mints a token signed with root key `key_id` of k, with caveats in this order:
 * "scope = s1 s2 ..." (nscopes >= 1, each auth_scope_known), "expires = <RFC 3339>" (expires_s
 * formatted to the second; must be within rfc3339_format's range; not compared with now),
 * "signer = <signer>" and "proposal = <proposal>" when not NULL (1..AUTH_SIGNER_MAX /
 * AUTH_PROPOSAL_MAX bytes, no control characters). Output: libmacaroons v1 serialization,
 * URL-safe base64 without padding, NUL-terminated, owned by the caller (free()). Returns 0, or
 * -1 (unknown key id, a bad argument, out of memory) with *token_out untouched. */
int auth_mint(const auth_keys *k, const char *key_id, const char *const *scopes, size_t nscopes,
              int64_t expires_s, const char *signer, const char *proposal, char **token_out);
/* Appends caveats to an existing token (either base64 form) without any key: a scope caveat
 * when nscopes > 0, an expires caveat when expires_s != 0, signer/proposal when not NULL, with
 * the same checks and order as auth_mint. Adding nothing re-serializes the token in the
 * canonical form. Returns 0 and *token_out (caller frees) or -1. */
int auth_attenuate(const char *token, const char *const *scopes, size_t nscopes, int64_t expires_s,
                   const char *signer, const char *proposal, char **token_out);
/* Describes a token (not verified) as compact JSON, members in this order:
 *   {"key_id":"…","location":"…","caveats":["scope = …",…],
 *    "third_party_caveats":[{"location":"…","identifier":"…"}]}
 * with first-party predicates in token order and bytes that are not valid UTF-8 shown as '?'.
 * Never the signature or any key. Returns 0 and *json_out (caller
 * frees) or -1 for an unparsable token. */
int auth_inspect(const char *token, char **json_out);

#endif
