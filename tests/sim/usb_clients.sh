#!/bin/sh
# Ordinary clients see the bench's two USB devices as real ones: pyserial's
# port listing, pyusb (usb_clients.py), lsusb -v and udevadm info, run
# inside rigsim, report the identities PEN.md and SENSOR.md section 1 give
# (VID:PID, iProduct = model, iSerialNumber = serial, bcdDevice 0xMMmp, a
# CDC-ACM pen), also after both devices were re-plugged.
# Usage: usb_clients.sh RIGSIM USB_CLIENTS_PY
#        (inside rigsim: usb_clients.sh --inside RIGSIM USB_CLIENTS_PY)
set -u

if [ "$1" != --inside ]; then
    rigsim=$1 py_script=$2
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    export TMPDIR="$work"
    # a bench whose pen differs from the defaults (a space in the model
    # for udev's escaping, firmware 2.3.1 -> bcdDevice 0x0231)
    printf '%s\n' '{"pen": {"model": "MN Pen A", "serial": "PA-0000042", "firmware": "2.3.1"}}' \
        > "$work/bench.json"
    "$rigsim" --bench "$work/bench.json" -- sh "$0" --inside "$rigsim" "$py_script"
    exit $?
fi

rigsim=$2 py_script=$3
fail=0
out=$(mktemp)
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
# has WHAT PATTERN: the last command's output ($out) has a line matching
# the extended regular expression PATTERN
has() {
    if grep -Eq -- "$2" "$out"; then ok "$1"; else bad "$1: no line matching '$2' in:"; sed 's/^/    /' "$out"; fi
}
# run NAME CMD...: run a client, its output into $out; a failure is one
run() {
    name=$1
    shift
    if "$@" > "$out" 2>&1; then ok "$name runs"; else bad "$name: exit status $? from: $*"; sed 's/^/    /' "$out"; fi
}

# The clients must exist: a missing one is a broken test machine
# (scripts/install-deps installs them), never a reason to skip.
python=
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import serial.tools.list_ports, usb.core' 2>/dev/null; then python=$p; break; fi
done
[ -n "$python" ] || bad "no python3 with pyserial and pyusb (python3-serial, python3-usb: scripts/install-deps)"
for tool in lsusb udevadm; do
    command -v "$tool" > /dev/null || bad "$tool missing (usbutils, udev: scripts/install-deps)"
done
if [ $fail -ne 0 ]; then rm -f "$out"; exit 1; fi

pen_id='1209:504e'
sh_id='1209:5348'

# pyserial: reads the tty's sysfs device, its interface and USB device
run "pyserial list_ports" "$python" -m serial.tools.list_ports -v
has "pyserial: the pen's port" '^/dev/ttyACM0 *$'
has "pyserial: description = iProduct" '^ +desc: MN Pen A$'
has "pyserial: VID:PID, serial, location" \
    '^ +hwid: USB VID:PID=1209:504E SER=PA-0000042 LOCATION=1-1:1\.0$'

# pyusb: strings through usbfs (LANGID table first), descriptors both ways
pyusb_check() {
    run "pyusb ($1)" "$python" "$py_script"
    has "pyusb: pen ($1)" "^dev $pen_id bus=1 addr=2 bcd=0231 class=02 speed=2 langids=0409 manufacturer='Rig Reference Pens' product='MN Pen A' serial='$2' interfaces=0:02/02/00:kernel,1:0a/00/00:kernel$"
    has "pyusb: sensor head ($1)" "^dev $sh_id bus=1 addr=$3 bcd=0103 class=00 speed=3 langids=0409 manufacturer='Rig Sensor Systems' product='SH-2' serial='SH2-000101' interfaces=0:ff/53/01:none$"
    has "pyusb: sensor head GET_IDENTITY ($1)" "^identity model='SH-2' serial='SH2-000101' fw=1\.0\.3$"
}
pyusb_check "plugged at start" PA-0000042 3

# lsusb: enumeration, then descriptors and strings through usbfs
run "lsusb" lsusb
has "lsusb: pen" "^Bus 001 Device 002: ID $pen_id "
has "lsusb: sensor head" "^Bus 001 Device 003: ID $sh_id "
run "lsusb -v pen" lsusb -v -d "$pen_id"
has "lsusb -v pen: bcdDevice" '^ +bcdDevice +2\.31$'
has "lsusb -v pen: iManufacturer" '^ +iManufacturer +1 Rig Reference Pens$'
has "lsusb -v pen: iProduct" '^ +iProduct +2 MN Pen A$'
has "lsusb -v pen: iSerial" '^ +iSerial +3 PA-0000042$'
has "lsusb -v pen: CDC device class" '^ +bDeviceClass +2 Communications$'
has "lsusb -v pen: CDC ACM interface" '^ +bInterfaceSubClass +2 Abstract \(modem\)$'
has "lsusb -v pen: CDC union descriptor" '^ +CDC Union:$'
has "lsusb -v pen: CDC data interface" '^ +bInterfaceClass +10 CDC Data$'
has "lsusb -v pen: full-speed bulk packets" '^ +wMaxPacketSize +0x0040 +1x 64 bytes$'
has "lsusb -v pen: device status (GET_STATUS over usbfs)" '^Device Status: +0x0000$'
if grep -q 'Couldn.t open\|can.t get' "$out"; then bad "lsusb -v pen: errors"; sed 's/^/    /' "$out"; fi
run "lsusb -v sensor head" lsusb -v -d "$sh_id"
has "lsusb -v sensor head: bcdDevice" '^ +bcdDevice +1\.03$'
has "lsusb -v sensor head: iProduct = model" '^ +iProduct +2 SH-2$'
has "lsusb -v sensor head: iSerial" '^ +iSerial +3 SH2-000101$'
has "lsusb -v sensor head: vendor interface" '^ +bInterfaceClass +255 Vendor Specific Class$'
has "lsusb -v sensor head: high-speed qualifier" '^Device Qualifier \(for other device speed\):$'
has "lsusb -v sensor head: device status" '^Device Status: +0x0000$'
if grep -q 'Couldn.t open\|can.t get' "$out"; then bad "lsusb -v sensor head: errors"; sed 's/^/    /' "$out"; fi

# udevadm: properties of the kernel (uevent) and of udev's usb_id builtin
run "udevadm info tty" udevadm info /dev/ttyACM0
has "udevadm tty: device number" '^E: MAJOR=166$'
has "udevadm tty: VID" '^E: ID_VENDOR_ID=1209$'
has "udevadm tty: PID" '^E: ID_MODEL_ID=504e$'
has "udevadm tty: model, escaped" '^E: ID_MODEL_ENC=MN\\x20Pen\\x20A$'
has "udevadm tty: serial" '^E: ID_SERIAL=Rig_Reference_Pens_MN_Pen_A_PA-0000042$'
has "udevadm tty: revision = bcdDevice" '^E: ID_REVISION=0231$'
has "udevadm tty: CDC interfaces" '^E: ID_USB_INTERFACES=:020200:0a0000:$'
has "udevadm tty: interface" '^E: ID_USB_INTERFACE_NUM=00$'
has "udevadm tty: driver" '^E: ID_USB_DRIVER=cdc_acm$'
run "udevadm info -a tty" udevadm info -a /dev/ttyACM0
has "udevadm -a tty: cdc_acm parent" '^ +DRIVERS=="cdc_acm"$'
has "udevadm -a tty: USB parent's product" '^ +ATTRS\{product\}=="MN Pen A"$'
run "udevadm info pen" udevadm info /dev/bus/usb/001/002
has "udevadm pen: usb_device" '^T: usb_device$'
has "udevadm pen: PRODUCT" '^E: PRODUCT=1209/504e/231$'
has "udevadm pen: TYPE" '^E: TYPE=2/0/0$'
run "udevadm info sensor head" udevadm info /dev/bus/usb/001/003
has "udevadm sensor head: PRODUCT" '^E: PRODUCT=1209/5348/103$'
has "udevadm sensor head: model" '^E: ID_MODEL=SH-2$'
has "udevadm sensor head: serial" '^E: ID_SERIAL_SHORT=SH2-000101$'

# Re-plugged: an operator swaps the pen (new serial), the sensor head comes
# back with a new address; both devices answer again through usbfs.
run "swap pen" "$rigsim" --send '{"swap_pen":{"seed":7,"serial":"PA-0000043","gap":0.2}}'
run "re-plug sensor head" "$rigsim" --send '{"fault":"sensor-unplug","value":0.2}'
sleep 1
pyusb_check "after re-plug" PA-0000043 4
run "pyserial list_ports after swap" "$python" -m serial.tools.list_ports -v
has "pyserial: new serial after swap" 'SER=PA-0000043 '

rm -f "$out"
exit $fail
