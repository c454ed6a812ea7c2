/* alloc.h - the one allocation hook: jansson's allocations and every buf go through it, so a
 * fault-injection test can make the next allocations fail (SVCR_FAULT_INJECT=oom, D11, D55). */
#ifndef SVCR_INTEROP_ALLOC_H
#define SVCR_INTEROP_ALLOC_H

#include <stddef.h>

/* Makes jansson allocate through svcr_malloc/svcr_free (json_set_alloc_funcs). Call once at
 * startup, while no other thread is inside jansson; calling it again is harmless. Memory jansson
 * allocated before keeps working: svcr_free is free(). Never fails. */
void svcr_alloc_install(void);

/* Arms the fault: the next `count` allocations through the hook return NULL (count < 0: every
 * allocation until re-armed; 0 disarms). Replaces any earlier arming. Thread-safe; never
 * fails. */
void svcr_alloc_fail_arm(int count);

/* Arms the fault after `skip` more allocations succeed (skip <= 0: at once): the `count`
 * allocations after those fail, as svcr_alloc_fail_arm. Lets a test walk the failure through
 * the allocations of one request, one position at a time. Thread-safe; never fails. */
void svcr_alloc_fail_arm_after(int skip, int count);

/* Parses an SVCR_FAULT_INJECT value of the allocation kind, "oom", "oom:COUNT" or
 * "oom:COUNT@SKIP" (COUNT default 1, -1 = until restart; SKIP default 0: allocations that
 * succeed first) into *count and *skip. Returns 0, or -1 when spec (which may be NULL) names
 * another kind; the outputs are then unchanged. */
int svcr_alloc_fault_parse(const char *spec, int *count, int *skip);

/* How many injected failures are still armed (-1: without end, 0: none). Thread-safe. */
int svcr_alloc_fail_remaining(void);

/* malloc(n), or NULL when an armed fault is consumed (the fault then touches no memory) or the
 * system is out of memory. The result is released with free() or svcr_free. Thread-safe. */
void *svcr_malloc(size_t n);

/* realloc(p, n), or NULL when an armed fault is consumed or the system is out of memory; p is
 * then left allocated and unchanged. Thread-safe. */
void *svcr_realloc(void *p, size_t n);

/* How many allocations through the hook have returned NULL on the calling thread so far
 * (injected or real; a request for 0 bytes is not counted). A caller compares two readings to
 * learn whether a library call that cannot say so itself (jansson's parser) ran out of memory.
 * Never fails. */
unsigned long svcr_alloc_thread_failures(void);

/* free(p); NULL is fine. */
void svcr_free(void *p);

#endif
