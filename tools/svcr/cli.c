/* cli.c - helpers shared by the svcr verbs (see cli.h). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/ed25519.h"
#include "interop/jcs.h"
#include "term.h"

int cli_read_input(const char *path, buf *out)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        term_fprintf(stderr, "svcr: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (buf_reserve(out, 65536) != 0) {
            term_fprintf(stderr, "svcr: %s: out of memory\n", path);
            break;
        }
        ssize_t n = read(fd, out->data + out->len, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            term_fprintf(stderr, "svcr: %s: %s\n", path, strerror(errno));
            break;
        }
        if (n == 0) {
            out->data[out->len] = '\0';
            if (fd != STDIN_FILENO)
                close(fd);
            return 0;
        }
        out->len += (size_t)n;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    return -1;
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    term_fprintf(stderr, "svcr %s: ", verb);
    term_vfprintf(stderr, fmt, ap); /* its %s arguments may come from a file or the wire */
    fputc('\n', stderr);
    va_end(ap);
    return CLI_USAGE;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int cli_opt(const char *verb, int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        cli_usage_error(verb, "%s needs a value (see --help)", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !end || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_duration(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v == 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (v > (unsigned long long)(INT64_MAX / units[i].ms))
                return -1;
            *ms = (int64_t)v * units[i].ms;
            return 0;
        }
    }
    return -1;
}

int64_t cli_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

json_t *cli_read_json(const char *verb, const char *path)
{
    buf in = {0};
    if (cli_read_input(path, &in) != 0) {
        buf_free(&in);
        return NULL;
    }
    svcr_err err;
    svcr_err_clear(&err);
    json_t *v = jcs_parse(in.data, in.len, 0, &err);
    buf_free(&in);
    if (!v)
        term_fprintf(stderr, "svcr %s: %s: %s: %s\n", verb, path, svcr_code_name(err.code),
                     err.message);
    return v;
}

int cli_print_json(const json_t *v)
{
    return term_print_json(v);
}

const char *cli_json_str(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

uint64_t cli_json_u64(const json_t *o, const char *key, uint64_t dflt)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return dflt;
    double d = json_number_value(v);
    if (d < 0 || d > 9007199254740991.0 || d != (double)(uint64_t)d)
        return dflt;
    return (uint64_t)d;
}

int cli_conn_opt(const char *verb, int argc, char **argv, int *i, cli_conn *c)
{
    const char *v = NULL;
    int r;
    if (strcmp(argv[*i], "--json") == 0) {
        c->json = 1;
        return 1;
    }
    if ((r = cli_opt(verb, argc, argv, i, "--url", &v)) != 0) {
        c->url = v;
        return r;
    }
    if ((r = cli_opt(verb, argc, argv, i, "--token-file", &v)) != 0) {
        c->token_file = v;
        return r;
    }
    if ((r = cli_opt(verb, argc, argv, i, "--token", &v)) != 0) {
        c->token_arg = v;
        return r;
    }
    return 0;
}

/* Reads a token file: the token is the file's content without surrounding whitespace. A file
 * that grants any access to group or other is refused, as key files are (keyfile.c). */
static int read_token_file(const char *verb, const char *path, char **out)
{
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && (st.st_mode & 077)) {
        term_fprintf(stderr,
                     "svcr %s: %s: token file is readable by group or other (chmod 600 it)\n", verb,
                     path);
        return -1;
    }
    buf b = {0};
    if (cli_read_input(path, &b) != 0) {
        buf_free(&b);
        return -1;
    }
    size_t start = 0, end = b.len;
    while (start < end && isspace((unsigned char)b.data[start]))
        start++;
    while (end > start && isspace((unsigned char)b.data[end - 1]))
        end--;
    if (start == end) {
        term_fprintf(stderr, "svcr %s: %s: expected one token\n", verb, path);
        crypto_wipe(b.data, b.len);
        buf_free(&b);
        return -1;
    }
    *out = strndup(b.data + start, end - start);
    crypto_wipe(b.data, b.len);
    buf_free(&b);
    return *out ? 0 : -1;
}

int cli_conn_finish(const char *verb, cli_conn *c)
{
    if (!c->url)
        c->url = getenv("SVCR_URL");
    if (!c->url || !*c->url)
        c->url = CLI_DEFAULT_URL;
    if (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0)
        return cli_usage_error(verb, "--url must start with http:// or https://");
    if (c->token_arg && c->token_file)
        return cli_usage_error(verb, "give --token or --token-file, not both");
    const char *t = c->token_arg ? c->token_arg : getenv("SVCR_TOKEN");
    if (c->token_file && read_token_file(verb, c->token_file, &c->token) != 0)
        return CLI_USAGE;
    if (!c->token_file && t && *t && !(c->token = strdup(t)))
        return cli_usage_error(verb, "out of memory");
    if (c->token_arg) /* blank it in argv: /proc/PID/cmdline shows it no longer */
        crypto_wipe((char *)c->token_arg, strlen(c->token_arg));
    for (const char *p = c->token; p && *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return cli_usage_error(verb, "the token contains spaces or control characters");
    return 0;
}

void cli_conn_free(cli_conn *c)
{
    if (c->token) {
        crypto_wipe(c->token, strlen(c->token));
        free(c->token);
    }
    c->token = NULL;
}
