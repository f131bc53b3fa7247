/* Bench (station) configuration: which devices make up the bench.
 *
 * {
 *   "station": "sim-1",
 *   "results_dir": "/var/lib/rig/results",
 *   "pen":    { "vid": "0x1209", "pid": "0x504e", "serial": "PEN0001" },
 *   "sensor": { "vid": "0x1209", "pid": "0x5348", "serial": "SH0001",
 *               "rate_hz": 50000 }
 * }
 * A device is matched by USB VID/PID and, when given, serial; the pen may
 * instead name a port ("path": "/dev/ttyACM0"). vid/pid are numbers or
 * "0x..." strings. "sequence_dirs" (optional, absolute paths) are the only
 * places rigd reads sequence and spec files from by path; clients
 * otherwise send the files' contents (rigctl does). Errors read
 * "FILE: json.path: what is wrong".
 */
#ifndef RIG_DEV_STATION_H
#define RIG_DEV_STATION_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define STATION_STR_MAX 128
#define STATION_MAX_SEQ_DIRS 8

struct station_match {
    uint16_t vid, pid;
    char serial[STATION_STR_MAX];   /* "" = any */
    char path[STATION_STR_MAX];     /* pen only; "" = match by USB ids */
};

struct station_config {
    char station[STATION_STR_MAX];
    char results_dir[4096];
    struct station_match pen;
    struct station_match sensor;
    uint32_t sensor_rate_hz;        /* streaming rate per channel */
    char sequence_dirs[STATION_MAX_SEQ_DIRS][1024];
    size_t nsequence_dirs;
};

/* Parse from JSON text; `name` labels error messages. 0 or -1 with err. */
int station_parse(const char *text, const char *name, struct station_config *out,
                  char *err, size_t errlen);
int station_load(const char *path, struct station_config *out, char *err, size_t errlen);
/* The config as JSON (for "status"). */
cJSON *station_to_json(const struct station_config *c);
cJSON *station_match_to_json(const struct station_match *m);

#endif
