"""An ordinary pyusb client of the simulated bench (run inside rigsim by
usb_clients.sh): lists every USB device with its descriptors and strings,
one line each, for the shell script to compare with what the protocol
documents say.

It also checks what no single line shows:
- the descriptors read from the device (GET_DESCRIPTOR over usbfs) are the
  ones libusb read from sysfs ("descriptors"): one device, not two;
- the sensor head's iProduct, iSerialNumber and bcdDevice are its
  GET_IDENTITY model, serial and firmware (SENSOR.md section 1).
Exit status 1 on any mismatch or error (pyusb raises: no langid, ...).
"""
import struct
import sys

import usb.core
import usb.util

SH = (0x1209, 0x5348)
SH_REQTYPE_IN, SH_REQ_GET_IDENTITY, SH_IDENTITY_SIZE = 0xC1, 0x01, 52
GET_DESCRIPTOR = 0x06
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def interfaces_of(raw):
    """(number, class, subclass, protocol) of each interface (alternate
    setting 0) in a raw configuration descriptor."""
    out, o = [], 0
    while o + 2 <= len(raw) and raw[o] >= 2:
        if raw[o + 1] == usb.util.DESC_TYPE_INTERFACE and raw[o + 3] == 0:
            out.append((raw[o + 2], raw[o + 5], raw[o + 6], raw[o + 7]))
        o += raw[o]
    return out


def describe(dev):
    name = "%04x:%04x" % (dev.idVendor, dev.idProduct)
    # through usbfs: control transfers to the device
    raw_dev = bytes(dev.ctrl_transfer(0x80, GET_DESCRIPTOR, 0x0100, 0, 18))
    head = bytes(dev.ctrl_transfer(0x80, GET_DESCRIPTOR, 0x0200, 0, 9))
    total = struct.unpack_from("<H", head, 2)[0]
    raw_cfg = bytes(dev.ctrl_transfer(0x80, GET_DESCRIPTOR, 0x0200, 0, total))
    # as libusb read them from sysfs
    fields = struct.unpack("<BBHBBBBHHHBBBB", raw_dev)
    cached = (dev.bLength, dev.bDescriptorType, dev.bcdUSB, dev.bDeviceClass,
              dev.bDeviceSubClass, dev.bDeviceProtocol, dev.bMaxPacketSize0, dev.idVendor,
              dev.idProduct, dev.bcdDevice, dev.iManufacturer, dev.iProduct,
              dev.iSerialNumber, dev.bNumConfigurations)
    check(fields == cached, "%s: device descriptor over usbfs %s != sysfs %s"
          % (name, fields, cached))
    cfg = dev.get_active_configuration()
    check(cfg.wTotalLength == total, "%s: wTotalLength %d != %d" % (name, total, cfg.wTotalLength))
    ifs = [(i.bInterfaceNumber, i.bInterfaceClass, i.bInterfaceSubClass, i.bInterfaceProtocol)
           for i in cfg if i.bAlternateSetting == 0]
    check(interfaces_of(raw_cfg) == ifs, "%s: interfaces over usbfs %s != sysfs %s"
          % (name, interfaces_of(raw_cfg), ifs))

    langids = usb.util.get_langids(dev)
    strings = [usb.util.get_string(dev, i) for i in
               (dev.iManufacturer, dev.iProduct, dev.iSerialNumber)]
    drivers = ["kernel" if dev.is_kernel_driver_active(n) else "none" for n, _, _, _ in ifs]
    print("dev %s bus=%d addr=%d bcd=%04x class=%02x speed=%d langids=%s "
          "manufacturer='%s' product='%s' serial='%s' interfaces=%s"
          % (name, dev.bus, dev.address, dev.bcdDevice, dev.bDeviceClass, dev.speed,
             ",".join("%04x" % l for l in langids), strings[0], strings[1], strings[2],
             ",".join("%d:%02x/%02x/%02x:%s" % (f + (d,)) for f, d in zip(ifs, drivers))))
    if (dev.idVendor, dev.idProduct) == SH:
        identity(dev, strings)


def identity(dev, strings):
    """GET_IDENTITY (SENSOR.md 3.1) against the descriptors."""
    usb.util.claim_interface(dev, 0)
    b = bytes(dev.ctrl_transfer(SH_REQTYPE_IN, SH_REQ_GET_IDENTITY, 0, 0, SH_IDENTITY_SIZE))
    usb.util.release_interface(dev, 0)
    fw = tuple(b[2:5])
    model = b[12:28].rstrip(b"\0").decode("ascii")
    serial = b[28:44].rstrip(b"\0").decode("ascii")
    bcd = fw[0] << 8 | min(fw[1], 15) << 4 | min(fw[2], 15)
    print("identity model='%s' serial='%s' fw=%d.%d.%d" % ((model, serial) + fw))
    check(strings[1] == model, "iProduct '%s' != identity model '%s'" % (strings[1], model))
    check(strings[2] == serial, "iSerialNumber '%s' != identity serial '%s'"
          % (strings[2], serial))
    check(dev.bcdDevice == bcd, "bcdDevice %04x != firmware %d.%d.%d" % ((dev.bcdDevice,) + fw))


def main():
    devs = sorted(usb.core.find(find_all=True), key=lambda d: (d.bus, d.address))
    for dev in devs:
        try:
            describe(dev)
        except (usb.core.USBError, ValueError) as e:
            failures.append("%04x:%04x: %s" % (dev.idVendor, dev.idProduct, e))
        usb.util.dispose_resources(dev)
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
