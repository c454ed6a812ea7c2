/* test_pending_limits.c - open proposals against the real binary: memory bounded by their bytes
 * (not parsed trees), before and after a restart; limits.pending_bytes and each root key's share
 * (one proposer cannot lock the others out, across restarts); /readyz and a gauge say when the
 * registry is full; the pending list is paginated; a proposal's body is its canonical bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "crypto/codec.h"
#include "helpers/harness.h"
#include "helpers/raw.h"
#include "interop/jcs.h"

/* Resident set of pid, KiB (0 if unreadable). */
static long rss_kib(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    char *st = slurp(path);
    const char *p = st ? strstr(st, "VmRSS:") : NULL;
    long kib = p ? strtol(p + 6, NULL, 10) : 0;
    free(st);
    return kib;
}

/* A proposal request for HEAD+1 whose payload carries `regions` extra region items, tagged
 * `tag` (so every call makes a different payload). Caller frees. */
static char *big_body(const srv *s, const char *tag, size_t regions)
{
    char *body = srv_next_propose_body(s, tag);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(j);
    json_t *items = json_object_get(json_object_get(j, "payload"), "items");
    for (size_t i = 0; i < regions; i++) {
        char id[48];
        snprintf(id, sizeof id, "r-%s-%06zu", tag, i);
        json_array_append_new(items, json_pack("{s:s, s:s}", "kind", "region", "id", id));
    }
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

/* A capability minted from root key `key_id` for the propose scope. */
static char *token_of(const srv *s, const char *key_id)
{
    const char *scopes[] = {"registry:propose"};
    char *out = NULL;
    assert_int_equal(
        auth_mint(s->keys, key_id, scopes, 1, (int64_t)time(NULL) + 600, NULL, NULL, &out), 0);
    return out;
}

/* Writes root keys k1..kn into s's keys file and loads them for minting. */
static void many_root_keys(srv *s, int n)
{
    buf b = {0};
    buf_puts(&b, "{\"keys\":[");
    for (int k = 1; k <= n; k++) {
        uint8_t secret[32];
        char b64[64];
        for (int i = 0; i < 32; i++)
            secret[i] = (uint8_t)(i * 7 + k * 13);
        b64_encode(secret, sizeof secret, b64, sizeof b64, B64_STD);
        buf_printf(&b, "%s{\"id\":\"k%d\",\"secret\":\"%s\"}", k > 1 ? "," : "", k, b64);
    }
    buf_puts(&b, "]}");
    write_text(s->keys_path, b.data, 0600);
    buf_free(&b);
    auth_keys_free(s->keys);
    char err[256];
    assert_int_equal(auth_keys_load(s->keys_path, &s->keys, err, sizeof err), 0);
}

static long propose_as(const srv *s, const char *key_id, const char *body, char reason[64])
{
    char *tok = token_of(s, key_id);
    http_resp r;
    assert_int_equal(http_post(s, "/registry/proposals", tok, body, &r), 0);
    free(tok);
    long st = r.status;
    const char *why = json_string_value(
        json_object_get(json_object_get(json_object_get(r.json, "error"), "details"), "reason"));
    snprintf(reason, 64, "%s", why ? why : "");
    http_resp_free(&r);
    return st;
}

/* 1 if the server runs under AddressSanitizer (its quarantine keeps freed memory resident, so
 * resident-set bounds say nothing there). */
static int under_asan(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    char *maps = slurp(path);
    int asan = maps && strstr(maps, "libasan");
    free(maps);
    return asan;
}

static void test_pending_memory_is_bounded_by_bytes_even_after_restart(void **state)
{
    (void)state;
    srv s;
    srv_prepare(&s, 3, 2);
    many_root_keys(&s, 1);
    srv_start(&s, NULL);
    int asan = under_asan(s.pid);
    long base = rss_kib(s.pid);
    size_t total = 0;
    char reason[64];
    for (int i = 0; i < 12; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "m%02d", i);
        char *body = big_body(&s, tag, 27000); /* ~0.96 MB */
        total += strlen(body);
        assert_int_equal(propose_as(&s, "k1", body, reason), 202);
        free(body);
    }
    long grown = rss_kib(s.pid) - base;
    print_message("# %zu KiB of proposals: RSS +%ld KiB (was about 21 x)%s\n", total / 1024, grown,
                  asan ? "; AddressSanitizer build: RSS not judged" : "");
    assert_true(asan || grown * 1024 < (long)(3 * total));
    assert_true(metric(&s, "registry_pending_bytes") > (long long)(total / 2));
    assert_int_equal(srv_stop(&s), 0);
    srv_start(&s, NULL);
    long after = rss_kib(s.pid);
    print_message("# after a restart with them pending: RSS %ld KiB (baseline %ld)\n", after, base);
    assert_true(asan || (after - base) * 1024 < (long)(3 * total));
    assert_int_equal(metric(&s, "registry_pending_proposals"), 12);
    assert_int_equal(srv_finish(&s), 0);
}

static void test_a_root_key_holds_only_its_share_and_full_is_visible(void **state)
{
    (void)state;
    srv s;
    srv_prepare(&s, 3, 2);
    many_root_keys(&s, 5);
    const char *extra[] = {"--limits-pending-bytes", "1MiB", NULL}; /* a key: 256 KiB */
    srv_start(&s, extra);
    char reason[64];
    int n = 0;
    for (int k = 1; k <= 4; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        for (int i = 0; i < 4; i++) {
            char tag[32];
            snprintf(tag, sizeof tag, "s%d%d", k, i);
            char *body = big_body(&s, tag, 1500); /* ~57 KiB */
            assert_int_equal(propose_as(&s, key, body, reason), 202);
            free(body);
            n++;
        }
    }
    /* k1's fifth would pass its quarter: refused, while k5 still gets in */
    char *body = big_body(&s, "s15", 1500);
    assert_int_equal(propose_as(&s, "k1", body, reason), 429);
    assert_string_equal(reason, "pending_share");
    free(body);
    body = big_body(&s, "s50", 1500);
    assert_int_equal(propose_as(&s, "k5", body, reason), 202);
    free(body);
    http_resp r;
    assert_int_equal(http_get(&s, "/readyz", &r), 0);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body.data, "pending_cap"));
    http_resp_free(&r);
    /* k5 goes on until the whole budget is held: refused for the budget, not its share */
    long st = 202;
    for (int i = 1; i < 4 && st == 202; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "s5%d", i);
        body = big_body(&s, tag, 1500);
        st = propose_as(&s, "k5", body, reason);
        free(body);
    }
    assert_int_equal(st, 429);
    assert_string_equal(reason, "pending_bytes");
    assert_int_equal(http_get(&s, "/readyz", &r), 0);
    assert_non_null(strstr(r.body.data, "\"pending_cap\""));
    assert_non_null(strstr(r.body.data, "\"write_ready\":true"));
    http_resp_free(&r);
    /* the share survives a restart: the key ids are stored with the proposals */
    assert_int_equal(srv_stop(&s), 0);
    srv_start(&s, extra);
    body = big_body(&s, "s16", 1500);
    assert_int_equal(propose_as(&s, "k1", body, reason), 429);
    free(body);
    assert_int_equal(srv_finish(&s), 0);
}

static void test_pending_list_is_paginated(void **state)
{
    (void)state;
    srv s;
    srv_start_fresh(&s, NULL);
    char *tok = srv_token(&s, "registry:propose", 600, NULL, NULL);
    for (int i = 0; i < 5; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "page%d", i);
        char *body = srv_next_propose_body(&s, tag);
        http_resp r;
        assert_int_equal(http_post(&s, "/registry/proposals", tok, body, &r), 0);
        assert_int_equal(r.status, 202);
        http_resp_free(&r);
        free(body);
        sleep_ms(2); /* distinct acceptance times are not needed, but make the order visible */
    }
    free(tok);
    char path[160] = "/registry/proposals?limit=2";
    int seen = 0, pages = 0;
    char last_id[32] = "";
    for (;;) {
        http_resp r;
        assert_int_equal(http_get(&s, path, &r), 0);
        assert_int_equal(r.status, 200);
        json_t *list = json_object_get(r.json, "proposals");
        assert_true(json_array_size(list) <= 2);
        for (size_t i = 0; i < json_array_size(list); i++) {
            const char *id =
                json_string_value(json_object_get(json_array_get(list, i), "proposal_id"));
            assert_string_not_equal(id, last_id);
            snprintf(last_id, sizeof last_id, "%s", id);
            seen++;
        }
        pages++;
        const json_t *next = json_object_get(r.json, "next");
        if (json_is_null(next)) {
            http_resp_free(&r);
            break;
        }
        snprintf(path, sizeof path, "/registry/proposals?limit=2&after=%s",
                 json_string_value(next));
        http_resp_free(&r);
    }
    assert_int_equal(seen, 5);
    assert_int_equal(pages, 3);
    http_resp r;
    assert_int_equal(http_get(&s, "/registry/proposals?after=nonsense", &r), 0);
    assert_int_equal(r.status, 400);
    http_resp_free(&r);
    assert_int_equal(http_get(&s, "/registry/proposals?limit=1001", &r), 0);
    assert_int_equal(r.status, 400);
    http_resp_free(&r);
    assert_int_equal(srv_finish(&s), 0);
}

/* The payload member of a response body, canonicalized. Caller frees. */
static char *payload_jcs(const char *text)
{
    json_t *j = jcs_parse(text, strlen(text), 0, NULL);
    assert_non_null(j);
    buf b = {0};
    assert_int_equal(jcs_write(&b, json_object_get(j, "payload"), NULL), 0);
    json_decref(j);
    return buf_steal(&b, NULL);
}

static void test_proposal_bodies_carry_the_exact_payload(void **state)
{
    (void)state;
    srv s;
    srv_start_fresh(&s, NULL);
    char id[27], b3[68], path[96];
    srv_cycle(&s, "exact", id, b3);
    snprintf(path, sizeof path, "/registry/proposals/%s", id);
    http_resp pr, art;
    assert_int_equal(http_get(&s, path, &pr), 0);
    assert_int_equal(pr.status, 200);
    assert_string_equal(json_string_value(json_object_get(pr.json, "status")), "committed");
    assert_int_equal(http_get(&s, "/registry/1", &art), 0);
    char *a = payload_jcs(art.body.data), *p = payload_jcs(pr.body.data);
    assert_string_equal(a, p);
    /* and the body of the proposal is canonical JSON itself */
    buf canon = {0};
    assert_int_equal(jcs_canonicalize(pr.body.data, pr.body.len, 0, &canon, NULL), 0);
    assert_int_equal(canon.len, pr.body.len);
    assert_memory_equal(canon.data, pr.body.data, canon.len);
    buf_free(&canon);
    free(a);
    free(p);
    http_resp_free(&pr);
    http_resp_free(&art);
    assert_int_equal(srv_finish(&s), 0);
}

static void test_reads_that_grow_with_the_data_have_their_own_rate(void **state)
{
    (void)state;
    srv s;
    const char *extra[] = {"--limits-list-rps", "5", NULL};
    srv_start_fresh(&s, extra);
    int list_busy = 0, head_busy = 0;
    for (int i = 0; i < 40; i++) {
        http_resp r;
        assert_int_equal(http_get(&s, i % 2 ? "/registry/proposals" : "/registry/audit", &r), 0);
        if (r.status == 429) {
            list_busy++;
            assert_string_equal(http_err_code(&r), "Busy");
        }
        http_resp_free(&r);
        assert_int_equal(http_get(&s, "/registry/head", &r), 0);
        head_busy += r.status == 429;
        http_resp_free(&r);
    }
    print_message("# limits.list_rps 5: %d of 40 list reads refused, %d head reads\n", list_busy,
                  head_busy);
    assert_true(list_busy >= 20);
    assert_int_equal(head_busy, 0); /* O(1) reads keep their own (unlimited) bucket */
    assert_int_equal(srv_finish(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending_memory_is_bounded_by_bytes_even_after_restart),
        cmocka_unit_test(test_a_root_key_holds_only_its_share_and_full_is_visible),
        cmocka_unit_test(test_pending_list_is_paginated),
        cmocka_unit_test(test_proposal_bodies_carry_the_exact_payload),
        cmocka_unit_test(test_reads_that_grow_with_the_data_have_their_own_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
