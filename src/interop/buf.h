/* buf.h - growable byte buffer used to build JSON, HTTP bodies and hash inputs. */
#ifndef SVCR_INTEROP_BUF_H
#define SVCR_INTEROP_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* A buffer owns `data` (heap, always NUL-terminated after any append so it can be used as a
 * C string; `len` excludes that NUL). A zeroed buf is a valid empty buffer. */
typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf;

/* Ensures room for `extra` more bytes plus the trailing NUL. Returns 0, or -1 on allocation
 * failure (the buffer is left unchanged). */
int buf_reserve(buf *b, size_t extra);
/* Appends `n` bytes. Returns 0 or -1 (out of memory; nothing appended). */
int buf_append(buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string. Returns 0 or -1. */
int buf_puts(buf *b, const char *s);
/* Appends one byte. Returns 0 or -1. */
int buf_putc(buf *b, char c);
/* printf-style append. Returns 0 or -1. */
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer but keeps its memory. */
void buf_reset(buf *b);
/* Releases the memory; the buffer becomes a valid empty buffer again. */
void buf_free(buf *b);
/* Hands the data to the caller (who must free() it) and empties the buffer. Never NULL unless
 * allocation fails: an empty buffer yields an allocated "". */
char *buf_steal(buf *b, size_t *len_out);

#endif
