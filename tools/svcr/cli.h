/* cli.h - what every svcr verb shares: verb table, exit statuses, options, input. */
#ifndef SVCR_TOOLS_CLI_H
#define SVCR_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "interop/buf.h"

/* Exit statuses of every verb: success, a request the registry refused, bad usage or input. */
enum { CLI_OK = 0, CLI_REFUSED = 1, CLI_USAGE = 2 };

/* Default registry address when neither --url nor SVCR_URL is given. */
#define CLI_DEFAULT_URL "http://127.0.0.1:8080"

typedef struct cli_verb {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the verb name */
    const char *summary;
} cli_verb;

/* Reads all of FILE (or standard input for "-") into out. Returns 0, or -1 after printing
 * "svcr: <what>: <reason>" on stderr. Local input: not size-capped. */
int cli_read_input(const char *path, buf *out);
/* Prints "svcr <verb>: <message>" on stderr, the message's %s arguments escaped as foreign text
 * (term_fprintf), and returns CLI_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 if any argument is --help or -h. */
int cli_wants_help(int argc, char **argv);
/* Matches argv[*i] as "--name VALUE" or "--name=VALUE". Returns 1 with *val (borrowed from
 * argv) and *i advanced past a separate value, 0 when argv[*i] is another argument, or -1
 * after printing a usage message when the value is missing. */
int cli_opt(const char *verb, int argc, char **argv, int *i, const char *name, const char **val);
/* Parses a decimal integer in [min, max]. Returns 0 and *out, or -1. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Parses a duration "<integer><unit>", unit one of ms s m h d ("90s", "30d"). Returns 0 and
 * *ms (milliseconds, > 0), or -1. */
int cli_parse_duration(const char *s, int64_t *ms);
/* Unix time now in seconds. */
int64_t cli_now_s(void);

/* Reads FILE (or "-") and parses it strictly (jcs_parse: duplicates refused, numbers as
 * doubles); only objects and arrays. Returns a new reference, or NULL after printing
 * "svcr <verb>: <path>: <why>". */
json_t *cli_read_json(const char *verb, const char *path);
/* Prints `v` as RFC 8785 JSON and a newline on stdout, with the characters a terminal acts on
 * (DEL, C1, bidi and zero-width characters) inside strings written as \uXXXX escapes
 * (term_print_json): the same JSON value. Returns 0, or -1 (nothing printed). */
int cli_print_json(const json_t *v);
/* A string member of an object, or `dflt` when absent or not a string. Borrowed. */
const char *cli_json_str(const json_t *o, const char *key, const char *dflt);
/* An integral number member as unsigned, or `dflt`. */
uint64_t cli_json_u64(const json_t *o, const char *key, uint64_t dflt);

/* Connection options of the registry verbs. */
typedef struct cli_conn {
    const char *url;                    /* borrowed: --url, else SVCR_URL, else CLI_DEFAULT_URL */
    char *token;                        /* owned and wiped on free; NULL when no token was given */
    const char *token_arg, *token_file; /* borrowed from argv until cli_conn_finish */
    int json;                           /* --json */
} cli_conn;

/* Consumes one of --url, --token, --token-file, --json at argv[*i]. Returns 1 when consumed,
 * 0 when argv[*i] is not one of them, -1 after printing a usage message. */
int cli_conn_opt(const char *verb, int argc, char **argv, int *i, cli_conn *c);
/* Applies the defaults (SVCR_URL, SVCR_TOKEN) and reads --token-file (surrounding whitespace
 * stripped; a file readable by group or other is refused). A --token value is copied and then
 * wiped in argv, so that other users' `ps` no longer shows it. Returns 0, or CLI_USAGE after
 * printing why (never the token). */
int cli_conn_finish(const char *verb, cli_conn *c);
/* Wipes and frees the token. */
void cli_conn_free(cli_conn *c);
/* Help text lines for the options above, for the verbs' --help. */
#define CLI_CONN_HELP                                                                              \
    "  --url URL           registry base URL (default $SVCR_URL, else " CLI_DEFAULT_URL ")\n"      \
    "  --token-file F      read the capability token from F (mode 0600; preferred)\n"              \
    "  --token T           capability token (default $SVCR_TOKEN). Visible to other users of\n"    \
    "                      this machine (ps) while svcr starts: prefer --token-file or the\n"      \
    "                      environment. The token is sent only on writes (propose, approve,\n"     \
    "                      commit, supersede, freeze, thaw), never on reads\n"                     \
    "  --json              machine-readable output (the registry's JSON, one line)\n"

/* Verbs, one group per file. */
int cmd_b3(int argc, char **argv);
int cmd_jcs(int argc, char **argv);
int cmd_payload_b3(int argc, char **argv);
int cmd_verify_store(int argc, char **argv);
int cmd_keygen(int argc, char **argv);      /* cmd_keys.c */
int cmd_trust_roots(int argc, char **argv); /* cmd_keys.c */
int cmd_sign(int argc, char **argv);        /* cmd_keys.c */
int cmd_cap(int argc, char **argv);         /* cmd_cap.c */
int cmd_draft(int argc, char **argv);
int cmd_propose(int argc, char **argv);       /* cmd_registry.c */
int cmd_commit(int argc, char **argv);        /* cmd_registry.c */
int cmd_supersede(int argc, char **argv);     /* cmd_registry.c */
int cmd_freeze(int argc, char **argv);        /* cmd_registry.c */
int cmd_thaw(int argc, char **argv);          /* cmd_registry.c */
int cmd_head(int argc, char **argv);          /* cmd_registry.c */
int cmd_get(int argc, char **argv);           /* cmd_registry.c */
int cmd_proposals(int argc, char **argv);     /* cmd_registry.c */
int cmd_audit(int argc, char **argv);         /* cmd_registry.c */
int cmd_approve(int argc, char **argv);       /* cmd_approve.c */
int cmd_diff(int argc, char **argv);          /* cmd_diff.c */
int cmd_watch(int argc, char **argv);         /* cmd_watch.c */
int cmd_verify_remote(int argc, char **argv); /* cmd_verify_remote.c */

#endif
