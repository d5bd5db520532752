/*
 * atomic.h — saving a file so that it is never half written: into a
 * temporary file in the target's directory, flushed and fsync'ed, renamed
 * over the target, and the directory fsync'ed (checkpoints and model files).
 */
#ifndef GF_IO_ATOMIC_H
#define GF_IO_ATOMIC_H

#include "../internal.h"

#include <stdio.h>

typedef struct gf_atomic {
    FILE *f;        /* the temporary file, open for writing */
    char *tmp;      /* its path: DIR/.BASE.tmp-XXXXXX (library memory) */
    char *dir;      /* the target's directory ("." when none) */
    int err;        /* errno of the first failed write; 0 when none */
} gf_atomic;

/* Opens the temporary file for path. Only a regular file is ever replaced
 * (its permission bits kept; a new file gets 0644). GF_OK, or the failure
 * with its reason, without a prefix, in msg: GF_ERR_IO ("exists and is not
 * a regular file", "cannot create a temporary file in DIR: REASON"),
 * GF_ERR_ARG ("the path names a directory, not a file"), GF_ERR_NOMEM. On
 * failure nothing is left to close. */
gf_status gf__atomic_open(gf_atomic *a, const char *path, char *msg, size_t len);

/* Writes n bytes; after a failure, nothing (the first errno is kept). */
void gf__atomic_write(gf_atomic *a, const void *p, size_t n);

/* Flushes, fsyncs and closes the temporary file and renames it over path,
 * then fsyncs the directory; after any failure (an earlier write included)
 * the temporary file is removed and path is untouched. Frees what open
 * took. GF_OK, or GF_ERR_IO with msg ("cannot write: REASON", "cannot
 * rename the temporary file over it: REASON", "written, but syncing
 * directory DIR failed: REASON"). */
gf_status gf__atomic_close(gf_atomic *a, const char *path, char *msg, size_t len);

/* Removes the temporary file and frees what open took (a writer that gave
 * up before the end). */
void gf__atomic_abort(gf_atomic *a);

#endif
