/* harness.c - black-box server harness (see harness.h). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "crypto/codec.h"
#include "raw.h"

static const char *bin_path(void)
{
    static char path[1024];
    const char *env = getenv("SVCR_BIN");
    if (env && *env)
        return env;
    const char *root = getenv("SVCR_ROOT");
    snprintf(path, sizeof path, "%s/build/svc-registry", root && *root ? root : ".");
    return path;
}

static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

void srv_prepare(srv *s, size_t n, unsigned m)
{
    memset(s, 0, sizeof *s);
    crypto_init();
    char tmpl[] = "/tmp/svcr-it-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    snprintf(s->dir, sizeof s->dir, "%s", tmpl);
    snprintf(s->data_dir, sizeof s->data_dir, "%s/data", s->dir);
    snprintf(s->log_path, sizeof s->log_path, "%s/server.log", s->dir);
    snprintf(s->roots_path, sizeof s->roots_path, "%s/trust-roots.json", s->dir);
    snprintf(s->keys_path, sizeof s->keys_path, "%s/root-keys.json", s->dir);
    fx_keys_make(&s->gov, n, m, 1);
    char *roots = fx_signer_set_json(&s->gov);
    write_text(s->roots_path, roots, 0600);
    free(roots);
    uint8_t secret[32];
    char b64[64], keys[256];
    for (int i = 0; i < 32; i++)
        secret[i] = (uint8_t)(i * 7 + 3);
    b64_encode(secret, sizeof secret, b64, sizeof b64, B64_STD);
    snprintf(keys, sizeof keys, "{\"keys\":[{\"id\":\"k1\",\"secret\":\"%s\"}]}", b64);
    write_text(s->keys_path, keys, 0600);
    char err[256];
    assert_int_equal(auth_keys_load(s->keys_path, &s->keys, err, sizeof err), 0);
}

static int healthy(srv *s)
{
    http_resp r;
    int ok = http_get(s, "/healthz", &r) == 0 && r.status == 200;
    http_resp_free(&r);
    return ok;
}

void srv_start(srv *s, const char *const *extra)
{
    srv_launch l = {.extra = extra};
    srv_start_with(s, &l);
}

const char *srv_bin(void)
{
    return bin_path();
}

const char *srv_cli_bin(void)
{
    static char path[1100];
    const char *bin = bin_path();
    const char *slash = strrchr(bin, '/');
    if (slash) {
        snprintf(path, sizeof path, "%.*s/svcr", (int)(slash - bin), bin);
        if (access(path, X_OK) == 0)
            return path;
    }
    const char *root = getenv("SVCR_ROOT");
    snprintf(path, sizeof path, "%s/build/svcr", root && *root ? root : ".");
    return path;
}

unsigned srv_free_port(void)
{
    return free_port();
}

/* environ with `extra` ("NAME=value") added, an entry of the same name replaced. The array is
 * allocated (the strings are borrowed); NULL on OOM. */
static char **env_with(const char *const *extra)
{
    extern char **environ;
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    while (extra && extra[k])
        k++;
    char **out = calloc(n + k + 1, sizeof *out);
    if (!out)
        return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int replaced = 0;
        for (size_t j = 0; j < k && !replaced; j++) {
            const char *eq = strchr(extra[j], '=');
            size_t len = eq ? (size_t)(eq - extra[j]) : strlen(extra[j]);
            replaced = strncmp(environ[i], extra[j], len) == 0 && environ[i][len] == '=';
        }
        if (!replaced)
            out[m++] = environ[i];
    }
    for (size_t j = 0; j < k; j++)
        out[m++] = (char *)extra[j];
    out[m] = NULL;
    return out;
}

/* One start attempt: 0 when healthy, 1 when the server exited during startup (e.g. its port
 * was taken between choosing and binding). Fails the test if it hangs. */
static int srv_try_start(srv *s, const srv_launch *l);

void srv_start_with(srv *s, const srv_launch *l)
{
    assert_true(!l->omit_bind || l->port);
    for (int attempt = 0; attempt < 3; attempt++) {
        if (srv_try_start(s, l) == 0)
            return;
        if (l->port)
            break; /* a fixed port will not get better */
    }
    fail_msg("server exited during startup; log: %s", s->log_path);
}

static int srv_try_start(srv *s, const srv_launch *l)
{
    s->port = l->port ? l->port : free_port();
    char bind[64];
    snprintf(bind, sizeof bind, "127.0.0.1:%u", s->port);
    const char *argv[64];
    int n = 0;
    char abs_bin[4096];
    argv[n++] = bin_path();
    if (l->cwd && argv[0][0] != '/' && realpath(argv[0], abs_bin))
        argv[0] = abs_bin; /* a relative $SVCR_BIN must survive the chdir */
    if (!l->omit_bind) {
        argv[n++] = "--bind";
        argv[n++] = bind;
    }
    argv[n++] = "--data-dir";
    argv[n++] = s->data_dir;
    argv[n++] = "--trust-roots";
    argv[n++] = s->roots_path;
    argv[n++] = "--root-keys";
    argv[n++] = s->keys_path;
    argv[n++] = "--log-level";
    argv[n++] = "info";
    argv[n++] = "--limits-rps"; /* tests write fast; the rate limits have their own tests */
    argv[n++] = "0";
    argv[n++] = "--limits-list-rps";
    argv[n++] = "0";
    for (int i = 0; l->extra && l->extra[i] && n < 62; i++)
        argv[n++] = l->extra[i];
    argv[n] = NULL;
    char **envp = env_with(l->env); /* built before fork: the child only calls exec */
    assert_non_null(envp);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
        }
        if (l->cwd && chdir(l->cwd) != 0)
            _exit(126);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    free(envp);
    s->pid = pid;
    for (int i = 0; i < 200; i++) {
        if (healthy(s))
            return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            return 1;
        }
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    fail_msg("server did not become healthy in 10 s; log: %s", s->log_path);
    return 1;
}

void srv_start_env(srv *s, const char *const *extra, const char *const *env, const char *cwd)
{
    srv_launch l = {.extra = extra, .env = env, .cwd = cwd};
    srv_start_with(s, &l);
}

int srv_stop(srv *s)
{
    if (!s->pid)
        return 0;
    kill(s->pid, SIGTERM);
    int st = wait_exit(s->pid, 10);
    if (st < 0) {
        srv_kill(s);
        return -1;
    }
    s->pid = 0;
    return st;
}

void srv_kill(srv *s)
{
    if (!s->pid)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

void srv_cleanup(srv *s)
{
    srv_stop(s);
    auth_keys_free(s->keys);
    s->keys = NULL;
    if (s->dir[0] && !getenv("SVCR_KEEP_TEST_DIRS"))
        fx_rmrf(s->dir);
}

void srv_start_fresh(srv *s, const char *const *extra)
{
    srv_prepare(s, 3, 2);
    srv_start(s, extra);
}

int srv_finish(srv *s)
{
    int st = srv_stop(s);
    srv_cleanup(s);
    return st;
}

int srv_setup(void **state)
{
    srv *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    srv_prepare(s, 3, 2);
    *state = s;
    return 0;
}

int srv_setup_started(void **state)
{
    if (srv_setup(state) != 0)
        return -1;
    srv_start(*state, NULL);
    return 0;
}

int srv_teardown(void **state)
{
    srv *s = *state;
    srv_cleanup(s);
    free(s);
    return 0;
}

int srv_teardown_exit_0(void **state)
{
    srv *s = *state;
    int st = srv_finish(s);
    free(s);
    assert_int_equal(st, 0); /* SIGTERM: a clean exit 0 */
    return 0;
}

int srv_run_to_exit(const srv *s, const srv_run *o, buf *out, double timeout_s)
{
    static const srv_run none;
    if (!o)
        o = &none;
    char bind[64];
    snprintf(bind, sizeof bind, "127.0.0.1:%u", o->port ? o->port : free_port());
    const char *argv[32];
    int n = 0;
    argv[n++] = bin_path();
    argv[n++] = "--bind";
    argv[n++] = bind;
    argv[n++] = "--data-dir";
    argv[n++] = o->data_dir ? o->data_dir : s->data_dir;
    argv[n++] = "--trust-roots";
    argv[n++] = o->roots_path ? o->roots_path : s->roots_path;
    argv[n++] = "--root-keys";
    argv[n++] = o->keys_path ? o->keys_path : s->keys_path;
    for (int i = 0; o->extra && o->extra[i]; i++) {
        assert_true(n < 29); /* at most 20 extra flags */
        argv[n++] = o->extra[i];
    }
    argv[n] = NULL;
    return run_to_exit(argv, out, timeout_s);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    return buf_append(ud, p, sz * n) == 0 ? sz * n : 0;
}

int http_do(const srv *s, const char *method, const char *path, const char *const *headers,
            const char *body, size_t body_len, http_resp *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", s->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    struct curl_slist *hl = NULL;
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return -1;
    if (r->body.len)
        r->json = json_loadb(r->body.data, r->body.len, 0, NULL);
    return 0;
}

void http_resp_free(http_resp *r)
{
    buf_free(&r->body);
    buf_free(&r->headers);
    json_decref(r->json);
    r->json = NULL;
}

int http_header(const http_resp *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = r->headers.data; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - p);
            if (vl >= cap)
                vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 0;
        }
        p = eol ? eol + 2 : p + len;
    }
    return -1;
}

const char *http_err_code(const http_resp *r)
{
    const char *c = json_string_value(json_object_get(json_object_get(r->json, "error"), "code"));
    return c ? c : "";
}

char *srv_token(const srv *s, const char *scopes, long ttl_s, const char *signer_id,
                const char *proposal)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", scopes);
    const char *list[8];
    size_t n = 0;
    for (char *tok = strtok(tmp, " "); tok && n < 8; tok = strtok(NULL, " "))
        list[n++] = tok;
    char *out = NULL;
    assert_int_equal(
        auth_mint(s->keys, "k1", list, n, (int64_t)time(NULL) + ttl_s, signer_id, proposal, &out),
        0);
    return out;
}

int http_post(const srv *s, const char *path, const char *token, const char *body, http_resp *r)
{
    char auth[4096];
    const char *h[3] = {"Content-Type: application/json", NULL, NULL};
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h[1] = auth;
    }
    return http_do(s, "POST", path, h, body ? body : "", body ? strlen(body) : 0, r);
}

int http_get(const srv *s, const char *path, http_resp *r)
{
    return http_do(s, "GET", path, NULL, NULL, 0, r);
}

uint64_t srv_head_version(const srv *s, char b3[68])
{
    http_resp r;
    assert_int_equal(http_get(s, "/registry/head", &r), 0);
    assert_int_equal(r.status, 200);
    uint64_t v = (uint64_t)json_integer_value(json_object_get(r.json, "version"));
    if (b3)
        snprintf(b3, 68, "%s", json_string_value(json_object_get(r.json, "payload_b3")));
    http_resp_free(&r);
    return v;
}

/* A proposal body for HEAD+1 whose service carries `tag` (caller frees). */
char *srv_next_propose_body(const srv *s, const char *tag)
{
    char prev[68];
    uint64_t v = srv_head_version(s, prev);
    char *payload = fx_payload_json_tagged(v + 1, prev, &s->gov, tag);
    char *body = fx_propose_body(payload);
    free(payload);
    return body;
}

void srv_propose(const srv *s, const char *tag, const char *token, char id_out[27], char b3_out[68])
{
    char *body = srv_next_propose_body(s, tag);
    http_resp r;
    assert_int_equal(http_post(s, "/registry/proposals", token, body, &r), 0);
    assert_int_equal(r.status, 202);
    snprintf(id_out, 27, "%s", json_string_value(json_object_get(r.json, "proposal_id")));
    snprintf(b3_out, 68, "%s", json_string_value(json_object_get(r.json, "payload_b3")));
    http_resp_free(&r);
    free(body);
}

/* propose + approvals of signers 0 and 1 + commit; returns the committed version and fills
 * proposal id and payload_b3 (either may be NULL). */
uint64_t srv_cycle(srv *s, const char *tag, char id_out[27], char b3_out[68])
{
    char *tok = srv_token(s, "registry:propose registry:approve registry:commit", 600, NULL, NULL);
    char id[27], b3[68], path[96];
    srv_propose(s, tag, tok, id, b3);
    http_resp r;
    snprintf(path, sizeof path, "/registry/approvals/%s", id);
    for (size_t i = 0; i < 2; i++) {
        char *ab = fx_approval_body(&s->gov, i, b3, 0);
        assert_int_equal(http_post(s, path, tok, ab, &r), 0);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
        free(ab);
    }
    snprintf(path, sizeof path, "/registry/commit/%s", id);
    assert_int_equal(http_post(s, path, tok, "", &r), 0);
    assert_int_equal(r.status, 201);
    uint64_t v = (uint64_t)json_integer_value(json_object_get(r.json, "version"));
    http_resp_free(&r);
    if (id_out)
        memcpy(id_out, id, sizeof id);
    if (b3_out)
        memcpy(b3_out, b3, sizeof b3);
    free(tok);
    return v;
}
