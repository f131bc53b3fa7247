/* Reading golden vectors: plain hex text files in fixtures/golden/, '#'
 * starts a comment line, whitespace is ignored. The directory comes from
 * meson as argv[1] (see tests/protocol/meson.build). */
#ifndef RIG_TESTS_PROTOCOL_GOLDEN_H
#define RIG_TESTS_PROTOCOL_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

/* Set once from main() before the suite runs. */
void golden_set_dir(const char *dir);

/* Loads fixtures/golden/<name>.hex into buf (capacity cap). Returns the
 * byte count; aborts the current Check test with a message on any error. */
size_t golden_load(const char *name, uint8_t *buf, size_t cap);

/* Common main(): argv[1] is the golden directory; runs the suite and
 * returns the process exit status. */
int golden_run_suite(Suite *s, int argc, char **argv);

#endif
