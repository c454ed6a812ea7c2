/* test_wire_text.c - what text the real binary takes on the wire: RFC 3339 times of any precision
 * (truncated past nanoseconds) in payloads and capability caveats, and the printable-text rule of
 * SPEC §2.2 for ids, signer ids, orgs, supersede notes and freeze reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <macaroons.h>

#include "helpers/harness.h"
#include "interop/rfc3339.h"

/* "YYYY-MM-DDTHH:MM:SS.<digits>Z" for unix time t. */
static void long_fraction(time_t t, const char *digits, char out[96])
{
    char base[32];
    assert_int_equal(rfc3339_format((int64_t)t, base), 20);
    snprintf(out, 96, "%.19s.%sZ", base, digits);
}

/* token with one more first-party caveat (libmacaroons, as any client library would add it). */
static char *with_caveat(const char *token, const char *caveat)
{
    enum macaroon_returncode e = MACAROON_SUCCESS;
    struct macaroon *m = macaroon_deserialize(token, &e);
    assert_non_null(m);
    struct macaroon *n =
        macaroon_add_first_party_caveat(m, (const unsigned char *)caveat, strlen(caveat), &e);
    assert_non_null(n);
    size_t cap = macaroon_serialize_size_hint(n) + 1;
    char *out = malloc(cap);
    assert_int_equal(macaroon_serialize(n, out, cap, &e), 0);
    macaroon_destroy(m);
    macaroon_destroy(n);
    return out;
}

static void test_times_with_more_than_nine_fraction_digits_are_accepted(void **state)
{
    srv *s = *state;
    char created[96], expires[96];
    long_fraction(time(NULL), "123456789012", created);
    char *body = srv_next_propose_body(s, "precise");
    /* add created_at to the payload */
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    json_object_set_new(json_object_get(j, "payload"), "created_at", json_string(created));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(body);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    long_fraction(time(NULL) + 300, "999999999999999", expires);
    char caveat[128];
    snprintf(caveat, sizeof caveat, "expires = %s", expires);
    char *tok2 = with_caveat(tok, caveat);
    http_resp r;
    assert_int_equal(http_post(s, "/registry/proposals", tok2, text, &r), 0);
    if (r.status != 202)
        print_message("# %ld %s\n", r.status, r.body.data ? r.body.data : "");
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
    free(text);
    free(tok);
    free(tok2);
}

/* Proposes the next payload after `edit` changed it; returns the answer (caller frees). */
static void propose_edited(srv *s, void (*edit)(json_t *payload, const char *text),
                           const char *text, http_resp *r)
{
    char *body = srv_next_propose_body(s, "plain");
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    edit(json_object_get(j, "payload"), text);
    char *out = json_dumps(j, JSON_COMPACT);
    char *tok = srv_token(s, "registry:propose", 600, NULL, NULL);
    assert_int_equal(http_post(s, "/registry/proposals", tok, out, r), 0);
    free(tok);
    free(out);
    json_decref(j);
    free(body);
}

static json_t *item_of_kind(json_t *payload, const char *kind)
{
    json_t *items = json_object_get(payload, "items");
    for (size_t i = 0; i < json_array_size(items); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(items, i), "kind")), kind) == 0)
            return json_array_get(items, i);
    fail();
    return NULL;
}

static void edit_service_id(json_t *payload, const char *text)
{
    json_object_set_new(item_of_kind(payload, "service"), "id", json_string(text));
}

static void edit_region(json_t *payload, const char *text)
{
    json_t *items = json_object_get(payload, "items");
    json_array_append_new(items, json_pack("{s:s, s:s}", "kind", "region", "id", text));
}

static void edit_signer_id(json_t *payload, const char *text)
{
    json_t *signers = json_object_get(item_of_kind(payload, "signer_set"), "signers");
    json_object_set_new(json_array_get(signers, 2), "signer_id", json_string(text));
}

static void edit_org(json_t *payload, const char *text)
{
    json_t *signers = json_object_get(item_of_kind(payload, "signer_set"), "signers");
    json_object_set_new(json_array_get(signers, 0), "org", json_string(text));
}

static void expect_not_printable(const http_resp *r, const char *path_part)
{
    if (r->status != 400)
        print_message("# %ld %s\n", r->status, r->body.data ? r->body.data : "");
    assert_int_equal(r->status, 400);
    assert_string_equal(http_err_code(r), "Malformed");
    json_t *d = json_object_get(json_object_get(r->json, "error"), "details");
    assert_string_equal(json_string_value(json_object_get(d, "reason")), "not_printable");
    assert_non_null(strstr(json_string_value(json_object_get(d, "path")), path_part));
}

static void test_text_that_could_rewrite_a_terminal_is_refused(void **state)
{
    srv *s = *state;
    static const char *const hostile[] = {
        "svc:a\n  (no item changes)", /* a fake line */
        "svc:b\r\x1b[2K",             /* rewrite the line */
        "svc:c\x1b[8m",               /* conceal what follows */
        "svc:d\x1b]0;title\x07",      /* OSC to the terminal */
        "x\xe2\x80\xae"
        "gnp.exe", /* U+202E right-to-left override */
        "svc:\xe2\x80\x8b"
        "zero", /* U+200B zero-width space */
        "svc:\xc2\x85"
        "next",        /* U+0085, a C1 control */
        "svc:del\x7f", /* DEL */
        "svc:\xef\xbb\xbf"
        "bom", /* U+FEFF */
        "svc:\xe2\x81\xa6"
        "isolate", /* U+2066 */
    };
    http_resp r;
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        propose_edited(s, edit_service_id, hostile[i], &r);
        expect_not_printable(&r, ".id");
        http_resp_free(&r);
    }
    propose_edited(s, edit_region, "eu\x1b[31m", &r);
    expect_not_printable(&r, ".id");
    http_resp_free(&r);
    propose_edited(s, edit_signer_id, "org:o02#k1\n~ signer_set governance", &r);
    expect_not_printable(&r, "signer_id");
    http_resp_free(&r);
    propose_edited(s, edit_org, "alpha\xe2\x80\x8f", &r);
    expect_not_printable(&r, "org");
    http_resp_free(&r);
    /* ordinary Unicode is text */
    propose_edited(s, edit_service_id, "svc:caf\xc3\xa9-\xe2\x9c\x93", &r);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
    /* a freeze reason is printed in audit reviews too */
    char *tok = srv_token(s, "registry:operate", 600, NULL, NULL);
    assert_int_equal(
        http_post(s, "/registry/admin/freeze", tok, "{\"reason\":\"disk\\u001b[8m\"}", &r), 0);
    assert_int_equal(r.status, 400);
    assert_string_equal(http_err_code(&r), "Malformed");
    http_resp_free(&r);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times_with_more_than_nine_fraction_digits_are_accepted),
        cmocka_unit_test(test_text_that_could_rewrite_a_terminal_is_refused),
    };
    return cmocka_run_group_tests(tests, srv_setup_started, srv_teardown_exit_0);
}
