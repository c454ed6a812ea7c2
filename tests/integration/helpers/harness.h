/* harness.h - black-box test harness: starts the real build/svc-registry on a loopback port
 * with a temp data dir, talks HTTP to it with libcurl, stops it by PID. */
#ifndef SVCR_TEST_HARNESS_H
#define SVCR_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "auth/macaroon.h"
#include "interop/buf.h"
#include "../../unit/helpers/gov_fixture.h"

typedef struct srv {
    pid_t pid;
    unsigned port;
    char dir[256]; /* temp dir holding data/, keys, log */
    char data_dir[300];
    char log_path[300];
    char roots_path[300];
    char keys_path[300];
    fx_keys gov;     /* trust-root signers */
    auth_keys *keys; /* root keys for minting */
    char *extra_args[16];
} srv;

/* Prepares dir, trust roots (n signers, quorum m) and root keys; does not start. */
void srv_prepare(srv *s, size_t n, unsigned m);
/* Starts (or restarts) the binary with its standard flags plus `extra` (NULL-terminated list,
 * may be NULL) and waits for /healthz. Fails the test if it does not come up in 10 s. */
void srv_start(srv *s, const char *const *extra);

/* How srv_start_with launches the binary (every field may be 0/NULL). */
typedef struct srv_launch {
    const char *const *extra; /* flags after the standard ones, NULL-terminated */
    const char *const *env;   /* "NAME=value" entries added to (or replacing in) the environment */
    const char *cwd;          /* working directory of the server; NULL: the test's */
    unsigned port;            /* 0: a fresh free port */
    int omit_bind;            /* no --bind flag: a --config file or `env` must set bind_addr to
                                 127.0.0.1:port (so port must be given) */
} srv_launch;
/* Like srv_start, with the options above; waits for /healthz and fails the test if the server
 * exits or does not come up in 10 s. */
void srv_start_with(srv *s, const srv_launch *l);
/* srv_start with extra environment entries (may be NULL) and working directory (NULL: keep). */
void srv_start_env(srv *s, const char *const *extra, const char *const *env, const char *cwd);
/* The server binary under test: $SVCR_BIN, else $SVCR_ROOT/build/svc-registry (static buffer). */
const char *srv_bin(void);
/* The svcr CLI built beside the server binary under test (build/san/svcr beside
 * build/san/svc-registry) when it is there, else $SVCR_ROOT/build/svcr (static buffer). */
const char *srv_cli_bin(void);
/* A loopback TCP port that was free a moment ago. */
unsigned srv_free_port(void);

/* SIGTERM, waits up to 10 s; returns the exit status, 128 + signal, 0 if it was not running, or
 * -1 if it had to be killed. */
int srv_stop(srv *s);
/* SIGKILL and reap. */
void srv_kill(srv *s);
/* Stops if running and removes the temp dir. */
void srv_cleanup(srv *s);

/* A server of its own for one test: srv_prepare(s, 3, 2) (3 signers, quorum 2), then
 * srv_start(s, extra). */
void srv_start_fresh(srv *s, const char *const *extra);
/* The end of such a test: srv_stop, then srv_cleanup (always, so a failed check leaves no temp
 * dir). Returns srv_stop's status, for the test to assert (0: a clean exit on SIGTERM). */
int srv_finish(srv *s);

/* cmocka fixtures owning one heap srv in *state (3 signers, quorum 2). srv_setup prepares it
 * without starting; srv_setup_started also starts it with the standard flags. Both return 0, or
 * -1 when out of memory. */
int srv_setup(void **state);
int srv_setup_started(void **state);
/* Stops the server if it runs, removes its temp dir, frees it; checks nothing. */
int srv_teardown(void **state);
/* srv_teardown, then fails the test unless the server exited 0 on SIGTERM (a server the test
 * stopped itself counts as 0). */
int srv_teardown_exit_0(void **state);

/* What srv_run_to_exit gives the binary; every field may be 0/NULL for s's own. */
typedef struct srv_run {
    unsigned port;            /* --bind 127.0.0.1:port; 0: a fresh free port */
    const char *data_dir;     /* --data-dir; NULL: s->data_dir */
    const char *roots_path;   /* --trust-roots; NULL: s->roots_path */
    const char *keys_path;    /* --root-keys; NULL: s->keys_path */
    const char *const *extra; /* flags after those (NULL-terminated, at most 20), or NULL */
} srv_run;
/* Runs the binary with exactly --bind, --data-dir, --trust-roots, --root-keys as `o` says (o may
 * be NULL) plus o->extra, for a start that is meant to be refused: run_to_exit's contract (output
 * appended to out; the exit status, or 128 + signal; a process still running after timeout_s
 * fails the test). Leaves s's own server process and log alone. */
int srv_run_to_exit(const srv *s, const srv_run *o, buf *out, double timeout_s);

typedef struct http_resp {
    long status;
    buf body;
    buf headers;  /* raw header block */
    json_t *json; /* parsed body (NULL if not JSON) */
} http_resp;

/* One request. `headers` is a NULL-terminated list of "Name: value" (may be NULL); body may be
 * NULL. Returns 0, or -1 on a transport error. */
int http_do(const srv *s, const char *method, const char *path, const char *const *headers,
            const char *body, size_t body_len, http_resp *r);
void http_resp_free(http_resp *r);
/* Value of a response header (case-insensitive) copied into out; 0 if found, -1 if not. */
int http_header(const http_resp *r, const char *name, char *out, size_t cap);
/* error.code of an error envelope, or "" */
const char *http_err_code(const http_resp *r);

/* A capability for `scope` (space-separated scopes), valid for ttl_s seconds, with optional
 * signer/proposal caveats. Caller frees. */
char *srv_token(const srv *s, const char *scopes, long ttl_s, const char *signer_id,
                const char *proposal);
/* POST with JSON content type and a Bearer token (token may be NULL). */
int http_post(const srv *s, const char *path, const char *token, const char *body, http_resp *r);
int http_get(const srv *s, const char *path, http_resp *r);

/* HEAD's version (and payload_b3 into b3 when not NULL); fails the test if unreadable. */
uint64_t srv_head_version(const srv *s, char b3[68]);
/* A proposal request for HEAD+1 declaring the trust-root set, its service tagged `tag` (caller
 * frees). */
char *srv_next_propose_body(const srv *s, const char *tag);
/* POSTs srv_next_propose_body(s, tag) with `token` (which must carry registry:propose) and fails
 * the test unless it is accepted (202); fills the proposal id and payload_b3 (neither NULL). */
void srv_propose(const srv *s, const char *tag, const char *token, char id_out[27],
                 char b3_out[68]);
/* One governance cycle over HTTP (propose, approvals of signers 0 and 1, commit); returns the
 * committed version; fills the proposal id and payload_b3 when the pointers are not NULL. */
uint64_t srv_cycle(srv *s, const char *tag, char id_out[27], char b3_out[68]);

#endif
