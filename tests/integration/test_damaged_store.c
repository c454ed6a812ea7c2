/* test_damaged_store.c - a store damaged on disk, served by the real binary: a version whose
 * bytes no longer verify is never answered as a cacheable 200 (a typed 5xx envelope instead),
 * the versions that verify are still served, and 410 Pruned stays reserved for retention. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/harness.h"
#include "helpers/raw.h"

/* Replaces every occurrence of `from` in the file with `to` (same length); returns how many. */
static int patch_file(const char *path, const char *from, const char *to)
{
    size_t n = strlen(from);
    assert_int_equal(strlen(to), n);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    int hits = 0;
    for (char *p = m; (p = memmem(p, (size_t)(m + st.st_size - p), from, n)); p += n) {
        memcpy(p, to, n);
        hits++;
    }
    msync(m, (size_t)st.st_size, MS_SYNC);
    munmap(m, (size_t)st.st_size);
    close(fd);
    return hits;
}

static void test_a_version_whose_bytes_do_not_verify_is_not_served(void **state)
{
    (void)state;
    srv s;
    srv_start_fresh(&s, NULL);
    srv_cycle(&s, "intact-one", NULL, NULL);
    srv_cycle(&s, "damaged-two", NULL, NULL);
    srv_cycle(&s, "intact-three", NULL, NULL);
    assert_int_equal(srv_stop(&s), 0);
    char mdb[400];
    snprintf(mdb, sizeof mdb, "%s/data.mdb", s.data_dir);
    assert_true(patch_file(mdb, "damaged-two", "damaged-TWO") >= 1);
    srv_start(&s, NULL);
    http_resp r;
    assert_int_equal(http_get(&s, "/registry/2", &r), 0);
    print_message("# damaged version 2: %ld %s\n", r.status, r.body.data ? r.body.data : "");
    assert_true(r.status >= 500);
    assert_string_equal(http_err_code(&r), "NotReady");
    char cc[128] = "";
    http_header(&r, "Cache-Control", cc, sizeof cc);
    assert_null(strstr(cc, "immutable"));
    assert_int_equal(http_header(&r, "ETag", cc, sizeof cc), -1);
    assert_non_null(strstr(r.body.data, "\"reason\":\"corrupt\""));
    http_resp_free(&r);
    for (int v = 1; v <= 3; v += 2) {
        char path[32];
        snprintf(path, sizeof path, "/registry/%d", v);
        assert_int_equal(http_get(&s, path, &r), 0);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
    /* the SSE replay does not hand out the damaged version either */
    stream st;
    stream_open(&s, &st, "1", 0);
    char ev[4096];
    double at;
    int reconciled = 0, saw_two = 0;
    double end = now_s() + 3;
    while (!reconciled && now_s() < end && stream_next(&st, ev, sizeof ev, 1, &at) == 0) {
        reconciled |= strstr(ev, "registry.reconcile") != NULL;
        saw_two |= strstr(ev, "registry.update") && strstr(ev, "id: 2\n");
    }
    stream_close(&st);
    assert_false(saw_two);
    assert_true(reconciled);
    assert_int_equal(srv_finish(&s), 0);
}

/* Starts the binary on s's store and waits for it to exit; returns the status, its output in
 * *log (caller frees). */
static int start_expecting_exit(srv *s, char **log)
{
    buf out = {0};
    int st = srv_run_to_exit(s, NULL, &out, 10);
    *log = buf_steal(&out, NULL);
    return st;
}

static void test_a_truncated_store_is_damage_not_genesis(void **state)
{
    (void)state;
    srv s;
    srv_start_fresh(&s, NULL);
    for (int i = 0; i < 3; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "kept-%d", i);
        srv_cycle(&s, tag, NULL, NULL);
    }
    assert_int_equal(srv_stop(&s), 0);
    char mdb[400];
    snprintf(mdb, sizeof mdb, "%s/data.mdb", s.data_dir);
    struct stat st;
    assert_int_equal(stat(mdb, &st), 0);
    /* half the file (a copy cut short): refused before anything reads past the end (it used to
     * die with SIGBUS and an empty log) */
    assert_int_equal(truncate(mdb, st.st_size / 2), 0);
    char *log = NULL;
    int rc = start_expecting_exit(&s, &log);
    print_message("# half a store: exit %d\n", rc);
    assert_true(rc > 0 && rc < 128);
    assert_non_null(strstr(log, "data.mdb"));
    assert_non_null(strstr(log, "truncated"));
    free(log);
    /* nothing at all (a failed restore): damage, not a new registry at HEAD 0 */
    assert_int_equal(truncate(mdb, 0), 0);
    rc = start_expecting_exit(&s, &log);
    print_message("# an empty data.mdb: exit %d\n", rc);
    assert_true(rc > 0 && rc < 128);
    assert_non_null(strstr(log, "data.mdb"));
    free(log);
    assert_int_equal(stat(mdb, &st), 0);
    assert_int_equal(st.st_size, 0); /* and it was left as it was found */
    srv_cleanup(&s);
}

static void test_a_data_dir_others_can_write_is_refused(void **state)
{
    (void)state;
    srv s;
    srv_start_fresh(&s, NULL);
    assert_int_equal(srv_stop(&s), 0);
    assert_int_equal(chmod(s.data_dir, 0777), 0);
    char *log = NULL;
    assert_int_equal(start_expecting_exit(&s, &log), 2);
    assert_non_null(strstr(log, "storage.data_dir"));
    free(log);
    assert_int_equal(chmod(s.data_dir, 0700), 0);
    srv_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_version_whose_bytes_do_not_verify_is_not_served),
        cmocka_unit_test(test_a_truncated_store_is_damage_not_genesis),
        cmocka_unit_test(test_a_data_dir_others_can_write_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
