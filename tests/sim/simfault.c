/* simtest's fault scenarios (see simtest.c): "fault KIND", the documented
 * symptom of one fault kind as a client sees it, and "truth KIND FILE", a
 * fault seen only in the physics, in rigsim's ground truth. */
#include "simtest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simlib.h"

/* ---------------------------------------------------------------- */
/* fault kinds                                                       */

static int pen_fault_flag(const char *kind, uint32_t flag, double value)
{
    struct pen_link l;
    REQUIRE(pen_open(&l) == 0, "open pen");
    REQUIRE(pen_start(&l, 100000) == 0, "start");
    char line[128];
    if (isnan(value))
        snprintf(line, sizeof line, "{\"fault\":\"%s\"}", kind);
    else
        snprintf(line, sizeof line, "{\"fault\":\"%s\",\"value\":%g}", kind, value);
    REQUIRE(ctl_ok(line), "inject");
    uint64_t deadline = now_ms() + 5000;
    struct pen_msg resp;
    uint32_t faults = 0;
    while (now_ms() < deadline && !(faults & flag)) {
        if (pen_request(&l, PEN_MSG_GET_STATUS, NULL, &resp, IO_TIMEOUT_MS) == 0)
            faults = resp.u.status.faults;
        sleep_ms(50);
    }
    CHECK(faults & flag, "%s: status faults 0x%x lack 0x%x", kind, faults, flag);
    struct pen_msg ev;
    CHECK(pen_wait_event(&l, PEN_MSG_EVT_FAULT, -1, 500, &ev), "%s: no EVT_FAULT", kind);
    printf("%s: faults 0x%x, current %u mA, supply %u mV\n", kind, faults,
           resp.u.status.motor_current_ma, resp.u.status.supply_mv);
    pen_close(&l);
    return 0;
}

static int fault_motor_stops(const char *kind, uint32_t flag)
{
    if (pen_fault_flag(kind, flag, NAN) != 0)
        return 1;
    CHECK(sim_wait_motor_stopped(3000), "%s: motor still running", kind);
    return sim_failures ? 1 : 0;
}

static int fault_no_cartridge(void)
{
    struct pen_link l;
    struct pen_msg resp;
    REQUIRE(ctl_ok("{\"fault\":\"no-cartridge\"}"), "inject");
    REQUIRE(pen_open(&l) == 0, "open pen");
    REQUIRE(pen_request(&l, PEN_MSG_IDENTIFY, NULL, &resp, IO_TIMEOUT_MS) == 0, "identify");
    CHECK(resp.u.identity.cartridge_id[0] == '\0' && resp.u.identity.needle_count == 0,
          "cartridge '%s' needles %u", resp.u.identity.cartridge_id, resp.u.identity.needle_count);
    CHECK(pen_request(&l, PEN_MSG_START, NULL, &resp, IO_TIMEOUT_MS) == 1 &&
              resp.u.nak.error == PEN_ERR_NO_CARTRIDGE,
          "START without cartridge not refused with NO_CARTRIDGE");
    pen_close(&l);
    /* the displacement sensor sees no target */
    struct sh_dev d;
    REQUIRE(sh_open(&d) == 0, "open sensor head");
    struct sh_streamer s = { 0 };
    REQUIRE(sh_stream_begin(&s, &d, 4) == 0, "submit");
    REQUIRE(sh_ctrl_out(&d, SH_REQ_START, 0, NULL, 0) == 0, "START");
    sh_stream_run(&s, 300);
    (void)sh_ctrl_out(&d, SH_REQ_STOP, 0, NULL, 0);
    sh_stream_end(&s);
    CHECK(s.flags_seen & SH_BLK_NO_TARGET, "no block flagged NO_TARGET");
    sh_close(&d);
    return sim_failures ? 1 : 0;
}

static int fault_link(const char *kind)
{
    struct pen_link l;
    struct pen_msg resp;
    REQUIRE(pen_open(&l) == 0, "open pen");
    REQUIRE(pen_request(&l, PEN_MSG_IDENTIFY, NULL, &resp, IO_TIMEOUT_MS) == 0, "identify");
    const char *line = strcmp(kind, "pen-corrupt") == 0
                           ? "{\"fault\":\"pen-corrupt\",\"value\":0.002}"
                       : strcmp(kind, "pen-drop") == 0 ? "{\"fault\":\"pen-drop\",\"value\":0.5}"
                                                       : "{\"fault\":\"pen-mute\"}";
    REQUIRE(ctl_ok(line), "inject");
    int answered = 0, lost = 0;
    /* a lost answer costs the whole timeout: fewer tries for a mute pen */
    int tries = strcmp(kind, "pen-mute") == 0 ? 10 : 40;
    for (int i = 0; i < tries; i++) {
        int r = pen_request(&l, PEN_MSG_GET_STATUS, NULL, &resp, 200);
        if (r == 0)
            answered++;
        else
            lost++;
    }
    uint64_t bad = l.rx.stats.crc_errors + l.rx.stats.malformed + l.rx.stats.oversize;
    printf("%s: %d answered, %d lost, %llu bad frames at the host\n", kind, answered, lost,
           (unsigned long long)bad);
    if (strcmp(kind, "pen-corrupt") == 0) {
        CHECK(bad > 0, "no corrupted frame seen by the host");
        CHECK(lost > 0, "no request lost to corruption");
    } else if (strcmp(kind, "pen-drop") == 0) {
        CHECK(lost >= 5 && answered >= 5, "drop 0.5: %d answered %d lost", answered, lost);
        CHECK(bad == 0, "dropping must not corrupt");
    } else {
        CHECK(answered == 0, "a muted pen answered %d times", answered);
    }
    REQUIRE(ctl_ok("{\"clear\":true}"), "clear");
    sleep_ms(200);
    CHECK(pen_request(&l, PEN_MSG_IDENTIFY, NULL, &resp, IO_TIMEOUT_MS) == 0,
          "no answer after clearing %s", kind);
    pen_close(&l);
    return sim_failures ? 1 : 0;
}

static int fault_stream(const char *kind)
{
    struct sh_dev d;
    REQUIRE(sh_open(&d) == 0, "open sensor head");
    struct sh_streamer s = { 0 };
    REQUIRE(sh_stream_begin(&s, &d, 8) == 0, "submit");
    REQUIRE(sh_ctrl_out(&d, SH_REQ_START, 0, NULL, 0) == 0, "START");
    sh_stream_run(&s, 300);
    if (strcmp(kind, "sensor-overrun") == 0)
        REQUIRE(ctl_ok("{\"fault\":\"sensor-overrun\",\"value\":5000}"), "inject");
    else {
        char line[128];
        snprintf(line, sizeof line, "{\"fault\":\"%s\"}", kind);
        REQUIRE(ctl_ok(line), "inject");
    }
    sh_stream_run(&s, 700);
    (void)sh_ctrl_out(&d, SH_REQ_STOP, 0, NULL, 0);
    sh_stream_run(&s, 200);
    sh_stream_end(&s);
    const struct sh_stream_stats *st = &s.cont.stats;
    printf("%s: blocks %llu lost %llu repeated %llu overruns %llu lost samples %llu\n", kind,
           (unsigned long long)st->blocks, (unsigned long long)st->lost_blocks,
           (unsigned long long)st->repeated_blocks, (unsigned long long)st->overruns,
           (unsigned long long)st->lost_samples);
    if (strcmp(kind, "sensor-drop-block") == 0) {
        CHECK(st->lost_blocks == 1, "lost blocks %llu", (unsigned long long)st->lost_blocks);
        CHECK(st->repeated_blocks == 0, "repeats");
    } else if (strcmp(kind, "sensor-repeat-block") == 0) {
        CHECK(st->repeated_blocks == 1, "repeated %llu", (unsigned long long)st->repeated_blocks);
        CHECK(st->lost_blocks == 0, "losses");
    } else {
        CHECK(st->overruns >= 1 && (s.flags_seen & SH_BLK_OVERRUN), "no OVERRUN block");
        CHECK(st->lost_samples > 0, "no samples lost to the overrun");
        CHECK(st->lost_blocks == 0, "an overrun is not a lost block");
    }
    sh_close(&d);
    return sim_failures ? 1 : 0;
}

int scenario_fault(const char *kind)
{
    if (strcmp(kind, "stall") == 0)
        return fault_motor_stops(kind, PEN_FAULT_STALL);
    if (strcmp(kind, "overcurrent") == 0)
        return fault_motor_stops(kind, PEN_FAULT_OVERCURRENT);
    if (strcmp(kind, "low-battery") == 0)
        /* value: supply fall in mV/s (fast, to reach the 3500 mV warning) */
        return pen_fault_flag(kind, PEN_FAULT_LOW_BATTERY, 400) || sim_failures;
    if (strcmp(kind, "no-cartridge") == 0)
        return fault_no_cartridge();
    if (strncmp(kind, "pen-", 4) == 0)
        return fault_link(kind);
    if (strncmp(kind, "sensor-", 7) == 0)
        return fault_stream(kind);
    fprintf(stderr, "simtest: no symptom check for fault '%s'\n", kind);
    return 2;
}

/* ---------------------------------------------------------------- */
/* faults seen only in the physics: compare ground truth before/after  */

struct moments {
    double n, sum, sum2;
};

static void add(struct moments *m, double v)
{
    m->n++;
    m->sum += v;
    m->sum2 += v * v;
}

static double mean(const struct moments *m)
{
    return m->n > 0 ? m->sum / m->n : NAN;
}

static double sd(const struct moments *m)
{
    return m->n > 1 ? sqrt(fmax(0, (m->sum2 - m->sum * m->sum / m->n) / (m->n - 1))) : NAN;
}

/* Strokes in [t0, t1) of the truth file: one field's moments. */
static int truth_window(const char *path, const char *field, double t0, double t1,
                        struct moments *out)
{
    FILE *f = fopen(path, "r");
    REQUIRE(f, "open truth %s", path);
    char line[1024];
    *out = (struct moments){ 0 };
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "state");
        double t = json_num(j, "t_peak"), v = json_num(j, field);
        if (cJSON_IsString(st) && strcmp(st->valuestring, "RUNNING") == 0 && t >= t0 && t < t1 &&
            !isnan(v))
            add(out, v);
        cJSON_Delete(j);
    }
    fclose(f);
    return 0;
}

int scenario_truth(const char *kind, const char *path)
{
    struct pen_link l;
    struct pen_msg resp;
    double value = strcmp(kind, "depth-drift") == 0   ? 6.0  /* mm/min, capped at 0.2 mm */
                   : strcmp(kind, "rate-jitter") == 0 ? 7.0  /* % RMS */
                                                      : 1.0; /* bent needles */
    const char *field = strcmp(kind, "depth-drift") == 0   ? "protrusion_mm"
                        : strcmp(kind, "rate-jitter") == 0 ? "rate_hz"
                                                           : "peak_force_n";
    REQUIRE(pen_open(&l) == 0, "open pen");
    REQUIRE(pen_start(&l, 100000) == 0, "start");
    pen_keep_alive(&l, 1000);
    cJSON *j = ctl("{\"fault\":\"%s\",\"value\":%g}", kind, value);
    double t_inj = json_num(j, "t");
    cJSON_Delete(j);
    REQUIRE(!isnan(t_inj), "inject %s", kind);
    pen_keep_alive(&l, 2500);
    cJSON *q = ctl("{\"query\":\"time\"}");
    double t_end = json_num(q, "t");
    cJSON_Delete(q);
    (void)pen_request(&l, PEN_MSG_STOP, NULL, &resp, IO_TIMEOUT_MS);
    pen_close(&l);

    struct moments before, after;
    if (truth_window(path, field, t_inj - 0.8, t_inj, &before) ||
        truth_window(path, field, t_end - 0.8, t_end, &after))
        return 1;
    printf("%s: %s before: mean %.4f sd %.4f (%g strokes); after: mean %.4f sd %.4f (%g)\n", kind,
           field, mean(&before), sd(&before), before.n, mean(&after), sd(&after), after.n);
    REQUIRE(before.n >= 20 && after.n >= 20, "too few strokes in the truth file");
    if (strcmp(kind, "depth-drift") == 0)
        CHECK(mean(&after) - mean(&before) > 0.1, "protrusion did not creep");
    else if (strcmp(kind, "rate-jitter") == 0)
        CHECK(sd(&after) > 3 * sd(&before), "stroke rate not more jittery");
    else
        CHECK(mean(&after) < 0.97 * mean(&before), "peak force did not drop");
    return sim_failures ? 1 : 0;
}
