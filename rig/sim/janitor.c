/* The janitor: a small process that cleans up after a rigsim that could not
 * do so itself (SIGKILL, OOM kill, crash).
 *
 * rigsim starts it before COMMAND (fork + exec of /proc/self/exe with a
 * hidden first argument) and keeps the write end of a pipe to it. Over the
 * pipe it names what would be left behind: COMMAND's process group and the
 * paths (testbed directory, control socket). On a normal exit rigsim sends
 * "done" first. When the pipe reaches end-of-file without "done", rigsim is
 * gone, so the janitor SIGKILLs the process group and removes the paths.
 *
 * Not covered: processes that left COMMAND's process group (setsid or
 * setpgid daemons) are re-parented to init once rigsim is dead, and there
 * is no reliable way to find them from outside.
 *
 * Messages, one per line: "pgid N", "path P", "done".
 */
#include "sim/rigsim.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define JANITOR_ARG "--rigsim-janitor"
#define JANITOR_FD  3

/* ---- rigsim's side ---- */

struct rs_janitor {
    pid_t pid;
    int fd; /* write end; -1 when not running */
};

static bool janitor_say(struct rs_janitor *j, const char *line)
{
    if (!j || j->fd < 0)
        return false;
    size_t n = strlen(line);
    while (n > 0) {
        ssize_t w = write(j->fd, line, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        line += w;
        n -= (size_t)w;
    }
    return true;
}

struct rs_janitor *rs_janitor_start(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        fprintf(stderr, "rigsim: janitor: pipe: %s\n", strerror(errno));
        return NULL;
    }
    /* Everything exec needs is prepared before fork: rigsim has threads,
     * so the child may only make async-signal-safe calls. The janitor runs
     * without the umockdev preload: it must see the real file system. */
    char *argv[] = { (char *)"rigsim", (char *)JANITOR_ARG, NULL };
    char **envp = g_get_environ();
    envp = g_environ_unsetenv(envp, "LD_PRELOAD");
    envp = g_environ_unsetenv(envp, "UMOCKDEV_DIR");
    pid_t pid = fork();
    if (pid == 0) {
        /* the read end becomes fd 3, without close-on-exec (dup2 onto
         * itself would keep the flag) */
        if (p[0] == JANITOR_FD ? fcntl(p[0], F_SETFD, 0) < 0 : dup2(p[0], JANITOR_FD) < 0)
            _exit(125);
        execve("/proc/self/exe", argv, envp);
        _exit(127);
    }
    int saved = errno;
    g_strfreev(envp);
    close(p[0]);
    if (pid < 0) {
        fprintf(stderr, "rigsim: janitor: fork: %s\n", strerror(saved));
        close(p[1]);
        return NULL;
    }
    struct rs_janitor *j = g_new0(struct rs_janitor, 1);
    j->pid = pid;
    j->fd = p[1];
    return j;
}

pid_t rs_janitor_pid(const struct rs_janitor *j)
{
    return j ? j->pid : 0;
}

void rs_janitor_watch_pgid(struct rs_janitor *j, pid_t pgid)
{
    char line[64];
    snprintf(line, sizeof line, "pgid %ld\n", (long)pgid);
    if (j && !janitor_say(j, line))
        fprintf(stderr, "rigsim: janitor: cannot send: %s\n", strerror(errno));
}

void rs_janitor_watch_path(struct rs_janitor *j, const char *path)
{
    if (!j || strchr(path, '\n'))
        return; /* a newline would break the line protocol */
    char *line = g_strdup_printf("path %s\n", path);
    if (!janitor_say(j, line))
        fprintf(stderr, "rigsim: janitor: cannot send: %s\n", strerror(errno));
    g_free(line);
}

void rs_janitor_finish(struct rs_janitor *j)
{
    if (!j)
        return;
    if (!janitor_say(j, "done\n"))
        fprintf(stderr, "rigsim: janitor: cannot send: %s\n", strerror(errno));
    close(j->fd);
    /* it exits as soon as it reads "done" and end-of-file */
    while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    g_free(j);
}

/* ---- the janitor process ---- */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = type == FTW_DP ? rmdir(path) : unlink(path);
    if (r < 0 && errno != ENOENT)
        fprintf(stderr, "rigsim janitor: remove %s: %s\n", path, strerror(errno));
    return 0; /* remove as much as possible */
}

static void remove_path(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return; /* already gone: rigsim removed it */
    if (S_ISDIR(st.st_mode))
        (void)nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    else if (unlink(path) < 0 && errno != ENOENT)
        fprintf(stderr, "rigsim janitor: remove %s: %s\n", path, strerror(errno));
}

int rs_janitor_main(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], JANITOR_ARG) != 0)
        return -1; /* not the janitor: rigsim proper */
    /* Signals meant for rigsim and COMMAND (Ctrl-C reaches the whole
     * foreground group) must not end the janitor early. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);

    GString *in = g_string_new(NULL);
    char buf[1024];
    for (;;) {
        ssize_t n = read(JANITOR_FD, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* end-of-file: rigsim is gone */
        g_string_append_len(in, buf, n);
    }
    close(JANITOR_FD);

    bool done = false;
    long pgid = 0;
    GPtrArray *paths = g_ptr_array_new();
    char **lines = g_strsplit(in->str, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (strcmp(*l, "done") == 0)
            done = true;
        else if (strncmp(*l, "pgid ", 5) == 0)
            pgid = strtol(*l + 5, NULL, 10);
        else if (strncmp(*l, "path ", 5) == 0 && (*l)[5] != '\0')
            g_ptr_array_add(paths, *l + 5);
    }
    if (!done) {
        if (pgid > 1 && kill((pid_t)-pgid, SIGKILL) < 0 && errno != ESRCH)
            fprintf(stderr, "rigsim janitor: kill -%ld: %s\n", pgid, strerror(errno));
        for (guint i = 0; i < paths->len; i++)
            remove_path(g_ptr_array_index(paths, i));
    }
    g_ptr_array_free(paths, TRUE);
    g_strfreev(lines);
    g_string_free(in, TRUE);
    return 0;
}
