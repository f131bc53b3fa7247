/* The station as "status" and "devices" show it: the daemon's own state
 * and one entry per fixture. A request naming a fixture (or a station
 * with one fixture) also gets that fixture's members at the top level,
 * where single-fixture clients have always read them; with several
 * fixtures and none named they are null (docs/API.md, "Members are
 * always sent").
 */
#include <stdio.h>
#include <string.h>

#include "daemon/handlers.h"
#include "daemon/linesync.h"
#include "store/line.h"

/* "sync": the line store's outbox (read on the event thread's own
 * connection: a count over a small table, as quick as the attempts read
 * before each run) and what the sync thread knows. NULL without a line. */
static cJSON *sync_json(struct rigd *r)
{
    if (!r->linesync || !r->store_loop)
        return NULL;
    struct store_sync_status s;
    char err[256];
    cJSON *o;
    if (store_sync_status(r->store_loop, &s, err, sizeof err) < 0) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", err);
    } else {
        o = store_sync_status_json(&s);
    }
    if (!o)
        return NULL;
    struct linesync_info in;
    linesync_get_info(r->linesync, &in);
    cJSON_AddBoolToObject(o, "connected", in.connected);
    cJSON_AddNumberToObject(o, "pushed", (double)in.pushed);
    return o;
}

/* The fixture's session, devices, last stop and run, added to o. */
static void fixture_status_add(struct bench *bench, cJSON *o)
{
    cJSON *sess = cJSON_AddObjectToObject(o, "session");
    cJSON_AddStringToObject(sess, "state", bench->have_session ? "owned" : "free");
    if (bench->have_session)
        cJSON_AddItemToObject(sess, "owner", session_owner_json(&bench->owner));
    else
        cJSON_AddNullToObject(sess, "owner");
    cJSON_AddNumberToObject(sess, "waiting", benchq_count(&bench->waiting, BENCHQ_SESSION));
    cJSON *dev = cJSON_AddObjectToObject(o, "devices");
    bool pen = bench->pen && pen_drv_present(bench->pen);
    cJSON_AddBoolToObject(dev, "pen", pen);
    cJSON_AddBoolToObject(dev, "sensor", bench->sh && sh_drv_present(bench->sh));
    cJSON_AddBoolToObject(dev, "streaming", bench->sh && sh_drv_streaming(bench->sh));
    cJSON_AddBoolToObject(dev, "heartbeat", bench->pen && pen_drv_heartbeat(bench->pen));
    if (pen) {
        uint8_t state = 0;
        uint32_t faults = 0;
        bool known = pen_drv_motor(bench->pen, &state, &faults);
        char names[96];
        cJSON_AddStringToObject(dev, "pen_motor", known ? pen_state_str(state) : "unknown");
        cJSON_AddStringToObject(dev, "pen_faults", pen_fault_names(faults, names, sizeof names));
    } else {
        cJSON_AddNullToObject(dev, "pen_motor");
        cJSON_AddNullToObject(dev, "pen_faults");
    }
    if (bench->last_stop_detail[0]) {
        cJSON *ls = cJSON_AddObjectToObject(o, "last_stop");
        cJSON_AddBoolToObject(ls, "confirmed", bench->last_stop_confirmed);
        cJSON_AddStringToObject(ls, "reason", bench->stop_reason);
        cJSON_AddStringToObject(ls, "detail", bench->last_stop_detail);
    } else {
        cJSON_AddNullToObject(o, "last_stop"); /* no stop since rigd started */
    }
    runner_status_add(bench, o);
}

cJSON *rigd_status_json(struct rigd *r, struct bench *one)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "station", r->cfg.station);
    cJSON_AddStringToObject(b, "state", r->shutting_down ? "shutting_down" : "running");
    if (one) {
        cJSON_AddStringToObject(b, "fixture", one->name);
        fixture_status_add(one, b);
    } else {
        static const char *const members[] = { "fixture",   "session", "devices",
                                               "last_stop", "run",     "runs_waiting" };
        for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
            cJSON_AddNullToObject(b, members[i]);
    }
    cJSON *fixtures = cJSON_AddArrayToObject(b, "fixtures");
    for (size_t i = 0; i < r->nbenches; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "name", r->benches[i].name);
        fixture_status_add(&r->benches[i], f);
        cJSON_AddItemToArray(fixtures, f);
    }
    struct api_stats st;
    api_server_stats(r->api, &st);
    cJSON *a = cJSON_AddObjectToObject(b, "api");
    cJSON_AddNumberToObject(a, "clients", st.clients);
    cJSON_AddNumberToObject(a, "requests", (double)st.requests);
    cJSON_AddNumberToObject(a, "protocol_errors", (double)st.protocol_errors);
    cJSON_AddNumberToObject(a, "samples_dropped", (double)st.samples_dropped);
    cJSON *sync = sync_json(r);
    if (sync)
        cJSON_AddItemToObject(b, "sync", sync);
    else
        cJSON_AddNullToObject(b, "sync");
    return b;
}

cJSON *rigd_devices_json(struct rigd *r, struct bench *one)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "station", r->cfg.station);
    cJSON *arr = cJSON_AddArrayToObject(b, "devices");
    for (size_t i = 0; i < r->nbenches; i++)
        if (!one || one == &r->benches[i] || r->nbenches == 1)
            bench_devices_add(&r->benches[i], arr);
    return b;
}
