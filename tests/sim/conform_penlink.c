/* The pen's wire format and a termios client, from PEN.md alone (see
 * conform_pen.h). */
#include "conform_pen.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PEN_PORT "/dev/ttyACM0"

/* Section 3: CRC-16/CCITT-FALSE, poly 0x1021, init 0xFFFF, no reflection,
 * xorout 0. Bit by bit, as the definition reads. */
uint16_t pd_crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

/* Section 2: COBS (Cheshire & Baker). Each code byte gives the distance
 * to the next zero; 0xFF is a run of 254 non-zero bytes without a zero. */
size_t pd_cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t code_at = 0, o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < n; i++) {
        if (in[i] != 0) {
            out[o++] = in[i];
            code++;
        }
        if (in[i] == 0 || code == 0xFF) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        }
    }
    out[code_at] = code;
    return o;
}

long pd_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i++];
        if (code == 0)
            return -1;
        for (uint8_t k = 1; k < code; k++) {
            if (i >= n || o >= cap)
                return -1;
            out[o++] = in[i++];
        }
        if (code != 0xFF && i < n) {
            if (o >= cap)
                return -1;
            out[o++] = 0;
        }
    }
    return (long)o;
}

size_t pd_frame(const uint8_t *hdr_payload, size_t n, uint8_t *out)
{
    uint8_t body[PD_MAX_FRAME];
    memcpy(body, hdr_payload, n);
    ct_put16(body + n, pd_crc16(hdr_payload, n)); /* low byte first */
    size_t len = pd_cobs_encode(body, n + PD_CRC, out);
    out[len] = 0x00;
    return len + 1;
}

size_t pd_body(uint8_t *out, uint8_t version, uint8_t type, uint8_t flags, uint16_t seq,
               const uint8_t *payload, uint8_t len)
{
    out[0] = version;
    out[1] = type;
    out[2] = flags;
    out[3] = len;
    ct_put16(out + 4, seq);
    if (len)
        memcpy(out + PD_HEADER, payload, len);
    return PD_HEADER + (size_t)len;
}

bool pd_parse(const uint8_t *body, size_t n, struct pframe *f)
{
    memset(f, 0, sizeof *f);
    if (n < PD_HEADER + PD_CRC || n > sizeof f->body)
        return false;
    if (pd_crc16(body, n - PD_CRC) != ct_get16(body + n - PD_CRC))
        return false;
    f->version = body[0];
    f->type = body[1];
    f->flags = body[2];
    f->len = body[3];
    f->seq = ct_get16(body + 4);
    if (f->len != n - PD_HEADER - PD_CRC)
        return false;
    memcpy(f->payload, body + PD_HEADER, f->len);
    memcpy(f->body, body, n);
    f->body_len = n;
    return true;
}

void pd_status(const struct pframe *f, struct pstatus *st)
{
    const uint8_t *p = f->payload;
    memset(st, 0, sizeof *st);
    st->state = p[0];
    st->set_rate_mhz = ct_get32(p + 1);
    st->measured_rate_mhz = ct_get32(p + 5);
    st->set_depth_um = ct_get16(p + 9);
    st->faults = ct_get32(p + 17);
    st->uptime_ms = ct_get32(p + 21);
    st->watchdog_ms = ct_get16(p + 25);
    st->reserved = p[27];
}

/* ---------------------------------------------------------------- */

bool pl_open(struct ct *t, struct plink *l)
{
    memset(l, 0, sizeof *l);
    l->seq = 0x2000;
    l->fd = open(PEN_PORT, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    CT_CHECK(t, l->fd >= 0, "open %s: %s", PEN_PORT, strerror(errno));
    if (l->fd < 0)
        return false;
    /* Section 1: 115200 8N1, no flow control (the pen ignores it), raw. */
    struct termios tio;
    bool ok = tcgetattr(l->fd, &tio) == 0;
    if (ok) {
        cfmakeraw(&tio);
        cfsetispeed(&tio, B115200);
        cfsetospeed(&tio, B115200);
        tio.c_cflag |= CLOCAL | CREAD;
        tio.c_cflag &= ~(tcflag_t)CRTSCTS;
        tio.c_cc[VMIN] = 0;
        tio.c_cc[VTIME] = 0;
        ok = tcsetattr(l->fd, TCSANOW, &tio) == 0;
    }
    CT_CHECK(t, ok, "termios on %s: %s", PEN_PORT, strerror(errno));
    /* Section 2: flush our input, and end whatever partial frame the
     * pen's receiver may hold with one 0x00. */
    (void)tcflush(l->fd, TCIFLUSH);
    const uint8_t zero = 0;
    ok = ok && write(l->fd, &zero, 1) == 1;
    if (!ok)
        pl_close(l);
    return ok;
}

void pl_close(struct plink *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    uint64_t deadline = ct_now_ms() + 1000;
    while (n > 0 && ct_now_ms() < deadline) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return false;
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };
            (void)poll(&pfd, 1, 10);
        }
    }
    return n == 0;
}

bool pl_send_body(struct plink *l, const uint8_t *hdr_payload, size_t n)
{
    uint8_t frame[PD_MAX_FRAME + 8];
    size_t len = pd_frame(hdr_payload, n, frame);
    return write_all(l->fd, frame, len);
}

bool pl_send(struct plink *l, uint8_t version, uint8_t type, uint8_t flags, uint16_t seq,
             const uint8_t *payload, uint8_t len)
{
    uint8_t body[PD_MAX_FRAME];
    size_t n = pd_body(body, version, type, flags, seq, payload, len);
    return pl_send_body(l, body, n);
}

/* One byte into the receiver; true when it completed a good frame. */
static bool rx_byte(struct plink *l, uint8_t b, struct pframe *f)
{
    if (b != 0x00) {
        if (l->discarding)
            return false;
        if (l->acc_len == sizeof l->acc) { /* section 2: oversize */
            l->discarding = true;
            l->acc_len = 0;
            l->bad_frames++;
            return false;
        }
        l->acc[l->acc_len++] = b;
        return false;
    }
    size_t n = l->acc_len;
    l->acc_len = 0;
    if (l->discarding || n == 0) { /* end of a dropped / empty frame */
        l->discarding = false;
        return false;
    }
    uint8_t body[PD_MAX_FRAME];
    long m = pd_cobs_decode(l->acc, n, body, sizeof body);
    if (m < 0 || !pd_parse(body, (size_t)m, f)) {
        l->bad_frames++;
        return false;
    }
    f->at_ms = ct_now_ms();
    if (l->nlog < (int)(sizeof l->log / sizeof l->log[0]))
        l->log[l->nlog++] = *f;
    return true;
}

int pl_recv(struct plink *l, struct pframe *f, int timeout_ms)
{
    uint64_t deadline = ct_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        while (l->in_pos < l->in_len)
            if (rx_byte(l, l->in[l->in_pos++], f))
                return 1;
        uint64_t now = ct_now_ms();
        if (now >= deadline)
            return 0;
        struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
        int r = poll(&pfd, 1, (int)(deadline - now));
        if (r < 0 && errno != EINTR)
            return 0;
        if (r <= 0)
            continue;
        ssize_t n = read(l->fd, l->in, sizeof l->in);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            return 0; /* hung up */
        l->in_pos = 0;
        l->in_len = (size_t)n;
    }
}

int pl_answer(struct plink *l, uint16_t seq, struct pframe *f, int timeout_ms)
{
    uint64_t deadline = ct_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = ct_now_ms();
        if (now >= deadline || !pl_recv(l, f, (int)(deadline - now)))
            return 0;
        if (!(f->flags & PD_F_EVENT) && f->seq == seq)
            return 1;
    }
}

int pl_request(struct plink *l, uint8_t type, const uint8_t *payload, uint8_t len, struct pframe *f)
{
    uint16_t seq = l->seq++;
    if (!pl_send(l, PD_VERSION, type, 0, seq, payload, len))
        return 0;
    /* Section 6: answered within 100 ms; the slack is for a loaded CI box. */
    if (!pl_answer(l, seq, f, 10 * PD_RESPONSE_MS))
        return 0;
    return f->type == PD_NAK ? 2 : 1;
}

bool pl_get_status(struct plink *l, struct pstatus *st)
{
    struct pframe f;
    if (pl_request(l, PD_GET_STATUS, NULL, 0, &f) != 1 || f.len != 28)
        return false;
    pd_status(&f, st);
    return true;
}

uint32_t pl_set_rate(struct plink *l, uint32_t rate_mhz)
{
    uint8_t p[4];
    struct pframe f;
    ct_put32(p, rate_mhz);
    if (pl_request(l, PD_SET_RATE, p, 4, &f) != 1 || f.type != PD_SET_RATE || f.len != 4)
        return 0;
    return ct_get32(f.payload);
}

bool pl_wait_state(struct plink *l, uint8_t want, int timeout_ms, struct pstatus *st)
{
    uint64_t deadline = ct_now_ms() + (uint64_t)timeout_ms;
    do {
        if (pl_get_status(l, st) && st->state == want)
            return true;
        ct_sleep_ms(50);
    } while (ct_now_ms() < deadline);
    return false;
}

int pl_find(const struct plink *l, int from, uint8_t type, uint8_t flags, int state, int reason)
{
    for (int i = from < 0 ? 0 : from; i < l->nlog; i++) {
        const struct pframe *f = &l->log[i];
        if (f->type != type || f->flags != flags)
            continue;
        if (type == PD_EVT_STATE && f->len == 3 &&
            ((state >= 0 && f->payload[0] != state) || (reason >= 0 && f->payload[2] != reason)))
            continue;
        return i;
    }
    return -1;
}

int pl_find_seq(const struct plink *l, int from, uint16_t seq, uint8_t flags)
{
    for (int i = from < 0 ? 0 : from; i < l->nlog; i++)
        if (l->log[i].seq == seq && l->log[i].flags == flags)
            return i;
    return -1;
}

int pl_listen_for_state(struct plink *l, uint8_t reason, int timeout_ms)
{
    uint64_t deadline = ct_now_ms() + (uint64_t)timeout_ms;
    struct pframe f;
    int from = l->nlog;
    while (ct_now_ms() < deadline) {
        (void)pl_recv(l, &f, 50);
        int i = pl_find(l, from, PD_EVT_STATE, PD_F_EVENT, -1, reason);
        if (i >= 0)
            return i;
    }
    return -1;
}

bool pl_run_motor(struct ct *t, struct plink *l, uint32_t rate_mhz)
{
    struct pframe f;
    struct pstatus st = { 0 };
    CT_CHECK(t, pl_set_rate(l, rate_mhz) != 0, "SET_RATE %u refused", rate_mhz);
    int r = pl_request(l, PD_START, NULL, 0, &f);
    CT_CHECK(t, r == 1, "START: %s (error %u)", r == 2 ? "NAK" : "no answer",
             r == 2 ? f.payload[1] : 0);
    bool running = r == 1 && pl_wait_state(l, PD_RUNNING, 3000, &st);
    CT_CHECK(t, running, "never RUNNING (state %u)", st.state);
    return running;
}
