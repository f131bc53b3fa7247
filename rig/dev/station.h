/* Station configuration: the station's fixtures and which devices make
 * up each fixture's bench.
 *
 * {
 *   "station": "EOL-3",
 *   "results_dir": "/var/lib/rig/results",
 *   "fixtures": [
 *     { "name": "A",
 *       "pen":    { "vid": "0x1209", "pid": "0x504e", "serial": "PA-0000001" },
 *       "sensor": { "serial": "SH2-000101", "rate_hz": 50000 } },
 *     { "name": "B", "pen": { "serial": "PA-0000002" }, "sensor": { "serial": "SH2-000102" } }
 *   ]
 * }
 * The single-fixture form puts "pen" and "sensor" at the top level
 * instead of "fixtures" (optionally "fixture": its name, default "1"); it
 * is the same as a one-element "fixtures". Fixture names are 1..31 of
 * [A-Za-z0-9_.-], unique. With several fixtures every pen names a serial
 * or a path and every sensor head a serial, all distinct: a device that
 * could match two fixtures would put one fixture's pen under another's
 * verdict.
 * Each device may name its driver ("driver": "mnp-pen", "sh2"; see
 * dev/driver.h), default the registry's default for the role (pen,
 * sensor); an unknown name, or a driver of the other role, is an error
 * listing the known drivers. A device is matched by USB VID/PID (default:
 * the driver's ids) and, when given, serial; the pen may instead name a
 * port ("path": "/dev/ttyACM0"). vid/pid are numbers or "0x..." strings. "sequence_dirs" (optional, absolute paths) are the only
 * places rigd reads sequence and spec files from by path; clients
 * otherwise send the files' contents (rigctl does). "database" (optional)
 * is the station results database's path (relative: as results_dir;
 * default station.db in results_dir), or false for none; "max_attempts"
 * (optional, 0 = unlimited) the runs a DUT serial may have. Errors read
 * "FILE: json.path: what is wrong".
 */
#ifndef RIG_DEV_STATION_H
#define RIG_DEV_STATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define STATION_STR_MAX          128
#define STATION_MAX_SEQ_DIRS     8
#define STATION_MAX_FIXTURES     8
#define STATION_FIXTURE_NAME_MAX 32
#define STATION_DRIVER_MAX       32

struct station_match {
    char driver[STATION_DRIVER_MAX]; /* registry name; never "" after parsing */
    uint16_t vid, pid;
    char serial[STATION_STR_MAX]; /* "" = any */
    char path[STATION_STR_MAX];   /* pen only; "" = match by USB ids */
};

/* One fixture: a pen and a sensor head tested together. */
struct fixture_config {
    char name[STATION_FIXTURE_NAME_MAX];
    struct station_match pen;
    struct station_match sensor;
    uint32_t sensor_rate_hz; /* streaming rate per channel */
};

struct station_config {
    char station[STATION_STR_MAX];
    char results_dir[4096];
    struct fixture_config fixtures[STATION_MAX_FIXTURES];
    size_t nfixtures; /* >= 1 */
    char sequence_dirs[STATION_MAX_SEQ_DIRS][1024];
    size_t nsequence_dirs;
    /* The station results database (rig/store): "" until resolved (rigd
     * defaults it to station.db in results_dir); no_database: "database":
     * false, runs are kept as record files only. */
    char database[4096];
    bool no_database;
    unsigned max_attempts; /* runs per DUT serial; 0 = unlimited */
    /* "line": {"conninfo": "..."}: the line-wide store (PostgreSQL) rigd
     * pushes every run to (docs/STORE.md); "" = no line. */
    char line_conninfo[1024];
    /* "retention": {"pass_days": N}: `rigctl prune --config` (the daily
     * timer) prunes PASS captures older than N days; < 0: not given
     * (PRUNE_DEFAULT_PASS_DAYS). */
    double retention_pass_days;
    /* "compress_captures": false -> raw rig-capture/1 attachments (the
     * default, zero, compresses them: docs/RECORD.md) */
    bool raw_captures;
    /* "report": {"auto": true}: rigd writes each run's HTML report beside
     * its record (<stem>.html) after the final record (docs/REPORTS.md). */
    bool report_auto;
};

/* Parse from JSON text; `name` labels error messages. 0 or -1 with err. */
int station_parse(const char *text, const char *name, struct station_config *out, char *err,
                  size_t errlen);
int station_load(const char *path, struct station_config *out, char *err, size_t errlen);
/* The fixture named name, or NULL. */
const struct fixture_config *station_fixture(const struct station_config *c, const char *name);
/* The config as JSON (for "status"). */
cJSON *station_to_json(const struct station_config *c);
/* Relative results_dir and database made absolute (see station.c); the
 * database defaults to station.db in results_dir. 0 or -1 with err. */
int station_resolve_paths(struct station_config *c, char *err, size_t errlen);
cJSON *station_fixture_to_json(const struct fixture_config *f);
cJSON *station_match_to_json(const struct station_match *m);

#endif
