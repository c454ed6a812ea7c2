/* cmd_cap.c - svcr cap: mint, attenuate and inspect capability tokens (SPEC §7) offline. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/macaroon.h"
#include "cli.h"
#include "crypto/ed25519.h"
#include "interop/jcs.h"
#include "interop/rfc3339.h"
#include "term.h"

#define CAP_MAX_SCOPES 16

/* What mint and attenuate accept. scopes point into `scope_text` copies (owned). */
typedef struct cap_opts {
    const char *root_keys, *key_id, *ttl, *signer, *proposal, *token;
    char *scope_text[CAP_MAX_SCOPES];
    const char *scopes[CAP_MAX_SCOPES];
    size_t nscope_text, nscopes;
    int json;
} cap_opts;

static void cap_help(FILE *f)
{
    fprintf(f,
            "usage: svcr cap mint --root-keys FILE --key-id ID --scope S [--scope S...] --ttl DUR\n"
            "                     [--signer ID] [--proposal ID] [--json]\n"
            "       svcr cap attenuate TOKEN|- (--scope S... | --ttl DUR | --signer ID |\n"
            "                                   --proposal ID)... [--json]\n"
            "       svcr cap inspect TOKEN|- [--json]\n"
            "Capability tokens (macaroons, SPEC §7), made offline: no registry is contacted.\n\n"
            "  mint       signs a new token with root key ID of the root-keys FILE (the file the\n"
            "             registry reads with --root-keys; it must be mode 0600). Prints it.\n"
            "  attenuate  adds caveats to TOKEN (no key needed); prints the narrower token.\n"
            "  inspect    prints the key id, location and caveats of TOKEN (never a signature\n"
            "             or key). The token is not verified.\n\n"
            "  --scope S     registry:propose|approve|commit|supersede|operate; repeat it or give\n"
            "                a space-separated list. On attenuate it narrows (intersection).\n"
            "  --ttl DUR     expires = now + DUR (ms s m h d; at most 30d)\n"
            "  --signer ID   the token may only approve as signer ID\n"
            "  --proposal ID the token may only act on proposal ID\n"
            "  --json        mint/attenuate: {\"token\",\"expires_at\"?}; inspect: the raw JSON\n"
            "TOKEN - reads the token from standard input.\n\n"
            "Exit status: 0 done, 2 bad usage or an unusable token or key file.\n");
}

static void cap_opts_free(cap_opts *o)
{
    for (size_t i = 0; i < o->nscope_text; i++)
        free(o->scope_text[i]);
}

/* Splits one --scope value on spaces into o->scopes. Returns 0 or CLI_USAGE (printed). */
static int cap_add_scopes(const char *verb, cap_opts *o, const char *value)
{
    if (o->nscope_text == CAP_MAX_SCOPES)
        return cli_usage_error(verb, "too many --scope options");
    char *copy = strdup(value);
    if (!copy)
        return cli_usage_error(verb, "out of memory");
    o->scope_text[o->nscope_text++] = copy;
    for (char *save = NULL, *s = strtok_r(copy, " \t", &save); s;
         s = strtok_r(NULL, " \t", &save)) {
        if (!auth_scope_known(s))
            return cli_usage_error(verb, "unknown scope '%s' (see --help)", s);
        if (o->nscopes == CAP_MAX_SCOPES)
            return cli_usage_error(verb, "too many scopes");
        o->scopes[o->nscopes++] = s;
    }
    return 0;
}

/* Parses the options of mint/attenuate/inspect; one positional (TOKEN) when `want_token`. */
static int cap_args(const char *verb, int argc, char **argv, int want_token, cap_opts *o)
{
    static const char *const names[] = {"--root-keys", "--key-id", "--ttl", "--signer",
                                        "--proposal"};
    const char **slots[] = {&o->root_keys, &o->key_id, &o->ttl, &o->signer, &o->proposal};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = cli_opt(verb, argc, argv, &i, "--scope", &v);
        if (r > 0 && cap_add_scopes(verb, o, v) != 0)
            return CLI_USAGE;
        for (size_t k = 0; r == 0 && k < sizeof names / sizeof names[0]; k++)
            if ((r = cli_opt(verb, argc, argv, &i, names[k], &v)) > 0)
                *slots[k] = v;
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--json") == 0)
            o->json = 1;
        else if (want_token && !o->token && (argv[i][0] != '-' || !argv[i][1]))
            o->token = argv[i];
        else
            return cli_usage_error(verb, "unexpected argument %s (see svcr cap --help)", argv[i]);
    }
    if (want_token && !o->token)
        return cli_usage_error(verb, "missing TOKEN (or - for standard input)");
    return 0;
}

/* expires_s = now + --ttl, checked against the registry's 30-day limit. */
static int cap_expiry(const char *verb, const char *ttl, int64_t *expires_s)
{
    int64_t ms = 0;
    if (cli_parse_duration(ttl, &ms) != 0 || ms < 1000 || ms / 1000 > AUTH_MAX_TTL_S)
        return cli_usage_error(verb, "--ttl wants a duration from 1s to 30d");
    *expires_s = cli_now_s() + ms / 1000;
    return 0;
}

/* Prints a token (or {"token","expires_at"} with --json) and frees it. */
static int cap_print(char *token, int64_t expires_s, int json)
{
    if (!json) {
        printf("%s\n", token);
    } else {
        char ts[32] = "";
        json_t *o = json_pack("{s:s}", "token", token);
        if (o && expires_s && rfc3339_format(expires_s, ts) > 0)
            json_object_set_new(o, "expires_at", json_string(ts));
        if (o)
            cli_print_json(o);
        json_decref(o);
    }
    crypto_wipe(token, strlen(token));
    free(token);
    return CLI_OK;
}

/* The token text: the argument (then wiped in argv, so that `ps` no longer shows it), or
 * standard input for "-" (trimmed). Owned. */
static char *cap_token_text(const char *arg)
{
    if (strcmp(arg, "-") != 0) {
        char *t = strdup(arg);
        crypto_wipe((char *)arg, strlen(arg));
        return t;
    }
    buf b = {0};
    if (cli_read_input("-", &b) != 0) {
        buf_free(&b);
        return NULL;
    }
    size_t s = 0, e = b.len;
    while (s < e && isspace((unsigned char)b.data[s]))
        s++;
    while (e > s && isspace((unsigned char)b.data[e - 1]))
        e--;
    char *t = strndup(b.data + s, e - s);
    crypto_wipe(b.data, b.len);
    buf_free(&b);
    return t;
}

static int cap_mint(int argc, char **argv)
{
    cap_opts o = {0};
    int rc = cap_args("cap mint", argc, argv, 0, &o);
    int64_t expires_s = 0;
    if (rc == 0 && (!o.root_keys || !o.key_id || !o.nscopes || !o.ttl))
        rc = cli_usage_error("cap mint", "needs --root-keys, --key-id, --scope and --ttl");
    if (rc == 0)
        rc = cap_expiry("cap mint", o.ttl, &expires_s);
    auth_keys *keys = NULL;
    char err[512];
    if (rc == 0 && auth_keys_load(o.root_keys, &keys, err, sizeof err) != 0)
        rc = cli_usage_error("cap mint", "%s", err);
    char *token = NULL;
    if (rc == 0 && auth_mint(keys, o.key_id, o.scopes, o.nscopes, expires_s, o.signer, o.proposal,
                             &token) != 0)
        rc = cli_usage_error("cap mint", "cannot mint: unknown key id, or a --signer/--proposal "
                                         "value that is empty, too long or has control bytes");
    if (rc == 0)
        rc = cap_print(token, expires_s, o.json);
    auth_keys_free(keys);
    cap_opts_free(&o);
    return rc;
}

static int cap_attenuate(int argc, char **argv)
{
    cap_opts o = {0};
    int rc = cap_args("cap attenuate", argc, argv, 1, &o);
    int64_t expires_s = 0;
    if (rc == 0 && (o.root_keys || o.key_id))
        rc = cli_usage_error("cap attenuate", "needs no key: drop --root-keys/--key-id");
    if (rc == 0 && !o.nscopes && !o.ttl && !o.signer && !o.proposal)
        rc = cli_usage_error("cap attenuate", "give at least one of --scope, --ttl, --signer, "
                                              "--proposal");
    if (rc == 0 && o.ttl)
        rc = cap_expiry("cap attenuate", o.ttl, &expires_s);
    char *in = rc == 0 ? cap_token_text(o.token) : NULL, *token = NULL;
    if (rc == 0 && (!in || auth_attenuate(in, o.scopes, o.nscopes, expires_s, o.signer, o.proposal,
                                          &token) != 0))
        rc = cli_usage_error("cap attenuate", "cannot attenuate: the token is unparsable or a "
                                              "caveat value is invalid");
    if (rc == 0)
        rc = cap_print(token, expires_s, o.json);
    if (in) {
        crypto_wipe(in, strlen(in));
        free(in);
    }
    cap_opts_free(&o);
    return rc;
}

/* Human form of auth_inspect's JSON. A token is foreign text: every field is escaped. */
static void cap_print_inspect(const json_t *j)
{
    term_printf("key id:   %.*s\nlocation: %.*s\ncaveats:\n", TERM_JS(j, "key_id", ""),
                TERM_JS(j, "location", ""));
    const json_t *cav = json_object_get(j, "caveats");
    for (size_t i = 0; i < json_array_size(cav); i++) {
        const json_t *cv = json_array_get(cav, i);
        term_printf("  %.*s\n", (int)json_string_length(cv), json_string_value(cv));
    }
    const json_t *tp = json_object_get(j, "third_party_caveats");
    for (size_t i = 0; i < json_array_size(tp); i++)
        term_printf("  third-party at %.*s: %.*s\n", TERM_JS(json_array_get(tp, i), "location", ""),
                    TERM_JS(json_array_get(tp, i), "identifier", ""));
}

static int cap_inspect(int argc, char **argv)
{
    cap_opts o = {0};
    int rc = cap_args("cap inspect", argc, argv, 1, &o);
    if (rc == 0 && (o.nscopes || o.ttl || o.signer || o.proposal || o.root_keys || o.key_id))
        rc = cli_usage_error("cap inspect", "takes only TOKEN and --json");
    char *in = rc == 0 ? cap_token_text(o.token) : NULL, *out = NULL;
    if (rc == 0 && (!in || auth_inspect(in, &out) != 0))
        rc = cli_usage_error("cap inspect", "the token is not a v1 macaroon");
    json_t *j = out ? jcs_parse(out, strlen(out), 0, NULL) : NULL;
    if (rc == 0 && o.json)
        term_json(stdout, out, strlen(out), 0);
    else if (rc == 0 && j)
        cap_print_inspect(j);
    json_decref(j);
    free(out);
    if (in) {
        crypto_wipe(in, strlen(in));
        free(in);
    }
    cap_opts_free(&o);
    return rc;
}

int cmd_cap(int argc, char **argv)
{
    if (argc < 2) {
        cap_help(stderr);
        return CLI_USAGE;
    }
    if (cli_wants_help(argc, argv)) {
        cap_help(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "mint") == 0)
        return cap_mint(argc - 1, argv + 1);
    if (strcmp(argv[1], "attenuate") == 0)
        return cap_attenuate(argc - 1, argv + 1);
    if (strcmp(argv[1], "inspect") == 0)
        return cap_inspect(argc - 1, argv + 1);
    return cli_usage_error("cap", "unknown subcommand '%s' (mint, attenuate, inspect)", argv[1]);
}
