/* Helpers for integration tests run inside `rigsim -- ...`: a tiny
 * JSON-lines client (rigd API and rigsim's control socket), a rigd
 * launcher and check macros that fail the test with a clear message. */
#ifndef RIG_TESTS_ITESTLIB_H
#define RIG_TESTS_ITESTLIB_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#define IT_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

struct jl {
    int fd;
    char buf[1 << 16];
    size_t len;
};

/* Connect to a Unix socket, retrying for up to timeout_ms (rigd starting). */
int jl_connect(struct jl *c, const char *path, int timeout_ms);
void jl_close(struct jl *c);
int jl_send(struct jl *c, const char *line);
/* Next JSON object from the stream or NULL on timeout / EOF / bad JSON. */
cJSON *jl_recv(struct jl *c, int timeout_ms);
/* Send `line` (which must carry "id": id) and return the reply with that
 * id, skipping events; NULL on timeout. */
cJSON *jl_call(struct jl *c, const char *line, int id, int timeout_ms);
/* Wait for an object whose key == value (string), skipping others. */
cJSON *jl_wait_for(struct jl *c, const char *key, const char *value, int timeout_ms);

/* rigsim control socket ($RIGSIM_CONTROL): one request, one reply. */
cJSON *sim_ctl(const char *line);
/* The simulated pen's motor as rigsim sees it (not rigd's word). */
bool sim_pen_motor_running(void);
/* Poll sim_pen_motor_running() until it equals `want` or timeout. */
bool sim_wait_motor(bool want, int timeout_ms);

/* Start rigd (path in $RIGD or argv) with config and socket; returns pid. */
pid_t rigd_start(const char *rigd, const char *config, const char *sock);
/* Send sig and wait for exit (<= timeout_ms, then SIGKILL); exit status or -1. */
int rigd_stop(pid_t pid, int sig, int timeout_ms);
int rigd_wait(pid_t pid, int timeout_ms);

const char *js_str(const cJSON *o, const char *path); /* "a.b.c" */
double js_num(const cJSON *o, const char *path, double dflt);
bool js_bool(const cJSON *o, const char *path);
long long it_now_ms(void);
void it_sleep_ms(int ms);
/* CPU time (utime + stime) a process has used, in seconds, from
 * /proc/PID/stat (threads included, children not); -1 if unreadable. */
double it_proc_cpu_s(pid_t pid);

#endif
