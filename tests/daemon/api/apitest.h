/* Helpers for the API tests: run api_testd, talk to it over its socket. */
#ifndef RIG_APITEST_H
#define RIG_APITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

/* Generous: 2 shared cores, sanitizers, umockdev neighbours. */
#define T_TIMEOUT_S 20.0

struct testd {
    pid_t pid;
    char dir[64];
    char path[128];
};

/* Starts api_testd ($API_TESTD) on a fresh socket with extra args (NULL
 * terminated) and waits until it accepts connections. Aborts the test on
 * failure. */
void testd_start(struct testd *t, const char *const *extra);
/* SIGTERM, wait, remove the socket dir; returns the exit status. */
int testd_stop(struct testd *t);

struct tconn {
    int fd;
    char *buf;
    size_t len, cap;
};

/* Connects (blocking fd) and, if `greeting`, reads and checks the
 * version line. */
void tconn_open(struct tconn *c, const char *path, bool greeting);
void tconn_close(struct tconn *c);
void tconn_send(struct tconn *c, const char *bytes, size_t n);
void tconn_sendstr(struct tconn *c, const char *s);
/* Next line as sent (malloc'd, no newline), or NULL on EOF; fails the
 * test on timeout. For what parsing would hide: an id's exact text. */
char *tconn_read_line(struct tconn *c, double timeout_s);
/* Next object, or NULL on EOF; fails the test on timeout. */
cJSON *tconn_read(struct tconn *c, double timeout_s);
/* True when the peer closed (EOF or reset) within timeout, discarding
 * whatever data arrives first. */
bool tconn_wait_eof(struct tconn *c, double timeout_s);
/* Sends a request line and returns the first reply that is not an event
 * of a watched topic (reads until an object with "id" arrives). */
cJSON *tconn_call(struct tconn *c, const char *line);

const char *jstr(const cJSON *o, const char *key);
double jnum(const cJSON *o, const char *key);

/* Runs argv (stdout/stderr captured into out/err, each NUL-terminated,
 * caller frees) and returns its exit status, or -1 if it died. */
int run_capture(char *const argv[], char **out, char **err);

#endif
