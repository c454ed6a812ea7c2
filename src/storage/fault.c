/* fault.c - the armed-fault cell (see fault.h): kind in the high 32 bits, remaining count in
 * the low 32 (0xffffffff = forever). */
#include "storage/fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_fault_set(store_fault_cell *cell, store_fault f, int count)
{
    uint64_t v = 0;
    if (f != STORE_FAULT_NONE && count != 0)
        v = (uint64_t)f << 32 | (uint32_t)(count < 0 ? -1 : count);
    atomic_store(cell, v);
}

store_fault store_fault_take(store_fault_cell *cell)
{
    uint64_t cur = atomic_load(cell);
    for (;;) {
        store_fault kind = (store_fault)(cur >> 32);
        int32_t count = (int32_t)(uint32_t)cur;
        if (kind == STORE_FAULT_NONE || count == 0)
            return STORE_FAULT_NONE;
        uint64_t next = cur;
        if (count > 0)
            next = count == 1 ? 0 : (uint64_t)kind << 32 | (uint32_t)(count - 1);
        if (atomic_compare_exchange_weak(cell, &cur, next))
            return kind;
    }
}

void store_fault_describe(store_fault f, char *out, size_t cap)
{
    if (cap == 0)
        return;
    switch (f) {
    case STORE_FAULT_WRITE:
        snprintf(out, cap, "injected fault (write): %s", strerror(EIO));
        break;
    case STORE_FAULT_SYNC:
        snprintf(out, cap, "injected fault (sync): fsync: %s", strerror(EIO));
        break;
    case STORE_FAULT_ENOSPC:
        snprintf(out, cap, "injected fault (enospc): %s", strerror(ENOSPC));
        break;
    case STORE_FAULT_READ:
        snprintf(out, cap, "injected fault (read): %s", strerror(EIO));
        break;
    default:
        out[0] = '\0';
        break;
    }
}

/* See store.h. */
int store_fault_parse(const char *spec, store_fault *f, int *count)
{
    static const struct {
        const char *name;
        store_fault f;
    } kinds[] = {{"write", STORE_FAULT_WRITE},
                 {"sync", STORE_FAULT_SYNC},
                 {"enospc", STORE_FAULT_ENOSPC},
                 {"read", STORE_FAULT_READ}};
    for (size_t i = 0; spec && i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = strlen(kinds[i].name);
        if (strncmp(spec, kinds[i].name, n) != 0 || (spec[n] != '\0' && spec[n] != ':'))
            continue;
        *f = kinds[i].f;
        *count = spec[n] == ':' ? atoi(spec + n + 1) : 1;
        return 0;
    }
    return -1;
}
