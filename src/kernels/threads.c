/*
 * threads.c — the kernels' tiny thread pool (started on first use; workers
 * spin briefly, then sleep) and per-thread cached scratch buffers.
 */
#include "threads.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- the pool ---------------------------------------------------------- */

/* A job is published as one 64-bit word: generation (32 bits), task count
 * (16) and next unclaimed task (16). A worker claims a task by CAS on that
 * word, so it can never take a task of a job other than the one it saw;
 * fn and arg are read only after a claim, when the job cannot end.
 * Workers spin a little after each job (a VM wakes an idle CPU slowly),
 * then sleep on a condition variable; the caller spins, then sleeps, while
 * the last tasks finish. */

#define POOL_MAX 63
#define MAX_TASKS 0xffff
#define SPIN_ROUNDS 20000 /* ~50-100 us of pause instructions */

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

static pthread_mutex_t pool_owner = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;  /* for sleeping and waking */
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_done_cv = PTHREAD_COND_INITIALIZER;
static int n_workers;                 /* started; changed under pool_owner */
static _Atomic uint64_t job_word;     /* gen << 32 | ntasks << 16 | next */
static atomic_int job_done;           /* tasks finished */
static atomic_int job_helpers;        /* workers with id below it may take tasks */
static atomic_int n_sleeping;         /* workers waiting on pool_wake */
static void (*job_fn)(void *, int);   /* written before the job is published */
static void *job_arg;

static uint32_t word_gen(uint64_t w) { return (uint32_t)(w >> 32); }
static int word_tasks(uint64_t w) { return (int)(w >> 16 & 0xffff); }
static int word_next(uint64_t w) { return (int)(w & 0xffff); }

/* Claims a task of job gen; -1 when none is left. */
static int claim(uint32_t gen)
{
    uint64_t w = atomic_load_explicit(&job_word, memory_order_acquire);
    for (;;) {
        if (word_gen(w) != gen || word_next(w) >= word_tasks(w)) return -1;
        if (atomic_compare_exchange_weak_explicit(&job_word, &w, w + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return word_next(w);
    }
}

/* Runs the tasks of job gen that are left; returns after the last one
 * this thread took. */
static void work(uint32_t gen)
{
    int t;
    while ((t = claim(gen)) >= 0) {
        job_fn(job_arg, t);
        int ntasks = word_tasks(atomic_load_explicit(&job_word, memory_order_relaxed));
        if (atomic_fetch_add_explicit(&job_done, 1, memory_order_acq_rel) + 1 == ntasks) {
            pthread_mutex_lock(&pool_lock);
            pthread_cond_signal(&pool_done_cv);
            pthread_mutex_unlock(&pool_lock);
        }
    }
}

static void *pool_worker(void *p)
{
    int id = (int)(intptr_t)p;
    uint32_t seen = word_gen(atomic_load_explicit(&job_word, memory_order_acquire));
    for (;;) {
        uint32_t gen = seen;
        for (int i = 0; i < SPIN_ROUNDS && gen == seen; i++) {
            cpu_relax();
            gen = word_gen(atomic_load_explicit(&job_word, memory_order_acquire));
        }
        if (gen == seen) {
            pthread_mutex_lock(&pool_lock);
            atomic_fetch_add(&n_sleeping, 1);
            while ((gen = word_gen(atomic_load(&job_word))) == seen) pthread_cond_wait(&pool_wake, &pool_lock);
            atomic_fetch_sub(&n_sleeping, 1);
            pthread_mutex_unlock(&pool_lock);
        }
        seen = gen;
        if (id < atomic_load_explicit(&job_helpers, memory_order_acquire)) work(gen);
    }
    return NULL;
}

/* Starts worker number n_workers; 0 on failure. Called under pool_owner. */
static int start_worker(void)
{
    pthread_attr_t attr;
    if (pthread_attr_init(&attr)) return 0;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Workers take no signals: they stay with the application's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    int ok = pthread_create(&t, &attr, pool_worker, (void *)(intptr_t)n_workers) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (ok) n_workers++;
    return ok;
}

void gf__parallel_for(int nthreads, int ntasks, void (*fn)(void *arg, int task), void *arg)
{
    if (nthreads > ntasks) nthreads = ntasks;
    int helpers = nthreads - 1 < POOL_MAX ? nthreads - 1 : POOL_MAX;
    if (helpers < 1 || ntasks > MAX_TASKS || pthread_mutex_trylock(&pool_owner) != 0) {
        for (int t = 0; t < ntasks; t++) fn(arg, t);
        return;
    }
    while (n_workers < helpers && start_worker()) {
    }
    if (helpers > n_workers) helpers = n_workers;
    /* Publish: fields first, then the word (release). */
    job_fn = fn;
    job_arg = arg;
    atomic_store_explicit(&job_done, 0, memory_order_relaxed);
    atomic_store_explicit(&job_helpers, helpers, memory_order_relaxed);
    uint32_t gen = word_gen(atomic_load_explicit(&job_word, memory_order_relaxed)) + 1;
    atomic_store_explicit(&job_word, (uint64_t)gen << 32 | (uint64_t)ntasks << 16, memory_order_seq_cst);
    if (helpers > 0 && atomic_load(&n_sleeping) > 0) {
        pthread_mutex_lock(&pool_lock);
        pthread_cond_broadcast(&pool_wake);
        pthread_mutex_unlock(&pool_lock);
    }
    work(gen);
    for (int i = 0; i < 50 * SPIN_ROUNDS && atomic_load_explicit(&job_done, memory_order_acquire) < ntasks; i++)
        cpu_relax();
    if (atomic_load_explicit(&job_done, memory_order_acquire) < ntasks) {
        pthread_mutex_lock(&pool_lock);
        while (atomic_load(&job_done) < ntasks) pthread_cond_wait(&pool_done_cv, &pool_lock);
        pthread_mutex_unlock(&pool_lock);
    }
    atomic_store_explicit(&job_helpers, 0, memory_order_relaxed);
    pthread_mutex_unlock(&pool_owner);
}

/* ---- per-thread scratch ------------------------------------------------ */

#define N_SLOTS 4

typedef struct scratch {
    float *p[N_SLOTS];
    size_t n[N_SLOTS];
} scratch;

static _Thread_local scratch *tls_scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void scratch_free(void *p)
{
    scratch *s = p;
    for (int i = 0; i < N_SLOTS; i++) free(s->p[i]);
    free(s);
}

static void scratch_make_key(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

float *gf__scratch(int slot, size_t n)
{
    if (slot < 0 || slot >= N_SLOTS || n > (SIZE_MAX - 64) / sizeof(float)) return NULL;
    scratch *s = tls_scratch;
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
        pthread_once(&scratch_once, scratch_make_key);
        if (scratch_key_ok) pthread_setspecific(scratch_key, s);
        tls_scratch = s;
    }
    if (s->n[slot] < n) {
        free(s->p[slot]);
        s->p[slot] = NULL;
        s->n[slot] = 0;
        size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
        float *p = aligned_alloc(64, bytes ? bytes : 64);
        if (!p) return NULL;
        s->p[slot] = p;
        s->n[slot] = n;
    }
    return s->p[slot];
}
