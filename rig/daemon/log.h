/* rigd logging: leveled lines on stderr. When stderr is the journal
 * (JOURNAL_STREAM set) each line carries a "<N>" syslog priority prefix so
 * journald records the level; otherwise a short level word. LOG_DEBUG lines
 * (protocol traffic) appear only with --verbose. A hook lets the daemon
 * forward warnings to API watchers of the "log" topic. */
#ifndef RIGD_LOG_H
#define RIGD_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_init(bool verbose);
bool log_verbose(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line about a run: under the journal it carries the fields RIG_STATION,
 * RIG_FIXTURE, RIG_RUN_ID and RIG_DUT (journalctl RIG_DUT=PA-0000042), so
 * an engineer finds every line of a unit's runs; elsewhere it is a plain
 * log_msg line. */
struct log_run {
    const char *station, *fixture, *run_id, *dut;
};
void log_run_msg(int level, const struct log_run *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Called for every line at level <= LOG_INFO (not for debug traffic). */
void log_set_hook(void (*hook)(void *user, int level, const char *msg), void *user);

#endif
