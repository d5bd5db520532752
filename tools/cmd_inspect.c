/*
 * cmd_inspect.c — `gradflow inspect FILE`: what a model file or a
 * checkpoint holds: the signature, the ops, and every tensor (variable)
 * with its shape, size and a few statistics, as TensorFlow's
 * inspect_checkpoint lists them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_cli.h"
#include "cli.h"
#include "model_cli.h"
#include "opts.h"

static const char inspect_intro[] =
    "Lists what FILE holds, after checking it whole: for a model file (what\n"
    "'gradflow train --save' and gf_model_save write), its signature (each\n"
    "input and output: key, node, op, dtype and shape), how many nodes of each\n"
    "op its graph has, and its variables; for a checkpoint of an older gradflow\n"
    "(variables only), its tensors. Each tensor is listed with its shape, its\n"
    "number of values and bytes, and its smallest, largest and mean value and\n"
    "standard deviation (and how many values are NaN or infinite, if any).\n";

static const char inspect_epilog[] =
    "Exit status: 0 success; 1 failure (FILE unreadable, damaged or truncated);\n"
    "2 usage error.\n";

typedef struct stats {
    double min, max, mean, std;
    int64_t nonfinite;
} stats;

static stats stats_of(const gf_tensor *t)
{
    stats s = { 0, 0, 0, 0, 0 };
    const float *p = gf_tensor_data(t);
    int64_t n = gf_tensor_count(t), k = 0;
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = p[i];
        if (!isfinite(v)) {
            s.nonfinite++;
            continue;
        }
        if (k == 0 || v < s.min) s.min = v;
        if (k == 0 || v > s.max) s.max = v;
        sum += v;
        k++;
    }
    if (k) s.mean = sum / (double)k;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(p[i])) sq += ((double)p[i] - s.mean) * ((double)p[i] - s.mean);
    if (k) s.std = sqrt(sq / (double)k);
    return s;
}

static void json_shape(gf_shape s)
{
    printf("[");
    for (int i = 0; i < s.rank; i++) printf("%s%lld", i ? "," : "", (long long)s.dim[i]);
    printf("]");
}

/* One tensor: a table row, or a JSON object. */
static void print_tensor(int json, int first, gf_node *v, const gf_tensor *t)
{
    stats st = stats_of(t);
    int64_t n = gf_tensor_count(t);
    char shape[64];
    gf_shape_format(gf_tensor_shape(t), shape, sizeof shape);
    if (json) {
        printf("%s{\"name\":", first ? "" : ",");
        gf_cli_json_string(stdout, gf_node_name(v));
        printf(",\"dtype\":\"%s\",\"shape\":", gf_dtype_name(gf_tensor_dtype(t)));
        json_shape(gf_tensor_shape(t));
        printf(",\"values\":%lld,\"bytes\":%lld,\"min\":%.9g,\"max\":%.9g,\"mean\":%.9g,\"std\":%.9g,"
               "\"nonfinite\":%lld}",
               (long long)n, (long long)(4 * n), st.min, st.max, st.mean, st.std, (long long)st.nonfinite);
        return;
    }
    printf("  %-24s %-16s %10lld %11lld  %11.4g %11.4g %11.4g %11.4g", gf_node_name(v), shape, (long long)n,
           (long long)(4 * n), st.min, st.max, st.mean, st.std);
    if (st.nonfinite) printf("  (%lld NaN or infinite)", (long long)st.nonfinite);
    printf("\n");
}

/* Every variable of g with its value in s. */
static void print_tensors(int json, gf_graph *g, gf_session *s)
{
    int64_t count = 0, values = 0;
    for (int i = 0; i < gf_graph_node_count(g); i++) {
        gf_node *v = gf_graph_node(g, i);
        if (strcmp(gf_node_op(v), "variable")) continue;
        count++;
        values += gf_shape_count(gf_node_shape(v));
    }
    if (json) {
        printf(",\"tensors\":[");
    } else {
        printf("\n%s (%lld, %lld values, %lld bytes):\n", "tensors", (long long)count, (long long)values,
               (long long)(4 * values));
        printf("  %-24s %-16s %10s %11s  %11s %11s %11s %11s\n", "name", "shape", "values", "bytes", "min", "max",
               "mean", "std");
    }
    int first = 1;
    for (int i = 0; i < gf_graph_node_count(g); i++) {
        gf_node *v = gf_graph_node(g, i);
        if (strcmp(gf_node_op(v), "variable")) continue;
        const gf_tensor *t = gf_session_variable(s, v);
        if (!t) continue;
        print_tensor(json, first, v, t);
        first = 0;
    }
    if (json) printf("]");
}

static void print_entries(int json, const char *what, const gf_signature_entry *e, int n)
{
    if (json) printf(",\"%ss\":[", what);
    for (int i = 0; i < n; i++) {
        gf_node *x = e[i].node;
        char shape[64];
        gf_shape_format(gf_node_shape(x), shape, sizeof shape);
        if (json) {
            printf("%s{\"key\":", i ? "," : "");
            gf_cli_json_string(stdout, e[i].key);
            printf(",\"node\":");
            gf_cli_json_string(stdout, gf_node_name(x));
            printf(",\"op\":\"%s\",\"dtype\":\"%s\",\"shape\":", gf_node_op(x), gf_dtype_name(gf_node_dtype(x)));
            json_shape(gf_node_shape(x));
            printf("}");
        } else {
            printf("  %-6s %-12s %-20s %-16s %-7s %s\n", what, e[i].key, gf_node_name(x), gf_node_op(x),
                   gf_dtype_name(gf_node_dtype(x)), shape);
        }
    }
    if (json) printf("]");
}

/* How many nodes of each op, in the order ops first appear. */
static void print_ops(int json, gf_graph *g)
{
    int n = gf_graph_node_count(g), shown = 0;
    if (json) printf(",\"ops\":{");
    else printf("\nops:");
    for (int i = 0; i < n; i++) {
        const char *op = gf_node_op(gf_graph_node(g, i));
        int seen = 0, count = 0;
        for (int j = 0; j < i && !seen; j++) seen = !strcmp(op, gf_node_op(gf_graph_node(g, j)));
        if (seen) continue;
        for (int j = i; j < n; j++) count += !strcmp(op, gf_node_op(gf_graph_node(g, j)));
        if (json) printf("%s\"%s\":%d", shown ? "," : "", op, count);
        else printf("%s %s %d", shown ? "," : "", op, count);
        shown++;
    }
    printf(json ? "}" : "\n");
}

int gf_cli_inspect(int argc, char **argv)
{
    int json = 0;
    gf_opt opts[] = {
        GF_OPT_F("--json",
                 "print one JSON object: {\"file\":FILE,\"format\":\"model\" or\n"
                 "\"checkpoint\",\"nodes\":N (model files),\"inputs\":[...],\n"
                 "\"outputs\":[...],\"ops\":{...},\"tensors\":[{\"name\",\"dtype\",\n"
                 "\"shape\",\"values\",\"bytes\",\"min\",\"max\",\"mean\",\"std\",\n"
                 "\"nonfinite\"}...]}",
                 &json),
    };
    gf_cmd_spec spec = { "inspect", "gradflow inspect FILE [--json]", inspect_intro, inspect_epilog, opts,
                         GF_OPTS_N(opts) };
    const char *file;
    int parsed = gf_opts_parse_file(&spec, argc, argv, &file);
    if (parsed != GF_OPTS_CONTINUE) return parsed;
    if (!file) return gf_opts_usage_error(&spec, "missing the FILE to inspect (usage: gradflow inspect FILE [--json])");

    gf_model *m = NULL;
    gf_graph *g = NULL;
    gf_session *s = NULL;
    if (gf_cli_file_kind_of(file) == GF_CLI_CHECKPOINT) {
        if (!gf_cli_ckpt_open_plain("inspect", file, &g, &s)) {
            gf_session_free(s);
            gf_graph_free(g);
            return GF_EXIT_FAIL;
        }
    } else {
        gf_error err;
        if (!(m = gf_model_load(file, NULL, &err))) {
            fprintf(stderr, "gradflow inspect: %s\n", err.message);
            return GF_EXIT_FAIL;
        }
        g = gf_model_graph(m);
        s = gf_model_session(m);
    }
    if (json) {
        printf("{\"file\":");
        gf_cli_json_string(stdout, file);
        printf(",\"format\":\"%s\"", m ? "model" : "checkpoint");
    } else {
        printf("%s: %s\n", m ? "model file" : "checkpoint", file);
    }
    if (m) {
        const gf_signature *sig = gf_model_signature(m);
        if (json) {
            printf(",\"nodes\":%d", gf_graph_node_count(g));
        } else {
            printf("graph: %d nodes\n\nsignature:\n", gf_graph_node_count(g));
            if (!sig->n_inputs && !sig->n_outputs) printf("  (no entries)\n");
        }
        print_entries(json, "input", sig->inputs, sig->n_inputs);
        print_entries(json, "output", sig->outputs, sig->n_outputs);
        print_ops(json, g);
    }
    print_tensors(json, g, s);
    if (json) printf("}\n");
    if (m) {
        gf_model_free(m);
    } else {
        gf_session_free(s);
        gf_graph_free(g);
    }
    return GF_EXIT_OK;
}
