/*
 * test_dispatch.c — which kernel paths a run takes: the widest unit the CPU
 * has, unless GF_NO_AVX512 or GF_NO_SIMD say otherwise. ctest runs the
 * kernel tests once per unit (test_NAME, test_NAME_avx2, test_NAME_portable);
 * this test says which of those runs reach their own unit here, and names
 * the one this CPU cannot run.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/simd.h"

static int env_on(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

static void unit_follows_cpu_and_environment(void **state)
{
    (void)state;
    int avx2 = GF_HAVE_AVX2_KERNELS && gf__cpu_has_avx2_fma(), avx512 = GF_HAVE_AVX512_KERNELS && gf__cpu_has_avx512();
    const char *want = env_on("GF_NO_SIMD") || !avx2 ? "portable" : env_on("GF_NO_AVX512") || !avx512 ? "avx2" : "avx512";
    assert_string_equal(gf__simd_unit(), want);
    assert_int_equal(gf__simd_enabled(), strcmp(want, "portable") != 0);
    assert_int_equal(gf__avx512_enabled(), strcmp(want, "avx512") == 0);
    /* The CPU's extensions as the bench reports them agree. */
    assert_int_equal(strstr(gf__cpu_isa(), "avx512f") != NULL, avx512);
    printf("# kernels: %s on this CPU (%s)\n", gf__simd_unit(), gf__cpu_isa());
    if (!avx512) printf("# AVX-512 paths not run: this CPU lacks avx512f (the default runs use AVX2)\n");
    if (!avx2) printf("# AVX2 paths not run: this CPU lacks AVX2 and FMA\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(unit_follows_cpu_and_environment) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
