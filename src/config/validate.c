/* validate.c - fail-closed checks of a configuration snapshot; every message names the key. */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <stdint.h>
#include <unistd.h>

#include "auth/macaroon.h"
#include "interop/file.h"

static int vfail(char *err, size_t cap, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes "key: message" into err; returns -1. */
static int vfail(char *err, size_t cap, const char *key, const char *fmt, ...)
{
    char msg[CFG_PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (err && cap)
        snprintf(err, cap, "%s: %s", key, msg);
    return -1;
}

static int parse_port(const char *s, uint16_t *port)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-', 1-63 bytes each, no label
 * starting or ending with '-', at most 253 bytes in all. */
static int valid_hostname(const char *h)
{
    size_t n = strlen(h), label = 0;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        char c = h[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || h[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        int ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok || (label == 0 && c == '-'))
            return 0;
        label++;
    }
    return 1;
}

int cfg_split_addr(const char *addr, char *host, size_t hostcap, uint16_t *port)
{
    const char *colon;
    size_t hlen;
    if (!addr || hostcap == 0)
        return -1;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -1;
        hlen = (size_t)(close - addr - 1);
        if (hlen == 0 || hlen >= hostcap || hlen >= INET6_ADDRSTRLEN)
            return -1;
        memcpy(host, addr + 1, hlen);
        host[hlen] = '\0';
        unsigned char a6[16];
        if (inet_pton(AF_INET6, host, a6) != 1)
            return -1;
        return parse_port(close + 2, port);
    }
    colon = strchr(addr, ':');
    if (!colon || strchr(colon + 1, ':'))
        return -1; /* no port, or an IPv6 literal without brackets */
    hlen = (size_t)(colon - addr);
    if (hlen == 0 || hlen >= hostcap)
        return -1;
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    if (strspn(host, "0123456789.") == hlen) {
        unsigned char a4[4];
        if (inet_pton(AF_INET, host, a4) != 1)
            return -1;
    } else if (!valid_hostname(host)) {
        return -1;
    }
    return parse_port(colon + 1, port);
}

static int check_addr(const char *key, const char *addr, int allow_port0, uint16_t *port, char *err,
                      size_t cap)
{
    char host[CFG_ADDR_MAX];
    if (cfg_split_addr(addr, host, sizeof host, port) != 0)
        return vfail(err, cap, key,
                     "\"%s\" is not host:port (IPv4:port, [IPv6]:port or hostname:port, "
                     "port 0-65535)",
                     addr);
    if (!allow_port0 && *port == 0)
        return vfail(err, cap, key, "port 0 is not allowed (\"%s\")", addr);
    return 0;
}

/* An existing regular file this process can open for reading, at most `max` bytes, whose mode
 * and owner satisfy `acc` (interop/file.h: the same checks the reader makes on what it reads).
 * The message is "key: path: why". */
static int check_file(const char *key, const char *path, size_t max, file_access acc, char *err,
                      size_t cap)
{
    char why[CFG_PATH_MAX + 256];
    if (file_check(path, max, acc, why, sizeof why) != 0)
        return vfail(err, cap, key, "%s", why);
    return 0;
}

/* Sets *yes to whether dir (or, if it does not exist yet, its nearest existing ancestor) is on a
 * tmpfs. Symlinks are followed: what counts is the filesystem, not the spelling of the path. */
static int on_tmpfs(const char *dir, int *yes, char *why, size_t whycap)
{
    char path[CFG_PATH_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (;;) {
        struct statfs sf;
        if (statfs(path, &sf) == 0) {
            *yes = sf.f_type == TMPFS_MAGIC;
            return 0;
        }
        if (errno != ENOENT && errno != ENOTDIR) {
            char eb[128];
            snprintf(why, whycap, "cannot statfs \"%s\": %s", path,
                     strerror_r(errno, eb, sizeof eb));
            return -1;
        }
        size_t n = strlen(path);
        if (strcmp(path, ".") == 0 || strcmp(path, "/") == 0) {
            snprintf(why, whycap, "no existing ancestor of \"%s\"", dir);
            return -1;
        }
        while (n > 1 && path[n - 1] == '/')
            n--;
        while (n > 0 && path[n - 1] != '/')
            n--;
        while (n > 1 && path[n - 1] == '/')
            n--;
        if (n == 0)
            snprintf(path, sizeof path, ".");
        else
            path[n] = '\0';
    }
}

static int check_amnesia(const svcr_config *c, char *err, size_t cap)
{
    if (!c->amnesia.enabled || c->storage.kind == CFG_STORAGE_MEMORY)
        return 0;
    if (c->storage.kind == CFG_STORAGE_POSTGRES)
        return vfail(err, cap, "amnesia.enabled",
                     "storage.kind = postgres persists; amnesia needs storage.kind = memory or "
                     "an lmdb/sqlite storage.data_dir on tmpfs");
    int yes = 0;
    char why[CFG_PATH_MAX + 160];
    if (on_tmpfs(c->storage.data_dir, &yes, why, sizeof why) != 0)
        return vfail(err, cap, "amnesia.enabled", "%s", why);
    if (!yes)
        return vfail(err, cap, "amnesia.enabled",
                     "needs storage.kind = memory or storage.data_dir on tmpfs; \"%s\" is not "
                     "on a tmpfs filesystem",
                     c->storage.data_dir);
    return 0;
}

static int valid_b3(const char *s)
{
    if (strncmp(s, "b3:", 3) != 0 || strlen(s) != 67)
        return 0;
    for (const char *p = s + 3; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static int check_listeners(const svcr_config *c, char *err, size_t cap)
{
    uint16_t bport, mport;
    if (check_addr("bind_addr", c->bind_addr, 0, &bport, err, cap) != 0 ||
        check_addr("metrics_addr", c->metrics_addr, 1, &mport, err, cap) != 0)
        return -1;
    if (mport != 0 && strcmp(c->bind_addr, c->metrics_addr) == 0)
        return vfail(err, cap, "metrics_addr", "equals bind_addr (use port 0 to disable it)");
    if (c->tls.enabled) {
        if (!c->tls.cert_path[0])
            return vfail(err, cap, "tls.cert_path", "required when tls.enabled = true");
        if (!c->tls.key_path[0])
            return vfail(err, cap, "tls.key_path", "required when tls.enabled = true");
        if (check_file("tls.cert_path", c->tls.cert_path, SIZE_MAX, FILE_NO_FOREIGN_WRITE, err,
                       cap) != 0 ||
            check_file("tls.key_path", c->tls.key_path, SIZE_MAX, FILE_OWNER_ONLY, err, cap) != 0)
            return -1;
    }
    if (strlen(c->uds.path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return vfail(err, cap, "uds.path", "too long for a Unix socket (at most %zu bytes)",
                     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    if (c->auth.root_keys_path[0] && check_file("auth.root_keys_path", c->auth.root_keys_path,
                                                AUTH_KEYS_FILE_MAX, FILE_OWNER_ONLY, err, cap) != 0)
        return -1;
    return 0;
}

static int check_storage(const svcr_config *c, char *err, size_t cap)
{
    if (c->storage.kind == CFG_STORAGE_POSTGRES && !c->storage.pg_dsn[0])
        return vfail(err, cap, "storage.pg_dsn", "required when storage.kind = postgres");
    if ((c->storage.kind == CFG_STORAGE_LMDB || c->storage.kind == CFG_STORAGE_SQLITE) &&
        !c->storage.data_dir[0])
        return vfail(err, cap, "storage.data_dir", "required when storage.kind = %s",
                     c->storage.kind == CFG_STORAGE_LMDB ? "lmdb" : "sqlite");
    struct stat ds;
    /* anyone who can write the directory can replace the store under the registry */
    if ((c->storage.kind == CFG_STORAGE_LMDB || c->storage.kind == CFG_STORAGE_SQLITE) &&
        stat(c->storage.data_dir, &ds) == 0 && S_ISDIR(ds.st_mode) && (ds.st_mode & 022))
        return vfail(err, cap, "storage.data_dir",
                     "%s is writable by group or other (mode %04o): chmod 700 it",
                     c->storage.data_dir, (unsigned)(ds.st_mode & 07777));
    if (check_amnesia(c, err, cap) != 0)
        return -1;
    if (c->bootstrap.trust_roots_hash[0]) {
        if (!valid_b3(c->bootstrap.trust_roots_hash))
            return vfail(err, cap, "bootstrap.trust_roots_hash",
                         "must be \"b3:\" followed by 64 lowercase hex digits");
        if (!c->bootstrap.trust_roots_path[0])
            return vfail(err, cap, "bootstrap.trust_roots_hash",
                         "set without bootstrap.trust_roots_path: the pin would check nothing");
    }
    if (c->bootstrap.trust_roots_path[0] &&
        check_file("bootstrap.trust_roots_path", c->bootstrap.trust_roots_path,
                   FILE_TRUST_ROOTS_MAX, FILE_NO_FOREIGN_WRITE, err, cap) != 0)
        return -1;
    return 0;
}

int cfg_validate(const svcr_config *c, char *err, size_t errcap)
{
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (cfg_key_check(&keys[i], c, err, errcap) != 0)
            return -1;
    if (check_listeners(c, err, errcap) != 0 || check_storage(c, err, errcap) != 0)
        return -1;
    if (c->sse.max_clients >= c->max_conns)
        return vfail(err, errcap, "sse.max_clients",
                     "%u must be below max_conns (%u): streams must leave slots for reads and "
                     "probes",
                     c->sse.max_clients, c->max_conns);
    if (c->pq.mode != CFG_PQ_OFF)
        return vfail(err, errcap, "pq.mode",
                     "\"%s\" is not available yet (v1 supports only \"off\")",
                     c->pq.mode == CFG_PQ_HYBRID ? "hybrid" : "pq-only");
    if (c->otel.exporter == CFG_OTEL_OTLP && strncmp(c->otel.endpoint, "http://", 7) != 0 &&
        strncmp(c->otel.endpoint, "https://", 8) != 0)
        return vfail(err, errcap, "otel.endpoint",
                     "an http:// or https:// URL is required when otel.exporter = otlp");
    return 0;
}

int cfg_check_available(const svcr_config *c, char *err, size_t errcap)
{
    /* fail closed: a setting that would silently do nothing is worse than a refusal (D18) */
    if (c->tls.enabled || c->uds.path[0])
        return vfail(err, errcap, c->tls.enabled ? "tls.enabled" : "uds.path",
                     "not available in this build");
    if (c->otel.exporter == CFG_OTEL_OTLP)
        return vfail(err, errcap, "otel.exporter",
                     "otlp is not available in this build (logs carry corr_id, proposal_id and "
                     "version instead)");
    svcr_config d;
    cfg_defaults(&d);
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    for (size_t i = 0; i < n; i++)
        if ((keys[i].flags & CFG_F_LATER) && !cfg_key_equal(&keys[i], c, &d))
            return vfail(err, errcap, keys[i].name,
                         "no code of this build reads it yet: leave it at its default (%s)",
                         keys[i].def[0] ? keys[i].def : "empty");
    return 0;
}
