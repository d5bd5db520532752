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

#endif
