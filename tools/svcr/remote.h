/* remote.h - what the registry verbs share: connection, JSON requests, refusal reports. */
#ifndef SVCR_TOOLS_REMOTE_H
#define SVCR_TOOLS_REMOTE_H

#include <jansson.h>

#include "cli.h"
#include "http_client.h"

typedef struct remote {
    const char *verb; /* for messages */
    cli_conn conn;    /* options; filled by the verb's parser through cli_conn_opt */
    http_client *http;
} remote;

/* Finishes the options (cli_conn_finish) and creates the client. Returns CLI_OK, or CLI_USAGE
 * after printing why. remote_close is safe afterwards in every case. */
int remote_open(remote *r);
void remote_close(remote *r);

/* Prints why a request failed on stderr: "svcr <verb>: refused: <code>: <message> (...)"
 * from the error envelope, or the HTTP status and the start of an unexpected body; every
 * string from the answer escaped (term.h). With --json the body is also printed on stdout
 * (term_json). Returns CLI_REFUSED. */
int remote_report(const remote *r, const http_reply *rep);
/* Prints "svcr <verb>: cannot reach <url>: <why>" (or, for an answer over the size limit,
 * "svcr <verb>: <url>: the answer is larger than ...") and returns CLI_REFUSED. */
int remote_unreachable(const remote *r);

/* GETs path. On a 200 answer returns CLI_OK with *out (parsed strictly; new reference) and,
 * when raw is not NULL, the body bytes appended to raw. Otherwise reports and returns
 * CLI_REFUSED (404 included) with *out NULL; `quiet_status` (0: none) is an HTTP status that is
 * returned as CLI_REFUSED without printing anything. */
int remote_get_json(remote *r, const char *path, json_t **out, buf *raw, long quiet_status);
/* POSTs `body` (borrowed; sent as RFC 8785 JSON) to path. A 2xx answer returns CLI_OK with
 * *out, *status (may be NULL) and raw as above; anything else is reported: CLI_REFUSED. */
int remote_post_json(remote *r, const char *path, const json_t *body, json_t **out, buf *raw,
                     long *status);

/* 1 if id looks like a proposal id: "p_" + 24 lowercase hex digits (SPEC §3). */
int remote_proposal_id_ok(const char *id);

/* ---- a registry verb's command line ------------------------------------------------------ */

#define REMOTE_MAX_POS 2
#define REMOTE_MAX_OPTS 6

/* One invocation: connection, positionals and the values of the verb's own options. */
typedef struct remote_call {
    remote r;
    const char *pos[REMOTE_MAX_POS]; /* borrowed from argv */
    int npos;
    const char *opt[REMOTE_MAX_OPTS]; /* value of spec->opts[i], NULL when absent */
    int flag[REMOTE_MAX_OPTS];        /* 1 when spec->flags[i] was given */
} remote_call;

typedef struct remote_spec {
    const char *name;
    const char *help; /* the whole --help text */
    int min_pos, max_pos;
    const char *opts[REMOTE_MAX_OPTS];  /* "--from", ...: options taking a value (NULL-ended) */
    const char *flags[REMOTE_MAX_OPTS]; /* "--yes", ...: options without a value */
    int (*run)(remote_call *c);
} remote_spec;

/* The common driver of the registry verbs: --help, option parsing (connection options, the
 * spec's options, positionals; "--" ends options), remote_open, run, remote_close. Returns
 * run's status, or CLI_USAGE for bad usage. */
int remote_verb(const remote_spec *s, int argc, char **argv);

#endif
