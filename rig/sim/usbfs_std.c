/* A usbfs node that answers the standard requests on endpoint 0 and
 * nothing else (see usbdev.h), and the FIFO that gives usbfs nodes their
 * poll() behaviour.
 *
 * The pen needs it: a real pen's /dev/bus/usb/BBB/DDD is there beside its
 * tty, and libusb (pyusb, lsusb) reads the strings through it with control
 * transfers (the LANGID table first). Its interfaces belong to cdc_acm, so,
 * as on real usbfs, a client may talk to the device (recipient device) but
 * not claim or address an interface or its endpoints (EBUSY).
 *
 * Control URBs complete at submit (the answers are constant); REAPURB
 * returns them in submit order, per client. umockdev's worker thread runs
 * the handler; the world lock guards what plug/unplug (main thread)
 * changes.
 */
#include "sim/usbdev.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/rigsim.h"

/* ---------------------------------------------------------------- */
/* Readiness FIFO                                                    */

int rs_usbfs_fifo_open(struct rs_usbfs_fifo *f, UMockdevTestbed *tb, const char *devnode, char *err,
                       size_t errlen)
{
    char *root = umockdev_testbed_get_root_dir(tb); /* a copy */
    char *path = g_build_filename(root, devnode, NULL);
    char *dir = g_path_get_dirname(path);
    g_free(root);
    int rc = 0;
    rs_usbfs_fifo_close(f);
    if (g_mkdir_with_parents(dir, 0755) < 0 || (unlink(path) < 0 && errno != ENOENT) ||
        mkfifo(path, 0666) < 0 || (f->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "FIFO %s: %s", path, strerror(errno));
    } else if (fcntl(f->fd, F_SETPIPE_SZ, 4096) < 0) {
        rc = -errno;
        snprintf(err, errlen, "F_SETPIPE_SZ %s: %s", path, strerror(errno));
        rs_usbfs_fifo_close(f);
    } else {
        f->full = false;
        rs_usbfs_fifo_set_ready(f, false);
    }
    g_free(dir);
    g_free(path);
    return rc;
}

void rs_usbfs_fifo_set_ready(struct rs_usbfs_fifo *f, bool ready)
{
    char c = 'x';
    if (f->fd < 0)
        return;
    if (ready && f->full) {
        if (read(f->fd, &c, 1) == 1)
            f->full = false;
    } else if (!ready && !f->full) {
        if (write(f->fd, &c, 1) == 1)
            f->full = true;
    }
}

void rs_usbfs_fifo_close(struct rs_usbfs_fifo *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    f->full = false;
}

/* ---------------------------------------------------------------- */
/* The node                                                          */

struct std_urb {
    UMockdevIoctlData *urb_data; /* local copy of struct usbdevfs_urb */
    UMockdevIoctlData *buf_data; /* its buffer; written back at reap */
};

struct std_client {
    struct rs_world *w;
    struct rs_usbfs *u; /* NULL once rs_usbfs_free orphaned us */
    int generation;     /* plug session of the node it opened */
    GQueue done;        /* struct std_urb *, reapable, submit order */
};

struct rs_usbfs {
    struct rs_world *w;
    UMockdevIoctlBase *ioctl;
    char devnode[32];
    bool attached, present;
    int generation; /* + 1 at each unplug */
    struct rs_usb_dev dev;
    struct rs_usbfs_fifo fifo;
    GList *clients;
};

static void urb_free(struct std_urb *r)
{
    if (r->buf_data)
        g_object_unref(r->buf_data);
    g_object_unref(r->urb_data);
    g_free(r);
}

static bool any_done(const struct rs_usbfs *u)
{
    for (const GList *l = u->clients; l; l = l->next)
        if (!g_queue_is_empty(&((struct std_client *)l->data)->done))
            return true;
    return false;
}

/* Does the configuration have this endpoint? (Then it is an interface's,
 * and the interfaces are the kernel driver's.) */
static bool has_endpoint(const struct rs_usb_dev *d, unsigned ep)
{
    const uint8_t *b = d->desc;
    for (size_t o = RS_USB_DEV_DESC_LEN; o + 3 <= d->desc_len && b[o] >= 2; o += b[o])
        if (b[o + 1] == USB_DT_ENDPOINT && b[o + 2] == ep)
            return true;
    return false;
}

/* A control transfer from a client: the data-stage length, or -errno: at
 * submit (EBUSY: an interface or endpoint of the driver's) or as the
 * transfer's status (EPIPE: STALL). *at_submit tells which. */
static int control(const struct rs_usbfs *u, const struct usb_ctrlrequest *setup, uint8_t *data,
                   bool *at_submit)
{
    unsigned recip = setup->bRequestType & USB_RECIP_MASK;
    *at_submit = false;
    if (recip == USB_RECIP_INTERFACE || recip == USB_RECIP_ENDPOINT) {
        /* usbfs would have to claim the interface first (check_ctrlrecip) */
        if (u->dev.driver) {
            *at_submit = true;
            return -EBUSY;
        }
        return -EPIPE;
    }
    if ((setup->bRequestType & USB_TYPE_MASK) != USB_TYPE_STANDARD)
        return -EPIPE; /* no class or vendor requests to the device */
    return rs_usb_std_request(&u->dev, setup, data);
}

static int do_submit(struct rs_usbfs *u, struct std_client *c, UMockdevIoctlData *arg)
{
    GError *err = NULL;
    struct std_urb *r = g_new0(struct std_urb, 1);
    r->urb_data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), &err);
    if (!r->urb_data) {
        g_clear_error(&err);
        g_free(r);
        return EFAULT;
    }
    struct usbdevfs_urb *urb = (struct usbdevfs_urb *)(void *)r->urb_data->data;
    if (urb->type != USBDEVFS_URB_TYPE_CONTROL) {
        int e = has_endpoint(&u->dev, urb->endpoint) && u->dev.driver ? EBUSY : ENOENT;
        urb_free(r);
        return e;
    }
    if (urb->buffer_length < 8 || urb->buffer_length > 8 + 0xFFFF) {
        urb_free(r);
        return EINVAL;
    }
    r->buf_data = umockdev_ioctl_data_resolve(
        r->urb_data, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer), (gsize)urb->buffer_length, &err);
    if (!r->buf_data) {
        g_clear_error(&err);
        urb_free(r);
        return EFAULT;
    }
    const struct usb_ctrlrequest *setup = (const void *)r->buf_data->data;
    if (le16toh(setup->wLength) > (unsigned)urb->buffer_length - 8u) {
        urb_free(r); /* as usbfs: data stage longer than the buffer */
        return EINVAL;
    }
    bool at_submit;
    int n = control(u, setup, r->buf_data->data + 8, &at_submit);
    if (at_submit) {
        urb_free(r);
        return -n;
    }
    urb->status = n < 0 ? n : 0;
    urb->actual_length = n < 0 ? 0 : n;
    g_queue_push_tail(&c->done, r);
    rs_usbfs_fifo_set_ready(&u->fifo, true);
    return 0;
}

static int do_reap(struct rs_usbfs *u, struct std_client *c, UMockdevIoctlData *arg, bool alive)
{
    GError *err = NULL;
    struct std_urb *r = g_queue_pop_head(&c->done);
    if (!r) {
        /* nothing pending: REAPURB would block forever on real usbfs,
         * which umockdev's single worker thread cannot afford */
        if (alive)
            rs_usbfs_fifo_set_ready(&u->fifo, false);
        return alive ? EAGAIN : ENODEV;
    }
    UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), &err);
    if (!d) {
        g_clear_error(&err);
        urb_free(r);
        return EFAULT;
    }
    /* the client's pointer now refers to its URB, whose local copy
     * (status, length, buffer) is written back on completion */
    umockdev_ioctl_data_set_ptr(d, 0, r->urb_data);
    g_object_unref(d);
    urb_free(r);
    if (alive && !any_done(u))
        rs_usbfs_fifo_set_ready(&u->fifo, false);
    return 0;
}

/* USBDEVFS_CONTROL: the synchronous control transfer. Returns the length
 * or -errno. */
static long do_sync_control(struct rs_usbfs *u, UMockdevIoctlData *arg)
{
    GError *err = NULL;
    UMockdevIoctlData *ct =
        umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_ctrltransfer), &err);
    if (!ct) {
        g_clear_error(&err);
        return -EFAULT;
    }
    const struct usbdevfs_ctrltransfer *t = (const void *)ct->data;
    struct usb_ctrlrequest setup = {
        .bRequestType = t->bRequestType,
        .bRequest = t->bRequest,
        .wValue = htole16(t->wValue),
        .wIndex = htole16(t->wIndex),
        .wLength = htole16(t->wLength),
    };
    long n = 0;
    UMockdevIoctlData *data = NULL;
    if (t->wLength > 0) {
        data = umockdev_ioctl_data_resolve(ct, G_STRUCT_OFFSET(struct usbdevfs_ctrltransfer, data),
                                           t->wLength, &err);
        if (!data) {
            g_clear_error(&err);
            n = -EFAULT;
        }
    }
    if (n == 0) {
        uint8_t scratch[8]; /* wLength 0: no data stage */
        bool at_submit;
        n = control(u, &setup, data ? data->data : scratch, &at_submit);
    }
    if (data)
        g_object_unref(data);
    g_object_unref(ct);
    return n;
}

static int do_getdriver(const struct rs_usbfs *u, UMockdevIoctlData *arg)
{
    GError *err = NULL;
    UMockdevIoctlData *d =
        umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_getdriver), &err);
    if (!d) {
        g_clear_error(&err);
        return EFAULT;
    }
    struct usbdevfs_getdriver *g = (void *)d->data;
    const struct rs_usb_dev *dev = &u->dev;
    unsigned nif = dev->desc[RS_USB_DEV_DESC_LEN + 4]; /* bNumInterfaces */
    int e = g->interface >= nif ? EINVAL : dev->driver ? 0 : ENODATA;
    if (e == 0)
        g_strlcpy(g->driver, dev->driver, sizeof g->driver);
    g_object_unref(d);
    return e;
}

static gboolean on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer user)
{
    (void)base;
    struct rs_usbfs *u = user;
    struct std_client *c = g_object_get_data(G_OBJECT(client), "rigsim-usbfs");
    gulong req = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    long ret = 0;
    int e = 0;

    g_mutex_lock(&u->w->lock);
    bool alive = c && u->present && c->generation == u->generation;
    if (!alive && req != USBDEVFS_REAPURB && req != USBDEVFS_REAPURBNDELAY) {
        e = ENODEV; /* the device is gone: only URBs left to reap */
    } else if (req == USBDEVFS_GET_CAPABILITIES) {
        GError *err = NULL;
        UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(uint32_t), &err);
        if (d) {
            uint32_t caps = RS_USBFS_CAPS;
            memcpy(d->data, &caps, sizeof caps);
            g_object_unref(d);
        } else {
            g_clear_error(&err);
            e = EFAULT;
        }
    } else if (req == USBDEVFS_GET_SPEED) {
        ret = u->dev.speed;
    } else if (req == USBDEVFS_SUBMITURB) {
        e = do_submit(u, c, arg);
    } else if (req == USBDEVFS_REAPURB || req == USBDEVFS_REAPURBNDELAY) {
        e = c ? do_reap(u, c, arg, alive) : ENODEV;
    } else if (req == USBDEVFS_DISCARDURB) {
        e = EINVAL; /* every URB is complete at submit: nothing to cancel */
    } else if (req == USBDEVFS_CONTROL) {
        ret = do_sync_control(u, arg);
        if (ret < 0) {
            e = (int)-ret;
            ret = 0;
        }
    } else if (req == USBDEVFS_GETDRIVER) {
        e = do_getdriver(u, arg);
    } else if (req == USBDEVFS_CLAIMINTERFACE || req == USBDEVFS_SETINTERFACE ||
               req == USBDEVFS_CLEAR_HALT || req == USBDEVFS_RESETEP ||
               req == USBDEVFS_SETCONFIGURATION) {
        /* all need the interfaces, which the kernel driver holds */
        e = u->dev.driver ? EBUSY : 0;
    } else if (req == USBDEVFS_RELEASEINTERFACE) {
        e = EINVAL; /* never claimed */
    } else {
        /* RESET, driver detach (USBDEVFS_IOCTL), DISCONNECT_CLAIM, ...:
         * not emulated (docs/RIGSIM.md, known problems) */
        e = ENOTTY;
    }
    g_mutex_unlock(&u->w->lock);
    umockdev_ioctl_client_complete(client, e ? -1 : ret, e);
    return TRUE;
}

/* Runs in umockdev's worker thread when the client's connection goes
 * away, possibly after rs_usbfs_free (then c->u is NULL). */
static void client_free(gpointer data)
{
    struct std_client *c = data;
    g_mutex_lock(&c->w->lock);
    if (c->u)
        c->u->clients = g_list_remove(c->u->clients, c);
    g_queue_clear_full(&c->done, (GDestroyNotify)urb_free);
    g_mutex_unlock(&c->w->lock);
    g_free(c);
}

static void on_client_connected(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer user)
{
    (void)base;
    struct rs_usbfs *u = user;
    struct std_client *c = g_new0(struct std_client, 1);
    c->w = u->w;
    c->u = u;
    g_queue_init(&c->done);
    g_mutex_lock(&u->w->lock);
    c->generation = u->generation;
    u->clients = g_list_prepend(u->clients, c);
    g_mutex_unlock(&u->w->lock);
    g_object_set_data_full(G_OBJECT(client), "rigsim-usbfs", c, client_free);
}

struct rs_usbfs *rs_usbfs_new(struct rs_world *w)
{
    struct rs_usbfs *u = g_new0(struct rs_usbfs, 1);
    u->w = w;
    u->fifo.fd = -1;
    u->ioctl = umockdev_ioctl_base_new();
    g_signal_connect(u->ioctl, "handle-ioctl", G_CALLBACK(on_ioctl), u);
    g_signal_connect(u->ioctl, "client-connected", G_CALLBACK(on_client_connected), u);
    return u;
}

void rs_usbfs_free(struct rs_usbfs *u)
{
    if (!u)
        return;
    g_signal_handlers_disconnect_by_data(u->ioctl, u);
    g_mutex_lock(&u->w->lock);
    for (GList *l = u->clients; l; l = l->next) {
        struct std_client *c = l->data;
        g_queue_clear_full(&c->done, (GDestroyNotify)urb_free);
        c->u = NULL;
    }
    g_list_free(u->clients);
    u->clients = NULL;
    g_mutex_unlock(&u->w->lock);
    g_object_unref(u->ioctl);
    rs_usbfs_fifo_close(&u->fifo);
    g_free(u);
}

int rs_usbfs_plug(struct rs_usbfs *u, const struct rs_usb_dev *d)
{
    GError *err = NULL;
    char node[32], msg[256];
    snprintf(node, sizeof node, "/dev/bus/usb/%03d/%03d", RS_USB_BUSNUM, d->devnum);
    /* attached once, for good: a node's handler cannot be replaced while
     * clients of the unplugged device may still hold it open */
    if (u->attached && strcmp(node, u->devnode) != 0) {
        fprintf(stderr, "rigsim: usbfs: %s: the device moved from %s\n", node, u->devnode);
        return -1;
    }
    if (!u->attached) {
        if (!umockdev_testbed_attach_ioctl(u->w->tb, node, u->ioctl, &err)) {
            fprintf(stderr, "rigsim: usbfs: attach %s: %s\n", node, err->message);
            g_clear_error(&err);
            return -1;
        }
        g_strlcpy(u->devnode, node, sizeof u->devnode);
        u->attached = true;
    }
    g_mutex_lock(&u->w->lock);
    int rc = rs_usbfs_fifo_open(&u->fifo, u->w->tb, node, msg, sizeof msg);
    if (rc == 0) {
        u->dev = *d;
        u->present = true;
    }
    g_mutex_unlock(&u->w->lock);
    if (rc < 0) {
        fprintf(stderr, "rigsim: usbfs: %s\n", msg);
        return -1;
    }
    return 0;
}

void rs_usbfs_unplug(struct rs_usbfs *u)
{
    g_mutex_lock(&u->w->lock);
    if (u->present) {
        u->present = false;
        u->generation++;
        /* wake pollers: what is left is reapable, then ENODEV */
        rs_usbfs_fifo_set_ready(&u->fifo, true);
    }
    g_mutex_unlock(&u->w->lock);
}
