/*
 * gradcheck_cases.h — the gradient checks `gradflow gradcheck` runs and the
 * tests assert: every differentiable op on several shapes, and the network.
 */
#ifndef GF_GRADCHECK_CASES_H
#define GF_GRADCHECK_CASES_H

#include "gradflow.h"

/* One finished check: the op (or "network"), what was checked, the result. */
typedef void (*gf_gc_report_fn)(void *ctx, const char *op, const char *what,
                                const gf_gradcheck_result *r, const char *error);

/* Runs every case with the given seed; calls report once per check.
 * Returns the number of checks that failed (error above tol, or a run
 * error). */
int gf_gradcheck_all(uint64_t seed, double tol, gf_gc_report_fn report, void *ctx);

/* The op (its name, as gf_node_op gives it) that case i checks; NULL past
 * the last case. Cases of random shapes and the network aside. */
const char *gf_gradcheck_case_op(size_t i);

#endif
