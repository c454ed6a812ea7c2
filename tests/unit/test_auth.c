/* test_auth.c - unit tests for capability tokens: root keys, the 401/403 matrix, minting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <macaroons.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/macaroon.h"
#include "crypto/codec.h"
#include "helpers/testutil.h"
#include "interop/error.h"
#include "interop/rfc3339.h"

#define NOW INT64_C(1795608000) /* 2026-11-25T12:00:00Z */
#define DAY INT64_C(86400)

static uint8_t secret_k1[32], secret_k2[48], secret_other[32];
static char b64_k1[128], b64_k2[128], b64_other[128];

/* Fills the three secrets with fixed bytes and their standard base64. */
static void init_secrets(void)
{
    for (size_t i = 0; i < sizeof secret_k1; i++)
        secret_k1[i] = (uint8_t)(i + 1);
    for (size_t i = 0; i < sizeof secret_k2; i++)
        secret_k2[i] = (uint8_t)(0xa0 ^ (i * 7));
    for (size_t i = 0; i < sizeof secret_other; i++)
        secret_other[i] = (uint8_t)(0x55 + i * 3);
    assert_true(b64_encode(secret_k1, sizeof secret_k1, b64_k1, sizeof b64_k1, B64_STD) > 0);
    assert_true(b64_encode(secret_k2, sizeof secret_k2, b64_k2, sizeof b64_k2, B64_STD) > 0);
    assert_true(
        b64_encode(secret_other, sizeof secret_other, b64_other, sizeof b64_other, B64_STD) > 0);
}

static auth_keys *parse_keys(const char *json)
{
    auth_keys *k = NULL;
    char err[256] = "";
    if (auth_keys_parse(json, strlen(json), &k, err, sizeof err) != 0)
        fail_msg("keys did not parse: %s", err);
    return k;
}

/* {k1, k2}: the service's keys. */
static auth_keys *service_keys(void)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"keys\":[{\"id\":\"k1\",\"secret\":\"%s\"},{\"id\":\"k2\",\"secret\":\"%s\"}]}",
             b64_k1, b64_k2);
    return parse_keys(json);
}

/* {k1 with another secret, k9}: an attacker's or another deployment's keys. */
static auth_keys *foreign_keys(void)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"keys\":[{\"id\":\"k1\",\"secret\":\"%s\"},{\"id\":\"k9\",\"secret\":\"%s\"}]}",
             b64_other, b64_other);
    return parse_keys(json);
}

static int setup(void **state)
{
    init_secrets();
    *state = service_keys();
    return 0;
}

static int teardown(void **state)
{
    auth_keys_free(*state);
    return 0;
}

/* Mints with auth_mint; scopes is a NULL-terminated list. Fails the test on error. */
static char *mint_v(const auth_keys *k, const char *kid, const char *const *scopes, int64_t expires,
                    const char *signer, const char *proposal)
{
    size_t n = 0;
    while (scopes[n])
        n++;
    char *tok = NULL;
    if (auth_mint(k, kid, scopes, n, expires, signer, proposal, &tok) != 0)
        fail_msg("auth_mint failed");
    return tok;
}

static const char *const S_PROPOSE[] = {AUTH_SCOPE_PROPOSE, NULL};
static const char *const S_APPROVE[] = {AUTH_SCOPE_APPROVE, NULL};
static const char *const S_PROP_APPR[] = {AUTH_SCOPE_PROPOSE, AUTH_SCOPE_APPROVE, NULL};
static const char *const S_ALL[] = {AUTH_SCOPE_PROPOSE,   AUTH_SCOPE_APPROVE, AUTH_SCOPE_COMMIT,
                                    AUTH_SCOPE_SUPERSEDE, AUTH_SCOPE_OPERATE, NULL};

/* A token made by libmacaroons alone at `location`, with raw first-party predicates
 * (NULL-terminated). */
static char *raw_mint_at(const char *location, const uint8_t *secret, size_t secret_len,
                         const char *id, const char *const *preds)
{
    enum macaroon_returncode e;
    struct macaroon *m = macaroon_create((const unsigned char *)location, strlen(location), secret,
                                         secret_len, (const unsigned char *)id, strlen(id), &e);
    assert_non_null(m);
    for (size_t i = 0; preds && preds[i]; i++) {
        struct macaroon *n = macaroon_add_first_party_caveat(m, (const unsigned char *)preds[i],
                                                             strlen(preds[i]), &e);
        assert_non_null(n);
        macaroon_destroy(m);
        m = n;
    }
    size_t cap = macaroon_serialize_size_hint(m) + 1;
    char *out = malloc(cap);
    assert_non_null(out);
    assert_int_equal(macaroon_serialize(m, out, cap, &e), 0);
    macaroon_destroy(m);
    return out;
}

static char *raw_mint(const uint8_t *secret, size_t secret_len, const char *id,
                      const char *const *preds)
{
    return raw_mint_at("svc-registry", secret, secret_len, id, preds);
}

/* "expires = <t>" in a static buffer (one per slot). */
static const char *expires_pred(int slot, int64_t t)
{
    static char bufs[4][64];
    char ts[32];
    assert_int_equal(rfc3339_format(t, ts), 20);
    snprintf(bufs[slot], sizeof bufs[slot], "expires = %s", ts);
    return bufs[slot];
}

/* Runs auth_check with "Bearer <tok>". */
static svcr_code check(const auth_keys *k, const char *tok, const char *scope, int approve,
                       int64_t now, auth_grant *g, svcr_err *e)
{
    size_t n = strlen(tok) + 8;
    char *h = malloc(n);
    assert_non_null(h);
    snprintf(h, n, "Bearer %s", tok);
    svcr_code c = auth_check(k, h, scope, approve, now, g, e);
    free(h);
    return c;
}

/* Asserts the outcome of checking tok for scope at NOW. */
static void expect_auth(const auth_keys *k, const char *tok, const char *scope, int approve,
                        svcr_code want, const char *reason)
{
    auth_grant g;
    svcr_err e;
    svcr_err_clear(&e);
    svcr_code c = check(k, tok, scope, approve, NOW, &g, &e);
    if (c != want || (reason && strcmp(e.reason, reason) != 0))
        fail_msg("scope %s: got %s/%s (%s), want %s/%s", scope, svcr_code_name(c), e.reason,
                 e.message, svcr_code_name(want), reason ? reason : "");
}

static void expect_header(const auth_keys *k, const char *header, svcr_code want,
                          const char *reason)
{
    auth_grant g;
    svcr_err e;
    svcr_err_clear(&e);
    svcr_code c = auth_check(k, header, AUTH_SCOPE_PROPOSE, 0, NOW, &g, &e);
    if (c != want || strcmp(e.reason, reason) != 0)
        fail_msg("header \"%.40s\": got %s/%s, want %s/%s", header ? header : "(null)",
                 svcr_code_name(c), e.reason, svcr_code_name(want), reason);
}

/* Base64 (URL, no padding) of hand-made v1 packets: pairs of key, value; a value NULL means
 * 32 bytes of 0x11 (a signature). */
static char *packets_token(const char *const *kv)
{
    uint8_t raw[2048];
    size_t n = 0;
    for (size_t i = 0; kv[i]; i += 2) {
        uint8_t sig[32];
        memset(sig, 0x11, sizeof sig);
        const uint8_t *v = kv[i + 1] ? (const uint8_t *)kv[i + 1] : sig;
        size_t vl = kv[i + 1] ? strlen(kv[i + 1]) : 32;
        size_t kl = strlen(kv[i]);
        size_t pl = 4 + kl + 1 + vl + 1;
        char hdr[5];
        snprintf(hdr, sizeof hdr, "%04zx", pl);
        memcpy(raw + n, hdr, 4);
        memcpy(raw + n + 4, kv[i], kl);
        raw[n + 4 + kl] = ' ';
        memcpy(raw + n + 5 + kl, v, vl);
        raw[n + pl - 1] = '\n';
        n += pl;
    }
    char *out = malloc(b64_encoded_len(n, B64_URL_NOPAD) + 1);
    assert_non_null(out);
    assert_true(b64_encode(raw, n, out, b64_encoded_len(n, B64_URL_NOPAD) + 1, B64_URL_NOPAD) >= 0);
    return out;
}

/* ---- header and token shape ---------------------------------------------------------------- */

static void test_auth_missing_or_non_bearer_header_is_401_missing(void **state)
{
    const auth_keys *k = *state;
    expect_header(k, NULL, SVCR_E_UNAUTHORIZED, AUTH_R_MISSING);
    expect_header(k, "", SVCR_E_UNAUTHORIZED, AUTH_R_MISSING);
    expect_header(k, "Basic dXNlcjpwYXNz", SVCR_E_UNAUTHORIZED, AUTH_R_MISSING);
    expect_header(k, "Bearer", SVCR_E_UNAUTHORIZED, AUTH_R_MISSING);
    expect_header(k, "BearerMDAx", SVCR_E_UNAUTHORIZED, AUTH_R_MISSING);
    expect_header(k, "Token MDAx", SVCR_E_UNAUTHORIZED, AUTH_R_MISSING);
    expect_header(k, " Bearer MDAx", SVCR_E_UNAUTHORIZED, AUTH_R_MISSING);
}

static void test_auth_bearer_scheme_is_case_insensitive_and_spaces_are_trimmed(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_PROPOSE, NOW + DAY, NULL, NULL);
    char h[2048];
    const char *forms[] = {"bearer %s", "BEARER  %s", "Bearer %s \t ", "bEaReR %s"};
    for (size_t i = 0; i < 4; i++) {
        auth_grant g;
        svcr_err e;
        snprintf(h, sizeof h, forms[i], tok);
        assert_int_equal(auth_check(k, h, AUTH_SCOPE_PROPOSE, 0, NOW, &g, &e), SVCR_OK);
    }
    free(tok);
}

static void test_auth_malformed_token_is_401_unparsable(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_PROPOSE, NOW + DAY, NULL, NULL);
    size_t n = strlen(tok);
    char h[AUTH_TOKEN_MAX_LEN + 64];
    const char *bad[] = {"Bearer ",    "Bearer   ",       "Bearer !!!", "Bearer abc",
                         "Bearer a b", "Bearer MDAx====", "Bearer =",   "Bearer TWFu\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_header(k, bad[i], SVCR_E_UNAUTHORIZED, AUTH_R_UNPARSABLE);
    /* truncated */
    snprintf(h, sizeof h, "Bearer %.*s", (int)(n - 4), tok);
    expect_header(k, h, SVCR_E_UNAUTHORIZED, AUTH_R_UNPARSABLE);
    /* both alphabets at once */
    snprintf(h, sizeof h, "Bearer %s", tok);
    h[7] = '-';
    h[8] = '+';
    expect_header(k, h, SVCR_E_UNAUTHORIZED, AUTH_R_UNPARSABLE);
    /* a stray character in the middle */
    snprintf(h, sizeof h, "Bearer %s", tok);
    h[7 + n / 2] = '.';
    expect_header(k, h, SVCR_E_UNAUTHORIZED, AUTH_R_UNPARSABLE);
    /* nonzero trailing bits are not a second spelling of the same token */
    static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert_int_not_equal(n % 4, 0); /* a v1 token ends in '\n' + 32 bytes: 2 or 3 chars left */
    snprintf(h, sizeof h, "Bearer %s", tok);
    size_t v = (size_t)(strchr(url, h[7 + n - 1]) - url);
    assert_int_equal(v & 1, 0);
    h[7 + n - 1] = url[v | 1];
    expect_header(k, h, SVCR_E_UNAUTHORIZED, AUTH_R_UNPARSABLE);
    /* over-long */
    memcpy(h, "Bearer ", 7);
    memset(h + 7, 'A', AUTH_TOKEN_MAX_LEN + 4);
    h[7 + AUTH_TOKEN_MAX_LEN + 4] = '\0';
    expect_header(k, h, SVCR_E_UNAUTHORIZED, AUTH_R_UNPARSABLE);
    free(tok);
}

static void test_auth_token_decode_reads_v1_packets_strictly(void **state)
{
    const auth_keys *k = *state;
    static const char *const good[] = {
        "location",  "svc-registry", "identifier", "k1",   "cid", "scope = registry:propose",
        "cid",       "tp-id",        "vid",        "vvvv", "cl",  "https://tp",
        "signature", NULL,           NULL};
    char *tok = packets_token(good);
    auth_token *t = NULL;
    assert_int_equal(auth_token_decode(tok, strlen(tok), &t), 0);
    assert_int_equal(t->location_len, 12);
    assert_memory_equal(t->identifier, "k1", 2);
    assert_int_equal(t->ncaveats, 2);
    assert_int_equal(t->nthird_party, 1);
    assert_null(t->caveats[0].vid);
    assert_memory_equal(t->caveats[1].cl, "https://tp", 10);
    assert_int_equal(strcmp(t->canonical, tok), 0);
    auth_token_free(t);
    free(tok);

    static const char *const bad[][16] = {
        {"identifier", "k1", "location", "x", "signature", NULL, NULL}, /* order */
        {"location", "x", "identifier", "k1", NULL},                    /* no signature */
        {"location", "x", "identifier", "k1", "cl", "y", "signature", NULL, NULL},
        {"location", "x", "identifier", "k1", "vid", "y", "signature", NULL, NULL},
        {"location", "x", "identifier", "k1", "cid", "a", "cl", "b", "signature", NULL, NULL},
        {"location", "x", "identifier", "k1", "cid", "a", "vid", "v", "vid", "w", "signature", NULL,
         NULL},
        {"location", "x", "identifier", "k1", "signature", NULL, "cid", "after", NULL},
        {"location", "x", "identifier", "k1", "signature", "short", NULL},
        {"location", "x", "identifier", "k1", "foo", "bar", "signature", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tok = packets_token(bad[i]);
        t = NULL;
        if (auth_token_decode(tok, strlen(tok), &t) == 0)
            fail_msg("bad packet layout %zu was accepted", i);
        expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_UNPARSABLE);
        free(tok);
    }
}

/* ---- 401: key, signature, expiry ----------------------------------------------------------- */

static void test_auth_token_signed_with_a_wrong_root_key_is_401(void **state)
{
    const auth_keys *k = *state;
    auth_keys *other = foreign_keys();
    char *tok = mint_v(other, "k1", S_ALL, NOW + DAY, NULL, NULL);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_BAD_SIGNATURE);
    free(tok);
    /* right key, one caveat swapped for another: the chain breaks */
    tok = mint_v(k, "k1", S_APPROVE, NOW + DAY, NULL, NULL);
    auth_token *t = NULL;
    assert_int_equal(auth_token_decode(tok, strlen(tok), &t), 0);
    char forged[4096];
    assert_true(t->raw_len < sizeof forged / 2);
    uint8_t raw[2048];
    memcpy(raw, t->raw, t->raw_len);
    uint8_t *p = memmem(raw, t->raw_len, "registry:approve", 16);
    assert_non_null(p);
    memcpy(p, "registry:commit!", 16);
    assert_true(b64_encode(raw, t->raw_len, forged, sizeof forged, B64_URL_NOPAD) > 0);
    expect_auth(k, forged, AUTH_SCOPE_APPROVE, 1, SVCR_E_UNAUTHORIZED, AUTH_R_BAD_SIGNATURE);
    auth_token_free(t);
    free(tok);
    auth_keys_free(other);
}

static void test_auth_unknown_key_id_is_401(void **state)
{
    const auth_keys *k = *state;
    auth_keys *other = foreign_keys();
    char *tok = mint_v(other, "k9", S_ALL, NOW + DAY, NULL, NULL);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_UNKNOWN_KEY);
    free(tok);
    /* no keys configured at all */
    tok = mint_v(k, "k1", S_ALL, NOW + DAY, NULL, NULL);
    expect_auth(NULL, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_UNKNOWN_KEY);
    free(tok);
    auth_keys_free(other);
}

static void test_auth_expired_token_is_401(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_ALL, NOW - 1, NULL, NULL);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_EXPIRED);
    free(tok);
    tok = mint_v(k, "k1", S_ALL, NOW, NULL, NULL); /* now < expires is strict */
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_EXPIRED);
    free(tok);
    tok = mint_v(k, "k1", S_ALL, NOW + 1, NULL, NULL);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_OK, NULL);
    free(tok);
    /* a fraction of a second ahead is still ahead */
    const char *const frac[] = {"scope = registry:propose", "expires = 2026-11-25T12:00:00.5Z",
                                NULL};
    tok = raw_mint(secret_k1, sizeof secret_k1, "k1", frac);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_OK, NULL);
    free(tok);
}

static void test_auth_expires_more_than_30_days_ahead_is_401(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_ALL, NOW + AUTH_MAX_TTL_S + 1, NULL, NULL);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_EXPIRES_TOO_FAR);
    free(tok);
    tok = mint_v(k, "k1", S_ALL, NOW + AUTH_MAX_TTL_S, NULL, NULL); /* exactly 30 days: ok */
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_OK, NULL);
    free(tok);
    const char *const frac[] = {"scope = registry:propose", "expires = 2026-12-25T12:00:00.001Z",
                                NULL};
    tok = raw_mint(secret_k1, sizeof secret_k1, "k1", frac);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_EXPIRES_TOO_FAR);
    free(tok);
}

static void test_auth_token_without_expires_is_401(void **state)
{
    const auth_keys *k = *state;
    const char *const preds[] = {"scope = registry:propose", NULL};
    char *tok = raw_mint(secret_k1, sizeof secret_k1, "k1", preds);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_EXPIRES_MISSING);
    free(tok);
    /* an expires with another operator is not an expires caveat */
    const char *const lt[] = {"scope = registry:propose", "expires < 2026-11-26T00:00:00Z", NULL};
    tok = raw_mint(secret_k1, sizeof secret_k1, "k1", lt);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_EXPIRES_MISSING);
    free(tok);
    /* no caveats at all */
    tok = raw_mint(secret_k1, sizeof secret_k1, "k1", NULL);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_EXPIRES_MISSING);
    free(tok);
}

static void test_auth_unreadable_expires_value_is_401(void **state)
{
    const auth_keys *k = *state;
    const char *bad[] = {"expires = tomorrow", "expires = 2026-11-26T00:00:00+02:00",
                         "expires = 2026-11-26T00:00:00Z ", "expires = "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *const preds[] = {"scope = registry:propose", expires_pred(0, NOW + DAY), bad[i],
                                     NULL};
        char *tok = raw_mint(secret_k1, sizeof secret_k1, "k1", preds);
        expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_EXPIRES_INVALID);
        free(tok);
    }
}

static void test_auth_every_expires_caveat_must_hold(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_ALL, NOW + 10 * DAY, NULL, NULL);
    char *shorter = NULL, *past = NULL;
    assert_int_equal(auth_attenuate(tok, NULL, 0, NOW + DAY, NULL, NULL, &shorter), 0);
    assert_int_equal(auth_attenuate(tok, NULL, 0, NOW - DAY, NULL, NULL, &past), 0);
    auth_grant g;
    svcr_err e;
    assert_int_equal(check(k, shorter, AUTH_SCOPE_COMMIT, 0, NOW, &g, &e), SVCR_OK);
    assert_int_equal(g.expires_s, NOW + DAY);
    assert_int_equal(check(k, shorter, AUTH_SCOPE_COMMIT, 0, NOW + 2 * DAY, &g, &e),
                     SVCR_E_UNAUTHORIZED);
    assert_string_equal(e.reason, AUTH_R_EXPIRED);
    expect_auth(k, past, AUTH_SCOPE_COMMIT, 0, SVCR_E_UNAUTHORIZED, AUTH_R_EXPIRED);
    /* a later expires added to a 10-day token does not extend it, and may not exceed 30 days */
    char *longer = NULL;
    assert_int_equal(auth_attenuate(tok, NULL, 0, NOW + 40 * DAY, NULL, NULL, &longer), 0);
    expect_auth(k, longer, AUTH_SCOPE_COMMIT, 0, SVCR_E_UNAUTHORIZED, AUTH_R_EXPIRES_TOO_FAR);
    assert_int_equal(check(k, tok, AUTH_SCOPE_COMMIT, 0, NOW + 11 * DAY, &g, &e),
                     SVCR_E_UNAUTHORIZED);
    free(tok);
    free(shorter);
    free(past);
    free(longer);
}

/* ---- 403: scope, signer, proposal, unknown caveats ----------------------------------------- */

static void test_auth_wrong_scope_is_403(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_PROPOSE, NOW + DAY, NULL, NULL);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_OK, NULL);
    expect_auth(k, tok, AUTH_SCOPE_APPROVE, 1, SVCR_E_FORBIDDEN, AUTH_R_SCOPE);
    expect_auth(k, tok, AUTH_SCOPE_COMMIT, 0, SVCR_E_FORBIDDEN, AUTH_R_SCOPE);
    expect_auth(k, tok, AUTH_SCOPE_SUPERSEDE, 0, SVCR_E_FORBIDDEN, AUTH_R_SCOPE);
    expect_auth(k, tok, AUTH_SCOPE_OPERATE, 0, SVCR_E_FORBIDDEN, AUTH_R_SCOPE);
    free(tok);
    tok = mint_v(k, "k1", S_ALL, NOW + DAY, NULL, NULL);
    for (size_t i = 0; S_ALL[i]; i++)
        expect_auth(k, tok, S_ALL[i], 0, SVCR_OK, NULL);
    free(tok);
    /* scope names are compared whole, not as prefixes */
    const char *const preds[] = {"scope = registry:propos registry:proposeX  registry:commit ",
                                 expires_pred(0, NOW + DAY), NULL};
    tok = raw_mint(secret_k1, sizeof secret_k1, "k1", preds);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_FORBIDDEN, AUTH_R_SCOPE);
    expect_auth(k, tok, AUTH_SCOPE_COMMIT, 0, SVCR_OK, NULL);
    free(tok);
}

static void test_auth_token_without_scope_caveat_is_403(void **state)
{
    const auth_keys *k = *state;
    const char *const preds[] = {expires_pred(0, NOW + DAY), NULL};
    char *tok = raw_mint(secret_k1, sizeof secret_k1, "k1", preds);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_FORBIDDEN, AUTH_R_SCOPE);
    free(tok);
}

static void test_auth_attenuation_narrows_scope(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_PROP_APPR, NOW + DAY, NULL, NULL);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_OK, NULL);
    expect_auth(k, tok, AUTH_SCOPE_APPROVE, 1, SVCR_OK, NULL);
    char *narrow = NULL;
    const char *approve = AUTH_SCOPE_APPROVE;
    assert_int_equal(auth_attenuate(tok, &approve, 1, 0, NULL, NULL, &narrow), 0);
    expect_auth(k, narrow, AUTH_SCOPE_PROPOSE, 0, SVCR_E_FORBIDDEN, AUTH_R_SCOPE);
    expect_auth(k, narrow, AUTH_SCOPE_APPROVE, 1, SVCR_OK, NULL);
    free(tok);
    free(narrow);
}

static void test_auth_attenuation_cannot_widen_scope(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_APPROVE, NOW + DAY, NULL, NULL);
    char *wide = NULL;
    assert_int_equal(auth_attenuate(tok, S_ALL, 5, 0, NULL, NULL, &wide), 0);
    expect_auth(k, wide, AUTH_SCOPE_PROPOSE, 0, SVCR_E_FORBIDDEN, AUTH_R_SCOPE);
    expect_auth(k, wide, AUTH_SCOPE_OPERATE, 0, SVCR_E_FORBIDDEN, AUTH_R_SCOPE);
    expect_auth(k, wide, AUTH_SCOPE_APPROVE, 1, SVCR_OK, NULL);
    free(tok);
    free(wide);
}

static void test_auth_signer_caveat_on_approve_route_is_returned_in_grant(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k2", S_APPROVE, NOW + DAY, "org:alpha#key1", NULL);
    auth_grant g;
    svcr_err e;
    assert_int_equal(check(k, tok, AUTH_SCOPE_APPROVE, 1, NOW, &g, &e), SVCR_OK);
    assert_string_equal(g.signer, "org:alpha#key1");
    assert_string_equal(g.proposal, "");
    assert_string_equal(g.key_id, "k2");
    assert_int_equal(g.expires_s, NOW + DAY);
    /* the same signer twice is one binding */
    char *twice = NULL;
    assert_int_equal(auth_attenuate(tok, NULL, 0, 0, "org:alpha#key1", NULL, &twice), 0);
    assert_int_equal(check(k, twice, AUTH_SCOPE_APPROVE, 1, NOW, &g, &e), SVCR_OK);
    assert_string_equal(g.signer, "org:alpha#key1");
    free(tok);
    free(twice);
}

static void test_auth_signer_caveat_on_other_route_is_403(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_ALL, NOW + DAY, "org:alpha#key1", NULL);
    expect_auth(k, tok, AUTH_SCOPE_APPROVE, 1, SVCR_OK, NULL);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_FORBIDDEN, AUTH_R_SIGNER_ROUTE);
    expect_auth(k, tok, AUTH_SCOPE_COMMIT, 0, SVCR_E_FORBIDDEN, AUTH_R_SIGNER_ROUTE);
    expect_auth(k, tok, AUTH_SCOPE_OPERATE, 0, SVCR_E_FORBIDDEN, AUTH_R_SIGNER_ROUTE);
    free(tok);
}

static void test_auth_two_different_signer_caveats_never_hold(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_APPROVE, NOW + DAY, "org:alpha#key1", NULL);
    char *two = NULL;
    assert_int_equal(auth_attenuate(tok, NULL, 0, 0, "org:beta#key1", NULL, &two), 0);
    expect_auth(k, two, AUTH_SCOPE_APPROVE, 1, SVCR_E_FORBIDDEN, AUTH_R_SIGNER_CONFLICT);
    free(tok);
    free(two);
    /* a signer value no signer id can equal */
    char longv[AUTH_SIGNER_MAX + 20];
    memset(longv, 'a', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    char pred[sizeof longv + 16];
    snprintf(pred, sizeof pred, "signer = %s", longv);
    const char *const preds[] = {"scope = registry:approve", expires_pred(0, NOW + DAY), pred,
                                 NULL};
    tok = raw_mint(secret_k1, sizeof secret_k1, "k1", preds);
    expect_auth(k, tok, AUTH_SCOPE_APPROVE, 1, SVCR_E_FORBIDDEN, AUTH_R_SIGNER_INVALID);
    free(tok);
    const char *const empty[] = {"scope = registry:approve", expires_pred(0, NOW + DAY),
                                 "signer = ", NULL};
    tok = raw_mint(secret_k1, sizeof secret_k1, "k1", empty);
    expect_auth(k, tok, AUTH_SCOPE_APPROVE, 1, SVCR_E_FORBIDDEN, AUTH_R_SIGNER_INVALID);
    free(tok);
}

static void test_auth_proposal_caveat_is_returned_and_conflicts_are_403(void **state)
{
    const auth_keys *k = *state;
    const char *pid = "p_0123456789abcdef01234567";
    char *tok = mint_v(k, "k1", S_ALL, NOW + DAY, NULL, pid);
    auth_grant g;
    svcr_err e;
    assert_int_equal(check(k, tok, AUTH_SCOPE_COMMIT, 0, NOW, &g, &e), SVCR_OK);
    assert_string_equal(g.proposal, pid);
    assert_string_equal(g.signer, "");
    assert_int_equal(check(k, tok, AUTH_SCOPE_APPROVE, 1, NOW, &g, &e), SVCR_OK);
    assert_string_equal(g.proposal, pid);
    char *two = NULL;
    assert_int_equal(auth_attenuate(tok, NULL, 0, 0, NULL, "p_ffffffffffffffffffffffff", &two), 0);
    expect_auth(k, two, AUTH_SCOPE_COMMIT, 0, SVCR_E_FORBIDDEN, AUTH_R_PROPOSAL_CONFLICT);
    free(two);
    assert_int_equal(auth_attenuate(tok, NULL, 0, 0, NULL, pid, &two), 0);
    expect_auth(k, two, AUTH_SCOPE_COMMIT, 0, SVCR_OK, NULL);
    free(two);
    free(tok);
}

static void test_auth_unknown_caveat_is_403(void **state)
{
    const auth_keys *k = *state;
    const char *unknown[] = {"foo = bar",
                             "scope < registry:propose",
                             "scope=registry:propose",
                             "Scope = registry:propose",
                             "time < 2030-01-01T00:00",
                             "x"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *const preds[] = {"scope = registry:propose", expires_pred(0, NOW + DAY),
                                     unknown[i], NULL};
        char *tok = raw_mint(secret_k1, sizeof secret_k1, "k1", preds);
        expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_FORBIDDEN, AUTH_R_UNKNOWN_CAVEAT);
        free(tok);
    }
    /* a line break is part of the value: "registry:propose\n" is not a known scope */
    const char *const nl[] = {"scope = registry:propose", expires_pred(0, NOW + DAY),
                              "scope = registry:propose\n", NULL};
    char *tok = raw_mint(secret_k1, sizeof secret_k1, "k1", nl);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_FORBIDDEN, AUTH_R_SCOPE);
    free(tok);
}

/* A token with a third-party caveat (made by libmacaroons) and the given first-party ones. */
static char *third_party_token(const uint8_t *secret, size_t len, const char *const *before,
                               const char *const *after)
{
    enum macaroon_returncode e;
    struct macaroon *m = macaroon_create((const unsigned char *)"svc-registry", 12, secret, len,
                                         (const unsigned char *)"k1", 2, &e);
    assert_non_null(m);
    const char *const *lists[2] = {before, after};
    for (int part = 0; part < 2; part++) {
        if (part == 1) {
            unsigned char ck[32];
            memset(ck, 0x42, sizeof ck);
            struct macaroon *n = macaroon_add_third_party_caveat(
                m, (const unsigned char *)"https://auth.example", 20, ck, sizeof ck,
                (const unsigned char *)"user = alice", 12, &e);
            assert_non_null(n);
            macaroon_destroy(m);
            m = n;
        }
        for (size_t i = 0; lists[part][i]; i++) {
            struct macaroon *n = macaroon_add_first_party_caveat(
                m, (const unsigned char *)lists[part][i], strlen(lists[part][i]), &e);
            assert_non_null(n);
            macaroon_destroy(m);
            m = n;
        }
    }
    size_t cap = macaroon_serialize_size_hint(m) + 1;
    char *out = malloc(cap);
    assert_int_equal(macaroon_serialize(m, out, cap, &e), 0);
    macaroon_destroy(m);
    return out;
}

static void test_auth_third_party_caveat_is_403_once_the_token_is_genuine(void **state)
{
    const auth_keys *k = *state;
    const char *const before[] = {"scope = registry:propose", NULL};
    const char *const after[] = {expires_pred(0, NOW + DAY), NULL};
    char *tok = third_party_token(secret_k1, sizeof secret_k1, before, after);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_FORBIDDEN, AUTH_R_UNKNOWN_CAVEAT);
    free(tok);
    /* wrong root key: still 401 */
    tok = third_party_token(secret_other, sizeof secret_other, before, after);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_BAD_SIGNATURE);
    free(tok);
    /* genuine but expired: 401 before 403 */
    const char *const old[] = {expires_pred(1, NOW - 5), NULL};
    tok = third_party_token(secret_k1, sizeof secret_k1, before, old);
    expect_auth(k, tok, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_EXPIRED);
    free(tok);
}

/* ---- forms, keys, interoperability ---------------------------------------------------------- */

static void test_auth_standard_base64_form_is_accepted(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_PROPOSE, NOW + DAY, NULL, NULL);
    size_t n = strlen(tok);
    assert_null(strchr(tok, '='));
    assert_null(strchr(tok, '+'));
    assert_null(strchr(tok, '/'));
    /* Several tokens until one contains '-' or '_' twice, so the translation is exercised. */
    int url_chars = 0;
    for (int64_t d = 1; d < 200; d++) {
        url_chars = 0;
        for (size_t i = 0; tok[i]; i++)
            url_chars += tok[i] == '-' || tok[i] == '_';
        if (url_chars >= 2)
            break;
        free(tok);
        tok = mint_v(k, "k1", S_PROPOSE, NOW + d, NULL, NULL);
        n = strlen(tok);
    }
    assert_true(url_chars >= 2);
    /* both alphabets in one token: refused even though each spelling alone is accepted */
    char mixed[2048];
    memcpy(mixed, tok, n + 1);
    char *first = strpbrk(mixed, "-_");
    *first = *first == '-' ? '+' : '/';
    expect_auth(k, mixed, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_UNPARSABLE);
    char std[2048], padded[2056];
    for (size_t i = 0; i <= n; i++)
        std[i] = tok[i] == '-' ? '+' : (tok[i] == '_' ? '/' : tok[i]);
    expect_auth(k, std, AUTH_SCOPE_PROPOSE, 0, SVCR_OK, NULL);
    snprintf(padded, sizeof padded, "%s%.*s", std, (int)((4 - n % 4) % 4), "==");
    expect_auth(k, padded, AUTH_SCOPE_PROPOSE, 0, SVCR_OK, NULL);
    /* URL-safe alphabet with padding is fine too; wrong padding is not */
    for (size_t i = 0; padded[i]; i++)
        padded[i] = padded[i] == '+' ? '-' : (padded[i] == '/' ? '_' : padded[i]);
    expect_auth(k, padded, AUTH_SCOPE_PROPOSE, 0, SVCR_OK, NULL);
    if (n % 4 != 0) {
        snprintf(padded, sizeof padded, "%s===", std);
        expect_auth(k, padded, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_UNPARSABLE);
    }
    /* attenuate and inspect accept the standard form and answer in the canonical one */
    char *att = NULL;
    assert_int_equal(auth_attenuate(std, NULL, 0, 0, NULL, NULL, &att), 0);
    assert_string_equal(att, tok);
    free(att);
    free(tok);
}

static void test_auth_several_root_keys_are_chosen_by_id(void **state)
{
    const auth_keys *k = *state;
    assert_int_equal(auth_keys_count(k), 2);
    assert_string_equal(auth_keys_id(k, 0), "k1");
    assert_string_equal(auth_keys_id(k, 1), "k2");
    assert_null(auth_keys_id(k, 2));
    char *t1 = mint_v(k, "k1", S_PROPOSE, NOW + DAY, NULL, NULL);
    char *t2 = mint_v(k, "k2", S_PROPOSE, NOW + DAY, NULL, NULL);
    auth_grant g;
    svcr_err e;
    assert_int_equal(check(k, t1, AUTH_SCOPE_PROPOSE, 0, NOW, &g, &e), SVCR_OK);
    assert_string_equal(g.key_id, "k1");
    assert_int_equal(check(k, t2, AUTH_SCOPE_PROPOSE, 0, NOW, &g, &e), SVCR_OK);
    assert_string_equal(g.key_id, "k2");
    free(t1);
    free(t2);
    /* id k2 but k1's secret */
    const char *const preds[] = {"scope = registry:propose", expires_pred(0, NOW + DAY), NULL};
    char *t = raw_mint(secret_k1, sizeof secret_k1, "k2", preds);
    expect_auth(k, t, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED, AUTH_R_BAD_SIGNATURE);
    free(t);
    char *none = NULL;
    assert_int_equal(auth_mint(k, "k3", S_PROPOSE, 1, NOW + DAY, NULL, NULL, &none), -1);
    assert_null(none);
}

static void test_auth_token_minted_by_libmacaroons_directly_verifies(void **state)
{
    const auth_keys *k = *state;
    const char *const preds[] = {"scope = registry:approve registry:commit",
                                 expires_pred(0, NOW + 3600), "signer = org:beta#k7",
                                 "proposal = p_aaaaaaaaaaaaaaaaaaaaaaaa", NULL};
    char *tok = raw_mint(secret_k2, sizeof secret_k2, "k2", preds);
    auth_grant g;
    svcr_err e;
    assert_int_equal(check(k, tok, AUTH_SCOPE_APPROVE, 1, NOW, &g, &e), SVCR_OK);
    assert_string_equal(g.key_id, "k2");
    assert_string_equal(g.signer, "org:beta#k7");
    assert_string_equal(g.proposal, "p_aaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(g.expires_s, NOW + 3600);
    /* and auth_mint's output is what libmacaroons would write for the same caveats */
    const char *const scopes[] = {AUTH_SCOPE_APPROVE, AUTH_SCOPE_COMMIT, NULL};
    char *mine = mint_v(k, "k2", scopes, NOW + 3600, "org:beta#k7", "p_aaaaaaaaaaaaaaaaaaaaaaaa");
    assert_string_equal(mine, tok);
    free(mine);
    free(tok);
    /* the location is an unsigned hint: another or an empty one does not matter */
    const char *locations[] = {"", "https://registry.example"};
    for (size_t i = 0; i < 2; i++) {
        tok = raw_mint_at(locations[i], secret_k2, sizeof secret_k2, "k2", preds);
        expect_auth(k, tok, AUTH_SCOPE_APPROVE, 1, SVCR_OK, NULL);
        free(tok);
    }
}

static void test_auth_grant_is_zero_on_401_and_names_the_key_on_403(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k2", S_PROPOSE, NOW + DAY, NULL, "p_0123456789abcdef01234567");
    auth_grant g, zero;
    svcr_err e;
    memset(&zero, 0, sizeof zero);
    memset(&g, 0x7a, sizeof g);
    assert_int_equal(check(k, tok, AUTH_SCOPE_PROPOSE, 0, NOW + 2 * DAY, &g, &e),
                     SVCR_E_UNAUTHORIZED);
    assert_memory_equal(&g, &zero, sizeof g);
    memset(&g, 0x7a, sizeof g);
    assert_int_equal(check(k, tok, AUTH_SCOPE_COMMIT, 0, NOW, &g, &e), SVCR_E_FORBIDDEN);
    assert_string_equal(g.key_id, "k2");
    assert_int_equal(g.expires_s, NOW + DAY);
    assert_string_equal(g.signer, "");
    assert_string_equal(g.proposal, "");
    free(tok);
}

/* Every error text of a failing check, for the "never echoes" test. */
static void assert_err_clean(const svcr_err *e, const char *tok)
{
    char probe[17];
    snprintf(probe, sizeof probe, "%.16s", tok);
    assert_null(strstr(e->message, probe));
    assert_null(strstr(e->message, "MDAx")); /* the start of every v1 token */
    assert_null(strstr(e->message, b64_k1));
    assert_null(strstr(e->reason, probe));
}

static void test_auth_errors_never_contain_token_or_secret(void **state)
{
    const auth_keys *k = *state;
    auth_keys *other = foreign_keys();
    char *toks[4];
    toks[0] = mint_v(other, "k1", S_ALL, NOW + DAY, NULL, NULL);
    toks[1] = mint_v(k, "k1", S_PROPOSE, NOW - DAY, NULL, NULL);
    toks[2] = mint_v(k, "k1", S_PROPOSE, NOW + DAY, "org:a#k", NULL);
    toks[3] = mint_v(other, "k9", S_ALL, NOW + DAY, NULL, NULL);
    for (size_t i = 0; i < 4; i++) {
        auth_grant g;
        svcr_err e;
        svcr_err_clear(&e);
        assert_int_not_equal(check(k, toks[i], AUTH_SCOPE_PROPOSE, 0, NOW, &g, &e), SVCR_OK);
        assert_err_clean(&e, toks[i]);
        free(toks[i]);
    }
    auth_keys_free(other);
}

/* ---- concurrency ---------------------------------------------------------------------------- */

typedef struct worker {
    const auth_keys *k;
    char *const *toks;
    unsigned seed;
    int wrong;
} worker;

/* Case i: token, scope, approve route, expected code, expected signer. */
static void worker_case(int i, size_t *tok, const char **scope, int *approve, svcr_code *want)
{
    static const struct {
        size_t tok;
        const char *scope;
        int approve;
        svcr_code want;
    } cases[] = {
        {0, AUTH_SCOPE_PROPOSE, 0, SVCR_OK},
        {0, AUTH_SCOPE_APPROVE, 1, SVCR_E_FORBIDDEN},
        {1, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED},
        {2, AUTH_SCOPE_APPROVE, 1, SVCR_OK},
        {2, AUTH_SCOPE_COMMIT, 0, SVCR_E_FORBIDDEN},
        {3, AUTH_SCOPE_PROPOSE, 0, SVCR_E_UNAUTHORIZED},
    };
    int c = i % 6;
    *tok = cases[c].tok;
    *scope = cases[c].scope;
    *approve = cases[c].approve;
    *want = cases[c].want;
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 2000; i++) {
        size_t t;
        const char *scope;
        int approve;
        svcr_code want;
        worker_case((int)(w->seed + (unsigned)i * 7u), &t, &scope, &approve, &want);
        char h[2048];
        snprintf(h, sizeof h, "Bearer %s", w->toks[t]);
        auth_grant g;
        svcr_err e;
        svcr_code c = auth_check(w->k, h, scope, approve, NOW, &g, &e);
        if (c != want)
            w->wrong++;
        else if (c == SVCR_OK && t == 2 && strcmp(g.signer, "org:alpha#key1") != 0)
            w->wrong++;
        else if (c == SVCR_OK && t == 0 && (g.signer[0] || strcmp(g.key_id, "k1") != 0))
            w->wrong++;
    }
    return NULL;
}

static void test_auth_concurrent_checks_give_the_right_answers(void **state)
{
    const auth_keys *k = *state;
    auth_keys *other = foreign_keys();
    char *toks[4];
    toks[0] = mint_v(k, "k1", S_PROPOSE, NOW + DAY, NULL, NULL);
    toks[1] = mint_v(k, "k2", S_PROPOSE, NOW - 1, NULL, NULL);
    toks[2] = mint_v(k, "k2", S_APPROVE, NOW + DAY, "org:alpha#key1", NULL);
    toks[3] = mint_v(other, "k1", S_ALL, NOW + DAY, NULL, NULL);
    pthread_t th[4];
    worker w[4];
    for (unsigned i = 0; i < 4; i++) {
        w[i] = (worker){.k = k, .toks = toks, .seed = i, .wrong = 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    int wrong = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        wrong += w[i].wrong;
    }
    assert_int_equal(wrong, 0);
    for (int i = 0; i < 4; i++)
        free(toks[i]);
    auth_keys_free(other);
}

static void test_auth_mutated_tokens_never_gain_authority(void **state)
{
    const auth_keys *k = *state;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *tok = mint_v(k, "k1", S_PROPOSE, NOW + DAY, NULL, NULL);
    auth_token *orig = NULL;
    assert_int_equal(auth_token_decode(tok, strlen(tok), &orig), 0);
    size_t n = strlen(tok);
    uint64_t rng = 4242;
    char *m = malloc(n + 1);
    for (int i = 0; i < 3000; i++) {
        memcpy(m, tok, n + 1);
        int flips = 1 + (int)(tu_rand(&rng) % 3);
        for (int f = 0; f < flips; f++)
            m[tu_rand(&rng) % n] = alphabet[tu_rand(&rng) % 64];
        auth_grant g;
        svcr_err e;
        svcr_code c = check(k, m, AUTH_SCOPE_PROPOSE, 0, NOW, &g, &e);
        assert_true(c == SVCR_OK || c == SVCR_E_UNAUTHORIZED || c == SVCR_E_FORBIDDEN);
        if (c != SVCR_OK)
            continue;
        /* Only the location is outside the signature: everything signed must be unchanged. */
        auth_token *t = NULL;
        assert_int_equal(auth_token_decode(m, n, &t), 0);
        assert_int_equal(t->ncaveats, orig->ncaveats);
        for (size_t j = 0; j < t->ncaveats; j++) {
            assert_int_equal(t->caveats[j].cid_len, orig->caveats[j].cid_len);
            assert_memory_equal(t->caveats[j].cid, orig->caveats[j].cid, t->caveats[j].cid_len);
        }
        assert_memory_equal(t->signature, orig->signature, 32);
        auth_token_free(t);
    }
    free(m);
    auth_token_free(orig);
    free(tok);
}

/* ---- root keys ------------------------------------------------------------------------------ */

static void expect_keys_refused(const char *json, const char *want_in_err)
{
    auth_keys *k = (auth_keys *)0x1;
    char err[256] = "";
    if (auth_keys_parse(json, strlen(json), &k, err, sizeof err) == 0)
        fail_msg("accepted bad root keys: %s", json);
    assert_ptr_equal(k, (auth_keys *)0x1);
    if (!strstr(err, want_in_err))
        fail_msg("error \"%s\" does not mention \"%s\"", err, want_in_err);
    assert_null(strstr(err, b64_k1));
    assert_null(strstr(err, "AQIDBAUG")); /* start of b64_k1 */
}

static void test_auth_keys_parse_refuses_bad_files(void **state)
{
    (void)state;
    char j[1024];
    expect_keys_refused("", "invalid JSON");
    snprintf(j, sizeof j, "{\"keys\":[{\"id\":\"k1\",\"secret\":\"%s\"", b64_k1);
    expect_keys_refused(j, "invalid JSON");
    snprintf(j, sizeof j, "{\"keys\":[{\"id\":\"k1\",\"secret\":%s}]}", b64_k1); /* no quotes */
    expect_keys_refused(j, "invalid JSON");
    expect_keys_refused("{\"keys\":[]}", "keys");
    expect_keys_refused("{}", "keys");
    expect_keys_refused("[]", "root keys");
    snprintf(j, sizeof j, "{\"keys\":[{\"id\":\"k1\",\"secret\":\"%s\"}],\"x\":1}", b64_k1);
    expect_keys_refused(j, "x");
    snprintf(j, sizeof j, "{\"keys\":[{\"id\":\"k1\",\"secret\":\"%s\",\"alg\":\"hs256\"}]}",
             b64_k1);
    expect_keys_refused(j, "keys[0].alg");
    snprintf(j, sizeof j,
             "{\"keys\":[{\"id\":\"k1\",\"secret\":\"%s\"},{\"id\":\"k1\",\"secret\":\"%s\"}]}",
             b64_k1, b64_k2);
    expect_keys_refused(j, "duplicate key id");
    snprintf(j, sizeof j, "{\"keys\":[{\"id\":\"k1\",\"secret\":\"%s\",\"id\":\"k2\"}]}", b64_k1);
    expect_keys_refused(j, "invalid JSON");
    expect_keys_refused("{\"keys\":[{\"id\":\"k1\",\"secret\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRY"
                        "XGBkaGxwdHg==\"}]}",
                        "decodes to 31 bytes");
    snprintf(j, sizeof j, "{\"keys\":[{\"id\":\"k1\",\"secret\":\"%.43s\"}]}", b64_k1);
    expect_keys_refused(j, "not standard padded base64"); /* padding missing */
    expect_keys_refused("{\"keys\":[{\"id\":\"k1\",\"secret\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
                        "GBkaGxwdHh-_\"}]}",
                        "not standard padded base64"); /* URL alphabet */
    snprintf(j, sizeof j, "{\"keys\":[{\"id\":\"k 1\",\"secret\":\"%s\"}]}", b64_k1);
    expect_keys_refused(j, "keys[0].id");
    snprintf(j, sizeof j, "{\"keys\":[{\"id\":\"\",\"secret\":\"%s\"}]}", b64_k1);
    expect_keys_refused(j, "keys[0].id");
    snprintf(j, sizeof j,
             "{\"keys\":[{\"id\":\"0123456789012345678901234567890123456789012345678901234567890"
             "123\",\"secret\":\"%s\"}]}",
             b64_k1);
    expect_keys_refused(j, "keys[0].id");
    snprintf(j, sizeof j, "{\"keys\":[{\"secret\":\"%s\"}]}", b64_k1);
    expect_keys_refused(j, "keys[0].id");
    expect_keys_refused("{\"keys\":[{\"id\":\"k1\"}]}", "keys[0].secret");
    expect_keys_refused("{\"keys\":[{\"id\":\"k1\",\"secret\":7}]}", "keys[0].secret");
}

static void test_auth_keys_parse_accepts_long_secrets_and_many_keys(void **state)
{
    (void)state;
    char j[4096];
    int n = snprintf(j, sizeof j, "{\"keys\":[");
    for (int i = 0; i < 10; i++)
        n += snprintf(j + n, sizeof j - (size_t)n, "%s{\"secret\":\"%s\",\"id\":\"key-%d\"}",
                      i ? "," : "", i % 2 ? b64_k2 : b64_k1, i);
    snprintf(j + n, sizeof j - (size_t)n, "]}");
    auth_keys *k = parse_keys(j);
    assert_int_equal(auth_keys_count(k), 10);
    const uint8_t *s;
    size_t sl;
    assert_int_equal(auth_keys_find(k, "key-3", 5, &s, &sl), 1);
    assert_int_equal(sl, sizeof secret_k2);
    assert_memory_equal(s, secret_k2, sl);
    assert_int_equal(auth_keys_find(k, "key-", 4, &s, &sl), 0);
    assert_int_equal(auth_keys_find(k, "key-10", 6, &s, &sl), 0);
    auth_keys_free(k);
    auth_keys_free(NULL);
    assert_int_equal(auth_keys_count(NULL), 0);
}

/* Writes content to a fresh temporary file with `mode`; returns its path (static buffer). */
static const char *temp_keys_file(const char *content, mode_t mode)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/svcr-auth-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

static void test_auth_keys_load_refuses_group_or_other_access(void **state)
{
    (void)state;
    char j[512], err[256];
    snprintf(j, sizeof j, "{\"keys\":[{\"id\":\"k1\",\"secret\":\"%s\"}]}", b64_k1);
    const mode_t bad[] = {0644, 0640, 0604, 0620, 0602, 0660, 0601};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = temp_keys_file(j, bad[i]);
        auth_keys *k = NULL;
        assert_int_equal(auth_keys_load(p, &k, err, sizeof err), -1);
        assert_null(k);
        assert_non_null(strstr(err, "chmod 600"));
        unlink(p);
    }
    const mode_t good[] = {0600, 0400};
    for (size_t i = 0; i < 2; i++) {
        const char *p = temp_keys_file(j, good[i]);
        auth_keys *k = NULL;
        if (auth_keys_load(p, &k, err, sizeof err) != 0)
            fail_msg("mode %o refused: %s", (unsigned)good[i], err);
        assert_int_equal(auth_keys_count(k), 1);
        auth_keys_free(k);
        unlink(p);
    }
}

static void test_auth_keys_load_refuses_a_file_over_the_cap_and_a_fifo(void **state)
{
    (void)state;
    char err[256];
    auth_keys *k = NULL;
    const char *p = temp_keys_file("{}", 0600);
    assert_int_equal(truncate(p, (off_t)1 << 30), 0); /* sparse: the cap is checked, not read */
    assert_int_equal(auth_keys_load(p, &k, err, sizeof err), -1);
    assert_null(k);
    assert_non_null(strstr(err, p));
    assert_non_null(strstr(err, "over the 1048576-byte cap"));
    unlink(p);
    assert_int_equal(mkfifo(p, 0600), 0); /* refused at once, not waited on */
    assert_int_equal(auth_keys_load(p, &k, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    unlink(p);
}

static void test_auth_keys_load_reports_missing_directories_and_bad_content(void **state)
{
    (void)state;
    char err[256];
    auth_keys *k = NULL;
    assert_int_equal(auth_keys_load("/nonexistent/svcr/keys.json", &k, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/svcr/keys.json"));
    char dir[] = "/tmp/svcr-auth-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(auth_keys_load(dir, &k, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    rmdir(dir);
    char j[512];
    snprintf(j, sizeof j, "{\"keys\":[{\"id\":\"k1\",\"secret\":\"%.20s\"}]}", b64_k1);
    const char *p = temp_keys_file(j, 0600);
    assert_int_equal(auth_keys_load(p, &k, err, sizeof err), -1);
    assert_non_null(strstr(err, p));
    assert_non_null(strstr(err, "keys[0].secret"));
    assert_null(strstr(err, "AQIDBAUG"));
    assert_null(k);
    unlink(p);
    assert_int_equal(auth_keys_load(p, &k, NULL, 0), -1); /* err is optional */
}

/* ---- minting, attenuation, inspection ------------------------------------------------------- */

static void test_auth_mint_refuses_bad_arguments(void **state)
{
    const auth_keys *k = *state;
    char *t = NULL;
    const char *bogus[] = {"registry:everything"};
    const char *ctl = "org:a#k\nscope = registry:operate";
    assert_int_equal(auth_mint(k, "k1", S_ALL, 0, NOW + DAY, NULL, NULL, &t), -1);
    assert_int_equal(auth_mint(k, "k1", bogus, 1, NOW + DAY, NULL, NULL, &t), -1);
    assert_int_equal(auth_mint(k, "k1", S_ALL, 1, 0, NULL, NULL, &t), -1);
    assert_int_equal(auth_mint(k, "k1", S_ALL, 1, RFC3339_MAX_UNIX + 1, NULL, NULL, &t), -1);
    assert_int_equal(auth_mint(k, "k1", S_ALL, 1, NOW + DAY, ctl, NULL, &t), -1);
    assert_int_equal(auth_mint(k, "k1", S_ALL, 1, NOW + DAY, "", NULL, &t), -1);
    assert_int_equal(auth_mint(k, "k1", S_ALL, 1, NOW + DAY, NULL, "p_\t", &t), -1);
    assert_int_equal(auth_mint(k, NULL, S_ALL, 1, NOW + DAY, NULL, NULL, &t), -1);
    assert_int_equal(auth_mint(NULL, "k1", S_ALL, 1, NOW + DAY, NULL, NULL, &t), -1);
    assert_null(t);
    assert_int_equal(auth_attenuate("not a token", NULL, 0, 0, NULL, NULL, &t), -1);
    char *ok = mint_v(k, "k1", S_ALL, NOW + DAY, NULL, NULL);
    assert_int_equal(auth_attenuate(ok, bogus, 1, 0, NULL, NULL, &t), -1);
    assert_int_equal(auth_attenuate(ok, NULL, 0, 0, ctl, NULL, &t), -1);
    assert_null(t);
    free(ok);
    assert_int_equal(auth_scope_known(AUTH_SCOPE_SUPERSEDE), 1);
    assert_int_equal(auth_scope_known("registry:"), 0);
    assert_int_equal(auth_scope_known(NULL), 0);
}

static void test_auth_inspect_lists_caveats_without_signature(void **state)
{
    const auth_keys *k = *state;
    char *tok = mint_v(k, "k1", S_PROP_APPR, NOW + DAY, "org:alpha#key1", NULL);
    char *json = NULL;
    assert_int_equal(auth_inspect(tok, &json), 0);
    assert_string_equal(json, "{\"key_id\":\"k1\",\"location\":\"svc-registry\",\"caveats\":["
                              "\"scope = registry:propose registry:approve\","
                              "\"expires = 2026-11-26T12:00:00Z\","
                              "\"signer = org:alpha#key1\"],\"third_party_caveats\":[]}");
    free(json);
    free(tok);
    const char *const before[] = {"scope = registry:propose", NULL};
    const char *const after[] = {"x = \xff\xfe", NULL};
    tok = third_party_token(secret_k1, sizeof secret_k1, before, after);
    assert_int_equal(auth_inspect(tok, &json), 0);
    assert_string_equal(json, "{\"key_id\":\"k1\",\"location\":\"svc-registry\",\"caveats\":["
                              "\"scope = registry:propose\",\"x = ??\"],"
                              "\"third_party_caveats\":[{\"location\":\"https://auth.example\","
                              "\"identifier\":\"user = alice\"}]}");
    free(json);
    free(tok);
    assert_int_equal(auth_inspect("MDAx", &json), -1);
    assert_int_equal(auth_inspect(NULL, &json), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_missing_or_non_bearer_header_is_401_missing),
        cmocka_unit_test(test_auth_bearer_scheme_is_case_insensitive_and_spaces_are_trimmed),
        cmocka_unit_test(test_auth_malformed_token_is_401_unparsable),
        cmocka_unit_test(test_auth_token_decode_reads_v1_packets_strictly),
        cmocka_unit_test(test_auth_token_signed_with_a_wrong_root_key_is_401),
        cmocka_unit_test(test_auth_unknown_key_id_is_401),
        cmocka_unit_test(test_auth_expired_token_is_401),
        cmocka_unit_test(test_auth_expires_more_than_30_days_ahead_is_401),
        cmocka_unit_test(test_auth_token_without_expires_is_401),
        cmocka_unit_test(test_auth_unreadable_expires_value_is_401),
        cmocka_unit_test(test_auth_every_expires_caveat_must_hold),
        cmocka_unit_test(test_auth_wrong_scope_is_403),
        cmocka_unit_test(test_auth_token_without_scope_caveat_is_403),
        cmocka_unit_test(test_auth_attenuation_narrows_scope),
        cmocka_unit_test(test_auth_attenuation_cannot_widen_scope),
        cmocka_unit_test(test_auth_signer_caveat_on_approve_route_is_returned_in_grant),
        cmocka_unit_test(test_auth_signer_caveat_on_other_route_is_403),
        cmocka_unit_test(test_auth_two_different_signer_caveats_never_hold),
        cmocka_unit_test(test_auth_proposal_caveat_is_returned_and_conflicts_are_403),
        cmocka_unit_test(test_auth_unknown_caveat_is_403),
        cmocka_unit_test(test_auth_third_party_caveat_is_403_once_the_token_is_genuine),
        cmocka_unit_test(test_auth_standard_base64_form_is_accepted),
        cmocka_unit_test(test_auth_several_root_keys_are_chosen_by_id),
        cmocka_unit_test(test_auth_token_minted_by_libmacaroons_directly_verifies),
        cmocka_unit_test(test_auth_grant_is_zero_on_401_and_names_the_key_on_403),
        cmocka_unit_test(test_auth_errors_never_contain_token_or_secret),
        cmocka_unit_test(test_auth_concurrent_checks_give_the_right_answers),
        cmocka_unit_test(test_auth_mutated_tokens_never_gain_authority),
        cmocka_unit_test(test_auth_keys_parse_refuses_bad_files),
        cmocka_unit_test(test_auth_keys_parse_accepts_long_secrets_and_many_keys),
        cmocka_unit_test(test_auth_keys_load_refuses_group_or_other_access),
        cmocka_unit_test(test_auth_keys_load_refuses_a_file_over_the_cap_and_a_fifo),
        cmocka_unit_test(test_auth_keys_load_reports_missing_directories_and_bad_content),
        cmocka_unit_test(test_auth_mint_refuses_bad_arguments),
        cmocka_unit_test(test_auth_inspect_lists_caveats_without_signature),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
