/*
 * session.h — what the rest of the library asks of a session (session.c):
 * its message, its graph, its variables. The planner never includes it:
 * the session hands a plan what a run needs (plan/plan.h).
 */
#ifndef GF_SESSION_H
#define GF_SESSION_H

#include "internal.h"

/* Sets the session's message; returns code. */
gf_status gf__session_fail(gf_session *s, gf_status code, const char *fmt, ...) GF_PRINTF(3, 4);
/* Gives every variable of s that has none a value: GF_OK, or the failure's
 * code with its message on s. */
gf_status gf__session_init_variables(gf_session *s);

gf_graph *gf__session_graph(const gf_session *s);
gf_tensor *gf__session_var(gf_session *s, int var_index);
/* Sets or clears the bit that says a variable holds only finite numbers
 * (GF_VAR_FINITE, plan/plan.h): a write the session cannot vouch for
 * clears it. */
void gf__session_set_var_finite(gf_session *s, int var_index, bool finite);

/* What a model file keeps of a session (io/model_save.c, io/model_load.c):
 * its seed, and the random stream of every random node (by node id; *n
 * gets how many, streams beyond the last random node are not made). Made
 * for every random node of the graph first: NULL with GF_ERR_NOMEM's
 * message on s when that fails. */
uint64_t gf__session_seed(const gf_session *s);
gf_rng *gf__session_streams(gf_session *s, int *n);

/* A session on g whose variables take the given values instead of running
 * their initializers: values[k] holds gf_shape_count floats for the
 * variable of var_index k (copied). As gf_session_new otherwise (NULL only
 * when out of memory; else check gf_session_status). */
gf_session *gf__session_new_restored(gf_graph *g, const gf_session_options *opt, const float *const *values);

#endif
