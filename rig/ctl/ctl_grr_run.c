/* One run of a gauge study through rigd: the run request `rigctl run`
 * sends (the files as this user reads them), waiting for the bench if it
 * is busy, then the run's events until it finishes. */
#include <stdio.h>
#include <string.h>

#include "ctl/ctl_conn.h"
#include "ctl/ctl_core.h"
#include "ctl/ctl_grr.h"

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *request(const struct ctl_args *a, const char *cls)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "class", cls);
    if (a->fixture)
        cJSON_AddStringToObject(o, "fixture", a->fixture);
    return o;
}

/* Sends req and waits for its reply; 0 if it is not an error. */
static int ask(const struct ctl_args *a, struct ctl_conn *c, cJSON *req, double timeout,
               cJSON **reply, const char *what)
{
    char err[512];
    int r = ctl_request(c, req, timeout, NULL, NULL, reply, err, sizeof err);
    if (r <= 0) {
        fprintf(stderr, "rigctl: grr: %s: %s\n", what, r == 0 ? "no reply from rigd" : err);
        return -1;
    }
    (void)a;
    const char *cls = str_of(*reply, "class");
    if (cls && strcmp(cls, "error") == 0) {
        const char *msg = str_of(*reply, "message");
        fprintf(stderr, "rigctl: grr: %s refused: %s\n", what, msg ? msg : "(no message)");
        cJSON_Delete(*reply);
        *reply = NULL;
        return -1;
    }
    return 0;
}

static int outcome_exit(const char *o)
{
    if (o && strcmp(o, "PASS") == 0)
        return CTL_EXIT_OK;
    return o && strcmp(o, "FAIL") == 0 ? CTL_EXIT_FAIL : CTL_EXIT_ERROR;
}

int ctl_grr_run_one(const struct ctl_args *a, const char *sequence, const char *dut,
                    const char *operator_name, const char *study, unsigned part, unsigned trial,
                    cJSON **finished)
{
    *finished = NULL;
    struct ctl_conn c;
    char err[1024], tried[1024];
    const char *path = a->socket ? a->socket : ctl_default_socket(tried, sizeof tried);
    if (ctl_connect(&c, path, a->timeout_s, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl: grr: %s\n", err);
        return CTL_EXIT_UNAVAILABLE;
    }
    struct ctl_run_files f;
    cJSON *reply = NULL;
    int rc = CTL_EXIT_ERROR;
    cJSON *watch = request(a, "watch");
    cJSON_AddBoolToObject(watch, "enable", 1);
    cJSON *topics = cJSON_AddArrayToObject(watch, "topics");
    cJSON_AddItemToArray(topics, cJSON_CreateString("run"));
    if (ask(a, &c, watch, a->timeout_s, &reply, "watch") < 0)
        goto out;
    cJSON_Delete(reply);
    if (ctl_run_files_load(sequence, &f, stderr) < 0)
        goto out;
    cJSON *req = request(a, "run");
    cJSON_AddStringToObject(req, "sequence", f.seq_path);
    cJSON_AddStringToObject(req, "sequence_text", f.seq_text);
    cJSON_AddStringToObject(req, "spec", f.spec_path);
    cJSON_AddStringToObject(req, "spec_text", f.spec_text);
    cJSON_AddStringToObject(req, "dut", dut);
    cJSON_AddStringToObject(req, "operator", operator_name);
    cJSON_AddStringToObject(req, "study", study);
    cJSON_AddNumberToObject(req, "part", part);
    cJSON_AddNumberToObject(req, "trial", trial);
    cJSON_AddBoolToObject(req, "wait", 1);
    ctl_run_files_free(&f);
    if (ask(a, &c, req, -1, &reply, "run") < 0)
        goto out;
    char run_id[128];
    snprintf(run_id, sizeof run_id, "%s", str_of(reply, "run_id") ? str_of(reply, "run_id") : "");
    cJSON_Delete(reply);
    /* The run's events until it finishes (rigd times a run out itself). */
    for (;;) {
        cJSON *ev;
        int r = ctl_read(&c, -1, &ev, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "rigctl: grr: %s before the run finished\n", err);
            goto out;
        }
        if (r == 0)
            continue;
        const char *cls = str_of(ev, "class"), *event = str_of(ev, "event");
        const char *id = str_of(ev, "run_id");
        if (cls && event && id && !strcmp(cls, "run") && !strcmp(event, "finished") &&
            (!run_id[0] || !strcmp(id, run_id))) {
            *finished = ev;
            rc = outcome_exit(str_of(ev, "outcome"));
            break;
        }
        cJSON_Delete(ev);
    }
out:
    ctl_close(&c);
    return rc;
}
