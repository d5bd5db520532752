/* atomic_file.c — writing a file atomically for the CLI's pictures: into a
 * temporary file next to it, flushed and fsync'ed, then renamed over it. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* path's directory ("." when none) into dir, and its last component. */
static const char *split(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, cap, ".");
        return path;
    }
    snprintf(dir, cap, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    return slash + 1;
}

int gf_atomic_dir_ok(const char *path, char *err, size_t err_len)
{
    char dir[4096];
    const char *base = split(path, dir, sizeof dir);
    struct stat sb;
    if (!*base || (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))) {
        snprintf(err, err_len, "%s: a directory, not a file", path);
        return 0;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, err_len, "%s: cannot write in %s: %s", path, dir, strerror(errno));
        return 0;
    }
    return 1;
}

int gf_atomic_open(gf_atomic_file *af, const char *path, char *err, size_t err_len)
{
    memset(af, 0, sizeof *af);
    if (strlen(path) >= sizeof af->path) {
        snprintf(err, err_len, "%.100s...: path too long", path);
        return 0;
    }
    snprintf(af->path, sizeof af->path, "%s", path);
    char dir[4096];
    const char *base = split(path, dir, sizeof dir);
    if (!*base) {
        snprintf(err, err_len, "%s: a directory, not a file", path);
        return 0;
    }
    snprintf(af->tmp, sizeof af->tmp, "%s/.%s.tmp-XXXXXX", dir, base);
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        snprintf(err, err_len, "%s: cannot create a temporary file in %s: %s", path, dir, strerror(errno));
        af->tmp[0] = '\0';
        return 0;
    }
    mode_t mask = umask(022);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || !(af->f = fdopen(fd, "wb"))) {
        snprintf(err, err_len, "%s: %s", af->tmp, strerror(errno));
        close(fd);
        unlink(af->tmp);
        af->tmp[0] = '\0';
        return 0;
    }
    return 1;
}

int gf_atomic_commit(gf_atomic_file *af, char *err, size_t err_len)
{
    int ok = fflush(af->f) == 0 && !ferror(af->f) && fsync(fileno(af->f)) == 0;
    int saved = errno;
    if (fclose(af->f) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    af->f = NULL;
    if (ok && rename(af->tmp, af->path) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        snprintf(err, err_len, "%s: cannot write: %s", af->path, strerror(saved ? saved : EIO));
        unlink(af->tmp);
        af->tmp[0] = '\0';
        return 0;
    }
    af->tmp[0] = '\0';
    char dir[4096];
    split(af->path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: the rename is done either way */
        close(dfd);
    }
    return 1;
}

void gf_atomic_abort(gf_atomic_file *af)
{
    if (af->f) fclose(af->f);
    af->f = NULL;
    if (af->tmp[0]) unlink(af->tmp);
    af->tmp[0] = '\0';
}
