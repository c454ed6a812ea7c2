/* rfc3339.h - RFC 3339 timestamps in UTC: strict parsing and formatting, no libc time zones. */
#ifndef SVCR_INTEROP_RFC3339_H
#define SVCR_INTEROP_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* Unix seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range this module handles. */
#define RFC3339_MIN_UNIX INT64_C(-62167219200)
#define RFC3339_MAX_UNIX INT64_C(253402300799)

/* Parses an RFC 3339 timestamp in UTC: "YYYY-MM-DDTHH:MM:SS[.fraction]Z". 'T' and 'Z' may be
 * either case; the offset "+00:00" is also UTC and accepted; every other offset (including
 * "-00:00", "unknown local offset") is rejected: the registry is UTC-only. The fraction has 1
 * or more digits; those past the ninth (nanoseconds) are truncated. Validates the calendar (leap
 * years, day of month) and the ranges (hour 00..23, minute 00..59, second 00..59). Second 60 is
 * accepted only as a leap second, 23:59:60 on the last day of a month, and counts as :59 + 1 s (so
 * 2016-12-31T23:59:60Z equals 2017-01-01T00:00:00Z; 9999-12-31T23:59:60Z yields RFC3339_MAX_UNIX +
 * 1). Years 0000..9999. Returns 0 and sets *unix_sec and *nsec (either may be NULL), or -1 (outputs
 * untouched). Total: reads only s[0..len), needs no NUL terminator, never fails on any byte string.
 */
int rfc3339_parse(const char *s, size_t len, int64_t *unix_sec, int32_t *nsec);

/* Formats unix seconds as "YYYY-MM-DDTHH:MM:SSZ" (20 chars + NUL) into out. Returns 20, or -1
 * (out set to "") when unix_sec is outside [RFC3339_MIN_UNIX, RFC3339_MAX_UNIX]. */
int rfc3339_format(int64_t unix_sec, char out[32]);

/* Formats unix milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL), rounding towards
 * minus infinity for negative values. Returns 24, or -1 (out set to "") out of range. */
int rfc3339_format_ms(int64_t unix_ms, char out[32]);

#endif
