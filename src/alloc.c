/*
 * alloc.c — the process-wide allocator every library allocation goes
 * through (gf_set_allocator), so hosts can count, limit or fail them.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *std_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void *std_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n); }
static void std_free(void *ctx, void *p) { (void)ctx; free(p); }

static gf_allocator current = { std_malloc, std_realloc, std_free, NULL };

void gf_set_allocator(const gf_allocator *a)
{
    if (a && a->malloc && a->realloc && a->free) current = *a;
    else current = (gf_allocator){ std_malloc, std_realloc, std_free, NULL };
}

void *gf__malloc(size_t n) { return current.malloc(current.ctx, n ? n : 1); }

void *gf__calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = gf__malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void *gf__realloc(void *p, size_t n) { return current.realloc(current.ctx, p, n ? n : 1); }

void gf__free(void *p)
{
    if (p) current.free(current.ctx, p);
}

/* The allocator's own pointer is kept in the word before the aligned one. */
void *gf__malloc_aligned(size_t n)
{
    if (n > SIZE_MAX - 64 - sizeof(void *)) return NULL;
    char *raw = gf__malloc(n + 64 + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t at = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
    ((void **)at)[-1] = raw;
    return (void *)at;
}

void gf__free_aligned(void *p)
{
    if (p) gf__free(((void **)p)[-1]);
}
