/* test_store_lock.c - one process per data directory: the real binary, started twice on one
 * store, and the read-only verifier beside a live server (issue 9, defect 7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/harness.h"
#include "helpers/raw.h"

/* ---------------------------------------------------------------------------------------- */
/* small utilities                                                                            */

/* The pid <data_dir>/LOCK names, 0 if none. */
static long lock_file_pid(const srv *s)
{
    char path[400], text[32] = "";
    snprintf(path, sizeof path, "%s/LOCK", s->data_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long pid = fgets(text, sizeof text, f) ? atol(text) : 0;
    fclose(f);
    return pid;
}

/* ---------------------------------------------------------------------------------------- */
/* tests                                                                                      */

static void test_a_second_server_on_the_same_data_dir_exits_2_naming_the_holder(void **state)
{
    srv *s = *state;
    srv_start(s, NULL);
    assert_int_equal(srv_cycle(s, "before", NULL, NULL), 1);
    unsigned port2 = srv_free_port();
    char want_pid[32];
    const char *limits[] = {"--limits-rps", "0", NULL};
    srv_run second = {.port = port2, .extra = limits};
    buf out = {0};
    double t0 = now_s();
    int st = srv_run_to_exit(s, &second, &out, 10);
    double took = now_s() - t0;
    snprintf(want_pid, sizeof want_pid, "pid %ld", (long)s->pid);
    if (st != 2 || !strstr(out.data, s->data_dir) || !strstr(out.data, want_pid))
        fail_msg("want exit 2 naming %s and %s, got %d: %s", s->data_dir, want_pid, st, out.data);
    assert_true(took < 5.0);
    buf_free(&out);
    /* the second never listened */
    srv other = *s;
    other.port = port2;
    http_resp r;
    assert_int_equal(http_get(&other, "/healthz", &r), -1);
    http_resp_free(&r);
    /* the first keeps serving reads and writes, and still holds the directory */
    assert_int_equal(lock_file_pid(s), (long)s->pid);
    assert_int_equal(srv_cycle(s, "after", NULL, NULL), 2);
    assert_int_equal(http_get(s, "/readyz", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "version")), 2);
    http_resp_free(&r);
}

static void test_verify_store_runs_read_only_beside_a_live_server(void **state)
{
    srv *s = *state;
    srv_start(s, NULL);
    assert_int_equal(srv_cycle(s, "one", NULL, NULL), 1);
    assert_int_equal(srv_cycle(s, "two", NULL, NULL), 2);
    const char *argv[] = {srv_cli_bin(), "verify-store", s->data_dir, NULL};
    buf out = {0};
    int st = run_to_exit(argv, &out, 30);
    if (st != 0)
        fail_msg("verify-store beside the server: exit %d: %s", st, out.data);
    buf_free(&out);
    /* it took no lock: the server still holds the directory and keeps committing */
    assert_int_equal(lock_file_pid(s), (long)s->pid);
    assert_int_equal(srv_cycle(s, "three", NULL, NULL), 3);
}

static void test_a_killed_server_leaves_no_stale_lock(void **state)
{
    srv *s = *state;
    srv_start(s, NULL);
    assert_int_equal(srv_cycle(s, "one", NULL, NULL), 1);
    long first = (long)s->pid;
    srv_kill(s);
    srv_start(s, NULL); /* fails the test if the restart exits */
    assert_true((long)s->pid != first);
    assert_int_equal(lock_file_pid(s), (long)s->pid);
    assert_int_equal(srv_head_version(s, NULL), 1);
    assert_int_equal(srv_cycle(s, "two", NULL, NULL), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_second_server_on_the_same_data_dir_exits_2_naming_the_holder, srv_setup,
            srv_teardown),
        cmocka_unit_test_setup_teardown(test_verify_store_runs_read_only_beside_a_live_server,
                                        srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_a_killed_server_leaves_no_stale_lock, srv_setup,
                                        srv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
