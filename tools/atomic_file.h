/* atomic_file.h — writing a file atomically for the CLI's pictures: into a
 * temporary file next to it, flushed and fsync'ed, then renamed over it. */
#ifndef GF_ATOMIC_FILE_H
#define GF_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

/* A file being written: the stream and its temporary name. */
typedef struct gf_atomic_file {
    FILE *f;
    char tmp[4200];
    char path[4096];
} gf_atomic_file;

/* Creates ".NAME.tmp-XXXXXX" in path's directory (mode 0666 less the umask)
 * and opens it for writing. Returns 1, or 0 with the reason (naming path)
 * in err. */
int gf_atomic_open(gf_atomic_file *af, const char *path, char *err, size_t err_len);

/* Flushes, fsyncs and closes the stream, renames the temporary file over
 * path and fsyncs the directory. Returns 1, or 0 with the reason in err;
 * either way the temporary file is gone and on failure path is untouched. */
int gf_atomic_commit(gf_atomic_file *af, char *err, size_t err_len);

/* Closes and removes the temporary file; path is untouched. */
void gf_atomic_abort(gf_atomic_file *af);

/* 1 when a file can be created in path's directory (checked before long
 * work); else 0 with the reason in err. */
int gf_atomic_dir_ok(const char *path, char *err, size_t err_len);

#endif
