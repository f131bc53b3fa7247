/* rigctl's engine-backed functions (see ctl_core.h). */
#include "ctl/ctl_core.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl/ctl_args.h"
#include "core/junit.h"
#include "core/outcome.h"
#include "core/prune.h"
#include "core/recompute.h"
#include "core/record.h"
#include "core/sequence.h"
#include "dev/station.h"
#include "store/store.h"

/* check_file() tells sequences and spec files apart and reports every
 * problem as `file: json.path: message`. */

/* One record: its differences as "path: line" (text) or a JSON object. */
static int recompute_one(const char *path, bool json, FILE *out, FILE *err)
{
    char *lines = NULL, msg[512];
    size_t len = 0;
    FILE *mem = open_memstream(&lines, &len);
    if (!mem) {
        fprintf(err, "rigctl: out of memory\n");
        return CTL_EXIT_ERROR;
    }
    struct recompute_result r;
    int rc = recompute_record(path, mem, &r, msg, sizeof msg);
    fclose(mem);
    if (rc < 0) {
        fprintf(err, "rigctl: %s\n", msg);
        free(lines);
        return CTL_EXIT_ERROR;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject(), *d = cJSON_AddArrayToObject(o, "differences");
        cJSON_AddStringToObject(o, "record", path);
        cJSON_AddBoolToObject(o, "complete", !r.incomplete);
        cJSON_AddNumberToObject(o, "steps", r.steps);
        cJSON_AddNumberToObject(o, "captures", r.captures);
        cJSON_AddNumberToObject(o, "pruned_captures", r.pruned);
        cJSON_AddNumberToObject(o, "measurements", r.measurements);
        for (char *line = strtok(lines, "\n"); line && d; line = strtok(NULL, "\n"))
            cJSON_AddItemToArray(d, cJSON_CreateString(line));
        char *text = cJSON_PrintUnformatted(o);
        if (text)
            fprintf(out, "%s\n", text);
        free(text);
        cJSON_Delete(o);
    } else {
        for (char *line = strtok(lines, "\n"); line; line = strtok(NULL, "\n"))
            fprintf(out, "%s: %s\n", path, line);
        char pruned[64] = "";
        if (r.pruned)
            snprintf(pruned, sizeof pruned, " (%u pruned by retention)", r.pruned);
        fprintf(out, "%s: %s%u step%s, %u capture%s%s, %u measurement%s recomputed: %s\n", path,
                r.incomplete ? "incomplete run; " : "", r.steps, r.steps == 1 ? "" : "s",
                r.captures, r.captures == 1 ? "" : "s", pruned, r.measurements,
                r.measurements == 1 ? "" : "s",
                r.differences ? "DIFFERENCES" : "all agree with the record");
    }
    free(lines);
    return rc ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

int ctl_recompute(char **records, int n, bool json, FILE *out, FILE *err)
{
    int worst = CTL_EXIT_OK;
    for (int i = 0; i < n; i++) {
        int rc = recompute_one(records[i], json, out, err);
        if (rc == CTL_EXIT_ERROR || (rc == CTL_EXIT_FAIL && worst == CTL_EXIT_OK))
            worst = rc;
    }
    return worst;
}

/* prune --station-db: the station database's attachment rows follow the
 * records. A run the database does not have (records older than it, or
 * of another station) is counted, not an error. */
struct prune_db {
    struct store *st;
    unsigned marked, not_in_db;
};

static int mark_pruned(void *ctx, const char *run_id, const char *name,
                       const struct timespec *pruned_at, char *err, size_t errlen)
{
    struct prune_db *d = ctx;
    int r = store_mark_pruned(d->st, run_id, name, pruned_at, err, errlen);
    if (r == -ENOENT) {
        d->not_in_db++;
        return 0;
    }
    if (r == 0)
        d->marked++;
    return r;
}

int ctl_prune(char **paths, int n, double pass_days, bool dry_run, const char *station_db,
              bool json, FILE *out, FILE *err)
{
    struct prune_policy p = {
        .pass_days = pass_days < 0 ? PRUNE_DEFAULT_PASS_DAYS : pass_days,
        .dry_run = dry_run,
    };
    struct prune_db db = { 0 };
    if (station_db) {
        char msg[512];
        if (store_open(&db.st, station_db, msg, sizeof msg) < 0) {
            fprintf(err, "rigctl: %s\n", msg);
            return CTL_EXIT_ERROR;
        }
        p.on_pruned = mark_pruned;
        p.ctx = &db;
    }
    struct prune_result r = { 0 };
    int worst = CTL_EXIT_OK;
    for (int i = 0; i < n; i++) {
        char msg[512];
        struct stat st;
        bool is_dir = stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode);
        int rc = is_dir ? prune_dir(paths[i], &p, json ? NULL : out, &r, msg, sizeof msg)
                        : prune_record(paths[i], &p, json ? NULL : out, &r, msg, sizeof msg);
        if (rc < 0) {
            fprintf(err, "rigctl: %s\n", msg);
            worst = CTL_EXIT_ERROR;
        }
    }
    store_close(db.st);
    if (json) {
        fprintf(out,
                "{\"records\":%u,\"pruned_records\":%u,\"files\":%u,\"bytes\":%llu,"
                "\"kept_not_pass\":%u,\"kept_young\":%u,\"dry_run\":%s",
                r.records, r.pruned_records, r.files, r.bytes, r.kept_not_pass, r.kept_young,
                dry_run ? "true" : "false");
        if (station_db)
            fprintf(out, ",\"db_marked\":%u,\"db_not_found\":%u", db.marked, db.not_in_db);
        fprintf(out, "}\n");
    } else {
        if (station_db && !dry_run)
            fprintf(out, "station database: %u pruned capture%s marked, %u not in the database\n",
                    db.marked, db.marked == 1 ? "" : "s", db.not_in_db);
        fprintf(out,
                "%u record%s: %u %s, %s%u capture file%s (%llu bytes); kept: %u not PASS, "
                "%u PASS younger than %g days\n",
                r.records, r.records == 1 ? "" : "s", r.pruned_records,
                dry_run ? "would be pruned" : "pruned now", dry_run ? "would delete " : "deleted ",
                r.files, r.files == 1 ? "" : "s", r.bytes, r.kept_not_pass, r.kept_young,
                p.pass_days);
    }
    return worst;
}

int ctl_station_db(const char *station_db, const char *config, char *out, size_t outlen, char *err,
                   size_t errlen)
{
    static struct station_config c; /* large: not on the stack */
    if (!config) {
        snprintf(out, outlen, "%s", station_db ? station_db : "");
        return 0;
    }
    if (station_load(config, &c, err, errlen) < 0 || station_resolve_paths(&c, err, errlen) < 0)
        return -EINVAL;
    if (c.no_database) {
        snprintf(err, errlen, "%s: the station keeps no database (\"database\": false)", config);
        return -ENOENT;
    }
    snprintf(out, outlen, "%s", c.database);
    return 0;
}

int ctl_prune_config(const char *config, double pass_days, bool dry_run, bool json, FILE *out,
                     FILE *err)
{
    static struct station_config c; /* large: not on the stack */
    char msg[512];
    if (station_load(config, &c, msg, sizeof msg) < 0 ||
        station_resolve_paths(&c, msg, sizeof msg) < 0) {
        fprintf(err, "rigctl: %s\n", msg);
        return CTL_EXIT_ERROR;
    }
    if (pass_days < 0)
        pass_days = c.retention_pass_days;
    char *paths[] = { c.results_dir };
    return ctl_prune(paths, 1, pass_days, dry_run, c.no_database ? NULL : c.database, json, out,
                     err);
}

int ctl_check_files(char **files, int nfiles, FILE *out, FILE *err)
{
    int rc = CTL_EXIT_OK;
    for (int i = 0; i < nfiles; i++) {
        struct rig_problems problems;
        problems_init(&problems);
        const char *kind = "";
        int r = check_file(files[i], &problems, &kind);
        for (size_t k = 0; k < problems.count; k++)
            fprintf(out, "%s\n", problems.msg[k] ? problems.msg[k] : "(out of memory)");
        if (problems.oom)
            fprintf(err, "rigctl: check: out of memory; %s may have more problems\n", files[i]);
        if (r != 0 || problems_any(&problems)) {
            rc = CTL_EXIT_FAIL;
        } else {
            fprintf(out, "%s: ok (%s)\n", files[i], kind && *kind ? kind : "file");
        }
        problems_free(&problems);
    }
    return rc;
}

int ctl_write_junit(const char *record_path, const char *junit_path, const char *run_id,
                    const char *outcome, const char *reason, FILE *err)
{
    char msg[512];
    struct junit_verdict v = { .outcome = outcome, .reason = reason };
    cJSON *record = record_read(record_path, msg, sizeof msg);
    if (!record) {
        /* No record to read: the verdict alone, never green. */
        fprintf(err, "rigctl: --junit: cannot read run record %s: %s\n", record_path, msg);
        char why[700];
        snprintf(why, sizeof why, "the run record cannot be read (%s)%s%s", msg, reason ? ": " : "",
                 reason ? reason : "");
        record = cJSON_CreateObject();
        cJSON_AddStringToObject(record, "id", run_id ? run_id : "");
        cJSON_AddBoolToObject(record, "complete", false);
        cJSON_AddNullToObject(record, "outcome");
        v.reason = why;
        int r = junit_write_verdict(junit_path, record, &v, msg, sizeof msg);
        cJSON_Delete(record);
        if (r < 0)
            fprintf(err, "rigctl: --junit: cannot write %s: %s\n", junit_path, msg);
        return -1;
    }
    int r = junit_write_verdict(junit_path, record, &v, msg, sizeof msg);
    cJSON_Delete(record);
    if (r < 0) {
        fprintf(err, "rigctl: --junit: cannot write %s: %s\n", junit_path, msg);
        return -1;
    }
    return 0;
}

static char *slurp(const char *path, FILE *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(err, "rigctl: run: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1u << 20, n = 0;
    char *buf = malloc(cap + 1);
    if (buf)
        n = fread(buf, 1, cap + 1, f);
    bool bad = !buf || ferror(f) || n > cap;
    fclose(f);
    if (bad) {
        fprintf(err, "rigctl: run: cannot read %s (larger than 1 MiB?)\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

int ctl_run_files_load(const char *sequence, struct ctl_run_files *out, FILE *err)
{
    memset(out, 0, sizeof *out);
    struct rig_problems problems;
    problems_init(&problems);
    struct rig_sequence *s = sequence_load(sequence, &problems);
    for (size_t k = 0; k < problems.count; k++)
        fprintf(err, "%s\n", problems.msg[k] ? problems.msg[k] : "(out of memory)");
    problems_free(&problems);
    if (!s) {
        fprintf(err, "rigctl: run: %s is not a valid sequence (nothing was run)\n", sequence);
        return -1;
    }
    out->seq_path = realpath(sequence, NULL);
    out->spec_path = s->spec_path ? realpath(s->spec_path, NULL) : NULL;
    sequence_free(s);
    if (out->seq_path && out->spec_path) {
        out->seq_text = slurp(out->seq_path, err);
        out->spec_text = out->seq_text ? slurp(out->spec_path, err) : NULL;
    }
    if (!out->seq_text || !out->spec_text) {
        ctl_run_files_free(out);
        return -1;
    }
    return 0;
}

void ctl_run_files_free(struct ctl_run_files *f)
{
    free(f->seq_path);
    free(f->seq_text);
    free(f->spec_path);
    free(f->spec_text);
    memset(f, 0, sizeof *f);
}
