/* test_config.c - the configuration seam: key table, TOML subset, layers, validation, reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ftw.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "config/config.h"
#include "config/toml.h"

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOARGS ((const char *const[]){NULL})

static char tmpdir[256];

/* ---- helpers -------------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/svcr-test-config-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes content to tmpdir/name with the given mode; the path goes to path. */
static void put_file(char *path, size_t cap, const char *name, const char *content, mode_t mode)
{
    snprintf(path, cap, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* cfg_build with argv = "svc-registry" + args and envp = env (both NULL-terminated lists). */
static int run_load(const char *const *args, const char *const *env, svcr_config *c,
                    cfg_action *act, char *err, size_t cap)
{
    char *argv[64], *envp[64];
    int argc = 0, ne = 0;
    argv[argc++] = "svc-registry";
    for (; args && *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    for (; env && *env; env++)
        envp[ne++] = (char *)*env;
    envp[ne] = NULL;
    return cfg_build(argc, argv, envp, c, act, err, cap);
}

static svcr_config *new_cfg(void)
{
    svcr_config *c = malloc(sizeof *c);
    assert_non_null(c);
    cfg_defaults(c);
    return c;
}

static int all_keys_equal(const svcr_config *a, const svcr_config *b, const char **which)
{
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    for (size_t i = 0; i < n; i++) {
        if (!cfg_key_equal(&keys[i], a, b)) {
            *which = keys[i].name;
            return 0;
        }
    }
    return 1;
}

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));                           \
    } while (0)

/* ---- defaults and the key table ------------------------------------------------------------- */

static void test_defaults_are_the_spec_values(void **state)
{
    (void)state;
    svcr_config *c = new_cfg();
    assert_string_equal(c->bind_addr, "127.0.0.1:8080");
    assert_string_equal(c->metrics_addr, "127.0.0.1:0");
    assert_int_equal(c->max_conns, 1024);
    assert_int_equal(c->read_timeout, 5000);
    assert_int_equal(c->write_timeout, 5000);
    assert_int_equal(c->idle_timeout, 60000);
    assert_int_equal(c->limits.inflight, 512);
    assert_int_equal(c->limits.rps, 500);
    assert_int_equal(c->limits.read_rps, 0);
    assert_int_equal(c->limits.max_body_bytes, 1048576);
    assert_int_equal(c->limits.decompress_ratio_cap, 10);
    assert_int_equal(c->limits.queue, 512);
    assert_false(c->tls.enabled);
    assert_string_equal(c->tls.cert_path, "");
    assert_string_equal(c->tls.key_path, "");
    assert_string_equal(c->uds.path, "");
    assert_int_equal(c->uds.allow_uids.n, 0);
    assert_string_equal(c->auth.root_keys_path, "");
    assert_int_equal(c->storage.kind, CFG_STORAGE_LMDB);
    assert_string_equal(c->storage.data_dir, "./data/registry");
    assert_true(c->storage.fsync);
    assert_string_equal(c->storage.pg_dsn, "");
    assert_int_equal(c->storage.checkpoint_interval, 600000);
    assert_int_equal(c->storage.verify_last_k, 1000);
    assert_int_equal(c->retention.by_age, INT64_C(30) * 86400000);
    assert_int_equal(c->retention.by_count, 10000);
    assert_int_equal(c->retention.by_size, UINT64_C(1) << 30);
    assert_string_equal(c->bootstrap.trust_roots_path, "");
    assert_string_equal(c->bootstrap.trust_roots_hash, "");
    assert_int_equal(c->bus.channel_bound, 1024);
    assert_int_equal(c->sse.heartbeat, 15000);
    assert_int_equal(c->sse.client_buffer, 256);
    assert_false(c->amnesia.enabled);
    assert_int_equal(c->pq.mode, CFG_PQ_OFF);
    assert_int_equal(c->log.format, CFG_LOG_JSON);
    assert_int_equal(c->log.level, CFG_LOG_INFO);
    assert_int_equal(c->otel.exporter, CFG_OTEL_NONE);
    assert_string_equal(c->otel.endpoint, "");
    assert_int_equal(c->shutdown.drain_deadline, 3000);
    char err[512];
    assert_int_equal(cfg_validate(c, err, sizeof err), 0);
    free(c);
}

static void test_no_arguments_give_the_defaults(void **state)
{
    (void)state;
    svcr_config *c = new_cfg(), *d = new_cfg();
    memset(c, 0x5a, sizeof *c);
    cfg_action act = CFG_HELP;
    char err[512];
    const char *which = NULL;
    assert_int_equal(run_load(NOARGS, NOARGS, c, &act, err, sizeof err), 0);
    assert_int_equal(act, CFG_RUN);
    assert_true(all_keys_equal(c, d, &which));
    free(c);
    free(d);
}

static void test_key_table_derives_unique_env_and_flag_names(void **state)
{
    (void)state;
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    assert_true(n >= 39);
    char env[64], flag[64];
    cfg_key_env_name(cfg_key_find("bind_addr"), env, sizeof env);
    assert_string_equal(env, "SVCR_BIND_ADDR");
    cfg_key_env_name(cfg_key_find("limits.rps"), env, sizeof env);
    assert_string_equal(env, "SVCR_LIMITS_RPS");
    cfg_key_env_name(cfg_key_find("storage.data_dir"), env, sizeof env);
    assert_string_equal(env, "SVCR_STORAGE_DATA_DIR");
    cfg_key_flag_name(cfg_key_find("shutdown.drain_deadline"), flag, sizeof flag);
    assert_string_equal(flag, "shutdown-drain-deadline");
    assert_null(cfg_key_find("limits"));
    assert_null(cfg_key_find("nope"));
    for (size_t i = 0; i < n; i++) {
        char e1[64], f1[64];
        cfg_key_env_name(&keys[i], e1, sizeof e1);
        cfg_key_flag_name(&keys[i], f1, sizeof f1);
        assert_non_null(keys[i].doc);
        assert_non_null(keys[i].def);
        assert_true(strcmp(f1, "config") && strcmp(f1, "help") && strcmp(f1, "version") &&
                    strcmp(f1, "print-config"));
        for (size_t j = 0; j < n; j++) {
            if (i == j)
                continue;
            char e2[64], f2[64];
            cfg_key_env_name(&keys[j], e2, sizeof e2);
            cfg_key_flag_name(&keys[j], f2, sizeof f2);
            assert_string_not_equal(e1, e2);
            assert_string_not_equal(f1, f2);
            if (keys[i].alias) {
                assert_string_not_equal(keys[i].alias, f2);
                if (keys[j].alias)
                    assert_string_not_equal(keys[i].alias, keys[j].alias);
            }
        }
    }
}

static void test_key_table_sections_are_contiguous(void **state)
{
    (void)state;
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    char closed[32][32];
    size_t nclosed = 0;
    char cur[32] = "";
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(keys[i].name, '.');
        char sec[32] = "";
        if (dot)
            snprintf(sec, sizeof sec, "%.*s", (int)(dot - keys[i].name), keys[i].name);
        if (strcmp(sec, cur) != 0) {
            for (size_t j = 0; j < nclosed; j++)
                assert_string_not_equal(closed[j], sec);
            assert_true(nclosed < 32);
            snprintf(closed[nclosed++], sizeof closed[0], "%s", cur);
            snprintf(cur, sizeof cur, "%s", sec);
        }
        if (!dot)
            assert_int_equal(nclosed, 0); /* top-level keys come first */
    }
}

static void test_no_key_can_change_quorum_signers_or_history(void **state)
{
    (void)state;
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    static const char *const banned[] = {"governance", "quorum", "signer", "history", "approv"};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < sizeof banned / sizeof banned[0]; j++)
            if (strstr(keys[i].name, banned[j]))
                fail_msg("key %s touches governance (%s)", keys[i].name, banned[j]);

    char path[512], err[1024];
    svcr_config *c = new_cfg();
    put_file(path, sizeof path, "quorum.toml", "[quorum]\nm = 1\n", 0600);
    assert_int_equal(run_load(ARGS("--config", path), NOARGS, c, NULL, err, sizeof err),
                     CFG_ERR_PARSE);
    assert_contains(err, "line 1: [quorum]: unknown section");
    put_file(path, sizeof path, "quorum2.toml", "quorum = 1\n", 0600);
    assert_int_equal(run_load(ARGS("--config", path), NOARGS, c, NULL, err, sizeof err),
                     CFG_ERR_PARSE);
    assert_contains(err, "line 1: quorum: unknown key");
    put_file(path, sizeof path, "quorum3.toml", "[bootstrap]\nsigners = []\n", 0600);
    assert_int_equal(run_load(ARGS("--config", path), NOARGS, c, NULL, err, sizeof err),
                     CFG_ERR_PARSE);
    assert_contains(err, "line 2: bootstrap.signers: unknown key");
    put_file(path, sizeof path, "quorum4.toml", "quorum.m = 1\n", 0600);
    assert_int_equal(run_load(ARGS("--config", path), NOARGS, c, NULL, err, sizeof err),
                     CFG_ERR_PARSE);
    assert_contains(err, "line 1: quorum: dotted keys are not supported");
    assert_int_equal(run_load(ARGS("--quorum-m", "1"), NOARGS, c, NULL, err, sizeof err),
                     CFG_ERR_PARSE);
    assert_contains(err, "unknown flag --quorum-m");
    free(c);
}

/* ---- values --------------------------------------------------------------------------------- */

static void test_durations_need_a_unit(void **state)
{
    (void)state;
    int64_t ms = -1;
    static const struct {
        const char *s;
        int64_t ms;
    } good[] = {{"250ms", 250},  {"0s", 0},           {"5s", 5000}, {"10m", 600000},
                {"1h", 3600000}, {"30d", 2592000000}, {"0ms", 0},   {"1000ms", 1000}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(cfg_parse_duration(good[i].s, &ms), 0);
        assert_int_equal(ms, good[i].ms);
    }
    static const char *const bad[] = {"5",
                                      "",
                                      "s",
                                      "5 s",
                                      "5S",
                                      "-5s",
                                      "+5s",
                                      "05s",
                                      "1.5s",
                                      "5sec",
                                      "1h30m",
                                      "5us",
                                      " 5s",
                                      "5s ",
                                      "99999999999999999999d",
                                      "106751991167301d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms = 42;
        if (cfg_parse_duration(bad[i], &ms) == 0)
            fail_msg("duration \"%s\" was accepted", bad[i]);
        assert_int_equal(ms, 42);
    }
    char out[32];
    cfg_format_duration(250, out, sizeof out);
    assert_string_equal(out, "250ms");
    cfg_format_duration(90000, out, sizeof out);
    assert_string_equal(out, "90s");
    cfg_format_duration(2592000000, out, sizeof out);
    assert_string_equal(out, "30d");
    cfg_format_duration(0, out, sizeof out);
    assert_string_equal(out, "0s");
}

static void test_sizes_take_binary_units_or_bytes(void **state)
{
    (void)state;
    uint64_t b = 0;
    static const struct {
        const char *s;
        uint64_t b;
    } good[] = {{"0", 0},           {"512", 512},
                {"512B", 512},      {"64KiB", 65536},
                {"1MiB", 1048576},  {"1 MiB", 1048576},
                {"1GiB", 1u << 30}, {"17179869183GiB", UINT64_C(17179869183) << 30}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(cfg_parse_size(good[i].s, &b), 0);
        assert_true(b == good[i].b);
    }
    static const char *const bad[] = {"",
                                      "MiB",
                                      "1MB",
                                      "1 mib",
                                      "1KB",
                                      "1.5MiB",
                                      "-1",
                                      "1TiB",
                                      "01KiB",
                                      "1  MiB",
                                      "1 ",
                                      "17179869184GiB1",
                                      "17179869184GiB",
                                      "1e6"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = 42;
        if (cfg_parse_size(bad[i], &b) == 0)
            fail_msg("size \"%s\" was accepted", bad[i]);
        assert_int_equal(b, 42);
    }
    char out[32];
    cfg_format_size(1536, out, sizeof out);
    assert_string_equal(out, "1536B");
    cfg_format_size(1u << 30, out, sizeof out);
    assert_string_equal(out, "1GiB");
    cfg_format_size(3 * 1024, out, sizeof out);
    assert_string_equal(out, "3KiB");
}

static void test_uid_lists_in_every_layer(void **state)
{
    (void)state;
    svcr_config *c = new_cfg();
    char err[1024], path[512];
    assert_int_equal(run_load(NOARGS, ARGS("SVCR_UDS_ALLOW_UIDS=0,1000"), c, NULL, err, sizeof err),
                     0);
    assert_int_equal(c->uds.allow_uids.n, 2);
    assert_int_equal(c->uds.allow_uids.v[0], 0);
    assert_int_equal(c->uds.allow_uids.v[1], 1000);
    assert_int_equal(
        run_load(ARGS("--uds-allow-uids", "7, 8 ,9"), NOARGS, c, NULL, err, sizeof err), 0);
    assert_int_equal(c->uds.allow_uids.n, 3);
    assert_int_equal(c->uds.allow_uids.v[2], 9);
    assert_int_equal(run_load(ARGS("--uds-allow-uids="), NOARGS, c, NULL, err, sizeof err), 0);
    assert_int_equal(c->uds.allow_uids.n, 0);
    put_file(path, sizeof path, "uids.toml", "[uds]\nallow_uids = [0, 1000, ]\n", 0600);
    assert_int_equal(run_load(ARGS("--config", path), NOARGS, c, NULL, err, sizeof err), 0);
    assert_int_equal(c->uds.allow_uids.n, 2);
    put_file(path, sizeof path, "uids2.toml", "[uds]\nallow_uids = []\n", 0600);
    assert_int_equal(run_load(ARGS("--config", path), NOARGS, c, NULL, err, sizeof err), 0);
    assert_int_equal(c->uds.allow_uids.n, 0);
    static const char *const bad[] = {"0,,1", "a",  "-1",  "4294967295",
                                      "1,",   ",1", "1 2", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            run_load(ARGS("--uds-allow-uids", bad[i]), NOARGS, c, NULL, err, sizeof err),
            CFG_ERR_PARSE);
        assert_contains(err, "uds.allow_uids");
    }
    put_file(path, sizeof path, "uids3.toml", "[uds]\nallow_uids = [\"0\"]\n", 0600);
    assert_int_equal(run_load(ARGS("--config", path), NOARGS, c, NULL, err, sizeof err),
                     CFG_ERR_PARSE);
    assert_contains(err, "line 2: uds.allow_uids: expected an array of integers");
    put_file(path, sizeof path, "uids4.toml", "[uds]\nallow_uids = [-1]\n", 0600);
    assert_int_equal(run_load(ARGS("--config", path), NOARGS, c, NULL, err, sizeof err),
                     CFG_ERR_PARSE);
    assert_contains(err, "line 2: uds.allow_uids:");
    free(c);
}

static void test_string_values_refuse_control_characters_and_overlong_text(void **state)
{
    (void)state;
    svcr_config *c = new_cfg();
    char err[1024];
    assert_int_equal(
        run_load(NOARGS, ARGS("SVCR_OTEL_ENDPOINT=http://x\n"), c, NULL, err, sizeof err),
        CFG_ERR_PARSE);
    assert_contains(err, "environment SVCR_OTEL_ENDPOINT: otel.endpoint: contains a control");
    char *longv = malloc(CFG_PATH_MAX + 2);
    assert_non_null(longv);
    memset(longv, 'a', CFG_PATH_MAX);
    longv[CFG_PATH_MAX] = '\0';
    assert_int_equal(run_load(ARGS("--data-dir", longv), NOARGS, c, NULL, err, sizeof err),
                     CFG_ERR_PARSE);
    assert_contains(err, "storage.data_dir: too long");
    longv[CFG_PATH_MAX - 1] = '\0';
    const cfg_key *k = cfg_key_find("storage.data_dir");
    assert_int_equal(cfg_key_set(c, k, longv, err, sizeof err), 0);
    assert_int_equal(strlen(c->storage.data_dir), CFG_PATH_MAX - 1);
    assert_int_equal(cfg_key_set(c, k, "\xff\xfe", err, sizeof err), -1);
    assert_contains(err, "storage.data_dir: is not valid UTF-8");
    free(longv);
    free(c);
}

/* ---- the TOML subset ------------------------------------------------------------------------ */

typedef struct collect {
    char text[2048];
} collect;

static int collect_section(void *ud, const char *name, char *err, size_t cap)
{
    (void)err, (void)cap;
    collect *c = ud;
    size_t n = strlen(c->text);
    snprintf(c->text + n, sizeof c->text - n, "[%s]", name);
    return 0;
}

static void append_value(collect *c, const cfg_toml_value *v)
{
    size_t n = strlen(c->text);
    switch (v->kind) {
    case CFG_TOML_STRING:
        snprintf(c->text + n, sizeof c->text - n, "s(%s)", v->str);
        break;
    case CFG_TOML_INTEGER:
        snprintf(c->text + n, sizeof c->text - n, "i(%lld)", (long long)v->i);
        break;
    case CFG_TOML_BOOLEAN:
        snprintf(c->text + n, sizeof c->text - n, "b(%d)", v->b);
        break;
    case CFG_TOML_ARRAY:
        snprintf(c->text + n, sizeof c->text - n, "a(");
        for (size_t i = 0; i < v->n; i++)
            append_value(c, &v->items[i]);
        n = strlen(c->text);
        snprintf(c->text + n, sizeof c->text - n, ")");
        break;
    }
}

static int collect_kv(void *ud, const char *section, const char *key, const cfg_toml_value *v,
                      char *err, size_t cap)
{
    collect *c = ud;
    if (strcmp(key, "refuse") == 0) {
        snprintf(err, cap, "refused by the schema");
        return -1;
    }
    size_t n = strlen(c->text);
    snprintf(c->text + n, sizeof c->text - n, "%s.%s=", section, key);
    append_value(c, v);
    n = strlen(c->text);
    snprintf(c->text + n, sizeof c->text - n, ";");
    return 0;
}

static int toml(const char *text, collect *c, char *err, size_t cap)
{
    memset(c, 0, sizeof *c);
    cfg_toml_handler h = {collect_section, collect_kv, c};
    return cfg_toml_parse(text, strlen(text), &h, err, cap);
}

static void test_toml_parses_the_subset(void **state)
{
    (void)state;
    collect c;
    char err[512];
    const char *doc = "# leading comment\r\n"
                      "\n"
                      "top = \"a \\\"q\\\" \\\\ \\n\\t \\u00e9 \\u20AC\"  # trailing\r\n"
                      "lit = 'C:\\path\\no\\escapes'\n"
                      "n = -42\n"
                      "big = 1_000_000\n"
                      "zero = 0\n"
                      "plus = +7\n"
                      "min = -9223372036854775808\n"
                      "t = true\n"
                      "f = false\n"
                      "\t[ sec ]\t# comment\n"
                      "  ints = [ 1, 2 ,3, ]\n"
                      "strs = [\"a\", 'b']\n"
                      "empty = []\n"
                      "e = \"\"\n"
                      "l = ''\n"
                      "utf = \"h\xc3\xa9\"\n"
                      "[other]\n"
                      "x=1";
    assert_int_equal(toml(doc, &c, err, sizeof err), 0);
    assert_string_equal(c.text, ".top=s(a \"q\" \\ \n\t \xc3\xa9 \xe2\x82\xac);"
                                ".lit=s(C:\\path\\no\\escapes);"
                                ".n=i(-42);.big=i(1000000);.zero=i(0);.plus=i(7);"
                                ".min=i(-9223372036854775808);.t=b(1);.f=b(0);"
                                "[sec]sec.ints=a(i(1)i(2)i(3));sec.strs=a(s(a)s(b));"
                                "sec.empty=a();sec.e=s();sec.l=s();sec.utf=s(h\xc3\xa9);"
                                "[other]other.x=i(1);");
    assert_int_equal(toml("", &c, err, sizeof err), 0);
    assert_int_equal(toml("\n\n# only comments\n", &c, err, sizeof err), 0);
    assert_string_equal(c.text, "");
}

static void test_toml_rejections_name_the_line_and_the_key(void **state)
{
    (void)state;
    static const struct {
        const char *body; /* placed after two lines, so the error is on line 3 (or later) */
        const char *want;
    } cases[] = {
        {"a = {x = 1}", "line 3: a: inline tables are not supported"},
        {"[[a]]", "line 3: arrays of tables"},
        {"a.b = 1", "line 3: a: dotted keys are not supported"},
        {"a . b = 1", "line 3: a: dotted keys are not supported"},
        {"\"a\" = 1", "line 3: quoted keys are not supported"},
        {"a = \"\"\"x\"\"\"", "line 3: a: multi-line strings are not supported"},
        {"a = '''x'''", "line 3: a: multi-line strings are not supported"},
        {"a = \"\"\"", "line 3: a: multi-line strings are not supported"},
        {"a = 1979-05-27", "line 3: a: dates and times are not supported"},
        {"a = 07:32:00", "line 3: a: dates and times are not supported"},
        {"a = 1979-05-27T07:32:00Z", "line 3: a: dates and times are not supported"},
        {"a = 1.5", "line 3: a: floats are not supported"},
        {"a = 1e3", "line 3: a: floats are not supported"},
        {"a = inf", "line 3: a: floats are not supported"},
        {"a = -nan", "line 3: a: floats are not supported"},
        {"a = 0x1f", "line 3: a: only decimal integers"},
        {"a = 0o7", "line 3: a: only decimal integers"},
        {"a = 007", "line 3: a: leading zeros"},
        {"a = 1__0", "line 3: a: '_' must stand between two digits"},
        {"a = 1_", "line 3: a: '_' must stand between two digits"},
        {"a = 9223372036854775808", "line 3: a: integer out of the 64-bit range"},
        {"a = [1, \"x\"]", "line 3: a: mixed types in an array"},
        {"a = [[1]]", "line 3: a: nested arrays are not supported"},
        {"a = [true]", "line 3: a: arrays may hold only integers or strings"},
        {"a = [1,\n2]", "line 3: a: unterminated array (arrays must be on one line)"},
        {"a = [1 2]", "line 3: a: expected ',' or ']'"},
        {"a = \"x", "line 3: a: unterminated string"},
        {"a = 'x", "line 3: a: unterminated string"},
        {"a = \"\\q\"", "line 3: a: unsupported escape \\q"},
        {"a = \"\\r\"", "line 3: a: unsupported escape \\r"},
        {"a = \"\\U0001F600\"", "line 3: a: unsupported escape \\U"},
        {"a = \"\\u12\"", "line 3: a: \\u needs four hex digits"},
        {"a = \"\\u0000\"", "line 3: a: \\u0000 is not allowed"},
        {"a = \"\\uD800\"", "line 3: a: \\uD800 is not allowed"},
        {"a = lmdb", "line 3: a: invalid value (strings must be quoted)"},
        {"a = tru", "line 3: a: invalid value"},
        {"a = truex", "line 3: a: invalid value"},
        {"a =", "line 3: a: missing value"},
        {"a = # c", "line 3: a: missing value"},
        {"a = 1 2", "line 3: a: unexpected characters after the value"},
        {"a 1", "line 3: a: expected '=' after the key"},
        {"Abc = 1", "line 3: invalid key 'Abc'"},
        {"a-b = 1", "line 3: invalid key 'a-b'"},
        {"a1 = 1", "line 3: invalid key 'a1'"},
        {"= 1", "line 3: expected a key"},
        {"[a.b]", "line 3: [a]: nested sections are not supported"},
        {"[A]", "line 3: invalid section name"},
        {"[\"a\"]", "line 3: quoted section names are not supported"},
        {"[a", "line 3: [a]: expected ']'"},
        {"[a] x", "line 3: [a]: unexpected characters after the section header"},
        {"a = 1\na = 2", "line 4: a: duplicate key (first set on line 3)"},
        {"[s]\nk = 1\n[t]\n[s]", "line 6: [s]: duplicate section (first on line 3)"},
        {"[s]\nk = 1\nk = 'x'", "line 5: s.k: duplicate key (first set on line 4)"},
        {"a = 1\n[a]", "line 4: [a]: conflicts with the key defined on line 3"},
        {"a = \"x\x01\"", "line 3: control character 0x01"},
        {"a = 1 # \x7f", "line 3: control character 0x7f"},
        {"a = 1\rb = 2", "line 3: control character 0x0d"},
        {"a = \"\xff\"", "line 3: invalid UTF-8"},
        {"a = \"\xed\xa0\x80\"", "line 3: invalid UTF-8"},
        {"a = \"\xc0\xaf\"", "line 3: invalid UTF-8"},
        {"refuse = 1", "line 3: refuse: refused by the schema"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char doc[256], err[512] = "";
        collect c;
        snprintf(doc, sizeof doc, "# header\n\n%s\n", cases[i].body);
        if (toml(doc, &c, err, sizeof err) != -1)
            fail_msg("accepted: %s", cases[i].body);
        if (!strstr(err, cases[i].want))
            fail_msg("for %s: got \"%s\", want \"%s\"", cases[i].body, err, cases[i].want);
    }
    /* A NUL byte inside the text is a control character, not the end of the input. */
    collect c;
    char err[512];
    cfg_toml_handler h = {collect_section, collect_kv, &c};
    memset(&c, 0, sizeof c);
    assert_int_equal(cfg_toml_parse("a = 1\nb = \"\0\"\n", 13, &h, err, sizeof err), -1);
    assert_contains(err, "line 2: control character 0x00");
}

static void test_utf8_validation(void **state)
{
    (void)state;
    assert_true(cfg_utf8_valid("", 0));
    assert_true(cfg_utf8_valid("h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
    assert_false(cfg_utf8_valid("\xc3", 1));
    assert_false(cfg_utf8_valid("\xe0\x80\x80", 3));     /* overlong */
    assert_false(cfg_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(cfg_utf8_valid("\x80", 1));
    assert_false(cfg_utf8_valid("\xf8\x88\x80\x80\x80", 5));
}

/* ---- layers --------------------------------------------------------------------------------- */

static void test_file_layer_sets_keys_of_every_type(void **state)
{
    (void)state;
    char path[512], err[1024];
    put_file(path, sizeof path, "all.toml",
             "# a full file\n"
             "bind_addr = \"0.0.0.0:9000\"\n"
             "max_conns = 64\n"
             "read_timeout = \"250ms\"\n"
             "[limits]\n"
             "rps = 900\n"
             "max_body_bytes = \"64KiB\"\n"
             "[storage]\n"
             "kind = \"memory\"\n"
             "fsync = false\n"
             "[retention]\n"
             "by_size = 2048\n"
             "[log]\n"
             "level = 'debug'\n"
             "format = \"text\"\n",
             0600);
    svcr_config *c = new_cfg();
    cfg_action act;
    assert_int_equal(run_load(ARGS("--config", path), NOARGS, c, &act, err, sizeof err), 0);
    assert_int_equal(act, CFG_RUN);
    assert_string_equal(c->bind_addr, "0.0.0.0:9000");
    assert_int_equal(c->max_conns, 64);
    assert_int_equal(c->read_timeout, 250);
    assert_int_equal(c->limits.rps, 900);
    assert_int_equal(c->limits.max_body_bytes, 65536);
    assert_int_equal(c->storage.kind, CFG_STORAGE_MEMORY);
    assert_false(c->storage.fsync);
    assert_int_equal(c->retention.by_size, 2048);
    assert_int_equal(c->log.level, CFG_LOG_DEBUG);
    assert_int_equal(c->log.format, CFG_LOG_TEXT);
    assert_int_equal(c->limits.inflight, 512); /* untouched keys keep their default */
    free(c);
}

static void test_file_type_and_schema_errors_name_line_and_key(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int rc;
        const char *want;
    } cases[] = {
        {"[limits]\nrsp = 5\n", CFG_ERR_PARSE, "line 2: limits.rsp: unknown key"},
        {"[limit]\n", CFG_ERR_PARSE, "line 1: [limit]: unknown section"},
        {"rps = 5\n", CFG_ERR_PARSE, "line 1: rps: unknown key"},
        {"[limits]\nrps = \"500\"\n", CFG_ERR_PARSE, "line 2: limits.rps: expected an integer"},
        {"read_timeout = 5\n", CFG_ERR_PARSE,
         "line 1: read_timeout: expected a duration string with a unit"},
        {"read_timeout = \"5\"\n", CFG_ERR_PARSE,
         "line 1: read_timeout: expected a duration with a unit"},
        {"[storage]\nfsync = \"true\"\n", CFG_ERR_PARSE,
         "line 2: storage.fsync: expected true or false"},
        {"[storage]\nkind = \"rocksdb\"\n", CFG_ERR_PARSE,
         "line 2: storage.kind: must be one of lmdb, sqlite, postgres, memory"},
        {"[storage]\nkind = 1\n", CFG_ERR_PARSE, "line 2: storage.kind: expected a string"},
        {"[limits]\nrps = -1\n", CFG_ERR_PARSE, "line 2: limits.rps: expected a decimal integer"},
        {"[limits]\nrps = 4294967296\n", CFG_ERR_PARSE, "line 2: limits.rps:"},
        {"[limits]\ninflight = 0\n", CFG_ERR_INVALID,
         "line 2: limits.inflight: must be between 1 and 1000000 (got 0)"},
        {"[limits]\nrps = 1\nrps = 2\n", CFG_ERR_PARSE,
         "line 3: limits.rps: duplicate key (first set on line 2)"},
        {"[limits]\nrps = 1\n[tls]\n[limits]\n", CFG_ERR_PARSE,
         "line 4: [limits]: duplicate section (first on line 1)"},
        {"[limits]\nrps = 1.5\n", CFG_ERR_PARSE, "line 2: limits.rps: floats are not supported"},
        {"\n\n[limits]\nmax_body_bytes = \"1 GB\"\n", CFG_ERR_PARSE,
         "line 4: limits.max_body_bytes: expected a size"},
    };
    char path[512];
    put_file(path, sizeof path, "errs.toml", "", 0600);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[1024] = "";
        svcr_config *c = new_cfg();
        put_file(path, sizeof path, "errs.toml", cases[i].body, 0600);
        int rc = run_load(ARGS("--config", path), NOARGS, c, NULL, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].want))
            fail_msg("for %s: rc %d, got \"%s\", want \"%s\"", cases[i].body, rc, err,
                     cases[i].want);
        assert_contains(err, path);
        free(c);
    }
    char err[1024];
    svcr_config *c = new_cfg();
    assert_int_equal(
        run_load(ARGS("--config", "/nonexistent/svcr.toml"), NOARGS, c, NULL, err, sizeof err),
        CFG_ERR_PARSE);
    assert_contains(err, "config file /nonexistent/svcr.toml: No such file");
    assert_int_equal(run_load(ARGS("--config", tmpdir), NOARGS, c, NULL, err, sizeof err),
                     CFG_ERR_PARSE);
    assert_contains(err, "not a regular file");
    free(c);
}

static void test_env_layer_sets_keys_and_ignores_foreign_names(void **state)
{
    (void)state;
    svcr_config *c = new_cfg();
    char err[1024];
    assert_int_equal(
        run_load(NOARGS,
                 ARGS("PATH=/usr/bin", "SVCR_LIMITS_RPS=77", "SVCR_VECTORS_DIR=/x",
                      "SVCR_QUORUM_M=1", "SVCR_STORAGE_FSYNC=false", "SVCR_SSE_HEARTBEAT=2s",
                      "SVCR_LIMITS_RPS=88", "SVCR_", "SVCR_BIND_ADDR", "svcr_max_conns=1",
                      "SVCR_RETENTION_BY_SIZE=5 MiB"),
                 c, NULL, err, sizeof err),
        0);
    assert_int_equal(c->limits.rps, 77); /* the first of a repeated name wins, as getenv */
    assert_false(c->storage.fsync);
    assert_int_equal(c->sse.heartbeat, 2000);
    assert_int_equal(c->retention.by_size, 5 * 1048576);
    assert_int_equal(c->max_conns, 1024);
    assert_string_equal(c->bind_addr, "127.0.0.1:8080");
    assert_int_equal(run_load(NOARGS, ARGS("SVCR_LIMITS_RPS=fast"), c, NULL, err, sizeof err),
                     CFG_ERR_PARSE);
    assert_contains(err, "environment SVCR_LIMITS_RPS: limits.rps: expected a decimal integer");
    assert_int_equal(run_load(NOARGS, ARGS("SVCR_MAX_CONNS=0"), c, NULL, err, sizeof err),
                     CFG_ERR_INVALID);
    assert_contains(err, "environment SVCR_MAX_CONNS: max_conns: must be between 1");
    /* A NULL envp is no environment. */
    char *argv[] = {"svc-registry", NULL};
    assert_int_equal(cfg_load(1, argv, NULL, c, NULL, err, sizeof err), 0);
    free(c);
}

static void test_flag_layer_accepts_both_syntaxes_and_aliases(void **state)
{
    (void)state;
    svcr_config *c = new_cfg();
    char err[1024];
    assert_int_equal(
        run_load(ARGS("--limits-rps", "900", "--storage-fsync=false", "--shutdown-drain-deadline",
                      "2s", "--bind-addr=[::1]:8443", "--metrics", "127.0.0.1:9100", "--data-dir",
                      "/srv/reg", "--storage-kind=sqlite", "--log-level", "warn",
                      "--log-format=text", "--root-keys", "", "--trust-roots="),
                 NOARGS, c, NULL, err, sizeof err),
        0);
    assert_int_equal(c->limits.rps, 900);
    assert_false(c->storage.fsync);
    assert_int_equal(c->shutdown.drain_deadline, 2000);
    assert_string_equal(c->bind_addr, "[::1]:8443");
    assert_string_equal(c->metrics_addr, "127.0.0.1:9100");
    assert_string_equal(c->storage.data_dir, "/srv/reg");
    assert_int_equal(c->storage.kind, CFG_STORAGE_SQLITE);
    assert_int_equal(c->log.level, CFG_LOG_WARN);
    assert_int_equal(c->log.format, CFG_LOG_TEXT);
    /* --bind and --bind-addr are one key: the last one given wins. */
    assert_int_equal(run_load(ARGS("--bind", "127.0.0.1:1", "--bind-addr", "127.0.0.1:2",
                                   "--limits-rps=1", "--limits-rps=2"),
                              NOARGS, c, NULL, err, sizeof err),
                     0);
    assert_string_equal(c->bind_addr, "127.0.0.1:2");
    assert_int_equal(c->limits.rps, 2);
    free(c);
}

static void test_unknown_or_malformed_flags_are_rejected(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        const char *want;
    } cases[] = {
        {"--limits-rsp", "5", "unknown flag --limits-rsp"},
        {"--quorum", "1", "unknown flag --quorum"},
        {"-h", NULL, "unexpected argument \"-h\""},
        {"serve", NULL, "unexpected argument \"serve\""},
        {"--", NULL, "unexpected argument \"--\""},
        {"--limits-rps", NULL, "--limits-rps needs a value"},
        {"--limits-rps", "--print-config", "--limits-rps needs a value"},
        {"--config", NULL, "--config needs a value"},
        {"--config=", NULL, "--config needs a file path"},
        {"--help=yes", NULL, "--help takes no value"},
        {"--print-config=1", NULL, "--print-config takes no value"},
        {"--tls-enabled", "yes", "flag --tls-enabled: tls.enabled: expected true or false"},
        {"--limits-rps", "1e3", "flag --limits-rps: limits.rps: expected a decimal integer"},
        {"--read-timeout", "5", "flag --read-timeout: read_timeout: expected a duration"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        svcr_config *c = new_cfg();
        char err[1024] = "";
        const char *args[3] = {cases[i].a, cases[i].b, NULL};
        int rc = run_load(args, NOARGS, c, NULL, err, sizeof err);
        if (rc != CFG_ERR_PARSE || !strstr(err, cases[i].want))
            fail_msg("for %s: rc %d, got \"%s\", want \"%s\"", cases[i].a, rc, err, cases[i].want);
        free(c);
    }
}

static void test_precedence_is_flag_over_env_over_file_over_default(void **state)
{
    (void)state;
    char path[512], err[1024];
    put_file(path, sizeof path, "prec.toml",
             "[limits]\nrps = 100\n[storage]\ndata_dir = \"/file\"\n[log]\nlevel = \"warn\"\n"
             "[sse]\nheartbeat = \"1s\"\n",
             0600);
    const char *const env[] = {"SVCR_LIMITS_RPS=200", "SVCR_STORAGE_DATA_DIR=/env",
                               "SVCR_LOG_LEVEL=error", NULL};
    svcr_config *c = new_cfg();
    /* all three layers */
    assert_int_equal(run_load(ARGS("--config", path, "--limits-rps", "300", "--data-dir", "/flag"),
                              env, c, NULL, err, sizeof err),
                     0);
    assert_int_equal(c->limits.rps, 300);
    assert_string_equal(c->storage.data_dir, "/flag");
    assert_int_equal(c->log.level, CFG_LOG_ERROR); /* env beats file, no flag */
    assert_int_equal(c->sse.heartbeat, 1000);      /* file beats default */
    assert_int_equal(c->idle_timeout, 60000);      /* default */
    /* env beats file */
    assert_int_equal(run_load(ARGS("--config", path), env, c, NULL, err, sizeof err), 0);
    assert_int_equal(c->limits.rps, 200);
    assert_string_equal(c->storage.data_dir, "/env");
    /* file beats default */
    assert_int_equal(run_load(ARGS("--config", path), NOARGS, c, NULL, err, sizeof err), 0);
    assert_int_equal(c->limits.rps, 100);
    assert_string_equal(c->storage.data_dir, "/file");
    assert_int_equal(c->log.level, CFG_LOG_WARN);
    /* flag beats file without env; the flag position relative to --config does not matter */
    assert_int_equal(
        run_load(ARGS("--log-level", "debug", "--config", path), NOARGS, c, NULL, err, sizeof err),
        0);
    assert_int_equal(c->log.level, CFG_LOG_DEBUG);
    /* default */
    assert_int_equal(run_load(NOARGS, NOARGS, c, NULL, err, sizeof err), 0);
    assert_int_equal(c->limits.rps, 500);
    assert_string_equal(c->storage.data_dir, "./data/registry");
    free(c);
}

static void test_actions_help_version_and_print(void **state)
{
    (void)state;
    svcr_config *c = new_cfg();
    char err[1024];
    cfg_action act = CFG_RUN;
    /* --help and --version do not read the file or validate. */
    assert_int_equal(
        run_load(ARGS("--config", "/nonexistent", "--help"), NOARGS, c, &act, err, sizeof err), 0);
    assert_int_equal(act, CFG_HELP);
    assert_int_equal(
        run_load(ARGS("--version", "--limits-inflight", "0"), NOARGS, c, &act, err, sizeof err), 0);
    assert_int_equal(act, CFG_VERSION);
    assert_int_equal(
        run_load(ARGS("--print-config", "--version", "--help"), NOARGS, c, &act, err, sizeof err),
        0);
    assert_int_equal(act, CFG_HELP);
    assert_int_equal(run_load(ARGS("--print-config"), NOARGS, c, &act, err, sizeof err), 0);
    assert_int_equal(act, CFG_PRINT);
    /* --print-config validates: an invalid configuration is not printed. */
    assert_int_equal(run_load(ARGS("--print-config", "--limits-inflight", "0"), NOARGS, c, &act,
                              err, sizeof err),
                     CFG_ERR_INVALID);
    /* On failure *out is left as it was. */
    svcr_config *before = new_cfg();
    const char *which;
    cfg_key_set(c, cfg_key_find("limits.rps"), "4", err, sizeof err);
    *before = *c;
    assert_int_equal(
        run_load(ARGS("--limits-rps", "9", "--max-conns", "0"), NOARGS, c, &act, err, sizeof err),
        CFG_ERR_INVALID);
    assert_true(all_keys_equal(c, before, &which));
    char *argv[] = {"svc-registry", "--bogus", NULL};
    assert_int_equal(cfg_load(2, argv, NULL, c, &act, err, sizeof err), -1);
    free(before);
    free(c);
}

/* ---- validation ----------------------------------------------------------------------------- */

static void test_validation_errors_name_the_key(void **state)
{
    (void)state;
    char longpath[200];
    memset(longpath, 'u', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    const char *b3ok = "b3:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const char *b3up = "b3:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef";
    static const char *const none[] = {NULL};
    const struct {
        const char *a[7];
        const char *key;
    } cases[] = {
        {{"--limits-inflight", "0"}, "limits.inflight: must be between 1"},
        {{"--max-conns", "0"}, "max_conns: must be between 1"},
        {{"--limits-queue", "0"}, "limits.queue: must be between 1"},
        {{"--bus-channel-bound", "0"}, "bus.channel_bound: must be between 1"},
        {{"--sse-client-buffer", "0"}, "sse.client_buffer: must be between 1"},
        {{"--limits-max-body-bytes", "512"}, "limits.max_body_bytes: must be between 1KiB"},
        {{"--limits-decompress-ratio-cap", "0"}, "limits.decompress_ratio_cap: must be between"},
        {{"--read-timeout", "0s"}, "read_timeout: must be between 1ms"},
        {{"--write-timeout", "0ms"}, "write_timeout: must be between"},
        {{"--idle-timeout", "2d"}, "idle_timeout: must be between 1ms and 1d (got 2d)"},
        {{"--sse-heartbeat", "10ms"}, "sse.heartbeat: must be between 100ms"},
        {{"--bind", "127.0.0.1"}, "bind_addr: \"127.0.0.1\" is not host:port"},
        {{"--bind", "::1:8080"}, "bind_addr:"},
        {{"--bind", ":8080"}, "bind_addr:"},
        {{"--bind", "127.0.0.1:0"}, "bind_addr: port 0 is not allowed"},
        {{"--bind", "127.0.0.1:65536"}, "bind_addr:"},
        {{"--bind", "bad_host:80"}, "bind_addr:"},
        {{"--bind", "[::1:80"}, "bind_addr:"},
        {{"--metrics", "300.1.1.1:9000"}, "metrics_addr:"},
        {{"--metrics", "127.0.0.1:8080"}, "metrics_addr: equals bind_addr"},
        {{"--storage-kind", "postgres"}, "storage.pg_dsn: required when storage.kind = postgres"},
        {{"--data-dir", ""}, "storage.data_dir: required when storage.kind = lmdb"},
        {{"--tls-enabled", "true"}, "tls.cert_path: required when tls.enabled"},
        {{"--pq-mode", "hybrid"}, "pq.mode: \"hybrid\" is not available yet"},
        {{"--pq-mode", "pq-only"}, "pq.mode: \"pq-only\" is not available yet"},
        {{"--bootstrap-trust-roots-hash", "b3:xyz"}, "bootstrap.trust_roots_hash: must be"},
        {{"--bootstrap-trust-roots-hash", b3up}, "bootstrap.trust_roots_hash: must be"},
        {{"--bootstrap-trust-roots-hash", b3ok}, "bootstrap.trust_roots_hash: set without"},
        {{"--trust-roots", "/nonexistent/roots.json"},
         "bootstrap.trust_roots_path: /nonexistent/roots.json: No such file"},
        {{"--root-keys", "/nonexistent/keys.json"},
         "auth.root_keys_path: /nonexistent/keys.json: No such file"},
        {{"--otel-exporter", "otlp"}, "otel.endpoint: an http:// or https:// URL is required"},
        {{"--otel-exporter", "otlp", "--otel-endpoint", "grpc://x"}, "otel.endpoint:"},
        {{"--uds-path", longpath}, "uds.path: too long for a Unix socket"},
        {{"--amnesia-enabled", "true", "--storage-kind", "postgres", "--storage-pg-dsn", "host=db"},
         "amnesia.enabled: storage.kind = postgres persists"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        svcr_config *c = new_cfg();
        char err[1024] = "";
        int rc = run_load(cases[i].a, none, c, NULL, err, sizeof err);
        if (rc != CFG_ERR_INVALID || !strstr(err, cases[i].key))
            fail_msg("case %zu (%s %s): rc %d, got \"%s\", want \"%s\"", i, cases[i].a[0],
                     cases[i].a[1] ? cases[i].a[1] : "", rc, err, cases[i].key);
        free(c);
    }
    /* The same rules hold for a struct filled by hand. */
    svcr_config *c = new_cfg();
    char err[512];
    c->limits.inflight = 0;
    assert_int_equal(cfg_validate(c, err, sizeof err), -1);
    assert_contains(err, "limits.inflight:");
    cfg_defaults(c);
    c->log.level = (cfg_log_level)9;
    assert_int_equal(cfg_validate(c, err, sizeof err), -1);
    assert_contains(err, "log.level:");
    cfg_defaults(c);
    memset(c->otel.endpoint, 'x', sizeof c->otel.endpoint);
    assert_int_equal(cfg_validate(c, err, sizeof err), -1);
    assert_contains(err, "otel.endpoint: not NUL-terminated");
    cfg_defaults(c);
    c->read_timeout = -5;
    assert_int_equal(cfg_validate(c, err, sizeof err), -1);
    assert_contains(err, "read_timeout: must not be negative");
    free(c);
}

static void test_valid_addresses_and_cross_key_settings_pass(void **state)
{
    (void)state;
    static const char *const good[] = {"[::1]:8080",   "localhost:80", "registry.example.com:443",
                                       "0.0.0.0:8080", "[::]:1",       "a-b.c:65535",
                                       "10.0.0.1:8080"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        svcr_config *c = new_cfg();
        char err[1024] = "";
        if (run_load(ARGS("--bind", good[i]), NOARGS, c, NULL, err, sizeof err) != 0)
            fail_msg("%s rejected: %s", good[i], err);
        free(c);
    }
    char host[256];
    uint16_t port = 0;
    assert_int_equal(cfg_split_addr("[fe80::1]:9", host, sizeof host, &port), 0);
    assert_string_equal(host, "fe80::1");
    assert_int_equal(port, 9);
    assert_int_equal(cfg_split_addr("example.org:0", host, sizeof host, &port), 0);
    assert_string_equal(host, "example.org");
    assert_int_equal(port, 0);
    assert_int_equal(cfg_split_addr("1.2.3:80", host, sizeof host, &port), -1);
    assert_int_equal(cfg_split_addr("-a.b:80", host, sizeof host, &port), -1);
    assert_int_equal(cfg_split_addr("a..b:80", host, sizeof host, &port), -1);
    assert_int_equal(cfg_split_addr("a:080", host, sizeof host, &port), -1);
    assert_int_equal(cfg_split_addr("a:", host, sizeof host, &port), -1);
    assert_int_equal(cfg_split_addr("[::1]8080", host, sizeof host, &port), -1);
    assert_int_equal(cfg_split_addr("[zz]:1", host, sizeof host, &port), -1);
    svcr_config *c = new_cfg();
    char err[1024];
    const char *b3ok = "b3:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char roots[512];
    put_file(roots, sizeof roots, "roots.json", "{}", 0644);
    assert_int_equal(
        run_load(ARGS("--storage-kind", "postgres", "--storage-pg-dsn", "postgresql://u:p@db/reg",
                      "--otel-exporter", "otlp", "--otel-endpoint", "http://otel:4318",
                      "--trust-roots", roots, "--bootstrap-trust-roots-hash", b3ok),
                 NOARGS, c, NULL, err, sizeof err),
        0);
    assert_int_equal(c->storage.kind, CFG_STORAGE_POSTGRES);
    free(c);
}

static int is_tmpfs(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

static void test_amnesia_requires_memory_or_a_tmpfs_data_dir(void **state)
{
    (void)state;
    svcr_config *c = new_cfg();
    char err[1024];
    /* A directory that is not on tmpfs, whatever its name says. */
    char spelled[512];
    snprintf(spelled, sizeof spelled, "%s/dev/shm/tmpfs/registry", tmpdir);
    if (!is_tmpfs(tmpdir)) {
        assert_int_equal(run_load(ARGS("--amnesia-enabled", "true", "--data-dir", spelled), NOARGS,
                                  c, NULL, err, sizeof err),
                         CFG_ERR_INVALID);
        assert_contains(err, "amnesia.enabled: needs storage.kind = memory");
        assert_int_equal(run_load(ARGS("--amnesia-enabled", "true", "--data-dir", tmpdir,
                                       "--storage-kind", "sqlite"),
                                  NOARGS, c, NULL, err, sizeof err),
                         CFG_ERR_INVALID);
        assert_contains(err, "amnesia.enabled:");
    } else {
        print_message("# %s is on tmpfs: the non-tmpfs rejection is not checked here\n", tmpdir);
    }
    /* The same directory is fine with the memory store. */
    assert_int_equal(run_load(ARGS("--amnesia-enabled", "true", "--data-dir", spelled,
                                   "--storage-kind", "memory"),
                              NOARGS, c, NULL, err, sizeof err),
                     0);
    assert_true(c->amnesia.enabled);
    /* A real tmpfs, reached directly and through a symlink from a non-tmpfs directory. */
    if (is_tmpfs("/dev/shm")) {
        assert_int_equal(run_load(ARGS("--amnesia-enabled", "true", "--data-dir",
                                       "/dev/shm/svcr-not-created-yet/registry"),
                                  NOARGS, c, NULL, err, sizeof err),
                         0);
        char link[512], via[600];
        snprintf(link, sizeof link, "%s/shm-link", tmpdir);
        assert_int_equal(symlink("/dev/shm", link), 0);
        snprintf(via, sizeof via, "%s/registry", link);
        assert_int_equal(run_load(ARGS("--amnesia-enabled", "true", "--data-dir", via), NOARGS, c,
                                  NULL, err, sizeof err),
                         0);
    } else {
        print_message("# /dev/shm is not tmpfs here: the tmpfs acceptance is not checked\n");
    }
    free(c);
}

static void test_tls_needs_existing_files_and_a_private_key(void **state)
{
    (void)state;
    char cert[512], key[512], err[1024];
    put_file(cert, sizeof cert, "cert.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
    put_file(key, sizeof key, "key.pem", "-----BEGIN PRIVATE KEY-----\n", 0644);
    svcr_config *c = new_cfg();
    assert_int_equal(
        run_load(ARGS("--tls-enabled", "true", "--tls-cert-path", cert, "--tls-key-path", key),
                 NOARGS, c, NULL, err, sizeof err),
        CFG_ERR_INVALID);
    assert_contains(err, "tls.key_path:");
    assert_contains(err, "mode 0644");
    assert_int_equal(chmod(key, 0640), 0);
    assert_int_equal(
        run_load(ARGS("--tls-enabled", "true", "--tls-cert-path", cert, "--tls-key-path", key),
                 NOARGS, c, NULL, err, sizeof err),
        CFG_ERR_INVALID);
    assert_contains(err, "tls.key_path:");
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(
        run_load(ARGS("--tls-enabled", "true", "--tls-cert-path", cert, "--tls-key-path", key),
                 NOARGS, c, NULL, err, sizeof err),
        0);
    assert_true(c->tls.enabled);
    assert_int_equal(run_load(ARGS("--tls-enabled", "true", "--tls-cert-path", "/nonexistent.pem",
                                   "--tls-key-path", key),
                              NOARGS, c, NULL, err, sizeof err),
                     CFG_ERR_INVALID);
    assert_contains(err, "tls.cert_path: /nonexistent.pem: No such file");
    assert_int_equal(
        run_load(ARGS("--tls-enabled", "true", "--tls-cert-path", tmpdir, "--tls-key-path", key),
                 NOARGS, c, NULL, err, sizeof err),
        CFG_ERR_INVALID);
    assert_contains(err, "tls.cert_path:");
    assert_contains(err, "not a regular file");
    assert_int_equal(run_load(ARGS("--tls-enabled", "true", "--tls-cert-path", cert), NOARGS, c,
                              NULL, err, sizeof err),
                     CFG_ERR_INVALID);
    assert_contains(err, "tls.key_path: required when tls.enabled");
    /* Disabled TLS ignores the files. */
    assert_int_equal(
        run_load(ARGS("--tls-key-path", "/nonexistent"), NOARGS, c, NULL, err, sizeof err), 0);
    free(c);
}

/* The files the registry trusts (config, trust roots, root keys) go through one reader: a
 * size cap, a regular file, and nobody but the owner able to change them. */
static void test_trusted_files_writable_by_group_or_other_are_refused(void **state)
{
    (void)state;
    char roots[512], keys[512], conf[512], err[1024];
    put_file(roots, sizeof roots, "roots-perm.json", "{}", 0644);
    put_file(keys, sizeof keys, "keys-perm.json", "{}", 0600);
    put_file(conf, sizeof conf, "perm.toml", "max_conns = 64\n", 0644);
    svcr_config *c = new_cfg();
    assert_int_equal(run_load(ARGS("--trust-roots", roots, "--root-keys", keys, "--config", conf),
                              NOARGS, c, NULL, err, sizeof err),
                     0);
    const mode_t writable[] = {0666, 0620, 0602, 0664, 0646};
    for (size_t i = 0; i < sizeof writable / sizeof writable[0]; i++) {
        assert_int_equal(chmod(roots, writable[i]), 0);
        if (run_load(ARGS("--trust-roots", roots), NOARGS, c, NULL, err, sizeof err) == 0)
            fail_msg("trust roots of mode %04o accepted", (unsigned)writable[i]);
        assert_contains(err, "bootstrap.trust_roots_path: ");
        assert_contains(err, roots);
        assert_contains(err, "chmod go-w");
        assert_int_equal(chmod(keys, writable[i]), 0);
        if (run_load(ARGS("--root-keys", keys), NOARGS, c, NULL, err, sizeof err) == 0)
            fail_msg("root keys of mode %04o accepted", (unsigned)writable[i]);
        assert_contains(err, "auth.root_keys_path: ");
        assert_contains(err, keys);
        assert_int_equal(chmod(conf, writable[i]), 0);
        if (run_load(ARGS("--config", conf), NOARGS, c, NULL, err, sizeof err) == 0)
            fail_msg("a config file of mode %04o accepted", (unsigned)writable[i]);
        assert_contains(err, "config file ");
        assert_contains(err, conf);
    }
    /* readable by others is fine for the public trust roots, never for the secret keys */
    assert_int_equal(chmod(roots, 0444), 0);
    assert_int_equal(chmod(keys, 0640), 0);
    assert_int_equal(run_load(ARGS("--trust-roots", roots), NOARGS, c, NULL, err, sizeof err), 0);
    assert_int_not_equal(run_load(ARGS("--root-keys", keys), NOARGS, c, NULL, err, sizeof err), 0);
    assert_contains(err, "chmod 600");
    free(c);
}

static void test_trust_roots_over_the_cap_are_refused_without_reading_them(void **state)
{
    (void)state;
    char roots[512], err[1024];
    put_file(roots, sizeof roots, "roots-big.json", "", 0600);
    assert_int_equal(truncate(roots, (off_t)1 << 30), 0); /* sparse: 1 GiB costs nothing */
    svcr_config *c = new_cfg();
    assert_int_not_equal(run_load(ARGS("--trust-roots", roots), NOARGS, c, NULL, err, sizeof err),
                         0);
    assert_contains(err, "bootstrap.trust_roots_path: ");
    assert_contains(err, roots);
    assert_contains(err, "1073741824 bytes, over the 1048576-byte cap");
    assert_int_equal(truncate(roots, 1 << 20), 0); /* exactly the cap passes */
    assert_int_equal(run_load(ARGS("--trust-roots", roots), NOARGS, c, NULL, err, sizeof err), 0);
    assert_int_equal(truncate(roots, (1 << 20) + 1), 0);
    assert_int_not_equal(run_load(ARGS("--trust-roots", roots), NOARGS, c, NULL, err, sizeof err),
                         0);
    unlink(roots);
    /* a FIFO is refused at once, not waited on */
    assert_int_equal(mkfifo(roots, 0600), 0);
    assert_int_not_equal(run_load(ARGS("--trust-roots", roots), NOARGS, c, NULL, err, sizeof err),
                         0);
    assert_contains(err, "not a regular file");
    unlink(roots);
    free(c);
}

/* ---- printing and reload -------------------------------------------------------------------- */

static char *print_to_string(const svcr_config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    cfg_print(c, f);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void test_print_then_parse_round_trips(void **state)
{
    (void)state;
    char err[1024], path[512];
    svcr_config *c = new_cfg(), *back = new_cfg();
    const cfg_key *k;
    static const struct {
        const char *key, *val;
    } set[] = {
        {"bind_addr", "[::1]:9443"},
        {"read_timeout", "1500ms"},
        {"idle_timeout", "2h"},
        {"limits.rps", "0"},
        {"limits.max_body_bytes", "1536"},
        {"uds.path", "/run/svcr/registry.sock"},
        {"uds.allow_uids", "0,1000,65534"},
        {"storage.kind", "memory"},
        {"storage.data_dir", "/srv/d\"ir\\with 'quotes' \xc3\xa9"},
        {"storage.fsync", "false"},
        {"storage.pg_dsn", "host=db user=reg dbname=r"},
        {"retention.by_age", "0s"},
        {"retention.by_count", "9223372036854775807"},
        {"amnesia.enabled", "true"},
        {"log.format", "text"},
        {"log.level", "debug"},
        {"shutdown.drain_deadline", "0s"},
    };
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        k = cfg_key_find(set[i].key);
        assert_non_null(k);
        if (cfg_key_set(c, k, set[i].val, err, sizeof err) != 0)
            fail_msg("%s", err);
    }
    assert_int_equal(cfg_validate(c, err, sizeof err), 0);
    char *text = print_to_string(c);
    put_file(path, sizeof path, "printed.toml", text, 0600);
    cfg_action act;
    if (run_load(ARGS("--config", path), NOARGS, back, &act, err, sizeof err) != 0)
        fail_msg("%s\n%s", err, text);
    const char *which = NULL;
    if (!all_keys_equal(c, back, &which))
        fail_msg("key %s differs after the round trip:\n%s", which, text);
    assert_contains(text, "[limits]\n");
    assert_contains(text, "allow_uids = [0, 1000, 65534]\n");
    assert_contains(text, "read_timeout = \"1500ms\"\n");
    free(text);
    /* The defaults round-trip too. */
    cfg_defaults(c);
    text = print_to_string(c);
    put_file(path, sizeof path, "printed2.toml", text, 0600);
    assert_int_equal(run_load(ARGS("--config", path), NOARGS, back, &act, err, sizeof err), 0);
    assert_true(all_keys_equal(c, back, &which));
    free(text);
    free(c);
    free(back);
}

static void test_print_redacts_the_pg_dsn_password(void **state)
{
    (void)state;
    svcr_config *c = new_cfg();
    char err[512];
    const cfg_key *k = cfg_key_find("storage.pg_dsn");
    assert_true(k->flags & CFG_F_SECRET);
    assert_int_equal(
        cfg_key_set(c, k, "postgresql://reg:s3cret@db:5432/reg?sslmode=require", err, sizeof err),
        0);
    char *text = print_to_string(c);
    assert_null(strstr(text, "s3cret"));
    assert_contains(text, "pg_dsn = \"postgresql://reg:***@db:5432/reg?sslmode=require\"");
    free(text);
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (keys[i].flags & CFG_F_SECRET)
            assert_ptr_equal(&keys[i], k); /* the only secret in v1 */
    free(c);
}

static void test_redact_dsn_covers_uri_and_keyword_forms(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"postgresql://db/reg", "postgresql://db/reg"},
        {"postgres://u@db/reg", "postgres://u@db/reg"},
        {"postgres://u:pw@db/reg", "postgres://u:***@db/reg"},
        {"postgresql://u:p@ss@db", "postgresql://u:***@db"},
        {"postgresql://db/reg?user=u&password=pw&sslmode=require",
         "postgresql://db/reg?user=u&password=***&sslmode=require"},
        {"postgresql://db?password=pw", "postgresql://db?password=***"},
        {"host=db password=pw user=u", "host=db password=*** user=u"},
        {"host=db password = 'p w\\' x' user=u", "host=db password = *** user=u"},
        {"password=pw", "password=***"},
        {"passfile=/x host=db", "passfile=/x host=db"},
        {"garbage password", "***"},
        {"password='unterminated", "***"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256];
        cfg_redact_dsn(cases[i].in, out, sizeof out);
        if (strcmp(out, cases[i].out) != 0)
            fail_msg("redact(%s) = %s, want %s", cases[i].in, out, cases[i].out);
    }
    char small[8];
    cfg_redact_dsn("host=db password=pw", small, sizeof small);
    assert_int_equal(strlen(small), 7);
}

static void test_reload_accepts_a_limits_change(void **state)
{
    (void)state;
    char path[512], err[1024], reason[32];
    put_file(path, sizeof path, "reload.toml", "[limits]\nrps = 100\n", 0600);
    char *argv[] = {"svc-registry", "--config", path, "--limits-inflight", "64", NULL};
    char *envp[] = {"SVCR_LOG_FORMAT=text", NULL};
    svcr_config *cur = new_cfg(), *next = new_cfg();
    assert_int_equal(cfg_load(5, argv, envp, cur, NULL, err, sizeof err), 0);
    assert_int_equal(cur->limits.rps, 100);
    put_file(path, sizeof path, "reload.toml",
             "[limits]\nrps = 250\ninflight = 1\nmax_body_bytes = \"2MiB\"\n"
             "[log]\nlevel = \"debug\"\nformat = \"text\"\n"
             "[retention]\nby_count = 5\n"
             "read_timeout = \"1s\"\n",
             0600);
    /* read_timeout after [retention] is retention.read_timeout: unknown, so a parse failure. */
    assert_int_equal(cfg_reload(5, argv, envp, cur, next, reason, sizeof reason, err, sizeof err),
                     -1);
    assert_string_equal(reason, "parse");
    assert_contains(err, "retention.read_timeout: unknown key");
    put_file(path, sizeof path, "reload.toml",
             "read_timeout = \"1s\"\nidle_timeout = \"5m\"\n"
             "[limits]\nrps = 250\ninflight = 1\nmax_body_bytes = \"2MiB\"\n"
             "[log]\nlevel = \"debug\"\nformat = \"text\"\n"
             "[retention]\nby_count = 5\n"
             "[sse]\nheartbeat = \"5s\"\n",
             0600);
    assert_int_equal(cfg_reload(5, argv, envp, cur, next, reason, sizeof reason, err, sizeof err),
                     0);
    assert_string_equal(reason, "");
    assert_int_equal(next->limits.rps, 250);
    assert_int_equal(next->limits.inflight, 64); /* the original flag keeps its precedence */
    assert_int_equal(next->limits.max_body_bytes, 2 * 1048576);
    assert_int_equal(next->log.level, CFG_LOG_DEBUG);
    assert_int_equal(next->retention.by_count, 5);
    assert_int_equal(next->read_timeout, 1000);
    assert_int_equal(next->sse.heartbeat, 5000);
    assert_int_equal(cur->limits.rps, 100); /* the current snapshot is never touched */
    free(cur);
    free(next);
}

static void test_reload_rejects_a_bind_addr_change(void **state)
{
    (void)state;
    char path[512], err[1024], reason[32];
    put_file(path, sizeof path, "reload2.toml", "bind_addr = \"127.0.0.1:8080\"\n", 0600);
    char *argv[] = {"svc-registry", "--config", path, NULL};
    svcr_config *cur = new_cfg(), *next = new_cfg(), *before = new_cfg();
    assert_int_equal(cfg_load(3, argv, NULL, cur, NULL, err, sizeof err), 0);
    put_file(path, sizeof path, "reload2.toml",
             "bind_addr = \"127.0.0.1:9090\"\n[limits]\nrps = 1\n", 0600);
    cfg_key_set(next, cfg_key_find("limits.rps"), "7", err, sizeof err);
    *before = *next;
    assert_int_equal(cfg_reload(3, argv, NULL, cur, next, reason, sizeof reason, err, sizeof err),
                     -1);
    assert_string_equal(reason, "disruptive_key");
    assert_contains(err, "bind_addr: changed, but it only takes effect on restart");
    const char *which;
    assert_true(all_keys_equal(next, before, &which)); /* *out untouched on rejection */
    /* Every non-reloadable key is disruptive; limits.queue sizes a queue built at startup. */
    static const char *const disruptive[] = {"[limits]\nqueue = 9\n", "[storage]\nfsync = false\n",
                                             "[log]\nformat = \"text\"\n",
                                             "[sse]\nclient_buffer = 9\n", "max_conns = 9\n"};
    for (size_t i = 0; i < sizeof disruptive / sizeof disruptive[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "bind_addr = \"127.0.0.1:8080\"\n%s", disruptive[i]);
        put_file(path, sizeof path, "reload2.toml", body, 0600);
        assert_int_equal(
            cfg_reload(3, argv, NULL, cur, next, reason, sizeof reason, err, sizeof err), -1);
        assert_string_equal(reason, "disruptive_key");
    }
    /* Invalid and unparsable files. */
    put_file(path, sizeof path, "reload2.toml", "[limits]\ninflight = 0\n", 0600);
    assert_int_equal(cfg_reload(3, argv, NULL, cur, next, reason, sizeof reason, err, sizeof err),
                     -1);
    assert_string_equal(reason, "invalid");
    assert_contains(err, "limits.inflight");
    put_file(path, sizeof path, "reload2.toml", "[limits\n", 0600);
    assert_int_equal(cfg_reload(3, argv, NULL, cur, next, reason, sizeof reason, err, sizeof err),
                     -1);
    assert_string_equal(reason, "parse");
    char *env_bad[] = {"SVCR_LIMITS_RPS=x", NULL};
    put_file(path, sizeof path, "reload2.toml", "", 0600);
    assert_int_equal(
        cfg_reload(3, argv, env_bad, cur, next, reason, sizeof reason, err, sizeof err), -1);
    assert_string_equal(reason, "parse");
    /* The reloadable set is exactly the documented one. */
    static const char *const reloadable[] = {"read_timeout",
                                             "write_timeout",
                                             "idle_timeout",
                                             "limits.inflight",
                                             "limits.rps",
                                             "limits.read_rps",
                                             "limits.list_rps",
                                             "limits.max_body_bytes",
                                             "limits.decompress_ratio_cap",
                                             "retention.by_age",
                                             "retention.by_count",
                                             "retention.by_size",
                                             "sse.heartbeat",
                                             "sse.max_clients",
                                             "sse.max_clients_per_ip",
                                             "log.level"};
    size_t n, count = 0;
    const cfg_key *keys = cfg_keys(&n);
    for (size_t i = 0; i < n; i++)
        count += (keys[i].flags & CFG_F_RELOAD) != 0;
    assert_int_equal(count, sizeof reloadable / sizeof reloadable[0]);
    for (size_t i = 0; i < sizeof reloadable / sizeof reloadable[0]; i++)
        assert_true(cfg_key_find(reloadable[i])->flags & CFG_F_RELOAD);
    free(before);
    free(cur);
    free(next);
}

/* ---- docs and samples stay in sync with the table ------------------------------------------ */

static char *repo_file(const char *rel)
{
    const char *root = getenv("SVCR_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root && *root ? root : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_docs_list_every_key_as_the_table_says(void **state)
{
    (void)state;
    char *doc = repo_file("docs/CONFIG.md");
    if (!doc) {
        print_message("# docs/CONFIG.md not found from here (set SVCR_ROOT); not checked\n");
        return;
    }
    char *table = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&table, &len);
    assert_non_null(f);
    cfg_doc_markdown(f);
    fclose(f);
    if (!strstr(doc, table))
        fail_msg("docs/CONFIG.md does not contain the generated key table:\n%s", table);
    free(table);
    free(doc);
}

static void test_usage_lists_every_flag(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    cfg_usage(f);
    fclose(f);
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    for (size_t i = 0; i < n; i++) {
        char flag[80], env[80];
        snprintf(flag, sizeof flag, "--");
        cfg_key_flag_name(&keys[i], flag + 2, sizeof flag - 2);
        cfg_key_env_name(&keys[i], env, sizeof env);
        assert_contains(text, flag);
        assert_contains(text, env);
    }
    assert_contains(text, "--bind-addr, --bind <host:port>");
    assert_contains(text, "--print-config");
    free(text);
}

static void test_sample_files_load_and_match_the_defaults(void **state)
{
    (void)state;
    char *sample = repo_file("Config.toml.sample");
    char *envex = repo_file(".env.example");
    if (!sample || !envex) {
        print_message("# sample files not found from here (set SVCR_ROOT); not checked\n");
        free(sample);
        free(envex);
        return;
    }
    char path[512], err[1024];
    const char *which = NULL;
    put_file(path, sizeof path, "sample.toml", sample, 0600);
    svcr_config *c = new_cfg(), *d = new_cfg();
    if (run_load(ARGS("--config", path), NOARGS, c, NULL, err, sizeof err) != 0)
        fail_msg("Config.toml.sample: %s", err);
    if (!all_keys_equal(c, d, &which))
        fail_msg("Config.toml.sample sets %s to a non-default value", which);
    /* Uncomment every "# SVCR_X=value" line of .env.example: each names a key, all load. */
    char *envp[128];
    size_t ne = 0, nkeys;
    cfg_keys(&nkeys);
    for (char *line = strtok(envex, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# SVCR_", 7) == 0 || strncmp(line, "SVCR_", 5) == 0) {
            char *e = line[0] == '#' ? line + 2 : line;
            assert_true(ne < 127);
            envp[ne++] = e;
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(strchr(e, '=') - e), e);
            int known = 0;
            size_t n;
            const cfg_key *keys = cfg_keys(&n);
            for (size_t i = 0; i < n; i++) {
                char en[64];
                cfg_key_env_name(&keys[i], en, sizeof en);
                known |= strcmp(en, name) == 0;
            }
            if (!known)
                fail_msg(".env.example names %s, which is no key", name);
        }
    }
    envp[ne] = NULL;
    assert_int_equal(ne, nkeys);
    char *argv[] = {"svc-registry", NULL};
    if (cfg_build(1, argv, envp, c, NULL, err, sizeof err) != 0)
        fail_msg(".env.example: %s", err);
    assert_true(all_keys_equal(c, d, &which));
    free(sample);
    free(envex);
    free(c);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_spec_values),
        cmocka_unit_test(test_no_arguments_give_the_defaults),
        cmocka_unit_test(test_key_table_derives_unique_env_and_flag_names),
        cmocka_unit_test(test_key_table_sections_are_contiguous),
        cmocka_unit_test(test_no_key_can_change_quorum_signers_or_history),
        cmocka_unit_test(test_durations_need_a_unit),
        cmocka_unit_test(test_sizes_take_binary_units_or_bytes),
        cmocka_unit_test(test_uid_lists_in_every_layer),
        cmocka_unit_test(test_string_values_refuse_control_characters_and_overlong_text),
        cmocka_unit_test(test_toml_parses_the_subset),
        cmocka_unit_test(test_toml_rejections_name_the_line_and_the_key),
        cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_file_layer_sets_keys_of_every_type),
        cmocka_unit_test(test_file_type_and_schema_errors_name_line_and_key),
        cmocka_unit_test(test_env_layer_sets_keys_and_ignores_foreign_names),
        cmocka_unit_test(test_flag_layer_accepts_both_syntaxes_and_aliases),
        cmocka_unit_test(test_unknown_or_malformed_flags_are_rejected),
        cmocka_unit_test(test_precedence_is_flag_over_env_over_file_over_default),
        cmocka_unit_test(test_actions_help_version_and_print),
        cmocka_unit_test(test_validation_errors_name_the_key),
        cmocka_unit_test(test_valid_addresses_and_cross_key_settings_pass),
        cmocka_unit_test(test_amnesia_requires_memory_or_a_tmpfs_data_dir),
        cmocka_unit_test(test_tls_needs_existing_files_and_a_private_key),
        cmocka_unit_test(test_trusted_files_writable_by_group_or_other_are_refused),
        cmocka_unit_test(test_trust_roots_over_the_cap_are_refused_without_reading_them),
        cmocka_unit_test(test_print_then_parse_round_trips),
        cmocka_unit_test(test_print_redacts_the_pg_dsn_password),
        cmocka_unit_test(test_redact_dsn_covers_uri_and_keyword_forms),
        cmocka_unit_test(test_reload_accepts_a_limits_change),
        cmocka_unit_test(test_reload_rejects_a_bind_addr_change),
        cmocka_unit_test(test_docs_list_every_key_as_the_table_says),
        cmocka_unit_test(test_usage_lists_every_flag),
        cmocka_unit_test(test_sample_files_load_and_match_the_defaults),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
