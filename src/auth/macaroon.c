/* macaroon.c - capability token decoding and verification: the 401/403 decision of SPEC §7. */
#include "auth/macaroon.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <macaroons.h>
#include <sodium.h>

#include "crypto/codec.h"
#include "crypto/ed25519.h"
#include "interop/rfc3339.h"

#define AUTH_SIG_LEN 32

/* auth_token_decode_rc outcomes. */
enum { AUTH_DEC_OK = 0, AUTH_DEC_BAD = -1, AUTH_DEC_NOMEM = -2 };

static const char *const auth_scopes[] = {
    AUTH_SCOPE_PROPOSE,   AUTH_SCOPE_APPROVE, AUTH_SCOPE_COMMIT,
    AUTH_SCOPE_SUPERSEDE, AUTH_SCOPE_OPERATE,
};

int auth_scope_known(const char *s)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < sizeof auth_scopes / sizeof auth_scopes[0]; i++)
        if (strcmp(s, auth_scopes[i]) == 0)
            return 1;
    return 0;
}

/* ---- token text and v1 packets ----------------------------------------------------------- */

/* Copies text[0..len) to out as URL-safe base64 without padding: '+' '/' become '-' '_', up
 * to two trailing '=' are dropped (then the padded length must be a multiple of 4). A text
 * mixing both alphabets, or with any other character, is refused. out has room for len + 1.
 * Returns the canonical length, or -1. */
static long auth_b64_canonical(const char *text, size_t len, char *out)
{
    size_t pad = 0;
    while (pad < 2 && pad < len && text[len - 1 - pad] == '=')
        pad++;
    if (pad && len % 4 != 0)
        return -1;
    size_t n = len - pad;
    int url = 0, std = 0;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            out[i] = c;
        } else if (c == '-' || c == '_') {
            url = 1;
            out[i] = c;
        } else if (c == '+' || c == '/') {
            std = 1;
            out[i] = c == '+' ? '-' : '_';
        } else {
            return -1;
        }
    }
    if (url && std)
        return -1;
    out[n] = '\0';
    return (long)n;
}

/* One v1 packet: 4 hex digits giving the packet's whole length, then "key value\n". */
typedef struct auth_packet {
    const uint8_t *key, *val;
    size_t key_len, val_len;
} auth_packet;

/* Reads the packet at raw[*pos..n). Returns 0 and advances *pos, or -1. */
static int auth_read_packet(const uint8_t *raw, size_t n, size_t *pos, auth_packet *p)
{
    if (n - *pos < 4)
        return -1;
    size_t plen = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_digit_value(raw[*pos + (size_t)i]);
        if (h < 0)
            return -1;
        plen = plen << 4 | (size_t)h;
    }
    if (plen < 4 + 3 || plen > n - *pos) /* shortest body: "k \n" */
        return -1;
    const uint8_t *body = raw + *pos + 4;
    size_t blen = plen - 4;
    if (body[blen - 1] != '\n')
        return -1;
    const uint8_t *sp = memchr(body, ' ', blen - 1);
    if (!sp || sp == body)
        return -1;
    p->key = body;
    p->key_len = (size_t)(sp - body);
    p->val = sp + 1;
    p->val_len = blen - 1 - (p->key_len + 1);
    *pos += plen;
    return 0;
}

static int auth_packet_is(const auth_packet *p, const char *key)
{
    return p->key_len == strlen(key) && memcmp(p->key, key, p->key_len) == 0;
}

/* Reads the packets of t->raw into t's view. Returns AUTH_DEC_*. */
static int auth_parse_packets(auth_token *t)
{
    size_t pos = 0, cap = 0;
    auth_packet p;
    if (auth_read_packet(t->raw, t->raw_len, &pos, &p) != 0 || !auth_packet_is(&p, "location"))
        return AUTH_DEC_BAD;
    t->location = p.val;
    t->location_len = p.val_len;
    if (auth_read_packet(t->raw, t->raw_len, &pos, &p) != 0 || !auth_packet_is(&p, "identifier"))
        return AUTH_DEC_BAD;
    t->identifier = p.val;
    t->identifier_len = p.val_len;
    for (;;) {
        if (auth_read_packet(t->raw, t->raw_len, &pos, &p) != 0)
            return AUTH_DEC_BAD;
        auth_caveat_view *last = t->ncaveats ? &t->caveats[t->ncaveats - 1] : NULL;
        if (auth_packet_is(&p, "signature")) {
            if (p.val_len != AUTH_SIG_LEN || pos != t->raw_len)
                return AUTH_DEC_BAD;
            t->signature = p.val;
            return AUTH_DEC_OK;
        } else if (auth_packet_is(&p, "cid")) {
            if (t->ncaveats == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                auth_caveat_view *nc = realloc(t->caveats, ncap * sizeof *nc);
                if (!nc)
                    return AUTH_DEC_NOMEM;
                t->caveats = nc;
                cap = ncap;
            }
            t->caveats[t->ncaveats++] = (auth_caveat_view){.cid = p.val, .cid_len = p.val_len};
        } else if (auth_packet_is(&p, "vid")) {
            if (!last || last->vid || last->cl)
                return AUTH_DEC_BAD;
            last->vid = p.val;
            last->vid_len = p.val_len;
            t->nthird_party++;
        } else if (auth_packet_is(&p, "cl")) {
            if (!last || !last->vid || last->cl)
                return AUTH_DEC_BAD;
            last->cl = p.val;
            last->cl_len = p.val_len;
        } else {
            return AUTH_DEC_BAD;
        }
    }
}

void auth_token_free(auth_token *t)
{
    if (!t)
        return;
    free(t->canonical);
    free(t->raw);
    free(t->caveats);
    free(t);
}

static int auth_token_decode_rc(const char *text, size_t len, auth_token **out)
{
    if (!text || len == 0 || len > AUTH_TOKEN_MAX_LEN)
        return AUTH_DEC_BAD;
    auth_token *t = calloc(1, sizeof *t);
    if (!t || !(t->canonical = malloc(len + 1)) || !(t->raw = malloc(len / 4 * 3 + 3))) {
        auth_token_free(t);
        return AUTH_DEC_NOMEM;
    }
    long clen = auth_b64_canonical(text, len, t->canonical);
    int rc = AUTH_DEC_BAD;
    if (clen > 0 && b64_decode(t->canonical, (size_t)clen, t->raw, len / 4 * 3 + 3, &t->raw_len,
                               B64_URL_NOPAD) == 0)
        rc = auth_parse_packets(t);
    if (rc != AUTH_DEC_OK) {
        auth_token_free(t);
        return rc;
    }
    *out = t;
    return AUTH_DEC_OK;
}

int auth_token_decode(const char *text, size_t len, auth_token **out)
{
    if (crypto_init() != 0)
        return -1;
    return auth_token_decode_rc(text, len, out) == AUTH_DEC_OK ? 0 : -1;
}

/* ---- signature ----------------------------------------------------------------------------- */

/* What libmacaroons reports through the general verifier: every first-party predicate it
 * HMACs, in order. auth_walk_caveat compares them with our own reading of the packets, so the
 * caveats evaluated below are exactly the ones the signature covers. */
typedef struct auth_walk {
    const auth_token *t;
    size_t next; /* index into t->caveats */
    int mismatch;
} auth_walk;

/* Byte-string equality that never hands memcmp a NULL pointer (libmacaroons may return NULL for
 * an empty field). */
static int auth_bytes_eq(const void *a, size_t an, const void *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static size_t auth_next_first_party(const auth_token *t, size_t i)
{
    while (i < t->ncaveats && t->caveats[i].vid)
        i++;
    return i;
}

/* libmacaroons general-caveat callback: 0 means "satisfied". Accepts every predicate (the
 * caveats are judged after the signature is known to be good) and records disagreements. */
static int auth_walk_caveat(void *f, const unsigned char *pred, size_t pred_sz)
{
    auth_walk *w = f;
    w->next = auth_next_first_party(w->t, w->next);
    if (w->next >= w->t->ncaveats) {
        w->mismatch = 1;
        return 0;
    }
    const auth_caveat_view *c = &w->t->caveats[w->next++];
    if (!auth_bytes_eq(c->cid, c->cid_len, pred, pred_sz))
        w->mismatch = 1;
    return 0;
}

/* The parts of the token libmacaroons read must be the parts we read. */
static int auth_same_reading(const struct macaroon *m, const auth_token *t)
{
    const unsigned char *p;
    size_t n;
    macaroon_location(m, &p, &n);
    if (!auth_bytes_eq(p, n, t->location, t->location_len))
        return 0;
    macaroon_identifier(m, &p, &n);
    if (!auth_bytes_eq(p, n, t->identifier, t->identifier_len))
        return 0;
    macaroon_signature(m, &p, &n);
    if (!auth_bytes_eq(p, n, t->signature, AUTH_SIG_LEN))
        return 0;
    return macaroon_num_third_party_caveats(m) == t->nthird_party;
}

static void auth_hmac(const uint8_t key[AUTH_SIG_LEN], const void *msg, size_t len,
                      uint8_t out[AUTH_SIG_LEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, AUTH_SIG_LEN);
    crypto_auth_hmacsha256_update(&st, msg, len);
    crypto_auth_hmacsha256_final(&st, out);
    crypto_wipe(&st, sizeof st);
}

/* Recomputes the macaroon HMAC chain (the scheme libmacaroons implements: derived key =
 * HMAC("macaroons-key-generator", root key); sig = HMAC(key, identifier); per first-party
 * caveat sig = HMAC(sig, cid); per third-party caveat sig = HMAC(sig, HMAC(sig, vid) ||
 * HMAC(sig, cid))) and compares it with the token's signature in constant time. Used only for
 * tokens with third-party caveats, which libmacaroons cannot verify without discharges and
 * which are refused either way: this only decides 401 versus 403 for them. */
static int auth_chain_ok(const auth_token *t, const uint8_t *secret, size_t secret_len)
{
    uint8_t gen[AUTH_SIG_LEN] = "macaroons-key-generator"; /* zero-padded to 32 bytes */
    uint8_t key[AUTH_SIG_LEN], sig[AUTH_SIG_LEN], two[2 * AUTH_SIG_LEN];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, gen, sizeof gen);
    crypto_auth_hmacsha256_update(&st, secret, secret_len);
    crypto_auth_hmacsha256_final(&st, key);
    crypto_wipe(&st, sizeof st);
    auth_hmac(key, t->identifier, t->identifier_len, sig);
    for (size_t i = 0; i < t->ncaveats; i++) {
        const auth_caveat_view *c = &t->caveats[i];
        if (c->vid) {
            auth_hmac(sig, c->vid, c->vid_len, two);
            auth_hmac(sig, c->cid, c->cid_len, two + AUTH_SIG_LEN);
            auth_hmac(sig, two, sizeof two, sig);
        } else {
            auth_hmac(sig, c->cid, c->cid_len, sig);
        }
    }
    int ok = crypto_equal(sig, t->signature, AUTH_SIG_LEN);
    crypto_wipe(key, sizeof key);
    crypto_wipe(sig, sizeof sig);
    crypto_wipe(two, sizeof two);
    return ok;
}

/* Verifies the token's signature with root key `secret`. Returns SVCR_OK, or
 * SVCR_E_UNAUTHORIZED / SVCR_E_INTERNAL with err filled. */
static svcr_code auth_verify_signature(const auth_token *t, const uint8_t *secret,
                                       size_t secret_len, svcr_err *err)
{
    enum macaroon_returncode mrc = MACAROON_SUCCESS;
    struct macaroon *m = macaroon_deserialize(t->canonical, &mrc);
    if (!m) {
        if (mrc == MACAROON_OUT_OF_MEMORY)
            return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "auth_internal", "out of memory");
        return svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_UNPARSABLE,
                            "the capability token is not a macaroon");
    }
    svcr_code c = SVCR_OK;
    if (!auth_same_reading(m, t)) {
        c = svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_UNPARSABLE,
                         "the capability token is ambiguous");
    } else if (t->nthird_party > 0) {
        if (!auth_chain_ok(t, secret, secret_len))
            c = svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_BAD_SIGNATURE,
                             "the capability token's signature does not verify");
    } else {
        auth_walk w = {.t = t, .next = 0, .mismatch = 0};
        struct macaroon_verifier *v = macaroon_verifier_create();
        int vrc = -1;
        if (v && macaroon_verifier_satisfy_general(v, auth_walk_caveat, &w, &mrc) == 0)
            vrc = macaroon_verify(v, m, secret, secret_len, NULL, 0, &mrc);
        else
            mrc = MACAROON_OUT_OF_MEMORY;
        macaroon_verifier_destroy(v);
        if (vrc != 0 && mrc == MACAROON_OUT_OF_MEMORY)
            c = svcr_err_set(err, SVCR_E_INTERNAL, NULL, "auth_internal", "out of memory");
        else if (vrc != 0)
            c = svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_BAD_SIGNATURE,
                             "the capability token's signature does not verify");
        else if (w.mismatch || auth_next_first_party(t, w.next) != t->ncaveats)
            c = svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_UNPARSABLE,
                             "the capability token is ambiguous");
    }
    macaroon_destroy(m);
    return c;
}

/* ---- caveats ------------------------------------------------------------------------------- */

/* If caveat c is "<name> = <value>", points *val at the value and returns 1. */
static int auth_caveat_named(const auth_caveat_view *c, const char *name, const uint8_t **val,
                             size_t *val_len)
{
    size_t n = strlen(name);
    if (c->vid || c->cid_len < n + 3 || memcmp(c->cid, name, n) != 0 ||
        memcmp(c->cid + n, " = ", 3) != 0)
        return 0;
    *val = c->cid + n + 3;
    *val_len = c->cid_len - n - 3;
    return 1;
}

/* Evaluates every `expires` caveat (all must hold). Returns SVCR_OK with *earliest set, or
 * SVCR_E_UNAUTHORIZED with err. */
static svcr_code auth_check_expires(const auth_token *t, int64_t now_s, int64_t *earliest,
                                    svcr_err *err)
{
    int count = 0, invalid = 0, expired = 0, too_far = 0;
    int64_t limit = now_s > INT64_MAX - AUTH_MAX_TTL_S ? INT64_MAX : now_s + AUTH_MAX_TTL_S;
    for (size_t i = 0; i < t->ncaveats; i++) {
        const uint8_t *v;
        size_t vn;
        int64_t sec;
        int32_t nsec;
        if (!auth_caveat_named(&t->caveats[i], "expires", &v, &vn))
            continue;
        count++;
        if (rfc3339_parse((const char *)v, vn, &sec, &nsec) != 0) {
            invalid = 1;
            continue;
        }
        /* now < value, with now exactly now_s.000 */
        if (!(now_s < sec || (now_s == sec && nsec > 0)))
            expired = 1;
        /* value <= now + 30 days */
        if (!(sec < limit || (sec == limit && nsec == 0)))
            too_far = 1;
        if (count == 1 || sec < *earliest)
            *earliest = sec;
    }
    if (count == 0)
        return svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_EXPIRES_MISSING,
                            "the capability token has no expires caveat");
    if (invalid)
        return svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_EXPIRES_INVALID,
                            "an expires caveat is not an RFC 3339 UTC timestamp");
    if (expired)
        return svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_EXPIRED,
                            "the capability token has expired");
    if (too_far)
        return svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_EXPIRES_TOO_FAR,
                            "the capability token expires more than 30 days from now");
    return SVCR_OK;
}

/* 1 if the space-separated list v[0..n) contains scope. */
static int auth_list_has(const uint8_t *v, size_t n, const char *scope)
{
    size_t sl = strlen(scope), i = 0;
    while (i < n) {
        while (i < n && v[i] == ' ')
            i++;
        size_t j = i;
        while (j < n && v[j] != ' ')
            j++;
        if (j > i && j - i == sl && memcmp(v + i, scope, sl) == 0)
            return 1;
        i = j;
    }
    return 0;
}

/* Copies a signer/proposal value into dst[0..cap) if it is 1..cap-1 bytes without NUL, and
 * checks it against an earlier value. Returns 0 ok, 1 invalid, 2 conflicting. */
static int auth_bind_value(const uint8_t *v, size_t n, char *dst, size_t cap)
{
    if (n == 0 || n >= cap || memchr(v, '\0', n))
        return 1;
    if (dst[0])
        return strlen(dst) == n && memcmp(dst, v, n) == 0 ? 0 : 2;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return 0;
}

/* Evaluates every caveat but `expires` for the route. Returns SVCR_OK with grant->signer and
 * grant->proposal set, or SVCR_E_FORBIDDEN with err (first failing rule in the order of the
 * AUTH_R_* 403 words in macaroon.h). */
static svcr_code auth_check_caveats(const auth_token *t, const char *scope, int route_is_approve,
                                    auth_grant *g, svcr_err *err)
{
    int unknown = t->nthird_party > 0, nscope = 0, scope_fail = 0, signer_route = 0;
    int signer_bad = 0, proposal_bad = 0; /* 0 ok, 1 invalid, 2 conflict (worst kept) */
    for (size_t i = 0; i < t->ncaveats; i++) {
        const auth_caveat_view *c = &t->caveats[i];
        const uint8_t *v;
        size_t vn;
        int r;
        if (c->vid) {
            continue; /* counted in nthird_party */
        } else if (auth_caveat_named(c, "expires", &v, &vn)) {
            continue; /* judged by auth_check_expires */
        } else if (auth_caveat_named(c, "scope", &v, &vn)) {
            nscope++;
            if (!auth_list_has(v, vn, scope))
                scope_fail = 1;
        } else if (auth_caveat_named(c, "signer", &v, &vn)) {
            if (!route_is_approve)
                signer_route = 1;
            r = auth_bind_value(v, vn, g->signer, sizeof g->signer);
            if (r == 1 || (r == 2 && signer_bad != 1))
                signer_bad = r;
        } else if (auth_caveat_named(c, "proposal", &v, &vn)) {
            r = auth_bind_value(v, vn, g->proposal, sizeof g->proposal);
            if (r == 1 || (r == 2 && proposal_bad != 1))
                proposal_bad = r;
        } else {
            unknown = 1;
        }
    }
    svcr_code code = SVCR_OK;
    if (unknown)
        code = svcr_err_set(err, SVCR_E_FORBIDDEN, NULL, AUTH_R_UNKNOWN_CAVEAT,
                            t->nthird_party ? "the capability has a third-party caveat"
                                            : "the capability has a caveat this service "
                                              "does not know");
    else if (nscope == 0 || scope_fail)
        code = svcr_err_set(err, SVCR_E_FORBIDDEN, NULL, AUTH_R_SCOPE,
                            "the capability does not grant scope %s", scope);
    else if (signer_route)
        code = svcr_err_set(err, SVCR_E_FORBIDDEN, NULL, AUTH_R_SIGNER_ROUTE,
                            "a signer-bound capability is only valid for approvals");
    else if (signer_bad == 1)
        code = svcr_err_set(err, SVCR_E_FORBIDDEN, NULL, AUTH_R_SIGNER_INVALID,
                            "the capability's signer caveat can match no signer");
    else if (signer_bad == 2)
        code = svcr_err_set(err, SVCR_E_FORBIDDEN, NULL, AUTH_R_SIGNER_CONFLICT,
                            "the capability is bound to two different signers");
    else if (proposal_bad == 1)
        code = svcr_err_set(err, SVCR_E_FORBIDDEN, NULL, AUTH_R_PROPOSAL_INVALID,
                            "the capability's proposal caveat can match no proposal");
    else if (proposal_bad == 2)
        code = svcr_err_set(err, SVCR_E_FORBIDDEN, NULL, AUTH_R_PROPOSAL_CONFLICT,
                            "the capability is bound to two different proposals");
    if (code != SVCR_OK) {
        g->signer[0] = '\0';
        g->proposal[0] = '\0';
    }
    return code;
}

/* ---- the check ------------------------------------------------------------------------------ */

/* Finds the token in an Authorization value. Returns 1 with *tok and *len, or 0 when the value is
 * absent or not a Bearer credential. The token may still be empty or malformed. */
static int auth_bearer(const char *h, const char **tok, size_t *len)
{
    if (!h || strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
        return 0;
    const char *s = h + 6;
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *tok = s;
    *len = n;
    return 1;
}

svcr_code auth_check(const auth_keys *k, const char *authorization, const char *scope,
                     int route_is_approve, int64_t now_s, auth_grant *grant, svcr_err *err)
{
    const char *text;
    size_t len;
    auth_token *t = NULL;
    const uint8_t *secret = NULL;
    size_t secret_len = 0;
    auth_grant g;
    memset(&g, 0, sizeof g);
    memset(grant, 0, sizeof *grant);
    if (!scope)
        scope = "";
    if (crypto_init() != 0)
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "auth_internal", "libsodium failed");
    if (!auth_bearer(authorization, &text, &len))
        return svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_MISSING,
                            "a Bearer capability token is required");
    int drc = auth_token_decode_rc(text, len, &t);
    if (drc == AUTH_DEC_NOMEM)
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "auth_internal", "out of memory");
    if (drc != AUTH_DEC_OK)
        return svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_UNPARSABLE,
                            "the capability token is not a v1 macaroon");
    svcr_code c = SVCR_OK;
    if (!auth_keys_find(k, t->identifier, t->identifier_len, &secret, &secret_len))
        c = svcr_err_set(err, SVCR_E_UNAUTHORIZED, NULL, AUTH_R_UNKNOWN_KEY,
                         "the capability token names no configured root key");
    if (c == SVCR_OK)
        c = auth_verify_signature(t, secret, secret_len, err);
    if (c == SVCR_OK)
        c = auth_check_expires(t, now_s, &g.expires_s, err);
    if (c == SVCR_OK) {
        /* Genuine and unexpired: from here on refusals are 403 and the grant names the key. */
        memcpy(g.key_id, t->identifier, t->identifier_len); /* found, so <= AUTH_KEY_ID_MAX */
        g.key_id[t->identifier_len] = '\0';
        c = auth_check_caveats(t, scope, route_is_approve, &g, err);
        *grant = g;
    }
    auth_token_free(t);
    return c;
}
