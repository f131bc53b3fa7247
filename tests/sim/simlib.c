/* Plain device clients for the rigsim tests (see simlib.h). */
#include "simlib.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "protocol/cobs.h"
#include "protocol/crc.h"

int sim_failures;

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---------------------------------------------------------------- */
/* pen                                                               */

int pen_open(struct pen_link *l)
{
    return pen_open_port(l, PEN_PORT);
}

int pen_open_port(struct pen_link *l, const char *name)
{
    memset(l, 0, sizeof *l);
    pen_rx_init(&l->rx);
    l->seq = 100;
    if (sp_get_port_by_name(name, &l->port) != SP_OK) {
        fprintf(stderr, "pen: %s: %s\n", name, sp_last_error_message());
        return -1;
    }
    if (sp_open(l->port, SP_MODE_READ_WRITE) != SP_OK) {
        fprintf(stderr, "pen: open %s: %s\n", name, sp_last_error_message());
        sp_free_port(l->port);
        l->port = NULL;
        return -1;
    }
    if (sp_set_baudrate(l->port, 115200) != SP_OK || sp_set_bits(l->port, 8) != SP_OK ||
        sp_set_parity(l->port, SP_PARITY_NONE) != SP_OK || sp_set_stopbits(l->port, 1) != SP_OK ||
        sp_set_flowcontrol(l->port, SP_FLOWCONTROL_NONE) != SP_OK ||
        sp_set_dtr(l->port, SP_DTR_ON) != SP_OK) {
        fprintf(stderr, "pen: configure %s: %s\n", name, sp_last_error_message());
        pen_close(l);
        return -1;
    }
    /* a leading delimiter resynchronises the pen's receiver */
    const uint8_t zero = 0;
    if (sp_blocking_write(l->port, &zero, 1, IO_TIMEOUT_MS) != 1) {
        pen_close(l);
        return -1;
    }
    return 0;
}

void pen_close(struct pen_link *l)
{
    if (l->port) {
        sp_close(l->port);
        sp_free_port(l->port);
        l->port = NULL;
    }
}

int pen_poll(struct pen_link *l, struct pen_msg *out, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        while (l->pos < l->len) {
            const uint8_t *p = l->buf + l->pos;
            size_t n = l->len - l->pos;
            int r = pen_rx_next(&l->rx, &p, &n, out);
            l->pos = l->len - n;
            if (r == PEN_OK)
                return 1;
            if (r == PEN_NEED_MORE)
                break;
            /* a bad frame: counted in rx.stats, keep going */
        }
        uint64_t now = now_ms();
        if (now >= deadline)
            return 0;
        int n = sp_blocking_read_next(l->port, l->buf, sizeof l->buf, (unsigned)(deadline - now));
        if (n < 0) {
            l->io_error = true;
            return -1;
        }
        if (n == 0)
            return 0;
        l->pos = 0;
        l->len = (size_t)n;
    }
}

static int send_frame(struct pen_link *l, const uint8_t *frame, size_t n)
{
    int w = sp_blocking_write(l->port, frame, n, IO_TIMEOUT_MS);
    if (w != (int)n) {
        l->io_error = true;
        return -2;
    }
    return 0;
}

int pen_send_raw(struct pen_link *l, const uint8_t *body, size_t len)
{
    uint8_t b[PEN_MAX_BODY + 8], frame[PEN_MAX_FRAME + 8];
    if (len + 2 > sizeof b)
        return -1;
    memcpy(b, body, len);
    uint16_t crc = crc16_ccitt(CRC16_INIT, body, len);
    b[len] = (uint8_t)(crc & 0xff);
    b[len + 1] = (uint8_t)(crc >> 8);
    size_t n = cobs_encode(b, len + 2, frame + 1, sizeof frame - 2);
    if (n == 0)
        return -1;
    frame[0] = 0;
    frame[n + 1] = 0;
    return send_frame(l, frame, n + 2);
}

static void keep_event(struct pen_link *l, const struct pen_msg *m)
{
    if (l->nevents < (int)(sizeof l->events / sizeof l->events[0]))
        l->events[l->nevents++] = *m;
}

int pen_request_seq(struct pen_link *l, uint8_t type, uint16_t seq, const struct pen_msg *req,
                    struct pen_msg *resp, int timeout_ms)
{
    struct pen_msg m = { .type = type, .flags = 0, .seq = seq };
    if (req)
        m.u = req->u;
    uint8_t frame[PEN_MAX_FRAME];
    int n = pen_encode(&m, frame, sizeof frame);
    if (n < 0) {
        fprintf(stderr, "pen: encode %s: %s\n", pen_msg_type_str(type), pen_result_str(n));
        return -2;
    }
    if (send_frame(l, frame, (size_t)n) < 0)
        return -2;
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return -1;
        int r = pen_poll(l, resp, (int)(deadline - now));
        if (r < 0)
            return -2;
        if (r == 0)
            return -1;
        if (resp->flags & PEN_F_EVENT) {
            keep_event(l, resp);
            continue;
        }
        if ((resp->flags & PEN_F_RESPONSE) && resp->seq == seq)
            return resp->type == PEN_MSG_NAK ? 1 : 0;
        /* a late answer to an earlier request: skip */
    }
}

int pen_request(struct pen_link *l, uint8_t type, const struct pen_msg *req, struct pen_msg *resp,
                int timeout_ms)
{
    return pen_request_seq(l, type, l->seq++, req, resp, timeout_ms);
}

static bool event_matches(const struct pen_msg *m, uint8_t type, int reason)
{
    if (m->type != type)
        return false;
    return type != PEN_MSG_EVT_STATE || reason < 0 || m->u.evt_state.reason == reason;
}

bool pen_wait_event(struct pen_link *l, uint8_t type, int reason, int timeout_ms,
                    struct pen_msg *out)
{
    for (int i = 0; i < l->nevents; i++)
        if (event_matches(&l->events[i], type, reason)) {
            *out = l->events[i];
            return true;
        }
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return false;
        struct pen_msg m;
        int r = pen_poll(l, &m, (int)(deadline - now));
        if (r <= 0)
            return false;
        if (!(m.flags & PEN_F_EVENT))
            continue;
        keep_event(l, &m);
        if (event_matches(&m, type, reason)) {
            *out = m;
            return true;
        }
    }
}

bool pen_wait_state(struct pen_link *l, uint8_t want, int timeout_ms, struct pen_status *st)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    struct pen_msg resp;
    do {
        if (pen_request(l, PEN_MSG_GET_STATUS, NULL, &resp, IO_TIMEOUT_MS) == 0) {
            *st = resp.u.status;
            if (st->state == want)
                return true;
        }
        sleep_ms(50);
    } while (now_ms() < deadline);
    return false;
}

int pen_start(struct pen_link *l, uint32_t rate_mhz)
{
    struct pen_msg req = { 0 }, resp;
    req.u.rate_mhz = rate_mhz;
    REQUIRE(pen_request(l, PEN_MSG_SET_RATE, &req, &resp, IO_TIMEOUT_MS) == 0, "set rate");
    REQUIRE(pen_request(l, PEN_MSG_START, NULL, &resp, IO_TIMEOUT_MS) == 0, "start: %s",
            resp.type == PEN_MSG_NAK ? pen_error_str(resp.u.nak.error) : "no answer");
    struct pen_status st;
    REQUIRE(pen_wait_state(l, PEN_STATE_RUNNING, 3000, &st), "never RUNNING (state %s)",
            pen_state_str(st.state));
    return 0;
}

void pen_keep_alive(struct pen_link *l, unsigned ms)
{
    struct pen_msg resp;
    for (uint64_t end = now_ms() + ms; now_ms() < end; sleep_ms(100))
        (void)pen_request(l, PEN_MSG_HEARTBEAT, NULL, &resp, IO_TIMEOUT_MS);
}

/* ---------------------------------------------------------------- */
/* sensor head                                                       */

int sh_open(struct sh_dev *d)
{
    return sh_open_serial(d, NULL);
}

/* The sensor head with this USB serial, opened (NULL if none is). */
static libusb_device_handle *open_by_serial(libusb_context *ctx, const char *serial)
{
    libusb_device **list;
    libusb_device_handle *found = NULL;
    ssize_t n = libusb_get_device_list(ctx, &list);
    for (ssize_t i = 0; i < n && !found; i++) {
        struct libusb_device_descriptor dd;
        libusb_device_handle *h;
        unsigned char ser[64] = "";
        if (libusb_get_device_descriptor(list[i], &dd) < 0 || dd.idVendor != SH_USB_VID ||
            dd.idProduct != SH_USB_PID || libusb_open(list[i], &h) < 0)
            continue;
        if (libusb_get_string_descriptor_ascii(h, dd.iSerialNumber, ser, sizeof ser) > 0 &&
            strcmp((char *)ser, serial) == 0)
            found = h;
        else
            libusb_close(h);
    }
    if (n >= 0)
        libusb_free_device_list(list, 1);
    return found;
}

int sh_open_serial(struct sh_dev *d, const char *serial)
{
    memset(d, 0, sizeof *d);
    int r = libusb_init(&d->ctx);
    if (r < 0) {
        fprintf(stderr, "sensor: libusb_init: %s\n", libusb_strerror(r));
        return -1;
    }
    d->h = serial ? open_by_serial(d->ctx, serial)
                  : libusb_open_device_with_vid_pid(d->ctx, SH_USB_VID, SH_USB_PID);
    if (!d->h) {
        fprintf(stderr, "sensor: %04x:%04x%s%s not found or not openable\n", SH_USB_VID, SH_USB_PID,
                serial ? " serial " : "", serial ? serial : "");
        sh_close(d);
        return -1;
    }
    r = libusb_claim_interface(d->h, SH_INTERFACE);
    if (r < 0) {
        fprintf(stderr, "sensor: claim interface: %s\n", libusb_strerror(r));
        sh_close(d);
        return -1;
    }
    return 0;
}

void sh_close(struct sh_dev *d)
{
    if (d->h) {
        (void)libusb_release_interface(d->h, SH_INTERFACE);
        libusb_close(d->h);
        d->h = NULL;
    }
    if (d->ctx) {
        libusb_exit(d->ctx);
        d->ctx = NULL;
    }
}

int sh_ctrl_in(struct sh_dev *d, uint8_t req, uint16_t value, uint8_t *buf, uint16_t len)
{
    return libusb_control_transfer(d->h, SH_REQTYPE_IN, req, value, SH_INTERFACE, buf, len,
                                   IO_TIMEOUT_MS);
}

int sh_ctrl_out(struct sh_dev *d, uint8_t req, uint16_t value, const uint8_t *buf, uint16_t len)
{
    return libusb_control_transfer(d->h, SH_REQTYPE_OUT, req, value, SH_INTERFACE,
                                   (unsigned char *)(uintptr_t)buf, len, IO_TIMEOUT_MS);
}

int sh_set_rate(struct sh_dev *d, uint32_t rate)
{
    uint8_t b[4] = { (uint8_t)rate, (uint8_t)(rate >> 8), (uint8_t)(rate >> 16),
                     (uint8_t)(rate >> 24) };
    int r = sh_ctrl_out(d, SH_REQ_SET_RATE, 0, b, 4);
    return r < 0 ? r : 0; /* libusb: the 4 data bytes sent */
}

static void hash_samples(struct sh_streamer *s, const uint8_t *buf,
                         const struct sh_block_header *hdr)
{
    static int32_t f[SH_MAX_SAMPLES], x[SH_MAX_SAMPLES];
    if (s->hashed >= s->hash_limit)
        return;
    sh_block_samples(buf, hdr, f, x);
    for (unsigned i = 0; i < hdr->count && s->hashed < s->hash_limit; i++, s->hashed++) {
        int32_t v[2] = { f[i], x[i] };
        const uint8_t *p = (const uint8_t *)v;
        for (unsigned k = 0; k < sizeof v; k++) {
            s->hash ^= p[k];
            s->hash *= 0x100000001b3ull;
        }
    }
}

static void LIBUSB_CALL on_transfer(struct libusb_transfer *t)
{
    struct sh_streamer *s = t->user_data;
    if (t->status == LIBUSB_TRANSFER_COMPLETED) {
        struct sh_block_header hdr;
        if (sh_block_decode(t->buffer, (size_t)t->actual_length, &hdr) != SH_OK) {
            sh_stream_bad_block(&s->cont);
        } else {
            enum sh_continuity c = sh_stream_check(&s->cont, &hdr);
            if ((unsigned)c < 5)
                s->cont_counts[c]++;
            s->flags_seen |= hdr.flags;
            if (hdr.flags & SH_BLK_LAST) {
                s->saw_last = true;
            } else {
                if (s->min_count == 0 || hdr.count < s->min_count)
                    s->min_count = hdr.count;
                if (hdr.count > s->max_count)
                    s->max_count = hdr.count;
            }
            s->last_block_at_ms = now_ms();
            if (c != SH_CONT_REPEAT)
                hash_samples(s, t->buffer, &hdr);
        }
    } else if (t->status == LIBUSB_TRANSFER_NO_DEVICE) {
        s->no_device++;
    } else if (t->status != LIBUSB_TRANSFER_CANCELLED) {
        s->errors++;
    }
    if (t->status == LIBUSB_TRANSFER_NO_DEVICE || t->status == LIBUSB_TRANSFER_CANCELLED ||
        s->stopping || libusb_submit_transfer(t) < 0)
        s->inflight--;
}

int sh_stream_begin(struct sh_streamer *s, struct sh_dev *d, int ntransfers)
{
    uint64_t limit = s->hash_limit;
    memset(s, 0, sizeof *s);
    s->d = d;
    s->hash = 0xcbf29ce484222325ull;
    s->hash_limit = limit;
    sh_stream_reset(&s->cont);
    if (ntransfers > 32)
        ntransfers = 32;
    for (int i = 0; i < ntransfers; i++) {
        struct libusb_transfer *t = libusb_alloc_transfer(0);
        uint8_t *buf = malloc(SH_TRANSFER_SIZE);
        if (!t || !buf) {
            free(buf);
            libusb_free_transfer(t);
            return -1;
        }
        libusb_fill_bulk_transfer(t, d->h, SH_EP_STREAM, buf, SH_TRANSFER_SIZE, on_transfer, s, 0);
        t->flags = LIBUSB_TRANSFER_FREE_BUFFER;
        s->xfers[i] = t;
        int r = libusb_submit_transfer(t);
        if (r < 0) {
            fprintf(stderr, "sensor: submit: %s\n", libusb_strerror(r));
            return -1;
        }
        s->inflight++;
    }
    return 0;
}

void sh_stream_run(struct sh_streamer *s, unsigned ms)
{
    uint64_t deadline = now_ms() + ms;
    while (now_ms() < deadline && s->inflight > 0) {
        struct timeval tv = { 0, 100000 };
        int r = libusb_handle_events_timeout_completed(s->d->ctx, &tv, NULL);
        if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED)
            break;
    }
}

void sh_stream_end(struct sh_streamer *s)
{
    s->stopping = true;
    for (int i = 0; i < 32 && s->xfers[i]; i++)
        (void)libusb_cancel_transfer(s->xfers[i]);
    uint64_t deadline = now_ms() + 3000;
    while (s->inflight > 0 && now_ms() < deadline) {
        struct timeval tv = { 0, 100000 };
        (void)libusb_handle_events_timeout_completed(s->d->ctx, &tv, NULL);
    }
    for (int i = 0; i < 32 && s->xfers[i]; i++) {
        libusb_free_transfer(s->xfers[i]);
        s->xfers[i] = NULL;
    }
}

int sh_hash(const char *serial, uint64_t n, uint64_t *hash)
{
    struct sh_dev d;
    REQUIRE(sh_open_serial(&d, serial) == 0, "open sensor head");
    REQUIRE(sh_set_rate(&d, 50000) == 0, "SET_RATE");
    struct sh_streamer s = { .hash_limit = n };
    REQUIRE(sh_stream_begin(&s, &d, 4) == 0, "submit");
    REQUIRE(sh_ctrl_out(&d, SH_REQ_START, 0, NULL, 0) == 0, "START");
    uint64_t deadline = now_ms() + 10000;
    while (s.hashed < n && now_ms() < deadline)
        sh_stream_run(&s, 100);
    (void)sh_ctrl_out(&d, SH_REQ_STOP, 0, NULL, 0);
    sh_stream_end(&s);
    sh_close(&d);
    REQUIRE(s.hashed == n, "only %llu samples", (unsigned long long)s.hashed);
    *hash = s.hash;
    return 0;
}

/* ---------------------------------------------------------------- */
/* control socket                                                    */

cJSON *ctl(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    const char *path = getenv("RIGSIM_CONTROL");
    if (!path) {
        fprintf(stderr, "ctl: RIGSIM_CONTROL not set (not running under rigsim?)\n");
        return NULL;
    }
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "ctl: connect %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char reply[8192];
    size_t got = 0;
    cJSON *j = NULL;
    if (write(fd, line, strlen(line)) == (ssize_t)strlen(line)) {
        while (got < sizeof reply - 1) {
            struct pollfd p = { .fd = fd, .events = POLLIN };
            if (poll(&p, 1, 5000) <= 0)
                break;
            ssize_t n = read(fd, reply + got, sizeof reply - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            reply[got] = '\0';
            if (strchr(reply, '\n')) {
                j = cJSON_Parse(reply);
                break;
            }
        }
    }
    close(fd);
    if (!j)
        fprintf(stderr, "ctl: no valid reply to %s", line);
    return j;
}

bool ctl_ok(const char *line)
{
    cJSON *j = ctl("%s", line);
    bool ok = j && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok"));
    if (j && !ok) {
        char *t = cJSON_PrintUnformatted(j);
        fprintf(stderr, "ctl: %s -> %s\n", line, t);
        cJSON_free(t);
    }
    cJSON_Delete(j);
    return ok;
}

double json_num(const cJSON *o, const char *path)
{
    char key[64];
    const char *dot = strchr(path, '.');
    if (dot) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
        return json_num(cJSON_GetObjectItemCaseSensitive(o, key), dot + 1);
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, path);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

bool sim_motor_running(void)
{
    cJSON *j = ctl("{\"query\":\"pen\"}");
    bool running = j && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "motor_running"));
    cJSON_Delete(j);
    return running;
}

/* The model stops the motor with a spin-down: allow it some time. */
bool sim_wait_motor_stopped(int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    do {
        if (!sim_motor_running())
            return true;
        sleep_ms(50);
    } while (now_ms() < deadline);
    return false;
}
