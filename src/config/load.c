/* load.c - the configuration layers: defaults < TOML file < SVCR_* environment < flags. */
#include "config/config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"
#include "interop/file.h"

#define ENV_NAME_MAX 64
#define MAX_KEYS 128

/* One key set on the command line, applied after the file and the environment. */
typedef struct flag_set {
    const cfg_key *k;
    const char *value; /* borrowed from argv */
    char flag[72];     /* as written, without "=value", for messages */
} flag_set;

typedef struct cli {
    const char *config; /* --config PATH, borrowed from argv; NULL: none */
    cfg_action action;
    flag_set *sets;
    size_t n;
} cli;

static int lfail(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int lfail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && cap)
        vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* The key a flag name (without "--") sets: an alias ("bind") or the long form ("bind-addr"). */
static const cfg_key *key_for_flag(const char *name, size_t len)
{
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    char fname[ENV_NAME_MAX];
    for (size_t i = 0; i < n; i++) {
        if (keys[i].alias && strlen(keys[i].alias) == len && !memcmp(keys[i].alias, name, len))
            return &keys[i];
        cfg_key_flag_name(&keys[i], fname, sizeof fname);
        if (strlen(fname) == len && memcmp(fname, name, len) == 0)
            return &keys[i];
    }
    return NULL;
}

static int is_action(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

/* Reads argv into c (sets owned by c, freed by the caller). 0 or CFG_ERR_PARSE. */
static int scan_argv(int argc, char **argv, cli *c, char *err, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->action = CFG_RUN;
    int want_help = 0, want_version = 0, want_print = 0;
    c->sets = calloc(argc > 0 ? (size_t)argc : 1, sizeof *c->sets);
    if (!c->sets)
        return lfail(err, cap, CFG_ERR_PARSE, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return lfail(err, cap, CFG_ERR_PARSE, "unexpected argument \"%.64s\" (see --help)", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (is_action(name, len, "help") || is_action(name, len, "version") ||
            is_action(name, len, "print-config")) {
            if (eq)
                return lfail(err, cap, CFG_ERR_PARSE, "--%.*s takes no value", (int)len, name);
            want_help |= name[0] == 'h';
            want_version |= name[0] == 'v';
            want_print |= name[0] == 'p';
            continue;
        }
        const cfg_key *k = NULL;
        if (!is_action(name, len, "config") && !(k = key_for_flag(name, len)))
            return lfail(err, cap, CFG_ERR_PARSE, "unknown flag --%.*s (see --help)",
                         (int)(len > 64 ? 64 : len), name);
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
            value = argv[++i];
        } else {
            return lfail(err, cap, CFG_ERR_PARSE, "--%.*s needs a value", (int)len, name);
        }
        if (!k) {
            if (!*value)
                return lfail(err, cap, CFG_ERR_PARSE, "--config needs a file path");
            c->config = value;
            continue;
        }
        flag_set *s = &c->sets[c->n++];
        s->k = k;
        s->value = value;
        snprintf(s->flag, sizeof s->flag, "--%.*s", (int)len, name);
    }
    c->action = want_help      ? CFG_HELP
                : want_version ? CFG_VERSION
                : want_print   ? CFG_PRINT
                               : CFG_RUN;
    return 0;
}

/* ---- the TOML file ------------------------------------------------------------------------ */

typedef struct file_ctx {
    svcr_config *c;
    int range_error; /* a value parsed but was out of range: CFG_ERR_INVALID */
} file_ctx;

static int on_section(void *ud, const char *name, char *err, size_t cap)
{
    (void)ud;
    size_t n, len = strlen(name);
    const cfg_key *keys = cfg_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (strncmp(keys[i].name, name, len) == 0 && keys[i].name[len] == '.')
            return 0;
    snprintf(err, cap, "unknown section");
    return -1;
}

/* Renders a TOML value as the env/flag text of key k, checking its TOML type. */
static int toml_to_text(const cfg_key *k, const cfg_toml_value *v, char *out, size_t outcap,
                        const char **text, char *err, size_t cap)
{
    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_PATH:
    case CFG_T_ADDR:
    case CFG_T_DSN:
    case CFG_T_ENUM:
        if (v->kind != CFG_TOML_STRING)
            return lfail(err, cap, -1, "expected a string");
        *text = v->str;
        return 0;
    case CFG_T_DURATION:
        if (v->kind != CFG_TOML_STRING)
            return lfail(err, cap, -1, "expected a duration string with a unit, e.g. \"5s\"");
        *text = v->str;
        return 0;
    case CFG_T_SIZE:
        if (v->kind == CFG_TOML_STRING) {
            *text = v->str;
            return 0;
        }
        if (v->kind != CFG_TOML_INTEGER)
            return lfail(err, cap, -1, "expected a size, e.g. \"1MiB\" or 1048576");
        snprintf(out, outcap, "%" PRId64, v->i);
        *text = out;
        return 0;
    case CFG_T_BOOL:
        if (v->kind != CFG_TOML_BOOLEAN)
            return lfail(err, cap, -1, "expected true or false");
        *text = v->b ? "true" : "false";
        return 0;
    case CFG_T_U32:
    case CFG_T_U64:
        if (v->kind != CFG_TOML_INTEGER)
            return lfail(err, cap, -1, "expected an integer");
        snprintf(out, outcap, "%" PRId64, v->i);
        *text = out;
        return 0;
    case CFG_T_UIDS:
        if (v->kind != CFG_TOML_ARRAY || (v->n && v->items[0].kind != CFG_TOML_INTEGER))
            return lfail(err, cap, -1, "expected an array of integers, e.g. [0, 1000]");
        if (v->n > CFG_MAX_UIDS)
            return lfail(err, cap, -1, "at most %d uids", CFG_MAX_UIDS);
        out[0] = '\0';
        for (size_t i = 0; i < v->n; i++) {
            size_t used = strlen(out);
            snprintf(out + used, outcap - used, "%s%" PRId64, i ? "," : "", v->items[i].i);
        }
        *text = out;
        return 0;
    }
    return lfail(err, cap, -1, "unknown key type");
}

static int on_keyval(void *ud, const char *section, const char *key, const cfg_toml_value *v,
                     char *err, size_t cap)
{
    file_ctx *fc = ud;
    char name[160], buf[CFG_MAX_UIDS * 24 + 8], kerr[512];
    const char *text = NULL;
    snprintf(name, sizeof name, "%s%s%s", section, *section ? "." : "", key);
    const cfg_key *k = cfg_key_find(name);
    if (!k)
        return lfail(err, cap, -1, "unknown key");
    if (toml_to_text(k, v, buf, sizeof buf, &text, err, cap) != 0)
        return -1;
    int rc = cfg_key_set(fc->c, k, text, kerr, sizeof kerr);
    if (rc != 0) {
        /* cfg_key_set says "name: why"; the parser already names the key. */
        size_t nl = strlen(k->name);
        const char *why = strncmp(kerr, k->name, nl) == 0 && kerr[nl] == ':' ? kerr + nl + 2 : kerr;
        snprintf(err, cap, "%s", why);
        fc->range_error |= rc == -2;
        return -1;
    }
    return 0;
}

static int apply_file(const char *path, svcr_config *c, char *err, size_t cap)
{
    char *data = NULL, ferr[CFG_PATH_MAX + 256];
    size_t len = 0;
    /* the file can point the registry at other trust roots and keys: nobody but its owner
     * (this user or root) may be able to change it */
    if (file_read_all(path, FILE_CONFIG_MAX, FILE_NO_FOREIGN_WRITE, &data, &len, ferr,
                      sizeof ferr) != 0)
        return lfail(err, cap, CFG_ERR_PARSE, "config file %s", ferr);
    int rc = 0;
    file_ctx fc = {c, 0};
    cfg_toml_handler h = {on_section, on_keyval, &fc};
    char perr[1024];
    if (cfg_toml_parse(data, len, &h, perr, sizeof perr) != 0)
        rc = lfail(err, cap, fc.range_error ? CFG_ERR_INVALID : CFG_ERR_PARSE, "config file %s: %s",
                   path, perr);
    file_free(data, len);
    return rc;
}

/* ---- environment and flags ---------------------------------------------------------------- */

static int apply_env(char **envp, svcr_config *c, char *err, size_t cap)
{
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    char names[MAX_KEYS][ENV_NAME_MAX];
    unsigned char done[MAX_KEYS] = {0};
    if (!envp || n > MAX_KEYS)
        return n > MAX_KEYS ? lfail(err, cap, CFG_ERR_PARSE, "key table too large") : 0;
    for (size_t i = 0; i < n; i++)
        cfg_key_env_name(&keys[i], names[i], sizeof names[i]);
    for (char **e = envp; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, "SVCR_", 5) != 0 || !eq)
            continue;
        size_t len = (size_t)(eq - *e);
        for (size_t i = 0; i < n; i++) {
            if (done[i] || strlen(names[i]) != len || memcmp(names[i], *e, len) != 0)
                continue;
            char kerr[512];
            int rc = cfg_key_set(c, &keys[i], eq + 1, kerr, sizeof kerr);
            if (rc != 0)
                return lfail(err, cap, rc == -2 ? CFG_ERR_INVALID : CFG_ERR_PARSE,
                             "environment %s: %s", names[i], kerr);
            done[i] = 1;
        }
    }
    return 0;
}

static int apply_flags(const cli *cl, svcr_config *c, char *err, size_t cap)
{
    for (size_t i = 0; i < cl->n; i++) {
        char kerr[512];
        int rc = cfg_key_set(c, cl->sets[i].k, cl->sets[i].value, kerr, sizeof kerr);
        if (rc != 0)
            return lfail(err, cap, rc == -2 ? CFG_ERR_INVALID : CFG_ERR_PARSE, "flag %s: %s",
                         cl->sets[i].flag, kerr);
    }
    return 0;
}

int cfg_build(int argc, char **argv, char **envp, svcr_config *out, cfg_action *action, char *err,
              size_t errcap)
{
    cli cl;
    if (err && errcap)
        err[0] = '\0';
    int rc = scan_argv(argc, argv, &cl, err, errcap);
    svcr_config *c = rc == 0 ? malloc(sizeof *c) : NULL;
    if (rc == 0 && !c)
        rc = lfail(err, errcap, CFG_ERR_PARSE, "out of memory");
    if (rc == 0) {
        cfg_defaults(c);
        if (cl.action == CFG_RUN || cl.action == CFG_PRINT) {
            if (cl.config)
                rc = apply_file(cl.config, c, err, errcap);
            if (rc == 0)
                rc = apply_env(envp, c, err, errcap);
            if (rc == 0)
                rc = apply_flags(&cl, c, err, errcap);
            if (rc == 0 && cfg_validate(c, err, errcap) != 0)
                rc = CFG_ERR_INVALID;
        }
    }
    if (rc == 0) {
        *out = *c;
        if (action)
            *action = cl.action;
    }
    free(c);
    free(cl.sets);
    return rc;
}

int cfg_load(int argc, char **argv, char **envp, svcr_config *out, cfg_action *action, char *err,
             size_t errcap)
{
    return cfg_build(argc, argv, envp, out, action, err, errcap) == 0 ? 0 : -1;
}

/* ---- help and docs ------------------------------------------------------------------------ */

static const char *type_name(const cfg_key *k)
{
    switch (k->type) {
    case CFG_T_STR:
        return "string";
    case CFG_T_PATH:
        return "path";
    case CFG_T_ADDR:
        return "host:port";
    case CFG_T_DSN:
        return "DSN";
    case CFG_T_BOOL:
        return "bool";
    case CFG_T_U32:
    case CFG_T_U64:
        return "integer";
    case CFG_T_DURATION:
        return "duration";
    case CFG_T_SIZE:
        return "size";
    case CFG_T_ENUM:
        return "enum";
    case CFG_T_UIDS:
        return "uid list";
    }
    return "?";
}

void cfg_usage(FILE *f)
{
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    svcr_config *d = malloc(sizeof *d);
    fprintf(f,
            "usage: svc-registry [--config PATH] [--FLAG VALUE | --FLAG=VALUE]...\n"
            "                    [--print-config | --version | --help]\n\n"
            "Precedence: flags > SVCR_* environment > --config file > defaults.\n"
            "Durations need a unit (ms s m h d); sizes are bytes or take B KiB MiB GiB;\n"
            "booleans are true/false; uid lists are \"0,1000\". [reload] = applied on SIGHUP.\n\n"
            "  --config PATH        TOML configuration file (docs/CONFIG.md)\n"
            "  --print-config       print the effective configuration (secrets redacted), exit\n"
            "  --version            print the version, exit\n"
            "  --help               print this help, exit\n\n");
    if (d)
        cfg_defaults(d);
    for (size_t i = 0; i < n; i++) {
        const cfg_key *k = &keys[i];
        char flag[ENV_NAME_MAX], env[ENV_NAME_MAX], def[256] = "?";
        cfg_key_flag_name(k, flag, sizeof flag);
        cfg_key_env_name(k, env, sizeof env);
        if (d)
            cfg_key_format(k, d, true, def, sizeof def);
        fprintf(f, "  --%s%s%s <%s>%s\n      %s\n      key %s, env %s, default %s\n", flag,
                k->alias ? ", --" : "", k->alias ? k->alias : "", type_name(k),
                (k->flags & CFG_F_RELOAD) ? "  [reload]" : "", k->doc, k->name, env, def);
    }
    free(d);
}

void cfg_doc_markdown(FILE *f)
{
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    svcr_config *d = malloc(sizeof *d);
    if (!d)
        return;
    cfg_defaults(d);
    fprintf(f, "| key | type | default | env | flag | SIGHUP | meaning |\n");
    fprintf(f, "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        const cfg_key *k = &keys[i];
        char flag[ENV_NAME_MAX], env[ENV_NAME_MAX], def[256], range[160] = "";
        cfg_key_flag_name(k, flag, sizeof flag);
        cfg_key_env_name(k, env, sizeof env);
        cfg_key_format(k, d, true, def, sizeof def);
        if (k->type == CFG_T_U32 || k->type == CFG_T_U64 || k->type == CFG_T_DURATION ||
            k->type == CFG_T_SIZE) {
            char a[48], b[48];
            if (k->type == CFG_T_DURATION) {
                cfg_format_duration((int64_t)k->min, a, sizeof a);
                cfg_format_duration((int64_t)k->max, b, sizeof b);
            } else if (k->type == CFG_T_SIZE) {
                cfg_format_size(k->min, a, sizeof a);
                cfg_format_size(k->max, b, sizeof b);
            } else {
                snprintf(a, sizeof a, "%" PRIu64, k->min);
                snprintf(b, sizeof b, "%" PRIu64, k->max);
            }
            if (k->max >= (uint64_t)INT64_MAX)
                snprintf(range, sizeof range, " (≥ %s)", a);
            else
                snprintf(range, sizeof range, " (%s–%s)", a, b);
        } else if (k->type == CFG_T_ENUM) {
            size_t used = 0;
            range[0] = '\0';
            for (int j = 0; k->choices[j]; j++) {
                used = strlen(range);
                snprintf(range + used, sizeof range - used, "%s%s", j ? " \\| " : " (",
                         k->choices[j]);
            }
            used = strlen(range);
            snprintf(range + used, sizeof range - used, ")");
        }
        fprintf(f, "| `%s` | %s%s%s | `%s` | `%s` | `--%s`%s%s%s | %s | %s |\n", k->name,
                type_name(k), range, (k->flags & CFG_F_SECRET) ? ", secret" : "", def, env, flag,
                k->alias ? ", `--" : "", k->alias ? k->alias : "", k->alias ? "`" : "",
                (k->flags & CFG_F_RELOAD) ? "reload" : "restart", k->doc);
    }
    free(d);
}
