/* The station snapshot of docs/WEB.md ("GET /api/station", the SSE
 * `station` event), built from rigd's status, devices, history and unit
 * replies, plus what rigweb remembers of the runs in progress (their last
 * progress event, who started them). Thread-safe. */
#ifndef RIG_WEB_STATION_H
#define RIG_WEB_STATION_H

#include <cjson/cJSON.h>

struct rigd_link;
struct station;

int station_open(struct station **out);
void station_close(struct station *s);
/* Remembers run progress from a rigd event (called for every event). */
void station_note_event(struct station *s, const cJSON *ev);
/* Remembers who started run_id on fixture (shown as the run's operator). */
void station_note_operator(struct station *s, const char *fixture, const char *run_id,
                           const char *user);
/* The snapshot (never NULL but on out of memory): with rigd not connected
 * {"rigd":{"connected":false},"station":null,"fixtures":[]}. Blocks on
 * rigd's replies (a few; each bounded). */
cJSON *station_build(struct station *s, struct rigd_link *link);

/* The calibration state of a sensor's due date (YYYYMMDD) on day `today`
 * (YYYYMMDD): "ok", "due_soon" (within 30 days), "overdue", "unknown"
 * (due 0). *days_left: days until due (negative: past). */
const char *station_cal_state(unsigned due, unsigned today, int *days_left);

#endif
