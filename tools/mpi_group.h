/*
 * mpi_group.h — the gradflow command's data-parallel group over MPI
 * (tools/mpi_group.c): a gf_process_group whose all_reduce sums in rank
 * order and whose every collective gives up after a timeout instead of
 * hanging. Built with MPI when CMake finds it (GF_MPI); without it the
 * same functions say so. The library itself never links MPI.
 */
#ifndef GF_MPI_GROUP_H
#define GF_MPI_GROUP_H

#include <stddef.h>

#include "gradflow.h"

typedef struct gf_mpi gf_mpi;

/* 1 when this gradflow was built with MPI. */
int gf_mpi_built(void);

/* The size of the job that launched this process, from the environment
 * mpirun (Open MPI's or MPICH's, or a PMI launcher) sets, and this
 * process's rank in *rank (may be NULL); 0 when not started by one.
 * Readable before MPI starts, and without MPI, so that a build without
 * it can refuse to train N copies alone. */
int gf_mpi_launched(int *rank);

/* MPI_Init, then the group of every process of the job. timeout_s: how
 * long a collective waits for the other ranks before it fails
 * (GF_ERR_GROUP, naming the ranks that did not answer). NULL with the
 * reason in msg on failure (MPI missing or failing). */
gf_mpi *gf_mpi_start(double timeout_s, char *msg, size_t len);

int gf_mpi_rank(const gf_mpi *m);
int gf_mpi_size(const gf_mpi *m);
/* The group to give gf_session_options.group; owned by m. */
const gf_process_group *gf_mpi_group(gf_mpi *m);

/* Every rank says whether it succeeded (failure NULL) or why not; 1 when
 * all did, else 0 with "rank R: FAILURE" (the lowest failing rank's) or
 * the group's own failure in msg. Every rank must call it. */
int gf_mpi_agree(gf_mpi *m, const char *failure, char *msg, size_t len);

/* Timed collectives for the bench: the time of `reps` all_reduce calls of
 * n floats, seconds each, the fastest (*best) and the mean (*mean).
 * 0 with msg on failure. */
int gf_mpi_time_all_reduce(gf_mpi *m, int64_t n, int reps, double *best, double *mean, char *msg, size_t len);

/* Ends the job for this rank and frees m: MPI_Finalize when ok, else
 * after telling the others (best effort) that this rank failed with
 * `why`, MPI_Abort, which stops every rank (does not return). NULL m:
 * nothing. */
void gf_mpi_end(gf_mpi *m, int ok, const char *why);

#endif
