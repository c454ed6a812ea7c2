/* test_trust_roots_file.c - the files the registry trusts, read by the real binary: a size cap,
 * errors that name the key and the path, and no group/other-writable trust roots, root keys or
 * config file (issue 9, defect 12). Every refusal is exit status 2, and quick. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/harness.h"
#include "helpers/raw.h"

/* ---------------------------------------------------------------------------------------- */
/* small utilities                                                                            */

/* Starts the binary on s's data dir with these trust roots, root keys and extra flags (NULL:
 * none) and expects exit 2 within `max_s` seconds with every string of `must` in its output. */
static void expect_exit_2(const srv *s, const char *roots, const char *keys,
                          const char *const *extra, double max_s, const char *const *must)
{
    srv_run run = {.roots_path = roots, .keys_path = keys, .extra = extra};
    buf out = {0};
    double t0 = now_s();
    int st = srv_run_to_exit(s, &run, &out, 10);
    double took = now_s() - t0;
    if (st != 2)
        fail_msg("want exit 2, got %d: %s", st, out.data);
    for (int i = 0; must[i]; i++)
        if (!strstr(out.data, must[i]))
            fail_msg("the output does not name \"%s\": %s", must[i], out.data);
    if (took > max_s)
        fail_msg("exit 2 took %.2f s (at most %.1f s expected)", took, max_s);
    buf_free(&out);
}

/* ---------------------------------------------------------------------------------------- */
/* tests                                                                                      */

static void test_trust_roots_over_the_cap_exit_2_at_once_naming_key_and_path(void **state)
{
    srv *s = *state;
    char big[400];
    snprintf(big, sizeof big, "%s/roots-1g.json", s->dir);
    write_text(big, "", 0600);
    assert_int_equal(truncate(big, (off_t)1 << 30), 0); /* sparse: costs no disk */
    const char *must[] = {"bootstrap.trust_roots_path", big, "cap", NULL};
    expect_exit_2(s, big, s->keys_path, NULL, 2.0, must);
    unlink(big);
}

static void test_malformed_trust_roots_exit_2_naming_key_path_and_place(void **state)
{
    srv *s = *state;
    char bad[400];
    snprintf(bad, sizeof bad, "%s/roots-bad.json", s->dir);
    /* not JSON at all */
    write_text(bad, "{\"kind\": ", 0600);
    const char *must_json[] = {"bootstrap.trust_roots_path", bad, NULL};
    expect_exit_2(s, bad, s->keys_path, NULL, 5.0, must_json);
    /* JSON, but the second signer's public key is not a key */
    char *set = fx_signer_set_json(&s->gov);
    char *second = strstr(strstr(set, "\"public_key\":\"") + 1, "\"public_key\":\"");
    assert_non_null(second);
    second += strlen("\"public_key\":\"");
    memset(second, '!', 8);
    write_text(bad, set, 0600);
    free(set);
    const char *must_key[] = {"bootstrap.trust_roots_path", bad, "signers[1]", NULL};
    expect_exit_2(s, bad, s->keys_path, NULL, 5.0, must_key);
    /* a pin that does not match names the pin's key and the file */
    const char *pin[] = {"--bootstrap-trust-roots-hash",
                         "b3:0000000000000000000000000000000000000000000000000000000000000000",
                         NULL};
    const char *must_pin[] = {"bootstrap.trust_roots_hash", s->roots_path, NULL};
    expect_exit_2(s, s->roots_path, s->keys_path, pin, 5.0, must_pin);
}

static void test_group_or_other_writable_trusted_files_exit_2(void **state)
{
    srv *s = *state;
    char roots[400], keys[400], conf[400], *text;
    snprintf(roots, sizeof roots, "%s/roots-open.json", s->dir);
    snprintf(keys, sizeof keys, "%s/keys-open.json", s->dir);
    snprintf(conf, sizeof conf, "%s/open.toml", s->dir);
    const mode_t modes[] = {0666, 0620};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        text = fx_signer_set_json(&s->gov);
        write_text(roots, text, modes[i]);
        free(text);
        const char *must_roots[] = {"bootstrap.trust_roots_path", roots, NULL};
        expect_exit_2(s, roots, s->keys_path, NULL, 5.0, must_roots);

        FILE *f = fopen(s->keys_path, "r");
        assert_non_null(f);
        char kt[512] = "";
        assert_true(fread(kt, 1, sizeof kt - 1, f) > 0);
        fclose(f);
        write_text(keys, kt, modes[i]);
        const char *must_keys[] = {"auth.root_keys_path", keys, NULL};
        expect_exit_2(s, s->roots_path, keys, NULL, 5.0, must_keys);

        write_text(conf, "max_conns = 64\n", modes[i]);
        const char *cfg[] = {"--config", conf, NULL};
        const char *must_conf[] = {"config file", conf, NULL};
        expect_exit_2(s, s->roots_path, s->keys_path, cfg, 5.0, must_conf);
    }
    /* readable by all but writable by the owner only, trust roots and config start (the
     * harness's own fixtures are 0600) */
    text = fx_signer_set_json(&s->gov);
    write_text(s->roots_path, text, 0644);
    free(text);
    write_text(conf, "max_conns = 64\n", 0644);
    const char *ok[] = {"--config", conf, NULL};
    srv_start(s, ok);
    assert_int_equal(srv_cycle(s, "safe", NULL, NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_trust_roots_over_the_cap_exit_2_at_once_naming_key_and_path, srv_setup,
            srv_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_trust_roots_exit_2_naming_key_path_and_place,
                                        srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_group_or_other_writable_trusted_files_exit_2,
                                        srv_setup, srv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
