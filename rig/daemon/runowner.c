/* rigd's run manager, a run and the bench's session (docs/DAEMON.md
 * "Sessions"): a run needs the bench free for its client, claims a
 * session unless the client holds one, and at its end releases what it
 * claimed or stops the motor, then hands the bench on. */
#include <stdio.h>

#include "daemon/runner_int.h"

/* The bench is free for c: it owns the session, or nobody does. */
bool bench_free_for(struct bench *bench, struct api_client *c)
{
    struct runner *rn = bench->runner;
    if (rn && rn->run)
        return false;
    return session_owned_by(bench, c) || (!bench->have_session && !bench->stopping);
}

void busy_error(struct bench *bench, struct api_client *c, const cJSON *req)
{
    struct runner *rn = bench->runner;
    if (rn && rn->run)
        api_error(c, req, API_E_BUSY,
                  "bench busy: run %s (%s on %s) owned by %s; retry or use --wait", rn->run->run_id,
                  rn->run->seq->name ? rn->run->seq->name : "?", rn->run->dut, rn->run->owner_name);
    else if (bench->have_session)
        api_error(
            c, req, API_E_BUSY,
            "bench busy: session %llu owned by %s (pid %ld) on %s since %s; retry or use --wait",
            (unsigned long long)bench->owner.id, bench->owner.user, (long)bench->owner.pid,
            bench->owner.host, bench->owner.started);
    else
        api_error(c, req, API_E_BUSY, "bench busy: a motor stop is in progress; retry");
}

bool run_claim_session(struct bench *bench, struct api_client *c, struct run *run)
{
    if (session_owned_by(bench, c))
        return true;
    cJSON *claim = cJSON_CreateObject();
    char purpose[128];
    snprintf(purpose, sizeof purpose, "run %s on %s", run->seq->name ? run->seq->name : "?",
             run->dut);
    cJSON_AddStringToObject(claim, "purpose", purpose);
    int rc = session_claim(bench, c, claim, false);
    cJSON_Delete(claim);
    if (rc < 0) {
        busy_error(bench, c, run->req);
        return false;
    }
    run->claimed_session = true;
    return true;
}

void run_release_bench(struct bench *bench, struct api_client *owner, bool claimed, bool passed)
{
    /* A session the run claimed ends with it (the release stops the motor
     * once more: a confirmed stop is the bench's resting state). A session
     * the client held before the run stays its own, but a run that did not
     * pass still gets rigd's own stop on top of the engine's. */
    if (owner && claimed && session_owned_by(bench, owner))
        session_release(bench, "run finished");
    else if (!passed && !bench->stopping)
        safe_stop(bench, "run ended without PASS", NULL, NULL);
    /* Session claims were refused while the run was ending; with no stop
     * in flight nothing else will hand the bench on (a stop's completion
     * does so itself). */
    if (!bench->stopping)
        session_after_stop(bench);
    bench_update_stream(bench);
}
