/* test_jcs.c - unit tests for the strict JSON parser and RFC 8785 canonical writer (jcs.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "helpers/testutil.h"
#include "interop/buf.h"
#include "interop/error.h"
#include "interop/jcs.h"

#define ES6_FILE "jcs/es6numbers/es6testfile_first10000.txt"
#define ES6_LINES 10000
#define ES6_SHA256 "b9f7a8e75ef22a835685a52ccba7f7d6bdc99e34b010992cbc5864cd12be6892"
#define RANDOM_DOCS 2500

/* Filled by the vector tests, reported by the last test (the runner greps "# vectors:"). */
static int jcs_pairs_checked;
static int es6_numbers_checked;

/* --- helpers ---------------------------------------------------------------------------------- */

/* Canonicalizes `in` (NUL-terminated) and compares with `want` (NUL-terminated) byte for byte. */
static void expect_canonical(const char *in, int scalar_top, const char *want)
{
    buf out = {0};
    svcr_err err;
    svcr_err_clear(&err);
    int rc = jcs_canonicalize(in, strlen(in), scalar_top, &out, &err);
    if (rc != 0)
        fail_msg("canonicalize %s failed: %s", in, err.message);
    if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
        fail_msg("canonicalize %s: got %s want %s", in, out.data, want);
    buf_free(&out);
}

/* Same with explicit lengths, for inputs and outputs that contain NUL bytes. */
static void expect_canonical_n(const char *in, size_t in_len, const char *want, size_t want_len)
{
    buf out = {0};
    svcr_err err;
    svcr_err_clear(&err);
    assert_int_equal(jcs_canonicalize(in, in_len, 1, &out, &err), 0);
    assert_int_equal(out.len, want_len);
    assert_memory_equal(out.data, want, want_len);
    buf_free(&out);
}

/* Asserts that `in` is rejected as Malformed, optionally with a given reason word. */
static void expect_rejected_n(const char *in, size_t len, int scalar_top, const char *reason)
{
    svcr_err err;
    svcr_err_clear(&err);
    json_t *v = jcs_parse(in, len, scalar_top, &err);
    if (v) {
        json_decref(v);
        fail_msg("accepted what must be rejected: %.*s", (int)len, in);
    }
    assert_int_equal(err.code, SVCR_E_MALFORMED);
    assert_non_null(strstr(err.message, "line "));
    if (reason && strcmp(err.reason, reason) != 0)
        fail_msg("%.*s: reason %s, want %s (%s)", (int)len, in, err.reason, reason, err.message);
    /* The convenience wrapper fails the same way and leaves the output alone. */
    buf out = {0};
    assert_int_equal(jcs_canonicalize(in, len, scalar_top, &out, &err), -1);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

static void expect_rejected(const char *in, const char *reason)
{
    expect_rejected_n(in, strlen(in), 1, reason);
}

static void expect_number(double x, const char *want)
{
    char out[32];
    int n = jcs_format_number(x, out);
    if (n < 0 || (size_t)n != strlen(want) || strcmp(out, want) != 0)
        fail_msg("format %.17g: got %s want %s", x, n < 0 ? "(error)" : out, want);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Decodes the space-separated hex of an outhex file. Caller frees. */
static unsigned char *decode_outhex(const char *text, size_t *len_out)
{
    size_t cap = strlen(text) / 2 + 1, n = 0;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    const char *p = text;
    while (*p) {
        if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') {
            p++;
            continue;
        }
        char byte[3] = {p[0], p[1], '\0'};
        size_t bl = 0;
        uint8_t *b = tu_unhex(byte, &bl);
        assert_non_null(b);
        assert_int_equal(bl, 1);
        assert_true(n < cap);
        out[n++] = b[0];
        free(b);
        p += 2;
    }
    *len_out = n;
    return out;
}

/* --- shared vectors --------------------------------------------------------------------------- */

static void test_jcs_vectors_match_expected_output_bytes(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/jcs/input", tu_vectors_dir());
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s (set SVCR_VECTORS_DIR)", dir);
    char *names[64];
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) {
            assert_true(count < 64);
            names[count++] = strndup(de->d_name, l - 5);
        }
    }
    closedir(d);
    qsort(names, count, sizeof names[0], cmp_str);
    assert_true(count >= 6);

    for (size_t i = 0; i < count; i++) {
        char rel[512];
        size_t in_len, want_len, hex_len, hexbytes_len;
        snprintf(rel, sizeof rel, "jcs/input/%s.json", names[i]);
        char *in = tu_read_vector(rel, &in_len);
        snprintf(rel, sizeof rel, "jcs/output/%s.json", names[i]);
        char *want = tu_read_vector(rel, &want_len);
        snprintf(rel, sizeof rel, "jcs/outhex/%s.txt", names[i]);
        char *hex = tu_read_vector(rel, &hex_len);
        unsigned char *hexbytes = decode_outhex(hex, &hexbytes_len);

        buf out = {0};
        svcr_err err;
        svcr_err_clear(&err);
        if (jcs_canonicalize(in, in_len, 0, &out, &err) != 0)
            fail_msg("%s: %s", names[i], err.message);
        if (out.len != want_len || memcmp(out.data, want, want_len) != 0)
            fail_msg("%s: got\n%s\nwant\n%s", names[i], out.data, want);
        assert_int_equal(hexbytes_len, want_len);
        assert_memory_equal(hexbytes, out.data, want_len);

        /* The expected output is itself canonical. */
        buf again = {0};
        assert_int_equal(jcs_canonicalize(want, want_len, 0, &again, &err), 0);
        assert_int_equal(again.len, want_len);
        assert_memory_equal(again.data, want, want_len);

        buf_free(&again);
        buf_free(&out);
        free(hexbytes);
        free(hex);
        free(want);
        free(in);
        free(names[i]);
        jcs_pairs_checked++;
    }
}

static void test_jcs_es6_numbers_match_reference_and_checksum(void **state)
{
    (void)state;
    size_t len;
    char *text = tu_read_vector(ES6_FILE, &len);
    buf all = {0};
    int lines = 0, bad = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *comma = strchr(line, ',');
        assert_non_null(comma);
        *comma = '\0';
        const char *want = comma + 1;
        char *end;
        uint64_t bits = strtoull(line, &end, 16);
        assert_true(*end == '\0' && end != line);
        double x;
        memcpy(&x, &bits, sizeof x);
        char got[32];
        int n = jcs_format_number(x, got);
        assert_true(n > 0);
        assert_int_equal((size_t)n, strlen(got));
        if (strcmp(got, want) != 0 && bad++ < 10)
            print_message("# es6 mismatch %s: got %s want %s\n", line, got, want);
        assert_int_equal(buf_printf(&all, "%s,%s\n", line, got), 0);
        lines++;
    }
    assert_int_equal(bad, 0);
    assert_int_equal(lines, ES6_LINES);

    assert_true(sodium_init() >= 0);
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)all.data, all.len);
    char hexh[2 * crypto_hash_sha256_BYTES + 1];
    sodium_bin2hex(hexh, sizeof hexh, h, sizeof h);
    assert_string_equal(hexh, ES6_SHA256);
    es6_numbers_checked = lines;
    buf_free(&all);
    free(text);
}

/* --- numbers ---------------------------------------------------------------------------------- */

static void test_jcs_format_number_follows_ecmascript_layout(void **state)
{
    (void)state;
    expect_number(0.0, "0");
    expect_number(-0.0, "0");
    expect_number(1.0, "1");
    expect_number(-1.0, "-1");
    expect_number(56.0, "56");
    expect_number(4.5, "4.5");
    expect_number(0.1, "0.1");
    expect_number(0.1 + 0.2, "0.30000000000000004");
    expect_number(1e21, "1e+21");
    expect_number(-1e21, "-1e+21");
    expect_number(999999999999999900000.0, "999999999999999900000");
    expect_number(1e20, "100000000000000000000");
    expect_number(1e-6, "0.000001");
    expect_number(1e-7, "1e-7");
    expect_number(1.5e-7, "1.5e-7");
    expect_number(-1.5e-7, "-1.5e-7");
    expect_number(1.2345e-6, "0.0000012345");
    expect_number(123456789012345680000.0, "123456789012345680000");
    expect_number(1e30, "1e+30");
    expect_number(1e23, "1e+23");
    expect_number(9007199254740992.0, "9007199254740992");
    expect_number(9007199254740994.0, "9007199254740994");
    expect_number(-9007199254740991.0, "-9007199254740991");
    expect_number(5e-324, "5e-324");
    expect_number(-5e-324, "-5e-324");
    expect_number(1.7976931348623157e308, "1.7976931348623157e+308");
    expect_number(2.2250738585072014e-308, "2.2250738585072014e-308");
    expect_number(333333333.3333333, "333333333.3333333");
    expect_number(9.999999999999997e-7, "9.999999999999997e-7");
    /* Powers of two, where the rounding interval is asymmetric. */
    expect_number(ldexp(1.0, 1023), "8.98846567431158e+307");
    expect_number(ldexp(1.0, -1022), "2.2250738585072014e-308");
    expect_number(ldexp(1.0, 60), "1152921504606847000");
    expect_number(ldexp(1.0, 70), "1.1805916207174113e+21");

    char out[32] = "untouched";
    assert_int_equal(jcs_format_number(NAN, out), -1);
    assert_int_equal(jcs_format_number(INFINITY, out), -1);
    assert_int_equal(jcs_format_number(-INFINITY, out), -1);
    assert_string_equal(out, "untouched");
}

static void test_jcs_numbers_are_read_like_json_parse(void **state)
{
    (void)state;
    expect_canonical("[1e-400]", 0, "[0]");
    expect_canonical("[-1e-400]", 0, "[0]");
    expect_canonical("[9007199254740993]", 0, "[9007199254740992]");
    expect_canonical("[-0]", 0, "[0]");
    expect_canonical("[-0.0e5]", 0, "[0]");
    expect_canonical("[1E30, 4.50, 56.0, 1e+2, 0.00001]", 0, "[1e+30,4.5,56,100,0.00001]");
    /* Integers beyond the range of json_int_t still read as doubles, not as an error. */
    expect_canonical("[100000000000000000000000]", 0, "[1e+23]");
    expect_canonical("[-123456789012345678901234567890]", 0, "[-1.2345678901234568e+29]");
    expect_canonical("[2.4703282292062328e-324]", 0, "[5e-324]");
    expect_canonical("[1.7976931348623158e308]", 0, "[1.7976931348623157e+308]");

    /* The parsed tree holds reals only. */
    svcr_err err;
    json_t *v = jcs_parse("[1, -0]", 7, 0, &err);
    assert_non_null(v);
    assert_true(json_is_real(json_array_get(v, 0)));
    assert_true(json_is_real(json_array_get(v, 1)));
    assert_true(signbit(json_real_value(json_array_get(v, 1))));
    json_decref(v);
}

static void test_jcs_integers_format_as_the_double_they_round_to(void **state)
{
    (void)state;
    json_t *a = json_pack("[IIIII]", (json_int_t)9007199254740993LL, (json_int_t)-5, (json_int_t)0,
                          (json_int_t)INT64_MAX, (json_int_t)INT64_MIN);
    assert_non_null(a);
    buf out = {0};
    svcr_err err;
    assert_int_equal(jcs_write(&out, a, &err), 0);
    assert_string_equal(out.data, "[9007199254740992,-5,0,9223372036854776000,"
                                  "-9223372036854776000]");
    buf_free(&out);
    json_decref(a);
}

/* --- rejections ------------------------------------------------------------------------------- */

static void test_jcs_parse_rejects_duplicate_keys(void **state)
{
    (void)state;
    expect_rejected("{\"a\":1,\"a\":1}", "duplicate_key");
    expect_rejected("{\"a\":1,\"b\":{\"x\":1,\"y\":2,\"x\":3}}", "duplicate_key");
    expect_rejected("[{\"k\":[{\"z\":1,\"z\":2}]}]", "duplicate_key");
    /* The same name spelled differently is still a duplicate. */
    expect_rejected("{\"\\u0061\":1,\"a\":2}", "duplicate_key");
    expect_rejected("{\"\xc3\xa9\":1,\"\\u00e9\":2}", "duplicate_key");
    /* Equal names in different objects are fine. */
    expect_canonical("{\"a\":{\"a\":{\"a\":1}}}", 0, "{\"a\":{\"a\":{\"a\":1}}}");
}

static void test_jcs_parse_rejects_invalid_utf8(void **state)
{
    (void)state;
    expect_rejected("[\"\xff\"]", "invalid_utf8");
    expect_rejected("[\"\xc3\"]", "invalid_utf8");             /* truncated sequence */
    expect_rejected("[\"\xc0\x80\"]", "invalid_utf8");         /* overlong NUL */
    expect_rejected("[\"\xe0\x80\xaf\"]", "invalid_utf8");     /* overlong '/' */
    expect_rejected("[\"\xed\xa0\x80\"]", "invalid_utf8");     /* UTF-8 encoded surrogate */
    expect_rejected("[\"\xf4\x90\x80\x80\"]", "invalid_utf8"); /* above U+10FFFF */
    expect_rejected("{\"\x80\":1}", "invalid_utf8");
    expect_rejected("\xef\xbb\xbf[1]", NULL); /* a BOM is not JSON whitespace */
}

static void test_jcs_parse_rejects_lone_surrogate_escapes(void **state)
{
    (void)state;
    expect_rejected("[\"\\ud800\"]", NULL);
    expect_rejected("[\"\\udc00\"]", NULL);
    expect_rejected("[\"\\ud83d\\u0041\"]", NULL);
    expect_rejected("{\"\\ud83d\":1}", NULL);
    /* A proper pair is fine and comes out as raw UTF-8. */
    expect_canonical("[\"\\ud83d\\ude02\"]", 0, "[\"\xf0\x9f\x98\x82\"]");
}

static void test_jcs_parse_rejects_number_overflow(void **state)
{
    (void)state;
    expect_rejected("[1e400]", "number_overflow");
    expect_rejected("[-1e400]", "number_overflow");
    expect_rejected("1e309", "number_overflow");
    expect_rejected("[1.7976931348623159e308]", "number_overflow");
}

static void test_jcs_parse_rejects_nan_and_infinity_literals(void **state)
{
    (void)state;
    expect_rejected("[NaN]", NULL);
    expect_rejected("[Infinity]", NULL);
    expect_rejected("[-Infinity]", NULL);
    expect_rejected("{\"a\":nan}", NULL);
}

static void test_jcs_parse_rejects_trailing_garbage_and_bad_syntax(void **state)
{
    (void)state;
    expect_rejected("[1] x", "trailing_data");
    expect_rejected("{} {}", "trailing_data");
    expect_rejected_n("[1]\0", 4, 1, "trailing_data");
    expect_rejected("[1,]", NULL);
    expect_rejected("{\"a\":1,}", NULL);
    expect_rejected("[01]", NULL);
    expect_rejected("[.5]", NULL);
    expect_rejected("[1.]", NULL);
    expect_rejected("['a']", NULL);
    expect_rejected("[\"a\tb\"]", NULL); /* raw control character */
    expect_rejected("[1", NULL);
    expect_rejected("", NULL);
    expect_rejected_n(NULL, 0, 1, NULL);
    /* Surrounding JSON whitespace is fine. */
    expect_canonical(" \t\r\n[ 1 , 2 ]\n ", 0, "[1,2]");
}

static void test_jcs_parse_scalar_top_only_when_allowed(void **state)
{
    (void)state;
    expect_rejected_n("1", 1, 0, "wrong_type");
    expect_rejected_n("\"s\"", 3, 0, "wrong_type");
    expect_rejected_n("null", 4, 0, "wrong_type");
    expect_canonical("1.50", 1, "1.5");
    expect_canonical(" \"s\" ", 1, "\"s\"");
    expect_canonical("null", 1, "null");
    expect_canonical("true", 1, "true");
    expect_canonical("false", 1, "false");
}

static void test_jcs_parse_error_names_line_and_column(void **state)
{
    (void)state;
    const char *in = "{\n  \"a\": 1,\n  \"a\": 2\n}";
    svcr_err err;
    svcr_err_clear(&err);
    assert_null(jcs_parse(in, strlen(in), 0, &err));
    assert_int_equal(err.code, SVCR_E_MALFORMED);
    assert_string_equal(err.reason, "duplicate_key");
    assert_non_null(strstr(err.message, "line 3"));
    assert_non_null(strstr(err.message, "column"));
    assert_non_null(strstr(err.message, "duplicate"));
    /* Bytes quoted from the input are made printable. */
    const char *bad = "[\"ok\", \xfe\xff]";
    assert_null(jcs_parse(bad, strlen(bad), 0, &err));
    for (const char *p = err.message; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    /* A NULL err is allowed. */
    assert_null(jcs_parse("[", 1, 0, NULL));
}

/* --- strings ---------------------------------------------------------------------------------- */

static void test_jcs_nul_in_string_is_kept_as_escape(void **state)
{
    (void)state;
    static const char want[] = "[\"a\\u0000b\",\"\\u0000\"]";
    static const char in[] = "[\"a\\u0000b\", \"\\u0000\"]";
    expect_canonical_n(in, sizeof in - 1, want, sizeof want - 1);
    svcr_err err;
    json_t *v = jcs_parse("[\"a\\u0000b\"]", 12, 0, &err);
    assert_non_null(v);
    assert_int_equal(json_string_length(json_array_get(v, 0)), 3);
    json_decref(v);
    /* jansson cannot hold U+0000 in an object key read from text (JSON.parse can). */
    expect_rejected("{\"a\\u0000\":1}", "nul_in_key");
    /* A key built in code with a NUL is still written canonically. */
    json_t *o = json_object();
    assert_int_equal(json_object_setn_new(o, "k\0", 2, json_true()), 0);
    buf out = {0};
    assert_int_equal(jcs_write(&out, o, &err), 0);
    assert_string_equal(out.data, "{\"k\\u0000\":true}");
    buf_free(&out);
    json_decref(o);
}

static void test_jcs_strings_use_minimal_escapes(void **state)
{
    (void)state;
    /* Every ASCII character, then DEL, U+0080, U+2028, U+2029, U+FEFF and an astral char. */
    char in[256];
    size_t n = 0;
    for (int c = 0; c < 0x80; c++)
        in[n++] = (char)c;
    static const char tail[] = "\xc2\x80\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf\xf0\x9f\x98\x82";
    memcpy(in + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    json_t *s = json_stringn(in, n);
    assert_non_null(s);
    buf out = {0};
    svcr_err err;
    assert_int_equal(jcs_write(&out, s, &err), 0);
    static const char want[] =
        "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r"
        "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019"
        "\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f !\\\"#$%&'()*+,-./0123456789:;<=>?"
        "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f"
        "\xc2\x80\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf\xf0\x9f\x98\x82\"";
    assert_int_equal(out.len, sizeof want - 1);
    assert_memory_equal(out.data, want, sizeof want - 1);
    buf_free(&out);
    json_decref(s);
    /* Escapes in the input that need none in the output. */
    expect_canonical("[\"\\/\\u20ac\\u0041\\u007f\\u2028\"]", 0,
                     "[\"/\xe2\x82\xac"
                     "A\x7f\xe2\x80\xa8\"]");
    expect_canonical("[\"\\u001F\\u000F\"]", 0, "[\"\\u001f\\u000f\"]");
    /* No Unicode normalization. */
    expect_canonical("[\"A\\u030a\", \"\\u00c5\"]", 0, "[\"A\xcc\x8a\",\"\xc3\x85\"]");
}

static void test_jcs_write_rejects_invalid_utf8_and_leaves_output_unchanged(void **state)
{
    (void)state;
    buf out = {0};
    assert_int_equal(buf_puts(&out, "prefix"), 0);
    svcr_err err;

    json_t *a = json_array();
    json_array_append_new(a, json_integer(1));
    json_array_append_new(a, json_stringn_nocheck("\xed\xa0\x80", 3));
    svcr_err_clear(&err);
    assert_int_equal(jcs_write(&out, a, &err), -1);
    assert_int_equal(err.code, SVCR_E_MALFORMED);
    assert_string_equal(err.reason, "invalid_utf8");
    assert_string_equal(out.data, "prefix");
    json_decref(a);

    json_t *o = json_object();
    json_object_set_new(o, "good", json_null());
    json_object_setn_new_nocheck(o, "\xc3\x28", 2, json_null());
    svcr_err_clear(&err);
    assert_int_equal(jcs_write(&out, o, &err), -1);
    assert_string_equal(err.reason, "invalid_utf8");
    assert_string_equal(out.data, "prefix");
    assert_int_equal(out.len, 6);
    json_decref(o);

    /* jansson refuses to build non-finite reals, so that branch is reached through the
     * number formatter only. */
    assert_null(json_real(NAN));
    assert_null(json_real(INFINITY));

    /* Appends after existing content on success. */
    json_t *e = json_object();
    assert_int_equal(jcs_write(&out, e, &err), 0);
    assert_string_equal(out.data, "prefix{}");
    json_decref(e);
    buf_free(&out);
}

/* --- ordering --------------------------------------------------------------------------------- */

/* Byte offset of `needle` in the canonical form, which must contain it. */
static size_t offset_of(const buf *b, const char *needle)
{
    const char *p = memmem(b->data, b->len, needle, strlen(needle));
    assert_non_null(p);
    return (size_t)(p - b->data);
}

static void test_jcs_keys_sort_by_utf16_code_units(void **state)
{
    (void)state;
    svcr_err err;
    /* The upstream weird.json case: U+1F602 (D83D DE02) sorts before U+FB33. */
    size_t len;
    char *in = tu_read_vector("jcs/input/weird.json", &len);
    buf out = {0};
    assert_int_equal(jcs_canonicalize(in, len, 0, &out, &err), 0);
    assert_true(offset_of(&out, "\"\xf0\x9f\x98\x82\"") < offset_of(&out, "\"\xef\xac\xb3\""));
    buf_free(&out);
    free(in);

    /* Directly: by code point U+FB33 < U+1F602, by UTF-16 code unit the other way round. */
    expect_canonical("{\"\xef\xac\xb3\":1,\"\xf0\x9f\x98\x82\":2}", 0,
                     "{\"\xf0\x9f\x98\x82\":2,\"\xef\xac\xb3\":1}");
    expect_canonical("{\"\\ufb33\":1,\"\\ud83d\\ude02\":2}", 0,
                     "{\"\xf0\x9f\x98\x82\":2,\"\xef\xac\xb3\":1}");

    /* A fuller ladder: "" < a < ab < b < U+00E9 < U+D7FF < U+10000 < U+1F602 < U+10FFFF
     * < U+E000 < U+FB33 < U+FFFF. Inserted in reverse. */
    static const char *const ladder[] = {
        "",
        "a",
        "ab",
        "b",
        "\xc3\xa9",
        "\xed\x9f\xbf",
        "\xf0\x90\x80\x80",
        "\xf0\x9f\x98\x82",
        "\xf4\x8f\xbf\xbf",
        "\xee\x80\x80",
        "\xef\xac\xb3",
        "\xef\xbf\xbf",
    };
    size_t nl = sizeof ladder / sizeof ladder[0];
    json_t *o = json_object();
    for (size_t i = nl; i-- > 0;)
        assert_int_equal(json_object_set_new(o, ladder[i], json_integer((json_int_t)i)), 0);
    buf want = {0};
    buf_putc(&want, '{');
    for (size_t i = 0; i < nl; i++)
        buf_printf(&want, "%s\"%s\":%zu", i ? "," : "", ladder[i], i);
    buf_putc(&want, '}');
    buf got = {0};
    assert_int_equal(jcs_write(&got, o, &err), 0);
    assert_string_equal(got.data, want.data);
    buf_free(&got);
    buf_free(&want);
    json_decref(o);

    /* Arrays keep their order; "1" < "10" < "d" as strings. */
    expect_canonical("{\"d\":[3,1,2],\"10\":0,\"1\":0}", 0, "{\"1\":0,\"10\":0,\"d\":[3,1,2]}");
}

/* --- nesting ---------------------------------------------------------------------------------- */

static void test_jcs_nesting_limit_matches_the_parser(void **state)
{
    (void)state;
    svcr_err err;
    /* {"k":[{"k":[ ... ]}]}: JCS_MAX_DEPTH containers, objects and arrays alternating. */
    buf in = {0};
    for (int i = 0; i < JCS_MAX_DEPTH; i++)
        buf_puts(&in, i % 2 ? "[" : "{\"k\":");
    if (JCS_MAX_DEPTH % 2)
        buf_puts(&in, "1"); /* the innermost object needs a value */
    for (int i = JCS_MAX_DEPTH; i-- > 0;)
        buf_puts(&in, i % 2 ? "]" : "}");
    buf out = {0};
    assert_int_equal(jcs_canonicalize(in.data, in.len, 0, &out, &err), 0);
    assert_int_equal(out.len, in.len);
    assert_memory_equal(out.data, in.data, in.len);
    buf_free(&out);
    buf_reset(&in);
    for (int i = 0; i <= JCS_MAX_DEPTH; i++)
        buf_putc(&in, '[');
    for (int i = 0; i <= JCS_MAX_DEPTH; i++)
        buf_putc(&in, ']');
    expect_rejected_n(in.data, in.len, 0, "too_deep");
    buf_free(&in);

    /* Built in code one level deeper than the parser allows: refused by the writer. */
    json_t *top = json_array(), *cur = top;
    for (int i = 1; i <= JCS_MAX_DEPTH; i++) {
        json_t *next = i % 2 ? json_object() : json_array();
        if (json_is_array(cur))
            json_array_append_new(cur, next);
        else
            json_object_set_new(cur, "k", next);
        cur = next;
    }
    svcr_err_clear(&err);
    assert_int_equal(jcs_write(&out, top, &err), -1);
    assert_string_equal(err.reason, "too_deep");
    assert_int_equal(out.len, 0);
    buf_free(&out);
    json_decref(top);
}

/* --- randomized idempotence ------------------------------------------------------------------- */

static void put_utf8(buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    }
    assert_int_equal(buf_append(b, u, n), 0);
}

/* A random code point from a mix of ranges; U+0000 only when allow_nul. Never a surrogate. */
static uint32_t random_cp(uint64_t *rs, int allow_nul)
{
    uint64_t r = tu_rand(rs);
    uint32_t cp;
    switch (r % 8) {
    case 0:
        cp = (uint32_t)(r >> 8) % 0x20; /* controls */
        break;
    case 1:
        cp = 0x7f + (uint32_t)(r >> 8) % 0x22; /* DEL, C1 */
        break;
    case 2:
        cp = 0x80 + (uint32_t)(r >> 8) % (0xd800 - 0x80);
        break;
    case 3:
        cp = 0xe000 + (uint32_t)(r >> 8) % 0x2000; /* sorts after astral in UTF-16 */
        break;
    case 4:
        cp = 0x10000 + (uint32_t)(r >> 8) % 0x100000; /* astral */
        break;
    case 5:
        cp = 0x1f600 + (uint32_t)(r >> 8) % 0x40;
        break;
    default:
        cp = 0x20 + (uint32_t)(r >> 8) % 0x5f; /* printable ASCII incl. " and \ */
        break;
    }
    if (cp == 0 && !allow_nul)
        cp = 'x';
    return cp;
}

static void random_text(uint64_t *rs, buf *b, int allow_nul)
{
    buf_reset(b);
    int n = (int)(tu_rand(rs) % 7);
    for (int i = 0; i < n; i++)
        put_utf8(b, random_cp(rs, allow_nul));
}

static double random_double(uint64_t *rs)
{
    uint64_t r = tu_rand(rs);
    double x;
    switch (r % 5) {
    case 0: {
        uint64_t bits;
        do {
            bits = tu_rand(rs);
            memcpy(&x, &bits, sizeof x);
        } while (!isfinite(x));
        return x;
    }
    case 1:
        return (double)(int64_t)(tu_rand(rs) % 2000001) - 1000000.0;
    case 2:
        return ldexp((double)(tu_rand(rs) % 1000) + 1.0, (int)(tu_rand(rs) % 200) - 100);
    case 3:
        return ((double)(tu_rand(rs) % 100000)) * pow(10.0, (int)(tu_rand(rs) % 60) - 30);
    default:
        return ldexp(1.0, (int)(tu_rand(rs) % 2098) - 1074) * ((r >> 8) & 1 ? -1 : 1);
    }
}

/* kind_min 7 forces an array or object. */
static json_t *random_value(uint64_t *rs, int depth, int kind_min)
{
    buf tmp = {0};
    json_t *v = NULL;
    uint64_t r = tu_rand(rs);
    int kinds = depth < 5 ? 9 : 7;
    int kind = kind_min + (int)(r % (uint64_t)(kinds - kind_min));
    switch (kind) {
    case 0:
        v = json_null();
        break;
    case 1:
        v = json_boolean((r >> 8) & 1);
        break;
    case 2:
        v = json_real(random_double(rs));
        break;
    case 3:
        v = json_integer((json_int_t)tu_rand(rs) >> (tu_rand(rs) % 64));
        break;
    case 4:
    case 5:
        random_text(rs, &tmp, 1);
        v = json_stringn(tmp.data ? tmp.data : "", tmp.len);
        break;
    case 6:
        v = json_real(random_double(rs));
        break;
    case 7: {
        v = json_array();
        int n = (int)(tu_rand(rs) % 6);
        for (int i = 0; i < n; i++)
            json_array_append_new(v, random_value(rs, depth + 1, 0));
        break;
    }
    default: {
        v = json_object();
        int n = (int)(tu_rand(rs) % 7);
        for (int i = 0; i < n; i++) {
            random_text(rs, &tmp, 0);
            json_object_setn_new(v, tmp.data ? tmp.data : "", tmp.len,
                                 random_value(rs, depth + 1, 0));
        }
        break;
    }
    }
    buf_free(&tmp);
    assert_non_null(v);
    return v;
}

static void test_jcs_random_documents_are_idempotent(void **state)
{
    (void)state;
    uint64_t rs = 0x6a63735f73656564ULL; /* fixed seed: reproducible */
    svcr_err err;
    int scalars = 0;
    for (int iter = 0; iter < RANDOM_DOCS; iter++) {
        /* Mostly containers; sometimes any value (often a scalar) at the top. */
        json_t *v = random_value(&rs, 0, iter % 10 == 0 ? 0 : 7);
        int scalar = !json_is_object(v) && !json_is_array(v);
        scalars += scalar;
        uint64_t r = tu_rand(&rs);
        size_t flags = JSON_ENCODE_ANY | JSON_INDENT(r % 4);
        if (r & 0x10)
            flags |= JSON_ENSURE_ASCII;
        if (r & 0x20)
            flags |= JSON_ESCAPE_SLASH;
        if (r & 0x40)
            flags |= JSON_SORT_KEYS;
        char *doc = json_dumps(v, flags);
        assert_non_null(doc);
        size_t doc_len = strlen(doc);

        buf c1 = {0}, c2 = {0}, direct = {0};
        svcr_err_clear(&err);
        if (jcs_canonicalize(doc, doc_len, scalar, &c1, &err) != 0)
            fail_msg("doc %d rejected: %s\n%s", iter, err.message, doc);
        if (jcs_canonicalize(c1.data, c1.len, scalar, &c2, &err) != 0)
            fail_msg("canonical form of doc %d rejected: %s\n%s", iter, err.message, c1.data);
        if (c1.len != c2.len || memcmp(c1.data, c2.data, c1.len) != 0)
            fail_msg("doc %d not idempotent:\n%s\n%s", iter, c1.data, c2.data);
        /* Writing the tree built in code (json integers included) gives the same bytes. */
        assert_int_equal(jcs_write(&direct, v, &err), 0);
        assert_int_equal(direct.len, c1.len);
        assert_memory_equal(direct.data, c1.data, c1.len);
        /* The canonical form reads back as the same value. */
        json_t *p1 = jcs_parse(doc, doc_len, scalar, &err);
        json_t *p2 = jcs_parse(c1.data, c1.len, scalar, &err);
        assert_non_null(p1);
        assert_non_null(p2);
        if (!json_equal(p1, p2))
            fail_msg("doc %d re-parses differently:\n%s\n%s", iter, doc, c1.data);
        json_decref(p2);
        json_decref(p1);
        buf_free(&direct);
        buf_free(&c2);
        buf_free(&c1);
        free(doc);
        json_decref(v);
    }
    assert_true(scalars > 0);
}

/* Runs last: reports how many shared vectors the suite checked. */
static void test_jcs_vector_counts_are_reported(void **state)
{
    (void)state;
    print_message("# vectors: jcs pairs %d, es6 numbers %d\n", jcs_pairs_checked,
                  es6_numbers_checked);
    assert_true(jcs_pairs_checked >= 6);
    assert_int_equal(es6_numbers_checked, ES6_LINES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jcs_vectors_match_expected_output_bytes),
        cmocka_unit_test(test_jcs_es6_numbers_match_reference_and_checksum),
        cmocka_unit_test(test_jcs_format_number_follows_ecmascript_layout),
        cmocka_unit_test(test_jcs_numbers_are_read_like_json_parse),
        cmocka_unit_test(test_jcs_integers_format_as_the_double_they_round_to),
        cmocka_unit_test(test_jcs_parse_rejects_duplicate_keys),
        cmocka_unit_test(test_jcs_parse_rejects_invalid_utf8),
        cmocka_unit_test(test_jcs_parse_rejects_lone_surrogate_escapes),
        cmocka_unit_test(test_jcs_parse_rejects_number_overflow),
        cmocka_unit_test(test_jcs_parse_rejects_nan_and_infinity_literals),
        cmocka_unit_test(test_jcs_parse_rejects_trailing_garbage_and_bad_syntax),
        cmocka_unit_test(test_jcs_parse_scalar_top_only_when_allowed),
        cmocka_unit_test(test_jcs_parse_error_names_line_and_column),
        cmocka_unit_test(test_jcs_nul_in_string_is_kept_as_escape),
        cmocka_unit_test(test_jcs_strings_use_minimal_escapes),
        cmocka_unit_test(test_jcs_write_rejects_invalid_utf8_and_leaves_output_unchanged),
        cmocka_unit_test(test_jcs_keys_sort_by_utf16_code_units),
        cmocka_unit_test(test_jcs_nesting_limit_matches_the_parser),
        cmocka_unit_test(test_jcs_random_documents_are_idempotent),
        cmocka_unit_test(test_jcs_vector_counts_are_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
