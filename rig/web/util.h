/* Small helpers rigweb's files share: whole-file read, atomic write,
 * random hex ids, constant-time compare, clocks. */
#ifndef RIG_WEB_UTIL_H
#define RIG_WEB_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Reads a regular file of at most `max` bytes into a NUL-terminated buffer
 * (*out, to free). 0, or -errno (-EFBIG over max). */
int web_read_file(const char *path, size_t max, char **out, size_t *len);
/* Replaces `path` atomically: a temp file beside it with `mode`, fsync,
 * rename, fsync of the directory. 0 or -errno. */
int web_write_file_atomic(const char *path, const char *data, size_t len, unsigned mode);
/* `n` random bytes from getrandom as 2n lowercase hex digits + NUL into
 * out (size >= 2n+1). 0 or -errno. */
int web_random_hex(char *out, size_t n);
/* Equal strings, in time that depends on the lengths only. */
bool web_secure_eq(const char *a, const char *b);
/* Seconds on CLOCK_MONOTONIC. */
double web_mono(void);

#endif
