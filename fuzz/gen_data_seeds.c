/*
 * gen_data_seeds.c — writes the seed corpora of fuzz_npy and fuzz_csv into
 * DIR/<target>/ (fuzz/corpus): .npy files of each version, byte order,
 * dtype and order, and CSV files plain and gzipped.
 */
/* Usage: fuzz_gen_data_seeds DIR (make fuzz-seeds runs it). */
#include "fuzz_util.h"

#include <errno.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *out_dir;

static void put(const char *target, const char *name, const void *bytes, size_t n)
{
    gf_fuzz_seed_put(out_dir, target, name, bytes, n);
}

/* A .npy file: version major.0, the dict, padded to 64, then n data bytes. */
static size_t npy(uint8_t *out, int major, const char *dict, const uint8_t *data, size_t n)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) out[8 + i] = (uint8_t)(hlen >> (8 * i));
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', hlen - dl - 1);
    out[total - 1] = '\n';
    memcpy(out + total, data, n);
    return total + n;
}

static void npy_seeds(void)
{
    uint8_t f[512], d[64];
    for (int i = 0; i < 64; i++) d[i] = (uint8_t)(i * 29 + 3);
    float fl[6] = { 0, 1.5f, -2, 3.25f, 1e-3f, 255 };
    memcpy(d, fl, sizeof fl);
    put("fuzz_npy", "f4-2x3", f, npy(f, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", d, 24));
    put("fuzz_npy", "f8-big-3", f, npy(f, 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }", d, 24));
    put("fuzz_npy", "u1-fortran-2x2x3", f,
        npy(f, 1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2, 3), }", d, 12));
    put("fuzz_npy", "i8-v2-4", f, npy(f, 2, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", d, 32));
    put("fuzz_npy", "b1-v3-scalar", f, npy(f, 3, "{'descr': '|b1', 'fortran_order': False, 'shape': (), }", d, 1));
    put("fuzz_npy", "i2-big-fortran-3x2", f,
        npy(f, 1, "{'descr': '>i2', 'fortran_order': True, 'shape': (3L, 2L), }", d, 12));
    put("fuzz_npy", "u4-empty", f, npy(f, 1, "{'descr': '<u4', 'fortran_order': False, 'shape': (0, 5), }", d, 0));
}

static void csv_seeds(void)
{
    /* options byte first: see fuzz_csv.c */
    static const char kaggle[] = "\x80label,pixel0,pixel1,pixel2\n1,0,128,255\n0,255,0,3\n9,1,2,3\n";
    put("fuzz_csv", "kaggle", kaggle, sizeof kaggle - 1);
    static const char tabs[] = "\x41\"x\"\t\"y\"\t\"class\"\r\n0.5\t-1e3\t2\r\n\t 1.25 \t\"3\"\t0\r\n";
    put("fuzz_csv", "tabs-quoted-crlf-last", tabs, sizeof tabs - 1);
    static const char plain[] = "\x1d" "1;2;3\n4;5;6\n\n7;8;9";
    put("fuzz_csv", "semicolons-no-labels", plain, sizeof plain - 1);
    static const char nums[] = "\x20" "3,nan,inf,-0.0,12345678901234567890123,1.7976931348623157e308\n"
                               "1,0.1,2e-45,+4,5.,.5\n";
    put("fuzz_csv", "numbers-label-1", nums, sizeof nums - 1);
    /* gzipped Kaggle */
    uint8_t g[512];
    g[0] = 0x80;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
    zs.next_in = (Bytef *)(uintptr_t)(kaggle + 1);
    zs.avail_in = (uInt)(sizeof kaggle - 2);
    zs.next_out = g + 1;
    zs.avail_out = sizeof g - 1;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) exit(1);
    put("fuzz_csv", "kaggle.gz", g, 1 + (sizeof g - 1 - zs.avail_out));
    deflateEnd(&zs);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR (fuzz/corpus)\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    npy_seeds();
    csv_seeds();
    return 0;
}
