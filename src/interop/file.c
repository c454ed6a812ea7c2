/* file.c - the one whole-file reader for trusted files (see file.h). */
#include "interop/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int file_fail(char *err, size_t cap, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes "<path>: <message>" into err; returns -1. */
static int file_fail(char *err, size_t cap, const char *path, const char *fmt, ...)
{
    if (!err || cap == 0)
        return -1;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, cap, "%s: %s", path, msg);
    return -1;
}

static void file_close(int fd)
{
    /* close(2) is not retried on EINTR: on Linux the descriptor is released either way */
    (void)close(fd);
}

/* Opens `path` read-only without blocking on a FIFO or device and checks the descriptor
 * against the policy. Returns the fd with *st filled, or -1 with err filled. */
static int file_open_checked(const char *path, size_t max, file_access acc, struct stat *st,
                             char *err, size_t cap)
{
    char eb[128];
    if (!path || !*path)
        return file_fail(err, cap, path ? path : "(null)", "empty path");
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return file_fail(err, cap, path, "%s", strerror_r(errno, eb, sizeof eb));
    if (fstat(fd, st) != 0) {
        int e = errno;
        file_close(fd);
        return file_fail(err, cap, path, "cannot stat: %s", strerror_r(e, eb, sizeof eb));
    }
    if (!S_ISREG(st->st_mode)) {
        file_close(fd);
        return file_fail(err, cap, path, "not a regular file");
    }
    unsigned mode = (unsigned)(st->st_mode & 07777);
    if (acc == FILE_OWNER_ONLY && (st->st_mode & 077)) {
        file_close(fd);
        return file_fail(err, cap, path,
                         "mode %04o gives group/other access to a file holding secrets; "
                         "chmod 600",
                         mode);
    }
    if (acc == FILE_NO_FOREIGN_WRITE && (st->st_mode & 022)) {
        file_close(fd);
        return file_fail(err, cap, path,
                         "mode %04o lets group or other change it; chmod go-w (e.g. 644)", mode);
    }
    if (acc != FILE_ANY_ACCESS && st->st_uid != 0 && st->st_uid != geteuid()) {
        file_close(fd);
        return file_fail(err, cap, path,
                         "owned by uid %u, neither this process's user (uid %u) nor root: that "
                         "user could change it",
                         (unsigned)st->st_uid, (unsigned)geteuid());
    }
    if (st->st_size < 0 || (unsigned long long)st->st_size > (unsigned long long)max) {
        file_close(fd);
        return file_fail(err, cap, path, "%lld bytes, over the %zu-byte cap",
                         (long long)st->st_size, max);
    }
    /* A regular file never blocks; clear O_NONBLOCK anyway so reads behave plainly. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int file_check(const char *path, size_t max, file_access acc, char *err, size_t errcap)
{
    struct stat st;
    int fd = file_open_checked(path, max, acc, &st, err, errcap);
    if (fd < 0)
        return -1;
    file_close(fd);
    return 0;
}

int file_read_all(const char *path, size_t max, file_access acc, char **data, size_t *len,
                  char *err, size_t errcap)
{
    char eb[128];
    struct stat st;
    *data = NULL;
    *len = 0;
    int fd = file_open_checked(path, max, acc, &st, err, errcap);
    if (fd < 0)
        return -1;
    /* one byte more than fstat said, to notice a file that grows while it is read */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *text = malloc(cap + 1);
    if (!text) {
        file_close(fd);
        return file_fail(err, errcap, path, "out of memory");
    }
    for (;;) {
        if (n == cap) {
            file_free(text, n);
            file_close(fd);
            return file_fail(err, errcap, path, "changed while being read");
        }
        ssize_t r = read(fd, text + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            file_free(text, n);
            file_close(fd);
            return file_fail(err, errcap, path, "read error: %s", strerror_r(e, eb, sizeof eb));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    file_close(fd);
    text[n] = '\0';
    *data = text;
    *len = n;
    return 0;
}

void file_free(char *data, size_t len)
{
    if (!data)
        return;
    explicit_bzero(data, len);
    free(data);
}
