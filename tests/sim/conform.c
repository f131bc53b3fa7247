/* Conformance test harness (see conform.h). */
#include "conform.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

void ct_fail(struct ct *t, const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s %s:%d: %s: ", t->scenario, file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    t->failures++;
}

int ct_main(int argc, char **argv, const struct ct_scenario *tab, size_t n)
{
    for (size_t i = 0; argc == 2 && i < n; i++) {
        if (strcmp(argv[1], tab[i].name) != 0)
            continue;
        struct ct t = { .scenario = tab[i].name };
        printf("%s: %s\n", tab[i].name, tab[i].what);
        tab[i].run(&t);
        printf("%s: %s\n", tab[i].name, t.failures ? "FAILED" : "passed");
        return t.failures ? 1 : 0;
    }
    fprintf(stderr, "usage: %s SCENARIO, one of:\n", argv[0]);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %-22s %s\n", tab[i].name, tab[i].what);
    return 2;
}

uint64_t ct_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ct_sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

size_t ct_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    unsigned v;
    int used;
    while (n < cap && sscanf(hex, " %2x%n", &v, &used) == 1) {
        out[n++] = (uint8_t)v;
        hex += used;
    }
    return n;
}

cJSON *ct_ctl(const char *line)
{
    const char *path = getenv("RIGSIM_CONTROL");
    if (!path) {
        fprintf(stderr, "ctl: RIGSIM_CONTROL not set (not running under rigsim?)\n");
        return NULL;
    }
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "ctl: connect %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char reply[8192];
    size_t got = 0;
    cJSON *j = NULL;
    size_t len = strlen(line);
    if (write(fd, line, len) == (ssize_t)len && write(fd, "\n", 1) == 1) {
        while (got < sizeof reply - 1) {
            struct pollfd p = { .fd = fd, .events = POLLIN };
            if (poll(&p, 1, 5000) <= 0)
                break;
            ssize_t r = read(fd, reply + got, sizeof reply - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            reply[got] = '\0';
            if (strchr(reply, '\n')) {
                j = cJSON_Parse(reply);
                break;
            }
        }
    }
    close(fd);
    if (!j)
        fprintf(stderr, "ctl: no valid reply to %s\n", line);
    return j;
}

bool ct_ctl_ok(const char *line)
{
    cJSON *j = ct_ctl(line);
    bool ok = j && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok"));
    cJSON_Delete(j);
    return ok;
}
