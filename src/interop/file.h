/* file.h - reading a small file whole, safely: the one reader for every file the registry
 * trusts (the configuration, the trust roots, the root keys). Policy: docs/DECISIONS.md D31. */
#ifndef SVCR_INTEROP_FILE_H
#define SVCR_INTEROP_FILE_H

#include <stddef.h>

/* Size caps of the files read whole (the root-keys cap is AUTH_KEYS_FILE_MAX, also 1 MiB). */
#define FILE_CONFIG_MAX ((size_t)1 << 20)      /* --config: a TOML file */
#define FILE_TRUST_ROOTS_MAX ((size_t)1 << 20) /* bootstrap.trust_roots_path: a signer_set */

/* Who besides the owner may have a hand on the file. */
typedef enum file_access {
    FILE_ANY_ACCESS = 0,   /* no mode or owner check */
    FILE_NO_FOREIGN_WRITE, /* no write bit for group or other (mode & 022), and owned by this
                              process's user or root: nobody else can change what is trusted */
    FILE_OWNER_ONLY,       /* no permission bit at all for group or other (mode & 077), and
                              owned as above: files holding secrets */
} file_access;

/* Checks, without reading it, that `path` opens for reading as a regular file of at most `max`
 * bytes whose mode and owner satisfy `acc`. Returns 0, or -1 with "<path>: <why>" in err (err
 * may be NULL). Never blocks (a FIFO is refused, not waited on). */
int file_check(const char *path, size_t max, file_access acc, char *err, size_t errcap);

/* Reads the regular file `path` whole: at most `max` bytes, mode and owner satisfying `acc`.
 * Every check is made on the opened descriptor (fstat), so what is checked is what is read; the
 * open follows symlinks (mounted config maps are symlinks) but never blocks on a FIFO or a
 * device, reads retry on EINTR, and a file that grows past its fstat size while being read is
 * refused. Returns 0 with *data (owned by the caller: release with file_free; NUL-terminated,
 * the NUL not counted) and *len, or -1 with *data NULL and "<path>: <why>" in err (err may be
 * NULL). The message never quotes the file's content. */
int file_read_all(const char *path, size_t max, file_access acc, char **data, size_t *len,
                  char *err, size_t errcap);

/* Overwrites the `len` bytes of `data` (as returned by file_read_all) and frees it, so a secret
 * read through this module does not linger in freed memory. NULL is a no-op. */
void file_free(char *data, size_t len);

#endif
