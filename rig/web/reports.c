/* rigweb: the engineer's reports (docs/WEB.md, "Reports"), made by the
 * same library as `rigctl report` (rig/report, docs/REPORTS.md):
 *  - GET /reports/run/{id}: rigd's `history` finds the run by its id (or a
 *    prefix of 8+ characters) and names its record; the page is rendered
 *    from the record file and its attachments, which rigweb reads with
 *    its own rights (group rig). No device is reached: only files.
 *  - GET /reports/lot?since=&until=&fixture=&model=&subgroup=: the lot
 *    report from the station database, opened read-only (config
 *    "database"); rigd's API has no class that carries a page of
 *    megabytes, and a reader cannot disturb rigd's writes (WAL).
 * A report is a self-contained page with inline CSS and SVG, so it gets
 * a CSP of its own: nothing may load, styles may be inline. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/lot_report.h"
#include "report/run_report.h"
#include "store/store.h"
#include "store/store_lot.h"
#include "version/version.h"
#include "web/config.h"
#include "web/handlers.h"
#include "web/rigd_link.h"

#define REPORT_RIGD_WAIT_S 30.0

static enum MHD_Result send_page(struct web_req *r, struct html *h)
{
    size_t len = 0;
    char *text = html_take(h, &len);
    if (!text)
        return web_error(r, 500, "out_of_memory", "out of memory");
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return web_queue_csp(r, 200, resp,
                         "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                         "frame-ancestors 'none'");
}

static const char *member_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* rigd's history object of run `id`: 0 with *run (to free), or the HTTP
 * answer already queued in *ret. */
static int find_run(struct web_req *r, const char *id, cJSON **run, enum MHD_Result *ret)
{
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "class", "history");
    cJSON_AddStringToObject(q, "run", id);
    cJSON *reply = NULL;
    int e = link_request(r->app->link, q, REPORT_RIGD_WAIT_S, &reply);
    if (e) {
        *ret = e == -ETIMEDOUT ? web_error(r, 504, "rigd_timeout", "rigd did not answer")
                               : web_error(r, 503, "rigd_unavailable", "rigd is not connected");
        return -1;
    }
    const char *cls = member_str(reply, "class");
    if (cls && strcmp(cls, "error") == 0) {
        const char *code = member_str(reply, "code");
        bool missing = code && strcmp(code, "not_found") == 0;
        *ret = web_error(r, missing ? 404 : 400, missing ? "not_found" : "rigd_error", "%s",
                         member_str(reply, "message") ? member_str(reply, "message") : "?");
        cJSON_Delete(reply);
        return -1;
    }
    cJSON *runs = cJSON_GetObjectItemCaseSensitive(reply, "runs");
    cJSON *one = cJSON_IsArray(runs) ? cJSON_DetachItemFromArray(runs, 0) : NULL;
    cJSON_Delete(reply);
    if (!one) {
        *ret = web_error(r, 404, "not_found", "no run %s", id);
        return -1;
    }
    *run = one;
    return 0;
}

enum MHD_Result page_report(struct web_req *r)
{
    cJSON *run = NULL;
    enum MHD_Result ret;
    if (find_run(r, r->cap[0], &run, &ret))
        return ret;
    const char *path = member_str(run, "record_path");
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(run, "attempt");
    if (!path || !*path) {
        cJSON_Delete(run);
        return web_error(r, 404, "not_found", "run %s has no record file", r->cap[0]);
    }
    char generator[128];
    snprintf(generator, sizeof generator, "rigweb %s (%s)", rig_version(), rig_vcs());
    struct run_report_opts o = {
        .attempt = cJSON_IsNumber(att) && att->valuedouble >= 1 ? (unsigned)att->valuedouble : 0,
        .retest_reason = member_str(run, "retest_reason"),
        .generator = generator,
    };
    struct html h;
    html_init(&h);
    char err[512];
    int e = run_report_build(path, &o, &h, err, sizeof err);
    cJSON_Delete(run);
    if (e) {
        html_free(&h);
        return web_error(r,
                         e == -ENOENT   ? 404
                         : e == -EACCES ? 403
                                        : 500,
                         "report_failed", "the run's report cannot be made: %s", err);
    }
    return send_page(r, &h);
}

static const char *arg(struct web_req *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

enum MHD_Result page_lot_report(struct web_req *r)
{
    const char *db = r->app->cfg->database;
    if (!db)
        return web_error(r, 501, "no_database",
                         "rigweb has no station database configured (\"database\")");
    struct store_filter f = {
        .since = arg(r, "since"),
        .until = arg(r, "until"),
        .fixture = arg(r, "fixture"),
        .model = arg(r, "model"),
    };
    if (!f.since)
        return web_error(r, 400, "bad_request",
                         "a lot report needs \"since\" (UTC, e.g. 2026-12-01)");
    unsigned subgroup = 0;
    if (arg(r, "subgroup")) {
        char *end;
        long n = strtol(arg(r, "subgroup"), &end, 10);
        if (*end || n < 2 || n > 25)
            return web_error(r, 400, "bad_request", "\"subgroup\" must be 2..25");
        subgroup = (unsigned)n;
    }
    char err[512];
    struct store *st = NULL;
    struct store_lot *lot = NULL;
    int e = store_open_readonly(&st, db, err, sizeof err);
    if (e == 0)
        e = store_lot(st, &f, &lot, err, sizeof err);
    store_close(st);
    if (e) {
        store_lot_free(lot);
        return web_error(r, e == -EINVAL ? 400 : 500, "report_failed",
                         "the lot report cannot be made: %s", err);
    }
    char source[600];
    snprintf(source, sizeof source, "station database %s", db);
    struct lot_report_opts o = {
        .filter = &f, .source = source, .subgroup = subgroup, .run_link_prefix = "/reports/run/"
    };
    struct html h;
    html_init(&h);
    e = lot_report_write(&h, lot, &o, err, sizeof err);
    store_lot_free(lot);
    if (e) {
        html_free(&h);
        return web_error(r, 500, "report_failed", "the lot report cannot be made: %s", err);
    }
    return send_page(r, &h);
}
