/* rigd logging (see log.h). */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "dev/dev.h"

static bool verbose;
static bool journal;
static bool in_hook;
static void (*hook_fn)(void *, int, const char *);
static void *hook_user;

static const char *level_word(int level)
{
    switch (level) {
    case LOG_EMERG:
    case LOG_ALERT:
    case LOG_CRIT:
        return "critical";
    case LOG_ERR:
        return "error";
    case LOG_WARNING:
        return "warning";
    case LOG_NOTICE:
        return "notice";
    case LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

static void emit(int level, const char *msg)
{
    if (level >= LOG_DEBUG && !verbose)
        return;
    if (journal)
        fprintf(stderr, "<%d>%s\n", level, msg);
    else
        fprintf(stderr, "rigd: %s: %s\n", level_word(level), msg);
    /* A hook that logs must not recurse. */
    if (hook_fn && level <= LOG_INFO && !in_hook) {
        in_hook = true;
        hook_fn(hook_user, level, msg);
        in_hook = false;
    }
}

/* Drivers log through the same sink. */

/* systemd connects stderr to the journal and says so in JOURNAL_STREAM
 * ("device:inode" of that stream): only then is stderr the journal (a
 * child that inherited the variable may have its stderr redirected). */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
           (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(bool v)
{
    verbose = v;
    journal = stderr_is_journal();
    setvbuf(stderr, NULL, _IOLBF, 0);
}

bool log_verbose(void)
{
    return verbose;
}

void log_set_hook(void (*hook)(void *user, int level, const char *msg), void *user)
{
    hook_fn = hook;
    hook_user = user;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level >= LOG_DEBUG && !verbose)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    emit(level, buf);
}

void log_run_msg(int level, const struct log_run *ctx, const char *fmt, ...)
{
    if (level >= LOG_DEBUG && !verbose)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!journal ||
        sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%i", level, "SYSLOG_IDENTIFIER=rigd",
                        "RIG_STATION=%s", ctx->station ? ctx->station : "", "RIG_FIXTURE=%s",
                        ctx->fixture ? ctx->fixture : "", "RIG_RUN_ID=%s",
                        ctx->run_id ? ctx->run_id : "", "RIG_DUT=%s", ctx->dut ? ctx->dut : "",
                        NULL) < 0) {
        emit(level, buf);
        return;
    }
    /* (sent to the journal directly: only the API's log hook is left) */
    if (hook_fn && level <= LOG_INFO && !in_hook) {
        in_hook = true;
        hook_fn(hook_user, level, buf);
        in_hook = false;
    }
}
