/* simmulti: scenarios for a rigsim with two benches, run as
 *   rigsim --bench fixture-2.json --bench fixture-3.json [...] -- simmulti SCENARIO
 * Bench 0 is pen PA-0000002 + sensor head SH2-000102, bench 1 PA-0000003 +
 * SH2-000103 (fixtures/benches/fixture-2.json, fixture-3.json). Like
 * simtest, a plain libserialport/libusb client; exits 0 only if every
 * check passed.
 *
 *   enum                     both pens listed by sp_list_ports and both
 *                            sensor heads by libusb, each with its serial
 *                            and its own port and bus address; each pen's
 *                            IDENTIFY gives its own serial; "bench" in
 *                            control requests
 *   stream                   both sensor heads stream at once without loss;
 *                            unplugging bench 1's leaves bench 0's running;
 *                            the re-plug takes an unused bus address
 *   faults                   (rigsim --fault 1:pen-mute) bench 1's pen is
 *                            mute, bench 0's answers; a stall on bench 1
 *                            leaves bench 0's motor running
 *   truth FILE0 FILE1        (rigsim --truth FILE0 --truth FILE1) each
 *                            bench's ground truth follows its own pen
 *   hash SERIAL N            a hash of the first N samples of that sensor head
 */
#include "simlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBENCH 2

static const char *const pen_serial[NBENCH] = { "PA-0000002", "PA-0000003" };
static const char *const sh_serial[NBENCH] = { "SH2-000102", "SH2-000103" };
static const char *const pen_port[NBENCH] = { "/dev/ttyACM0", "/dev/ttyACM1" };

/* ---------------------------------------------------------------- */

static int check_ports(void)
{
    struct sp_port **ports;
    bool seen[NBENCH] = { false };
    REQUIRE(sp_list_ports(&ports) == SP_OK, "sp_list_ports: %s", sp_last_error_message());
    for (int i = 0; ports[i]; i++) {
        const char *name = sp_get_port_name(ports[i]);
        const char *ser = sp_get_port_usb_serial(ports[i]);
        int bus = -1, addr = -1;
        (void)sp_get_port_usb_bus_address(ports[i], &bus, &addr);
        printf("port %s serial %s bus %d address %d\n", name, ser ? ser : "?", bus, addr);
        for (int b = 0; b < NBENCH; b++) {
            if (strcmp(name, pen_port[b]) != 0)
                continue;
            seen[b] = true;
            CHECK(ser && strcmp(ser, pen_serial[b]) == 0, "%s: serial %s, want %s", name,
                  ser ? ser : "(none)", pen_serial[b]);
            /* bench b's pen is the first device plugged for it: 2, 4 */
            CHECK(addr == 2 + 2 * b, "%s: bus address %d, want %d", name, addr, 2 + 2 * b);
        }
    }
    sp_free_port_list(ports);
    for (int b = 0; b < NBENCH; b++)
        CHECK(seen[b], "%s (bench %d) not listed", pen_port[b], b);
    return 0;
}

/* Each pen answers IDENTIFY with its own serial. */
static int check_identify(void)
{
    for (int b = 0; b < NBENCH; b++) {
        struct pen_link l;
        struct pen_msg resp;
        REQUIRE(pen_open_port(&l, pen_port[b]) == 0, "open %s", pen_port[b]);
        CHECK(pen_request(&l, PEN_MSG_IDENTIFY, NULL, &resp, IO_TIMEOUT_MS) == 0, "%s: identify",
              pen_port[b]);
        CHECK(strcmp(resp.u.identity.serial, pen_serial[b]) == 0, "%s: IDENTIFY serial %s",
              pen_port[b], resp.u.identity.serial);
        pen_close(&l);
    }
    return 0;
}

/* Both sensor heads on the bus, each with its serial on its own port. */
static int check_sensor_heads(void)
{
    libusb_context *ctx;
    libusb_device **list;
    int seen[NBENCH] = { 0 };
    REQUIRE(libusb_init(&ctx) == 0, "libusb_init");
    ssize_t n = libusb_get_device_list(ctx, &list);
    REQUIRE(n >= 0, "libusb_get_device_list: %s", libusb_strerror((int)n));
    for (ssize_t i = 0; i < n; i++) {
        struct libusb_device_descriptor dd;
        libusb_device_handle *h;
        unsigned char ser[64] = "";
        if (libusb_get_device_descriptor(list[i], &dd) < 0 || dd.idVendor != SH_USB_VID ||
            dd.idProduct != SH_USB_PID)
            continue;
        REQUIRE(libusb_open(list[i], &h) == 0, "libusb_open");
        CHECK(libusb_get_string_descriptor_ascii(h, dd.iSerialNumber, ser, sizeof ser) > 0,
              "serial string");
        libusb_close(h);
        uint8_t ports[8];
        int np = libusb_get_port_numbers(list[i], ports, 8);
        int addr = libusb_get_device_address(list[i]);
        printf("sensor head serial %s address %d port %d\n", ser, addr, np > 0 ? ports[0] : -1);
        for (int b = 0; b < NBENCH; b++) {
            if (strcmp((char *)ser, sh_serial[b]) != 0)
                continue;
            seen[b]++;
            CHECK(np == 1 && ports[0] == 2 + 2 * b, "%s: port %d, want 1-%d", ser,
                  np > 0 ? ports[0] : -1, 2 + 2 * b);
            CHECK(addr == 3 + 2 * b, "%s: address %d, want %d", ser, addr, 3 + 2 * b);
        }
    }
    libusb_free_device_list(list, 1);
    libusb_exit(ctx);
    for (int b = 0; b < NBENCH; b++)
        CHECK(seen[b] == 1, "sensor head %s seen %d times", sh_serial[b], seen[b]);
    return 0;
}

/* The request is refused with a message containing why. */
static bool ctl_refused(const char *line, const char *why)
{
    cJSON *j = ctl("%s", line);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    bool refused = j && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "ok")) &&
                   cJSON_IsString(err) && strstr(err->valuestring, why);
    if (!refused) {
        char *t = j ? cJSON_PrintUnformatted(j) : NULL;
        fprintf(stderr, "ctl: %s -> %s\n", line, t ? t : "(no reply)");
        cJSON_free(t);
    }
    cJSON_Delete(j);
    return refused;
}

/* One control socket: "bench" picks the bench, a missing one is refused. */
static int check_control(void)
{
    for (int b = 0; b < NBENCH; b++) {
        cJSON *j = ctl("{\"query\":\"stats\",\"bench\":%d}", b);
        CHECK(json_num(j, "sensor.devnum") == 3 + 2 * b, "bench %d: sensor devnum %g", b,
              json_num(j, "sensor.devnum"));
        cJSON_Delete(j);
    }
    CHECK(ctl_refused("{\"query\":\"pen\",\"bench\":2}", "no such bench"), "bench 2 not refused");
    /* bench 1 may not take bench 0's pen serial: rigd could not tell them apart */
    CHECK(ctl_refused("{\"swap_pen\":{\"seed\":5,\"serial\":\"PA-0000002\",\"gap\":0},"
                      "\"bench\":1}",
                      "bench 0's pen"),
          "swap_pen to bench 0's serial not refused");
    cJSON *q = ctl("{\"query\":\"pen\",\"bench\":1}");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "present")),
          "bench 1's pen unplugged by a refused swap");
    cJSON_Delete(q);
    return 0;
}

static int scenario_enum(void)
{
    if (check_ports() || check_identify() || check_sensor_heads() || check_control())
        return 1;
    return sim_failures ? 1 : 0;
}

/* ---------------------------------------------------------------- */

static void run_both(struct sh_streamer *s, unsigned ms)
{
    for (uint64_t end = now_ms() + ms; now_ms() < end;) {
        for (int b = 0; b < NBENCH; b++)
            if (s[b].inflight > 0)
                sh_stream_run(&s[b], 20);
    }
}

static int scenario_stream(void)
{
    struct sh_dev d[NBENCH];
    struct sh_streamer s[NBENCH] = { { 0 } };
    for (int b = 0; b < NBENCH; b++) {
        REQUIRE(sh_open_serial(&d[b], sh_serial[b]) == 0, "open %s", sh_serial[b]);
        REQUIRE(sh_set_rate(&d[b], 50000) == 0, "SET_RATE");
        REQUIRE(sh_stream_begin(&s[b], &d[b], 8) == 0, "submit");
    }
    for (int b = 0; b < NBENCH; b++)
        REQUIRE(sh_ctrl_out(&d[b], SH_REQ_START, 0, NULL, 0) == 0, "START %s", sh_serial[b]);
    run_both(s, 1500);
    uint64_t blocks[NBENCH];
    for (int b = 0; b < NBENCH; b++) {
        blocks[b] = s[b].cont.stats.blocks;
        CHECK(blocks[b] >= 100, "%s: %llu blocks in 1.5 s", sh_serial[b],
              (unsigned long long)blocks[b]);
    }
    /* bench 1's sensor head goes; bench 0's must not notice */
    REQUIRE(ctl_ok("{\"fault\":\"sensor-unplug\",\"bench\":1,\"replug_after\":0.5}"),
            "unplug bench 1's sensor head");
    run_both(s, 1500);
    CHECK(s[1].no_device > 0, "bench 1: no LIBUSB_TRANSFER_NO_DEVICE after its unplug");
    CHECK(s[0].no_device == 0 && s[0].errors == 0, "bench 0: transfer errors");
    CHECK(s[0].cont.stats.blocks - blocks[0] >= 100, "bench 0 stalled: %llu blocks in 1.5 s",
          (unsigned long long)(s[0].cont.stats.blocks - blocks[0]));
    CHECK(now_ms() - s[0].last_block_at_ms < 200, "bench 0: no block for %llu ms",
          (unsigned long long)(now_ms() - s[0].last_block_at_ms));
    cJSON *q = ctl("{\"query\":\"sensor\",\"bench\":0}");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "streaming")), "bench 0 stopped");
    cJSON_Delete(q);
    /* the re-plug took a bus address no device had: 2..5 are the first plugs */
    q = ctl("{\"query\":\"stats\",\"bench\":1}");
    CHECK(json_num(q, "sensor.plugs") == 2 && json_num(q, "sensor.devnum") == 6,
          "bench 1 re-plug: %g plugs, devnum %g (want 2, 6)", json_num(q, "sensor.plugs"),
          json_num(q, "sensor.devnum"));
    cJSON_Delete(q);

    REQUIRE(sh_ctrl_out(&d[0], SH_REQ_STOP, 0, NULL, 0) == 0, "STOP");
    uint64_t drain_end = now_ms() + 2000;
    while (!s[0].saw_last && s[0].inflight > 0 && now_ms() < drain_end)
        sh_stream_run(&s[0], 100);
    for (int b = 0; b < NBENCH; b++) {
        const struct sh_stream_stats *st = &s[b].cont.stats;
        printf("%s: %llu blocks, %llu samples, lost %llu blocks %llu samples, overruns %llu, "
               "bad %llu, no-device %llu\n",
               sh_serial[b], (unsigned long long)st->blocks, (unsigned long long)st->samples,
               (unsigned long long)st->lost_blocks, (unsigned long long)st->lost_samples,
               (unsigned long long)st->overruns, (unsigned long long)st->bad_blocks,
               (unsigned long long)s[b].no_device);
        CHECK(st->lost_blocks == 0 && st->lost_samples == 0 && st->overruns == 0 &&
                  st->bad_blocks == 0 && st->repeated_blocks == 0,
              "%s: lost or bad blocks", sh_serial[b]);
        sh_stream_end(&s[b]);
        sh_close(&d[b]);
    }
    CHECK(s[0].saw_last, "bench 0: no LAST block after STOP");
    /* bench 1's head is back, with its serial */
    struct sh_dev again;
    uint64_t deadline = now_ms() + 3000;
    while (sh_open_serial(&again, sh_serial[1]) != 0 && now_ms() < deadline)
        sleep_ms(100);
    REQUIRE(again.h, "bench 1's sensor head not back after the re-plug");
    sh_close(&again);
    return sim_failures ? 1 : 0;
}

/* ---------------------------------------------------------------- */

static bool motor_running(int bench)
{
    cJSON *j = ctl("{\"query\":\"pen\",\"bench\":%d}", bench);
    bool running = j && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "motor_running"));
    cJSON_Delete(j);
    return running;
}

static void keep_both_alive(struct pen_link *l, unsigned ms)
{
    struct pen_msg resp;
    for (uint64_t end = now_ms() + ms; now_ms() < end; sleep_ms(100))
        for (int b = 0; b < NBENCH; b++)
            (void)pen_request(&l[b], PEN_MSG_HEARTBEAT, NULL, &resp, IO_TIMEOUT_MS);
}

static int scenario_faults(void)
{
    struct pen_link l[NBENCH];
    struct pen_msg resp;
    for (int b = 0; b < NBENCH; b++)
        REQUIRE(pen_open_port(&l[b], pen_port[b]) == 0, "open %s", pen_port[b]);
    /* --fault 1:pen-mute: only bench 1's pen is silent */
    CHECK(pen_request(&l[0], PEN_MSG_IDENTIFY, NULL, &resp, IO_TIMEOUT_MS) == 0,
          "bench 0's pen mute too");
    CHECK(pen_request(&l[1], PEN_MSG_IDENTIFY, NULL, &resp, 300) == -1,
          "bench 1's pen answers despite --fault 1:pen-mute");
    REQUIRE(ctl_ok("{\"fault\":\"pen-mute\",\"value\":0,\"bench\":1}"), "unmute bench 1");
    REQUIRE(pen_request(&l[1], PEN_MSG_IDENTIFY, NULL, &resp, IO_TIMEOUT_MS) == 0,
            "bench 1's pen still mute");
    CHECK(strcmp(resp.u.identity.serial, pen_serial[1]) == 0, "bench 1 serial %s",
          resp.u.identity.serial);
    for (int b = 0; b < NBENCH; b++)
        REQUIRE(pen_start(&l[b], 100000) == 0, "start bench %d", b);
    REQUIRE(ctl_ok("{\"fault\":\"stall\",\"bench\":1}"), "stall bench 1");
    keep_both_alive(l, 600);
    struct pen_status st;
    CHECK(pen_wait_state(&l[1], PEN_STATE_FAULT, 2000, &st), "bench 1 not in FAULT (%s)",
          pen_state_str(st.state));
    CHECK(pen_wait_state(&l[0], PEN_STATE_RUNNING, 100, &st) && st.faults == 0,
          "bench 0 not RUNNING without faults (%s, faults 0x%x)", pen_state_str(st.state),
          (unsigned)st.faults);
    CHECK(motor_running(0), "bench 0's motor stopped by bench 1's stall");
    /* "clear" on bench 1 leaves bench 0 alone too */
    REQUIRE(ctl_ok("{\"clear\":true,\"bench\":1}"), "clear bench 1");
    CHECK(motor_running(0), "bench 0's motor stopped by bench 1's clear");
    for (int b = 0; b < NBENCH; b++) {
        (void)pen_request(&l[b], PEN_MSG_STOP, NULL, &resp, IO_TIMEOUT_MS);
        pen_close(&l[b]);
    }
    return sim_failures ? 1 : 0;
}

/* ---------------------------------------------------------------- */

/* The unit line's seed (as text: 64-bit, beyond a double) and the mean
 * stroke rate of one truth file. */
static int read_truth(const char *path, char *seed, size_t seedlen, double *mean_rate, int *strokes)
{
    FILE *f = fopen(path, "r");
    REQUIRE(f, "open truth %s", path);
    char line[1024];
    double sum = 0;
    *strokes = 0;
    seed[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        const char *u = strstr(line, "\"event\":\"unit\",\"seed\":");
        if (u && !seed[0])
            snprintf(seed, seedlen, "%.*s", (int)strspn(u + 22, "0123456789"), u + 22);
        cJSON *j = cJSON_Parse(line);
        double r = json_num(j, "rate_hz");
        if (!isnan(json_num(j, "stroke")) && !isnan(r)) {
            sum += r;
            ++*strokes;
        }
        cJSON_Delete(j);
    }
    fclose(f);
    *mean_rate = *strokes ? sum / *strokes : NAN;
    return 0;
}

/* docs/RIGSIM.md: bench i > 0 is seeded with the i-th SplitMix64 output
 * from --seed (written out here, not taken from rigsim). */
static unsigned long long bench_seed(unsigned long long seed, unsigned i)
{
    unsigned long long z = seed + i * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return i == 0 ? seed : z ^ (z >> 31);
}

static int scenario_truth(const char *path[NBENCH])
{
    static const uint32_t rate_mhz[NBENCH] = { 80000, 130000 };
    struct pen_link l[NBENCH];
    struct pen_msg resp;
    for (int b = 0; b < NBENCH; b++) {
        REQUIRE(pen_open_port(&l[b], pen_port[b]) == 0, "open %s", pen_port[b]);
        REQUIRE(pen_start(&l[b], rate_mhz[b]) == 0, "start bench %d", b);
    }
    keep_both_alive(l, 1500);
    for (int b = 0; b < NBENCH; b++) {
        (void)pen_request(&l[b], PEN_MSG_STOP, NULL, &resp, IO_TIMEOUT_MS);
        pen_close(&l[b]);
    }
    for (int b = 0; b < NBENCH; b++) {
        char seed[32], want[32];
        double rate;
        int strokes;
        if (read_truth(path[b], seed, sizeof seed, &rate, &strokes))
            return 1;
        snprintf(want, sizeof want, "%llu", bench_seed(1, (unsigned)b));
        printf("bench %d truth %s: unit seed %s, %d strokes at %.2f Hz\n", b, path[b], seed,
               strokes, rate);
        CHECK(strcmp(seed, want) == 0, "bench %d: unit seed %s, want %s", b, seed, want);
        CHECK(strokes >= 50, "bench %d: %d strokes", b, strokes);
        CHECK(fabs(rate - rate_mhz[b] / 1000.0) < 0.05 * rate_mhz[b] / 1000.0,
              "bench %d: strokes at %.2f Hz, its pen runs at %.1f Hz", b, rate,
              rate_mhz[b] / 1000.0);
    }
    return sim_failures ? 1 : 0;
}

/* ---------------------------------------------------------------- */

static int scenario_hash(const char *serial, uint64_t n)
{
    uint64_t hash;
    if (sh_hash(serial, n, &hash) != 0)
        return 1;
    printf("%016llx\n", (unsigned long long)hash);
    return 0;
}

int main(int argc, char **argv)
{
    const char *sc = argc > 1 ? argv[1] : "";
    if (strcmp(sc, "enum") == 0)
        return scenario_enum();
    if (strcmp(sc, "stream") == 0)
        return scenario_stream();
    if (strcmp(sc, "faults") == 0)
        return scenario_faults();
    if (strcmp(sc, "truth") == 0 && argc == 4)
        return scenario_truth((const char *[NBENCH]){ argv[2], argv[3] });
    if (strcmp(sc, "hash") == 0 && argc == 4)
        return scenario_hash(argv[2], strtoull(argv[3], NULL, 10));
    fprintf(stderr, "usage: simmulti enum | stream | faults | truth FILE0 FILE1 | "
                    "hash SERIAL N\n");
    return 2;
}
