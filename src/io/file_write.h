/*
 * file_write.h — writing a whole file atomically: into a temporary file in
 * the target's directory, flushed and fsync'ed, then renamed over it.
 */
#ifndef GF_FILE_WRITE_H
#define GF_FILE_WRITE_H

#include "internal.h"

/* A piece of the file's bytes (borrowed for the call). */
typedef struct gf_chunk {
    const void *p;
    size_t n;
} gf_chunk;

/* Writes the n chunks, in order, to path: into DIR/.BASE.tmp-XXXXXX,
 * flushed, fsync'ed and closed, then renamed over path, and the directory
 * fsync'ed. Only a regular file is replaced (keeping its permission bits;
 * a new file gets 0644). On failure the temporary file is removed, path
 * is untouched, and msg (cap bytes) says why, naming path and the
 * system's reason: GF_ERR_IO, GF_ERR_ARG (path names a directory),
 * GF_ERR_NOMEM. */
gf_status gf__write_atomic(const char *path, const gf_chunk *chunks, int n, char *msg, size_t cap);

#endif
