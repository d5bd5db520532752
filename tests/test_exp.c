/*
 * test_exp.c — the float32 exp (kernels/exp.c) against double exp, its
 * special values, AVX2 against portable bit for bit, the exp op fused and
 * not; and the fused kernel's broadcast inputs against the unfused ops.
 */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/simd.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t next_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static float bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t float_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float *alloc_f(int64_t n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    assert_non_null(p);
    return p;
}

static int have_avx2(void)
{
    return GF_HAVE_AVX2_KERNELS && gf__cpu_has_avx2_fma();
}

static int have_avx512(void)
{
    return GF_HAVE_AVX512_KERNELS && gf__cpu_has_avx512();
}

/* o [n] = exp(x [n]) by the portable path, checked bit for bit against the
 * AVX2 one (when the CPU has it) and against gf__exp_block. */
static void exp_checked(float *o, const float *x, int64_t n)
{
    gf__exp_block_portable(o, x, n);
    float *v = alloc_f(n);
    if (have_avx2()) {
        gf__exp_block_avx2(v, x, n);
        for (int64_t i = 0; i < n; i++)
            if (float_to_bits(v[i]) != float_to_bits(o[i]))
                fail_msg("exp(%a): AVX2 %a, portable %a", (double)x[i], (double)v[i], (double)o[i]);
    }
#if GF_HAVE_AVX512_KERNELS
    if (have_avx512()) {
        gf__exp_block_avx512(v, x, n);
        for (int64_t i = 0; i < n; i++)
            if (float_to_bits(v[i]) != float_to_bits(o[i]))
                fail_msg("exp(%a): AVX-512 %a, portable %a", (double)x[i], (double)v[i], (double)o[i]);
    }
#endif
    gf__exp_block(v, x, n);
    assert_memory_equal(v, o, (size_t)n * sizeof *o);
    free(v);
}

/* Worst errors seen: in ulps of the result for normal results, in units of
 * the least subnormal (2^-149) for subnormal ones. */
typedef struct errs {
    double normal, subnormal;
    float at_normal, at_subnormal;
    int64_t count;
} errs;

static void measure(errs *e, const float *x, int64_t n)
{
    float *o = alloc_f(n);
    exp_checked(o, x, n);
    for (int64_t i = 0; i < n; i++) {
        double want = exp((double)x[i]), got = isinf(o[i]) ? 0x1p128 : (double)o[i];
        assert_true(o[i] >= 0);
        if (want >= 0x1p128) {
            if (!isinf(o[i])) fail_msg("exp(%a) = %a, want +inf", (double)x[i], (double)o[i]);
        } else if (want >= FLT_MIN) {
            double ulp = ldexp(1.0, ilogb(want) - 23), err = fabs(got - want) / ulp;
            if (err > e->normal) e->normal = err, e->at_normal = x[i];
        } else {
            double err = fabs(got - want) / 0x1p-149;
            if (err > e->subnormal) e->subnormal = err, e->at_subnormal = x[i];
        }
    }
    e->count += n;
    free(o);
}

/* Every float from lo up to hi (same sign), in slices. */
static void measure_range(errs *e, float lo, float hi)
{
    enum { SLICE = 1 << 16 };
    float *x = alloc_f(SLICE);
    int64_t n = 0;
    for (float v = lo; v <= hi; v = nextafterf(v, INFINITY)) {
        x[n++] = v;
        if (n == SLICE) measure(e, x, n), n = 0;
    }
    measure(e, x, n);
    free(x);
}

/* Max error over [-104, 89]: every float of four ranges (near overflow,
 * the subnormal results and their edge, and two slices of ordinary
 * arguments), every 1021st bit pattern of the whole interval, and 10^6
 * uniform random values: 9.9 million in all. Measured (GCC 12, x86-64):
 * 0.973 ulp for normal results (0.990 over a one-off 64 million, every
 * float of [64, 89], [-104, -80], [-1, -0.25], [0.25, 1]), 0.750
 * least-subnormal units for subnormal ones; the limits are 2 and 1. */
static void error_vs_double(void **state)
{
    (void)state;
    errs e = { 0 };
    measure_range(&e, 80.0f, 89.0f);
    measure_range(&e, -104.0f, -86.0f);
    measure_range(&e, 1.0f, 1.125f);
    measure_range(&e, -0.5f, -0.4375f);
    enum { N = 1000000 };
    float *x = alloc_f(N);
    int64_t n = 0;
    const uint32_t tops[2] = { float_to_bits(89.0f), float_to_bits(-104.0f) };
    for (int sign = 0; sign < 2; sign++)
        for (uint32_t b = 0; (b & 0x7fffffffu) <= (tops[sign] & 0x7fffffffu); b += 1021) {
            x[n++] = bits_to_float(b | (uint32_t)sign << 31);
            if (n == N) measure(&e, x, n), n = 0;
        }
    measure(&e, x, n);
    for (int i = 0; i < N; i++) x[i] = (float)(-104.0 + 193.0 * (double)(next_u64() >> 11) * 0x1p-53);
    measure(&e, x, N);
    free(x);
    printf("# exp: %lld values; max error %.3f ulp (normal, at %a), %.3f x 2^-149 (subnormal, at %a); "
           "AVX2 %s; AVX-512 %s\n", (long long)e.count, e.normal, (double)e.at_normal, e.subnormal,
           (double)e.at_subnormal, have_avx2() ? "compared bit for bit" : "not on this CPU (skipped)",
           have_avx512() ? "compared bit for bit" : "not on this CPU (skipped)");
    assert_true(e.normal <= 2.0);
    assert_true(e.subnormal <= 1.0);
}

static void special_values(void **state)
{
    (void)state;
    const float x[] = { INFINITY, -INFINITY, NAN, -NAN, 88.8f, 88.9f, 1e30f, FLT_MAX, -105.0f, -104.0f, -1e30f,
                        -FLT_MAX, 0.0f, -0.0f, FLT_MIN, -FLT_MIN, 0x1p-149f, 1.0f, -1.0f, 88.0f, -87.0f,
                        bits_to_float(0x7fc12345u) };
    enum { N = sizeof x / sizeof x[0] };
    float o[N];
    exp_checked(o, x, N);
    assert_true(isinf(o[0]) && o[0] > 0);
    assert_true(o[1] == 0.0f && !signbit(o[1]));
    assert_true(isnan(o[2]) && isnan(o[3]));
    for (int i = 4; i < 8; i++) assert_true(isinf(o[i]) && o[i] > 0); /* 88.8 and up: +inf */
    for (int i = 8; i < 12; i++) assert_true(o[i] == 0.0f && !signbit(o[i]));
    for (int i = 12; i < 17; i++) assert_true(o[i] == 1.0f); /* exactly 1 near 0 */
    assert_true(fabs(o[17] - M_E) <= 0x1p-22 && fabs(o[18] - 1 / M_E) <= 0x1p-24);
    assert_true(isfinite(o[19]) && o[20] >= FLT_MIN);
    assert_int_equal(float_to_bits(o[21]), 0x7fc12345u); /* a NaN comes back as it was */
}

/* Every length 0 .. 40 (the AVX2 tail), unaligned, and in place. */
static void lengths_and_in_place(void **state)
{
    (void)state;
    float x[48], want[48], got[48];
    for (int i = 0; i < 48; i++) x[i] = (float)(i * 2.5 - 50.0);
    gf__exp_block_portable(want, x, 48);
    for (int n = 0; n <= 40; n++)
        for (int off = 0; off < 3; off++) {
            memset(got, 0xff, sizeof got);
            gf__exp_block(got + off, x + off, n);
            assert_memory_equal(got + off, want + off, (size_t)n * sizeof *got);
            if (off + n < 48) assert_int_equal(float_to_bits(got[off + n]), 0xffffffffu); /* nothing past n */
            memcpy(got, x, sizeof got);
            gf__exp_block(got + off, got + off, n);
            assert_memory_equal(got + off, want + off, (size_t)n * sizeof *got);
        }
}

/* FNV-1a of the results on a fixed set of inputs: pins the exact bits, so
 * a compiler that fused a multiply and an add (or any change to the
 * algorithm) shows here, on any CPU, SIMD or not. */
static void bits_are_pinned(void **state)
{
    (void)state;
    enum { N = 1 << 16 };
    float *x = alloc_f(N), *o = alloc_f(N);
    rng_state = 12345;
    for (int i = 0; i < N; i++) x[i] = (float)(-104.0 + 193.0 * (double)(next_u64() >> 11) * 0x1p-53);
    exp_checked(o, x, N);
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < N; i++) {
        h ^= float_to_bits(o[i]);
        h *= 0x100000001b3ull;
    }
    printf("# exp: hash %016llx\n", (unsigned long long)h);
    assert_true(h == 0x08f6a140d448fcc4ull);
    free(x);
    free(o);
}

/* The exp op gives gf__exp_block's bits, as a lone op and fused into
 * 1/(1+exp(-x)) (fusion on and off). */
static void exp_op_fused_and_not(void **state)
{
    (void)state;
    enum { R = 7, C = 45 };
    float xv[R * C], want[R * C];
    for (int i = 0; i < R * C; i++) xv[i] = (float)((int)(next_u64() % 20000) - 10000) / 97.0f;
    gf__exp_block(want, xv, R * C);
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, R, C));
    gf_node *e = gf_exp(x);
    gf_node *sig = gf_div(gf_scalar(g, 1.0f), gf_add(gf_scalar(g, 1.0f), gf_exp(gf_neg(x))));
    gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(2, R, C), xv, NULL);
    gf_feed f = { x, t };
    float sigs[2][R * C];
    for (int k = 0; k < 2; k++) {
        gf_session *s = gf_session_new(g, &(gf_session_options){ .disable = k ? GF_NO_FUSE : 0 });
        assert_memory_equal(gf_tensor_data(gf_test_run1(s, &f, 1, e)), want, sizeof want);
        memcpy(sigs[k], gf_tensor_data(gf_test_run1(s, &f, 1, sig)), sizeof sigs[k]);
        gf_session_free(s);
    }
    assert_memory_equal(sigs[0], sigs[1], sizeof sigs[0]);
    gf_tensor_free(t);
    gf_graph_free(g);
}

/* The fused kernel's broadcast inputs: z = (x*u + v) / (1 + exp(w - x))
 * with u, v, w broadcast to x's shape in every way (rows, columns, scalars,
 * inner and outer dims), outputs long enough to span several 256-element
 * blocks whose edges fall mid-row; fused and unfused agree bit for bit. */
static void fused_broadcast_inputs(void **state)
{
    (void)state;
    static const struct { int rank; int64_t x[4], u[4], v[4], w[4]; } cases[] = {
        { 2, { 10, 30 }, { 1, 30 }, { 10, 1 }, { 1, 1 } },
        { 2, { 37, 19 }, { 19 }, { 37, 1 }, { 1, 19 } },
        { 3, { 5, 7, 11 }, { 7, 1 }, { 5, 1, 11 }, { 5, 7, 1 } },
        { 4, { 3, 4, 5, 6 }, { 4, 1, 6 }, { 3, 1, 5, 1 }, { 1, 4, 5, 6 } },
        { 4, { 2, 3, 50, 1 }, { 1, 3, 1, 1 }, { 2, 1, 50, 1 }, { 50, 1 } },
        { 2, { 3, 700 }, { 700 }, { 3, 1 }, { 1 } },
        { 1, { 1000 }, { 1 }, { 1000 }, { 1 } },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int rank = cases[c].rank;
        gf_shape sx = { .rank = rank }, su = { 0 }, sv = { 0 }, sw = { 0 };
        const int64_t *dims[3] = { cases[c].u, cases[c].v, cases[c].w };
        gf_shape *sh[3] = { &su, &sv, &sw };
        for (int k = 0; k < rank; k++) sx.dim[k] = cases[c].x[k];
        for (int j = 0; j < 3; j++) {
            int r = 0;
            while (r < 4 && dims[j][r]) r++;
            sh[j]->rank = r;
            for (int k = 0; k < r; k++) sh[j]->dim[k] = dims[j][k];
        }
        gf_graph *g = gf_graph_new();
        gf_node *ph[4];
        gf_tensor *t[4];
        gf_feed f[4];
        const gf_shape shapes[4] = { sx, su, sv, sw };
        for (int j = 0; j < 4; j++) {
            char name[8];
            snprintf(name, sizeof name, "in%d", j);
            ph[j] = gf_placeholder(g, name, GF_F32, shapes[j]);
            t[j] = gf_tensor_new(GF_F32, shapes[j], NULL);
            float *p = gf_tensor_data(t[j]);
            for (int64_t i = 0; i < gf_tensor_count(t[j]); i++) p[i] = (float)((int)(next_u64() % 2001) - 1000) / 250.0f;
            f[j] = (gf_feed){ ph[j], t[j] };
        }
        gf_node *num = gf_add(gf_mul(ph[0], ph[1]), ph[2]);
        gf_node *z = gf_div(num, gf_add(gf_scalar(g, 1.0f), gf_exp(gf_sub(ph[3], ph[0]))));
        const gf_tensor *out[2];
        gf_session *s[2];
        for (int k = 0; k < 2; k++) {
            s[k] = gf_session_new(g, &(gf_session_options){ .disable = k ? GF_NO_FUSE : 0 });
            gf_plan_stats st;
            assert_int_equal(gf_session_plan_stats(s[k], f, 4, &z, 1, NULL, 0, &st), GF_OK);
            assert_int_equal(st.fused, k ? 0 : 1);
            out[k] = gf_test_run1(s[k], f, 4, z);
        }
        assert_int_equal(gf_tensor_count(out[0]), gf_tensor_count(out[1]));
        assert_int_equal(gf_tensor_count(out[0]), gf_tensor_count(t[0]));
        if (memcmp(gf_tensor_data(out[0]), gf_tensor_data(out[1]), (size_t)gf_tensor_count(out[0]) * sizeof(float)))
            fail_msg("case %zu: fused and unfused differ", c);
        for (int k = 0; k < 2; k++) gf_session_free(s[k]);
        for (int j = 0; j < 4; j++) gf_tensor_free(t[j]);
        gf_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_vs_double),
        cmocka_unit_test(special_values),
        cmocka_unit_test(lengths_and_in_place),
        cmocka_unit_test(bits_are_pinned),
        cmocka_unit_test(exp_op_fused_and_not),
        cmocka_unit_test(fused_broadcast_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
