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
/* Called for every line at level <= LOG_INFO (not for debug traffic). */
void log_set_hook(void (*hook)(void *user, int level, const char *msg), void *user);

#endif
