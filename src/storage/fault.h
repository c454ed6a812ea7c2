/* fault.h - the armed-fault cell the storage front keeps for fault-injection tests: which fault,
 * for how many more transactions or reads (packed in one atomic word). */
#ifndef SVCR_STORAGE_FAULT_H
#define SVCR_STORAGE_FAULT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

typedef _Atomic uint64_t store_fault_cell;

/* Arms `f` for the next `count` transactions (count < 0: until re-armed; NONE or 0 disarms). */
void store_fault_set(store_fault_cell *cell, store_fault f, int count);
/* Consumes one armed fault; STORE_FAULT_NONE when none is armed. Lock-free. */
store_fault store_fault_take(store_fault_cell *cell);
/* Writes what an injected fault stands for into out ("injected fault (enospc): No space left
 * on device"), for last_write_error. Never fails. */
void store_fault_describe(store_fault f, char *out, size_t cap);

#endif
