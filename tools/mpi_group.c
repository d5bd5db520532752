/*
 * mpi_group.c — the gradflow command's gf_process_group over MPI.
 *
 * Every collective starts with a header exchange: each rank sends every
 * other rank what it is about to do (which collective, the node's name,
 * the element count, how many collectives it has done) or that it failed
 * and why, point to point, so that a rank that waits too long can name
 * the ranks that never answered, and ranks that disagree (another graph,
 * a failed rank) stop with a message instead of exchanging the wrong
 * buffers. Then the data moves with non-blocking collectives polled
 * against a deadline: MPI's blocking calls would wait forever for a rank
 * that hangs.
 *
 * all_reduce sums each element in rank order, as gf_process_group
 * requires: rank c receives chunk c of every rank's buffer (an all-to-all),
 * adds the N pieces in rank order 0..N-1, and every rank gathers the
 * summed chunks. Each rank sends and receives 2(N-1)/N of the buffer, as
 * a ring all-reduce does, but the order of the additions never depends
 * on the network.
 */
#include "mpi_group.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gf_mpi_launched(int *rank)
{
    static const char *const sizes[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE" };
    static const char *const ranks[] = { "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK" };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *v = getenv(sizes[i]), *r = getenv(ranks[i]);
        if (v && atoi(v) > 0) {
            if (rank) *rank = r ? atoi(r) : 0;
            return atoi(v);
        }
    }
    if (rank) *rank = 0;
    return 0;
}

#if GF_HAVE_MPI

#include <mpi.h>
#include <sched.h>
#include <time.h>

enum { KIND_ALL_REDUCE = 1, KIND_BROADCAST, KIND_AGREE };
enum { TAG_HEADER = 7101, TAG_DATA = 7102 };
/* Floats summed at a time (a stack buffer). */
#define SUM_BLOCK 2048

static const char *kind_name(int k)
{
    return k == KIND_ALL_REDUCE ? "all-reduce" : k == KIND_BROADCAST ? "broadcast" : "end-of-run check";
}

typedef struct header {
    int32_t failed;   /* 1: this rank failed, msg says why */
    int32_t kind;     /* KIND_* */
    int64_t n;        /* floats */
    uint64_t seq;     /* collectives this rank did before */
    char name[64];
    char msg[400];
} header;

struct gf_mpi {
    gf_process_group group;
    MPI_Comm comm;
    int rank, size;
    double timeout;
    uint64_t seq;
    header *h;        /* size of them: what each rank said */
    MPI_Request *req; /* 2 * size */
    int *done;        /* 2 * size */
    int *counts, *displs; /* each rank's chunk of an all-reduce */
    float *scratch;
    int64_t scratch_cap;
    const float **src; /* size: the parts an all-reduce adds */
};

int gf_mpi_built(void) { return 1; }
int gf_mpi_rank(const gf_mpi *m) { return m->rank; }
int gf_mpi_size(const gf_mpi *m) { return m->size; }
const gf_process_group *gf_mpi_group(gf_mpi *m) { return &m->group; }

static void mpi_error(int rc, const char *what, char *msg, size_t len)
{
    char s[MPI_MAX_ERROR_STRING] = "";
    int n = 0;
    MPI_Error_string(rc, s, &n);
    snprintf(msg, len, "%s failed: %s", what, s);
}

/* Between two polls: nothing at first (a collective often completes
 * within microseconds), then a yield, then sleeps growing to 1 ms, so that
 * a rank waiting for another leaves the CPU to it (and to anything else
 * on an oversubscribed or shared machine). busy: how long to yield
 * before sleeping. */
static void pause_briefly(double waited, double busy)
{
    if (waited < 20e-6) return;
    if (waited < busy) {
        sched_yield();
        return;
    }
    long ns = waited < 0.01 ? 50000 : waited < 0.1 ? 200000 : 1000000;
    struct timespec ts = { 0, ns };
    nanosleep(&ts, NULL);
}

/* Polls req[0..n) until each is done or the deadline passes (done[] says
 * which). patient: waiting for the other ranks to arrive (sleep soon);
 * else moving data between ranks all present, which needs this rank's
 * polls to progress (keep yielding for 10 ms). 1 when all finished; 0 on
 * timeout (msg empty) or on an MPI error (msg set). */
static int wait_all(gf_mpi *m, MPI_Request *req, int *done, int n, int patient, char *msg, size_t len)
{
    double start = MPI_Wtime();
    int left = 0;
    for (int i = 0; i < n; i++) left += !done[i];
    msg[0] = '\0';
    while (left) {
        for (int i = 0; i < n; i++) {
            if (done[i]) continue;
            int flag = 0, rc = MPI_Test(&req[i], &flag, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS) {
                mpi_error(rc, "MPI_Test", msg, len);
                return 0;
            }
            if (flag) {
                done[i] = 1;
                left--;
            }
        }
        if (!left) break;
        double waited = MPI_Wtime() - start;
        if (waited > m->timeout) return 0;
        pause_briefly(waited, patient ? 500e-6 : 0.01);
    }
    return 1;
}

/* Sends mine to every rank and reads theirs into m->h; then checks that
 * no rank failed and all are at the same collective. */
static gf_status exchange(gf_mpi *m, header *mine, char *msg, size_t len)
{
    mine->seq = m->seq++;
    int n = 0;
    for (int r = 0; r < m->size; r++) {
        if (r == m->rank) {
            m->h[r] = *mine;
            continue;
        }
        int rc = MPI_Irecv(&m->h[r], (int)sizeof(header), MPI_BYTE, r, TAG_HEADER, m->comm, &m->req[n]);
        if (rc == MPI_SUCCESS) m->done[n++] = 0;
        if (rc == MPI_SUCCESS)
            rc = MPI_Isend(mine, (int)sizeof(header), MPI_BYTE, r, TAG_HEADER, m->comm, &m->req[n]);
        if (rc != MPI_SUCCESS) {
            mpi_error(rc, "sending the header", msg, len);
            return GF_ERR_GROUP;
        }
        m->done[n++] = 0;
    }
    if (!wait_all(m, m->req, m->done, n, 1, msg, len)) {
        if (msg[0]) return GF_ERR_GROUP;
        char who[256] = "";
        size_t at = 0;
        for (int r = 0, k = 0; r < m->size; r++) {
            if (r == m->rank) continue;
            if (!m->done[2 * k] && at < sizeof who)
                at += (size_t)snprintf(who + at, sizeof who - at, "%s%d", at ? ", " : "", r);
            k++;
        }
        snprintf(msg, len, "no answer from rank %s within %g s (a rank that stopped, hung or is slower than "
                 "--timeout allows)", who, m->timeout);
        return GF_ERR_GROUP;
    }
    for (int r = 0; r < m->size; r++)
        if (m->h[r].failed && r != m->rank) {
            snprintf(msg, len, "rank %d failed: %.*s", r, (int)sizeof m->h[r].msg, m->h[r].msg);
            return GF_ERR_GROUP;
        }
    for (int r = 0; r < m->size; r++) {
        const header *o = &m->h[r];
        if (o->kind == mine->kind && o->n == mine->n && o->seq == mine->seq &&
            !strncmp(o->name, mine->name, sizeof o->name))
            continue;
        snprintf(msg, len, "the ranks disagree: rank %d is at collective %llu, %s of \"%.*s\" (%lld floats), "
                 "rank %d at collective %llu, %s of \"%.*s\" (%lld floats): do they run the same graph?",
                 r, (unsigned long long)o->seq, kind_name(o->kind), (int)sizeof o->name, o->name,
                 (long long)o->n, m->rank, (unsigned long long)mine->seq, kind_name(mine->kind),
                 (int)sizeof mine->name, mine->name, (long long)mine->n);
        return GF_ERR_GROUP;
    }
    return GF_OK;
}

static header make_header(int kind, int64_t n, const char *name)
{
    header h;
    memset(&h, 0, sizeof h);
    h.kind = kind;
    h.n = n;
    snprintf(h.name, sizeof h.name, "%s", name ? name : "");
    return h;
}

/* Waits for one data-phase request against the deadline. */
static gf_status wait_data(gf_mpi *m, MPI_Request *req, const char *what, const char *name, char *msg, size_t len)
{
    int done = 0;
    if (wait_all(m, req, &done, 1, 0, msg, len)) return GF_OK;
    if (!msg[0])
        snprintf(msg, len, "the %s of \"%s\" did not complete within %g s (a rank stopped or hung)", what, name,
                 m->timeout);
    return GF_ERR_GROUP;
}

static gf_status all_reduce(void *ctx, float *buf, int64_t n, const char *name, char *msg, size_t len)
{
    gf_mpi *m = ctx;
    header mine = make_header(KIND_ALL_REDUCE, n, name);
    gf_status st = exchange(m, &mine, msg, len);
    if (st != GF_OK) return st;
    int p = m->size;
    if (n > INT32_MAX) { /* MPI's counts and displacements are ints */
        snprintf(msg, len, "%lld floats: more than MPI's int counts hold", (long long)n);
        return GF_ERR_GROUP;
    }
    /* Chunk c is [n*c/p, n*(c+1)/p): rank c sums it. Each rank sends
     * chunk c of its buf to rank c and receives its own chunk from every
     * other rank (its own part stays where it is: no copy to itself). */
    int64_t lo = n * m->rank / p, mine_n = n * (m->rank + 1) / p - lo;
    for (int c = 0; c < p; c++) {
        m->displs[c] = (int)(n * c / p);
        m->counts[c] = (int)(n * (c + 1) / p - n * c / p);
    }
    if (mine_n * p > m->scratch_cap) {
        float *s = realloc(m->scratch, (size_t)(mine_n * p) * sizeof *s);
        if (!s) {
            snprintf(msg, len, "out of memory for %lld floats", (long long)(mine_n * p));
            return GF_ERR_NOMEM;
        }
        m->scratch = s;
        m->scratch_cap = mine_n * p;
    }
    int k = 0, rc = MPI_SUCCESS;
    for (int r = 0; r < p && rc == MPI_SUCCESS; r++) {
        if (r == m->rank) continue;
        rc = MPI_Irecv(m->scratch + (int64_t)r * mine_n, (int)mine_n, MPI_FLOAT, r, TAG_DATA, m->comm, &m->req[k]);
        if (rc == MPI_SUCCESS) m->done[k++] = 0;
        if (rc == MPI_SUCCESS)
            rc = MPI_Isend(buf + m->displs[r], m->counts[r], MPI_FLOAT, r, TAG_DATA, m->comm, &m->req[k]);
        if (rc == MPI_SUCCESS) m->done[k++] = 0;
    }
    if (rc != MPI_SUCCESS) {
        mpi_error(rc, "sending a part to sum", msg, len);
        return GF_ERR_GROUP;
    }
    if (!wait_all(m, m->req, m->done, k, 0, msg, len)) {
        if (!msg[0])
            snprintf(msg, len, "the exchange of \"%s\" did not complete within %g s (a rank stopped or hung)", name,
                     m->timeout);
        return GF_ERR_GROUP;
    }
    /* out = x_0 + x_1 + ... in rank order, one float addition at a time
     * (x_r: this rank's own chunk, in place, for r == rank), a block of
     * SUM_BLOCK elements at a time through acc. */
    float *out = buf + lo, acc[SUM_BLOCK];
    for (int r = 0; r < p; r++) m->src[r] = r == m->rank ? out : m->scratch + (int64_t)r * mine_n;
    for (int64_t i0 = 0; i0 < mine_n; i0 += SUM_BLOCK) {
        int64_t nb = mine_n - i0 < SUM_BLOCK ? mine_n - i0 : SUM_BLOCK;
        memcpy(acc, m->src[0] + i0, (size_t)nb * sizeof *acc);
        for (int r = 1; r < p; r++) {
            const float *x = m->src[r] + i0;
            for (int64_t i = 0; i < nb; i++) acc[i] = acc[i] + x[i];
        }
        memcpy(out + i0, acc, (size_t)nb * sizeof *acc);
    }
    MPI_Request req;
    rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, buf, m->counts, m->displs, MPI_FLOAT, m->comm, &req);
    if (rc != MPI_SUCCESS) {
        mpi_error(rc, "MPI_Iallgatherv", msg, len);
        return GF_ERR_GROUP;
    }
    return wait_data(m, &req, "gathering of the sums", name, msg, len);
}

static gf_status broadcast(void *ctx, float *buf, int64_t n, const char *name, char *msg, size_t len)
{
    gf_mpi *m = ctx;
    header mine = make_header(KIND_BROADCAST, n, name);
    gf_status st = exchange(m, &mine, msg, len);
    if (st != GF_OK) return st;
    for (int64_t at = 0; at < n; at += INT32_MAX / 2) {
        int k = (int)(n - at < INT32_MAX / 2 ? n - at : INT32_MAX / 2);
        MPI_Request req;
        int rc = MPI_Ibcast(buf + at, k, MPI_FLOAT, 0, m->comm, &req);
        if (rc != MPI_SUCCESS) {
            mpi_error(rc, "MPI_Ibcast", msg, len);
            return GF_ERR_GROUP;
        }
        if ((st = wait_data(m, &req, "broadcast", name, msg, len)) != GF_OK) return st;
    }
    return GF_OK;
}

gf_mpi *gf_mpi_start(double timeout_s, char *msg, size_t len)
{
    int inited = 0, rc = MPI_Initialized(&inited);
    if (rc == MPI_SUCCESS && !inited) rc = MPI_Init(NULL, NULL);
    if (rc != MPI_SUCCESS) {
        snprintf(msg, len, "MPI_Init failed (error %d)", rc);
        return NULL;
    }
    gf_mpi *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(msg, len, "out of memory");
        return NULL;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &m->comm)) != MPI_SUCCESS) {
        mpi_error(rc, "MPI_Comm_dup", msg, len);
        free(m);
        return NULL;
    }
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(m->comm, &m->rank);
    MPI_Comm_size(m->comm, &m->size);
    m->timeout = timeout_s > 0 ? timeout_s : 120;
    size_t p = (size_t)m->size;
    m->h = calloc(p, sizeof *m->h);
    m->req = calloc(2 * p, sizeof *m->req);
    m->done = calloc(2 * p, sizeof *m->done);
    m->counts = calloc(2 * p, sizeof *m->counts);
    m->src = calloc(p, sizeof *m->src);
    if (!m->h || !m->req || !m->done || !m->counts || !m->src) {
        snprintf(msg, len, "out of memory");
        gf_mpi_end(m, 0, "out of memory");
        return NULL;
    }
    m->displs = m->counts + p;
    m->group = (gf_process_group){ .rank = m->rank, .size = m->size, .all_reduce = all_reduce,
                                   .broadcast = broadcast, .ctx = m };
    return m;
}

int gf_mpi_agree(gf_mpi *m, const char *failure, char *msg, size_t len)
{
    header mine = make_header(KIND_AGREE, 0, "end of run");
    if (failure) {
        mine.failed = 1;
        snprintf(mine.msg, sizeof mine.msg, "%s", failure);
    }
    gf_status st = exchange(m, &mine, msg, len);
    if (st == GF_OK && failure) snprintf(msg, len, "rank %d: %s", m->rank, failure);
    return st == GF_OK && !failure;
}

int gf_mpi_time_all_reduce(gf_mpi *m, int64_t n, int reps, double *best, double *mean, char *msg, size_t len)
{
    float *buf = calloc((size_t)(n ? n : 1), sizeof *buf);
    if (!buf) {
        snprintf(msg, len, "out of memory");
        return 0;
    }
    double sum = 0, min = 1e30;
    gf_status st = GF_OK;
    for (int i = -2; i < reps && st == GF_OK; i++) { /* two untimed */
        double t0 = MPI_Wtime();
        st = all_reduce(m, buf, n, "bench", msg, len);
        double t = MPI_Wtime() - t0;
        if (i < 0) continue;
        sum += t;
        if (t < min) min = t;
    }
    free(buf);
    *best = min;
    *mean = reps > 0 ? sum / reps : 0;
    return st == GF_OK;
}

void gf_mpi_end(gf_mpi *m, int ok, const char *why)
{
    if (!m) return;
    if (!ok) { /* tell the others, then stop everyone */
        header h = make_header(KIND_AGREE, 0, "failure");
        h.failed = 1;
        snprintf(h.msg, sizeof h.msg, "%s", why ? why : "failed");
        for (int r = 0, k = 0; r < m->size && m->req; r++)
            if (r != m->rank && MPI_Isend(&h, (int)sizeof h, MPI_BYTE, r, TAG_HEADER, m->comm, &m->req[k]) ==
                                    MPI_SUCCESS)
                m->done[k++] = 0;
        double t0 = MPI_Wtime(); /* a moment for the message to leave */
        while (MPI_Wtime() - t0 < 0.2) pause_briefly(1, 0);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Comm_free(&m->comm);
    free(m->h);
    free(m->req);
    free(m->done);
    free(m->counts);
    free(m->src);
    free(m->scratch);
    free(m);
    MPI_Finalize();
}

#else /* built without MPI */

struct gf_mpi {
    int unused;
};

int gf_mpi_built(void) { return 0; }
int gf_mpi_rank(const gf_mpi *m) { (void)m; return 0; }
int gf_mpi_size(const gf_mpi *m) { (void)m; return 1; }
const gf_process_group *gf_mpi_group(gf_mpi *m) { (void)m; return NULL; }

gf_mpi *gf_mpi_start(double timeout_s, char *msg, size_t len)
{
    (void)timeout_s;
    snprintf(msg, len, "this gradflow was built without MPI: install openmpi-bin and libopenmpi-dev "
                       "(scripts/install-deps does, as root) and build it again");
    return NULL;
}

int gf_mpi_agree(gf_mpi *m, const char *failure, char *msg, size_t len)
{
    (void)m;
    if (failure) snprintf(msg, len, "%s", failure);
    return !failure;
}

int gf_mpi_time_all_reduce(gf_mpi *m, int64_t n, int reps, double *best, double *mean, char *msg, size_t len)
{
    (void)m; (void)n; (void)reps;
    *best = *mean = 0;
    snprintf(msg, len, "this gradflow was built without MPI");
    return 0;
}

void gf_mpi_end(gf_mpi *m, int ok, const char *why)
{
    (void)m; (void)ok; (void)why;
}

#endif
