/* bench_coldstart.c - cold start to read-ready, server RSS, verify-store versions/s. */
/*
 * usage: bench_coldstart --data-dir STORE --port P [--server build/svc-registry]
 *                        [--svcr build/svcr] [--runs 3] [--sse-clients 1000]
 *                        [--server-log FILE] [--server-arg ARG]... [--verify-threads 1,2]
 *                        [--no-verify] [--bg-verify-timeout-s 120]
 *
 * 1. Cold start, --runs times: t0 = just before fork(); the child execs
 *      SERVER --data-dir STORE --bind 127.0.0.1:P --log-level warn --max-conns M [--server-arg...]
 *    and the parent polls with a raw socket every 1 ms: connect(), then
 *    "GET /readyz?plane=read" (Connection: close) until the answer is 200. Reported per run:
 *    listen_ms (first accepted connection) and read_ready_ms (first 200); then the server is
 *    stopped by PID (SIGTERM, waitpid) before the next run. The summary gives the median.
 *    Every run is a process cold start over a warm page cache (the store was just written).
 * 2. RSS, in the last run (the server keeps running): VmRSS/RssAnon/RssFile of the server at
 *    read-ready; after its background verifier (thread "svcr-verify", which re-verifies the
 *    versions older than storage.verify_last_k after read-ready) has finished; and after
 *    opening --sse-clients idle SSE streams (each has received its first event, the HEAD).
 *    RssFile is mostly the LMDB map (page cache shared with the kernel), RssAnon the heap.
 * 3. verify-store: with the server stopped, times `SVCR verify-store --json STORE` (default
 *    threads) and `--threads N` for each N of --verify-threads; versions/s = versions / wall
 *    time of the whole process (open, every version, every signature, audit chain); the
 *    tool's own figure is reported beside it.
 *
 * Output: one JSON object per line on stdout; a human summary on stderr. Exit 0 when every
 * run became read-ready and every verify-store said ok; 1 otherwise; 2 for bad usage.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/proc_rss.h"

#define MAX_RUNS 15
#define MAX_EXTRA 32
#define MAX_THREADS_LIST 8

typedef struct opts {
    const char *server;
    const char *svcr;
    const char *data_dir;
    const char *server_log;
    int port;
    int runs;
    size_t sse_clients;
    const char *extra[MAX_EXTRA];
    int n_extra;
    int verify_threads[MAX_THREADS_LIST];
    int n_verify_threads;
    int no_verify;
    double bg_timeout_s;
} opts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(double ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                          .tv_nsec = (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v); 0 for n = 0. */
static double median(double *v, int n)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* 1 while `pid` has a thread whose name is `comm`. */
static int has_thread(pid_t pid, const char *comm)
{
    char path[96], name[64];
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%ld/task/%.20s/comm", (long)pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(name, sizeof name, f)) {
            name[strcspn(name, "\n")] = '\0';
            found = !strcmp(name, comm);
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One GET on a connected socket (Connection: close). Returns the status code (0 on error) and
 * the body's "version" member in *version when present. */
static int get_status(int fd, const char *path, uint64_t *version)
{
    char req[256], resp[4096];
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n)
        return 0;
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, resp + len, sizeof resp - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == sizeof resp - 1)
            break;
    }
    resp[len] = '\0';
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        return 0;
    const char *v = strstr(resp, "\"version\":");
    if (v && version)
        *version = strtoull(v + 10, NULL, 10);
    return status;
}

/* Starts the server; returns its pid (or -1). */
static pid_t spawn_server(const opts *o)
{
    char bind[64], conns[32], streams[32];
    snprintf(bind, sizeof bind, "127.0.0.1:%d", o->port);
    snprintf(conns, sizeof conns, "%zu", o->sse_clients + 256);
    snprintf(streams, sizeof streams, "%zu", o->sse_clients + 8);
    const char *argv[16 + MAX_EXTRA];
    int n = 0;
    argv[n++] = o->server;
    argv[n++] = "--data-dir";
    argv[n++] = o->data_dir;
    argv[n++] = "--bind";
    argv[n++] = bind;
    argv[n++] = "--log-level";
    argv[n++] = "warn";
    argv[n++] = "--max-conns";
    argv[n++] = conns;
    argv[n++] = "--sse-max-clients"; /* every stream this benchmark opens, below max_conns */
    argv[n++] = streams;
    for (int i = 0; i < o->n_extra; i++)
        argv[n++] = o->extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the benchmark */
        int fd = open(o->server_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
        execv(o->server, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void stop_server(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    double t = now_s();
    int st;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_s() - t > 10) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return;
        }
        sleep_ms(2);
    }
}

typedef struct start_result {
    double listen_ms, ready_ms;
    uint64_t version;
    int ok;
} start_result;

/* Starts the server and polls every 1 ms until /readyz?plane=read answers 200 (timeout 30 s). */
static start_result cold_start(const opts *o, pid_t *pid_out)
{
    start_result r = {0};
    double t0 = now_s();
    pid_t pid = spawn_server(o);
    *pid_out = pid;
    if (pid < 0)
        return r;
    int listening = 0;
    while (now_s() - t0 < 30) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "bench_coldstart: the server exited (status %d); see %s\n", st,
                    o->server_log);
            *pid_out = -1;
            return r;
        }
        int fd = connect_port(o->port);
        if (fd >= 0) {
            double tc = now_s();
            if (!listening) {
                listening = 1;
                r.listen_ms = (tc - t0) * 1000;
            }
            int status = get_status(fd, "/readyz?plane=read", &r.version);
            close(fd);
            if (status == 200) {
                /* the answer was complete when the server closed; count up to the connect
                 * that succeeded plus the request, i.e. the moment the 200 was read */
                r.ready_ms = (now_s() - t0) * 1000;
                r.ok = 1;
                return r;
            }
        }
        sleep_ms(1);
    }
    fprintf(stderr, "bench_coldstart: not read-ready after 30 s\n");
    return r;
}

/* Opens n idle SSE streams; returns how many received their first event within 20 s. The
 * descriptors are stored in fds[0..n) (-1 for failures). */
static size_t open_sse(int port, int *fds, size_t n)
{
    char req[160];
    int len = snprintf(req, sizeof req,
                       "GET /registry/stream HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                       "Accept: text/event-stream\r\n\r\n",
                       port);
    char(*seen)[8] = calloc(n, sizeof *seen); /* last bytes, to find "\nid: " across reads */
    uint8_t *done = calloc(n, 1);
    struct pollfd *p = calloc(n, sizeof *p);
    size_t got = 0;
    if (!seen || !done || !p)
        goto out;
    for (size_t i = 0; i < n; i++) {
        fds[i] = connect_port(port);
        if (fds[i] >= 0 && write(fds[i], req, (size_t)len) != len) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
    double t0 = now_s();
    while (got < n && now_s() - t0 < 20) {
        size_t np = 0;
        for (size_t i = 0; i < n; i++)
            if (fds[i] >= 0 && !done[i])
                p[np++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        if (!np)
            break;
        if (poll(p, np, 100) <= 0)
            continue;
        for (size_t j = 0; j < np; j++) {
            if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            size_t i = 0;
            while (fds[i] != p[j].fd)
                i++;
            char tmp[4096 + 8];
            memcpy(tmp, seen[i], 7);
            ssize_t r = read(fds[i], tmp + 7, 4096);
            if (r <= 0) {
                close(fds[i]);
                fds[i] = -1;
                continue;
            }
            tmp[7 + r] = '\0';
            if (memmem(tmp, 7 + (size_t)r, "\nid: ", 5)) {
                done[i] = 1;
                got++;
            }
            memcpy(seen[i], tmp + r, 7);
        }
    }
out:
    free(seen);
    free(done);
    free(p);
    return got;
}

typedef struct verify_result {
    int ok;
    long long versions, audit;
    double wall_s, tool_s, tool_rate;
} verify_result;

/* Runs SVCR verify-store --json [--threads N] STORE (threads 0: the default) and times it. */
static verify_result run_verify(const opts *o, int threads)
{
    verify_result v = {0};
    int pfd[2];
    if (pipe(pfd) != 0)
        return v;
    char tn[16];
    snprintf(tn, sizeof tn, "%d", threads);
    const char *argv[8];
    int n = 0;
    argv[n++] = o->svcr;
    argv[n++] = "verify-store";
    argv[n++] = "--json";
    if (threads > 0) {
        argv[n++] = "--threads";
        argv[n++] = tn;
    }
    argv[n++] = o->data_dir;
    argv[n] = NULL;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0)
            dup2(dn, 2);
        execv(o->svcr, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char out[4096];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof out - 1 && (r = read(pfd[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(pfd[0]);
    int st = 0;
    if (pid > 0)
        waitpid(pid, &st, 0);
    v.wall_s = now_s() - t0;
    json_t *j = json_loads(out, 0, NULL);
    v.ok =
        pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && json_is_true(json_object_get(j, "ok"));
    v.versions = (long long)json_integer_value(json_object_get(j, "versions"));
    v.audit = (long long)json_integer_value(json_object_get(j, "audit_records"));
    v.tool_s = json_number_value(json_object_get(j, "elapsed_s"));
    v.tool_rate = json_number_value(json_object_get(j, "versions_per_s"));
    json_decref(j);
    return v;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_coldstart --data-dir STORE --port P [--server PATH] [--svcr PATH]\n"
            "       [--runs N] [--sse-clients N] [--server-log FILE] [--server-arg ARG]...\n"
            "       [--verify-threads 1,2] [--no-verify] [--bg-verify-timeout-s S]\n");
}

static int parse_opts(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->server = "build/svc-registry";
    o->svcr = "build/svcr";
    o->server_log = "/dev/null";
    o->runs = 3;
    o->sse_clients = 1000;
    o->verify_threads[0] = 1;
    o->verify_threads[1] = 2;
    o->n_verify_threads = 2;
    o->bg_timeout_s = 120;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--no-verify")) {
            o->no_verify = 1;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (!v) {
            usage();
            return -1;
        }
        if (!strcmp(a, "--server"))
            o->server = v;
        else if (!strcmp(a, "--svcr"))
            o->svcr = v;
        else if (!strcmp(a, "--data-dir"))
            o->data_dir = v;
        else if (!strcmp(a, "--server-log"))
            o->server_log = v;
        else if (!strcmp(a, "--port"))
            o->port = atoi(v);
        else if (!strcmp(a, "--runs"))
            o->runs = atoi(v);
        else if (!strcmp(a, "--sse-clients"))
            o->sse_clients = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--bg-verify-timeout-s"))
            o->bg_timeout_s = atof(v);
        else if (!strcmp(a, "--server-arg") && o->n_extra < MAX_EXTRA)
            o->extra[o->n_extra++] = v;
        else if (!strcmp(a, "--verify-threads")) {
            o->n_verify_threads = 0;
            for (const char *p = v; *p && o->n_verify_threads < MAX_THREADS_LIST;) {
                o->verify_threads[o->n_verify_threads++] = atoi(p);
                p += strcspn(p, ",");
                if (*p == ',')
                    p++;
            }
        } else {
            usage();
            return -1;
        }
    }
    if (!o->data_dir || o->port <= 0 || o->port > 65535 || o->runs < 1 || o->runs > MAX_RUNS) {
        usage();
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < o.sse_clients + 256) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int status = 0;
    double ready[MAX_RUNS], listen_ms[MAX_RUNS];
    int nok = 0;
    pid_t pid = -1;
    start_result last = {0};
    rss_info rss_ready = {-1, -1, -1, -1};
    for (int run = 0; run < o.runs; run++) {
        start_result r = cold_start(&o, &pid);
        if (!r.ok) {
            status = 1;
            stop_server(pid);
            pid = -1;
            break;
        }
        rss_ready = read_rss(pid);
        ready[nok] = r.ready_ms;
        listen_ms[nok] = r.listen_ms;
        nok++;
        last = r;
        printf("{\"bench\":\"coldstart\",\"kind\":\"run\",\"run\":%d,\"versions\":%llu,"
               "\"listen_ms\":%.2f,\"read_ready_ms\":%.2f,\"rss_ready_kib\":%ld,"
               "\"rss_ready_anon_kib\":%ld,\"rss_ready_file_kib\":%ld}\n",
               run + 1, (unsigned long long)r.version, r.listen_ms, r.ready_ms, rss_ready.rss,
               rss_ready.anon, rss_ready.file);
        fprintf(stderr,
                "  run %d: listening after %.1f ms, read-ready after %.1f ms "
                "(HEAD %llu), VmRSS %ld KiB\n",
                run + 1, r.listen_ms, r.ready_ms, (unsigned long long)r.version, rss_ready.rss);
        fflush(stdout);
        if (run + 1 < o.runs) {
            stop_server(pid);
            pid = -1;
        }
    }
    if (nok == o.runs && pid > 0) {
        /* the last run's server: background verification, then SSE clients */
        double tb = now_s();
        int bg_running = has_thread(pid, "svcr-verify");
        while (has_thread(pid, "svcr-verify") && now_s() - tb < o.bg_timeout_s)
            sleep_ms(20);
        double bg_s = now_s() - tb; /* from read-ready (+ the RSS read) to the end */
        int bg_done = !has_thread(pid, "svcr-verify");
        rss_info rss_bg = read_rss(pid);
        int *fds = calloc(o.sse_clients ? o.sse_clients : 1, sizeof *fds);
        size_t got = fds ? open_sse(o.port, fds, o.sse_clients) : 0;
        sleep_ms(300);
        rss_info rss_sse = read_rss(pid);
        for (size_t i = 0; fds && i < o.sse_clients; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        free(fds);
        double rd[MAX_RUNS], ls[MAX_RUNS];
        memcpy(rd, ready, sizeof rd);
        memcpy(ls, listen_ms, sizeof ls);
        double med = median(rd, nok), lmed = median(ls, nok);
        printf("{\"bench\":\"coldstart\",\"kind\":\"summary\",\"runs\":%d,\"versions\":%llu,"
               "\"read_ready_ms_median\":%.2f,\"read_ready_ms_min\":%.2f,"
               "\"read_ready_ms_max\":%.2f,\"listen_ms_median\":%.2f,"
               "\"rss_ready_kib\":%ld,\"rss_ready_anon_kib\":%ld,\"rss_ready_file_kib\":%ld,"
               "\"bg_verify_running_at_ready\":%s,\"bg_verify_done\":%s,\"bg_verify_s\":%.2f,"
               "\"rss_after_bg_verify_kib\":%ld,\"rss_after_bg_verify_anon_kib\":%ld,"
               "\"rss_after_bg_verify_file_kib\":%ld,\"sse_clients\":%zu,"
               "\"sse_clients_connected\":%zu,\"rss_sse_kib\":%ld,\"rss_sse_anon_kib\":%ld,"
               "\"rss_sse_file_kib\":%ld,\"hwm_kib\":%ld}\n",
               nok, (unsigned long long)last.version, med, rd[0], rd[nok - 1], lmed, rss_ready.rss,
               rss_ready.anon, rss_ready.file, bg_running ? "true" : "false",
               bg_done ? "true" : "false", bg_s, rss_bg.rss, rss_bg.anon, rss_bg.file,
               o.sse_clients, got, rss_sse.rss, rss_sse.anon, rss_sse.file, rss_sse.hwm);
        fprintf(stderr,
                "bench_coldstart: %llu versions: read-ready median %.1f ms (min %.1f, max %.1f;"
                " listening %.1f ms) over %d runs\n"
                "  server VmRSS at read-ready %ld KiB (anon %ld, file %ld); after background"
                " verification (%s, %.1f s) %ld KiB (anon %ld, file %ld);\n"
                "  with %zu/%zu SSE clients %ld KiB (anon %ld, file %ld); SPEC target < 65536"
                " KiB\n",
                (unsigned long long)last.version, med, rd[0], rd[nok - 1], lmed, nok, rss_ready.rss,
                rss_ready.anon, rss_ready.file,
                bg_running ? (bg_done ? "finished" : "still running") : "not running", bg_s,
                rss_bg.rss, rss_bg.anon, rss_bg.file, got, o.sse_clients, rss_sse.rss, rss_sse.anon,
                rss_sse.file);
        if (got != o.sse_clients)
            status = 1;
        fflush(stdout);
    }
    stop_server(pid);
    if (!o.no_verify) {
        int list[MAX_THREADS_LIST + 1];
        int nl = 0;
        list[nl++] = 0;
        for (int i = 0; i < o.n_verify_threads; i++)
            list[nl++] = o.verify_threads[i];
        for (int i = 0; i < nl; i++) {
            verify_result v = run_verify(&o, list[i]);
            double rate = v.wall_s > 0 ? (double)v.versions / v.wall_s : 0;
            char th[16];
            snprintf(th, sizeof th, "%d", list[i]);
            printf("{\"bench\":\"verify_store\",\"threads\":\"%s\",\"ok\":%s,\"versions\":%lld,"
                   "\"audit_records\":%lld,\"wall_s\":%.3f,\"versions_per_s\":%.0f,"
                   "\"tool_elapsed_s\":%.3f,\"tool_versions_per_s\":%.0f}\n",
                   list[i] ? th : "default", v.ok ? "true" : "false", v.versions, v.audit, v.wall_s,
                   rate, v.tool_s, v.tool_rate);
            fprintf(stderr,
                    "  verify-store (threads %s): %s, %lld versions + %lld audit records in "
                    "%.2f s wall = %.0f versions/s (tool says %.0f/s); SPEC target >= 50000\n",
                    list[i] ? th : "default", v.ok ? "ok" : "FAILED", v.versions, v.audit, v.wall_s,
                    rate, v.tool_rate);
            if (!v.ok)
                status = 1;
            fflush(stdout);
        }
    }
    return status;
}
