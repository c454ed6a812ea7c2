/* cli.c - helpers shared by the svcr verbs (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cli_read_input(const char *path, buf *out)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "svcr: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (buf_reserve(out, 65536) != 0) {
            fprintf(stderr, "svcr: %s: out of memory\n", path);
            break;
        }
        ssize_t n = read(fd, out->data + out->len, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "svcr: %s: %s\n", path, strerror(errno));
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
    fprintf(stderr, "svcr %s: ", verb);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_USAGE;
}
