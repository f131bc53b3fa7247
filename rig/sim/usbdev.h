/* What an emulated USB device looks like to the host, for both emulators:
 * its descriptors and strings, its sysfs/udev entries in the testbed, the
 * standard control requests on endpoint 0 (usbdev.c), and a usbfs node
 * that answers only those (usbfs_std.c: the pen, whose interfaces belong
 * to the kernel's cdc_acm driver).
 *
 * One description (struct rs_usb_dev) is the single source: the sysfs
 * "descriptors" file libusb reads, the attributes pyserial, libserialport,
 * lsusb and udev read, and the answers to GET_DESCRIPTOR all come from it,
 * so no client can see two different devices.
 */
#ifndef RIG_SIM_USBDEV_H
#define RIG_SIM_USBDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <umockdev.h>

#include <linux/usb/ch9.h>
#include <linux/usbdevice_fs.h>

struct sim_params;
struct rs_world;

#define RS_USB_BUSNUM       1
#define RS_USB_DEV_DESC_LEN 18
#define RS_USB_DESC_MAX     128 /* device descriptor + configuration descriptor */
#define RS_USB_STR_MAX      32  /* characters of one string descriptor */
/* String descriptor indices used by both devices (0 is the LANGID table). */
enum { RS_USB_STR_MANUFACTURER = 1, RS_USB_STR_PRODUCT, RS_USB_STR_SERIAL, RS_USB_NSTR };

/* usbfs capabilities of the emulated host controller (GET_CAPABILITIES):
 * the same for every device on the bus. */
#define RS_USBFS_CAPS                                                                              \
    (USBDEVFS_CAP_BULK_SCATTER_GATHER | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |                          \
     USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET |                               \
     USBDEVFS_CAP_BULK_CONTINUATION)

struct rs_usb_dev {
    char port[16];                 /* hub port path: "1-1" */
    int devnum;                    /* bus address, /dev/bus/usb/001/NNN */
    enum usb_device_speed speed;   /* USB_SPEED_FULL or USB_SPEED_HIGH */
    const char *driver;            /* kernel driver of every interface, NULL = none */
    char tty[24];                  /* tty under interface 0 ("ttyACM0"), or "" */
    uint8_t desc[RS_USB_DESC_MAX]; /* device descriptor, then configuration 1 */
    size_t desc_len;
    char str[RS_USB_NSTR][RS_USB_STR_MAX + 1]; /* [1..3]; [0] unused */
};

/* bcdDevice from a firmware version (PEN.md, SENSOR.md): 0xMMmp, major in
 * the high byte, minor and patch one hex digit each (saturated at 0xF). */
uint16_t rs_usb_bcd_device(const uint8_t fw[3]);

/* The two devices of bench number `bench` (0-based), from its parameters.
 * Each bench has its own hub ports and tty, so several benches can share
 * the bus: pen 1-(2*bench+1) with ttyACM<bench>, sensor head
 * 1-(2*bench+2); bench 0 is 1-1, ttyACM0 and 1-2. */
void rs_usb_pen_dev(struct rs_usb_dev *d, const struct sim_params *p, unsigned bench, int devnum);
void rs_usb_sh_dev(struct rs_usb_dev *d, const struct sim_params *p, unsigned bench, int devnum);

/* "/devices/pci0000:00/0000:00:14.0/usb1/1-1" (no "/sys"), into buf. */
void rs_usb_syspath(const struct rs_usb_dev *d, char *buf, size_t len);

/* umockdev device description (umockdev_testbed_add_from_string): the
 * usb_device, one usb_interface per interface, and d->tty if set, with the
 * attributes and uevent/udev properties the kernel and udev give them.
 * The tty's node itself is left to the caller. Free with g_free. */
char *rs_usb_description(const struct rs_usb_dev *d);

/* Unplug: a "remove" uevent for, and then the removal of, the tty, each
 * interface and the device, in that order as the kernel does (umockdev's
 * remove_device neither recurses nor announces). */
void rs_usb_remove(UMockdevTestbed *tb, const struct rs_usb_dev *d);

/* A standard control request (bRequestType type bits STANDARD) to the
 * device: GET_DESCRIPTOR (device, configuration, strings with the LANGID
 * table at index 0, and for high-speed devices qualifier and other-speed
 * configuration), GET_STATUS, GET/SET_CONFIGURATION, GET/SET_INTERFACE,
 * CLEAR/SET_FEATURE. Returns the data-stage length, or -EPIPE (STALL). */
int rs_usb_std_request(const struct rs_usb_dev *d, const struct usb_ctrlrequest *setup,
                       uint8_t *data);

/* ---- usbfs node readiness (usbfs_std.c) ----
 * The node is a FIFO of one page: empty (POLLOUT) while an URB can be
 * reaped, one byte in it (no POLLOUT) otherwise, so libusb's poll() on the
 * node sleeps like on real usbfs instead of spinning on REAPURBNDELAY. */
struct rs_usbfs_fifo {
    int fd; /* -1: none */
    bool full;
};

/* Replace the testbed's node devnode ("/dev/bus/usb/001/003") by the FIFO,
 * not ready. 0 or -errno, with a message in err. */
int rs_usbfs_fifo_open(struct rs_usbfs_fifo *f, UMockdevTestbed *tb, const char *devnode, char *err,
                       size_t errlen);
void rs_usbfs_fifo_set_ready(struct rs_usbfs_fifo *f, bool ready);
void rs_usbfs_fifo_close(struct rs_usbfs_fifo *f);

/* ---- a usbfs node answering standard requests only (usbfs_std.c) ----
 * Control URBs to the device recipient are answered by rs_usb_std_request
 * (others STALL); the interfaces are the kernel driver's (d->driver):
 * claiming them or addressing them fails with EBUSY, as with the real
 * cdc_acm binding. The handler stays attached for rigsim's lifetime;
 * clients of an unplugged device get ENODEV. Thread safety: the world
 * lock guards the state shared with umockdev's worker thread. */
struct rs_usbfs;
struct rs_usbfs *rs_usbfs_new(struct rs_world *w);
void rs_usbfs_free(struct rs_usbfs *u);
/* Device present as d (copied) at its node; after the testbed's device was
 * added. 0 or -1 with a message on stderr. */
int rs_usbfs_plug(struct rs_usbfs *u, const struct rs_usb_dev *d);
void rs_usbfs_unplug(struct rs_usbfs *u);

#endif
