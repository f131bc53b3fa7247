/* conform_pen: the pen emulator against PEN.md, frame by frame.
 * Run as `rigsim -- conform_pen SCENARIO` (tests/sim/meson.build). Every
 * frame is built here from the document's byte layout (conform_pen.h);
 * the section a check comes from is named next to it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conform_pen.h"

/* Receive (and log) whatever arrives for ms milliseconds. */
static void listen_ms(struct plink *l, int ms)
{
    struct pframe f;
    uint64_t end = ct_now_ms() + (uint64_t)ms;
    while (ct_now_ms() < end)
        (void)pl_recv(l, &f, (int)(end - ct_now_ms()));
}

static bool printable_field(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] >= 0x20 && p[i] <= 0x7E)
        i++;
    for (size_t k = i; k < n; k++)
        if (p[k] != 0)
            return false;
    return i > 0;
}

/* ---------------------------------------------------------------- */

/* Section 11, then the same requests sent verbatim to the pen. */
static void pen_golden(struct ct *t)
{
    CT_CHECK(t, pd_crc16((const uint8_t *)"123456789", 9) == 0x29B1, "CRC check value 0x%04x",
             pd_crc16((const uint8_t *)"123456789", 9));
    static const struct {
        const char *what;
        uint8_t type, flags;
        uint16_t seq;
        const char *payload, *frame;
    } ex[] = {
        { "IDENTIFY request", 0x01, 0x00, 0x0001, "", "03 01 01 01 02 01 03 d0 d2 00" },
        { "SET_RATE 120 Hz", 0x02, 0x00, 0x0002, "c0 d4 01 00",
          "03 01 02 03 04 02 04 c0 d4 01 03 5c 3b 00" },
        { "EVT_STATE", 0x40, 0x02, 0x0010, "02 01 01", "06 01 40 02 03 10 06 02 01 01 a8 e2 00" },
        { "NAK", 0x7f, 0x01, 0x1234, "02 03", "0b 01 7f 01 02 34 12 02 03 5c e4 00" },
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        uint8_t payload[64], body[80], frame[80], want[80];
        size_t pn = ct_hex(ex[i].payload, payload, sizeof payload);
        size_t bn =
            pd_body(body, PD_VERSION, ex[i].type, ex[i].flags, ex[i].seq, payload, (uint8_t)pn);
        size_t fn = pd_frame(body, bn, frame);
        size_t wn = ct_hex(ex[i].frame, want, sizeof want);
        CT_CHECK(t, fn == wn && memcmp(frame, want, wn) == 0, "%s: frame differs from PEN.md 11",
                 ex[i].what);
    }
    /* the GET_STATUS response example, decoded */
    uint8_t wire[80], body[80];
    size_t wn = ct_hex("06 01 06 01 1c 06 05 02 c0 d4 01 04 2a d4 01 09 dc 05 a4 01 6e 0f 35 0c "
                       "01 01 01 04 40 e2 01 03 f4 01 03 4d 2f 00",
                       wire, sizeof wire);
    long bn = pd_cobs_decode(wire, wn - 1, body, sizeof body);
    struct pframe f;
    CT_REQUIRE(t, bn > 0 && pd_parse(body, (size_t)bn, &f), "GET_STATUS example does not parse");
    struct pstatus st;
    pd_status(&f, &st);
    CT_CHECK(t, f.type == PD_GET_STATUS && f.flags == PD_F_RESPONSE && f.seq == 6 && f.len == 28,
             "example header");
    CT_CHECK(t,
             st.state == PD_RUNNING && st.set_rate_mhz == 120000 &&
                 st.measured_rate_mhz == 119850 && st.set_depth_um == 1500 &&
                 st.uptime_ms == 123456 && st.watchdog_ms == 500,
             "example fields");

    /* live: the document's IDENTIFY frame, byte for byte */
    struct plink l;
    CT_REQUIRE(t, pl_open(t, &l), "open the pen");
    uint8_t frame[16];
    size_t n = ct_hex("03 01 01 01 02 01 03 d0 d2 00", frame, sizeof frame);
    CT_REQUIRE(t, write(l.fd, frame, n) == (ssize_t)n, "write");
    CT_REQUIRE(t, pl_answer(&l, 0x0001, &f, 1000), "IDENTIFY seq 1 not answered");
    CT_CHECK(t, f.version == 1 && f.type == PD_IDENTIFY && f.flags == PD_F_RESPONSE && f.len == 60,
             "IDENTIFY answer header %02x %02x %02x %u", f.version, f.type, f.flags, f.len);
    const uint8_t *p = f.payload;
    uint16_t step = ct_get16(p + 54), dmin = ct_get16(p + 56), dmax = ct_get16(p + 58);
    CT_CHECK(t, printable_field(p, 16) && printable_field(p + 16, 16), "model/serial strings");
    CT_CHECK(t, p[53] == 1, "protocol_version %u", p[53]);
    CT_CHECK(t, step >= 1 && step <= 3000 && dmin <= dmax && dmax <= 3000,
             "depth step %u range %u..%u", step, dmin, dmax);
    /* SET_RATE 120 Hz, seq 2, as in the example */
    n = ct_hex("03 01 02 03 04 02 04 c0 d4 01 03 5c 3b 00", frame, sizeof frame);
    CT_REQUIRE(t, write(l.fd, frame, n) == (ssize_t)n, "write");
    CT_REQUIRE(t, pl_answer(&l, 0x0002, &f, 1000), "SET_RATE seq 2 not answered");
    CT_CHECK(t, f.type == PD_SET_RATE && f.len == 4 && ct_get32(f.payload) == 120000,
             "SET_RATE answer type 0x%02x len %u", f.type, f.len);
    CT_REQUIRE(t, pl_get_status(&l, &st), "GET_STATUS");
    CT_CHECK(t,
             st.watchdog_ms == 500 && st.reserved == 0 && (st.faults & ~0x7Fu) == 0 &&
                 st.state <= PD_FAULT && st.set_rate_mhz == 120000,
             "status: watchdog %u reserved %u faults 0x%x state %u rate %u", st.watchdog_ms,
             st.reserved, st.faults, st.state, st.set_rate_mhz);
    pl_close(&l);
}

/* Section 9: NAKed version-1 requests feed the watchdog, frames of another
 * version do not (they are NAKed all the same, section 4/10). */
static void pen_watchdog_version(struct ct *t)
{
    struct plink l;
    CT_REQUIRE(t, pl_open(t, &l), "open the pen");
    CT_REQUIRE(t, pl_run_motor(t, &l, 100000), "motor");
    int from = l.nlog;
    struct pframe f;
    for (int i = 0; i < 10; i++) { /* 1 s of unknown-type requests */
        uint16_t seq = (uint16_t)(0x3000 + i);
        CT_CHECK(t, pl_send(&l, PD_VERSION, 0x30, 0, seq, NULL, 0), "send");
        CT_CHECK(t,
                 pl_answer(&l, seq, &f, 1000) && f.type == PD_NAK &&
                     f.payload[1] == PD_E_UNKNOWN_TYPE,
                 "type 0x30 not NAKed UNKNOWN_TYPE");
        listen_ms(&l, 100);
    }
    struct pstatus st;
    CT_CHECK(t, pl_find(&l, from, PD_EVT_STATE, PD_F_EVENT, -1, -1) < 0,
             "state changed while NAKed version-1 requests fed the watchdog");
    CT_REQUIRE(t, pl_get_status(&l, &st) && st.state == PD_RUNNING, "not RUNNING: %u", st.state);

    uint64_t last_valid = ct_now_ms();
    from = l.nlog;
    for (int i = 0; i < 15; i++) { /* then only version 2 */
        uint16_t seq = (uint16_t)(0x3100 + i);
        CT_CHECK(t, pl_send(&l, 2, PD_GET_STATUS, 0, seq, NULL, 0), "send");
        bool nak = pl_answer(&l, seq, &f, 1000) == 1;
        CT_CHECK(t,
                 nak && f.version == 1 && f.type == PD_NAK && f.flags == PD_F_RESPONSE &&
                     f.len == 2 && f.payload[0] == PD_GET_STATUS && f.payload[1] == PD_E_VERSION,
                 "version 2 GET_STATUS: no version-1 NAK VERSION");
        listen_ms(&l, 100);
        if (pl_find(&l, from, PD_EVT_STATE, PD_F_EVENT, PD_FAULT, PD_R_WATCHDOG) >= 0)
            break;
    }
    int i = pl_find(&l, from, PD_EVT_STATE, PD_F_EVENT, PD_FAULT, PD_R_WATCHDOG);
    CT_REQUIRE(t, i >= 0, "frames of version 2 kept the motor running (they fed the watchdog)");
    uint64_t after = l.log[i].at_ms - last_valid;
    printf("watchdog tripped %llu ms after the last version-1 request\n",
           (unsigned long long)after);
    CT_CHECK(t, after >= PD_WATCHDOG_MS - 20 && after <= PD_WATCHDOG_MS + 400,
             "watchdog after %llu ms", (unsigned long long)after);
    pl_close(&l);
}

/* Section 4/9: a frame flagged pen -> host is no request: no answer, no
 * watchdog feed. */
static void pen_watchdog_flags(struct ct *t)
{
    struct plink l;
    CT_REQUIRE(t, pl_open(t, &l), "open the pen");
    CT_REQUIRE(t, pl_run_motor(t, &l, 100000), "motor");
    uint64_t last_valid = ct_now_ms();
    int from = l.nlog;
    for (int i = 0; i < 15; i++) {
        uint16_t seq = (uint16_t)(0x3200 + i);
        uint8_t flags = i % 2 ? PD_F_EVENT : PD_F_RESPONSE;
        CT_CHECK(t, pl_send(&l, PD_VERSION, PD_HEARTBEAT, flags, seq, NULL, 0), "send");
        listen_ms(&l, 100);
        CT_CHECK(t, pl_find_seq(&l, from, seq, PD_F_RESPONSE) < 0,
                 "a frame with flags 0x%02x was answered", flags);
        if (pl_find(&l, from, PD_EVT_STATE, PD_F_EVENT, PD_FAULT, PD_R_WATCHDOG) >= 0)
            break;
    }
    int i = pl_find(&l, from, PD_EVT_STATE, PD_F_EVENT, PD_FAULT, PD_R_WATCHDOG);
    CT_REQUIRE(t, i >= 0, "frames flagged pen -> host fed the watchdog");
    CT_CHECK(t, l.log[i].at_ms - last_valid >= PD_WATCHDOG_MS - 20, "watchdog too early");
    pl_close(&l);
}

/* Section 9: on a trip EVT_STATE (-> FAULT) comes first, EVT_FAULT right
 * after it, with the next event seq. */
static void pen_fault_order(struct ct *t)
{
    struct plink l;
    CT_REQUIRE(t, pl_open(t, &l), "open the pen");
    CT_REQUIRE(t, pl_run_motor(t, &l, 100000), "motor");
    listen_ms(&l, 50);
    int from = l.nlog;
    int s = pl_listen_for_state(&l, PD_R_WATCHDOG, 2000);
    listen_ms(&l, 200);
    int f = pl_find(&l, from, PD_EVT_FAULT, PD_F_EVENT, -1, -1);
    CT_REQUIRE(t, s >= 0 && f >= 0, "EVT_STATE at %d, EVT_FAULT at %d", s, f);
    const struct pframe *st = &l.log[s], *ft = &l.log[f];
    CT_CHECK(t, st->payload[0] == PD_FAULT && st->payload[1] == PD_RUNNING, "EVT_STATE %u <- %u",
             st->payload[0], st->payload[1]);
    CT_CHECK(t, ft->len == 8 && (ct_get32(ft->payload) & PD_FAULT_WATCHDOG), "EVT_FAULT faults");
    CT_CHECK(t, s < f, "EVT_FAULT (seq %u) before EVT_STATE (seq %u)", ft->seq, st->seq);
    CT_CHECK(t, ft->seq == (uint16_t)(st->seq + 1), "event seq %u then %u: not back to back",
             st->seq, ft->seq);
    pl_close(&l);
}

/* Sections 5.2/7: RUNNING is within 5 % of the setpoint; a change the
 * rotor is already within stays RUNNING, a larger one goes through SPINUP. */
static void pen_rate_band(struct ct *t)
{
    struct plink l;
    struct pstatus st;
    struct pframe f;
    CT_REQUIRE(t, pl_open(t, &l), "open the pen");
    CT_REQUIRE(t, pl_run_motor(t, &l, 100000), "motor");
    listen_ms(&l, 100);
    int from = l.nlog;
    CT_CHECK(t, pl_set_rate(&l, 101000) == 101000, "SET_RATE 101 Hz");
    for (int i = 0; i < 6; i++) { /* 300 ms, fed */
        (void)pl_request(&l, PD_HEARTBEAT, NULL, 0, &f);
        listen_ms(&l, 50);
    }
    int ev = pl_find(&l, from, PD_EVT_STATE, PD_F_EVENT, -1, -1);
    CT_CHECK(t, ev < 0, "a 1 %% rate change sent EVT_STATE %u <- %u",
             ev >= 0 ? l.log[ev].payload[0] : 0, ev >= 0 ? l.log[ev].payload[1] : 0);
    CT_CHECK(t, pl_get_status(&l, &st) && st.state == PD_RUNNING && st.set_rate_mhz == 101000,
             "state %u set %u after a 1 %% change", st.state, st.set_rate_mhz);

    from = l.nlog;
    CT_CHECK(t, pl_set_rate(&l, 120000) == 120000, "SET_RATE 120 Hz");
    CT_CHECK(t, pl_wait_state(&l, PD_RUNNING, 3000, &st), "not RUNNING again");
    listen_ms(&l, 50);
    int up = pl_find(&l, from, PD_EVT_STATE, PD_F_EVENT, PD_SPINUP, PD_R_COMMAND);
    CT_CHECK(t, up >= 0 && l.log[up].payload[1] == PD_RUNNING,
             "a 20 %% change: no EVT_STATE SPINUP <- RUNNING (COMMAND)");
    CT_CHECK(t, pl_find(&l, up + 1, PD_EVT_STATE, PD_F_EVENT, PD_RUNNING, PD_R_AT_RATE) > up,
             "no EVT_STATE RUNNING (AT_RATE) after it");
    (void)pl_request(&l, PD_STOP, NULL, 0, &f);
    pl_close(&l);
}

/* Section 5.2: the drive's 100 mHz steps, nearest step, halves up. */
static void pen_rate_resolution(struct ct *t)
{
    static const uint32_t req[][2] = {
        { 120049, 120000 }, { 120050, 120100 }, { 50000, 50000 },
        { 50049, 50000 },   { 50050, 50100 },   { 149951, 150000 },
        { 150000, 150000 }, { 100001, 100000 }, { 133333, 133300 },
    };
    struct plink l;
    struct pstatus st;
    CT_REQUIRE(t, pl_open(t, &l), "open the pen");
    uint32_t last = 0;
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        uint32_t got = pl_set_rate(&l, req[i][0]);
        CT_CHECK(t, got == req[i][1], "SET_RATE %u applied %u, want %u", req[i][0], got, req[i][1]);
        CT_CHECK(t, pl_get_status(&l, &st) && st.set_rate_mhz == got,
                 "GET_STATUS set_rate %u, SET_RATE said %u", st.set_rate_mhz, got);
        last = got;
    }
    static const uint32_t refused[] = { 49999, 150001, 0 };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        uint8_t p[4];
        struct pframe f;
        ct_put32(p, refused[i]);
        CT_CHECK(t, pl_request(&l, PD_SET_RATE, p, 4, &f) == 2 && f.payload[1] == PD_E_OUT_OF_RANGE,
                 "SET_RATE %u not NAKed OUT_OF_RANGE", refused[i]);
    }
    CT_CHECK(t, pl_get_status(&l, &st) && st.set_rate_mhz == last,
             "a refused SET_RATE changed the setpoint to %u", st.set_rate_mhz);
    pl_close(&l);
}

static bool same_body(const struct pframe *a, const struct pframe *b)
{
    return a->body_len == b->body_len && memcmp(a->body, b->body, a->body_len) == 0;
}

/* Section 6: retries (same type and seq) get the cached answer; the same
 * seq with another type is a new request; another version is never a
 * retry of a version-1 request. */
static void pen_duplicates(struct ct *t)
{
    struct plink l;
    struct pframe a, b, c, d, e;
    CT_REQUIRE(t, pl_open(t, &l), "open the pen");
    const uint16_t seq = 0x0700;
    CT_REQUIRE(t, pl_send(&l, 1, PD_GET_STATUS, 0, seq, NULL, 0) && pl_answer(&l, seq, &a, 1000),
               "GET_STATUS");
    ct_sleep_ms(30);
    CT_REQUIRE(t, pl_send(&l, 1, PD_GET_STATUS, 0, seq, NULL, 0) && pl_answer(&l, seq, &b, 1000),
               "GET_STATUS retry");
    CT_CHECK(t, same_body(&a, &b), "the retry was executed again, not answered from the cache");
    CT_REQUIRE(t, pl_send(&l, 1, PD_IDENTIFY, 0, seq, NULL, 0) && pl_answer(&l, seq, &c, 1000),
               "IDENTIFY, same seq");
    CT_CHECK(t, c.type == PD_IDENTIFY && c.len == 60,
             "IDENTIFY with the seq of the GET_STATUS got type 0x%02x (cached answer?)", c.type);
    CT_REQUIRE(t, pl_send(&l, 1, PD_IDENTIFY, 0, seq, NULL, 0) && pl_answer(&l, seq, &d, 1000),
               "IDENTIFY retry");
    CT_CHECK(t, same_body(&c, &d), "IDENTIFY retry not the cached answer");
    CT_REQUIRE(t, pl_send(&l, 1, PD_GET_STATUS, 0, seq, NULL, 0) && pl_answer(&l, seq, &e, 1000),
               "GET_STATUS again");
    struct pstatus sa, se;
    pd_status(&a, &sa);
    pd_status(&e, &se);
    CT_CHECK(t, e.type == PD_GET_STATUS && se.uptime_ms >= sa.uptime_ms + 30,
             "GET_STATUS after IDENTIFY (same seq) not executed anew (uptime %u then %u)",
             sa.uptime_ms, se.uptime_ms);

    const uint16_t seq2 = 0x0701;
    CT_REQUIRE(t, pl_send(&l, 2, PD_GET_STATUS, 0, seq2, NULL, 0) && pl_answer(&l, seq2, &a, 1000),
               "version 2 GET_STATUS");
    CT_CHECK(t, a.type == PD_NAK && a.payload[1] == PD_E_VERSION, "no NAK VERSION");
    CT_REQUIRE(t, pl_send(&l, 1, PD_GET_STATUS, 0, seq2, NULL, 0) && pl_answer(&l, seq2, &b, 1000),
               "version 1 GET_STATUS, same seq");
    CT_CHECK(t, b.type == PD_GET_STATUS && b.len == 28,
             "version-1 GET_STATUS answered with the version-2 frame's NAK (type 0x%02x)", b.type);
    pl_close(&l);
}

/* Section 6: a request's answer first; the events it caused before the
 * answer to the next request. */
static void check_answer_then_event(struct ct *t, struct plink *l, uint8_t type, int state,
                                    int reason)
{
    struct pframe f;
    uint16_t seq = l->seq++;
    int from = l->nlog;
    CT_REQUIRE(t, pl_send(l, PD_VERSION, type, 0, seq, NULL, 0) && pl_answer(l, seq, &f, 1000),
               "type 0x%02x not answered", type);
    CT_REQUIRE(t, f.type == type, "type 0x%02x refused: error %u", type, f.payload[1]);
    struct pstatus st;
    uint16_t next = l->seq;
    CT_REQUIRE(t, pl_get_status(l, &st), "GET_STATUS");
    int a = pl_find_seq(l, from, seq, PD_F_RESPONSE);
    int e = pl_find(l, from, PD_EVT_STATE, PD_F_EVENT, state, reason);
    int b = pl_find_seq(l, from, next, PD_F_RESPONSE);
    CT_CHECK(t, a >= 0 && e >= 0 && b >= 0 && a < e && e < b,
             "type 0x%02x: answer at %d, its EVT_STATE at %d, next answer at %d", type, a, e, b);
}

static void pen_event_order(struct ct *t)
{
    struct plink l;
    struct pstatus st;
    CT_REQUIRE(t, pl_open(t, &l), "open the pen");
    CT_REQUIRE(t, pl_set_rate(&l, 100000) == 100000, "SET_RATE");
    check_answer_then_event(t, &l, PD_START, PD_SPINUP, PD_R_COMMAND);
    CT_REQUIRE(t, pl_wait_state(&l, PD_RUNNING, 3000, &st), "not RUNNING");
    check_answer_then_event(t, &l, PD_STOP, PD_STOPPING, PD_R_COMMAND);
    CT_REQUIRE(t, pl_wait_state(&l, PD_IDLE, 3000, &st), "not IDLE");
    CT_REQUIRE(t, pl_run_motor(t, &l, 100000), "motor");
    CT_REQUIRE(t, pl_listen_for_state(&l, PD_R_WATCHDOG, 2000) >= 0, "no watchdog trip");
    check_answer_then_event(t, &l, PD_CLEAR_FAULT, PD_IDLE, PD_R_FAULT_CLEARED);
    pl_close(&l);
}

/* Section 4: the order of the receiver checks decides the NAK; flags
 * other than 0x00 drop the frame (but another version is NAKed first). */
static void pen_precedence_frames(struct ct *t, struct plink *l)
{
    static const struct {
        const char *what, *body; /* seq bytes are 0x55 0x44 */
        uint8_t error;           /* 0: no answer */
        uint8_t echoed;
    } cases[] = {
        { "version 2, flags 0x01, unknown type", "02 30 01 00 55 44", PD_E_VERSION, 0x30 },
        { "version 3 SET_RATE with a short payload", "03 02 00 02 55 44 10 27", PD_E_VERSION,
          0x02 },
        { "unknown type with a payload", "01 30 00 03 55 44 01 02 03", PD_E_UNKNOWN_TYPE, 0x30 },
        { "EVT_STATE sent as a request", "01 40 00 03 55 44 02 01 01", PD_E_UNKNOWN_TYPE, 0x40 },
        { "NAK sent as a request", "01 7f 00 02 55 44 01 01", PD_E_UNKNOWN_TYPE, 0x7f },
        { "SET_RATE of 2 bytes, value below range", "01 02 00 02 55 44 10 27", PD_E_BAD_LENGTH,
          0x02 },
        { "len field 1, no payload", "01 06 00 01 55 44", PD_E_BAD_LENGTH, 0x06 },
        { "SET_DEPTH above 3000", "01 03 00 02 55 44 b9 0b", PD_E_OUT_OF_RANGE, 0x03 },
        { "flags 0x04", "01 06 04 00 55 44", 0, 0 },
        { "flags 0x03", "01 06 03 00 55 44", 0, 0 },
        { "a GET_STATUS response sent to the pen", "01 06 01 00 55 44", 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t body[64];
        size_t n = ct_hex(cases[i].body, body, sizeof body);
        uint16_t seq = (uint16_t)(0x4455 + i);
        ct_put16(body + 4, seq);
        struct pframe f;
        CT_REQUIRE(t, pl_send_body(l, body, n), "send");
        int got = pl_answer(l, seq, &f, cases[i].error ? 1000 : 300);
        if (cases[i].error == 0) {
            CT_CHECK(t, !got, "%s: answered (type 0x%02x), should be dropped", cases[i].what,
                     f.type);
            continue;
        }
        CT_CHECK(t,
                 got && f.version == 1 && f.type == PD_NAK && f.flags == PD_F_RESPONSE &&
                     f.payload[0] == cases[i].echoed && f.payload[1] == cases[i].error,
                 "%s: want NAK %u of type 0x%02x, got %s type 0x%02x error %u", cases[i].what,
                 cases[i].error, cases[i].echoed, got ? "frame" : "nothing", f.payload[0],
                 f.payload[1]);
    }
}

static bool wait_faults(struct plink *l, uint32_t bits, bool set, int timeout_ms)
{
    struct pstatus st;
    uint64_t deadline = ct_now_ms() + (uint64_t)timeout_ms;
    do {
        if (pl_get_status(l, &st) && ((st.faults & bits) != 0) == set)
            return true;
        ct_sleep_ms(50);
    } while (ct_now_ms() < deadline);
    return false;
}

/* Section 5.4: which refusal of START wins. */
static void pen_precedence(struct ct *t)
{
    struct plink l;
    struct pframe f;
    struct pstatus st;
    CT_REQUIRE(t, pl_open(t, &l), "open the pen");
    pen_precedence_frames(t, &l);

    CT_REQUIRE(t, pl_run_motor(t, &l, 100000), "motor");
    CT_REQUIRE(t, ct_ctl_ok("{\"fault\":\"no-cartridge\"}"), "inject no-cartridge");
    CT_REQUIRE(t, wait_faults(&l, PD_FAULT_NO_CARTRIDGE, true, 2000), "no NO_CARTRIDGE bit");
    int r = pl_request(&l, PD_START, NULL, 0, &f);
    CT_CHECK(t, r == 1 && f.type == PD_START,
             "START while RUNNING without a cartridge: %s %u (it changes nothing: accepted)",
             r == 2 ? "NAK" : "no answer", r == 2 ? f.payload[1] : 0);
    CT_CHECK(t, pl_get_status(&l, &st) && st.state == PD_RUNNING, "state %u", st.state);

    CT_REQUIRE(t, pl_listen_for_state(&l, PD_R_WATCHDOG, 2000) >= 0, "no watchdog trip");
    r = pl_request(&l, PD_START, NULL, 0, &f);
    CT_CHECK(t, r == 2 && f.payload[1] == PD_E_FAULT_ACTIVE,
             "START in FAULT without a cartridge: want FAULT_ACTIVE, got %s %u",
             r == 2 ? "NAK" : "answer", r == 2 ? f.payload[1] : 0);
    CT_CHECK(t, pl_request(&l, PD_CLEAR_FAULT, NULL, 0, &f) == 1, "CLEAR_FAULT");
    r = pl_request(&l, PD_START, NULL, 0, &f);
    CT_CHECK(t, r == 2 && f.payload[1] == PD_E_NO_CARTRIDGE,
             "START in IDLE without a cartridge: want NO_CARTRIDGE, got %u",
             r == 2 ? f.payload[1] : 0);
    CT_CHECK(t, ct_ctl_ok("{\"clear\":true}"), "clear faults");
    pl_close(&l);
}

static const struct ct_scenario scenarios[] = {
    { "golden", "PEN.md 11 worked examples, then sent verbatim", pen_golden },
    { "watchdog-version", "9: NAKed v1 requests feed the watchdog, other versions do not",
      pen_watchdog_version },
    { "watchdog-flags", "4/9: frames flagged pen->host: no answer, no watchdog feed",
      pen_watchdog_flags },
    { "fault-order", "9: EVT_STATE then EVT_FAULT on a trip, back to back", pen_fault_order },
    { "rate-band", "5.2/7: a change within 5 % stays RUNNING, a larger one spins up",
      pen_rate_band },
    { "rate-resolution", "5.2: 100 mHz steps, applied rate echoed and in GET_STATUS",
      pen_rate_resolution },
    { "duplicates", "6: retries, same seq with another type, another version", pen_duplicates },
    { "event-order", "6: answer, then the events it caused, then the next answer",
      pen_event_order },
    { "precedence", "4/5.4: which NAK wins, which frames are dropped", pen_precedence },
};

int main(int argc, char **argv)
{
    return ct_main(argc, argv, scenarios, sizeof scenarios / sizeof scenarios[0]);
}
