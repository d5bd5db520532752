/*
 * file_write.c — a whole file written atomically (file_write.h).
 */
#include "file_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

gf_status gf__write_atomic(const char *path, const gf_chunk *chunks, int n, char *msg, size_t cap)
{
    mode_t mode = 0644;
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode)) {
            snprintf(msg, cap, "%s: exists and is not a regular file", path);
            return GF_ERR_IO;
        }
        mode = sb.st_mode & 07777;
    } else if (errno != ENOENT) {
        snprintf(msg, cap, "%s: %s", path, strerror(errno));
        return GF_ERR_IO;
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base) {
        snprintf(msg, cap, "%s: the path names a directory, not a file", path);
        return GF_ERR_ARG;
    }
    size_t dlen = slash ? (size_t)(slash - path) : 1;
    if (slash && dlen == 0) dlen = 1; /* "/name": the root */
    size_t tlen = dlen + strlen(base) + 16;
    char *tmp = gf__malloc(tlen), *dir = gf__malloc(dlen + 1);
    gf_status st = GF_OK;
    if (!tmp || !dir) {
        snprintf(msg, cap, "%s: out of memory", path);
        st = GF_ERR_NOMEM;
        goto out;
    }
    memcpy(dir, slash ? path : ".", dlen);
    dir[dlen] = '\0';
    snprintf(tmp, tlen, "%s/.%s.tmp-XXXXXX", dir, base);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(msg, cap, "%s: cannot create a temporary file in %s: %s", path, dir, strerror(errno));
        st = GF_ERR_IO;
        goto out;
    }
    int e = 0;
    FILE *f = NULL;
    if (fchmod(fd, mode) != 0) e = errno;
    if (!e && !(f = fdopen(fd, "wb"))) e = errno ? errno : EIO;
    if (!f) close(fd);
    for (int i = 0; f && i < n && !e; i++)
        if (chunks[i].n && fwrite(chunks[i].p, 1, chunks[i].n, f) != chunks[i].n) e = errno ? errno : EIO;
    if (f) {
        if (!e && fflush(f) != 0) e = errno ? errno : EIO;
        if (!e && fsync(fileno(f)) != 0) e = errno;
        if (fclose(f) != 0 && !e) e = errno ? errno : EIO;
    }
    if (e) {
        unlink(tmp);
        snprintf(msg, cap, "%s: cannot write: %s", path, strerror(e));
        st = GF_ERR_IO;
    } else if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        snprintf(msg, cap, "%s: cannot rename the temporary file over it: %s", path, strerror(e));
        st = GF_ERR_IO;
    } else {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            (void)fsync(dfd); /* the rename's durability; the file is in place either way */
            close(dfd);
        }
    }
out:
    gf__free(tmp);
    gf__free(dir);
    return st;
}
