/* The pen: a USB CDC-ACM tty (/dev/ttyACM<bench>) in the testbed, and the
 * pen firmware emulated behind the pty master on the glib main loop.
 *
 * Why an ioctl handler: umockdev backs the tty with a pty, which answers the
 * modem-line ioctls (TIOCMGET, used by sp_open) with ENOTTY. The handler
 * answers those and runs every other ioctl (termios) on the real pty.
 *
 * Framing is the protocol library's streaming receiver (pen_rx_next): on a
 * frame whose CRC is good but whose version, type, length or range is bad it
 * still reports the header (type, flags, seq), so the firmware can NAK that
 * frame with its seq.
 */
#include "sim/rigsim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "protocol/pen.h"
#include "protocol/sensor.h"
#include "sim/usbdev.h"

#define ACM_MAJOR      166
#define PEN_RETRY_MS   20 /* wait for the client to open the tty */
#define PEN_TICK_MS    10 /* deliver model events (watchdog, at-rate) */
#define PEN_MAX_EVENTS 16

struct rs_pen {
    struct rs_world *w;
    UMockdevIoctlBase *ioctl;
    /* where the bench's pen is: /dev/ttyACM<bench>, its sysfs device and
     * tty, and a bus address taken at the first plug and kept (a known
     * difference from real hardware, docs/RIGSIM.md) */
    char devnode[32], syspath[160], ttypath[224];
    int devnum;
    struct rs_usb_dev usb;  /* USB identity of the current plug */
    struct rs_usbfs *usbfs; /* its /dev/bus/usb node: descriptors, strings */
    bool present;
    int master; /* pty master, ours */
    char ptsname[128];
    guint watch_id, retry_id, tick_id;
    gint modem_bits;  /* atomic: worker thread writes */
    struct pen_rx rx; /* host -> pen frame receiver */
    /* duplicate detection: last request and the response we sent */
    bool cache_valid;
    uint8_t cache_type;
    uint16_t cache_seq;
    uint8_t cache_frame[PEN_MAX_FRAME];
    size_t cache_len;
    uint16_t event_seq;
    /* link faults */
    double corrupt_ber, drop_prob;
    bool mute;
    struct rs_rng rng;
    struct rs_pen_stats stats;
};

/* ---------------------------------------------------------------- */
/* tty ioctls (umockdev worker thread: no blocking, no world lock)    */

static gboolean on_tty_ioctl(UMockdevIoctlBase *h, UMockdevIoctlClient *c, gpointer user)
{
    (void)h;
    struct rs_pen *p = user;
    gulong req = umockdev_ioctl_client_get_request(c);
    GError *err = NULL;

    if (req == TIOCMGET || req == TIOCMSET || req == TIOCMBIS || req == TIOCMBIC) {
        UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);
        UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(int), &err);
        if (!d) {
            g_clear_error(&err);
            umockdev_ioctl_client_complete(c, -1, EFAULT);
            return TRUE;
        }
        int *v = (int *)(void *)d->data;
        if (req == TIOCMGET) {
            *v = g_atomic_int_get(&p->modem_bits);
        } else if (req == TIOCMSET) {
            g_atomic_int_set(&p->modem_bits, *v | TIOCM_DSR | TIOCM_CTS | TIOCM_CD);
        } else if (req == TIOCMBIS) {
            g_atomic_int_or(&p->modem_bits, (guint)*v);
        } else {
            /* DSR/CTS/CD are the device's lines: the host cannot clear them */
            g_atomic_int_and(&p->modem_bits, ~(guint)(*v & ~(TIOCM_DSR | TIOCM_CTS | TIOCM_CD)));
        }
        g_object_unref(d);
        umockdev_ioctl_client_complete(c, 0, 0);
        return TRUE;
    }
    int e = 0;
    int r = umockdev_ioctl_client_execute(c, &e, &err);
    g_clear_error(&err);
    umockdev_ioctl_client_complete(c, r, e);
    return TRUE;
}

/* ---------------------------------------------------------------- */
/* pen -> host                                                        */

/* Write one frame through the link faults. A full pty (host not reading)
 * drops the frame like a CDC device whose host stopped polling. */
static void link_send(struct rs_pen *p, const uint8_t *frame, size_t len)
{
    if (p->drop_prob > 0 && rs_rng_uniform(&p->rng) < p->drop_prob) {
        p->stats.tx_dropped_frames++;
        return;
    }
    uint8_t out[PEN_MAX_FRAME];
    memcpy(out, frame, len);
    if (p->corrupt_ber > 0) {
        for (size_t i = 0; i < len; i++)
            for (int b = 0; b < 8; b++)
                if (rs_rng_uniform(&p->rng) < p->corrupt_ber) {
                    out[i] ^= (uint8_t)(1u << b);
                    p->stats.tx_corrupted_bits++;
                }
    }
    ssize_t n = write(p->master, out, len);
    if (n < 0) {
        rs_log(p->w, "pen: write: %s (frame dropped)", strerror(errno));
        p->stats.tx_dropped_frames++;
        return;
    }
    p->stats.tx_bytes += (uint64_t)n;
}

static size_t encode_or_log(const struct pen_msg *m, uint8_t *frame)
{
    int n = pen_encode(m, frame, PEN_MAX_FRAME);
    if (n < 0) {
        /* A firmware bug, not a link problem: say so loudly. */
        fprintf(stderr, "rigsim: pen: cannot encode %s: %s\n", pen_msg_type_str(m->type),
                pen_result_str(n));
        return 0;
    }
    return (size_t)n;
}

static void send_response(struct rs_pen *p, const struct pen_msg *m, uint8_t req_type)
{
    size_t n = encode_or_log(m, p->cache_frame);
    if (n == 0) {
        p->cache_valid = false;
        return;
    }
    p->cache_len = n;
    p->cache_valid = true;
    p->cache_seq = m->seq;
    p->cache_type = req_type;
    if (m->type == PEN_MSG_NAK)
        p->stats.naks++;
    else
        p->stats.responses++;
    link_send(p, p->cache_frame, n);
}

static void send_nak(struct rs_pen *p, uint8_t type, uint16_t seq, uint8_t error)
{
    struct pen_msg m = { .type = PEN_MSG_NAK, .flags = PEN_F_RESPONSE, .seq = seq };
    m.u.nak.request_type = type;
    m.u.nak.error = error;
    send_response(p, &m, type);
}

/* Called with the world lock held; collects events into ev. */
static int take_events(struct rs_pen *p, struct pen_msg *ev)
{
    return sim_pen_take_events(p->w->model, ev, PEN_MAX_EVENTS);
}

static void send_events(struct rs_pen *p, struct pen_msg *ev, int n)
{
    for (int i = 0; i < n; i++) {
        ev[i].flags = PEN_F_EVENT;
        ev[i].seq = p->event_seq++;
        uint8_t frame[PEN_MAX_FRAME];
        size_t len = encode_or_log(&ev[i], frame);
        if (len == 0)
            continue;
        p->stats.events++;
        link_send(p, frame, len);
    }
}

/* ---------------------------------------------------------------- */
/* host -> pen                                                        */

/* Execute one decoded request (world lock held). Fills the response. */
static void execute(struct rs_pen *p, const struct pen_msg *req, struct pen_msg *resp)
{
    struct sim_model *m = p->w->model;
    struct pen_status st;
    int err = 0;

    *resp = (struct pen_msg){ .type = req->type, .flags = PEN_F_RESPONSE, .seq = req->seq };
    switch (req->type) {
    case PEN_MSG_IDENTIFY:
        sim_pen_identity(m, &resp->u.identity);
        break;
    case PEN_MSG_SET_RATE:
        err = sim_pen_set_rate(m, req->u.rate_mhz);
        sim_pen_status(m, &st);
        resp->u.rate_mhz = st.set_rate_mhz;
        break;
    case PEN_MSG_SET_DEPTH:
        err = sim_pen_set_depth(m, req->u.depth_um);
        sim_pen_status(m, &st);
        resp->u.depth_um = st.set_depth_um;
        break;
    case PEN_MSG_START:
        /* the model refuses in PEN.md 5.4's order: STOPPING, FAULT, no
         * cartridge, no rate (and accepts in SPINUP/RUNNING regardless) */
        err = sim_pen_start(m);
        break;
    case PEN_MSG_STOP:
        err = sim_pen_stop(m);
        break;
    case PEN_MSG_GET_STATUS:
        sim_pen_status(m, &resp->u.status);
        break;
    case PEN_MSG_HEARTBEAT:
        break;
    case PEN_MSG_CLEAR_FAULT:
        err = sim_pen_clear_fault(m);
        break;
    default:
        err = PEN_ERR_UNKNOWN_TYPE;
        break;
    }
    if (err != 0) {
        *resp = (struct pen_msg){ .type = PEN_MSG_NAK, .flags = PEN_F_RESPONSE, .seq = req->seq };
        resp->u.nak.request_type = req->type;
        resp->u.nak.error = (uint8_t)err;
    }
}

/* PEN.md 4: the NAK for a version-1 request with flags 0x00 that the
 * receiver refused (another version: on_other_version). PEN_E_FLAGS here
 * is a type that exists only pen -> host (EVT_*, NAK) sent as a request:
 * no request of that type exists, so UNKNOWN_TYPE. */
static const struct {
    int result;
    uint8_t error;
} nak_for_result[] = {
    { PEN_E_FLAGS, PEN_ERR_UNKNOWN_TYPE },
    { PEN_E_UNKNOWN_TYPE, PEN_ERR_UNKNOWN_TYPE },
    { PEN_E_LENGTH, PEN_ERR_BAD_LENGTH },
    { PEN_E_RANGE, PEN_ERR_OUT_OF_RANGE },
};

static uint8_t nak_code_for(int result)
{
    for (size_t i = 0; i < sizeof nak_for_result / sizeof nak_for_result[0]; i++)
        if (nak_for_result[i].result == result)
            return nak_for_result[i].error;
    return 0; /* not answerable: drop silently */
}

/* Did the frame pass the CRC? Only then is its header trustworthy (pen.h:
 * pen_rx_next still fills version, type, flags and seq on later errors). */
static bool header_trusted(int result)
{
    switch (result) {
    case PEN_OK:
    case PEN_E_VERSION:
    case PEN_E_FLAGS:
    case PEN_E_UNKNOWN_TYPE:
    case PEN_E_LENGTH:
    case PEN_E_RANGE:
        return true;
    default:
        return false; /* COBS, short, CRC, oversize */
    }
}

/* A frame of another version: NAKed (in a version 1 frame), but it is no
 * valid request. It does not feed the watchdog (PEN.md 9: a host speaking
 * another version must not keep a motor running) and is not cached as an
 * answer (PEN.md 6: its type and seq need not mean what they mean in
 * version 1). */
static void on_other_version(struct rs_pen *p, const struct pen_msg *req)
{
    struct pen_msg m = { .type = PEN_MSG_NAK, .flags = PEN_F_RESPONSE, .seq = req->seq };
    m.u.nak.request_type = req->type;
    m.u.nak.error = PEN_ERR_VERSION;
    uint8_t frame[PEN_MAX_FRAME];
    size_t n = encode_or_log(&m, frame);
    if (n > 0) {
        p->stats.naks++;
        link_send(p, frame, n);
    }
}

/* One frame from the host: r is pen_rx_next's result for req. PEN.md 4
 * fixes the order: untrusted frames are dropped, another version is
 * NAKed, flags other than 0x00 are dropped; everything left is a valid
 * request and feeds the watchdog (PEN.md 9), NAKed or not. */
static void on_frame(struct rs_pen *p, int r, const struct pen_msg *req)
{
    if (!header_trusted(r)) {
        p->stats.rx_bad_frames++; /* like real firmware: drop silently */
        return;
    }
    if (p->mute) {
        /* A firmware whose comm task hung: nothing is executed and the
         * watchdog is not fed, so a running motor stops by itself. */
        p->stats.ignored_muted++;
        return;
    }
    struct pen_msg resp;
    struct pen_msg ev[PEN_MAX_EVENTS];
    int nev;

    if (r == PEN_E_VERSION) {
        /* checked before the flags: in another version byte 2 need not
         * be the flags */
        p->stats.requests++;
        rs_world_enter(p->w);
        nev = take_events(p, ev);
        rs_world_leave(p->w);
        on_other_version(p, req);
        send_events(p, ev, nev);
        return;
    }
    if (req->flags != 0) {
        /* responses/events are pen -> host only: a confused host */
        p->stats.rx_bad_frames++;
        return;
    }
    p->stats.requests++;

    rs_world_enter(p->w);
    sim_pen_heartbeat(p->w->model);
    if (r != PEN_OK) {
        nev = take_events(p, ev);
        rs_world_leave(p->w);
        uint8_t code = nak_code_for(r);
        if (code != 0)
            send_nak(p, req->type, req->seq, code);
        else
            p->stats.rx_bad_frames++;
        send_events(p, ev, nev);
        return;
    }
    if (p->cache_valid && req->seq == p->cache_seq && req->type == p->cache_type) {
        /* A retry: the host lost our answer. Never execute twice. The
         * same seq with another type is a new request (PEN.md 6). */
        nev = take_events(p, ev);
        rs_world_leave(p->w);
        p->stats.resent++;
        link_send(p, p->cache_frame, p->cache_len);
        send_events(p, ev, nev);
        return;
    }
    execute(p, req, &resp);
    /* PEN.md 6: the answer first, then the events raised up to and by
     * this request, all before the next request is read */
    nev = take_events(p, ev);
    rs_world_leave(p->w);
    send_response(p, &resp, req->type);
    send_events(p, ev, nev);
}

static void on_bytes(struct rs_pen *p, const uint8_t *b, size_t n)
{
    p->stats.rx_bytes += n;
    struct pen_msg req;
    int r;
    while ((r = pen_rx_next(&p->rx, &b, &n, &req)) != PEN_NEED_MORE) {
        if (r == PEN_E_ARG) {
            /* cannot happen with our arguments; never loop on it */
            fprintf(stderr, "rigsim: pen: pen_rx_next: %s\n", pen_result_str(r));
            return;
        }
        on_frame(p, r, &req);
    }
}

/* ---------------------------------------------------------------- */
/* main-loop plumbing                                                 */

static void arm_watch(struct rs_pen *p);
static void remove_source(guint *id);

/* The master reports POLLHUP until the client opens the tty (and after it
 * closes it). Watching it then would spin; poll it with a timer instead. */
static gboolean on_retry(gpointer user)
{
    struct rs_pen *p = user;
    struct pollfd pfd = { .fd = p->master, .events = POLLIN };
    if (poll(&pfd, 1, 0) < 0 || (pfd.revents & POLLHUP))
        return G_SOURCE_CONTINUE;
    p->retry_id = 0;
    arm_watch(p);
    return G_SOURCE_REMOVE;
}

static void start_retry(struct rs_pen *p)
{
    if (p->retry_id == 0)
        p->retry_id = g_timeout_add(PEN_RETRY_MS, on_retry, p);
}

/* Tell the model how far the host's bytes are known (model.h,
 * sim_pen_input_seen): up to now when tracked, else untracked. */
static void input_seen(struct rs_pen *p, bool tracked)
{
    rs_world_enter(p->w);
    sim_pen_input_seen(p->w->model, tracked, rs_world_now(p->w));
    rs_world_leave(p->w);
}

/* Read and handle every byte the host has written. 1: the port is still
 * open (the pty is empty now), 0: the host closed it (EIO/HUP). */
static int drain_host(struct rs_pen *p)
{
    uint8_t buf[512];
    for (;;) {
        ssize_t n = read(p->master, buf, sizeof buf);
        if (n > 0) {
            on_bytes(p, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && errno == EAGAIN ? 1 : 0;
    }
}

static gboolean on_master(gint fd, GIOCondition cond, gpointer user)
{
    struct rs_pen *p = user;
    (void)fd;
    if (!(cond & (G_IO_HUP | G_IO_ERR)) && drain_host(p)) {
        input_seen(p, true);
        return G_SOURCE_CONTINUE;
    }
    /* EIO / HUP: the client closed the tty. A new open starts a new
     * session: forget partial frames and the duplicate cache. */
    rs_log(p->w, "pen: host closed the port");
    p->watch_id = 0;
    remove_source(&p->tick_id);
    pen_rx_init(&p->rx);
    p->cache_valid = false;
    input_seen(p, false);
    start_retry(p);
    return G_SOURCE_REMOVE;
}

static gboolean on_tick(gpointer user);

static void arm_watch(struct rs_pen *p)
{
    rs_log(p->w, "pen: host opened the port");
    /* events raised while the port was closed never reached anyone */
    struct pen_msg ev[PEN_MAX_EVENTS];
    rs_world_enter(p->w);
    while (take_events(p, ev) == PEN_MAX_EVENTS)
        ;
    rs_world_leave(p->w);
    p->watch_id = g_unix_fd_add(p->master, G_IO_IN | G_IO_HUP | G_IO_ERR, on_master, p);
    p->tick_id = g_timeout_add(PEN_TICK_MS, on_tick, p);
    input_seen(p, true);
}

/* Deliver events the model raised without a request (watchdog, at-rate,
 * faults). Runs only while the host has the port open. */
static gboolean on_tick(gpointer user)
{
    struct rs_pen *p = user;
    struct pen_msg ev[PEN_MAX_EVENTS];
    /* The host's bytes first: after a stall of rigsim's loop a heartbeat
     * may wait in the pty, and the watchdog only judges what was read. */
    if (drain_host(p))
        input_seen(p, true);
    rs_world_enter(p->w);
    int n = take_events(p, ev);
    rs_world_leave(p->w);
    if (n > 0 && !p->mute)
        send_events(p, ev, n);
    return G_SOURCE_CONTINUE;
}

static void remove_source(guint *id)
{
    if (*id != 0) {
        g_source_remove(*id);
        *id = 0;
    }
}

/* ---------------------------------------------------------------- */
/* The tty node. We create the pty ourselves instead of letting umockdev
 * do it ("N:" line): umockdev never forgets a pty it made, so the same
 * node cannot be added again after remove_device (re-plug would abort),
 * and it never closes the master, so the host would not notice the
 * unplug. Our own master is closed on unplug: the host's tty is hung up
 * (writes fail with EIO, reads see end-of-file) as with a real CDC-ACM
 * device that disappears. */

static char *tb_path(const struct rs_pen *p, const char *rel)
{
    char *root = umockdev_testbed_get_root_dir(p->w->tb); /* a copy */
    char *path = g_build_filename(root, rel, NULL);
    g_free(root);
    return path;
}

/* umockdev maps the pty back to the device number through .ptymap. */
static char *ptymap_path(const struct rs_pen *p, const char *ptsname)
{
    char *flat = g_strdelimit(g_strdup(ptsname), "/", '_');
    char *rel = g_strconcat("dev/.ptymap/", flat, NULL);
    char *path = tb_path(p, rel);
    g_free(rel);
    g_free(flat);
    return path;
}

static int create_tty_node(struct rs_pen *p)
{
    int master, slave;
    char name[128];
    if (openpty(&master, &slave, name, NULL, NULL) < 0) {
        fprintf(stderr, "rigsim: pen: openpty: %s\n", strerror(errno));
        return -1;
    }
    close(slave);
    /* raw line: the firmware speaks binary frames */
    struct termios t;
    if (tcgetattr(master, &t) == 0) {
        cfmakeraw(&t);
        (void)tcsetattr(master, TCSANOW, &t);
    }
    int fl = fcntl(master, F_GETFL);
    if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK | O_CLOEXEC) < 0 ||
        fcntl(master, F_SETFD, FD_CLOEXEC) < 0) {
        fprintf(stderr, "rigsim: pen: pty master flags: %s\n", strerror(errno));
        close(master);
        return -1;
    }
    char *node = tb_path(p, p->devnode + 1); /* without the leading '/' */
    char *map = ptymap_path(p, name);
    char *mapdir = g_path_get_dirname(map);
    char *devno = g_strdup_printf("%d:%u", ACM_MAJOR, p->w->index);
    int rc = 0;
    (void)unlink(node);
    (void)unlink(map);
    if (symlink(name, node) < 0 || g_mkdir_with_parents(mapdir, 0755) < 0 ||
        symlink(devno, map) < 0) {
        fprintf(stderr, "rigsim: pen: create %s: %s\n", node, strerror(errno));
        close(master);
        rc = -1;
    } else {
        p->master = master;
        g_strlcpy(p->ptsname, name, sizeof p->ptsname);
    }
    g_free(devno);
    g_free(mapdir);
    g_free(map);
    g_free(node);
    return rc;
}

static void destroy_tty_node(struct rs_pen *p)
{
    if (p->master >= 0) {
        close(p->master);
        p->master = -1;
    }
    if (p->ptsname[0]) {
        char *map = ptymap_path(p, p->ptsname);
        (void)unlink(map);
        g_free(map);
        p->ptsname[0] = '\0';
    }
}

/* ---------------------------------------------------------------- */
/* public                                                             */

struct rs_pen *rs_pen_new(struct rs_world *w)
{
    struct rs_pen *p = g_new0(struct rs_pen, 1);
    p->w = w;
    p->master = -1;
    pen_rx_init(&p->rx);
    p->modem_bits = TIOCM_DSR | TIOCM_CTS | TIOCM_CD;
    snprintf(p->devnode, sizeof p->devnode, "/dev/ttyACM%u", w->index);
    rs_rng_seed(&p->rng, w->seed, 1);
    p->ioctl = umockdev_ioctl_base_new();
    g_signal_connect(p->ioctl, "handle-ioctl", G_CALLBACK(on_tty_ioctl), p);
    p->usbfs = rs_usbfs_new(w);
    return p;
}

void rs_pen_free(struct rs_pen *p)
{
    if (!p)
        return;
    remove_source(&p->watch_id);
    remove_source(&p->retry_id);
    remove_source(&p->tick_id);
    destroy_tty_node(p);
    /* the worker thread must not call into p once it is freed */
    g_signal_handlers_disconnect_by_data(p->ioctl, p);
    g_object_unref(p->ioctl);
    rs_usbfs_free(p->usbfs);
    g_free(p);
}

/* A failed plug leaves nothing behind, so a later re-plug can succeed. */
static void undo_plug(struct rs_pen *p, bool device_added)
{
    GError *err = NULL;
    rs_usbfs_unplug(p->usbfs);
    if (device_added)
        rs_usb_remove(p->w->tb, &p->usb);
    if (!umockdev_testbed_detach_ioctl(p->w->tb, p->devnode, &err)) {
        rs_log(p->w, "pen: detach ioctl: %s", err->message);
        g_clear_error(&err);
    }
}

int rs_pen_plug(struct rs_pen *p)
{
    GError *err = NULL;
    if (p->present)
        return 0;
    if (!umockdev_testbed_attach_ioctl(p->w->tb, p->devnode, p->ioctl, &err)) {
        fprintf(stderr, "rigsim: pen: attach ioctl handler: %s\n", err->message);
        g_clear_error(&err);
        return -1;
    }
    /* The USB device with the current identity (swap_pen changes the
     * serial); its usbfs node exists before udev hears of the device. */
    if (p->devnum == 0)
        p->devnum = rs_bus_new_devnum(p->w->bus);
    rs_usb_pen_dev(&p->usb, &p->w->params, p->w->index, p->devnum);
    strcpy(p->syspath, "/sys");
    rs_usb_syspath(&p->usb, p->syspath + 4, sizeof p->syspath - 4);
    snprintf(p->ttypath, sizeof p->ttypath, "%s/%s:1.0/tty/%s", p->syspath, p->usb.port,
             p->usb.tty);
    if (rs_usbfs_plug(p->usbfs, &p->usb) < 0) {
        undo_plug(p, false);
        return -1;
    }
    char *desc = rs_usb_description(&p->usb);
    gboolean ok = umockdev_testbed_add_from_string(p->w->tb, desc, &err);
    g_free(desc);
    if (!ok) {
        fprintf(stderr, "rigsim: pen: add device: %s\n", err->message);
        g_clear_error(&err);
        undo_plug(p, false);
        return -1;
    }
    if (create_tty_node(p) < 0) {
        undo_plug(p, true);
        return -1;
    }
    if (p->stats.plugs > 0) {
        /* Re-plug: the firmware restarts, motor off and latched faults
         * gone (conditions still present re-raise them). */
        struct pen_msg ev[PEN_MAX_EVENTS];
        rs_world_enter(p->w);
        (void)sim_pen_stop(p->w->model);
        (void)sim_pen_clear_fault(p->w->model);
        while (take_events(p, ev) == PEN_MAX_EVENTS)
            ;
        rs_world_leave(p->w);
    }
    /* A fresh firmware: new session state. */
    pen_rx_init(&p->rx);
    p->cache_valid = false;
    p->event_seq = 0;
    p->present = true;
    p->stats.plugs++;
    start_retry(p);
    umockdev_testbed_uevent(p->w->tb, p->syspath, "add");
    umockdev_testbed_uevent(p->w->tb, p->ttypath, "add");
    rs_log(p->w, "pen: plugged in as %s", p->devnode);
    return 0;
}

int rs_pen_unplug(struct rs_pen *p)
{
    GError *err = NULL;
    if (!p->present)
        return 0;
    remove_source(&p->watch_id);
    remove_source(&p->retry_id);
    remove_source(&p->tick_id);
    /* The pen loses USB power: the motor stops, pending events are lost. */
    rs_world_enter(p->w);
    sim_pen_input_seen(p->w->model, false, rs_world_now(p->w));
    (void)sim_pen_stop(p->w->model);
    struct pen_msg ev[PEN_MAX_EVENTS];
    while (take_events(p, ev) == PEN_MAX_EVENTS)
        ;
    rs_world_leave(p->w);
    if (!umockdev_testbed_detach_ioctl(p->w->tb, p->devnode, &err)) {
        rs_log(p->w, "pen: detach ioctl: %s", err->message);
        g_clear_error(&err);
    }
    rs_usbfs_unplug(p->usbfs);
    rs_usb_remove(p->w->tb, &p->usb); /* with "remove" uevents */
    destroy_tty_node(p);
    p->present = false;
    p->stats.unplugs++;
    rs_log(p->w, "pen: unplugged");
    return 0;
}

bool rs_pen_present(const struct rs_pen *p)
{
    return p->present;
}

void rs_pen_set_corrupt_ber(struct rs_pen *p, double ber)
{
    p->corrupt_ber = ber < 0 ? 0 : ber > 1 ? 1 : ber;
}

void rs_pen_set_drop_prob(struct rs_pen *p, double prob)
{
    p->drop_prob = prob < 0 ? 0 : prob > 1 ? 1 : prob;
}

void rs_pen_set_mute(struct rs_pen *p, bool mute)
{
    p->mute = mute;
}

void rs_pen_get_stats(const struct rs_pen *p, struct rs_pen_stats *st)
{
    *st = p->stats;
}
