/* simmsa: measurement system analysis through rigsim, as a station would
 * see it (tests/sim/msa.sh runs it):
 *
 *   rigsim --bench fixtures/benches/msa.json --session S --truth FILE -- simmsa FILE
 *
 * Measures the needle depth over a few mounts of the pen (the session's
 * first, two remounts, then a new session's first), each from the ~30
 * strokes of a 0.3 s capture at 50 kS/s, and checks through the control
 * socket that a remount or a new session is refused while the motor runs.
 * At the end it reads rigsim's ground truth: every reading must be the true
 * protrusion of the same strokes plus the displacement zero of the mount in
 * effect, as that mount's truth line says. Prints one line per mount; exits
 * 0 only if every check passed.
 */
#include "simlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE_HZ         50000.0
#define STROKE_RATE_MHZ 100000u
#define MID_NM          (-750000) /* mid-stroke at the 1.000 mm power-on depth */
#define CAPTURE_MS      300
#define MAX_FRAMES      40000 /* 0.3 s at 50 kS/s and the drain after STOP */
#define MOUNTS          4

struct window {
    double depth_mm; /* mean per-stroke top of the displacement */
    size_t strokes;
    size_t first_top, last_top; /* frame indices of the first and last top */
    double session, mount;      /* from the control replies */
};

static void heartbeat(struct pen_link *l)
{
    struct pen_msg resp;
    (void)pen_request(l, PEN_MSG_HEARTBEAT, NULL, &resp, IO_TIMEOUT_MS);
}

/* Per-stroke tops: a stroke is a run of frames above mid-stroke; the first
 * and an unfinished last run may be cut by the capture and are skipped. */
static void stroke_tops(const int32_t *disp, size_t n, struct window *w)
{
    double sum = 0;
    size_t runs = 0;
    w->strokes = 0;
    for (size_t i = 0; i < n;) {
        if (disp[i] <= MID_NM) {
            i++;
            continue;
        }
        size_t a = i, top = i;
        for (; i < n && disp[i] > MID_NM; i++)
            if (disp[i] > disp[top])
                top = i;
        if (runs++ == 0 || a == 0 || i == n)
            continue;
        if (w->strokes++ == 0)
            w->first_top = top;
        w->last_top = top;
        sum += disp[top] / 1e6;
    }
    w->depth_mm = w->strokes ? sum / (double)w->strokes : NAN;
}

/* Stream for CAPTURE_MS (keeping the pen's watchdog fed), stop, take every
 * frame up to the LAST block, find the strokes. */
static int capture(struct pen_link *l, struct sh_dev *d, struct window *w)
{
    static uint8_t buf[SH_TRANSFER_SIZE];
    static int32_t force[SH_MAX_SAMPLES], disp[SH_MAX_SAMPLES], all[MAX_FRAMES];
    struct sh_stream cont;
    sh_stream_reset(&cont);
    REQUIRE(sh_ctrl_out(d, SH_REQ_START, 0, NULL, 0) == 0, "sensor START");
    uint64_t deadline = now_ms() + CAPTURE_MS, next_hb = 0;
    bool stopped = false, last = false;
    size_t n = 0;
    while (!last) {
        uint64_t now = now_ms();
        if (now >= next_hb) {
            heartbeat(l);
            next_hb = now + 100;
        }
        if (!stopped && now >= deadline) {
            REQUIRE(sh_ctrl_out(d, SH_REQ_STOP, 0, NULL, 0) == 0, "sensor STOP");
            stopped = true;
            deadline = now + 3000; /* from here on: the drain's */
        }
        REQUIRE(!stopped || now < deadline, "no LAST block within 3 s of STOP");
        int got = 0;
        int r = libusb_bulk_transfer(d->h, SH_EP_STREAM, buf, sizeof buf, &got, 200);
        if (r == LIBUSB_ERROR_TIMEOUT)
            continue;
        REQUIRE(r == 0, "bulk IN: %s", libusb_strerror(r));
        struct sh_block_header h;
        REQUIRE(sh_block_decode(buf, (size_t)got, &h) == SH_OK, "bad block");
        enum sh_continuity c = sh_stream_check(&cont, &h);
        REQUIRE(c == SH_CONT_OK || (c == SH_CONT_FIRST && h.first_sample == 0),
                "block %u: continuity %d", (unsigned)h.seq, (int)c);
        REQUIRE(!(h.flags & (SH_BLK_OVERRUN | SH_BLK_NO_TARGET)), "block flags 0x%x",
                (unsigned)h.flags);
        REQUIRE(n + h.count <= MAX_FRAMES, "more frames than %d", MAX_FRAMES);
        sh_block_samples(buf, &h, force, disp);
        memcpy(all + n, disp, h.count * sizeof *disp);
        n += h.count;
        last = (h.flags & SH_BLK_LAST) != 0;
    }
    stroke_tops(all, n, w);
    REQUIRE(w->strokes >= 20, "only %zu strokes in the capture", w->strokes);
    return 0;
}

static int start_pen(struct pen_link *l)
{
    struct pen_msg req = { 0 }, resp;
    req.u.rate_mhz = STROKE_RATE_MHZ;
    REQUIRE(pen_request(l, PEN_MSG_SET_RATE, &req, &resp, IO_TIMEOUT_MS) == 0, "set rate");
    REQUIRE(pen_request(l, PEN_MSG_START, NULL, &resp, IO_TIMEOUT_MS) == 0, "start");
    struct pen_status st;
    REQUIRE(pen_wait_state(l, PEN_STATE_RUNNING, 3000, &st), "never RUNNING (%s)",
            pen_state_str(st.state));
    return 0;
}

static int stop_pen(struct pen_link *l)
{
    struct pen_msg resp;
    struct pen_status st;
    REQUIRE(pen_request(l, PEN_MSG_STOP, NULL, &resp, IO_TIMEOUT_MS) == 0, "stop");
    REQUIRE(pen_wait_state(l, PEN_STATE_IDLE, 3000, &st), "not at rest (%s)",
            pen_state_str(st.state));
    return 0;
}

/* One measurement of the current mount: a run as the station makes it. */
static int measure(struct pen_link *l, struct sh_dev *d, struct window *w)
{
    if (start_pen(l) || capture(l, d, w) || stop_pen(l))
        return 1;
    return 0;
}

/* A control request that must succeed: its session and mount go into w. */
static int mount_request(const char *line, struct window *w)
{
    cJSON *j = ctl("%s", line);
    bool ok = j && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok"));
    w->session = json_num(j, "session");
    w->mount = json_num(j, "mount");
    cJSON_Delete(j);
    REQUIRE(ok && !isnan(w->session) && !isnan(w->mount), "%s refused", line);
    return 0;
}

/* A request that must be refused, with a message containing want. */
static void refused(const char *line, const char *want)
{
    cJSON *j = ctl("%s", line);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    CHECK(j && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "ok")), "%s accepted", line);
    CHECK(cJSON_IsString(err) && strstr(err->valuestring, want), "%s: error '%s', want '%s'", line,
          cJSON_IsString(err) ? err->valuestring : "", want);
    cJSON_Delete(j);
}

/* ---- the ground truth, read back at the end ---- */

struct truth {
    double sensor_t0[MOUNTS];
    size_t sensor_starts;
    struct {
        double t, session, mount, disp_zero_um;
    } mounts[16];
    size_t nmounts;
    double *t_peak, *protrusion;
    size_t n, cap;
};

static int truth_load(const char *path, struct truth *t)
{
    FILE *f = fopen(path, "r");
    REQUIRE(f, "open %s", path);
    memset(t, 0, sizeof *t);
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
        const char *e = cJSON_IsString(ev) ? ev->valuestring : "";
        if (strcmp(e, "sensor_start") == 0 && t->sensor_starts < MOUNTS) {
            t->sensor_t0[t->sensor_starts++] = json_num(j, "t");
        } else if (strcmp(e, "mount") == 0 && t->nmounts < 16) {
            t->mounts[t->nmounts].t = json_num(j, "t");
            t->mounts[t->nmounts].session = json_num(j, "session");
            t->mounts[t->nmounts].mount = json_num(j, "mount");
            t->mounts[t->nmounts++].disp_zero_um = json_num(j, "disp_zero_um");
        } else if (!ev && !isnan(json_num(j, "t_peak"))) {
            if (t->n == t->cap) {
                t->cap = t->cap ? 2 * t->cap : 1024;
                t->t_peak = realloc(t->t_peak, t->cap * sizeof *t->t_peak);
                t->protrusion = realloc(t->protrusion, t->cap * sizeof *t->protrusion);
                REQUIRE(t->t_peak && t->protrusion, "out of memory");
            }
            t->t_peak[t->n] = json_num(j, "t_peak");
            t->protrusion[t->n++] = json_num(j, "protrusion_mm");
        }
        cJSON_Delete(j);
    }
    fclose(f);
    return 0;
}

/* Window k against the truth: the same strokes' protrusion, the mount in
 * effect when the capture started. */
static void check_window(const struct truth *t, size_t k, const struct window *w)
{
    double t0 = t->sensor_t0[k];
    double a = t0 + (double)(w->first_top + 1) / RATE_HZ - 0.002;
    double b = t0 + (double)(w->last_top + 1) / RATE_HZ + 0.002;
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->t_peak[i] >= a && t->t_peak[i] <= b) {
            sum += t->protrusion[i];
            n++;
        }
    size_t m = t->nmounts;
    while (m > 0 && t->mounts[m - 1].t > t0)
        m--;
    CHECK(m > 0, "window %zu: no mount line before it", k);
    CHECK(n == w->strokes, "window %zu: %zu truth strokes for %zu measured", k, n, w->strokes);
    if (m == 0 || n == 0)
        return;
    double zero_um = t->mounts[m - 1].disp_zero_um;
    double off_um = (w->depth_mm - sum / (double)n) * 1e3;
    printf("session %g mount %g: depth %.4f mm over %zu strokes, reading - truth %+.3f um, "
           "truth zero %+.3f um\n",
           w->session, w->mount, w->depth_mm, w->strokes, off_um, zero_um);
    CHECK(t->mounts[m - 1].session == w->session && t->mounts[m - 1].mount == w->mount,
          "window %zu: truth mount %g/%g, control said %g/%g", k, t->mounts[m - 1].session,
          t->mounts[m - 1].mount, w->session, w->mount);
    /* the top of a 0.2 um-noisy stroke sits ~0.3 um high */
    CHECK(fabs(off_um - zero_um) < 1.0, "window %zu: reading - truth %.3f um, zero %.3f um", k,
          off_um, zero_um);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: simmsa TRUTH-FILE (under rigsim --truth TRUTH-FILE)\n");
        return 2;
    }
    struct pen_link l;
    struct sh_dev d;
    REQUIRE(pen_open(&l) == 0, "open pen");
    REQUIRE(sh_open(&d) == 0, "open sensor head");
    REQUIRE(sh_set_rate(&d, (uint32_t)RATE_HZ) == 0, "sensor SET_RATE");
    struct window w[MOUNTS];

    /* rigsim --session mounted the pen (mount 1): take it out, put it back */
    REQUIRE(mount_request("{\"remount\":{}}", &w[0]) == 0, "first remount");
    REQUIRE(w[0].mount == 2, "first remount is mount %g", w[0].mount);
    REQUIRE(measure(&l, &d, &w[0]) == 0, "measure mount 2");

    /* the operator must stop the pen first */
    REQUIRE(start_pen(&l) == 0, "start");
    refused("{\"remount\":{}}", "not at rest");
    refused("{\"session\":{\"seed\":99}}", "not at rest");
    REQUIRE(stop_pen(&l) == 0, "stop");
    refused("{\"remount\":{\"gap\":1}}", "remount");
    refused("{\"session\":{}}", "session");

    REQUIRE(mount_request("{\"remount\":{}}", &w[1]) == 0, "remount");
    CHECK(w[1].mount == 3 && w[1].session == w[0].session, "remount: %g/%g", w[1].session,
          w[1].mount);
    REQUIRE(measure(&l, &d, &w[1]) == 0, "measure mount 3");
    REQUIRE(mount_request("{\"remount\":{}}", &w[2]) == 0, "remount");
    REQUIRE(measure(&l, &d, &w[2]) == 0, "measure mount 4");
    /* another session (operator): its own first mount */
    REQUIRE(mount_request("{\"session\":{\"seed\":4242}}", &w[3]) == 0, "session");
    CHECK(w[3].session == 4242 && w[3].mount == 1, "session: %g/%g", w[3].session, w[3].mount);
    REQUIRE(measure(&l, &d, &w[3]) == 0, "measure session 4242");
    pen_close(&l);
    sh_close(&d);

    struct truth t;
    if (truth_load(argv[1], &t))
        return 1;
    CHECK(t.sensor_starts == MOUNTS, "%zu sensor starts in the truth", t.sensor_starts);
    for (size_t k = 0; k < MOUNTS && k < t.sensor_starts; k++)
        check_window(&t, k, &w[k]);
    /* the mounts differ, and the readings with them */
    double spread = 0;
    for (size_t k = 1; k < MOUNTS; k++)
        spread = fmax(spread, fabs(w[k].depth_mm - w[0].depth_mm) * 1e3);
    CHECK(spread > 0.5, "depth readings of 4 mounts within %.3f um of each other", spread);
    free(t.t_peak);
    free(t.protrusion);
    return sim_failures ? 1 : 0;
}
