/* The sensor head: a USB vendor-class device (/dev/bus/usb/001/NNN) whose
 * usbfs ioctls are answered at run time, in umockdev's worker thread.
 *
 * Mechanism (see shared/spikes/umockdev-usb): URBs are resolved at SUBMIT
 * (OUT data is readable then) and filled at REAP; the device node is a FIFO
 * of one page holding one byte while nothing is reapable, so libusb's poll()
 * sleeps instead of spinning on REAPURBNDELAY. A 5 ms main-loop timer
 * advances the model while streaming and marks the node readable as soon
 * as a block is complete.
 *
 * Everything here runs under the world lock: the worker thread takes it
 * per ioctl, the main thread per timer tick and for plug/unplug.
 */
#include "sim/rigsim.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/usb/ch9.h>
#include <linux/usbdevice_fs.h>

#include "protocol/sensor.h"
#include "sim/sh_vendor.h"
#include "sim/usbdev.h"

#define SH_TICK_MS 5

struct sh_urb {
    UMockdevIoctlData *urb_data; /* local copy of struct usbdevfs_urb */
    UMockdevIoctlData *buf_data; /* local copy of its buffer, or NULL */
    bool forced;                 /* status decided: discard / unplug */
    int forced_status;
};

struct sh_client {
    struct rs_world *w; /* outlives the emulator (static in main) */
    struct rs_sh *s;    /* NULL once rs_sh_free orphaned us */
    int generation;     /* plug generation of the node opened */
    GQueue inflight;    /* struct sh_urb *, submit order */
};

struct rs_sh {
    struct rs_world *w;
    UMockdevIoctlBase *ioctl;
    GList *clients;
    GHashTable *node_generation; /* devnode -> generation */
    int generation, devnum;
    bool present;
    char devnode[32];
    char syspath[160];     /* of the current plug, with "/sys" */
    struct rs_usb_dev usb; /* descriptors and strings of this plug */
    struct rs_usbfs_fifo fifo;
    guint tick_id;
    struct sh_vendor vendor; /* vendor requests: error register */
    uint32_t block_frames;   /* wValue of START, or rate/100 */
    unsigned drop_n, repeat_n;
    bool repeat_pending;
    size_t repeat_len;
    uint8_t repeat_buf[SH_BLOCK_MAX_SIZE];
    int32_t force[SH_MAX_SAMPLES], disp[SH_MAX_SAMPLES];
    struct rs_sh_stats stats;
    int block_log; /* $RIGSIM_BLOCK_LOG, or -1 */
};

/* Poll readiness through the FIFO node (see usbdev.h). */
static void set_ready(struct rs_sh *s, bool ready)
{
    rs_usbfs_fifo_set_ready(&s->fifo, ready);
}

/* ---------------------------------------------------------------- */
/* Device logic (world lock held)                                    */

static bool model_streaming(const struct rs_sh *s)
{
    struct sh_status st;
    sim_sh_status(s->w->model, &st);
    return (st.flags & SH_STAT_STREAMING) != 0;
}

static uint32_t frames_fitting(int buffer_length)
{
    if (buffer_length < SH_BLOCK_HEADER_SIZE + SH_BLOCK_CRC_SIZE + 8)
        return 0;
    uint32_t n = (uint32_t)(buffer_length - SH_BLOCK_HEADER_SIZE - SH_BLOCK_CRC_SIZE) / 8u;
    return MIN(n, SH_MAX_SAMPLES);
}

/* Frames the next block for this URB should carry; 0 = not ready yet. */
static uint32_t block_frames_now(struct rs_sh *s, int buffer_length)
{
    uint32_t fit = frames_fitting(buffer_length);
    uint32_t want = MIN(s->block_frames, fit);
    uint32_t avail = sim_sh_available(s->w->model);
    if (want == 0)
        return 0;
    if (avail >= want)
        return want;
    /* after STOP the device flushes what is left (the LAST block) */
    if (avail > 0 && !model_streaming(s))
        return avail;
    return 0;
}

static void start_tick(struct rs_sh *s);

/* A vendor request: the firmware's part is sh_vendor.c; here only what
 * the USB side does with its outcome. */
static int vendor_request(struct rs_sh *s, const struct usb_ctrlrequest *setup, uint8_t *data)
{
    const struct sh_setup v = {
        .request_type = setup->bRequestType,
        .request = setup->bRequest,
        .value = le16toh(setup->wValue),
        .index = le16toh(setup->wIndex),
        .length = le16toh(setup->wLength),
    };
    struct sh_vendor_effect fx;
    int r = sh_vendor_request(&s->vendor, s->w->model, &v, data, &fx);
    if (r < 0)
        s->stats.stalls++;
    if (fx.start_frames > 0) {
        s->block_frames = fx.start_frames;
        s->repeat_pending = false;
        start_tick(s);
    }
    return r;
}

/* A control request; returns the data-stage length or -errno (STALL =
 * -EPIPE, as usbfs reports it). */
static int handle_control(struct rs_sh *s, const struct usb_ctrlrequest *setup, uint8_t *data)
{
    s->stats.control_requests++;

    if ((setup->bRequestType & USB_TYPE_MASK) == USB_TYPE_STANDARD)
        return rs_usb_std_request(&s->usb, setup, data);
    if ((setup->bRequestType & USB_TYPE_MASK) != USB_TYPE_VENDOR)
        return -EPIPE;
    return vendor_request(s, setup, data);
}

static struct usbdevfs_urb *urb_of(struct sh_urb *u)
{
    return (struct usbdevfs_urb *)(void *)u->urb_data->data;
}

static bool is_stream_urb(const struct usbdevfs_urb *urb)
{
    return urb->type == USBDEVFS_URB_TYPE_BULK && urb->endpoint == SH_EP_STREAM;
}

static bool urb_ready(struct rs_sh *s, struct sh_urb *u)
{
    struct usbdevfs_urb *urb = urb_of(u);
    if (u->forced || !is_stream_urb(urb))
        return true;
    if (frames_fitting(urb->buffer_length) == 0)
        return true; /* completes with -EOVERFLOW */
    if (s->repeat_pending)
        return true;
    return block_frames_now(s, urb->buffer_length) > 0;
}

static bool any_ready(struct rs_sh *s)
{
    for (GList *l = s->clients; l; l = l->next) {
        struct sh_client *c = l->data;
        for (GList *k = c->inflight.head; k; k = k->next)
            if (urb_ready(s, k->data))
                return true;
    }
    return false;
}

/* The latency benchmark (tests/web/bench_latency.sh) needs the moment each
 * block leaves the sensor head, on the clock browsers also read
 * (CLOCK_REALTIME): with $RIGSIM_BLOCK_LOG set, one line per block sent,
 * "bench seq first_sample count rate_hz realtime_ns". One write(2) per line
 * on an O_APPEND file, so benches sharing the file never interleave. */
static void log_block(struct rs_sh *s, const struct sh_block_header *h)
{
    if (s->block_log < 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char line[128];
    int n = snprintf(line, sizeof line, "%u %u %llu %u %u %lld\n", s->w->index, (unsigned)h->seq,
                     (unsigned long long)h->first_sample, (unsigned)h->count, (unsigned)h->rate_hz,
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (n > 0 && write(s->block_log, line, (size_t)n) != n) {
        close(s->block_log); /* a benchmark aid: stop logging, never stop the bench */
        s->block_log = -1;
    }
}

/* Fill a bulk IN URB with the next block. False if nothing to send yet. */
static bool fill_stream_urb(struct rs_sh *s, struct usbdevfs_urb *urb, uint8_t *buf)
{
    struct sh_block_header hdr;
    int len = urb->buffer_length;

    if (frames_fitting(len) == 0) {
        /* Smaller than one frame: the device would babble. */
        urb->status = -EOVERFLOW;
        urb->actual_length = 0;
        return true;
    }
    if (s->repeat_pending) {
        s->repeat_pending = false;
        if (s->repeat_len <= (size_t)len) {
            memcpy(buf, s->repeat_buf, s->repeat_len);
            urb->actual_length = (int)s->repeat_len;
            urb->status = 0;
            s->stats.blocks_repeated++;
            return true;
        }
    }
    uint32_t frames = block_frames_now(s, len);
    while (frames > 0 && s->drop_n > 0) {
        /* sensor-drop-block: the block is lost on the way; its seq is skipped */
        (void)sim_sh_take_block(s->w->model, frames, &hdr, s->force, s->disp);
        s->drop_n--;
        s->stats.blocks_dropped++;
        frames = block_frames_now(s, len);
    }
    if (frames == 0)
        return false;
    int got = sim_sh_take_block(s->w->model, frames, &hdr, s->force, s->disp);
    if (got <= 0)
        return false;
    int n = sh_block_encode(&hdr, s->force, s->disp, buf, (size_t)len);
    if (n < 0) {
        fprintf(stderr, "rigsim: sensor: block encode: %s\n", sh_result_str(n));
        urb->status = -EPROTO;
        urb->actual_length = 0;
        return true;
    }
    urb->actual_length = n;
    urb->status = 0;
    log_block(s, &hdr);
    s->stats.blocks_sent++;
    s->stats.samples_sent += (uint64_t)got;
    if (s->repeat_n > 0) {
        s->repeat_n--;
        memcpy(s->repeat_buf, buf, (size_t)n);
        s->repeat_len = (size_t)n;
        s->repeat_pending = true;
    }
    return true;
}

static bool urb_try_complete(struct rs_sh *s, struct sh_urb *u)
{
    struct usbdevfs_urb *urb = urb_of(u);
    uint8_t *buf = u->buf_data ? u->buf_data->data : NULL;

    if (u->forced) {
        urb->status = u->forced_status;
        urb->actual_length = 0;
        return true;
    }
    if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
        if (urb->buffer_length < 8 || !buf) {
            urb->status = -EINVAL;
            urb->actual_length = 0;
            return true;
        }
        int r = handle_control(s, (const struct usb_ctrlrequest *)(void *)buf, buf + 8);
        urb->status = r < 0 ? r : 0;
        urb->actual_length = r < 0 ? 0 : r;
        return true;
    }
    if (is_stream_urb(urb) && buf)
        return fill_stream_urb(s, urb, buf);
    /* no other endpoint exists */
    urb->status = -ENOENT;
    urb->actual_length = 0;
    return true;
}

static void urb_free(struct sh_urb *u)
{
    if (u->buf_data)
        g_object_unref(u->buf_data);
    g_object_unref(u->urb_data);
    g_free(u);
}

/* ---------------------------------------------------------------- */
/* Streaming tick (main thread)                                      */

static gboolean on_tick(gpointer user)
{
    struct rs_sh *s = user;
    gboolean keep = G_SOURCE_CONTINUE;
    rs_world_enter(s->w);
    if (any_ready(s))
        set_ready(s, true);
    if (!s->present || (!model_streaming(s) && sim_sh_available(s->w->model) == 0)) {
        s->tick_id = 0;
        keep = G_SOURCE_REMOVE;
    }
    rs_world_leave(s->w);
    return keep;
}

/* World lock held; may run in the worker thread (g_timeout_add attaches
 * to the main context thread-safely). */
static void start_tick(struct rs_sh *s)
{
    if (s->tick_id == 0)
        s->tick_id = g_timeout_add(SH_TICK_MS, on_tick, s);
}

/* ---------------------------------------------------------------- */
/* ioctl handler (worker thread)                                     */

static struct sh_client *client_of(UMockdevIoctlClient *client)
{
    return g_object_get_data(G_OBJECT(client), "rigsim-sh");
}

/* Runs in umockdev's worker thread when the client's connection goes away,
 * which may be after rs_sh_free (the worker sees the hang-up of a killed
 * COMMAND late, or the testbed drops the client at its own teardown): then
 * c->s is NULL and only c itself is left to free. */
static void client_free(gpointer data)
{
    struct sh_client *c = data;
    g_mutex_lock(&c->w->lock);
    if (c->s)
        c->s->clients = g_list_remove(c->s->clients, c);
    g_queue_clear_full(&c->inflight, (GDestroyNotify)urb_free);
    g_mutex_unlock(&c->w->lock);
    g_free(c);
}

static void on_client_connected(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer user)
{
    (void)base;
    struct rs_sh *s = user;
    struct sh_client *c = g_new0(struct sh_client, 1);
    const char *node = umockdev_ioctl_client_get_devnode(client);
    c->w = s->w;
    c->s = s;
    g_queue_init(&c->inflight);
    g_mutex_lock(&s->w->lock);
    c->generation = GPOINTER_TO_INT(g_hash_table_lookup(s->node_generation, node));
    s->clients = g_list_prepend(s->clients, c);
    g_mutex_unlock(&s->w->lock);
    g_object_set_data_full(G_OBJECT(client), "rigsim-sh", c, client_free);
}

static int resolve_u32_out(UMockdevIoctlData *arg, uint32_t v)
{
    GError *err = NULL;
    UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(uint32_t), &err);
    if (!d) {
        g_clear_error(&err);
        return EFAULT;
    }
    memcpy(d->data, &v, sizeof v);
    g_object_unref(d);
    return 0;
}

/* A control URB must hold the 8-byte setup packet and its whole data stage
 * (usbfs checks the same at submit). */
static bool control_urb_valid(const struct usbdevfs_urb *urb, UMockdevIoctlData *buf)
{
    if (!buf || urb->buffer_length < 8)
        return false;
    const struct usb_ctrlrequest *setup = (const void *)buf->data;
    return le16toh(setup->wLength) <= (unsigned)urb->buffer_length - 8u;
}

static void do_submit(struct rs_sh *s, struct sh_client *c, UMockdevIoctlData *arg, long *ret,
                      int *e)
{
    GError *err = NULL;
    struct sh_urb *u = g_new0(struct sh_urb, 1);
    u->urb_data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), &err);
    if (!u->urb_data) {
        g_clear_error(&err);
        g_free(u);
        *ret = -1;
        *e = EFAULT;
        return;
    }
    struct usbdevfs_urb *urb = urb_of(u);
    if (urb->buffer_length < 0 || urb->buffer_length > 16 * 1024 * 1024) {
        urb_free(u);
        *ret = -1;
        *e = EINVAL;
        return;
    }
    if (urb->buffer_length > 0) {
        u->buf_data =
            umockdev_ioctl_data_resolve(u->urb_data, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
                                        (gsize)urb->buffer_length, &err);
        if (!u->buf_data) {
            g_clear_error(&err);
            urb_free(u);
            *ret = -1;
            *e = EFAULT;
            return;
        }
    }
    if (urb->type == USBDEVFS_URB_TYPE_CONTROL && !control_urb_valid(urb, u->buf_data)) {
        /* as the kernel: a data stage longer than the buffer is refused
         * here, or handle_control would write past the buffer copy */
        urb_free(u);
        *ret = -1;
        *e = EINVAL;
        return;
    }
    s->stats.urbs_submitted++;
    g_queue_push_tail(&c->inflight, u);
    if (urb_ready(s, u))
        set_ready(s, true);
}

static void do_discard(struct rs_sh *s, struct sh_client *c, UMockdevIoctlData *arg, long *ret,
                       int *e)
{
    /* _IO ioctl: the raw argument is the client's URB address */
    gulong addr = *(gulong *)(void *)arg->data;
    *ret = -1;
    *e = EINVAL;
    for (GList *l = c->inflight.head; l; l = l->next) {
        struct sh_urb *u = l->data;
        if (u->urb_data->client_addr == addr) {
            if (!u->forced) {
                u->forced = true;
                u->forced_status = -ENOENT;
            }
            *ret = 0;
            *e = 0;
            set_ready(s, true);
            return;
        }
    }
}

static void do_reap(struct rs_sh *s, struct sh_client *c, UMockdevIoctlData *arg, bool alive,
                    long *ret, int *e)
{
    GError *err = NULL;
    for (GList *l = c->inflight.head; l; l = l->next) {
        struct sh_urb *u = l->data;
        if (!urb_try_complete(s, u))
            continue;
        g_queue_delete_link(&c->inflight, l);
        UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), &err);
        if (!d) {
            g_clear_error(&err);
            urb_free(u);
            *ret = -1;
            *e = EFAULT;
            return;
        }
        /* the client's pointer now refers to the URB, whose local copy
         * (status, length, buffer) is written back on completion */
        umockdev_ioctl_data_set_ptr(d, 0, u->urb_data);
        g_object_unref(d);
        urb_free(u);
        s->stats.urbs_reaped++;
        if (!any_ready(s))
            set_ready(s, false);
        return;
    }
    *ret = -1;
    *e = alive ? EAGAIN : ENODEV;
    if (alive)
        set_ready(s, false);
}

static gboolean on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer user)
{
    (void)base;
    struct rs_sh *s = user;
    struct sh_client *c = client_of(client);
    gulong req = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    long ret = 0;
    int e = 0;

    rs_world_enter(s->w);
    s->stats.ioctls++;
    bool alive = c && s->present && c->generation == s->generation;

    switch (req) {
    case USBDEVFS_GET_CAPABILITIES:
        e = resolve_u32_out(arg, RS_USBFS_CAPS);
        if (e == 0 && !alive)
            e = ENODEV;
        ret = e ? -1 : 0;
        break;
    case USBDEVFS_GET_SPEED:
        ret = alive ? USB_SPEED_HIGH : -1;
        e = alive ? 0 : ENODEV;
        break;
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE:
    case USBDEVFS_SETINTERFACE:
    case USBDEVFS_SETCONFIGURATION:
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESETEP:
    case USBDEVFS_RESET:
        if (!alive) {
            ret = -1;
            e = ENODEV;
        }
        break;
    case USBDEVFS_GETDRIVER:
    case USBDEVFS_IOCTL:
        ret = -1;
        e = alive ? ENODATA : ENODEV;
        break;
    case USBDEVFS_SUBMITURB:
        if (!alive) {
            ret = -1;
            e = ENODEV;
        } else {
            do_submit(s, c, arg, &ret, &e);
        }
        break;
    case USBDEVFS_DISCARDURB:
        if (c) {
            do_discard(s, c, arg, &ret, &e);
        } else {
            ret = -1;
            e = EINVAL;
        }
        break;
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY:
        if (c) {
            do_reap(s, c, arg, alive, &ret, &e);
        } else {
            ret = -1;
            e = ENODEV;
        }
        break;
    default:
        /* USBDEVFS_CONTROL (sync control) is only used by libusb without
         * sysfs; not emulated. */
        ret = -1;
        e = ENOTTY;
        break;
    }
    rs_world_leave(s->w);
    umockdev_ioctl_client_complete(client, ret, e);
    return TRUE;
}

/* ---------------------------------------------------------------- */
/* public                                                             */

struct rs_sh *rs_sh_new(struct rs_world *w)
{
    struct rs_sh *s = g_new0(struct rs_sh, 1);
    s->w = w;
    s->fifo.fd = -1;
    const char *log = getenv("RIGSIM_BLOCK_LOG");
    s->block_log = log && *log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
    s->node_generation = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    s->ioctl = umockdev_ioctl_base_new();
    g_signal_connect(s->ioctl, "handle-ioctl", G_CALLBACK(on_ioctl), s);
    g_signal_connect(s->ioctl, "client-connected", G_CALLBACK(on_client_connected), s);
    return s;
}

void rs_sh_free(struct rs_sh *s)
{
    if (!s)
        return;
    /* no new calls into s from the worker thread ... */
    g_signal_handlers_disconnect_by_data(s->ioctl, s);
    g_mutex_lock(&s->w->lock);
    if (s->tick_id) {
        g_source_remove(s->tick_id);
        s->tick_id = 0;
    }
    /* ... and clients still connected forget us (see client_free) */
    for (GList *l = s->clients; l; l = l->next) {
        struct sh_client *c = l->data;
        g_queue_clear_full(&c->inflight, (GDestroyNotify)urb_free);
        c->s = NULL;
    }
    g_list_free(s->clients);
    s->clients = NULL;
    g_mutex_unlock(&s->w->lock);
    g_object_unref(s->ioctl);
    rs_usbfs_fifo_close(&s->fifo);
    if (s->block_log >= 0)
        close(s->block_log);
    g_hash_table_destroy(s->node_generation);
    g_free(s);
}

int rs_sh_plug(struct rs_sh *s)
{
    GError *err = NULL;
    g_mutex_lock(&s->w->lock);
    if (s->present) {
        g_mutex_unlock(&s->w->lock);
        return 0;
    }
    s->generation++;
    /* a fresh bus address on every plug, unique on the whole bus */
    s->devnum = rs_bus_new_devnum(s->w->bus);
    snprintf(s->devnode, sizeof s->devnode, "/dev/bus/usb/001/%03d", s->devnum);
    g_hash_table_insert(s->node_generation, g_strdup(s->devnode), GINT_TO_POINTER(s->generation));
    s->drop_n = s->repeat_n = 0;
    s->repeat_pending = false;
    sh_vendor_reset(&s->vendor);
    rs_usb_sh_dev(&s->usb, &s->w->params, s->w->index, s->devnum);
    char msg[256];
    strcpy(s->syspath, "/sys");
    rs_usb_syspath(&s->usb, s->syspath + 4, sizeof s->syspath - 4);
    g_mutex_unlock(&s->w->lock);

    /* Order matters: handler first (it only creates the ioctl socket), then
     * the FIFO node, then the device (umockdev announces it at once), and
     * the "add" uevent again once it is present. */
    if (!umockdev_testbed_attach_ioctl(s->w->tb, s->devnode, s->ioctl, &err)) {
        fprintf(stderr, "rigsim: sensor: attach ioctl handler: %s\n", err->message);
        g_clear_error(&err);
        return -1;
    }
    g_mutex_lock(&s->w->lock);
    int rc = rs_usbfs_fifo_open(&s->fifo, s->w->tb, s->devnode, msg, sizeof msg);
    g_mutex_unlock(&s->w->lock);
    if (rc < 0) {
        fprintf(stderr, "rigsim: sensor: %s\n", msg);
        return -1;
    }
    char *desc = rs_usb_description(&s->usb);
    gboolean ok = umockdev_testbed_add_from_string(s->w->tb, desc, &err);
    g_free(desc);
    if (!ok) {
        fprintf(stderr, "rigsim: sensor: add device: %s\n", err->message);
        g_clear_error(&err);
        return -1;
    }
    g_mutex_lock(&s->w->lock);
    s->present = true;
    s->stats.plugs++;
    g_mutex_unlock(&s->w->lock);
    umockdev_testbed_uevent(s->w->tb, s->syspath, "add");
    rs_log(s->w, "sensor: plugged in as %s", s->devnode);
    return 0;
}

int rs_sh_unplug(struct rs_sh *s)
{
    rs_world_enter(s->w);
    if (!s->present) {
        rs_world_leave(s->w);
        return 0;
    }
    s->present = false;
    s->stats.unplugs++;
    /* like the kernel on disconnect: in-flight URBs end with -ESHUTDOWN */
    for (GList *l = s->clients; l; l = l->next) {
        struct sh_client *c = l->data;
        for (GList *k = c->inflight.head; k; k = k->next) {
            struct sh_urb *u = k->data;
            u->forced = true;
            u->forced_status = -ESHUTDOWN;
        }
    }
    (void)sim_sh_stop(s->w->model); /* the device lost power */
    struct sh_block_header hdr;
    while (sim_sh_available(s->w->model) > 0 &&
           sim_sh_take_block(s->w->model, SH_MAX_SAMPLES, &hdr, s->force, s->disp) > 0)
        ;
    set_ready(s, true);
    rs_world_leave(s->w);

    rs_usb_remove(s->w->tb, &s->usb); /* with "remove" uevents */
    rs_log(s->w, "sensor: unplugged");
    return 0;
}

bool rs_sh_present(struct rs_sh *s)
{
    g_mutex_lock(&s->w->lock);
    bool p = s->present;
    g_mutex_unlock(&s->w->lock);
    return p;
}

void rs_sh_drop_blocks(struct rs_sh *s, unsigned n)
{
    g_mutex_lock(&s->w->lock);
    s->drop_n = n > UINT_MAX - s->drop_n ? UINT_MAX : s->drop_n + n;
    g_mutex_unlock(&s->w->lock);
}

void rs_sh_repeat_blocks(struct rs_sh *s, unsigned n)
{
    g_mutex_lock(&s->w->lock);
    s->repeat_n = n > UINT_MAX - s->repeat_n ? UINT_MAX : s->repeat_n + n;
    g_mutex_unlock(&s->w->lock);
}

void rs_sh_clear_stream_faults(struct rs_sh *s)
{
    g_mutex_lock(&s->w->lock);
    s->drop_n = s->repeat_n = 0;
    g_mutex_unlock(&s->w->lock);
}

void rs_sh_get_stats(struct rs_sh *s, struct rs_sh_stats *st)
{
    g_mutex_lock(&s->w->lock);
    *st = s->stats;
    st->devnum = (uint32_t)s->devnum;
    g_mutex_unlock(&s->w->lock);
}
