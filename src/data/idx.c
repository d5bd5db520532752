/*
 * idx.c — reads IDX files (MNIST's container: a big-endian header, then
 * unsigned bytes), gzipped or plain, checking every header field against the data.
 */
/* Nothing in a header is trusted: a plain file's promised size is compared
 * with the real file size before any allocation; a gzip stream is inflated
 * incrementally into a buffer that grows (by doubling, never past what the
 * header promises) only as data actually arrives. Errors name the file and
 * the problem; the library never prints.
 */
#include "data/data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

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

#define IDX_CHUNK 65536                      /* compressed bytes per fread */
#define IDX_DEFAULT_MAX ((size_t)1 << 30)    /* max_bytes 0: 1 GiB */
#define IDX_FIRST_ALLOC ((int64_t)1 << 20)   /* first gzip buffer: 1 MiB */

/* A byte source: a plain FILE, or a FILE inflated as gzip (one or more
 * concatenated members, as gzip(1) allows). */
typedef struct idx_src {
    const char *path;
    gf_error *err;
    FILE *f;
    int64_t file_size;
    gf_status st;    /* the code of the error reported, for err == NULL */
    int gz;
    int zinit;       /* inflateInit2 done */
    int zend;        /* the last member ended exactly at the end of the file */
    int ztrunc;      /* the compressed data ended inside a member */
    z_stream zs;
    unsigned char in[IDX_CHUNK];
} idx_src;

static const char *dtype_desc(int code)
{
    switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    }
    return "not an IDX type";
}

/* Refills the inflate input. Returns bytes read, 0 at end of file, -1 on a
 * read error (err filled). */
static long src_refill(idx_src *s)
{
    size_t r = fread(s->in, 1, sizeof s->in, s->f);
    if (r == 0 && ferror(s->f)) {
        s->st = gf__error_set(s->err, GF_ERR_IO, "%s: read failed: %s", s->path, strerror(errno));
        return -1;
    }
    s->zs.next_in = s->in;
    s->zs.avail_in = (uInt)r;
    return (long)r;
}

/* Compressed bytes that follow the current input position. */
static int64_t src_compressed_left(idx_src *s)
{
    long pos = ftell(s->f);
    if (pos < 0) return (int64_t)s->zs.avail_in;
    return s->file_size - (int64_t)pos + (int64_t)s->zs.avail_in;
}

/* Reads up to n bytes into buf (buf may be NULL only when n is 0). Returns
 * the count read, short only at the end of the data (for gzip, s->ztrunc
 * then says whether the stream was cut off), or -1 with err filled. */
static int64_t src_read(idx_src *s, uint8_t *buf, int64_t n)
{
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
    while (got < n && !s->zend && !s->ztrunc) {
        if (s->zs.avail_in == 0) {
            long r = src_refill(s);
            if (r < 0) return -1;
            if (r == 0) {
                s->ztrunc = 1;
                break;
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
                long r = src_refill(s);
                if (r < 0) return -1;
                if (r == 0) {
                    s->zend = 1;
                    break;
                }
            }
            if (s->zs.next_in[0] != 0x1f) {
                s->st = gf__error_set(s->err, GF_ERR_FORMAT,
                              "%s: %lld bytes of non-gzip data after the end of the gzip stream",
                              s->path, (long long)src_compressed_left(s));
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
        /* Z_BUF_ERROR: no progress without more input; the loop refills. */
    }
    return got;
}

/* Reads and throws away up to n bytes (for sizing what a file holds without
 * storing it). Same return convention as src_read. */
static int64_t src_skip(idx_src *s, int64_t n)
{
    uint8_t scratch[4096];
    int64_t got = 0;
    while (got < n) {
        int64_t want = n - got > (int64_t)sizeof scratch ? (int64_t)sizeof scratch : n - got;
        int64_t r = src_read(s, scratch, want);
        if (r < 0) return -1;
        got += r;
        if (r < want) break;
    }
    return got;
}

static const char *cut_note(const idx_src *s)
{
    return s->ztrunc ? " (the gzip stream is cut off)" : "";
}

static gf_status truncated_data(idx_src *s, int64_t promised, int64_t held)
{
    return gf__error_set(s->err, GF_ERR_FORMAT,
                         "%s: truncated: header promises %lld bytes of data, file holds %lld%s",
                         s->path, (long long)promised, (long long)held, cut_note(s));
}

static gf_status too_large(idx_src *s, int64_t promised, size_t limit)
{
    return gf__error_set(s->err, GF_ERR_FORMAT,
                         "%s: too large: header promises %lld bytes of data, over the limit "
                         "of %zu bytes", s->path, (long long)promised, limit);
}

/* The rank a caller wants (gf__idx_read_ranked); 1..GF_MAX_RANK for any. */
typedef struct idx_rank {
    int lo, hi;
    const char *what; /* e.g. "labels must be rank 1 [count]" */
} idx_rank;

/* Reads the header into out (rank, dims, count), the rank checked against
 * want before any dimension is read. */
static gf_status read_header(idx_src *s, const idx_rank *want, gf_idx *out, int64_t *header_len)
{
    uint8_t h[4 + 4 * GF_MAX_RANK];
    int64_t r = src_read(s, h, 4);
    if (r < 0) return s->st;
    if (r < 4)
        return gf__error_set(s->err, GF_ERR_FORMAT,
                             "%s: truncated: %lld bytes, shorter than the 4-byte IDX magic%s",
                             s->path, (long long)r, cut_note(s));
    if (h[0] != 0 || h[1] != 0)
        return gf__error_set(s->err, GF_ERR_FORMAT,
                             "%s: not an IDX file: bad magic %02x %02x %02x %02x "
                             "(an IDX file starts with 00 00, a dtype byte and the rank)",
                             s->path, h[0], h[1], h[2], h[3]);
    if (h[2] != 0x08)
        return gf__error_set(s->err, GF_ERR_FORMAT,
                             "%s: unsupported IDX dtype 0x%02x (%s): only 0x08 (unsigned byte) "
                             "is supported", s->path, h[2], dtype_desc(h[2]));
    int rank = h[3];
    if (rank < 1 || rank > GF_MAX_RANK)
        return gf__error_set(s->err, GF_ERR_FORMAT,
                             "%s: unsupported rank %d: IDX rank must be 1..%d", s->path, rank,
                             GF_MAX_RANK);
    /* Before the dimensions: a file of another rank (a labels file whose
     * header says rank 3) would otherwise read its data as dimensions and
     * be reported as truncated, with an absurd size. */
    if (rank < want->lo || rank > want->hi)
        return gf__error_set(s->err, GF_ERR_FORMAT,
                             "%s: %s, but its IDX magic %02x %02x %02x %02x says rank %d",
                             s->path, want->what, h[0], h[1], h[2], h[3], rank);
    r = src_read(s, h + 4, 4 * rank);
    if (r < 0) return s->st;
    if (r < 4 * rank)
        return gf__error_set(s->err, GF_ERR_FORMAT,
                             "%s: truncated: a rank-%d header needs %d bytes, file ends "
                             "after %lld%s",
                             s->path, rank, 4 + 4 * rank, (long long)(4 + r), cut_note(s));
    out->rank = rank;
    int64_t count = 1;
    int overflow = 0;
    for (int i = 0; i < rank; i++) {
        const uint8_t *p = h + 4 + 4 * i;
        int64_t d = (int64_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
                              ((uint32_t)p[2] << 8) | (uint32_t)p[3]);
        out->dim[i] = d;
        if (d == 0)
            return gf__error_set(s->err, GF_ERR_FORMAT, "%s: dimension %d is 0", s->path, i);
        if (count > INT64_MAX / d) overflow = 1;
        else count *= d;
    }
    if (overflow) {
        char shape[GF_SHAPE_STR];
        gf_shape_format(gf_shape_from(rank, out->dim), shape, sizeof shape);
        return gf__error_set(s->err, GF_ERR_FORMAT,
                             "%s: dimensions %s overflow: their product does not fit in 64 bits",
                             s->path, shape);
    }
    out->count = count;
    *header_len = 4 + 4 * rank;
    return GF_OK;
}

/* Reads the promised data of a gzip source, growing the buffer as it comes. */
static gf_status read_gz_data(idx_src *s, int64_t count, size_t limit, uint8_t **data)
{
    if ((uint64_t)count > (uint64_t)limit) {
        /* Tell a short file (truncated) from a real oversize one without
         * storing anything: inflate and count at most limit+1 bytes. */
        int64_t held = src_skip(s, (int64_t)limit + 1);
        if (held < 0) return s->st;
        if (held <= (int64_t)limit) return truncated_data(s, count, held);
        return too_large(s, count, limit);
    }
    int64_t cap = count < IDX_FIRST_ALLOC ? count : IDX_FIRST_ALLOC, got = 0;
    uint8_t *buf = gf__malloc((size_t)cap);
    if (!buf) return gf__error_set(s->err, GF_ERR_NOMEM, "%s: out of memory", s->path);
    for (;;) {
        int64_t r = src_read(s, buf + got, cap - got);
        if (r < 0) {
            gf__free(buf);
            return s->st;
        }
        got += r;
        if (got < cap) {
            gf__free(buf);
            return truncated_data(s, count, got);
        }
        if (got == count) break;
        int64_t ncap = cap > count / 2 ? count : cap * 2;
        uint8_t *nb = gf__realloc(buf, (size_t)ncap);
        if (!nb) {
            gf__free(buf);
            return gf__error_set(s->err, GF_ERR_NOMEM, "%s: out of memory", s->path);
        }
        buf = nb;
        cap = ncap;
    }
    /* Anything after the data is an error, and so is a stream cut off
     * before its trailer (its CRC is then unchecked). */
    int64_t extra = src_skip(s, (int64_t)limit);
    if (extra < 0 || extra > 0 || s->ztrunc) {
        gf__free(buf);
        if (extra < 0) return s->st;
        if (extra > 0)
            return gf__error_set(s->err, GF_ERR_FORMAT,
                                 "%s: trailing bytes: %s%lld bytes after the %lld bytes of data "
                                 "the header promises", s->path,
                                 extra >= (int64_t)limit ? "at least " : "", (long long)extra,
                                 (long long)count);
        return gf__error_set(s->err, GF_ERR_FORMAT,
                             "%s: truncated: the gzip stream is cut off after the data "
                             "(its end and checksum are missing)", s->path);
    }
    *data = buf;
    return GF_OK;
}

/* Reads the promised data of a plain file, whose size is known. */
static gf_status read_plain_data(idx_src *s, int64_t header_len, int64_t count, size_t limit,
                                 uint8_t **data)
{
    int64_t held = s->file_size - header_len;
    if (held < count) return truncated_data(s, count, held);
    if ((uint64_t)count > (uint64_t)limit) return too_large(s, count, limit);
    if (held > count)
        return gf__error_set(s->err, GF_ERR_FORMAT,
                             "%s: trailing bytes: %lld bytes after the %lld bytes of data the "
                             "header promises", s->path, (long long)(held - count),
                             (long long)count);
    uint8_t *buf = gf__malloc((size_t)count);
    if (!buf) return gf__error_set(s->err, GF_ERR_NOMEM, "%s: out of memory", s->path);
    int64_t r = src_read(s, buf, count);
    if (r != count) {
        gf__free(buf);
        if (r < 0) return s->st;
        return gf__error_set(s->err, GF_ERR_IO, "%s: file shrank while being read", s->path);
    }
    *data = buf;
    return GF_OK;
}

static gf_status idx_read(const char *path, size_t max_bytes, const idx_rank *want, gf_idx *out,
                          gf_error *err)
{
    if (!out) return gf__error_set(err, GF_ERR_ARG, "gf_idx_read: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return gf__error_set(err, GF_ERR_ARG, "gf_idx_read: path is NULL");
    size_t limit = max_bytes ? max_bytes : IDX_DEFAULT_MAX;
    /* The byte counts are int64_t: a larger max_bytes (SIZE_MAX for "no
     * limit") would turn negative in them and end the checks for trailing
     * bytes early. No file holds more than INT64_MAX - 1 bytes. */
    if ((uint64_t)limit > (uint64_t)INT64_MAX - 1) limit = (size_t)(INT64_MAX - 1);

    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) return gf__error_set(err, GF_ERR_IO, "%s: no such file", path);
        return gf__error_set(err, GF_ERR_IO, "%s: cannot access: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return gf__error_set(err, GF_ERR_IO, "%s: is a directory, not an IDX file", path);
    if (!S_ISREG(st.st_mode))
        return gf__error_set(err, GF_ERR_IO, "%s: not a regular file", path);
    if (st.st_size == 0)
        return gf__error_set(err, GF_ERR_FORMAT, "%s: empty file (0 bytes)", path);

    idx_src *s = gf__calloc(1, sizeof *s);
    if (!s) return gf__error_set(err, GF_ERR_NOMEM, "%s: out of memory", path);
    s->path = path;
    s->err = err;
    s->file_size = (int64_t)st.st_size;
    gf_status rc = GF_OK;
    s->f = fopen(path, "rb");
    if (!s->f) {
        rc = gf__error_set(err, GF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    unsigned char magic[2];
    size_t m = fread(magic, 1, 2, s->f);
    s->gz = m == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    rewind(s->f);
    if (s->gz) {
        s->zs.zalloc = z_alloc; /* zlib's buffers through gf_set_allocator too */
        s->zs.zfree = z_free;
        if (inflateInit2(&s->zs, 15 + 16) != Z_OK) {
            rc = gf__error_set(err, GF_ERR_NOMEM, "%s: cannot start zlib", path);
            goto done;
        }
        s->zinit = 1;
    }

    int64_t header_len = 0;
    gf_idx tmp = { 0 };
    rc = read_header(s, want, &tmp, &header_len);
    if (rc != GF_OK) goto done;
    uint8_t *data = NULL;
    rc = s->gz ? read_gz_data(s, tmp.count, limit, &data)
               : read_plain_data(s, header_len, tmp.count, limit, &data);
    if (rc != GF_OK) goto done;
    tmp.data = data;
    *out = tmp;
done:
    if (s->zinit) inflateEnd(&s->zs);
    if (s->f) fclose(s->f);
    gf__free(s);
    return rc;
}

gf_status gf_idx_read(const char *path, size_t max_bytes, gf_idx *out, gf_error *err)
{
    const idx_rank any = { 1, GF_MAX_RANK, "" };
    return idx_read(path, max_bytes, &any, out, err);
}

gf_status gf__idx_read_ranked(const char *path, int lo, int hi, const char *what, gf_idx *out,
                              gf_error *err)
{
    const idx_rank want = { lo, hi, what };
    return idx_read(path, 0, &want, out, err);
}

void gf_idx_free(gf_idx *idx)
{
    if (!idx) return;
    gf__free(idx->data);
    memset(idx, 0, sizeof *idx);
}
