/* The "run" request, checked before anything moves (docs/RUNS.md):
 *
 *  - arguments: the DUT serial and the operator are 1..63 printable
 *    characters (a newline would forge log lines); a record is named by a
 *    file name only, and goes into the station's results directory;
 *  - files: the sequence and its spec as the client read them with its own
 *    rights ("sequence_text", "spec_text": rigctl sends them), or by path
 *    only from the station's "sequence_dirs" -- a root rigd never reads,
 *    nor echoes the keys of, a file a client could not read itself;
 *  - the bench: both devices attached, the pen is the unit the run names,
 *    and the results directory has room for what the run will write.
 *
 * Every refusal is an error reply that says what is wrong; a refused run
 * writes nothing and touches no device.
 */
#include "daemon/runreq.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/record.h"
#include "daemon/log.h"
#include "daemon/request.h"

/* Room a run needs beyond its captures (record, JUnit, the journal). */
#define RUNREQ_SPACE_MARGIN (16ull << 20)
#define RUNREQ_FILE_MAX     (1u << 20)

static const char *req_str(const cJSON *req, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool record_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 6 || n >= RUNREQ_NAME_MAX || strcmp(s + n - 5, ".json") != 0 || s[0] == '.' ||
        s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]))
            return false;
    return true;
}

/* Every problem of a bad sequence or spec, one per line in message and
 * as an array for scripts. */
static void reply_problems(struct api_client *c, const cJSON *req, const struct rig_problems *probs)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "class", "error");
    cJSON_AddStringToObject(e, "request", "run");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
    if (id)
        cJSON_AddItemToObject(e, "id", cJSON_Duplicate(id, 1));
    cJSON_AddStringToObject(e, "code", API_E_BAD_ARGUMENT);
    cJSON *arr = cJSON_AddArrayToObject(e, "problems");
    size_t len = 64;
    for (size_t i = 0; i < probs->count; i++)
        len += probs->msg[i] ? strlen(probs->msg[i]) + 3 : 0;
    char *msg = malloc(len);
    if (msg) {
        int n = snprintf(msg, len, "invalid sequence or spec (%zu problem%s):", probs->count,
                         probs->count == 1 ? "" : "s");
        for (size_t i = 0; i < probs->count; i++) {
            if (!probs->msg[i])
                continue;
            n += snprintf(msg + n, len - (size_t)n, "\n  %s", probs->msg[i]);
            cJSON_AddItemToArray(arr, cJSON_CreateString(probs->msg[i]));
        }
    }
    cJSON_AddStringToObject(e, "message", msg ? msg : "invalid sequence or spec");
    free(msg);
    api_send(c, e);
}

/* realpath of path if it lies inside one of the station's sequence
 * directories; NULL otherwise. */
static char *allowed_path(const struct station_config *cfg, const char *path)
{
    char *real = realpath(path, NULL);
    if (!real)
        return NULL;
    for (size_t i = 0; i < cfg->nsequence_dirs; i++) {
        char dir[PATH_MAX];
        if (!realpath(cfg->sequence_dirs[i], dir))
            continue;
        size_t n = strlen(dir);
        if (strncmp(real, dir, n) == 0 && real[n] == '/')
            return real;
    }
    free(real);
    return NULL;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(RUNREQ_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, RUNREQ_FILE_MAX + 1, f) : 0;
    bool bad = !buf || ferror(f) || n > RUNREQ_FILE_MAX;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* By path: the sequence and the spec it names must both lie in the
 * station's sequence directories. */
static struct rig_sequence *load_allowed(struct bench *bench, struct api_client *c,
                                         const cJSON *req, const char *path,
                                         struct rig_problems *probs)
{
    char *seq_path = allowed_path(&bench->rigd->cfg, path);
    if (!seq_path) {
        api_error(c, req, API_E_PERMISSION,
                  "rigd reads sequence files only from the station's sequence directories "
                  "(\"sequence_dirs\": %zu configured); send the file's contents as "
                  "\"sequence_text\" and \"spec_text\" (rigctl does)",
                  bench->rigd->cfg.nsequence_dirs);
        return NULL;
    }
    size_t seq_len = 0, spec_len = 0;
    char *seq_text = read_text(seq_path, &seq_len), *spec_path = NULL, *spec_text = NULL;
    struct rig_sequence *bare =
        seq_text ? sequence_parse(seq_path, seq_text, seq_len, NULL, probs) : NULL;
    char *named = bare && bare->spec_ref ? sequence_resolve_spec(seq_path, bare->spec_ref) : NULL;
    if (named)
        spec_path = allowed_path(&bench->rigd->cfg, named);
    if (spec_path)
        spec_text = read_text(spec_path, &spec_len);
    struct rig_sequence *s = NULL;
    if (!seq_text)
        api_error(c, req, API_E_BAD_ARGUMENT, "cannot read sequence %s", seq_path);
    else if (!bare)
        reply_problems(c, req, probs);
    else if (!spec_text)
        api_error(c, req, API_E_PERMISSION,
                  "the spec the sequence names (%s) is not a readable "
                  "file in the station's sequence directories",
                  bare->spec_ref);
    else if (!(s = sequence_from_texts(seq_path, seq_text, seq_len, spec_path, spec_text, spec_len,
                                       probs)))
        reply_problems(c, req, probs);
    sequence_free(bare);
    free(named);
    free(spec_path);
    free(spec_text);
    free(seq_text);
    free(seq_path);
    return s;
}

static struct rig_sequence *load_sequence(struct bench *bench, struct api_client *c,
                                          const cJSON *req)
{
    const char *label = req_str(req, "sequence");
    const char *seq_text = req_str(req, "sequence_text");
    const char *spec_text = req_str(req, "spec_text");
    const char *spec_label = req_str(req, "spec");
    /* (Both texts or neither: run_request_parse checked that first.) */
    if (!*label) {
        api_error(c, req, API_E_BAD_ARGUMENT,
                  "\"sequence\" is empty: the sequence file's path (with \"sequence_text\" and "
                  "\"spec_text\", its contents and its spec's)");
        return NULL;
    }
    struct rig_problems probs;
    problems_init(&probs);
    struct rig_sequence *s = NULL;
    if (seq_text) {
        /* The spec's label: the client's path, else the reference. */
        struct rig_sequence *bare =
            spec_label ? NULL : sequence_parse(label, seq_text, strlen(seq_text), NULL, &probs);
        const char *sl = spec_label ? spec_label : bare && bare->spec_ref ? bare->spec_ref : "spec";
        if (spec_label || bare)
            s = sequence_from_texts(label, seq_text, strlen(seq_text), sl, spec_text,
                                    strlen(spec_text), &probs);
        sequence_free(bare);
        if (!s)
            reply_problems(c, req, &probs);
    } else {
        s = load_allowed(bench, c, req, label, &probs);
    }
    problems_free(&probs);
    return s;
}

/* A named record must not exist yet: records are never overwritten. */
static int check_record_free(struct bench *bench, struct api_client *c, const cJSON *req,
                             const struct run_request *rq)
{
    if (!rq->record_name[0])
        return 0;
    char path[4200], err[256];
    struct stat st;
    if (run_request_record_path(bench, rq, "", path, sizeof path, err, sizeof err) < 0) {
        api_error(c, req, API_E_INTERNAL, "%s", err);
        return -1;
    }
    if (lstat(path, &st) == 0) {
        api_error(c, req, API_E_BAD_ARGUMENT,
                  "record %s exists in the results directory: records are never overwritten",
                  rq->record_name);
        return -1;
    }
    return 0;
}

/* A gauge study's run (rigctl grr): "study" (1..63 printable) with "part"
 * and "trial" (integers 1..1000), all three or none. */
static int study_parse(struct api_client *c, const cJSON *req, struct run_request *out)
{
    const cJSON *st = api_member(req, "study"), *part = api_member(req, "part");
    const cJSON *trial = api_member(req, "trial");
    if (!st && !part && !trial)
        return 0;
    if (!st || !part || !trial) {
        api_error(c, req, API_E_BAD_REQUEST, "\"study\", \"part\" and \"trial\" go together");
        return -1;
    }
    if (!rigd_printable(st->valuestring, sizeof out->study)) {
        api_error(c, req, API_E_BAD_ARGUMENT, "\"study\" must be 1..63 printable characters");
        return -1;
    }
    const cJSON *n[] = { part, trial };
    for (size_t i = 0; i < 2; i++)
        if (!(n[i]->valuedouble >= 1 && n[i]->valuedouble <= 1000) ||
            n[i]->valuedouble != (double)(int)n[i]->valuedouble) {
            api_error(c, req, API_E_BAD_ARGUMENT, "\"%s\" must be an integer 1..1000",
                      i ? "trial" : "part");
            return -1;
        }
    snprintf(out->study, sizeof out->study, "%s", st->valuestring);
    out->study_part = (unsigned)part->valuedouble;
    out->study_trial = (unsigned)trial->valuedouble;
    return 0;
}

/* The members' types were checked by the class table (handlers.c); here
 * what depends on their values, in the order docs/API.md gives. */
int run_request_parse(struct bench *bench, struct api_client *c, const cJSON *req,
                      struct run_request *out)
{
    memset(out, 0, sizeof *out);
    const char *dut = req_str(req, "dut");
    const cJSON *op = api_member(req, "operator");
    const cJSON *rec = api_member(req, "record");
    if (!api_member(req, "sequence_text") != !api_member(req, "spec_text")) {
        api_error(c, req, API_E_BAD_REQUEST,
                  "\"sequence_text\" and \"spec_text\" go together (a sequence and its spec)");
        return -1;
    }
    if (!rigd_printable(dut, sizeof out->dut)) {
        api_error(c, req, API_E_BAD_ARGUMENT,
                  "\"dut\" must be the pen's serial, 1..63 printable characters");
        return -1;
    }
    if (op && !rigd_printable(op->valuestring, sizeof out->operator_name)) {
        api_error(
            c, req, API_E_BAD_ARGUMENT,
            "\"operator\" must be 1..63 printable characters (no newline or control characters)");
        return -1;
    }
    if (study_parse(c, req, out) < 0)
        return -1;
    if (rec && !record_name_ok(rec->valuestring)) {
        api_error(c, req, API_E_BAD_ARGUMENT,
                  "\"record\" must be a file name ending in .json (letters, digits, '.', '_', "
                  "'-'; no directory): records go into the station's results directory");
        return -1;
    }
    snprintf(out->dut, sizeof out->dut, "%s", dut);
    if (op)
        snprintf(out->operator_name, sizeof out->operator_name, "%s", op->valuestring);
    if (rec)
        snprintf(out->record_name, sizeof out->record_name, "%s", rec->valuestring);
    out->wait = cJSON_IsTrue(api_member(req, "wait"));
    out->seq = load_sequence(bench, c, req);
    if (!out->seq)
        return -1;
    if (check_record_free(bench, c, req, out) < 0) {
        run_request_free(out);
        return -1;
    }
    return 0;
}

void run_request_free(struct run_request *rq)
{
    sequence_free(rq->seq);
    rq->seq = NULL;
}

/* The results directory, absolute (relative to rigd's working directory). */
static int results_dir(struct bench *bench, char *dir, size_t cap)
{
    const char *cfg_dir = bench->rigd->cfg.results_dir[0] ? bench->rigd->cfg.results_dir : ".";
    char cwd[2048];
    int n;
    if (cfg_dir[0] != '/' && getcwd(cwd, sizeof cwd))
        n = snprintf(dir, cap, "%s/%s", cwd, cfg_dir);
    else
        n = snprintf(dir, cap, "%s", cfg_dir);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int make_dirs(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, RECORD_DIR_MODE) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, RECORD_DIR_MODE) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int run_request_record_path(struct bench *bench, const struct run_request *rq, const char *run_id,
                            char *out, size_t cap, char *err, size_t errlen)
{
    char dir[4096];
    int rc = results_dir(bench, dir, sizeof dir);
    if (rc == 0)
        rc = make_dirs(dir);
    if (rc < 0) {
        snprintf(err, errlen, "cannot create results directory %.150s: %s", dir, strerror(-rc));
        return rc;
    }
    if (rq->record_name[0]) {
        rc = snprintf(out, cap, "%s/%s", dir, rq->record_name) < (int)cap ? 0 : -ENAMETOOLONG;
    } else {
        /* <dut>-<UTC time>-<run id>.json, the serial reduced to safe characters */
        char safe[64];
        size_t j = 0;
        for (const char *p = rq->dut; *p && j + 1 < sizeof safe; p++)
            safe[j++] = strchr("/\\ \t:*?\"<>|", *p) ? '_' : *p;
        safe[j] = '\0';
        time_t now = time(NULL);
        struct tm tm;
        char ts[32] = "unknown-time";
        if (gmtime_r(&now, &tm))
            strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
        rc = snprintf(out, cap, "%s/%s-%s-%s.json", dir, safe, ts, run_id) < (int)cap
                 ? 0
                 : -ENAMETOOLONG;
    }
    if (rc < 0) {
        snprintf(err, errlen, "record path too long");
        return rc;
    }
    return 0;
}

int run_request_bench_ready(struct bench *bench, struct api_client *c, const cJSON *req,
                            const struct run_request *rq, bool check_unit)
{
    if (!bench->pen || !pen_drv_present(bench->pen) || !bench->sh || !sh_drv_present(bench->sh)) {
        bool pen = bench->pen && pen_drv_present(bench->pen);
        api_error(c, req, API_E_NO_DEVICE,
                  "%s not attached: the run is refused (plug %s in, or "
                  "wait until `rigctl devices` shows it)",
                  !pen ? "the pen is" : "the sensor head is", !pen ? "the pen" : "the sensor head");
        return -1;
    }
    const struct pen_identity *id = pen_drv_identity(bench->pen);
    if (check_unit && (!id || strcmp(id->serial, rq->dut) != 0)) {
        api_error(c, req, API_E_WRONG_UNIT,
                  "the pen in the fixture reports serial %s, not %s: scan the pen that is in "
                  "the fixture (nothing was tested)",
                  id ? id->serial : "(unknown)", rq->dut);
        return -1;
    }
    /* What the run will write: its captures at the sensor's rate (8 bytes
     * a frame), twice over for the temp file of an atomic write. */
    char dir[4096];
    struct statvfs vfs;
    if (results_dir(bench, dir, sizeof dir) == 0 && make_dirs(dir) == 0 &&
        statvfs(dir, &vfs) == 0) {
        double seconds = sequence_capture_seconds(rq->seq, PEN_RATE_MIN_MHZ / 1000.0);
        unsigned long long need =
            (unsigned long long)(seconds * bench->cfg->sensor_rate_hz * 8.0 * 2.0) +
            RUNREQ_SPACE_MARGIN;
        unsigned long long have = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
        if (have < need) {
            api_error(c, req, API_E_NO_SPACE,
                      "results directory %s has %llu MB free; this run needs about %llu MB: "
                      "free space before testing (nothing was tested)",
                      dir, have >> 20, (need + (1u << 20) - 1) >> 20);
            return -1;
        }
    }
    return 0;
}
