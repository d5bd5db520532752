/*
 * atomic.c — the temporary-file-and-rename save shared by checkpoints and
 * model files (atomic.h). Each step calls gf__checkpoint_probe, so that a
 * test can kill a saving process at chosen points.
 */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void (*gf__checkpoint_probe)(const char *point);

static void probe(const char *point)
{
    if (gf__checkpoint_probe) gf__checkpoint_probe(point);
}

/* Splits path into its directory ("." when none) and base name. */
static gf_status split_path(const char *path, char **dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 1;
    if (slash && dlen == 0) dlen = 1; /* "/name": the root */
    *dir = gf__malloc(dlen + 1);
    if (!*dir) return GF_ERR_NOMEM;
    memcpy(*dir, slash ? path : ".", dlen);
    (*dir)[dlen] = '\0';
    *base = slash ? slash + 1 : path;
    return GF_OK;
}

static void release(gf_atomic *a)
{
    gf__free(a->tmp);
    gf__free(a->dir);
    memset(a, 0, sizeof *a);
}

gf_status gf__atomic_open(gf_atomic *a, const char *path, char *msg, size_t len)
{
    memset(a, 0, sizeof *a);
    /* Never rename over a device, directory or pipe: only regular files are
     * replaced, and they keep their permission bits. */
    mode_t mode = 0644;
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode)) {
            snprintf(msg, len, "exists and is not a regular file");
            return GF_ERR_IO;
        }
        mode = sb.st_mode & 07777;
    } else if (errno != ENOENT) {
        snprintf(msg, len, "%s", strerror(errno));
        return GF_ERR_IO;
    }
    const char *base;
    if (split_path(path, &a->dir, &base) != GF_OK) {
        snprintf(msg, len, "out of memory");
        return GF_ERR_NOMEM;
    }
    if (!*base) {
        release(a);
        snprintf(msg, len, "the path names a directory, not a file");
        return GF_ERR_ARG;
    }
    /* DIR/.BASE.tmp-XXXXXX, in the target's directory so that rename() is
     * atomic. */
    size_t tlen = strlen(a->dir) + strlen(base) + 16;
    a->tmp = gf__malloc(tlen);
    if (!a->tmp) {
        release(a);
        snprintf(msg, len, "out of memory");
        return GF_ERR_NOMEM;
    }
    snprintf(a->tmp, tlen, "%s/.%s.tmp-XXXXXX", a->dir, base);
    int fd = mkstemp(a->tmp);
    probe("create");
    if (fd < 0) {
        snprintf(msg, len, "cannot create a temporary file in %s: %s", a->dir, strerror(errno));
        release(a);
        return GF_ERR_IO;
    }
    if (fchmod(fd, mode) != 0) a->err = errno;
    a->f = a->err ? NULL : fdopen(fd, "wb");
    if (!a->f) {
        if (!a->err) a->err = errno ? errno : EIO;
        close(fd);
    }
    return GF_OK; /* a failure so far is reported by close */
}

void gf__atomic_write(gf_atomic *a, const void *p, size_t n)
{
    if (a->err || !a->f || n == 0) return;
    errno = 0;
    if (fwrite(p, 1, n, a->f) != n) {
        a->err = errno ? errno : EIO;
        return;
    }
    probe("write");
}

void gf__atomic_abort(gf_atomic *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    release(a);
}

gf_status gf__atomic_close(gf_atomic *a, const char *path, char *msg, size_t len)
{
    gf_status st = GF_OK;
    if (a->f) {
        if (!a->err && fflush(a->f) != 0) a->err = errno ? errno : EIO;
        probe("flush");
        if (!a->err && fsync(fileno(a->f)) != 0) a->err = errno;
        probe("fsync");
        if (fclose(a->f) != 0 && !a->err) a->err = errno ? errno : EIO;
        a->f = NULL;
        probe("close");
    }
    if (a->err) {
        unlink(a->tmp);
        snprintf(msg, len, "cannot write: %s", strerror(a->err));
        st = GF_ERR_IO;
    } else if (rename(a->tmp, path) != 0) {
        int e = errno;
        unlink(a->tmp);
        snprintf(msg, len, "cannot rename the temporary file over it: %s", strerror(e));
        st = GF_ERR_IO;
    } else {
        probe("rename");
        /* Make the rename itself durable. A directory that cannot be opened
         * or a file system that cannot sync directories (EINVAL) is let go:
         * the new file is in place either way. */
        int dfd = open(a->dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            if (fsync(dfd) != 0 && errno != EINVAL && errno != ENOTSUP) {
                snprintf(msg, len, "written, but syncing directory %s failed: %s", a->dir, strerror(errno));
                st = GF_ERR_IO;
            }
            close(dfd);
        }
        probe("sync directory");
    }
    release(a);
    return st;
}
