/*
 * fuzz_util.h — helpers shared by the fuzz targets (and by the seed generator
 * that includes them): a private temporary folder and file writing.
 */
#ifndef GF_FUZZ_UTIL_H
#define GF_FUZZ_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Aborts (a finding for libFuzzer, a failure for the replaying test) when a
 * property the library promises does not hold. */
#define GF_FUZZ_CHECK(cond)                                                              \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* The process's own temporary folder (made once, removed at exit with the
 * files named through gf_fuzz_path; one per target file linked in, as the
 * state is static). Under /dev/shm when it exists. */
static char gf_fuzz_dir_[512];
static char gf_fuzz_made_[8][64];
static int gf_fuzz_n_made_;

static inline void gf_fuzz_cleanup_(void)
{
    char p[1024];
    for (int i = 0; i < gf_fuzz_n_made_; i++) {
        snprintf(p, sizeof p, "%s/%s", gf_fuzz_dir_, gf_fuzz_made_[i]);
        remove(p);
    }
    if (gf_fuzz_dir_[0]) rmdir(gf_fuzz_dir_);
}

/* dir/name in the private folder; NULL when it cannot be made. name must be
 * a short constant (at most 8 distinct names per process). */
static inline const char *gf_fuzz_path(const char *name, char *buf, size_t len)
{
    if (!gf_fuzz_dir_[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        if (!base || !*base) base = "/tmp";
        snprintf(gf_fuzz_dir_, sizeof gf_fuzz_dir_, "%s/gradflow-fuzz-XXXXXX", base);
        if (!mkdtemp(gf_fuzz_dir_)) {
            gf_fuzz_dir_[0] = '\0';
            return NULL;
        }
        atexit(gf_fuzz_cleanup_);
    }
    int known = 0;
    for (int i = 0; i < gf_fuzz_n_made_; i++) known |= !strcmp(gf_fuzz_made_[i], name);
    if (!known && gf_fuzz_n_made_ < 8)
        snprintf(gf_fuzz_made_[gf_fuzz_n_made_++], sizeof gf_fuzz_made_[0], "%s", name);
    snprintf(buf, len, "%s/%s", gf_fuzz_dir_, name);
    return buf;
}

/* Writes n bytes to path (replacing it); 0 on success. */
static inline int gf_fuzz_write(const char *path, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

/* The seed generators (gen_seeds.c, gen_data_seeds.c): writes n bytes as
 * DIR/TARGET/NAME, making DIR/TARGET; on failure, says why and exits. */
static inline void gf_fuzz_seed_put(const char *dir, const char *target, const char *name, const void *bytes,
                                    size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", dir, target, name);
    if (gf_fuzz_write(path, bytes, n) != 0) {
        perror(path);
        exit(1);
    }
}

/* Reads a whole element array so that ASan sees every byte of it. */
static inline unsigned gf_fuzz_touch(const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned h = 0;
    for (size_t i = 0; i < n; i++) h = h * 31u + b[i];
    return h;
}

#endif
