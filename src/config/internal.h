/* internal.h - what the files of the config module share and nothing outside it sees: unit
 * constants, a bounded output buffer, and the strict unsigned parser. */
#ifndef SVCR_CONFIG_INTERNAL_H
#define SVCR_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define MS_S INT64_C(1000)
#define MS_M (60 * MS_S)
#define MS_H (60 * MS_M)
#define MS_D (24 * MS_H)
#define KIB UINT64_C(1024)
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

/* Text written into a caller's fixed buffer: always NUL-terminated (when cap > 0); what does
 * not fit is dropped and `overflow` set. */
typedef struct out_buf {
    char *p;
    size_t cap, n;
    int overflow;
} out_buf;

/* Appends len bytes of s (as many as fit). Never fails; sets o->overflow when bytes drop. */
void cfg_ob_put(out_buf *o, const char *s, size_t len);
/* cfg_ob_put of a NUL-terminated string. */
void cfg_ob_puts(out_buf *o, const char *s);

/* Decimal digits only, no sign, no leading zeros: 0 with *out set, or -1 (also on overflow;
 * *out then unchanged). */
int cfg_parse_uint(const char *s, size_t len, uint64_t *out);

#endif
