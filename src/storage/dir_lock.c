/* dir_lock.c - the exclusive data-directory lock (see dir_lock.h). */
#include "storage/dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/backend.h"

/* The pid the lock file names, or 0 when it names none (empty, being rewritten, garbage). */
static long lock_holder(int fd)
{
    char text[32];
    ssize_t n;
    do
        n = pread(fd, text, sizeof text - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    char *end = NULL;
    long pid = strtol(text, &end, 10);
    return end != text && pid > 0 ? pid : 0;
}

/* Replaces the file's content with "<pid>\n". 0 or an errno. */
static int lock_write_pid(int fd)
{
    char text[32];
    int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0)
        return errno;
    for (int off = 0; off < len;) {
        ssize_t n = pwrite(fd, text + off, (size_t)(len - off), off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        off += (int)n;
    }
    return 0;
}

int store_dir_lock(const char *dir, int *fd_out, char *errbuf, size_t errcap)
{
    char path[PATH_MAX], eb[128];
    *fd_out = -1;
    int n = snprintf(path, sizeof path, "%s/%s", dir, STORE_DIR_LOCK_NAME);
    if (n < 0 || (size_t)n >= sizeof path)
        return store_open_error(errbuf, errcap, STORE_EINVAL, "storage: data_dir path too long");
    int fd;
    do
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return store_open_error(errbuf, errcap, STORE_EIO,
                                "storage: cannot open the lock file %s: %s", path,
                                strerror_r(errno, eb, sizeof eb));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return store_open_error(errbuf, errcap, STORE_EIO,
                                "storage: the lock file %s is not a file", path);
    }
    int rc;
    do
        rc = flock(fd, LOCK_EX | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        int e = errno;
        long holder = e == EWOULDBLOCK ? lock_holder(fd) : 0;
        close(fd);
        if (e != EWOULDBLOCK)
            return store_open_error(errbuf, errcap, STORE_EIO, "storage: cannot lock %s: %s", path,
                                    strerror_r(e, eb, sizeof eb));
        if (holder > 0)
            return store_open_error(errbuf, errcap, STORE_EBUSY,
                                    "storage.data_dir %s is in use by another svc-registry process "
                                    "(pid %ld holds %s); one process per data directory",
                                    dir, holder, path);
        return store_open_error(
            errbuf, errcap, STORE_EBUSY,
            "storage.data_dir %s is in use by another process (it holds %s; its "
            "pid is not recorded yet); one process per data directory",
            dir, path);
    }
    int e = lock_write_pid(fd);
    if (e != 0) {
        close(fd); /* releases the lock */
        return store_open_error(errbuf, errcap, STORE_EIO,
                                "storage: cannot write the lock file %s: %s", path,
                                strerror_r(e, eb, sizeof eb));
    }
    *fd_out = fd;
    return STORE_OK;
}

void store_dir_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* the last descriptor of the open file: flock's lock goes with it */
}
