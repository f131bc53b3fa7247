/* simtest: scenarios run under `rigsim -- simtest SCENARIO [ARGS]`.
 * Each scenario is a plain client of the emulated devices and exits 0 only
 * if every check passed (failures are printed as they happen).
 *
 *   enum                      both devices enumerate with their identities
 *   pen                       identify, set rate/depth, start, status, stop, NAKs
 *   stream SECONDS RATE BLOCK NXFER [exact]
 *                             stream and check continuity and count (and,
 *                             with "exact", that every block but the last
 *                             carries BLOCK frames, or rate/100 if 0)
 *   hash N                    print a hash of the first N samples at 50 kS/s
 *   watchdog                  heartbeat loss stops the motor
 *   unplug-pen | unplug-sensor
 *   fault KIND                the documented symptom of one fault kind
 *   truth KIND FILE           a physics fault, seen in rigsim's --truth FILE
 *   usbfs-control             raw usbfs: a control URB whose data stage does
 *                             not fit its buffer is refused (EINVAL)
 *
 * The fault and truth scenarios are simfault.c.
 */
#include "simlib.h"
#include "simtest.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/usb/ch9.h>
#include <linux/usbdevice_fs.h>

/* ---------------------------------------------------------------- */

/* PEN.md section 1: the pen's USB strings (read through usbfs) and
 * bcdDevice are its IDENTIFY model, serial and firmware. */
static void check_pen_usb(libusb_device *dev, const struct libusb_device_descriptor *dd,
                          const struct pen_identity *id)
{
    unsigned minor = id->fw_minor > 15 ? 15 : id->fw_minor;
    unsigned patch = id->fw_patch > 15 ? 15 : id->fw_patch;
    unsigned bcd = (unsigned)id->fw_major << 8 | minor << 4 | patch;
    CHECK(dd->bcdDevice == bcd, "pen bcdDevice %04x, firmware %u.%u.%u", dd->bcdDevice,
          id->fw_major, id->fw_minor, id->fw_patch);
    libusb_device_handle *h;
    int r = libusb_open(dev, &h);
    CHECK(r == 0, "libusb_open pen: %s", libusb_strerror(r));
    if (r != 0)
        return;
    unsigned char prod[64] = "", ser[64] = "";
    CHECK(libusb_get_string_descriptor_ascii(h, dd->iProduct, prod, sizeof prod) > 0,
          "pen product string");
    CHECK(libusb_get_string_descriptor_ascii(h, dd->iSerialNumber, ser, sizeof ser) > 0,
          "pen serial string");
    CHECK(strcmp((char *)prod, id->model) == 0, "pen iProduct '%s', IDENTIFY model '%s'", prod,
          id->model);
    CHECK(strcmp((char *)ser, id->serial) == 0, "pen iSerial '%s', IDENTIFY serial '%s'", ser,
          id->serial);
    /* its interfaces are cdc_acm's, as on a real host */
    CHECK(libusb_kernel_driver_active(h, 0) == 1, "pen interface 0 without driver");
    CHECK(libusb_claim_interface(h, 0) == LIBUSB_ERROR_BUSY, "pen interface 0 claimable");
    libusb_close(h);
}

static int scenario_enum(void)
{
    struct sp_port **ports;
    REQUIRE(sp_list_ports(&ports) == SP_OK, "sp_list_ports: %s", sp_last_error_message());
    char usb_serial[64] = "";
    bool found = false;
    for (int i = 0; ports[i]; i++) {
        if (strcmp(sp_get_port_name(ports[i]), PEN_PORT) != 0)
            continue;
        int vid = 0, pid = 0;
        found = true;
        CHECK(sp_get_port_transport(ports[i]) == SP_TRANSPORT_USB, "transport");
        CHECK(sp_get_port_usb_vid_pid(ports[i], &vid, &pid) == SP_OK, "vid/pid");
        CHECK(vid == PEN_USB_VID && pid == PEN_USB_PID, "pen %04x:%04x", vid, pid);
        const char *ser = sp_get_port_usb_serial(ports[i]);
        const char *man = sp_get_port_usb_manufacturer(ports[i]);
        const char *prod = sp_get_port_usb_product(ports[i]);
        CHECK(ser && *ser, "no USB serial");
        CHECK(man && *man, "no USB manufacturer");
        CHECK(prod && *prod, "no USB product");
        snprintf(usb_serial, sizeof usb_serial, "%s", ser ? ser : "");
        printf("pen port %s %04x:%04x serial '%s' manufacturer '%s' product '%s'\n", PEN_PORT, vid,
               pid, ser, man, prod);
    }
    sp_free_port_list(ports);
    REQUIRE(found, "%s not listed by sp_list_ports", PEN_PORT);

    /* the serial the pen reports over its protocol matches its USB serial */
    struct pen_link l;
    REQUIRE(pen_open(&l) == 0, "open pen");
    struct pen_msg resp;
    REQUIRE(pen_request(&l, PEN_MSG_IDENTIFY, NULL, &resp, IO_TIMEOUT_MS) == 0, "identify");
    CHECK(strcmp(resp.u.identity.serial, usb_serial) == 0, "identify serial '%s' vs USB '%s'",
          resp.u.identity.serial, usb_serial);
    const struct pen_identity pen_id = resp.u.identity;
    pen_close(&l);

    libusb_context *ctx;
    REQUIRE(libusb_init(&ctx) == 0, "libusb_init");
    libusb_device **list;
    ssize_t n = libusb_get_device_list(ctx, &list);
    REQUIRE(n >= 0, "libusb_get_device_list: %s", libusb_strerror((int)n));
    int sensors = 0, pens = 0;
    for (ssize_t i = 0; i < n; i++) {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(list[i], &dd) < 0)
            continue;
        if (dd.idVendor == PEN_USB_VID && dd.idProduct == PEN_USB_PID) {
            pens++;
            check_pen_usb(list[i], &dd, &pen_id);
        }
        if (dd.idVendor != SH_USB_VID || dd.idProduct != SH_USB_PID)
            continue;
        sensors++;
        struct libusb_config_descriptor *cfg;
        REQUIRE(libusb_get_active_config_descriptor(list[i], &cfg) == 0, "config descriptor");
        const struct libusb_interface_descriptor *id = &cfg->interface[0].altsetting[0];
        CHECK(id->bInterfaceClass == 0xFF && id->bInterfaceSubClass == SH_USB_SUBCLASS &&
                  id->bInterfaceProtocol == SH_USB_PROTOCOL,
              "interface class %02x/%02x/%02x", id->bInterfaceClass, id->bInterfaceSubClass,
              id->bInterfaceProtocol);
        CHECK(id->bNumEndpoints == 1 && id->endpoint[0].bEndpointAddress == SH_EP_STREAM &&
                  (id->endpoint[0].bmAttributes & 3) == LIBUSB_TRANSFER_TYPE_BULK &&
                  id->endpoint[0].wMaxPacketSize == SH_MAX_PACKET,
              "endpoint");
        libusb_free_config_descriptor(cfg);

        libusb_device_handle *h;
        REQUIRE(libusb_open(list[i], &h) == 0, "libusb_open");
        unsigned char man[64] = "", prod[64] = "", ser[64] = "";
        CHECK(libusb_get_string_descriptor_ascii(h, dd.iManufacturer, man, sizeof man) > 0,
              "manufacturer string");
        CHECK(libusb_get_string_descriptor_ascii(h, dd.iProduct, prod, sizeof prod) > 0,
              "product string");
        CHECK(libusb_get_string_descriptor_ascii(h, dd.iSerialNumber, ser, sizeof ser) > 0,
              "serial string");
        CHECK(strcmp((char *)prod, "SH-2") == 0, "product '%s' (SENSOR.md: the model)", prod);
        REQUIRE(libusb_claim_interface(h, SH_INTERFACE) == 0, "claim");
        uint8_t buf[SH_IDENTITY_SIZE];
        struct sh_identity ident;
        int r = libusb_control_transfer(h, SH_REQTYPE_IN, SH_REQ_GET_IDENTITY, 0, SH_INTERFACE, buf,
                                        sizeof buf, IO_TIMEOUT_MS);
        CHECK(r == SH_IDENTITY_SIZE, "GET_IDENTITY: %d", r);
        if (r == SH_IDENTITY_SIZE) {
            CHECK(sh_identity_decode(buf, (size_t)r, &ident) == SH_OK, "identity decode");
            CHECK(strcmp(ident.serial, (char *)ser) == 0, "identity serial '%s' vs USB '%s'",
                  ident.serial, ser);
            CHECK(ident.channels == 2, "channels %u", ident.channels);
        }
        printf("sensor head %04x:%04x bus %u dev %u '%s' '%s' serial '%s'\n", dd.idVendor,
               dd.idProduct, libusb_get_bus_number(list[i]), libusb_get_device_address(list[i]),
               man, prod, ser);
        (void)libusb_release_interface(h, SH_INTERFACE);
        libusb_close(h);
    }
    libusb_free_device_list(list, 1);
    libusb_exit(ctx);
    CHECK(sensors == 1, "%d sensor heads enumerated", sensors);
    CHECK(pens == 1, "%d pens on the USB bus", pens);
    return sim_failures ? 1 : 0;
}

/* ---------------------------------------------------------------- */

static int scenario_pen(void)
{
    struct pen_link l;
    struct pen_msg req = { 0 }, resp;
    REQUIRE(pen_open(&l) == 0, "open pen");

    REQUIRE(pen_request(&l, PEN_MSG_IDENTIFY, NULL, &resp, IO_TIMEOUT_MS) == 0, "identify");
    const struct pen_identity id = resp.u.identity;
    CHECK(id.protocol_version == PEN_PROTOCOL_VERSION, "protocol %u", id.protocol_version);
    CHECK(id.model[0] != '\0' && id.serial[0] != '\0', "identity strings");
    printf("pen %s serial %s fw %u.%u.%u cartridge '%s' depth %u..%u step %u\n", id.model,
           id.serial, id.fw_major, id.fw_minor, id.fw_patch, id.cartridge_id, id.depth_min_um,
           id.depth_max_um, id.depth_step_um);

    req.u.rate_mhz = 120000;
    CHECK(pen_request(&l, PEN_MSG_SET_RATE, &req, &resp, IO_TIMEOUT_MS) == 0, "set rate");
    CHECK(resp.u.rate_mhz == 120000, "rate echo %u", resp.u.rate_mhz);
    uint16_t depth = (uint16_t)(id.depth_min_um + 2 * id.depth_step_um);
    if (depth > id.depth_max_um)
        depth = id.depth_max_um;
    req.u.depth_um = depth;
    CHECK(pen_request(&l, PEN_MSG_SET_DEPTH, &req, &resp, IO_TIMEOUT_MS) == 0, "set depth");
    CHECK(resp.u.depth_um == depth, "depth echo %u want %u", resp.u.depth_um, depth);

    REQUIRE(pen_start(&l, 120000) == 0, "start");
    struct pen_status st;
    CHECK(pen_wait_state(&l, PEN_STATE_RUNNING, 1000, &st), "status RUNNING");
    CHECK(fabs((double)st.measured_rate_mhz - 120000.0) < 0.05 * 120000.0,
          "measured rate %u mHz vs set 120000", st.measured_rate_mhz);
    CHECK(st.set_depth_um == depth, "status depth %u", st.set_depth_um);
    CHECK(st.motor_current_ma > 0, "no motor current while running");
    CHECK(sim_motor_running(), "control socket says the motor is not running");

    REQUIRE(pen_request(&l, PEN_MSG_STOP, NULL, &resp, IO_TIMEOUT_MS) == 0, "stop");
    CHECK(pen_wait_state(&l, PEN_STATE_IDLE, 3000, &st), "never IDLE after STOP (%s)",
          pen_state_str(st.state));
    CHECK(st.measured_rate_mhz == 0, "measured rate %u after stop", st.measured_rate_mhz);
    CHECK(sim_wait_motor_stopped(2000), "motor still running after STOP");
    struct pen_msg ev;
    CHECK(pen_wait_event(&l, PEN_MSG_EVT_STATE, PEN_REASON_COMMAND, 500, &ev),
          "no EVT_STATE for the START/STOP commands");

    /* round-trip figure (reported, not asserted: the machine is shared) */
    uint64_t worst = 0, t_all = now_ms();
    for (int i = 0; i < 100; i++) {
        uint64_t t = now_ms();
        CHECK(pen_request(&l, PEN_MSG_GET_STATUS, NULL, &resp, IO_TIMEOUT_MS) == 0, "status");
        if (now_ms() - t > worst)
            worst = now_ms() - t;
    }
    printf("pen round trip: mean %.2f ms, worst %llu ms over 100 GET_STATUS\n",
           (double)(now_ms() - t_all) / 100.0, (unsigned long long)worst);

    /* refusals: a frame with a good CRC but a bad version, type, length or
     * field is NAKed with its own seq and the matching code */
    static const struct {
        const char *what;
        uint8_t body[PEN_HEADER_SIZE + 4];
        size_t len;
        uint16_t seq;
        uint8_t error;
    } refused[] = {
        { "unknown type",
          { PEN_PROTOCOL_VERSION, 0x30, 0, 0, 0x34, 0x12 },
          PEN_HEADER_SIZE,
          0x1234,
          PEN_ERR_UNKNOWN_TYPE },
        { "10 Hz",
          { PEN_PROTOCOL_VERSION, PEN_MSG_SET_RATE, 0, 4, 0x35, 0x12, 0x10, 0x27, 0, 0 },
          PEN_HEADER_SIZE + 4,
          0x1235,
          PEN_ERR_OUT_OF_RANGE },
        { "short SET_RATE",
          { PEN_PROTOCOL_VERSION, PEN_MSG_SET_RATE, 0, 2, 0x36, 0x12, 0x50, 0xC3 },
          PEN_HEADER_SIZE + 2,
          0x1236,
          PEN_ERR_BAD_LENGTH },
        { "version 9",
          { 9, PEN_MSG_GET_STATUS, 0, 0, 0x37, 0x12 },
          PEN_HEADER_SIZE,
          0x1237,
          PEN_ERR_VERSION },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        REQUIRE(pen_send_raw(&l, refused[i].body, refused[i].len) == 0, "send raw");
        bool got = false;
        while (!got && pen_poll(&l, &resp, IO_TIMEOUT_MS) == 1)
            got = resp.type == PEN_MSG_NAK && resp.seq == refused[i].seq;
        CHECK(got && resp.u.nak.error == refused[i].error, "NAK %s for %s (got %s)",
              pen_error_str(refused[i].error), refused[i].what,
              got ? pen_error_str(resp.u.nak.error) : "none");
    }
    /* a frame flagged as a response is not a request: dropped, no answer */
    cJSON *bad0 = ctl("{\"query\":\"stats\"}");
    uint8_t flagged[PEN_HEADER_SIZE] = {
        PEN_PROTOCOL_VERSION, PEN_MSG_GET_STATUS, PEN_F_RESPONSE, 0, 0x38, 0x12
    };
    REQUIRE(pen_send_raw(&l, flagged, sizeof flagged) == 0, "send raw");
    bool answered = false;
    while (!answered && pen_poll(&l, &resp, 300) == 1)
        answered = resp.seq == 0x1238 && !(resp.flags & PEN_F_EVENT);
    CHECK(!answered, "a frame with PEN_F_RESPONSE set was answered");
    cJSON *bad1 = ctl("{\"query\":\"stats\"}");
    CHECK(json_num(bad1, "pen.rx_bad_frames") - json_num(bad0, "pen.rx_bad_frames") == 1,
          "flagged frame not counted as bad");
    cJSON_Delete(bad0);
    cJSON_Delete(bad1);

    /* a retried request (same seq) is answered again, not executed twice */
    cJSON *before = ctl("{\"query\":\"stats\"}");
    CHECK(pen_request_seq(&l, PEN_MSG_GET_STATUS, 0x4242, NULL, &resp, IO_TIMEOUT_MS) == 0,
          "status");
    CHECK(pen_request_seq(&l, PEN_MSG_GET_STATUS, 0x4242, NULL, &resp, IO_TIMEOUT_MS) == 0,
          "status retry");
    cJSON *after = ctl("{\"query\":\"stats\"}");
    CHECK(json_num(after, "pen.resent") - json_num(before, "pen.resent") == 1,
          "retry not answered from the cache");
    cJSON_Delete(before);
    cJSON_Delete(after);
    pen_close(&l);
    return sim_failures ? 1 : 0;
}

/* ---------------------------------------------------------------- */

static int scenario_stream(double seconds, uint32_t rate, uint16_t block, int nxfer,
                           bool exact_blocks)
{
    struct sh_dev d;
    REQUIRE(sh_open(&d) == 0, "open sensor head");
    REQUIRE(sh_set_rate(&d, rate) == 0, "SET_RATE %u", rate);
    struct sh_streamer s = { 0 };
    REQUIRE(sh_stream_begin(&s, &d, nxfer) == 0, "submit transfers");
    cJSON *before = ctl("{\"query\":\"stats\"}");

    uint64_t t0a = now_ms();
    REQUIRE(sh_ctrl_out(&d, SH_REQ_START, block, NULL, 0) == 0, "START");
    uint64_t t0b = now_ms();
    sh_stream_run(&s, (unsigned)(seconds * 1000));
    uint64_t t1a = now_ms();
    REQUIRE(sh_ctrl_out(&d, SH_REQ_STOP, 0, NULL, 0) == 0, "STOP");
    uint64_t t1b = now_ms();
    /* drain what the device still holds */
    uint64_t drain_end = now_ms() + 2000;
    while (!s.saw_last && now_ms() < drain_end && s.inflight > 0) {
        uint64_t before_blocks = s.cont.stats.blocks;
        sh_stream_run(&s, 200);
        if (s.cont.stats.blocks == before_blocks)
            break;
    }
    cJSON *after = ctl("{\"query\":\"stats\"}");
    sh_stream_end(&s);

    uint32_t bf = block ? block : rate / 100;
    double dur = ((double)(t1a + t1b) - (double)(t0a + t0b)) / 2000.0;
    double slack = (double)(t0b - t0a + t1b - t1a) / 2000.0 * rate;
    double expect = dur * rate;
    const struct sh_stream_stats *st = &s.cont.stats;
    double cpu = json_num(after, "cpu_user_s") + json_num(after, "cpu_sys_s") -
                 json_num(before, "cpu_user_s") - json_num(before, "cpu_sys_s");
    printf("stream: rate %u block %u xfers %d: %.3f s, %llu blocks, %llu samples (expected "
           "%.0f +- %u), frames/block %u..%u, lost %llu blocks %llu samples, repeated %llu, "
           "overruns %llu, bad %llu; rigsim cpu %.2f s = %.1f %%\n",
           rate, bf, nxfer, dur, (unsigned long long)st->blocks, (unsigned long long)st->samples,
           expect, bf, s.min_count, s.max_count, (unsigned long long)st->lost_blocks,
           (unsigned long long)st->lost_samples, (unsigned long long)st->repeated_blocks,
           (unsigned long long)st->overruns, (unsigned long long)st->bad_blocks, cpu,
           100.0 * cpu / dur);
    cJSON_Delete(before);
    cJSON_Delete(after);
    CHECK(st->lost_blocks == 0 && st->lost_samples == 0, "lost data");
    CHECK(st->overruns == 0, "device overruns");
    CHECK(st->bad_blocks == 0 && st->repeated_blocks == 0, "bad/repeated blocks");
    CHECK(s.errors == 0 && s.no_device == 0, "transfer errors");
    if (exact_blocks)
        CHECK(s.min_count == bf && s.max_count == bf, "blocks of %u..%u frames, configured %u",
              s.min_count, s.max_count, bf);
    CHECK(fabs((double)st->samples - expect) <= bf + slack + 1,
          "sample count %llu vs rate x time %.0f", (unsigned long long)st->samples, expect);
    sh_close(&d);
    return sim_failures ? 1 : 0;
}

static int scenario_hash(uint64_t n)
{
    uint64_t hash;
    if (sh_hash(NULL, n, &hash) != 0)
        return 1;
    printf("%016llx\n", (unsigned long long)hash);
    return 0;
}

/* ---------------------------------------------------------------- */

static int scenario_watchdog(void)
{
    struct pen_link l;
    REQUIRE(pen_open(&l) == 0, "open pen");
    REQUIRE(pen_start(&l, 100000) == 0, "start");
    l.nevents = 0;
    /* go silent: no request for 1 s, only listen */
    struct pen_msg ev;
    uint64_t t0 = now_ms();
    bool got = pen_wait_event(&l, PEN_MSG_EVT_STATE, PEN_REASON_WATCHDOG, 1000, &ev);
    CHECK(got, "no EVT_STATE(reason WATCHDOG) within 1 s of silence");
    if (got)
        printf("watchdog event after %llu ms: %s -> %s\n", (unsigned long long)(now_ms() - t0),
               pen_state_str(ev.u.evt_state.previous), pen_state_str(ev.u.evt_state.state));
    CHECK(now_ms() - t0 >= PEN_WATCHDOG_TIMEOUT_MS - 50, "watchdog fired too early");
    CHECK(sim_wait_motor_stopped(2000), "control socket: motor still running");
    struct pen_msg resp;
    REQUIRE(pen_request(&l, PEN_MSG_GET_STATUS, NULL, &resp, IO_TIMEOUT_MS) == 0, "status");
    CHECK(resp.u.status.faults & PEN_FAULT_WATCHDOG, "status faults 0x%x lack WATCHDOG",
          resp.u.status.faults);
    /* the rotor spins down after the cut-off */
    uint32_t rate = 1;
    for (uint64_t end = now_ms() + 2000; rate != 0 && now_ms() < end; sleep_ms(50))
        if (pen_request(&l, PEN_MSG_GET_STATUS, NULL, &resp, IO_TIMEOUT_MS) == 0)
            rate = resp.u.status.measured_rate_mhz;
    CHECK(rate == 0, "rotor not at rest: %u mHz", rate);
    /* the fault latches until cleared */
    CHECK(pen_request(&l, PEN_MSG_START, NULL, &resp, IO_TIMEOUT_MS) == 1, "START not refused");
    CHECK(pen_request(&l, PEN_MSG_CLEAR_FAULT, NULL, &resp, IO_TIMEOUT_MS) == 0, "clear");
    pen_close(&l);
    return sim_failures ? 1 : 0;
}

/* ---------------------------------------------------------------- */

static bool port_listed(void)
{
    struct sp_port **ports;
    bool found = false;
    if (sp_list_ports(&ports) != SP_OK)
        return false;
    for (int i = 0; ports[i]; i++)
        found |= strcmp(sp_get_port_name(ports[i]), PEN_PORT) == 0;
    sp_free_port_list(ports);
    return found;
}

static int scenario_unplug_pen(void)
{
    struct pen_link l;
    struct pen_msg resp;
    REQUIRE(pen_open(&l) == 0, "open pen");
    REQUIRE(pen_start(&l, 100000) == 0, "start");
    REQUIRE(ctl_ok("{\"fault\":\"pen-unplug\"}"), "unplug");
    CHECK(sim_wait_motor_stopped(2000), "motor still running without USB power");
    /* The tty is hung up, as when a real CDC-ACM device goes: writes fail
     * with EIO (reads only see end-of-file, which libserialport's blocking
     * read does not report), and the port is no longer listed. */
    int r = pen_request(&l, PEN_MSG_IDENTIFY, NULL, &resp, 200);
    CHECK(r == -2, "request after unplug: %d, expected an I/O error", r);
    CHECK(!port_listed(), "%s still listed while unplugged", PEN_PORT);
    struct sp_port *gone;
    CHECK(sp_get_port_by_name(PEN_PORT, &gone) != SP_OK, "sp_get_port_by_name still works");
    pen_close(&l);
    REQUIRE(ctl_ok("{\"fault\":\"pen-replug\"}"), "replug");
    uint64_t deadline = now_ms() + 5000;
    while (!port_listed() && now_ms() < deadline)
        sleep_ms(100);
    REQUIRE(port_listed(), "%s not back after re-plug", PEN_PORT);
    REQUIRE(pen_open(&l) == 0, "reopen pen");
    CHECK(pen_request(&l, PEN_MSG_IDENTIFY, NULL, &resp, IO_TIMEOUT_MS) == 0,
          "identify after re-plug");
    /* the firmware restarted: not driven (the rotor may still coast) */
    struct pen_status st;
    CHECK(pen_wait_state(&l, PEN_STATE_IDLE, 2000, &st), "pen not IDLE after re-plug (%s)",
          pen_state_str(st.state));
    pen_close(&l);
    return sim_failures ? 1 : 0;
}

struct hp_state {
    int arrived, left;
};

static int LIBUSB_CALL on_hotplug(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event ev,
                                  void *user)
{
    struct hp_state *h = user;
    (void)ctx;
    (void)dev;
    if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)
        h->arrived++;
    else
        h->left++;
    return 0;
}

static int scenario_unplug_sensor(void)
{
    struct sh_dev d;
    REQUIRE(sh_open(&d) == 0, "open sensor head");
    REQUIRE(libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG), "libusb without hotplug");
    struct hp_state hp = { 0 };
    libusb_hotplug_callback_handle cb;
    REQUIRE(libusb_hotplug_register_callback(
                d.ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
                SH_USB_VID, SH_USB_PID, LIBUSB_HOTPLUG_MATCH_ANY, on_hotplug, &hp, &cb) == 0,
            "hotplug register");
    REQUIRE(sh_set_rate(&d, 50000) == 0, "SET_RATE");
    struct sh_streamer s = { 0 };
    REQUIRE(sh_stream_begin(&s, &d, 4) == 0, "submit");
    REQUIRE(sh_ctrl_out(&d, SH_REQ_START, 0, NULL, 0) == 0, "START");
    sh_stream_run(&s, 300);
    CHECK(s.cont.stats.blocks > 0, "no blocks before unplug");
    REQUIRE(ctl_ok("{\"fault\":\"sensor-unplug\",\"replug_after\":1.0}"), "unplug");
    sh_stream_run(&s, 2000);
    CHECK(s.no_device > 0, "no LIBUSB_TRANSFER_NO_DEVICE after unplug (inflight %d)", s.inflight);
    CHECK(hp.left == 1, "hotplug LEFT seen %d times", hp.left);
    uint8_t buf[SH_IDENTITY_SIZE];
    int r = sh_ctrl_in(&d, SH_REQ_GET_IDENTITY, 0, buf, sizeof buf);
    CHECK(r == LIBUSB_ERROR_NO_DEVICE, "control after unplug: %s", libusb_strerror(r));
    uint64_t deadline = now_ms() + 5000;
    while (hp.arrived == 0 && now_ms() < deadline) {
        struct timeval tv = { 0, 100000 };
        (void)libusb_handle_events_timeout_completed(d.ctx, &tv, NULL);
    }
    CHECK(hp.arrived == 1, "hotplug ARRIVED seen %d times", hp.arrived);
    sh_stream_end(&s);
    libusb_hotplug_deregister_callback(d.ctx, cb);
    sh_close(&d);
    REQUIRE(sh_open(&d) == 0, "reopen after re-plug");
    r = sh_ctrl_in(&d, SH_REQ_GET_IDENTITY, 0, buf, sizeof buf);
    CHECK(r == SH_IDENTITY_SIZE, "identity after re-plug: %d", r);
    sh_close(&d);
    return sim_failures ? 1 : 0;
}

/* ---------------------------------------------------------------- */

/* Submit one GET_DESCRIPTOR(device) control URB of buffer_length bytes
 * whose setup packet asks for wlength bytes; 0 or the errno of SUBMITURB. */
static int submit_get_descriptor(int fd, struct usbdevfs_urb *urb, uint8_t *buf, int buffer_length,
                                 uint16_t wlength)
{
    struct usb_ctrlrequest setup = {
        .bRequestType = USB_DIR_IN | USB_TYPE_STANDARD | USB_RECIP_DEVICE,
        .bRequest = USB_REQ_GET_DESCRIPTOR,
        .wValue = (uint16_t)(USB_DT_DEVICE << 8),
        .wIndex = 0,
        .wLength = wlength, /* little-endian host assumed, as usbfs users do */
    };
    memset(buf, 0xAA, (size_t)buffer_length);
    memcpy(buf, &setup, sizeof setup);
    *urb = (struct usbdevfs_urb){ .type = USBDEVFS_URB_TYPE_CONTROL,
                                  .endpoint = 0,
                                  .buffer = buf,
                                  .buffer_length = buffer_length };
    return ioctl(fd, USBDEVFS_SUBMITURB, urb) < 0 ? errno : 0;
}

static int scenario_usbfs_control(void)
{
    cJSON *st = ctl("{\"query\":\"stats\"}");
    double devnum = json_num(st, "sensor.devnum");
    cJSON_Delete(st);
    REQUIRE(devnum > 0, "no sensor devnum in stats");
    char node[64];
    snprintf(node, sizeof node, "/dev/bus/usb/001/%03d", (int)devnum);
    int fd = open(node, O_RDWR | O_CLOEXEC);
    REQUIRE(fd >= 0, "open %s: %s", node, strerror(errno));

    struct usbdevfs_urb urb;
    uint8_t buf[8 + 64];
    /* 8-byte buffer, 64-byte data stage: must be refused, not overrun */
    int e = submit_get_descriptor(fd, &urb, buf, 8, 64);
    CHECK(e == EINVAL, "oversized data stage: SUBMITURB %s, want EINVAL", strerror(e));
    e = submit_get_descriptor(fd, &urb, buf, 8 + 17, 18);
    CHECK(e == EINVAL, "data stage 1 byte over: SUBMITURB %s, want EINVAL", strerror(e));

    /* a well-formed one still works */
    e = submit_get_descriptor(fd, &urb, buf, 8 + 18, 18);
    REQUIRE(e == 0, "SUBMITURB: %s", strerror(e));
    void *reaped = NULL;
    uint64_t deadline = now_ms() + IO_TIMEOUT_MS;
    while (ioctl(fd, USBDEVFS_REAPURBNDELAY, &reaped) < 0 && errno == EAGAIN && now_ms() < deadline)
        sleep_ms(5);
    CHECK(reaped == &urb, "URB not reaped");
    CHECK(urb.status == 0 && urb.actual_length == 18, "status %d, length %d", urb.status,
          urb.actual_length);
    CHECK(buf[8] == 18 && buf[9] == USB_DT_DEVICE, "not a device descriptor");
    close(fd);
    return sim_failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: simtest SCENARIO [ARGS]\n");
        return 2;
    }
    const char *s = argv[1];
    if (strcmp(s, "enum") == 0)
        return scenario_enum();
    if (strcmp(s, "pen") == 0)
        return scenario_pen();
    if (strcmp(s, "stream") == 0 && (argc == 6 || (argc == 7 && !strcmp(argv[6], "exact"))))
        return scenario_stream(atof(argv[2]), (uint32_t)atoi(argv[3]), (uint16_t)atoi(argv[4]),
                               atoi(argv[5]), argc == 7);
    if (strcmp(s, "hash") == 0 && argc == 3)
        return scenario_hash(strtoull(argv[2], NULL, 10));
    if (strcmp(s, "watchdog") == 0)
        return scenario_watchdog();
    if (strcmp(s, "unplug-pen") == 0)
        return scenario_unplug_pen();
    if (strcmp(s, "unplug-sensor") == 0)
        return scenario_unplug_sensor();
    if (strcmp(s, "truth") == 0 && argc == 4)
        return scenario_truth(argv[2], argv[3]);
    if (strcmp(s, "fault") == 0 && argc == 3)
        return scenario_fault(argv[2]);
    if (strcmp(s, "usbfs-control") == 0)
        return scenario_usbfs_control();
    fprintf(stderr, "simtest: unknown scenario or wrong arguments: %s\n", s);
    return 2;
}
