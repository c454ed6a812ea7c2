/* test_openapi_sync.c - docs/openapi/registry.yaml and the route table (ROUTE_ROWS in
 * src/http/routes.h) agree, and the table is whole: a handler for every allowed method. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/raw.h"
#include "http/routes.h"
#include "interop/buf.h"
#include "interop/error.h"

/* Operation bits: GET/HEAD/POST as in routes.h, anything else (put, delete, …) as OA_OTHER. */
enum { OA_GET = M_GET, OA_HEAD = M_HEAD, OA_POST = M_POST, OA_OTHER = 8 };

#define SPEC_MAX_PATHS 64
#define SPEC_MAX_CODES 64

typedef struct spec_op {
    int bearer;     /* `security:` lists the bearer scheme */
    char scope[64]; /* x-capability-scope, "" if none */
} spec_op;

typedef struct spec_path {
    char path[160];
    unsigned methods; /* OA_* */
    spec_op get, post;
    char other[16]; /* name of the first unexpected method, for the message */
} spec_path;

typedef struct spec {
    spec_path paths[SPEC_MAX_PATHS];
    size_t n;
    char codes[SPEC_MAX_CODES][32]; /* components.schemas.ErrorCode enum */
    size_t n_codes;
} spec;

/* Leading spaces of a line. */
static size_t indent_of(const char *line)
{
    return strspn(line, " ");
}

/* Copies the key of "<indent>key:[ rest]" into out (quotes removed); 0, or -1 if the line is not
 * a mapping key. */
static int key_of(const char *line, char *out, size_t cap)
{
    const char *p = line + indent_of(line);
    const char *colon = NULL;
    if (*p == '\'' || *p == '"') {
        const char *end = strchr(p + 1, *p);
        if (!end || end[1] != ':')
            return -1;
        colon = end + 1;
        p++;
        if ((size_t)(end - p) >= cap)
            return -1;
        memcpy(out, p, (size_t)(end - p));
        out[end - p] = '\0';
        return 0;
    }
    for (const char *q = p; *q; q++)
        if (*q == ':' && (q[1] == '\0' || q[1] == ' ')) {
            colon = q;
            break;
        }
    if (!colon || colon == p || (size_t)(colon - p) >= cap)
        return -1;
    memcpy(out, p, (size_t)(colon - p));
    out[colon - p] = '\0';
    return 0;
}

/* The value after "key:" on the same line, trimmed ("" if none). */
static void value_of(const char *line, char *out, size_t cap)
{
    const char *colon = strstr(line, ": ");
    out[0] = '\0';
    if (!colon)
        return;
    const char *v = colon + 2;
    while (*v == ' ')
        v++;
    snprintf(out, cap, "%s", v);
    size_t n = strlen(out);
    while (n && out[n - 1] == ' ')
        out[--n] = '\0';
}

static unsigned method_bit(const char *k)
{
    if (strcmp(k, "get") == 0)
        return OA_GET;
    if (strcmp(k, "head") == 0)
        return OA_HEAD;
    if (strcmp(k, "post") == 0)
        return OA_POST;
    static const char *const others[] = {"put", "delete", "options", "patch", "trace"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++)
        if (strcmp(k, others[i]) == 0)
            return OA_OTHER;
    return 0;
}

/* The line-based reader: paths are the two-space keys starting with '/' under the top-level
 * `paths:`, operations the four-space method keys under them; inside an operation (six spaces)
 * `security:` with a `- bearer` entry and `x-capability-scope:` are noted. The enum of
 * components.schemas.ErrorCode is collected too. Modifies `text` (splits it into lines).
 * 0, or -1 on a structure it cannot read (the message says why). */
static int spec_parse(char *text, spec *out, char *why, size_t whycap)
{
    memset(out, 0, sizeof *out);
    enum { TOP, PATHS, SCHEMAS, OTHER } section = OTHER;
    spec_path *cur = NULL;
    spec_op *op = NULL;
    int in_security = 0, in_codes = 0, in_components = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        size_t ind = indent_of(line);
        if (line[ind] == '\0' || line[ind] == '#')
            continue;
        if (strchr(line, '\t')) {
            snprintf(why, whycap, "a tab in: %.80s", line);
            return -1;
        }
        char key[160];
        int is_key = key_of(line, key, sizeof key) == 0;
        if (ind == 0) {
            section = is_key && strcmp(key, "paths") == 0 ? PATHS : TOP;
            in_components = is_key && strcmp(key, "components") == 0;
            cur = NULL;
            op = NULL;
            continue;
        }
        if (in_components) {
            if (ind == 2)
                section = is_key && strcmp(key, "schemas") == 0 ? SCHEMAS : OTHER;
            if (section != SCHEMAS)
                continue;
            if (ind == 4)
                in_codes = is_key && strcmp(key, "ErrorCode") == 0;
            else if (in_codes && ind == 8 && line[ind] == '-' && out->n_codes < SPEC_MAX_CODES)
                snprintf(out->codes[out->n_codes++], sizeof out->codes[0], "%s", line + ind + 2);
            continue;
        }
        if (section != PATHS)
            continue;
        if (ind == 2) {
            if (!is_key || key[0] != '/') {
                snprintf(why, whycap, "not a path under paths: %.80s", line);
                return -1;
            }
            if (out->n == SPEC_MAX_PATHS) {
                snprintf(why, whycap, "more than %d paths", SPEC_MAX_PATHS);
                return -1;
            }
            cur = &out->paths[out->n++];
            snprintf(cur->path, sizeof cur->path, "%s", key);
            op = NULL;
        } else if (ind == 4 && cur) {
            unsigned bit = is_key ? method_bit(key) : 0;
            op = NULL;
            in_security = 0;
            if (bit && (cur->methods & bit) && bit != OA_OTHER) {
                snprintf(why, whycap, "%.100s: %.10s twice", cur->path, key);
                return -1;
            }
            cur->methods |= bit;
            if (bit == OA_GET)
                op = &cur->get;
            else if (bit == OA_POST)
                op = &cur->post;
            else if (bit == OA_OTHER && !cur->other[0])
                snprintf(cur->other, sizeof cur->other, "%.15s", key);
        } else if (ind == 6 && op) {
            in_security = is_key && strcmp(key, "security") == 0;
            if (is_key && strcmp(key, "x-capability-scope") == 0)
                value_of(line, op->scope, sizeof op->scope);
        } else if (ind == 8 && op && in_security) {
            if (strncmp(line + ind, "- bearer:", 9) == 0)
                op->bearer = 1;
        }
    }
    return 0;
}

static char *read_spec_text(void)
{
    const char *root = getenv("SVCR_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/openapi/registry.yaml", root && *root ? root : ".");
    char *text = slurp(path);
    if (!text)
        fail_msg("cannot read %s (set SVCR_ROOT to the repository)", path);
    return text;
}

static int setup(void **state)
{
    spec *sp = calloc(1, sizeof *sp);
    char *text = read_spec_text();
    char why[200] = "";
    if (spec_parse(text, sp, why, sizeof why) != 0)
        fail_msg("docs/openapi/registry.yaml: %s", why);
    free(text);
    *state = sp;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static const spec_path *spec_find(const spec *sp, const char *path)
{
    for (size_t i = 0; i < sp->n; i++)
        if (strcmp(sp->paths[i].path, path) == 0)
            return &sp->paths[i];
    return NULL;
}

static void test_reader_sees_only_paths_and_their_methods(void **state)
{
    (void)state;
    char text[] = "openapi: 3.0.3\n"
                  "info:\n"
                  "  title: x\n"
                  "paths:\n"
                  "  # a comment\n"
                  "  /a:\n"
                  "    parameters: []\n"
                  "    get:\n"
                  "      responses:\n"
                  "        '200':\n"
                  "          description: post\n"
                  "  '/b/{id}':\r\n"
                  "    post:\n"
                  "      security:\n"
                  "        - bearer: []\n"
                  "      x-capability-scope: registry:commit \n"
                  "    delete:\n"
                  "components:\n"
                  "  schemas:\n"
                  "    Other:\n"
                  "      enum:\n"
                  "        - Nope\n"
                  "    ErrorCode:\n"
                  "      type: string\n"
                  "      enum:\n"
                  "        - Malformed\n"
                  "        - Busy\n"
                  "  /not-a-path:\n"
                  "    get:\n";
    spec sp;
    char why[200] = "";
    assert_int_equal(spec_parse(text, &sp, why, sizeof why), 0);
    assert_int_equal(sp.n, 2);
    assert_string_equal(sp.paths[0].path, "/a");
    assert_int_equal(sp.paths[0].methods, OA_GET);
    assert_int_equal(sp.paths[0].get.bearer, 0);
    assert_string_equal(sp.paths[1].path, "/b/{id}");
    assert_int_equal(sp.paths[1].methods, OA_POST | OA_OTHER);
    assert_string_equal(sp.paths[1].other, "delete");
    assert_int_equal(sp.paths[1].post.bearer, 1);
    assert_string_equal(sp.paths[1].post.scope, "registry:commit");
    assert_int_equal(sp.n_codes, 2);
    assert_string_equal(sp.codes[0], "Malformed");
    assert_string_equal(sp.codes[1], "Busy");
    char dup[] = "paths:\n  /a:\n    get:\n    get:\n";
    assert_int_equal(spec_parse(dup, &sp, why, sizeof why), -1);
}

static void test_route_table_and_labels_agree(void **state)
{
    (void)state;
    for (int i = 0; i < RT_COUNT; i++) {
        assert_int_equal(route_table[i].id, i);
        assert_string_equal(route_table[i].label, route_labels[i]);
    }
}

static void test_each_row_has_a_handler_for_each_method_it_allows(void **state)
{
    (void)state;
    for (int i = 0; i < RT_COUNT; i++) {
        const route_def *r = &route_table[i];
        /* a read handler answers GET and HEAD both; a write handler POST */
        assert_int_equal(r->read != NULL, (r->methods & M_GET) != 0);
        assert_int_equal(r->read != NULL, (r->methods & M_HEAD) != 0);
        assert_int_equal(r->write != NULL, (r->methods & M_POST) != 0);
        assert_int_equal(r->write_scope != NULL, r->write != NULL);
        assert_int_equal(r->event != NULL, r->write != NULL);
        assert_true(i == RT_NOT_FOUND || r->methods != 0);
    }
}

static void test_route_match_reads_the_table(void **state)
{
    (void)state;
    char param[80];
    static const struct {
        const char *path;
        route_id want;
        const char *param;
    } cases[] = {
        {"/version", RT_VERSION, ""},
        {"/registry/head", RT_HEAD, ""},
        {"/registry/proposals", RT_PROPOSALS, ""},
        {"/registry/proposals/01J0000000000000000000000A", RT_PROPOSAL,
         "01J0000000000000000000000A"},
        {"/registry/approvals/x", RT_APPROVE, "x"},
        {"/registry/commit/x", RT_COMMIT, "x"},
        {"/registry/42", RT_GET_VERSION, "42"},
        {"/registry/0000000000000001", RT_GET_VERSION, "0000000000000001"},
        {"/registry/00000000000000001", RT_NOT_FOUND, ""}, /* 17 digits */
        {"/registry/4x", RT_NOT_FOUND, ""},
        {"/registry/", RT_NOT_FOUND, ""},
        {"/registry/proposals/", RT_NOT_FOUND, ""},
        {"/registry/proposals/a/b", RT_NOT_FOUND, ""},
        {"/registry/commit/", RT_NOT_FOUND, ""},
        {"/registry/audit/", RT_NOT_FOUND, ""},
        {"/version/", RT_NOT_FOUND, ""},
        {"unmatched", RT_NOT_FOUND, ""},
        {"", RT_NOT_FOUND, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        route_id got = route_match(cases[i].path, param, sizeof param);
        if (got != cases[i].want)
            fail_msg("%s: route %d, want %d", cases[i].path, got, cases[i].want);
        assert_string_equal(param, cases[i].param);
    }
    /* a parameter that does not fit is no match */
    char small[4];
    assert_int_equal(route_match("/registry/commit/abcd", small, sizeof small), RT_NOT_FOUND);
    assert_int_equal(route_match("/registry/commit/abc", small, sizeof small), RT_COMMIT);
    /* every exact path of the table maps to its own row */
    for (int i = 0; i < RT_COUNT; i++)
        if (route_table[i].label[0] == '/' && !strchr(route_table[i].label, '{'))
            assert_int_equal(route_match(route_table[i].label, param, sizeof param), i);
}

static void test_every_route_in_code_is_in_the_spec(void **state)
{
    const spec *sp = *state;
    int missing = 0;
    for (int i = 0; i < RT_COUNT; i++) {
        if (i == RT_NOT_FOUND)
            continue;
        if (!spec_find(sp, route_labels[i])) {
            print_message("# route %s is served but not described in the spec\n", route_labels[i]);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
}

static void test_every_path_in_the_spec_is_a_route(void **state)
{
    const spec *sp = *state;
    assert_true(sp->n > 0);
    int extra = 0;
    for (size_t j = 0; j < sp->n; j++) {
        int found = 0;
        for (int i = 0; i < RT_COUNT && !found; i++)
            found = i != RT_NOT_FOUND && strcmp(route_labels[i], sp->paths[j].path) == 0;
        if (!found) {
            print_message("# the spec describes %s, which no route serves\n", sp->paths[j].path);
            extra++;
        }
    }
    assert_int_equal(extra, 0);
}

static void test_methods_match_the_route_table(void **state)
{
    const spec *sp = *state;
    int bad = 0;
    for (int i = 0; i < RT_COUNT; i++) {
        const spec_path *p = i == RT_NOT_FOUND ? NULL : spec_find(sp, route_labels[i]);
        if (!p)
            continue;
        unsigned code = route_table[i].methods;
        /* GET implies HEAD: the spec lists `get`, and may list `head` only beside it */
        unsigned want = code & (M_GET | M_POST);
        unsigned got = p->methods & (OA_GET | OA_POST);
        if (p->methods & OA_OTHER) {
            print_message("# %s: the spec has %s, which the server refuses (405)\n", p->path,
                          p->other);
            bad++;
        }
        if ((p->methods & OA_HEAD) && !(code & M_HEAD)) {
            print_message("# %s: the spec has head, the route has no HEAD\n", p->path);
            bad++;
        }
        if ((code & M_GET) && !(code & M_HEAD)) {
            print_message("# %s: a GET route without HEAD\n", p->path);
            bad++;
        }
        if (want != got) {
            print_message("# %s: code allows %s, spec has get=%d post=%d\n", p->path,
                          route_allow(&route_table[i]), !!(got & OA_GET), !!(got & OA_POST));
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_write_operations_need_bearer_with_the_route_scope(void **state)
{
    const spec *sp = *state;
    int bad = 0;
    for (int i = 0; i < RT_COUNT; i++) {
        const spec_path *p = i == RT_NOT_FOUND ? NULL : spec_find(sp, route_labels[i]);
        if (!p)
            continue;
        const char *scope = route_table[i].write_scope;
        if (p->methods & OA_POST) {
            if (!p->post.bearer || !scope || strcmp(p->post.scope, scope) != 0) {
                print_message("# POST %s: spec bearer=%d scope \"%s\", code scope \"%s\"\n",
                              p->path, p->post.bearer, p->post.scope, scope ? scope : "");
                bad++;
            }
        }
        if ((p->methods & OA_GET) && (p->get.bearer || p->get.scope[0])) {
            print_message("# GET %s: reads are public, the spec asks for a token\n", p->path);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_error_code_enum_matches_the_error_table(void **state)
{
    const spec *sp = *state;
    int bad = 0;
    /* every public code of src/interop/error.c (SVCR_E_INTERNAL answers as NotReady) */
    for (int c = SVCR_OK + 1; c < SVCR_CODE_COUNT; c++) {
        const char *name = svcr_code_name((svcr_code)c);
        int found = 0;
        for (size_t j = 0; j < sp->n_codes && !found; j++)
            found = strcmp(sp->codes[j], name) == 0;
        if (!found) {
            print_message("# error code %s is missing from components.schemas.ErrorCode\n", name);
            bad++;
        }
    }
    for (size_t j = 0; j < sp->n_codes; j++) {
        int found = 0;
        for (int c = SVCR_OK + 1; c < SVCR_CODE_COUNT && !found; c++)
            found = strcmp(sp->codes[j], svcr_code_name((svcr_code)c)) == 0;
        if (!found) {
            print_message("# ErrorCode %s is not a code the server sends\n", sp->codes[j]);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_sees_only_paths_and_their_methods),
        cmocka_unit_test(test_route_table_and_labels_agree),
        cmocka_unit_test(test_each_row_has_a_handler_for_each_method_it_allows),
        cmocka_unit_test(test_route_match_reads_the_table),
        cmocka_unit_test(test_every_route_in_code_is_in_the_spec),
        cmocka_unit_test(test_every_path_in_the_spec_is_a_route),
        cmocka_unit_test(test_methods_match_the_route_table),
        cmocka_unit_test(test_write_operations_need_bearer_with_the_route_scope),
        cmocka_unit_test(test_error_code_enum_matches_the_error_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
