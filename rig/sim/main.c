/* rigsim: run COMMAND on a simulated bench.
 *
 *   rigsim [--bench FILE]... [--seed N] [--session N] [--truth FILE]...
 *          [--control PATH] [--fault SPEC]... [--verbose] -- COMMAND [ARGS...]
 *   rigsim [--control PATH] --send JSON-LINE
 *
 * Lifecycle: rigsim re-executes itself under libumockdev-preload.so (the
 * testbed's own uevents need it), builds the testbed, starts COMMAND in its
 * own process group with PR_SET_PDEATHSIG, forwards SIGINT/SIGTERM/SIGHUP
 * to that group, and exits with COMMAND's status after killing whatever
 * COMMAND left behind and removing the testbed.
 */
#include "sim/rigsim.h"
#include "version/version.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#define PRELOAD       "libumockdev-preload.so"
#define MAX_FAULTS    64
#define REAP_GRACE_MS 2000

struct options {
    struct rs_bench_options benches; /* files, truths, seed, session */
    const char *control, *send;
    const char *faults[MAX_FAULTS];
    int nfaults;
    bool verbose;
    char **command;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rigsim [--bench FILE]... [--seed N] [--session N] [--truth FILE]...\n"
            "              [--control PATH] [--fault [BENCH:]KIND[@SECONDS][=VALUE]]...\n"
            "              [--verbose] -- COMMAND [ARGS...]\n"
            "       rigsim [--control PATH] --send JSON\n"
            "       rigsim --version\n"
            "Runs COMMAND with simulated benches: each a pen (/dev/ttyACM<i>) and a\n"
            "sensor head (USB). One bench per --bench (at most %d, numbered from 0 in\n"
            "order; none: one default bench); the k-th --truth is bench k's.\n"
            "The control socket path is exported to COMMAND as RIGSIM_CONTROL;\n"
            "requests take \"bench\":N. See docs/RIGSIM.md for fault kinds and\n"
            "control commands.\n",
            RS_MAX_BENCHES);
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "bench", required_argument, NULL, 'b' },
        { "seed", required_argument, NULL, 's' },
        { "session", required_argument, NULL, 'N' },
        { "truth", required_argument, NULL, 't' },
        { "control", required_argument, NULL, 'c' },
        { "fault", required_argument, NULL, 'f' },
        { "send", required_argument, NULL, 'S' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    *o = (struct options){ .benches.seed = 1 };
    struct rs_bench_options *b = &o->benches;
    /* '+': stop at the first non-option, COMMAND's options are its own */
    while ((c = getopt_long(argc, argv, "+b:s:N:t:c:f:S:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
        case 't': {
            const char **list = c == 'b' ? b->files : b->truths;
            int *n = c == 'b' ? &b->nfiles : &b->ntruths;
            if (*n == RS_MAX_BENCHES) {
                fprintf(stderr, "rigsim: too many --%s options (at most %d benches)\n",
                        c == 'b' ? "bench" : "truth", RS_MAX_BENCHES);
                return -1;
            }
            list[(*n)++] = optarg;
            break;
        }
        case 'c':
            o->control = optarg;
            break;
        case 'S':
            o->send = optarg;
            break;
        case 'v':
            b->verbose = true;
            break;
        case 's':
        case 'N': {
            char *end;
            errno = 0;
            uint64_t v = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end) {
                fprintf(stderr, "rigsim: --%s: not a number: %s\n", c == 's' ? "seed" : "session",
                        optarg);
                return -1;
            }
            *(c == 's' ? &b->seed : &b->session) = v;
            break;
        }
        case 'f':
            if (o->nfaults == MAX_FAULTS) {
                fprintf(stderr, "rigsim: too many --fault options (max %d)\n", MAX_FAULTS);
                return -1;
            }
            o->faults[o->nfaults++] = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("rigsim %s (%s)\n", rig_version(), rig_vcs());
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (o->send)
        return 0;
    if (optind >= argc) {
        fprintf(stderr, "rigsim: no COMMAND given\n");
        usage(stderr);
        return -1;
    }
    o->command = argv + optind;
    return 0;
}

/* umockdev_testbed_uevent() needs the preload in this process too. */
static void reexec_under_preload(char **argv)
{
    const char *ldp = getenv("LD_PRELOAD");
    if (ldp && strstr(ldp, PRELOAD))
        return;
    char *nv = ldp && *ldp ? g_strdup_printf("%s:%s", ldp, PRELOAD) : g_strdup(PRELOAD);
    if (setenv("LD_PRELOAD", nv, 1) < 0) {
        fprintf(stderr, "rigsim: setenv: %s\n", strerror(errno));
        exit(125);
    }
    g_free(nv);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "rigsim: re-exec under %s: %s\n", PRELOAD, strerror(errno));
    exit(125);
}

/* ---------------------------------------------------------------- */
/* The child                                                         */

struct run {
    GMainLoop *loop;
    pid_t child;
    int status;
    bool exited;
};

static void on_child_exit(GPid pid, gint status, gpointer user)
{
    struct run *r = user;
    (void)pid;
    r->status = status;
    r->exited = true;
    g_main_loop_quit(r->loop);
}

struct sigctx {
    struct run *r;
    int sig;
};

static gboolean on_signal(gpointer user)
{
    struct sigctx *ctx = user;
    if (ctx->r->child > 0 && !ctx->r->exited)
        kill(-ctx->r->child, ctx->sig);
    return G_SOURCE_CONTINUE;
}

static void add_signal(struct sigctx *ctx, struct run *r, int sig)
{
    ctx->r = r;
    ctx->sig = sig;
    g_unix_signal_add(sig, on_signal, ctx);
}

/* fork + exec: between them only async-signal-safe calls (we have threads) */
static pid_t spawn(char **command, pid_t parent)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    /* if rigsim dies (even by SIGKILL), COMMAND goes with it */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(125);
    execvp(command[0], command);
    static const char msg[] = "rigsim: cannot execute COMMAND\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(127);
}

/* rigsim is a child subreaper: orphans of COMMAND (daemons started in the
 * background) become our children. Signal all of them but spare (the
 * janitor, which must outlive this cleanup). */
static int signal_children(int sig, pid_t spare)
{
    DIR *d = opendir("/proc");
    int n = 0;
    if (!d)
        return 0;
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* "pid (comm) state ppid ...": comm may contain spaces, so parse
         * from the last ')' */
        char *rp = strrchr(buf, ')');
        char state;
        long ppid;
        if (rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == self && state != 'Z' &&
            pid != spare) {
            kill((pid_t)pid, sig);
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Reap exited orphans. Not the janitor: rs_janitor_finish waits for it. */
static void reap_all(pid_t janitor)
{
    siginfo_t si;
    for (;;) {
        si.si_pid = 0;
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
            return;
        if (si.si_pid == janitor)
            return; /* it stays a zombie until finish reaps it */
        if (waitpid(si.si_pid, NULL, WNOHANG) <= 0)
            return;
    }
}

/* COMMAND has exited: end everything it left behind, politely first. */
static void kill_leftovers(pid_t pgid, pid_t janitor)
{
    kill(-pgid, SIGTERM);
    signal_children(SIGTERM, janitor);
    for (int waited = 0; waited < REAP_GRACE_MS; waited += 20) {
        reap_all(janitor);
        if (kill(-pgid, 0) < 0 && signal_children(0, janitor) == 0)
            return;
        g_usleep(20000);
    }
    kill(-pgid, SIGKILL);
    signal_children(SIGKILL, janitor);
    g_usleep(50000);
    reap_all(janitor);
}

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 125;
}

static char *default_control_path(void)
{
    const char *dir = getenv("XDG_RUNTIME_DIR");
    if (!dir || !*dir || access(dir, W_OK) != 0)
        dir = "/tmp";
    return g_strdup_printf("%s/rigsim-%d.sock", dir, (int)getpid());
}

static void print_usage_stats(const struct rs_world *w)
{
    struct rusage ru;
    if (!w->verbose || getrusage(RUSAGE_SELF, &ru) < 0)
        return;
    double wall = (double)rs_world_now(w) / 1e9;
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    fprintf(stderr, "rigsim: cpu %.2f s over %.2f s (%.1f %%)\n", cpu, wall,
            wall > 0 ? 100.0 * cpu / wall : 0.0);
}

int main(int argc, char **argv)
{
    int janitor_rc = rs_janitor_main(argc, argv);
    if (janitor_rc >= 0)
        return janitor_rc;
    struct options o;
    if (parse_options(argc, argv, &o) < 0)
        return 2;
    if (o.send)
        return rs_control_send(o.control ? o.control : getenv("RIGSIM_CONTROL"), o.send);

    reexec_under_preload(argv);
    /* Asked before the testbed exists, this caches FALSE, so adding devices
     * does not send "add" uevents by itself: we send them once each device
     * is complete (handler, node, FIFO). */
    (void)umockdev_in_mock_environment();
    /* The preload sleeps after every emulated ioctl; 1 ns slack makes that
     * cheap. Inherited by COMMAND. */
    if (prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) < 0)
        fprintf(stderr, "rigsim: PR_SET_TIMERSLACK: %s\n", strerror(errno));
    if (prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0, 0, 0) < 0)
        fprintf(stderr, "rigsim: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));

    /* static: umockdev's worker thread may still release a client (and
     * take a world lock) while rigsim tears down and exits */
    static struct rs_benchset set;
    struct rs_fault faults[MAX_FAULTS];
    for (int i = 0; i < o.nfaults; i++) {
        char err[512];
        if (rs_fault_parse(o.faults[i], &faults[i], err, sizeof err) < 0) {
            fprintf(stderr, "rigsim: --fault: %s\n", err);
            return 2;
        }
    }
    if (rs_benchset_load(&set, &o.benches) < 0) {
        (void)rs_benchset_free(&set, NULL);
        return 2;
    }
    for (int i = 0; i < o.nfaults; i++) {
        if (faults[i].bench >= set.n) {
            fprintf(stderr, "rigsim: --fault %s: no bench %d (this rigsim has %d: 0..%d)\n",
                    o.faults[i], faults[i].bench, set.n, set.n - 1);
            (void)rs_benchset_free(&set, NULL);
            return 2;
        }
    }
    struct rs_world *w0 = set.bench[0].world;
    UMockdevTestbed *tb = umockdev_testbed_new();

    int rc = 2;
    char *ctl_path = o.control ? g_strdup(o.control) : default_control_path();
    char err[512];
    struct rs_control *ctl = NULL;
    struct run r = { .loop = g_main_loop_new(NULL, FALSE) };
    struct sigctx sigs[3];

    /* the janitor removes the testbed and socket, and kills COMMAND's
     * process group, if rigsim itself is killed (SIGKILL) */
    struct rs_janitor *janitor = rs_janitor_start();
    char *tb_root = umockdev_testbed_get_root_dir(tb);
    rs_janitor_watch_path(janitor, tb_root);
    rs_janitor_watch_path(janitor, ctl_path);
    g_free(tb_root);

    if (rs_benchset_plug(&set, tb) < 0)
        goto out;
    ctl = rs_control_new(&set, ctl_path, err, sizeof err);
    if (!ctl) {
        fprintf(stderr, "rigsim: %s\n", err);
        goto out;
    }
    if (setenv("RIGSIM_CONTROL", ctl_path, 1) < 0) {
        fprintf(stderr, "rigsim: setenv: %s\n", strerror(errno));
        goto out;
    }
    for (int i = 0; i < o.nfaults; i++) {
        if (rs_fault_apply(&set.bench[faults[i].bench], &faults[i], err, sizeof err) < 0) {
            fprintf(stderr, "rigsim: --fault %s: %s\n", o.faults[i], err);
            goto out;
        }
    }
    add_signal(&sigs[0], &r, SIGINT);
    add_signal(&sigs[1], &r, SIGTERM);
    add_signal(&sigs[2], &r, SIGHUP);
    fflush(NULL);
    r.child = spawn(o.command, getpid());
    if (r.child < 0) {
        fprintf(stderr, "rigsim: fork: %s\n", strerror(errno));
        goto out;
    }
    setpgid(r.child, r.child); /* also here: no race with kill(-pgid) */
    rs_janitor_watch_pgid(janitor, r.child);
    rs_log(w0, "started %s (pid %d), control %s", o.command[0], (int)r.child, ctl_path);
    g_child_watch_add(r.child, on_child_exit, &r);
    g_main_loop_run(r.loop);
    rc = exit_code(r.status);
    rs_log(w0, "%s exited with %d", o.command[0], rc);
    kill_leftovers(r.child, rs_janitor_pid(janitor));
    print_usage_stats(w0);

out:
    rs_control_free(ctl);
    if (rs_benchset_free(&set, tb) < 0 && rc == 0)
        rc = 2;
    rs_janitor_finish(janitor);
    g_main_loop_unref(r.loop);
    g_free(ctl_path);
    return rc;
}
