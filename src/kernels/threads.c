/*
 * threads.c — the kernels' tiny thread pool (started on first use, workers
 * sleep on a condition variable) and per-thread cached scratch buffers.
 */
#include "gemm_impl.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- the pool ---------------------------------------------------------- */

#define POOL_MAX 63

static pthread_mutex_t pool_owner = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;  /* guards the job_* below */
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER;
static int n_workers;                      /* started; changed under pool_owner */
static unsigned long job_gen;              /* bumped per job */
static unsigned long worker_gen0[POOL_MAX]; /* job_gen when worker i started */
static void (*job_fn)(void *, int);
static void *job_arg;
static int job_tasks, job_next, job_done, job_helpers;

static void *pool_worker(void *p)
{
    int id = (int)(intptr_t)p;
    pthread_mutex_lock(&pool_lock);
    unsigned long seen = worker_gen0[id];
    for (;;) {
        while (job_gen == seen) pthread_cond_wait(&pool_wake, &pool_lock);
        seen = job_gen;
        while (id < job_helpers && job_next < job_tasks) {
            int t = job_next++;
            void (*fn)(void *, int) = job_fn;
            void *arg = job_arg;
            pthread_mutex_unlock(&pool_lock);
            fn(arg, t);
            pthread_mutex_lock(&pool_lock);
            if (++job_done == job_tasks) pthread_cond_signal(&pool_done);
        }
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
    pthread_mutex_lock(&pool_lock);
    worker_gen0[n_workers] = job_gen;
    pthread_mutex_unlock(&pool_lock);
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
    if (helpers < 1 || pthread_mutex_trylock(&pool_owner) != 0) {
        for (int t = 0; t < ntasks; t++) fn(arg, t);
        return;
    }
    while (n_workers < helpers && start_worker()) {
    }
    if (helpers > n_workers) helpers = n_workers;
    pthread_mutex_lock(&pool_lock);
    job_fn = fn;
    job_arg = arg;
    job_tasks = ntasks;
    job_next = 0;
    job_done = 0;
    job_helpers = helpers;
    job_gen++;
    if (helpers > 0) pthread_cond_broadcast(&pool_wake);
    while (job_next < job_tasks) {
        int t = job_next++;
        pthread_mutex_unlock(&pool_lock);
        fn(arg, t);
        pthread_mutex_lock(&pool_lock);
        job_done++;
    }
    while (job_done < job_tasks) pthread_cond_wait(&pool_done, &pool_lock);
    job_helpers = 0;
    pthread_mutex_unlock(&pool_lock);
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
