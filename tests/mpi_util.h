/*
 * mpi_util.h — what the MPI tests (test_mpi_*.c) share: mpirun found on
 * the PATH (a missing one fails the test, naming the package), gradflow
 * run under it, and the ranks of a job running in the background, found
 * through /proc, to be killed or stopped. Static functions: each test
 * program includes it once.
 */
#ifndef GF_MPI_UTIL_H
#define GF_MPI_UTIL_H

#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* mpirun's path: the PATH's, else the test fails naming the package. */
static inline const char *mpirun_path(void)
{
    static char found[4096];
    if (found[0]) return found;
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(found, sizeof found, "%.*s/mpirun", (int)n, p);
        if (n && access(found, X_OK) == 0) return found;
        p += n + (p[n] == ':');
    }
    found[0] = '\0';
    fail_msg("mpirun is not on the PATH: the MPI tests need Open MPI (apt-get install openmpi-bin "
             "libopenmpi-dev; scripts/install-deps installs them as root), and gradflow built with it");
    return NULL;
}

/* Appends opt to the environment variable var (colon-separated). */
static inline void env_append(const char *var, const char *opt)
{
    const char *old = getenv(var);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s%s", old && *old ? old : "", old && *old ? ":" : "", opt);
    setenv(var, buf, 1);
}

/* Under AddressSanitizer, the gradflow ranks report Open MPI's own leaks
 * at exit: tests/lsan-openmpi.supp suppresses those (and says why the
 * slow unwinder is needed), for the processes these tests start. */
static inline void mpi_test_env(void)
{
    env_append("ASAN_OPTIONS", "fast_unwind_on_malloc=0");
    env_append("LSAN_OPTIONS", "suppressions=" GF_SOURCE_DIR "/tests/lsan-openmpi.supp:print_suppressions=0");
}

/* The mpirun command line up to the program: every test runs as root in
 * CI and oversubscribes this 2-core machine. */
static inline void mpirun_prefix(char *buf, size_t cap)
{
    snprintf(buf, cap, "'%s' --allow-run-as-root --oversubscribe", mpirun_path());
}

/* Runs `mpirun -np NP gradflow ARGS` (stderr joined) into out; returns
 * the exit status. */
static inline int mpi_gradflowf(char *out, size_t cap, int np, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int mpi_gradflowf(char *out, size_t cap, int np, const char *fmt, ...)
{
    char args[4096], cmd[16384], pre[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    mpirun_prefix(pre, sizeof pre);
    snprintf(cmd, sizeof cmd, "%s -np %d '%s' %s 2>&1", pre, np, gf_test_gradflow(), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) continue; /* the rest, so that it never blocks */
    int status = pclose(p);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    nanosleep(&ts, NULL);
}

/* Starts `sh -c CMD > log 2>&1` in the background; returns its pid. */
static inline pid_t spawn_sh(const char *cmd, const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The pid of the process whose command line holds marker and whose
 * environment says it is MPI rank `rank`, or 0. */
static inline pid_t find_rank(const char *marker, int rank)
{
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    DIR *d = opendir("/proc");
    assert_non_null(d);
    pid_t found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        char path[300];
        size_t n;
        unsigned char *cmdline, *env;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        if (!(cmdline = gf_test_read_file(path, &n))) continue;
        int has = 0;
        for (size_t i = 0; i < n; i++) if (!cmdline[i]) cmdline[i] = ' ';
        if (n) cmdline[n - 1] = '\0';
        has = n && strstr((char *)cmdline, marker) && strstr((char *)cmdline, "gradflow") &&
              !strstr((char *)cmdline, "mpirun") && !strstr((char *)cmdline, "sh -c");
        free(cmdline);
        if (!has) continue;
        snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
        if (!(env = gf_test_read_file(path, &n))) continue;
        for (size_t i = 0; i < n && !found; i += strlen((char *)env + i) + 1)
            if (!strcmp((char *)env + i, want)) found = (pid_t)atol(e->d_name);
        free(env);
    }
    closedir(d);
    return found;
}

/* Waits up to limit seconds for pid; its exit status, or -1 when it is
 * still running (then killed). */
static inline int wait_exit(pid_t pid, double limit)
{
    double t0 = now_s();
    int status;
    while (now_s() - t0 < limit) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        sleep_s(0.05);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* Whether path exists. */
static inline int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Fails unless files a and b hold the same bytes (and some). */
static inline void assert_same_file(const char *a, const char *b, const char *what)
{
    size_t na, nb;
    unsigned char *x = gf_test_read_file(a, &na), *y = gf_test_read_file(b, &nb);
    if (!x || !y) fail_msg("%s: %s or %s was not written", what, a, b);
    if (na != nb || na == 0 || memcmp(x, y, na)) {
        size_t i = 0;
        while (i < na && i < nb && x[i] == y[i]) i++;
        fail_msg("%s: %s and %s differ (%zu and %zu bytes, first at byte %zu)", what, a, b, na, nb, i);
    }
    free(x);
    free(y);
}

#endif
