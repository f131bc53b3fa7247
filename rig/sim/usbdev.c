/* The emulated devices' USB appearance: descriptors, strings, sysfs and
 * udev entries, standard requests (see usbdev.h).
 *
 * The sysfs attributes are those of a Linux 6.x kernel that describe the
 * device, in its formats (drivers/usb/core/sysfs.c: "bNumInterfaces" is
 * "%2d", "version" is "%2x.%02x", ...); the kernel's state attributes
 * (authorized, quirks, power/, ep_NN/, ...) are left out: no client here
 * reads them, and each file costs milliseconds of every plug. The
 * properties are those the kernel puts into the uevent plus what udev's
 * usb_id builtin adds (ID_VENDOR, ID_SERIAL, ...), i.e. what
 * umockdev-record captures from a real device.
 */
#include "sim/usbdev.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "sim/model/model.h"
#include "protocol/sensor.h"

#define USB_SYSROOT      "/devices/pci0000:00/0000:00:14.0/usb1"
#define USB_MAJOR        189
#define ACM_MAJOR        166
#define PEN_MANUFACTURER "Rig Reference Pens"
#define SH_MANUFACTURER  "Rig Sensor Systems"

uint16_t rs_usb_bcd_device(const uint8_t fw[3])
{
    unsigned minor = fw[1] > 0xF ? 0xF : fw[1];
    unsigned patch = fw[2] > 0xF ? 0xF : fw[2];
    return (uint16_t)(fw[0] << 8 | minor << 4 | patch);
}

/* ---------------------------------------------------------------- */
/* The two devices                                                   */

static void set_identity(struct rs_usb_dev *d, const char *port, int devnum, const char *man,
                         const char *prod, const char *serial)
{
    g_strlcpy(d->port, port, sizeof d->port);
    d->devnum = devnum;
    g_strlcpy(d->str[RS_USB_STR_MANUFACTURER], man, sizeof d->str[0]);
    g_strlcpy(d->str[RS_USB_STR_PRODUCT], prod, sizeof d->str[0]);
    g_strlcpy(d->str[RS_USB_STR_SERIAL], serial, sizeof d->str[0]);
}

static void set_device_desc(struct rs_usb_dev *d, uint8_t cls, uint16_t vid, uint16_t pid,
                            uint16_t bcd)
{
    const uint8_t dev[RS_USB_DEV_DESC_LEN] = {
        RS_USB_DEV_DESC_LEN,
        USB_DT_DEVICE,
        0x00,
        0x02,
        cls,
        0x00,
        0x00,
        64,
        vid & 0xff,
        vid >> 8,
        pid & 0xff,
        pid >> 8,
        bcd & 0xff,
        bcd >> 8,
        RS_USB_STR_MANUFACTURER,
        RS_USB_STR_PRODUCT,
        RS_USB_STR_SERIAL,
        1,
    };
    memcpy(d->desc, dev, sizeof dev);
}

static void set_config_desc(struct rs_usb_dev *d, const uint8_t *cfg, size_t len)
{
    g_assert(RS_USB_DEV_DESC_LEN + len <= sizeof d->desc);
    memcpy(d->desc + RS_USB_DEV_DESC_LEN, cfg, len);
    d->desc_len = RS_USB_DEV_DESC_LEN + len;
}

/* A full-speed CDC-ACM function (PEN.md section 1): the classic two-
 * interface layout with the functional descriptors Linux's cdc_acm needs
 * (header, call management, ACM, union). Protocol 0x00, not 0x01 (AT
 * commands): the pen speaks no AT, and ModemManager leaves such ports
 * alone. Full speed: bulk packets are 64 bytes. */
void rs_usb_pen_dev(struct rs_usb_dev *d, const struct sim_params *p, unsigned bench, int devnum)
{
    static const uint8_t cfg[] = {
        9,
        USB_DT_CONFIG,
        67,
        0,
        2,
        1,
        0,
        0x80,
        50, /* bus powered, 100 mA */
        9,
        USB_DT_INTERFACE,
        0,
        0,
        1,
        0x02,
        0x02,
        0x00,
        0, /* CDC comm, ACM */
        5,
        0x24,
        0x00,
        0x10,
        0x01, /* header, CDC 1.10 */
        5,
        0x24,
        0x01,
        0x00,
        0x01, /* call mgmt: data if 1 */
        4,
        0x24,
        0x02,
        0x02, /* ACM: line coding */
        5,
        0x24,
        0x06,
        0x00,
        0x01, /* union: 0 master, 1 */
        7,
        USB_DT_ENDPOINT,
        0x83,
        USB_ENDPOINT_XFER_INT,
        16,
        0,
        16,
        9,
        USB_DT_INTERFACE,
        1,
        0,
        2,
        0x0A,
        0x00,
        0x00,
        0, /* CDC data */
        7,
        USB_DT_ENDPOINT,
        0x02,
        USB_ENDPOINT_XFER_BULK,
        64,
        0,
        0,
        7,
        USB_DT_ENDPOINT,
        0x81,
        USB_ENDPOINT_XFER_BULK,
        64,
        0,
        0,
    };
    _Static_assert(sizeof cfg == 67, "wTotalLength");
    char port[16];
    memset(d, 0, sizeof *d);
    snprintf(port, sizeof port, "1-%u", 2 * bench + 1);
    set_identity(d, port, devnum, PEN_MANUFACTURER, p->pen_model, p->pen_serial);
    d->speed = USB_SPEED_FULL;
    d->driver = "cdc_acm";
    snprintf(d->tty, sizeof d->tty, "ttyACM%u", bench);
    set_device_desc(d, USB_CLASS_COMM, PEN_USB_VID, PEN_USB_PID, rs_usb_bcd_device(p->pen_fw));
    set_config_desc(d, cfg, sizeof cfg);
}

/* SENSOR.md section 1. No kernel driver binds the vendor interface. */
void rs_usb_sh_dev(struct rs_usb_dev *d, const struct sim_params *p, unsigned bench, int devnum)
{
    static const uint8_t cfg[] = {
        9,
        USB_DT_CONFIG,
        25,
        0,
        1,
        1,
        0,
        0x80,
        250, /* bus powered, 500 mA */
        9,
        USB_DT_INTERFACE,
        SH_INTERFACE,
        0,
        1,
        0xFF,
        SH_USB_SUBCLASS,
        SH_USB_PROTOCOL,
        0,
        7,
        USB_DT_ENDPOINT,
        SH_EP_STREAM,
        USB_ENDPOINT_XFER_BULK,
        SH_MAX_PACKET & 0xff,
        SH_MAX_PACKET >> 8,
        0,
    };
    _Static_assert(sizeof cfg == 25, "wTotalLength");
    char port[16];
    memset(d, 0, sizeof *d);
    snprintf(port, sizeof port, "1-%u", 2 * bench + 2);
    set_identity(d, port, devnum, SH_MANUFACTURER, p->sh_model, p->sh_serial);
    d->speed = USB_SPEED_HIGH;
    set_device_desc(d, 0x00, SH_USB_VID, SH_USB_PID, rs_usb_bcd_device(p->sh_fw));
    set_config_desc(d, cfg, sizeof cfg);
}

void rs_usb_syspath(const struct rs_usb_dev *d, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", USB_SYSROOT, d->port);
}

/* ---------------------------------------------------------------- */
/* sysfs and udev                                                    */

static uint16_t le16_at(const uint8_t *b)
{
    return (uint16_t)(b[0] | b[1] << 8);
}

/* An "A:" line: umockdev unescapes \\ and \n; the kernel ends values
 * with a newline. */
static void attr(GString *s, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void attr(GString *s, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_string_append_printf(s, "A: %s=", name);
    for (const char *c = v; *c; c++) {
        if (*c == '\\')
            g_string_append(s, "\\\\");
        else if (*c == '\n')
            g_string_append(s, "\\n");
        else
            g_string_append_c(s, *c);
    }
    g_string_append(s, "\\n\n");
    g_free(v);
}

static bool udev_safe_char(char c)
{
    return g_ascii_isalnum(c) || (c && strchr("#+-.:=@_", c));
}

/* udev's ID_VENDOR/ID_MODEL/ID_SERIAL_SHORT form: whitespace trimmed, runs
 * of it made one '_', any other unsafe character '_' (usb_id builtin). */
static void append_udev_plain(GString *s, const char *v)
{
    while (g_ascii_isspace(*v))
        v++;
    size_t n = strlen(v);
    while (n > 0 && g_ascii_isspace(v[n - 1]))
        n--;
    for (size_t i = 0; i < n; i++) {
        if (g_ascii_isspace(v[i])) {
            while (i + 1 < n && g_ascii_isspace(v[i + 1]))
                i++;
            g_string_append_c(s, '_');
        } else {
            g_string_append_c(s, udev_safe_char(v[i]) ? v[i] : '_');
        }
    }
}

/* udev's *_ENC form: unsafe characters as \xNN. */
static void append_udev_enc(GString *s, const char *v)
{
    for (; *v; v++) {
        if (*v != '\\' && udev_safe_char(*v))
            g_string_append_c(s, *v);
        else
            g_string_append_printf(s, "\\x%02x", (unsigned char)*v);
    }
}

struct iface {
    uint8_t num, nep, cls, sub, proto;
};

/* Interfaces (alternate setting 0) of the configuration descriptor. */
static int interfaces(const struct rs_usb_dev *d, struct iface *out, int max)
{
    int n = 0;
    for (size_t o = RS_USB_DEV_DESC_LEN; o + 2 <= d->desc_len && d->desc[o] >= 2; o += d->desc[o]) {
        const uint8_t *x = d->desc + o;
        if (x[1] == USB_DT_INTERFACE && x[0] >= 9 && x[3] == 0 && n < max)
            out[n++] = (struct iface){ x[2], x[4], x[5], x[6], x[7] };
    }
    return n;
}

/* The interface's kernel name: "1-1:1.0" (port:configuration.interface). */
static void iface_name(const struct rs_usb_dev *d, const struct iface *f, char *buf, size_t len)
{
    snprintf(buf, len, "%s:%d.%d", d->port, d->desc[RS_USB_DEV_DESC_LEN + 5], f->num);
}

/* The properties udev's usb_id builtin gives the USB device and the
 * devices below it (the tty). */
static void udev_usb_id(GString *s, const struct rs_usb_dev *d)
{
    const uint8_t *dd = d->desc;
    g_string_append_printf(s, "E: ID_BUS=usb\nE: ID_VENDOR_ID=%04x\nE: ID_MODEL_ID=%04x\n",
                           le16_at(dd + 8), le16_at(dd + 10));
    g_string_append_printf(s, "E: ID_REVISION=%04x\n", le16_at(dd + 12));
    const char *keys[] = {
        [RS_USB_STR_MANUFACTURER] = "ID_VENDOR", [RS_USB_STR_PRODUCT] = "ID_MODEL"
    };
    for (int i = RS_USB_STR_MANUFACTURER; i <= RS_USB_STR_PRODUCT; i++) {
        g_string_append_printf(s, "E: %s=", keys[i]);
        append_udev_plain(s, d->str[i]);
        g_string_append_printf(s, "\nE: %s_ENC=", keys[i]);
        append_udev_enc(s, d->str[i]);
        g_string_append_c(s, '\n');
    }
    g_string_append(s, "E: ID_SERIAL=");
    for (int i = RS_USB_STR_MANUFACTURER; i <= RS_USB_STR_SERIAL; i++) {
        append_udev_plain(s, d->str[i]);
        g_string_append_c(s, i < RS_USB_STR_SERIAL ? '_' : '\n');
    }
    g_string_append(s, "E: ID_SERIAL_SHORT=");
    append_udev_plain(s, d->str[RS_USB_STR_SERIAL]);
    g_string_append(s, "\nE: ID_USB_INTERFACES=:");
    struct iface ifs[8];
    int n = interfaces(d, ifs, 8);
    for (int i = 0; i < n; i++)
        g_string_append_printf(s, "%02x%02x%02x:", ifs[i].cls, ifs[i].sub, ifs[i].proto);
    g_string_append_c(s, '\n');
}

static void usb_device_entry(GString *s, const struct rs_usb_dev *d, const char *syspath, int nif)
{
    const uint8_t *dd = d->desc, *cfg = d->desc + RS_USB_DEV_DESC_LEN;
    uint16_t vid = le16_at(dd + 8), pid = le16_at(dd + 10), bcd = le16_at(dd + 12);
    int minor = (RS_USB_BUSNUM - 1) * 128 + d->devnum - 1;

    /* no "N:": the caller makes the node (a FIFO, see rs_usbfs_fifo_open) */
    g_string_append_printf(s, "P: %s\n", syspath);
    g_string_append(s, "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n");
    g_string_append_printf(s, "E: DEVNAME=/dev/bus/usb/%03d/%03d\n", RS_USB_BUSNUM, d->devnum);
    g_string_append_printf(s, "E: PRODUCT=%x/%x/%x\nE: TYPE=%d/%d/%d\n", vid, pid, bcd, dd[4],
                           dd[5], dd[6]);
    g_string_append_printf(s, "E: BUSNUM=%03d\nE: DEVNUM=%03d\nE: MAJOR=%d\nE: MINOR=%d\n",
                           RS_USB_BUSNUM, d->devnum, USB_MAJOR, minor);
    udev_usb_id(s, d);
    attr(s, "bConfigurationValue", "%d", cfg[5]);
    attr(s, "bDeviceClass", "%02x", dd[4]);
    attr(s, "bDeviceProtocol", "%02x", dd[6]);
    attr(s, "bDeviceSubClass", "%02x", dd[5]);
    attr(s, "bMaxPacketSize0", "%d", dd[7]);
    attr(s, "bMaxPower", "%dmA", cfg[8] * 2);
    attr(s, "bNumConfigurations", "%d", dd[17]);
    attr(s, "bNumInterfaces", "%2d", nif);
    attr(s, "bcdDevice", "%04x", bcd);
    attr(s, "bmAttributes", "%2x", cfg[7]);
    attr(s, "busnum", "%d", RS_USB_BUSNUM);
    attr(s, "dev", "%d:%d", USB_MAJOR, minor);
    attr(s, "devnum", "%d", d->devnum);
    attr(s, "devpath", "%s", strchr(d->port, '-') + 1);
    attr(s, "idProduct", "%04x", pid);
    attr(s, "idVendor", "%04x", vid);
    attr(s, "manufacturer", "%s", d->str[RS_USB_STR_MANUFACTURER]);
    attr(s, "product", "%s", d->str[RS_USB_STR_PRODUCT]);
    attr(s, "serial", "%s", d->str[RS_USB_STR_SERIAL]);
    attr(s, "speed", "%s", d->speed == USB_SPEED_HIGH ? "480" : "12");
    attr(s, "version", "%2x.%02x", dd[3], dd[2]);
    /* a dangling link, as far as the testbed goes: only its name is read */
    g_string_append(s, "L: driver=../../../../../bus/usb/drivers/usb\n");
    g_string_append(s, "H: descriptors=");
    for (size_t i = 0; i < d->desc_len; i++)
        g_string_append_printf(s, "%02X", d->desc[i]);
    g_string_append(s, "\n\n");
}

static void usb_interface_entry(GString *s, const struct rs_usb_dev *d, const char *syspath,
                                const struct iface *f)
{
    const uint8_t *dd = d->desc;
    uint16_t vid = le16_at(dd + 8), pid = le16_at(dd + 10), bcd = le16_at(dd + 12);
    char modalias[96];
    snprintf(modalias, sizeof modalias,
             "usb:v%04Xp%04Xd%04Xdc%02Xdsc%02Xdp%02Xic%02Xisc%02Xip%02Xin%02X", vid, pid, bcd,
             dd[4], dd[5], dd[6], f->cls, f->sub, f->proto, f->num);

    char name[32];
    iface_name(d, f, name, sizeof name);
    g_string_append_printf(s, "P: %s/%s\n", syspath, name);
    g_string_append(s, "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_interface\n");
    if (d->driver)
        g_string_append_printf(s, "E: DRIVER=%s\n", d->driver);
    g_string_append_printf(s, "E: PRODUCT=%x/%x/%x\nE: TYPE=%d/%d/%d\n", vid, pid, bcd, dd[4],
                           dd[5], dd[6]);
    g_string_append_printf(s, "E: INTERFACE=%d/%d/%d\nE: MODALIAS=%s\n", f->cls, f->sub, f->proto,
                           modalias);
    attr(s, "bAlternateSetting", "%2d", 0);
    attr(s, "bInterfaceClass", "%02x", f->cls);
    attr(s, "bInterfaceNumber", "%02x", f->num);
    attr(s, "bInterfaceProtocol", "%02x", f->proto);
    attr(s, "bInterfaceSubClass", "%02x", f->sub);
    attr(s, "bNumEndpoints", "%02x", f->nep);
    attr(s, "modalias", "%s", modalias);
    /* no "interface" attribute: the kernel makes it only for iInterface != 0 */
    if (d->driver)
        g_string_append_printf(s, "L: driver=../../../../../../bus/usb/drivers/%s\n", d->driver);
    g_string_append_c(s, '\n');
}

/* The tty under interface 0: what libserialport and pyserial walk from
 * (/sys/class/tty/NAME/device -> the interface -> its parent). */
static void tty_entry(GString *s, const struct rs_usb_dev *d, const char *syspath,
                      const struct iface *f)
{
    int minor = 0;
    char name[32];
    (void)sscanf(d->tty, "ttyACM%d", &minor);
    iface_name(d, f, name, sizeof name);
    g_string_append_printf(s, "P: %s/%s/tty/%s\n", syspath, name, d->tty);
    g_string_append_printf(s, "E: SUBSYSTEM=tty\nE: DEVNAME=/dev/%s\nE: MAJOR=%d\nE: MINOR=%d\n",
                           d->tty, ACM_MAJOR, minor);
    udev_usb_id(s, d);
    g_string_append_printf(s, "E: ID_USB_INTERFACE_NUM=%02x\n", f->num);
    if (d->driver)
        g_string_append_printf(s, "E: ID_USB_DRIVER=%s\n", d->driver);
    attr(s, "dev", "%d:%d", ACM_MAJOR, minor);
    /* umockdev does not create this link by itself */
    g_string_append_printf(s, "L: device=../../../%s\n\n", name);
}

char *rs_usb_description(const struct rs_usb_dev *d)
{
    char syspath[128];
    rs_usb_syspath(d, syspath, sizeof syspath);
    struct iface ifs[8];
    int n = interfaces(d, ifs, 8);
    GString *s = g_string_new(NULL);
    usb_device_entry(s, d, syspath, n);
    for (int i = 0; i < n; i++)
        usb_interface_entry(s, d, syspath, &ifs[i]);
    if (d->tty[0] && n > 0)
        tty_entry(s, d, syspath, &ifs[0]);
    return g_string_free(s, FALSE);
}

static void remove_one(UMockdevTestbed *tb, const char *path)
{
    umockdev_testbed_uevent(tb, path, "remove");
    umockdev_testbed_remove_device(tb, path);
}

void rs_usb_remove(UMockdevTestbed *tb, const struct rs_usb_dev *d)
{
    char sys[160], path[224], name[32];
    struct iface ifs[8];
    int n = interfaces(d, ifs, 8);
    snprintf(sys, sizeof sys, "/sys");
    rs_usb_syspath(d, sys + 4, sizeof sys - 4);
    if (d->tty[0] && n > 0) {
        iface_name(d, &ifs[0], name, sizeof name);
        snprintf(path, sizeof path, "%s/%s/tty/%s", sys, name, d->tty);
        remove_one(tb, path);
    }
    for (int i = n - 1; i >= 0; i--) {
        iface_name(d, &ifs[i], name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", sys, name);
        remove_one(tb, path);
    }
    remove_one(tb, sys);
}

/* ---------------------------------------------------------------- */
/* Standard requests                                                 */

static int reply(uint8_t *data, uint16_t wLength, const void *src, size_t n)
{
    size_t len = MIN((size_t)wLength, n);
    memcpy(data, src, len);
    return (int)len;
}

static int string_desc(const struct rs_usb_dev *d, int idx, uint16_t wLength, uint8_t *data)
{
    static const uint8_t langids[4] = { 4, USB_DT_STRING, 0x09, 0x04 }; /* en-US */
    if (idx == 0)
        return reply(data, wLength, langids, sizeof langids);
    if (idx >= RS_USB_NSTR || !d->str[idx][0])
        return -EPIPE;
    uint8_t b[2 + 2 * RS_USB_STR_MAX];
    size_t n = 2;
    for (const char *c = d->str[idx]; *c; c++) { /* ASCII -> UTF-16LE */
        b[n++] = (uint8_t)*c;
        b[n++] = 0;
    }
    b[0] = (uint8_t)n;
    b[1] = USB_DT_STRING;
    return reply(data, wLength, b, n);
}

/* A high-speed device also describes itself at full speed (USB 2.0
 * 9.6.2, 9.6.4): the same function, bulk packets of 64 bytes. */
static int other_speed_desc(const struct rs_usb_dev *d, int type, uint16_t wLength, uint8_t *data)
{
    if (d->speed != USB_SPEED_HIGH)
        return -EPIPE; /* full-speed only: no qualifier */
    const uint8_t *dd = d->desc;
    if (type == USB_DT_DEVICE_QUALIFIER) {
        const uint8_t q[10] = {
            10, USB_DT_DEVICE_QUALIFIER, dd[2], dd[3], dd[4], dd[5], dd[6], 64, dd[17], 0
        };
        return reply(data, wLength, q, sizeof q);
    }
    uint8_t cfg[RS_USB_DESC_MAX];
    size_t len = d->desc_len - RS_USB_DEV_DESC_LEN;
    memcpy(cfg, d->desc + RS_USB_DEV_DESC_LEN, len);
    cfg[1] = USB_DT_OTHER_SPEED_CONFIG;
    for (size_t o = 0; o + 2 <= len && cfg[o] >= 2; o += cfg[o])
        if (cfg[o + 1] == USB_DT_ENDPOINT && cfg[o] >= 7 && o + 7 <= len &&
            le16_at(cfg + o + 4) > 64) {
            cfg[o + 4] = 64;
            cfg[o + 5] = 0;
        }
    return reply(data, wLength, cfg, len);
}

int rs_usb_std_request(const struct rs_usb_dev *d, const struct usb_ctrlrequest *setup,
                       uint8_t *data)
{
    static const uint8_t zero[2] = { 0, 0 }, one = 1;
    uint16_t wValue = le16toh(setup->wValue);
    uint16_t wLength = le16toh(setup->wLength);
    bool in = (setup->bRequestType & USB_DIR_IN) != 0;

    switch (setup->bRequest) {
    case USB_REQ_GET_DESCRIPTOR: {
        int type = wValue >> 8, idx = wValue & 0xff;
        if (!in)
            return -EPIPE;
        if (type == USB_DT_DEVICE)
            return reply(data, wLength, d->desc, RS_USB_DEV_DESC_LEN);
        if (type == USB_DT_CONFIG && idx == 0)
            return reply(data, wLength, d->desc + RS_USB_DEV_DESC_LEN,
                         d->desc_len - RS_USB_DEV_DESC_LEN);
        if (type == USB_DT_STRING)
            return string_desc(d, idx, wLength, data);
        if ((type == USB_DT_DEVICE_QUALIFIER || type == USB_DT_OTHER_SPEED_CONFIG) && idx == 0)
            return other_speed_desc(d, type, wLength, data);
        return -EPIPE;
    }
    case USB_REQ_GET_STATUS: /* bus powered, no remote wakeup, no halt */
        return in ? reply(data, wLength, zero, sizeof zero) : -EPIPE;
    case USB_REQ_GET_CONFIGURATION:
        return in ? reply(data, wLength, &one, 1) : -EPIPE;
    case USB_REQ_GET_INTERFACE:
        return in ? reply(data, wLength, zero, 1) : -EPIPE;
    case USB_REQ_SET_CONFIGURATION:
    case USB_REQ_SET_INTERFACE:
    case USB_REQ_CLEAR_FEATURE:
    case USB_REQ_SET_FEATURE:
        return in ? -EPIPE : 0;
    default:
        return -EPIPE;
    }
}
