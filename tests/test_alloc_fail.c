/*
 * test_alloc_fail.c — fails the N-th allocation, for every N, while building
 * the article's graphs, planning, running steps (accumulated micro-batches
 * too) and evaluating, and while
 * saving and restoring checkpoints, and while reading .npy, CSV and IDX
 * files into datasets: every path must report an error or finish
 * correctly, and free what it took (LSan).
 */
#include "testutil.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "article.h"


/* One step of kind 2: the data-parallel manual step, its batch of 10 in
 * two micro-batches of 5 (gf_session_accumulate, then the run). */
static gf_status accumulated_step(const gf_article_net *net, gf_session *s, gf_tensor *x, gf_tensor *y)
{
    gf_status st = GF_OK;
    for (int k = 0; k < 2 && st == GF_OK; k++) {
        gf_tensor *hx = gf_tensor_wrap(GF_F32, gf_dims(2, 5, 784), gf_tensor_data(x) + k * 5 * 784, NULL);
        gf_tensor *hy = gf_tensor_wrap(GF_F32, gf_dims(2, 5, 10), gf_tensor_data(y) + k * 5 * 10, NULL);
        gf_feed half[2] = { { net->a_0, hx }, { net->y, hy } };
        if (!hx || !hy) st = GF_ERR_NOMEM;
        else if (k == 0) st = gf_session_accumulate(s, half, 2, net->step, net->n_step);
        else st = gf_session_run(s, half, 2, NULL, 0, net->step, net->n_step, NULL);
        gf_tensor_free(hx);
        gf_tensor_free(hy);
    }
    return st;
}

/* Builds, plans and runs one net (kind 0: the manual step, 1: autodiff,
 * 2: the manual step with all-reduce nodes, accumulating two
 * micro-batches); returns GF_OK or the first error. The final b_2 goes to
 * out (10 floats) when everything succeeded. */
static gf_status scenario(int kind, float *out)
{
    gf_article_net net = { 0 };
    gf_status st = kind == 2 ? gf_article_build_manual_dp(&net, 784, 30, 10, 0.5f)
                   : kind    ? gf_article_build_autodiff(&net, 30, 0.1f)
                             : gf_article_build_manual(&net, 30, 0.5f);
    gf_session *s = NULL;
    gf_tensor *x = NULL, *y = NULL;
    if (st != GF_OK) goto done;
    if (!(s = gf_session_new(net.g, &(gf_session_options){ .seed = 2 }))) {
        st = GF_ERR_NOMEM;
        goto done;
    }
    if ((st = gf_session_status(s)) != GF_OK) goto done;
    x = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL);
    y = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
    if (!x || !y) {
        st = GF_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < 10 * 784; i++) gf_tensor_data(x)[i] = (float)(i % 7) / 7.0f;
    for (int i = 0; i < 10; i++) gf_tensor_data(y)[i * 10 + i % 10] = 1.0f;
    gf_feed feed[2] = { { net.a_0, x }, { net.y, y } };
    for (int step = 0; step < 3 && st == GF_OK; step++) {
        st = kind == 2 ? accumulated_step(&net, s, x, y) : gf_session_run(s, feed, 2, NULL, 0, net.step, net.n_step, NULL);
        const gf_tensor *res;
        if (st == GF_OK) st = gf_session_run(s, feed, 2, &net.acct_res, 1, NULL, 0, &res);
        if (st == GF_OK && !(gf_tensor_data(res)[0] >= 0 && gf_tensor_data(res)[0] <= 10)) st = GF_ERR_STATE;
    }
    if (st == GF_OK) {
        const gf_tensor *b = gf_session_variable(s, net.b_2);
        if (!b) st = GF_ERR_STATE;
        else memcpy(out, gf_tensor_data(b), 10 * sizeof(float));
    }
done:
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_session_free(s);
    gf_graph_free(net.g);
    return st;
}

static void every_allocation_can_fail(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        float want[10], got[10];
        assert_int_equal(scenario(kind, want), GF_OK); /* the reference run */
        gf_set_allocator(&gf_test_fail_allocator);
        gf_fail.armed = true;
        long n_errors = 0, n_points = 0;
        for (gf_fail.at = 1;; gf_fail.at++) {
            gf_fail.calls = 0;
            gf_fail.failed = false;
            gf_status st = scenario(kind, got);
            if (!gf_fail.failed) break; /* ran past the last allocation */
            n_points++;
            if (st != GF_OK) {
                n_errors++;
            } else if (memcmp(got, want, sizeof want)) {
                /* an allocation that is only an optimisation may fail
                 * silently, but then the results must not change */
                gf_fail.armed = false;
                gf_set_allocator(NULL);
                fail_msg("allocation %ld failed silently and changed the result", gf_fail.at);
            }
        }
        gf_fail.armed = false;
        gf_set_allocator(NULL);
        print_message("%s: %ld allocation points, %ld reported an error\n",
                      kind == 2 ? "manual, accumulating" : kind ? "autodiff" : "manual", n_points, n_errors);
        assert_true(n_points > 50);
        assert_true(n_errors > n_points / 2);
    }
}

/* ---- saving and restoring checkpoints ---- */

/* An article net (kind 0: the manual step, 1: autodiff) and a session. */
typedef struct rig {
    gf_article_net net;
    gf_session *s;
} rig;

static void rig_free(rig *r)
{
    gf_session_free(r->s);
    gf_graph_free(r->net.g);
    memset(r, 0, sizeof *r);
}

/* Builds the net, starts a session with seed and runs `steps` training
 * steps; with late, then adds a variable "late" to the graph, which the
 * session initialises on first use (a save or restore does it first).
 * GF_OK or the first error; what was made is in r either way. */
static gf_status rig_make(rig *r, int kind, uint64_t seed, int steps, bool late)
{
    memset(r, 0, sizeof *r);
    gf_status st = kind ? gf_article_build_autodiff(&r->net, 30, 0.1f) : gf_article_build_manual(&r->net, 30, 0.5f);
    if (st != GF_OK) return st;
    if (!(r->s = gf_session_new(r->net.g, &(gf_session_options){ .seed = seed }))) return GF_ERR_NOMEM;
    if ((st = gf_session_status(r->s)) != GF_OK) return st;
    if (steps > 0) {
        gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL);
        gf_tensor *y = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
        if (!x || !y) {
            st = GF_ERR_NOMEM;
        } else {
            for (int i = 0; i < 10 * 784; i++) gf_tensor_data(x)[i] = (float)(i % 5) / 5.0f;
            for (int i = 0; i < 10; i++) gf_tensor_data(y)[i * 10 + (i * 3) % 10] = 1.0f;
            gf_feed feed[2] = { { r->net.a_0, x }, { r->net.y, y } };
            for (int i = 0; i < steps && st == GF_OK; i++)
                st = gf_session_run(r->s, feed, 2, NULL, 0, r->net.step, r->net.n_step, NULL);
        }
        gf_tensor_free(x);
        gf_tensor_free(y);
        if (st != GF_OK) return st;
    }
    if (late) {
        gf_variable(r->net.g, "late", gf_truncated_normal(r->net.g, gf_dims(2, 3, 4), 0, 1));
        st = gf_graph_status(r->net.g);
    }
    return st;
}

/* Every variable's value in s (graph order), as one malloc'ed array of *n
 * floats. Fails the test when a variable has no value. */
static float *snapshot(gf_session *s, gf_graph *g, int64_t *n)
{
    int64_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        float *v = pass ? malloc((size_t)total * sizeof *v + 1) : NULL;
        int64_t at = 0;
        if (pass) assert_non_null(v);
        for (int i = 0; i < gf_graph_node_count(g); i++) {
            gf_node *node = gf_graph_node(g, i);
            if (strcmp(gf_node_op(node), "variable") != 0) continue;
            const gf_tensor *t = gf_session_variable(s, node);
            if (!t) fail_msg("variable \"%s\": %s", gf_node_name(node), gf_session_error(s));
            int64_t k = gf_tensor_count(t);
            if (pass && k) memcpy(v + at, gf_tensor_data(t), (size_t)k * sizeof *v);
            at += k;
        }
        if (pass) {
            *n = at;
            return v;
        }
        total = at;
    }
    return NULL;
}

/* Whether every variable of s holds want (n floats), bit for bit. */
static bool holds(gf_session *s, gf_graph *g, const float *want, int64_t n)
{
    int64_t m;
    float *v = snapshot(s, g, &m);
    bool same = m == n && memcmp(v, want, (size_t)n * sizeof *v) == 0;
    free(v);
    return same;
}

static void spit(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static bool same_bytes(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
    return a && b && na == nb && memcmp(a, b, na) == 0;
}

/* Whether dir holds a file whose name starts with '.' (a save's temporary
 * file, ".NAME.tmp-XXXXXX", left behind). */
static bool stray_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool stray = false;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            stray = true;
    closedir(d);
    return stray;
}

/* What the sweeps compare against, for one kind of net; all made with the
 * allocator unarmed. Sessions of seed 2 after 1 or 2 steps, without or with
 * the late variable (1, 1l, 2, 2l), and a fresh session of seed 3 (0). */
typedef struct refs {
    char *dir, *r_path, *rl_path;  /* checkpoints of 1 and 1l */
    unsigned char *b1, *b2, *b2l;  /* the bytes that 1, 2 and 2l save */
    size_t n_b1, n_b2, n_b2l;
    float *v1, *v1l, *v2, *v2l, *v0;
    int64_t n_v1, n_v1l, n_v2, n_v2l, n_v0;
} refs;

static void refs_make(refs *f, int kind)
{
    rig r;
    memset(f, 0, sizeof *f);
    f->dir = gf_test_tmpdir();
    f->r_path = gf_test_path(f->dir, "r.gf");
    f->rl_path = gf_test_path(f->dir, "rl.gf");
    char *scratch = gf_test_path(f->dir, "scratch.gf");

    assert_int_equal(rig_make(&r, kind, 2, 1, false), GF_OK);
    assert_int_equal(gf_session_save(r.s, f->r_path), GF_OK);
    f->v1 = snapshot(r.s, r.net.g, &f->n_v1);
    assert_non_null(f->b1 = gf_test_read_file(f->r_path, &f->n_b1));
    rig_free(&r);

    assert_int_equal(rig_make(&r, kind, 2, 1, true), GF_OK);
    assert_int_equal(gf_session_save(r.s, f->rl_path), GF_OK);
    f->v1l = snapshot(r.s, r.net.g, &f->n_v1l);
    rig_free(&r);

    assert_int_equal(rig_make(&r, kind, 2, 2, false), GF_OK);
    assert_int_equal(gf_session_save(r.s, scratch), GF_OK);
    f->v2 = snapshot(r.s, r.net.g, &f->n_v2);
    assert_non_null(f->b2 = gf_test_read_file(scratch, &f->n_b2));
    rig_free(&r);

    assert_int_equal(rig_make(&r, kind, 2, 2, true), GF_OK);
    assert_int_equal(gf_session_save(r.s, scratch), GF_OK);
    f->v2l = snapshot(r.s, r.net.g, &f->n_v2l);
    assert_non_null(f->b2l = gf_test_read_file(scratch, &f->n_b2l));
    rig_free(&r);

    assert_int_equal(rig_make(&r, kind, 3, 0, false), GF_OK);
    f->v0 = snapshot(r.s, r.net.g, &f->n_v0);
    rig_free(&r);

    assert_int_equal(unlink(scratch), 0);
    free(scratch);
    /* The values differ, so that "unchanged" and "restored" can be told apart. */
    assert_true(f->n_v1 == f->n_v2 && f->n_v1 == f->n_v0 && f->n_v1l == f->n_v2l && f->n_v1l > f->n_v1);
    assert_true(memcmp(f->v1, f->v2, (size_t)f->n_v1 * sizeof(float)) != 0);
    assert_true(memcmp(f->v1, f->v0, (size_t)f->n_v1 * sizeof(float)) != 0);
    assert_true(memcmp(f->v1l, f->v2l, (size_t)f->n_v1l * sizeof(float)) != 0);
    assert_false(same_bytes(f->b1, f->n_b1, f->b2, f->n_b2));
}

static void refs_free(refs *f)
{
    free(f->r_path);
    free(f->rl_path);
    free(f->b1);
    free(f->b2);
    free(f->b2l);
    free(f->v1);
    free(f->v1l);
    free(f->v2);
    free(f->v2l);
    free(f->v0);
    gf_test_rmdir(f->dir);
}

typedef struct tally {
    long points;  /* failed allocations inside the call swept */
    long errors;  /* of which the call reported (always GF_ERR_NOMEM) */
    long others;  /* failed allocations before it (building, starting) */
} tally;

/* Fails the N-th allocation inside gf_session_save, for every N, from a
 * session after 2 steps. Without late: over the checkpoint of 1 (mode
 * 0640), which must stay as it was, byte for byte, when the save fails, and
 * still restore to 1's values. With late: to a new path, where nothing may
 * appear when it fails; the save must first initialise the late variable. */
static void sweep_save(int kind, const refs *f, bool late, tally *t)
{
    char *path = gf_test_path(f->dir, late ? "new.gf" : "over.gf");
    const unsigned char *want = late ? f->b2l : f->b2;
    size_t n_want = late ? f->n_b2l : f->n_b2;
    rig check; /* restores what a failed save left, to read its values */
    assert_int_equal(rig_make(&check, kind, 5, 0, false), GF_OK);
    for (gf_fail.at = 1;; gf_fail.at++) {
        rig r;
        assert_int_equal(rig_make(&r, kind, 2, 2, late), GF_OK);
        if (late) {
            unlink(path);
        } else {
            spit(path, f->b1, f->n_b1);
            assert_int_equal(chmod(path, 0640), 0);
        }
        gf_fail.calls = 0;
        gf_fail.failed = false;
        gf_fail.armed = true;
        gf_status st = gf_session_save(r.s, path);
        gf_fail.armed = false;
        size_t n_got = 0;
        unsigned char *got = gf_test_read_file(path, &n_got);
        struct stat sb;
        if (!gf_fail.failed) { /* ran past the last allocation */
            if (st != GF_OK) fail_msg("save with no allocation failing: %s", gf_session_error(r.s));
            assert_true(same_bytes(got, n_got, want, n_want));
            free(got);
            rig_free(&r);
            break;
        }
        t->points++;
        if (st == GF_OK) { /* an allocation that is only an optimisation */
            if (!same_bytes(got, n_got, want, n_want))
                fail_msg("save: allocation %ld failed silently and the file is wrong", gf_fail.at);
        } else {
            t->errors++;
            const char *msg = gf_session_error(r.s);
            if (st != GF_ERR_NOMEM)
                fail_msg("save: allocation %ld failed: %s \"%s\", expected %s", gf_fail.at, gf_status_string(st),
                         msg, gf_status_string(GF_ERR_NOMEM));
            if (!strstr(msg, path) || !strstr(msg, "out of memory"))
                fail_msg("save: allocation %ld failed: the message \"%s\" should name the path and the "
                         "memory", gf_fail.at, msg);
            assert_int_equal(gf_session_status(r.s), GF_OK); /* not sticky */
            if (late) {
                if (got) fail_msg("save: allocation %ld failed, yet %s exists", gf_fail.at, path);
            } else {
                if (!same_bytes(got, n_got, f->b1, f->n_b1))
                    fail_msg("save: allocation %ld failed and the previous file changed", gf_fail.at);
                assert_int_equal(stat(path, &sb), 0);
                assert_int_equal(sb.st_mode & 07777, 0640);
                assert_int_equal(gf_session_restore(check.s, path), GF_OK);
                assert_true(holds(check.s, check.net.g, f->v1, f->n_v1));
            }
            /* The session is still fine: the same save now succeeds. */
            free(got);
            assert_int_equal(gf_session_save(r.s, path), GF_OK);
            assert_string_equal(gf_session_error(r.s), "");
            got = gf_test_read_file(path, &n_got);
            assert_true(same_bytes(got, n_got, want, n_want));
        }
        if (!late) {
            assert_int_equal(stat(path, &sb), 0);
            assert_int_equal(sb.st_mode & 07777, 0640);
        }
        if (stray_files(f->dir)) fail_msg("save: allocation %ld failed: a temporary file is left", gf_fail.at);
        free(got);
        rig_free(&r);
    }
    rig_free(&check);
    unlink(path);
    free(path);
}

/* Fails the N-th allocation, for every N, around gf_session_restore of the
 * checkpoint of 1 (1l for mode 2). Mode 0: into a new session of a graph
 * built the same way, allocations failing while it is built and started
 * too; 1: into the same session after 2 steps; 2: the same with the late
 * variable, which the restore must first initialise. A restore that fails
 * changes no variable. */
static void sweep_restore(int kind, const refs *f, int mode, tally *t)
{
    const char *path = mode == 2 ? f->rl_path : f->r_path;
    const float *want = mode == 2 ? f->v1l : f->v1, *before = mode == 0 ? f->v0 : mode == 1 ? f->v2 : f->v2l;
    int64_t n = mode == 2 ? f->n_v1l : f->n_v1;
    for (gf_fail.at = 1;; gf_fail.at++) {
        rig r;
        gf_status st;
        long start = 0;
        gf_fail.calls = 0;
        gf_fail.failed = false;
        if (mode == 0) {
            gf_fail.armed = true;
            st = rig_make(&r, kind, 3, 0, false);
            start = gf_fail.calls;
            if (st == GF_OK) st = gf_session_restore(r.s, path);
        } else {
            assert_int_equal(rig_make(&r, kind, 2, 2, mode == 2), GF_OK);
            gf_fail.armed = true;
            st = gf_session_restore(r.s, path);
        }
        gf_fail.armed = false;
        if (!gf_fail.failed) {
            if (st != GF_OK) fail_msg("restore with no allocation failing: %s", gf_session_error(r.s));
            assert_true(holds(r.s, r.net.g, want, n));
            rig_free(&r);
            break;
        }
        if (gf_fail.at <= start) {
            t->others++;
            if (st == GF_OK && !holds(r.s, r.net.g, want, n))
                fail_msg("restore: allocation %ld (building) failed silently and changed the result", gf_fail.at);
            rig_free(&r);
            continue;
        }
        t->points++;
        if (st == GF_OK) {
            if (!holds(r.s, r.net.g, want, n))
                fail_msg("restore: allocation %ld failed silently and the values are wrong", gf_fail.at);
        } else {
            t->errors++;
            const char *msg = gf_session_error(r.s);
            if (st != GF_ERR_NOMEM)
                fail_msg("restore: allocation %ld failed: %s \"%s\", expected %s", gf_fail.at,
                         gf_status_string(st), msg, gf_status_string(GF_ERR_NOMEM));
            if (!strstr(msg, path) || !strstr(msg, "out of memory"))
                fail_msg("restore: allocation %ld failed: the message \"%s\" should name the path and the "
                         "memory", gf_fail.at, msg);
            assert_int_equal(gf_session_status(r.s), GF_OK);
            if (!holds(r.s, r.net.g, before, n))
                fail_msg("restore: allocation %ld failed and a variable changed", gf_fail.at);
            /* The session is still fine: the same restore now succeeds. */
            assert_int_equal(gf_session_restore(r.s, path), GF_OK);
            assert_true(holds(r.s, r.net.g, want, n));
        }
        rig_free(&r);
    }
}

static void checkpoints_with_every_allocation_failing(void **state)
{
    (void)state;
    /* Installed while no gradflow object exists; unarmed, it just counts nothing. */
    gf_set_allocator(&gf_test_fail_allocator);
    for (int kind = 0; kind < 2; kind++) {
        refs f;
        refs_make(&f, kind);
        tally save_over = { 0 }, save_new = { 0 }, fresh = { 0 }, same = { 0 }, same_late = { 0 };
        sweep_save(kind, &f, false, &save_over);
        sweep_save(kind, &f, true, &save_new);
        sweep_restore(kind, &f, 0, &fresh);
        sweep_restore(kind, &f, 1, &same);
        sweep_restore(kind, &f, 2, &same_late);
        assert_false(stray_files(f.dir));
        refs_free(&f);
        const char *name = kind ? "autodiff" : "manual";
        print_message("%s: save over a file %ld allocation points (%ld errors), to a new path with a late "
                      "variable %ld (%ld)\n",
                      name, save_over.points, save_over.errors, save_new.points, save_new.errors);
        print_message("%s: restore into a new session %ld (%ld errors; %ld more while building it), into "
                      "the same %ld (%ld), with a late variable %ld (%ld)\n",
                      name, fresh.points, fresh.errors, fresh.others, same.points, same.errors,
                      same_late.points, same_late.errors);
        /* Not vacuous: each call's own allocations (the path copies; the
         * staging buffers) failed, and initialising the late variable adds
         * a plan's worth. */
        assert_true(save_over.points >= 2 && save_over.errors >= 2);
        assert_true(save_new.points > save_over.points + 5 && save_new.errors > save_new.points / 2);
        assert_true(same.points >= 2 && same.errors >= 2);
        assert_true(fresh.points == same.points && fresh.errors == same.errors && fresh.others > 30);
        assert_true(same_late.points > same.points + 5 && same_late.errors > same_late.points / 2);
    }
    gf_set_allocator(NULL);
}

/* ---- the data readers and datasets ---- */

/* What one data call made, flattened for comparison: the floats of its
 * tensors, or of a dataset's arrays and a first batch. */
typedef struct made {
    float *v;
    size_t n;
} made;

static void made_add(made *m, const gf_tensor *t)
{
    if (!t) return;
    size_t k = (size_t)gf_tensor_count(t);
    m->v = realloc(m->v, (m->n + k + 1) * sizeof(float));
    assert_non_null(m->v);
    if (k) memcpy(m->v + m->n, gf_tensor_data(t), k * sizeof(float));
    m->n += k;
}

/* A dataset's arrays: an IDX dataset makes its float copies when first
 * asked, so that either may be NULL for want of memory (then the message is
 * on d): GF_ERR_NOMEM, message in msg. */
static gf_status made_dataset(made *m, gf_dataset *d, char *msg, size_t cap)
{
    const gf_tensor *x = gf_dataset_images(d), *y = x ? gf_dataset_labels(d) : NULL;
    if (!x || !y) {
        snprintf(msg, cap, "%s", gf_dataset_error(d));
        return GF_ERR_NOMEM;
    }
    made_add(m, x);
    made_add(m, y);
    return GF_OK;
}

typedef struct data_files {
    char *dir, *npy, *npy_out, *csv, *csv_gz, *img, *lab, *mnist, *big_img, *big_lab;
} data_files;

/* One call of kind k; GF_OK or its error (message in msg); what it made in m. */
static gf_status data_call(int k, const data_files *f, made *m, char *msg)
{
    gf_error err = { 0 };
    gf_status st = GF_OK;
    gf_tensor *x = NULL, *y = NULL;
    gf_dataset *d = NULL, *a = NULL, *b = NULL;
    float xs[12], ys[4] = { 2, 0, 1, 2 };
    for (int i = 0; i < 12; i++) xs[i] = (float)i;
    switch (k) {
    case 0: st = gf_npy_read(f->npy, &x, &err); break;
    case 1: {
        gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(2, 3, 4), xs, NULL); /* allocates: part of the sweep */
        st = t ? gf_npy_write(f->npy_out, t, &err) : GF_ERR_NOMEM;
        if (!t) snprintf(err.message, sizeof err.message, "tensor: out of memory");
        gf_tensor_free(t);
        if (st == GF_OK) st = gf_npy_read(f->npy_out, &x, &err);
        break;
    }
    case 2: st = gf_csv_read(f->csv, NULL, &x, &y, &err); break;
    case 3: st = gf_csv_read(f->csv_gz, NULL, &x, &y, &err); break;
    case 4: case 5: {
        gf_tensor *tx = gf_tensor_wrap(GF_F32, gf_dims(2, 4, 3), xs, NULL);
        gf_tensor *ty = gf_tensor_wrap(GF_F32, gf_dims(1, 4), ys, NULL);
        if (!tx || !ty) {
            st = GF_ERR_NOMEM;
            snprintf(err.message, sizeof err.message, "tensor: out of memory");
        } else {
            st = gf_dataset_from_arrays(tx, ty, &(gf_dataset_options){ .seed = 3, .borrow = k == 5 }, &d, &err);
        }
        if (st == GF_OK && (st = gf_dataset_split(d, 1, &a, &b)) != GF_OK)
            snprintf(err.message, sizeof err.message, "%s", gf_dataset_error(d));
        gf_tensor_free(tx);
        gf_tensor_free(ty);
        break;
    }
    case 6: st = gf_dataset_load_idx(f->img, f->lab, &(gf_dataset_options){ .seed = 1 }, &d, &err); break;
    case 8: /* images large enough to be moved to memory for 2 MiB pages (and kept where they are without) */
        st = gf_dataset_load_idx(f->big_img, f->big_lab, &(gf_dataset_options){ .seed = 1 }, &d, &err);
        break;
    case 7: {
        gf_mnist *mn = NULL;
        st = gf_mnist_load(f->mnist, &(gf_mnist_options){ .seed = 2, .validation_size = 2, .classes = -1 }, &mn,
                           &err);
        if (st == GF_OK) {
            gf_dataset *parts[3] = { mn->train, mn->validation, mn->test };
            for (int i = 0; i < 3 && st == GF_OK; i++) {
                const gf_tensor *bx, *by;
                if ((st = made_dataset(m, parts[i], err.message, sizeof err.message)) != GF_OK) break;
                if ((st = gf_dataset_next_batch(parts[i], 2, &bx, &by)) != GF_OK)
                    snprintf(err.message, sizeof err.message, "%s", gf_dataset_error(parts[i]));
                else
                    made_add(m, bx);
            }
        }
        gf_mnist_free(mn);
        break;
    }
    }
    if (st == GF_OK) {
        made_add(m, x);
        made_add(m, y);
        gf_dataset *all[3] = { d, a, b };
        for (int i = 0; i < 3; i++) {
            if (!all[i]) continue;
            const gf_tensor *bx, *by;
            gf_status bs = made_dataset(m, all[i], err.message, sizeof err.message);
            if (bs != GF_OK) {
                st = bs;
                break;
            }
            bs = gf_dataset_next_batch(all[i], 1, &bx, &by);
            if (bs != GF_OK) {
                st = bs;
                snprintf(err.message, sizeof err.message, "%s", gf_dataset_error(all[i]));
                break;
            }
            made_add(m, bx);
            made_add(m, by);
        }
    }
    snprintf(msg, 512, "%s", err.message);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_dataset_free(b);
    gf_dataset_free(d); /* before a: the parts share its memory, any order */
    gf_dataset_free(a);
    return st;
}

static void data_with_every_allocation_failing(void **state)
{
    (void)state;
    data_files f;
    f.dir = gf_test_tmpdir();
    /* a .npy of [2,3] big-endian f8, Fortran order */
    unsigned char npy[128 + 48] = "\x93NUMPY\x01\x00\x76\x00{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }";
    size_t dl = 10 + strlen((const char *)npy + 10);
    memset(npy + dl, ' ', 127 - dl);
    npy[127] = '\n';
    for (int i = 0; i < 48; i++) npy[128 + i] = (unsigned char)(i % 8 == 0 ? 0x40 : i % 8 == 1 ? i : 0);
    f.npy = gf_test_write_file(f.dir, "a.npy", npy, sizeof npy);
    f.npy_out = gf_test_path(f.dir, "out.npy");
    const char csv[] = "label,a,b,c\n1,0,128,255\n0,1.5,-2,3e2\n2,\"4\",5,6\n";
    f.csv = gf_test_write_file(f.dir, "a.csv", csv, sizeof csv - 1);
    f.csv_gz = gf_test_path(f.dir, "a.csv.gz");
    gzFile gz = gzopen(f.csv_gz, "wb");
    assert_non_null(gz);
    gzwrite(gz, csv, sizeof csv - 1);
    gzclose(gz);
    unsigned char img[4 + 12 + 5 * 6] = { 0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 3 };
    unsigned char lab[8 + 5] = { 0, 0, 8, 1, 0, 0, 0, 5, 4, 0, 2, 4, 1 };
    for (int i = 0; i < 30; i++) img[16 + i] = (unsigned char)(i * 9);
    f.img = gf_test_write_file(f.dir, "img-idx3-ubyte", img, sizeof img);
    f.lab = gf_test_write_file(f.dir, "lab-idx1-ubyte", lab, sizeof lab);
    enum { BIG = 5400 }; /* 5400 28x28 images: 4.2 MB */
    unsigned char *big = malloc(16 + (size_t)BIG * 784), big_lab[8 + BIG] = { 0, 0, 8, 1, 0, 0, BIG >> 8, BIG & 255 };
    assert_non_null(big);
    memcpy(big, (unsigned char[]){ 0, 0, 8, 3, 0, 0, BIG >> 8, BIG & 255, 0, 0, 0, 28, 0, 0, 0, 28 }, 16);
    for (size_t i = 0; i < (size_t)BIG * 784; i++) big[16 + i] = (unsigned char)(i * 7 + i / 784);
    for (int i = 0; i < BIG; i++) big_lab[8 + i] = (unsigned char)(i % 10);
    f.big_img = gf_test_write_file(f.dir, "big-idx3-ubyte", big, 16 + (size_t)BIG * 784);
    f.big_lab = gf_test_write_file(f.dir, "big-idx1-ubyte", big_lab, sizeof big_lab);
    free(big);
    f.mnist = gf_test_path(f.dir, "mnist");
    assert_int_equal(mkdir(f.mnist, 0755), 0);
    free(gf_test_write_file(f.mnist, "train-images-idx3-ubyte", img, sizeof img));
    free(gf_test_write_file(f.mnist, "train-labels-idx1-ubyte", lab, sizeof lab));
    free(gf_test_write_file(f.mnist, "t10k-images-idx3-ubyte", img, sizeof img));
    free(gf_test_write_file(f.mnist, "t10k-labels-idx1-ubyte", lab, sizeof lab));
    static const char *names[] = { "npy read", "npy write", "csv read", "csv read (gzip)",
                                   "dataset from arrays, split", "dataset borrowed, split", "dataset load_idx",
                                   "mnist load, classes counted", "dataset load_idx, 4 MB of images" };
    gf_set_allocator(&gf_test_fail_allocator);
    for (int k = 0; k < 9; k++) {
        made want = { 0 };
        char msg[512];
        if (data_call(k, &f, &want, msg) != GF_OK) fail_msg("%s: %s", names[k], msg);
        long points = 0, errors = 0;
        for (gf_fail.at = 1;; gf_fail.at++) {
            made got = { 0 };
            gf_fail.calls = 0;
            gf_fail.failed = false;
            gf_fail.armed = true;
            gf_status st = data_call(k, &f, &got, msg);
            gf_fail.armed = false;
            if (!gf_fail.failed) {
                assert_int_equal(st, GF_OK);
                free(got.v);
                break;
            }
            points++;
            if (st == GF_OK) {
                if (got.n != want.n || memcmp(got.v, want.v, want.n * sizeof(float)))
                    fail_msg("%s: allocation %ld failed silently and changed the result", names[k], gf_fail.at);
            } else {
                errors++;
                if (st != GF_ERR_NOMEM || !strstr(msg, "out of memory"))
                    fail_msg("%s: allocation %ld failed: %s \"%s\", expected out of memory", names[k], gf_fail.at,
                             gf_status_string(st), msg);
            }
            free(got.v);
        }
        print_message("%s: %ld allocation points, %ld reported an error\n", names[k], points, errors);
        assert_true(points >= 2 && errors >= 2);
        free(want.v);
    }
    gf_set_allocator(NULL);
    assert_false(stray_files(f.dir));
    free(f.mnist);
    free(f.npy);
    free(f.npy_out);
    free(f.csv);
    free(f.csv_gz);
    free(f.img);
    free(f.lab);
    free(f.big_img);
    free(f.big_lab);
    gf_test_rmdir(f.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_allocation_can_fail),
        cmocka_unit_test(checkpoints_with_every_allocation_failing),
        cmocka_unit_test(data_with_every_allocation_failing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
