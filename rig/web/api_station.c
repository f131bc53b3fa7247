/* rigweb: the station, runs and the engineer's queries (docs/WEB.md,
 * "Station", "Runs", "Engineer") -- each a request to rigd through the
 * link, its reply passed on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/config.h"
#include "web/handlers.h"
#include "web/rigd_link.h"
#include "web/station.h"

/* How long a browser's request waits for rigd: queries of a big station
 * database take a while (docs/API.md: stats over 100 000 runs ~0.5 s). */
#define RIGD_WAIT_S 30.0

/* Asks rigd; on success *reply is its (non-error) reply and 0 is
 * returned, else the HTTP answer has been queued into *ret. */
static int ask(struct web_req *r, cJSON *req, cJSON **reply, enum MHD_Result *ret)
{
    int e = link_request(r->app->link, req, RIGD_WAIT_S, reply);
    if (e == -ETIMEDOUT) {
        *ret = web_error(r, 504, "rigd_timeout", "rigd did not answer in %.0f s", RIGD_WAIT_S);
        return -1;
    }
    if (e) {
        *ret = web_error(r, 503, "rigd_unavailable", "rigd is not connected");
        return -1;
    }
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(*reply, "class");
    if (cJSON_IsString(cls) && strcmp(cls->valuestring, "error") == 0) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(*reply, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(*reply, "message");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", "rigd_error");
        cJSON_AddStringToObject(o, "rigd_code", cJSON_IsString(code) ? code->valuestring : "");
        cJSON_AddStringToObject(o, "message", cJSON_IsString(msg) ? msg->valuestring : "");
        const cJSON *problems = cJSON_GetObjectItemCaseSensitive(*reply, "problems");
        if (problems)
            cJSON_AddItemToObject(o, "problems", cJSON_Duplicate(problems, true));
        cJSON_Delete(*reply);
        *reply = NULL;
        *ret = web_json(r, 502, o);
        return -1;
    }
    return 0;
}

/* The reply without rigd's envelope (class, id). */
static enum MHD_Result pass_on(struct web_req *r, cJSON *reply)
{
    cJSON_DeleteItemFromObjectCaseSensitive(reply, "class");
    cJSON_DeleteItemFromObjectCaseSensitive(reply, "id");
    return web_json(r, 200, reply);
}

static cJSON *req_new(const char *cls)
{
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "class", cls);
    return q;
}

enum MHD_Result api_station(struct web_req *r)
{
    cJSON *s = station_build(r->app->station, r->app->link);
    return s ? web_json(r, 200, s) : MHD_NO;
}

enum MHD_Result api_run(struct web_req *r)
{
    const char *fx = r->cap[0];
    const cJSON *dut = cJSON_GetObjectItemCaseSensitive(r->body, "dut");
    if (!cJSON_IsString(dut) || !dut->valuestring[0])
        return web_error(r, 400, "bad_request", "needs \"dut\": the pen's serial");
    const char *seq = config_sequence(r->app->cfg, fx);
    if (!seq)
        return web_error(r, 404, "not_found", "no sequence configured for fixture %s", fx);
    cJSON *q = req_new("run");
    cJSON_AddStringToObject(q, "fixture", fx);
    cJSON_AddStringToObject(q, "sequence", seq);
    cJSON_AddStringToObject(q, "dut", dut->valuestring);
    /* The record names the person, not rigweb's account. */
    cJSON_AddStringToObject(q, "operator", r->sess.user);
    cJSON *reply;
    enum MHD_Result ret;
    if (ask(r, q, &reply, &ret))
        return ret;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, "run_id");
    if (cJSON_IsString(id))
        station_note_operator(r->app->station, fx, id->valuestring, r->sess.user);
    fprintf(stderr, "rigweb: %s started run %s on fixture %s (dut %s)\n", r->sess.user,
            cJSON_IsString(id) ? id->valuestring : "?", fx, dut->valuestring);
    cJSON_DeleteItemFromObjectCaseSensitive(reply, "state");
    return pass_on(r, reply);
}

enum MHD_Result api_abort(struct web_req *r)
{
    cJSON *q = req_new("abort");
    cJSON_AddStringToObject(q, "fixture", r->cap[0]);
    cJSON_AddStringToObject(q, "operator", r->sess.user);
    cJSON *reply;
    enum MHD_Result ret;
    if (ask(r, q, &reply, &ret))
        return ret;
    fprintf(stderr, "rigweb: %s aborted fixture %s\n", r->sess.user, r->cap[0]);
    cJSON_DeleteItemFromObjectCaseSensitive(reply, "action");
    return pass_on(r, reply);
}

/* Copies the query arguments `names` into q as strings ("limit": number). */
static int add_args(struct web_req *r, cJSON *q, const char *const *names)
{
    for (; *names; names++) {
        const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, *names);
        if (!v || !*v)
            continue;
        if (strcmp(*names, "limit") == 0) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 1000)
                return -1;
            cJSON_AddNumberToObject(q, "limit", (double)n);
        } else {
            cJSON_AddStringToObject(q, *names, v);
        }
    }
    return 0;
}

static enum MHD_Result query(struct web_req *r, const char *cls, const char *const *names)
{
    cJSON *q = req_new(cls);
    if (add_args(r, q, names)) {
        cJSON_Delete(q);
        return web_error(r, 400, "bad_request", "\"limit\" must be a whole number 1..1000");
    }
    cJSON *reply;
    enum MHD_Result ret;
    if (ask(r, q, &reply, &ret))
        return ret;
    return pass_on(r, reply);
}

enum MHD_Result api_history(struct web_req *r)
{
    static const char *const names[] = { "dut",     "since", "until", "outcome",
                                         "fixture", "limit", NULL };
    return query(r, "history", names);
}

enum MHD_Result api_stats(struct web_req *r)
{
    static const char *const names[] = { "measurement", "since", "until", "fixture", NULL };
    return query(r, "stats", names);
}

enum MHD_Result api_devices(struct web_req *r)
{
    static const char *const names[] = { NULL };
    return query(r, "devices", names);
}

enum MHD_Result api_unit(struct web_req *r)
{
    cJSON *q = req_new("unit");
    cJSON_AddStringToObject(q, "serial", r->cap[0]);
    cJSON *reply;
    enum MHD_Result ret;
    if (ask(r, q, &reply, &ret))
        return ret;
    return pass_on(r, reply);
}
