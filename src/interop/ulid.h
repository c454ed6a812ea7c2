/* ulid.h - ULID generation (Crockford base32) and ULID/UUID syntax checks for correlation ids. */
#ifndef SVCR_INTEROP_ULID_H
#define SVCR_INTEROP_ULID_H

#include <stddef.h>
#include <stdint.h>

/* Length of a ULID's text form (without the NUL). */
#define ULID_LEN 26
/* Largest timestamp a ULID holds: 2^48 - 1 ms. */
#define ULID_MAX_MS ((UINT64_C(1) << 48) - 1)

/* Writes a new ULID into out: the current 48-bit Unix time in ms plus 80 random bits
 * (libsodium randombytes_buf), as 26 upper-case Crockford base32 chars + NUL. Thread-safe; never
 * fails (libsodium is initialised on first use; if that is impossible the process aborts, as
 * libsodium itself would). Not monotonic within one millisecond: ids are only unique. */
void ulid_new(char out[27]);

/* Same with an explicit time (only its low 48 bits are used) and random bytes (for tests). */
void ulid_encode(uint64_t unix_ms, const uint8_t rnd[10], char out[27]);

/* True (1) if s[0..len) is a ULID: 26 chars of the Crockford alphabet
 * 0123456789ABCDEFGHJKMNPQRSTVWXYZ in either case, the first char '0'..'7' (the value fits 128
 * bits). The decoding aliases I, L, O, U are not accepted. Else 0. s may be NULL when len is 0. */
int ulid_valid(const char *s, size_t len);

/* Decodes the timestamp (Unix ms) of a valid ULID into *unix_ms. Returns 0, or -1 if s[0..len)
 * is not a ULID (ulid_valid). */
int ulid_time(const char *s, size_t len, uint64_t *unix_ms);

/* True (1) if s[0..len) is a UUID in 8-4-4-4-12 hex form, either case (no braces, no "urn:"
 * prefix; version and variant bits are not checked, so the nil UUID passes). Else 0. */
int uuid_valid(const char *s, size_t len);

#endif
