/* The station database tests' helpers (storetest.h). */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storetest.h"

/* 2026-12-01T00:00:00Z */
#define BASE_EPOCH 1796083200

/* Not ck_assert: the helpers also serve the benchmark, outside Check
 * (where ck_assert reports even a success to a runner that is not there). */
#define need(c)                                                                                    \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);                                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char *sdup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    need(!s || d);
    return d;
}

void trun_id(char out[37], unsigned long n)
{
    snprintf(out, 37, "00000000-0000-4000-8000-%012lu", n % 1000000000000ul);
}

void trun_init(struct rec_run *r, const char *id, const char *dut, const char *fixture, double t,
               enum rig_outcome outcome)
{
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    r->outcome = outcome;
    r->dut_serial = sdup(dut);
    r->fixture = sdup(fixture);
    r->operator_name = sdup("op");
    r->station = sdup("station-1");
    r->sw_version = sdup("0.1.0");
    r->sequence.name = sdup("eol");
    r->sequence.file = sdup("eol.json");
    memset(r->sequence.sha256, 'a', DIGEST_HEX_LEN);
    r->spec.name = sdup("pen-a");
    r->spec.version = sdup("3");
    memset(r->spec.sha256, 'b', DIGEST_HEX_LEN);
    r->sequence.attachment.name = sdup("run.sequence.json");
    memset(r->sequence.attachment.sha256, 'c', DIGEST_HEX_LEN);
    double whole = floor(t);
    r->started.tv_sec = BASE_EPOCH + (time_t)whole;
    r->started.tv_nsec = (long)((t - whole) * 1e9);
    r->has_ended = true;
    r->ended = r->started;
    r->ended.tv_sec += 30;
    r->ninstruments = 1;
    struct rig_instrument *in = &r->instruments[0];
    snprintf(in->role, sizeof in->role, "sensor-head");
    snprintf(in->model, sizeof in->model, "SH-1");
    snprintf(in->serial, sizeof in->serial, "SH0001");
    in->cal_date = 20260101;
    in->cal_due = 20270101;
    in->has_coefficients = true;
    in->force_gain_ppm = 1000000;
    if (outcome != OUTCOME_PASS)
        r->message = sdup(outcome_str(outcome));
}

void trun_add_step(struct rec_run *r, const struct tmeas *m, size_t n)
{
    struct rec_step *s = realloc(r->steps, (r->nsteps + 1) * sizeof *s);
    need(s);
    r->steps = s;
    s = &r->steps[r->nsteps++];
    memset(s, 0, sizeof *s);
    s->index = (unsigned)r->nsteps;
    s->section = sdup("main");
    s->path = sdup("$.main[0]");
    s->kind = STEP_CAPTURE;
    s->name = sdup("capture");
    s->has_started = true;
    s->started = r->started;
    s->setpoints.rate_hz = 100;
    s->setpoints.depth_mm = NAN;
    s->duration_s = 1.5;
    s->outcome = OUTCOME_PASS;
    s->loop.n = 1;
    snprintf(s->loop.v[0].key, sizeof s->loop.v[0].key, "rate_hz");
    s->loop.v[0].value = 100;
    s->meas = calloc(n ? n : 1, sizeof *s->meas);
    need(s->meas);
    s->nmeas = n;
    for (size_t i = 0; i < n; i++) {
        struct rec_measurement *d = &s->meas[i];
        d->name = sdup(m[i].name);
        d->quantity = sdup("peak_force");
        d->units = sdup("N");
        d->value = m[i].value;
        d->comparison = m[i].cmp;
        d->low = m[i].low;
        d->high = m[i].high;
        d->outcome = m[i].outcome;
        d->limit = sdup("limit");
        s->outcome = outcome_worse(s->outcome, m[i].outcome);
        r->summary.measurements++;
        r->summary.pass += m[i].outcome == OUTCOME_PASS;
        r->summary.fail += m[i].outcome == OUTCOME_FAIL;
    }
    r->summary.steps++;
}

void trun_free(struct rec_run *r)
{
    for (size_t i = 0; i < r->nsteps; i++) {
        struct rec_step *s = &r->steps[i];
        for (size_t j = 0; j < s->nmeas; j++) {
            free(s->meas[j].name);
            free(s->meas[j].quantity);
            free(s->meas[j].units);
            free(s->meas[j].limit);
        }
        free(s->meas);
        free(s->section);
        free(s->path);
        free(s->name);
    }
    free(r->steps);
    free(r->dut_serial);
    free(r->fixture);
    free(r->operator_name);
    free(r->station);
    free(r->sw_version);
    free(r->sequence.name);
    free(r->sequence.file);
    free(r->spec.name);
    free(r->spec.version);
    free(r->sequence.attachment.name);
    free(r->message);
    memset(r, 0, sizeof *r);
}

const char *scratch_path(const char *name)
{
    static char path[512];
    char dir[] = STORE_TEST_TMP "/storeXXXXXX";
    mkdir(STORE_TEST_TMP, 0700);
    need(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

long long sql_int(const char *path, const char *sql)
{
    sqlite3 *db;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
            if (sqlite3_step(s) == SQLITE_ROW)
                v = sqlite3_column_int64(s, 0);
            sqlite3_finalize(s);
        }
    }
    sqlite3_close(db);
    return v;
}
