/* remote.c - shared plumbing of the registry verbs (see remote.h). */
#include "remote.h"

#include <stdio.h>
#include <string.h>

#include "interop/jcs.h"
#include "term.h"

int remote_open(remote *r)
{
    int rc = cli_conn_finish(r->verb, &r->conn);
    if (rc != 0)
        return rc;
    r->http = http_client_new(r->conn.url, r->conn.token);
    if (!r->http)
        return cli_usage_error(r->verb, "cannot start the HTTP client");
    return CLI_OK;
}

void remote_close(remote *r)
{
    http_client_free(r->http);
    r->http = NULL;
    cli_conn_free(&r->conn);
}

int remote_unreachable(const remote *r)
{
    if (http_client_over_limit(r->http))
        term_fprintf(stderr, "svcr %s: %s: %s: not read\n", r->verb, r->conn.url,
                     http_client_error(r->http));
    else
        term_fprintf(stderr, "svcr %s: cannot reach %s: %s\n", r->verb, r->conn.url,
                     http_client_error(r->http));
    return CLI_REFUSED;
}

int remote_report(const remote *r, const http_reply *rep)
{
    json_t *j = jcs_parse(rep->body.data, rep->body.len, 0, NULL);
    if (r->conn.json && rep->body.len)
        term_json(stdout, rep->body.data, rep->body.len, 0);
    const json_t *e = json_object_get(j, "error");
    const json_t *details = json_object_get(e, "details");
    if (!json_is_string(json_object_get(e, "code"))) {
        /* not an envelope: the start of the body, escaped, on one line */
        int n = rep->body.len > 200 ? 200 : (int)rep->body.len;
        term_fprintf(stderr, "svcr %s: refused: HTTP %ld: %.*s\n", r->verb, rep->status, n,
                     rep->body.data ? rep->body.data : "");
        json_decref(j);
        return CLI_REFUSED;
    }
    term_fprintf(stderr, "svcr %s: refused: %.*s: %.*s (", r->verb, TERM_JS(e, "code", ""),
                 TERM_JS(e, "message", ""));
    if (json_is_string(json_object_get(details, "reason")))
        term_fprintf(stderr, "reason %.*s, ", TERM_JS(details, "reason", ""));
    term_fprintf(stderr, "HTTP %ld, corr_id %.*s)\n", rep->status, TERM_JS(e, "corr_id", "-"));
    json_decref(j);
    return CLI_REFUSED;
}

/* Parses a successful answer; an unparsable one is reported as a refusal. */
static int parse_answer(const remote *r, const http_reply *rep, json_t **out, buf *raw)
{
    svcr_err err;
    *out = jcs_parse(rep->body.data, rep->body.len, 0, &err);
    if (!*out) {
        term_fprintf(stderr, "svcr %s: the registry's answer is not JSON: %s\n", r->verb,
                     err.message);
        return CLI_REFUSED;
    }
    if (raw && buf_append(raw, rep->body.data, rep->body.len) != 0) {
        json_decref(*out);
        *out = NULL;
        return CLI_REFUSED;
    }
    return CLI_OK;
}

int remote_get_json(remote *r, const char *path, json_t **out, buf *raw, long quiet_status)
{
    *out = NULL;
    http_reply rep = {0};
    int rc;
    if (http_get(r->http, path, &rep) != 0)
        rc = remote_unreachable(r);
    else if (rep.status == 200)
        rc = parse_answer(r, &rep, out, raw);
    else if (quiet_status && rep.status == quiet_status)
        rc = CLI_REFUSED;
    else
        rc = remote_report(r, &rep);
    http_reply_free(&rep);
    return rc;
}

int remote_post_json(remote *r, const char *path, const json_t *body, json_t **out, buf *raw,
                     long *status)
{
    *out = NULL;
    buf req = {0};
    if (jcs_write(&req, body, NULL) != 0) {
        buf_free(&req);
        return cli_usage_error(r->verb, "cannot encode the request body");
    }
    http_reply rep = {0};
    int rc;
    if (http_post(r->http, path, req.data, req.len, &rep) != 0)
        rc = remote_unreachable(r);
    else if (rep.status >= 200 && rep.status < 300)
        rc = parse_answer(r, &rep, out, raw);
    else
        rc = remote_report(r, &rep);
    if (status)
        *status = rep.status;
    http_reply_free(&rep);
    buf_free(&req);
    return rc;
}

/* Matches one of the spec's own options at argv[*i]: 1, 0 (not one) or -1 (printed). */
static int spec_opt(const remote_spec *s, remote_call *c, int argc, char **argv, int *i)
{
    for (int k = 0; k < REMOTE_MAX_OPTS && s->flags[k]; k++) {
        if (strcmp(argv[*i], s->flags[k]) == 0) {
            c->flag[k] = 1;
            return 1;
        }
    }
    for (int k = 0; k < REMOTE_MAX_OPTS && s->opts[k]; k++) {
        int r = cli_opt(s->name, argc, argv, i, s->opts[k], &c->opt[k]);
        if (r != 0)
            return r;
    }
    return 0;
}

static int parse_call(const remote_spec *s, remote_call *c, int argc, char **argv)
{
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = 0;
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (!only_pos && a[0] == '-' && a[1]) {
            r = cli_conn_opt(s->name, argc, argv, &i, &c->r.conn);
            if (r == 0)
                r = spec_opt(s, c, argc, argv, &i);
            if (r == 0)
                return cli_usage_error(s->name, "unknown option %s (see --help)", a);
            if (r < 0)
                return CLI_USAGE;
            continue;
        }
        if (c->npos == s->max_pos)
            return cli_usage_error(s->name, "too many arguments (see --help)");
        c->pos[c->npos++] = a;
    }
    if (c->npos < s->min_pos)
        return cli_usage_error(s->name, "missing arguments (see --help)");
    return 0;
}

int remote_verb(const remote_spec *s, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(s->help, stdout);
        return CLI_OK;
    }
    remote_call c = {.r.verb = s->name};
    int rc = parse_call(s, &c, argc, argv);
    if (rc == 0)
        rc = remote_open(&c.r);
    if (rc == 0)
        rc = s->run(&c);
    remote_close(&c.r);
    return rc;
}

int remote_proposal_id_ok(const char *id)
{
    if (strncmp(id, "p_", 2) != 0 || strlen(id) != 26)
        return 0;
    for (const char *p = id + 2; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}
