/* What the rigd integration tests share (rigd_itest.c, rigd_api_itest.c):
 * a rigd started inside rigsim on a private socket and results directory,
 * and small clients of its API. Every check fails the test with IT_CHECK.
 */
#ifndef RIG_TESTS_RIGD_HARNESS_H
#define RIG_TESTS_RIGD_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "itestlib.h"

#define T_REPLY 5000 /* generous: 2 shared cores, maybe ASan */

struct harness {
    const char *rigd_path, *config, *long_seq; /* long_seq may be NULL */
    char sockdir[64];                          /* the socket, the station file, the records */
    char sock[256];
    pid_t rigd_pid;
    int next_id;
};

/* The test process's one harness (its atexit cleanup must find it). */
struct harness *harness(void);

/* Starts rigd with the given station, its results in sockdir and (with a
 * long_seq) the source tree as its sequence directory. */
void harness_start(const char *rigd_path, const char *config, const char *long_seq);
/* SIGTERM and the exit status rigd must have. */
void harness_finish(int want_exit);

char *slurp(const char *path);
/* A "run" request's members as rigctl sends them (the sequence and its
 * spec inline), without the braces: call() adds them and the id. */
char *run_body(const char *seq_file, const char *record);

void connect_client(struct jl *c);
/* Sends {"id":N,<body>} and returns the reply with that id (events
 * skipped). */
cJSON *call(struct jl *c, const char *body);
void expect_ok(struct jl *c, const char *body, const char *cls);
/* The reply is an error with this code (and, if text, a message with it). */
void expect_refused(struct jl *c, const char *body, const char *code, const char *text);
void wait_devices_ready(struct jl *c);

/* Raw lines, for what a parsed object cannot show (an id's exact text,
 * member order, presence of null members). recv_line returns a malloc'd
 * line without its newline, or NULL on timeout/EOF. */
char *recv_line(struct jl *c, int timeout_ms);
/* Sends line and returns the first line that has `"id":ID_TEXT` (as raw
 * JSON text, e.g. "7" or "\"a\""); other lines are skipped. */
char *call_raw(struct jl *c, const char *line, const char *id_text, int timeout_ms);

#endif
