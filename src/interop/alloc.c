/* alloc.c - the allocation hook and its fault counter (see alloc.h for the contract). */
#include "interop/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Injected failures still armed: 0 none, > 0 that many, < 0 without end; and how many
 * allocations succeed before they start. The mutable globals of this module: they stand for
 * the process's allocator, which is global too (jansson's hook is process-wide). */
static _Atomic long fail_left;
static _Atomic long fail_skip;
/* Allocations through the hook that returned NULL on this thread, injected or real. */
static _Thread_local unsigned long thread_failures;

/* Consumes one armed failure. 1 when this allocation must fail, else 0. Lock-free. */
static int fail_take(void)
{
    long v = atomic_load_explicit(&fail_left, memory_order_relaxed);
    if (v == 0)
        return 0; /* the fast path of every allocation */
    long k = atomic_load(&fail_skip);
    while (k > 0)
        if (atomic_compare_exchange_weak(&fail_skip, &k, k - 1))
            return 0;
    while (v != 0) {
        if (v < 0)
            return 1;
        if (atomic_compare_exchange_weak(&fail_left, &v, v - 1))
            return 1;
    }
    return 0;
}

void svcr_alloc_install(void)
{
    json_set_alloc_funcs(svcr_malloc, svcr_free);
}

void svcr_alloc_fail_arm(int count)
{
    svcr_alloc_fail_arm_after(0, count);
}

void svcr_alloc_fail_arm_after(int skip, int count)
{
    atomic_store(&fail_left, 0L); /* disarmed while the skip changes */
    atomic_store(&fail_skip, skip > 0 ? (long)skip : 0L);
    atomic_store(&fail_left, count < 0 ? -1L : (long)count);
}

int svcr_alloc_fault_parse(const char *spec, int *count, int *skip)
{
    if (!spec || strncmp(spec, "oom", 3) != 0 || (spec[3] != '\0' && spec[3] != ':'))
        return -1;
    *count = spec[3] == ':' ? atoi(spec + 4) : 1;
    const char *at = strchr(spec, '@');
    *skip = at ? atoi(at + 1) : 0;
    return 0;
}

int svcr_alloc_fail_remaining(void)
{
    long v = atomic_load(&fail_left);
    return v < 0 ? -1 : (int)v;
}

void *svcr_malloc(size_t n)
{
    void *p = fail_take() ? NULL : malloc(n);
    if (!p && n)
        thread_failures++;
    return p;
}

void *svcr_realloc(void *p, size_t n)
{
    void *q = fail_take() ? NULL : realloc(p, n);
    if (!q && n)
        thread_failures++;
    return q;
}

unsigned long svcr_alloc_thread_failures(void)
{
    return thread_failures;
}

void svcr_free(void *p)
{
    free(p);
}
