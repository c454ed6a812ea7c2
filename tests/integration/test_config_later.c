/* test_config_later.c - keys that no code of this build reads yet (retention.*,
 * storage.checkpoint_interval, limits.decompress_ratio_cap, tls/uds/otel details …) are refused
 * by the real binary at startup and on SIGHUP when set to anything but their default, naming the
 * key; at their defaults the server starts as before. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/harness.h"
#include "helpers/raw.h"

static void test_a_key_no_code_reads_is_refused_unless_at_its_default(void **state)
{
    (void)state;
    srv s;
    srv_prepare(&s, 3, 2);
    static const char *const cases[][3] = {
        {"--retention-by-count", "5", "retention.by_count"},
        {"--storage-checkpoint-interval", "1m", "storage.checkpoint_interval"},
        {"--limits-decompress-ratio-cap", "20", "limits.decompress_ratio_cap"},
        {"--otel-endpoint", "http://127.0.0.1:4318", "otel.endpoint"},
        {"--uds-allow-uids", "0", "uds.allow_uids"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *extra[] = {cases[i][0], cases[i][1], NULL};
        srv_run o = {.extra = extra};
        buf out = {0};
        assert_int_equal(srv_run_to_exit(&s, &o, &out, 10), 2);
        if (!strstr(out.data, cases[i][2]))
            fail_msg("%s %s: the refusal does not name %s: %s", cases[i][0], cases[i][1],
                     cases[i][2], out.data);
        buf_free(&out);
    }
    /* at the default value the key is accepted */
    const char *extra[] = {"--retention-by-count", "10000", NULL};
    srv_start(&s, extra);
    /* a SIGHUP that would set one is refused and counted; the old snapshot keeps running */
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/later.toml", s.dir);
    write_text(cfg, "[retention]\nby_count = 5\n", 0600);
    assert_int_equal(srv_stop(&s), 0);
    const char *with_cfg[] = {"--config", cfg, NULL};
    srv_run o = {.extra = with_cfg};
    buf out = {0};
    assert_int_equal(srv_run_to_exit(&s, &o, &out, 10), 2);
    buf_free(&out);
    write_text(cfg, "[retention]\nby_count = 10000\n", 0600);
    srv_start(&s, with_cfg);
    write_text(cfg, "[retention]\nby_count = 5\n", 0600);
    assert_int_equal(kill(s.pid, SIGHUP), 0);
    assert_int_equal(wait_metric(&s, "registry_reload_fail_total{reason=\"invalid\"}", 1, 5), 1);
    http_resp r;
    assert_int_equal(http_get(&s, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_int_equal(srv_finish(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_key_no_code_reads_is_refused_unless_at_its_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
