/*
 * pixels.c — bytes to floats in [0,1], exactly (float)b / 255.0f: how the
 * IDX datasets turn the pixels they keep as bytes into a batch (portable C,
 * AVX2 and AVX-512, chosen at run time; all give the same bits).
 */
/* The SIMD paths do not divide (a 512-bit division costs as much as the
 * rest of a batch's conversion); they multiply by 1/255 split in two
 * floats, c = 1/255 rounded and lo = 1/255 - c rounded, with one rounding:
 *   q = fma(x, c, x * lo)
 * x * c is exact inside the FMA and x * lo is off by at most 2^-24 of
 * itself, so q is x / 255 to about 2^-48, while x / 255 (a fraction with
 * denominator 255) is never within 2^-32 of a point halfway between two
 * floats unless it is a float itself: q is the correctly rounded x / 255.
 * (x * c alone is off by one ulp for 126 of the 256 bytes.) Only 256
 * inputs exist, so tests/test_dataset_bytes.c checks every one on every
 * path, bit for bit. Tails shorter than a vector are done by the portable
 * loop. */
#include "data/data.h"
#include "kernels/simd.h"

#if GF_HAVE_AVX2_KERNELS
#include <immintrin.h>

#define UNIT_C 0x1.010102p-8f   /* 1/255 rounded to a float */
#define UNIT_LO -0x1.fdfdfep-33f /* 1/255 - UNIT_C, rounded */
#endif

void gf__unit_floats_portable(float *o, const uint8_t *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++) o[i] = (float)p[i] / 255.0f;
}

#if GF_HAVE_AVX2_KERNELS
__attribute__((target("avx2,fma"))) void gf__unit_floats_avx2(float *o, const uint8_t *p, int64_t n)
{
    const __m256 c = _mm256_set1_ps(UNIT_C), lo = _mm256_set1_ps(UNIT_LO);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(p + i));
        __m256 x = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
        _mm256_storeu_ps(o + i, _mm256_fmadd_ps(x, c, _mm256_mul_ps(x, lo)));
    }
    gf__unit_floats_portable(o + i, p + i, n - i);
}

__attribute__((target("avx512f,avx2,fma"))) void gf__unit_floats_avx512(float *o, const uint8_t *p,
                                                                         int64_t n)
{
    const __m512 c = _mm512_set1_ps(UNIT_C), lo = _mm512_set1_ps(UNIT_LO);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m512 x = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));
        _mm512_storeu_ps(o + i, _mm512_fmadd_ps(x, c, _mm512_mul_ps(x, lo)));
    }
    gf__unit_floats_avx2(o + i, p + i, n - i);
}
#endif

gf__unit_floats_fn gf__unit_floats_pick(void)
{
#if GF_HAVE_AVX2_KERNELS
    if (gf__avx512_enabled()) return gf__unit_floats_avx512;
    if (gf__simd_enabled()) return gf__unit_floats_avx2;
#endif
    return gf__unit_floats_portable;
}
