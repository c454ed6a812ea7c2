/* mint.c - minting, attenuating and inspecting capability tokens (svcr cap, tests). */
#include "auth/macaroon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <macaroons.h>

#include "crypto/ed25519.h"
#include "interop/rfc3339.h"

/* Room for one caveat predicate ("scope = " and the scope list is the longest). */
#define AUTH_PRED_MAX 512

/* 1 if s is 1..max bytes without control characters (so the caveat stays one clean line). */
static int auth_value_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return 0;
    return 1;
}

/* Checks the caveat arguments shared by auth_mint and auth_attenuate. */
static int auth_caveat_args_ok(const char *const *scopes, size_t nscopes, int64_t expires_s,
                               const char *signer, const char *proposal)
{
    char ts[32];
    for (size_t i = 0; i < nscopes; i++)
        if (!scopes || !auth_scope_known(scopes[i]))
            return 0;
    if (expires_s != 0 && rfc3339_format(expires_s, ts) < 0)
        return 0;
    if (signer && !auth_value_ok(signer, AUTH_SIGNER_MAX))
        return 0;
    if (proposal && !auth_value_ok(proposal, AUTH_PROPOSAL_MAX))
        return 0;
    return 1;
}

/* Replaces *m by *m plus the first-party caveat pred. Returns 0, or -1 (then *m is NULL and
 * the old macaroon destroyed). */
static int auth_add(struct macaroon **m, const char *pred)
{
    enum macaroon_returncode e = MACAROON_SUCCESS;
    struct macaroon *n =
        macaroon_add_first_party_caveat(*m, (const unsigned char *)pred, strlen(pred), &e);
    macaroon_destroy(*m);
    *m = n;
    return n ? 0 : -1;
}

/* Adds the caveats in the documented order; arguments already checked. Returns 0 or -1 (then
 * *m is NULL). */
static int auth_add_caveats(struct macaroon **m, const char *const *scopes, size_t nscopes,
                            int64_t expires_s, const char *signer, const char *proposal)
{
    char pred[AUTH_PRED_MAX];
    if (nscopes > 0) {
        size_t len = (size_t)snprintf(pred, sizeof pred, "scope =");
        for (size_t i = 0; i < nscopes; i++) {
            size_t sl = strlen(scopes[i]);
            if (len + 1 + sl >= sizeof pred) {
                macaroon_destroy(*m);
                *m = NULL;
                return -1;
            }
            pred[len++] = ' ';
            memcpy(pred + len, scopes[i], sl + 1);
            len += sl;
        }
        if (auth_add(m, pred) != 0)
            return -1;
    }
    if (expires_s != 0) {
        char ts[32];
        rfc3339_format(expires_s, ts);
        snprintf(pred, sizeof pred, "expires = %s", ts);
        if (auth_add(m, pred) != 0)
            return -1;
    }
    if (signer) {
        snprintf(pred, sizeof pred, "signer = %s", signer);
        if (auth_add(m, pred) != 0)
            return -1;
    }
    if (proposal) {
        snprintf(pred, sizeof pred, "proposal = %s", proposal);
        if (auth_add(m, pred) != 0)
            return -1;
    }
    return 0;
}

/* Serializes m (libmacaroons v1: URL-safe base64, no padding) into a fresh string. */
static int auth_serialize(const struct macaroon *m, char **out)
{
    enum macaroon_returncode e = MACAROON_SUCCESS;
    size_t cap = macaroon_serialize_size_hint(m) + 1;
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    if (macaroon_serialize(m, buf, cap, &e) != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

int auth_mint(const auth_keys *k, const char *key_id, const char *const *scopes, size_t nscopes,
              int64_t expires_s, const char *signer, const char *proposal, char **token_out)
{
    const uint8_t *secret;
    size_t secret_len;
    enum macaroon_returncode e = MACAROON_SUCCESS;
    if (crypto_init() != 0 || !key_id || !token_out || nscopes == 0 || expires_s == 0 ||
        !auth_caveat_args_ok(scopes, nscopes, expires_s, signer, proposal) ||
        !auth_keys_find(k, key_id, strlen(key_id), &secret, &secret_len))
        return -1;
    struct macaroon *m =
        macaroon_create((const unsigned char *)AUTH_LOCATION, strlen(AUTH_LOCATION), secret,
                        secret_len, (const unsigned char *)key_id, strlen(key_id), &e);
    if (!m || auth_add_caveats(&m, scopes, nscopes, expires_s, signer, proposal) != 0)
        return -1;
    int rc = auth_serialize(m, token_out);
    macaroon_destroy(m);
    return rc;
}

int auth_attenuate(const char *token, const char *const *scopes, size_t nscopes, int64_t expires_s,
                   const char *signer, const char *proposal, char **token_out)
{
    auth_token *t = NULL;
    enum macaroon_returncode e = MACAROON_SUCCESS;
    if (!token || !token_out || !auth_caveat_args_ok(scopes, nscopes, expires_s, signer, proposal))
        return -1;
    if (auth_token_decode(token, strlen(token), &t) != 0)
        return -1;
    struct macaroon *m = macaroon_deserialize(t->canonical, &e);
    auth_token_free(t);
    if (!m || auth_add_caveats(&m, scopes, nscopes, expires_s, signer, proposal) != 0)
        return -1;
    int rc = auth_serialize(m, token_out);
    macaroon_destroy(m);
    return rc;
}

/* A JSON string of p[0..n): as is when it is valid UTF-8, else with every non-ASCII byte
 * shown as '?'. NULL only when memory runs out. */
static json_t *auth_json_bytes(const uint8_t *p, size_t n)
{
    json_t *s = json_stringn((const char *)p, n);
    if (s)
        return s;
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    for (size_t i = 0; i < n; i++)
        copy[i] = p[i] < 0x80 ? (char)p[i] : '?';
    s = json_stringn(copy, n);
    free(copy);
    return s;
}

/* Appends v to arr / sets obj[key] = v, stealing v (NULL v: -1). Returns 0 or -1. */
static int auth_json_push(json_t *arr, json_t *v)
{
    return v && json_array_append_new(arr, v) == 0 ? 0 : -1;
}

static int auth_json_set(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0 ? 0 : -1;
}

int auth_inspect(const char *token, char **json_out)
{
    auth_token *t = NULL;
    if (!token || !json_out || auth_token_decode(token, strlen(token), &t) != 0)
        return -1;
    json_t *o = json_object(), *fp = json_array(), *tp = json_array();
    int bad = !o || !fp || !tp;
    bad = bad || auth_json_set(o, "key_id", auth_json_bytes(t->identifier, t->identifier_len));
    bad = bad || auth_json_set(o, "location", auth_json_bytes(t->location, t->location_len));
    for (size_t i = 0; !bad && i < t->ncaveats; i++) {
        const auth_caveat_view *c = &t->caveats[i];
        if (!c->vid) {
            bad = auth_json_push(fp, auth_json_bytes(c->cid, c->cid_len));
            continue;
        }
        json_t *x = json_object();
        const uint8_t *cl = c->cl ? c->cl : (const uint8_t *)"";
        bad = !x || auth_json_set(x, "location", auth_json_bytes(cl, c->cl ? c->cl_len : 0)) ||
              auth_json_set(x, "identifier", auth_json_bytes(c->cid, c->cid_len));
        if (bad)
            json_decref(x);
        else
            bad = auth_json_push(tp, x);
    }
    auth_token_free(t);
    bad = bad || auth_json_set(o, "caveats", json_incref(fp));
    bad = bad || auth_json_set(o, "third_party_caveats", json_incref(tp));
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT);
    json_decref(fp);
    json_decref(tp);
    json_decref(o);
    if (!s)
        return -1;
    *json_out = s;
    return 0;
}
