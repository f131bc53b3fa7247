/* The station's automatic run report (runner layer; station config
 * "report": {"auto": true}, docs/REPORTS.md): after a run has ended --
 * its final record written, the verdict decided and the "finished" event
 * queued -- its HTML report is written beside the record as <stem>.html.
 *
 * Rendering reads the record and every capture back (decompressing them)
 * and takes tens of ms for an EOL run (docs/REPORTS.md, figures), too long
 * for the event loop, so each report is a job on a thread of its own. The
 * job touches only its own copies of the paths; when it is done an
 * eventfd wakes the event thread, which joins it and logs the outcome (the
 * log hook publishes to API watchers, which only the event thread may
 * do). A report that cannot be written is logged as a warning: it is
 * never a run error, and nothing of the record or the verdict depends on
 * it. At shutdown the jobs still running are waited for (bounded by the
 * rendering time). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon/runner_int.h"
#include "report/run_report.h"
#include "version/version.h"

struct autoreport {
    struct autoreport *next, **pprev; /* in runner->reports (event thread) */
    pthread_t thread;
    int efd;
    sd_event_source *src;
    char record[4096], out[4096];
    char station[128], fixture[32], run_id[37], dut[64];
    unsigned attempt;
    /* filled by the job's thread */
    int rc;
    char err[600];
    double ms;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void render(struct autoreport *j)
{
    double t0 = now_ms();
    char gen[160];
    snprintf(gen, sizeof gen, "Written by rigd %s (%s) after the run.", rig_version(), rig_vcs());
    struct run_report_opts o = { .attempt = j->attempt, .generator = gen };
    j->rc = run_report_file(j->record, j->out, &o, j->err, sizeof j->err);
    j->ms = now_ms() - t0;
}

static void *job_main(void *arg)
{
    struct autoreport *j = arg;
    render(j);
    uint64_t one = 1;
    /* the event thread joins us when it reads this; if it cannot be
     * woken, shutdown still joins every job listed */
    if (write(j->efd, &one, sizeof one) < 0)
        j->rc = j->rc ? j->rc : -errno;
    return NULL;
}

static void job_log(const struct autoreport *j)
{
    const struct log_run ctx = {
        .station = j->station, .fixture = j->fixture, .run_id = j->run_id, .dut = j->dut
    };
    if (j->rc == 0)
        log_run_msg(LOG_INFO, &ctx, "run %s: report %s written in %.1f ms", j->run_id, j->out,
                    j->ms);
    else
        log_run_msg(LOG_WARNING, &ctx, "run %s: no report (the run stands as recorded): %s",
                    j->run_id, j->err[0] ? j->err : strerror(-j->rc));
}

static void job_free(struct autoreport *j)
{
    if (j->pprev) {
        *j->pprev = j->next;
        if (j->next)
            j->next->pprev = j->pprev;
    }
    j->src = sd_event_source_disable_unref(j->src);
    if (j->efd >= 0)
        close(j->efd);
    free(j);
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *user)
{
    (void)s;
    (void)fd;
    (void)revents;
    struct autoreport *j = user;
    pthread_join(j->thread, NULL);
    job_log(j);
    job_free(j);
    return 0;
}

void autoreport_start(struct runner *rn, const struct run *run, bool now)
{
    struct bench *bench = rn->bench;
    if (!bench->rigd->cfg.report_auto || run->exec_rc < 0 || access(run->record_path, F_OK) != 0)
        return; /* off, or no record (the run was refused before it began) */
    struct autoreport *j = calloc(1, sizeof *j);
    if (!j) {
        log_run_msg(LOG_WARNING, RUN_LOG(run), "run %s: no report: out of memory", run->run_id);
        return;
    }
    j->efd = -1;
    snprintf(j->record, sizeof j->record, "%s", run->record_path);
    snprintf(j->station, sizeof j->station, "%s", bench->rigd->cfg.station);
    snprintf(j->fixture, sizeof j->fixture, "%s", bench->name);
    snprintf(j->run_id, sizeof j->run_id, "%s", run->run_id);
    snprintf(j->dut, sizeof j->dut, "%s", run->dut);
    j->attempt = run->attempt;
    const char *why = NULL;
    int rc = 0;
    if (run_report_path_for(j->record, j->out, sizeof j->out) < 0) {
        why = "record path too long";
    } else if (now) {
        render(j);
        job_log(j);
        job_free(j);
        return;
    } else if ((j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        rc = -errno;
        why = "eventfd";
    } else if ((rc = sd_event_add_io(bench->rigd->ev, &j->src, j->efd, EPOLLIN, on_done, j)) < 0) {
        why = "event source";
    } else if ((rc = -pthread_create(&j->thread, NULL, job_main, j)) < 0) {
        why = "thread";
    }
    if (why) {
        log_run_msg(LOG_WARNING, RUN_LOG(run), "run %s: no report: %s%s%s", run->run_id, why,
                    rc ? ": " : "", rc ? strerror(-rc) : "");
        job_free(j);
        return;
    }
    j->next = rn->reports;
    if (j->next)
        j->next->pprev = &j->next;
    j->pprev = &rn->reports;
    rn->reports = j;
}

void autoreport_shutdown(struct runner *rn)
{
    while (rn->reports) {
        struct autoreport *j = rn->reports;
        pthread_join(j->thread, NULL);
        job_log(j);
        job_free(j);
    }
}
