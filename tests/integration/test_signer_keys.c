/* test_signer_keys.c - signer keys through the real binaries (issue 9, defects 1 and 10): a
 * signer set may list a public key once, only usable keys, a bounded proposal_ttl_secs; the
 * server at propose and at start, `svcr trust-roots`, and every verifier of a stored history
 * (`svcr verify-store`, startup verification, `svcr verify-remote`) hold to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/codec.h"
#include "helpers/harness.h"
#include "helpers/raw.h"

/* ---------------------------------------------------------------------------------------- */
/* checking output                                                                            */

/* Fails the test unless `text` contains every one of the NULL-terminated `needles`. */
static void expect_all(const char *what, const char *text, const char *const *needles)
{
    for (size_t i = 0; needles[i]; i++)
        if (!strstr(text, needles[i]))
            fail_msg("%s: expected \"%s\" in: %s", what, needles[i], text);
}

/* ---------------------------------------------------------------------------------------- */
/* proposals                                                                                  */

/* POSTs a proposal for HEAD+1 declaring `k`; fills r (caller frees). */
static void propose_set(srv *s, const fx_keys *k, http_resp *r)
{
    char prev[68];
    uint64_t v = srv_head_version(s, prev);
    char *payload = fx_payload_json(v + 1, prev, k, 0, NULL, NULL);
    char *body = fx_propose_body(payload);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    assert_int_equal(http_post(s, "/registry/proposals", tok, body, r), 0);
    free(tok);
    free(body);
    free(payload);
}

/* The answer is 400 Malformed with details {reason, path} and a message holding `id_a` and
 * `id_b` (either may be NULL). */
static void expect_malformed(const http_resp *r, const char *reason, const char *path,
                             const char *id_a, const char *id_b)
{
    const json_t *e = json_object_get(r->json, "error");
    const json_t *d = json_object_get(e, "details");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *got_reason = json_string_value(json_object_get(d, "reason"));
    const char *got_path = json_string_value(json_object_get(d, "path"));
    if (r->status != 400 || strcmp(http_err_code(r), "Malformed") != 0 || !got_reason ||
        strcmp(got_reason, reason) != 0 || !got_path || strcmp(got_path, path) != 0 || !msg ||
        (id_a && !strstr(msg, id_a)) || (id_b && !strstr(msg, id_b)))
        fail_msg("expected 400 Malformed %s at %s naming %s and %s, got %ld: %s", reason, path,
                 id_a ? id_a : "-", id_b ? id_b : "-", r->status, r->body.data ? r->body.data : "");
}

/* ---------------------------------------------------------------------------------------- */
/* tests                                                                                      */

/* A proposal whose signer_set repeats a key under two ids is 400 naming both entries; weak
 * keys and an unbounded proposal_ttl_secs are 400 naming the field. Nothing is stored. */
static void test_propose_refuses_repeated_and_weak_keys_and_a_huge_ttl(void **state)
{
    srv *s = *state;
    http_resp r;
    fx_keys k = s->gov;
    memcpy(k.s[2].pk, k.s[0].pk, ED25519_PK_LEN);
    propose_set(s, &k, &r);
    expect_malformed(&r, "duplicate_key", "payload.items[0].signers[2].public_key", k.s[0].id,
                     k.s[2].id);
    http_resp_free(&r);
    /* a revoked entry may not repeat a key either */
    k.s[2].revoked = 1;
    propose_set(s, &k, &r);
    expect_malformed(&r, "duplicate_key", "payload.items[0].signers[2].public_key", k.s[0].id,
                     k.s[2].id);
    http_resp_free(&r);
    /* the identity point and an all-zero key can never verify */
    static const uint8_t identity[ED25519_PK_LEN] = {1};
    static const uint8_t zero[ED25519_PK_LEN] = {0};
    const uint8_t *weak[] = {identity, zero};
    for (size_t i = 0; i < 2; i++) {
        k = s->gov;
        memcpy(k.s[1].pk, weak[i], ED25519_PK_LEN);
        propose_set(s, &k, &r);
        expect_malformed(&r, "weak_key", "payload.items[0].signers[1].public_key", k.s[1].id, NULL);
        http_resp_free(&r);
    }
    /* proposal_ttl_secs 10^12 and 2^53 - 1 would put expires_at past year 9999 */
    static const uint64_t ttls[] = {1000000000000ULL, 9007199254740991ULL};
    for (size_t i = 0; i < 2; i++) {
        k = s->gov;
        k.ttl_secs = ttls[i];
        propose_set(s, &k, &r);
        expect_malformed(&r, "out_of_range", "payload.items[0].proposal_ttl_secs", NULL, NULL);
        http_resp_free(&r);
    }
    http_resp pend;
    assert_int_equal(http_get(s, "/registry/proposals", &pend), 0);
    assert_int_equal(pend.status, 200);
    assert_null(strstr(pend.body.data, "\"p_"));
    http_resp_free(&pend);
    /* the set as it is proposes fine, and its expires_at is a time */
    k = s->gov;
    k.ttl_secs = 31536000;
    propose_set(s, &k, &r);
    assert_int_equal(r.status, 202);
    const char *exp = json_string_value(json_object_get(r.json, "expires_at"));
    assert_non_null(exp);
    assert_int_equal(strlen(exp), 24);
    http_resp_free(&r);
}

/* Starts the server on a fresh data dir with `roots` as its trust roots; it must exit 2 with
 * output naming every one of `needles` (paths are matched within the item, so the check holds
 * whichever prefix the server puts before them). */
static void expect_start_refused(const srv *s, const char *name, const fx_keys *roots,
                                 const char *const *needles)
{
    char path[400], data[400];
    snprintf(path, sizeof path, "%s/roots-%s.json", s->dir, name);
    snprintf(data, sizeof data, "%s/data-%s", s->dir, name);
    char *rj = fx_signer_set_json(roots);
    write_text(path, rj, 0600);
    free(rj);
    srv_run run = {.data_dir = data, .roots_path = path};
    buf out = {0};
    int st = srv_run_to_exit(s, &run, &out, 20);
    if (st != 2)
        fail_msg("%s: expected exit 2, got %d: %s", name, st, out.data);
    expect_all(name, out.data, needles);
    buf_free(&out);
}

/* A trust-roots file that repeats a key (or holds a weak key, or an unbounded ttl) stops the
 * server at start with status 2 and a message naming the problem. */
static void test_server_refuses_to_start_on_bad_trust_roots(void **state)
{
    srv *s = *state;
    fx_keys k = s->gov;
    memcpy(k.s[1].pk, k.s[0].pk, ED25519_PK_LEN);
    const char *dup[] = {"signers[1].public_key", k.s[0].id, k.s[1].id, "same public_key", NULL};
    expect_start_refused(s, "dupkey", &k, dup);
    k = s->gov;
    memset(k.s[0].pk, 0, ED25519_PK_LEN);
    k.s[0].pk[0] = 1; /* the identity */
    const char *weak[] = {"signers[0].public_key", k.s[0].id, NULL};
    expect_start_refused(s, "weakkey", &k, weak);
    k = s->gov;
    k.ttl_secs = 1000000000000ULL;
    const char *ttl[] = {"proposal_ttl_secs", "out of range", NULL};
    expect_start_refused(s, "ttl", &k, ttl);
}

/* Writes a public signer entry for (id, pk) to dir/name; returns the path in out. */
static void write_entry(const char *dir, const char *name, const char *id,
                        const uint8_t pk[ED25519_PK_LEN], char out[400])
{
    char b64[64], text[512];
    b64_encode(pk, ED25519_PK_LEN, b64, sizeof b64, B64_STD);
    snprintf(text, sizeof text, "{\"signer_id\":\"%s\",\"algo\":\"ed25519\",\"public_key\":\"%s\"}",
             id, b64);
    snprintf(out, 400, "%s/%s", dir, name);
    write_text(out, text, 0600);
}

/* `svcr trust-roots` checks the set as the registry does: two PUBFILEs with the same key, a
 * weak key, or --ttl beyond 365 days are refused with status 2. */
static void test_svcr_trust_roots_refuses_one_key_in_two_pubfiles(void **state)
{
    srv *s = *state;
    char a[400], b[400], c[400], z[400];
    write_entry(s->dir, "a.pub", "org:alpha#key1", s->gov.s[0].pk, a);
    write_entry(s->dir, "b.pub", "org:beta#key1", s->gov.s[0].pk, b);
    write_entry(s->dir, "c.pub", "org:gamma#key1", s->gov.s[1].pk, c);
    static const uint8_t zero[ED25519_PK_LEN] = {0};
    write_entry(s->dir, "z.pub", "org:zero#key1", zero, z);
    buf out = {0};
    const char *dup[] = {srv_cli_bin(), "trust-roots", "--m", "1", a, b, NULL};
    assert_int_equal(run_to_exit(dup, &out, 20), 2);
    const char *dup_names[] = {"org:alpha#key1", "org:beta#key1", "same public_key", NULL};
    expect_all("trust-roots a b", out.data, dup_names);
    buf_reset(&out);
    const char *weak[] = {srv_cli_bin(), "trust-roots", "--m", "1", a, z, NULL};
    assert_int_equal(run_to_exit(weak, &out, 20), 2);
    const char *weak_names[] = {"trust_roots.signers[1].public_key", "org:zero#key1", NULL};
    expect_all("trust-roots a z", out.data, weak_names);
    buf_reset(&out);
    const char *ttl[] = {srv_cli_bin(), "trust-roots", "--m", "1", "--ttl", "366d", a, c, NULL};
    assert_int_equal(run_to_exit(ttl, &out, 20), 2);
    const char *ttl_names[] = {"--ttl", NULL};
    expect_all("trust-roots --ttl 366d", out.data, ttl_names);
    buf_reset(&out);
    const char *ok[] = {srv_cli_bin(), "trust-roots", "--m", "2", "--ttl", "365d", a, c, NULL};
    assert_int_equal(run_to_exit(ok, &out, 20), 0);
    const char *ok_names[] = {"\"proposal_ttl_secs\":31536000", "trust_roots_hash: b3:", NULL};
    expect_all("trust-roots a c", out.data, ok_names);
    buf_free(&out);
}

/* A stored history in which one key approved a version twice (written past validation):
 * `svcr verify-store`, the server's startup verification (/readyz) and `svcr verify-remote`
 * against that server all refuse it, naming version 1 (the set that listed the key twice). */
static void test_every_verifier_refuses_a_history_where_one_key_approved_twice(void **state)
{
    (void)state;
    srv h;
    srv_prepare(&h, 3, 2);
    fx_keys d;
    fx_keys_one_key_twice(&d);
    const fx_keys *a = &h.gov;
    const fx_keys *sets[] = {&d, a, a};
    const fx_hand_approval apps[][2] = {
        {{a->s[0].id, a->s[0].sk}, {a->s[1].id, a->s[1].sk}},
        {{d.s[0].id, d.s[0].sk}, {d.s[1].id, d.s[0].sk}}, /* one key, as two signers */
        {{a->s[0].id, a->s[0].sk}, {a->s[1].id, a->s[1].sk}},
    };
    fx_write_hand_store(h.data_dir, a, sets, apps, 3);
    const char *want = "version 1: artifact is not a valid signed artifact (duplicate_key";

    buf out = {0};
    const char *vs[] = {srv_cli_bin(), "verify-store", h.data_dir, NULL};
    int st = run_to_exit(vs, &out, 60);
    if (st != 1 || !strstr(out.data, want))
        fail_msg("verify-store: expected exit 1 naming version 1, got %d: %s", st, out.data);
    buf_reset(&out);

    srv_start(&h, NULL);
    http_resp r;
    assert_int_equal(http_get(&h, "/readyz", &r), 0);
    if (r.status != 503 || !strstr(r.body.data, "\"chain\""))
        fail_msg("readyz: expected 503 with chain missing, got %ld: %s", r.status, r.body.data);
    http_resp_free(&r);

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", h.port);
    const char *vr[] = {srv_cli_bin(),   "verify-remote", "--url", url,
                        "--trust-roots", h.roots_path,    NULL};
    st = run_to_exit(vr, &out, 60);
    if (st != 1 || !strstr(out.data, want))
        fail_msg("verify-remote: expected exit 1 naming version 1, got %d: %s", st, out.data);
    buf_free(&out);
    assert_int_equal(srv_stop(&h), 0);
    srv_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_propose_refuses_repeated_and_weak_keys_and_a_huge_ttl,
                                        srv_setup_started, srv_teardown_exit_0),
        cmocka_unit_test_setup_teardown(test_server_refuses_to_start_on_bad_trust_roots,
                                        srv_setup_started, srv_teardown_exit_0),
        cmocka_unit_test_setup_teardown(test_svcr_trust_roots_refuses_one_key_in_two_pubfiles,
                                        srv_setup_started, srv_teardown_exit_0),
        cmocka_unit_test(test_every_verifier_refuses_a_history_where_one_key_approved_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
