/* testutil.h - small helpers shared by the unit tests: locating the shared vectors, reading
 * files, deterministic pseudo-random bytes. */
#ifndef SVCR_TESTUTIL_H
#define SVCR_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Directory of ../shared/vectors: $SVCR_VECTORS_DIR, else "../shared/vectors" relative to the
 * repository root ($SVCR_ROOT or the current directory). Never NULL. */
const char *tu_vectors_dir(void);
/* Reads `rel` (relative to the vectors directory) into a fresh NUL-terminated buffer the caller
 * frees. Fails the running test (cmocka fail_msg) if the file cannot be read. */
char *tu_read_vector(const char *rel, size_t *len_out);
/* Reads any file; NULL if it cannot be read. Caller frees. */
char *tu_read_file(const char *path, size_t *len_out);
/* Decodes lowercase/uppercase hex into a fresh buffer; returns NULL on bad hex. Caller frees. */
uint8_t *tu_unhex(const char *hex, size_t *len_out);
/* Deterministic xorshift64* generator for reproducible random tests. */
uint64_t tu_rand(uint64_t *state);
void tu_rand_bytes(uint64_t *state, void *out, size_t n);

#endif
