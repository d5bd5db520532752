/*
 * source.c — the CSV reader's bytes: a plain file, or one or more gzip
 * members inflated as they are read (told apart by gzip's magic), with
 * zlib's buffers from gf_set_allocator's allocator.
 */
/* The same rules as idx.c's reader: a stream cut off inside a member, a
 * corrupt member and bytes after the last member that are not another
 * member are errors naming the file. Nothing is read ahead beyond one
 * chunk of compressed input. */
#include "data/data.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return gf__calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    gf__free(p);
}

gf_status gf__src_open(gf__src *s, const char *path, const char *what, gf_error *err)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->err = err;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) return gf__error_set(err, GF_ERR_IO, "%s: no such file", path);
        return gf__error_set(err, GF_ERR_IO, "%s: cannot access: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return gf__error_set(err, GF_ERR_IO, "%s: is a directory, not a %s", path, what);
    if (!S_ISREG(st.st_mode)) return gf__error_set(err, GF_ERR_IO, "%s: not a regular file", path);
    if (st.st_size == 0) return gf__error_set(err, GF_ERR_FORMAT, "%s: empty file (0 bytes)", path);
    s->file_size = (int64_t)st.st_size;
    s->f = fopen(path, "rb");
    if (!s->f) return gf__error_set(err, GF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[2];
    size_t m = fread(magic, 1, 2, s->f);
    s->gz = m == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    rewind(s->f);
    if (!s->gz) return GF_OK;
    s->in = gf__malloc(GF_SRC_CHUNK);
    if (!s->in) {
        fclose(s->f);
        s->f = NULL;
        return gf__error_set(err, GF_ERR_NOMEM, "%s: out of memory", path);
    }
    s->zs.zalloc = z_alloc;
    s->zs.zfree = z_free;
    int zr = inflateInit2(&s->zs, 15 + 16);
    if (zr != Z_OK) {
        gf__src_close(s);
        return gf__error_set(err, zr == Z_MEM_ERROR ? GF_ERR_NOMEM : GF_ERR_IO,
                             "%s: %s starting zlib", path,
                             zr == Z_MEM_ERROR ? "out of memory" : "failed");
    }
    s->zinit = 1;
    return GF_OK;
}

void gf__src_close(gf__src *s)
{
    if (s->zinit) inflateEnd(&s->zs);
    s->zinit = 0;
    if (s->f) fclose(s->f);
    s->f = NULL;
    gf__free(s->in);
    s->in = NULL;
}

/* Refills the inflate input: bytes read, 0 at the end of the file, -1. */
static long refill(gf__src *s)
{
    size_t r = fread(s->in, 1, GF_SRC_CHUNK, s->f);
    if (r == 0 && ferror(s->f)) {
        s->st = gf__error_set(s->err, GF_ERR_IO, "%s: read failed: %s", s->path, strerror(errno));
        return -1;
    }
    s->zs.next_in = s->in;
    s->zs.avail_in = (uInt)r;
    return (long)r;
}

static int64_t compressed_left(gf__src *s)
{
    long pos = ftell(s->f);
    if (pos < 0) return (int64_t)s->zs.avail_in;
    return s->file_size - (int64_t)pos + (int64_t)s->zs.avail_in;
}

int64_t gf__src_read(gf__src *s, void *dst, int64_t n)
{
    unsigned char *buf = dst;
    int64_t got = 0;
    if (!s->gz) {
        while (got < n) {
            size_t want = (size_t)(n - got > (1 << 30) ? (1 << 30) : n - got);
            size_t r = fread(buf + got, 1, want, s->f);
            got += (int64_t)r;
            if (r < want) {
                if (ferror(s->f)) {
                    s->st = gf__error_set(s->err, GF_ERR_IO, "%s: read failed: %s", s->path,
                                          strerror(errno));
                    return -1;
                }
                break;
            }
        }
        return got;
    }
    while (got < n && !s->zend) {
        if (s->zs.avail_in == 0) {
            long r = refill(s);
            if (r < 0) return -1;
            if (r == 0) {
                s->st = gf__error_set(s->err, GF_ERR_FORMAT,
                                      "%s: truncated: the gzip stream is cut off", s->path);
                return -1;
            }
        }
        int64_t left = n - got;
        uInt want = left > (int64_t)(UINT_MAX / 2) ? UINT_MAX / 2 : (uInt)left;
        s->zs.next_out = buf + got;
        s->zs.avail_out = want;
        int ret = inflate(&s->zs, Z_NO_FLUSH);
        got += (int64_t)(want - s->zs.avail_out);
        if (ret == Z_STREAM_END) {
            /* End of one member: end of file, another member, or junk. */
            if (s->zs.avail_in == 0) {
                long r = refill(s);
                if (r < 0) return -1;
                if (r == 0) {
                    s->zend = 1;
                    break;
                }
            }
            if (s->zs.next_in[0] != 0x1f) {
                s->st = gf__error_set(s->err, GF_ERR_FORMAT,
                                      "%s: %lld bytes of non-gzip data after the end of the "
                                      "gzip stream", s->path, (long long)compressed_left(s));
                return -1;
            }
            inflateReset(&s->zs);
        } else if (ret == Z_MEM_ERROR) {
            s->st = gf__error_set(s->err, GF_ERR_NOMEM, "%s: out of memory inflating gzip data",
                                  s->path);
            return -1;
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            s->st = gf__error_set(s->err, GF_ERR_FORMAT, "%s: corrupt gzip data (%s)", s->path,
                                  s->zs.msg ? s->zs.msg : "invalid compressed data");
            return -1;
        }
    }
    return got;
}
