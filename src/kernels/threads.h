/*
 * threads.h — the kernels' thread pool and per-thread scratch buffers
 * (threads.c), for kernels that split large outputs over threads.
 */
#ifndef GF_THREADS_H
#define GF_THREADS_H

#include <stddef.h>

/* Runs fn(arg, t) for t = 0 .. ntasks-1 on up to nthreads threads, the
 * caller included; returns when all are done. Runs them all in the caller
 * when nthreads <= 1, when the pool is busy with another caller's job, or
 * when no worker thread can be started. */
void gf__parallel_for(int nthreads, int ntasks, void (*fn)(void *arg, int task), void *arg);

/* A 64-byte aligned scratch buffer of at least n floats, cached per thread
 * and per slot (0 .. 3), freed when the thread exits; contents are
 * undefined. NULL when it cannot be allocated. From the C library, not
 * gf_set_allocator's: it outlives any change of allocator (gradflow.h). */
float *gf__scratch(int slot, size_t n);

#endif
