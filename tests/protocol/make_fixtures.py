#!/usr/bin/env python3
"""Writes the protocol golden vectors (fixtures/golden/*.hex) and the fuzz
seed corpora (fixtures/corpus/pen_rx/, fixtures/corpus/sensor_block/).

This is a second, independent implementation of the wire formats in
protocol/PEN.md and protocol/SENSOR.md (Python struct + binascii/zlib CRCs,
its own COBS), so the golden vectors check the C codec instead of merely
recording its output. The C tests (tests/protocol/) encode the same values
and compare byte for byte. Outputs are committed; rerun only when the
protocol changes:  python3 tests/protocol/make_fixtures.py
"""
import binascii
import os
import struct
import zlib

TOP = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN = os.path.join(TOP, "fixtures", "golden")
CORPUS = os.path.join(TOP, "fixtures", "corpus")

# ---- pen ----
F_RESPONSE, F_EVENT = 0x01, 0x02
IDENTIFY, SET_RATE, SET_DEPTH, START, STOP, GET_STATUS, HEARTBEAT, CLEAR_FAULT = range(1, 9)
EVT_STATE, EVT_FAULT, NAK = 0x40, 0x41, 0x7F


def crc16_ccitt_false(data):
    # binascii.crc_hqx is CRC-16 poly 0x1021, MSB first; init 0xFFFF makes it
    # CRC-16/CCITT-FALSE.
    return binascii.crc_hqx(data, 0xFFFF)


def cobs_encode(data):
    out = bytearray([0])
    code_pos, code = 0, 1
    for i, b in enumerate(data):
        if b == 0:
            out[code_pos] = code
            code_pos, code = len(out), 1
            out.append(0)
            continue
        out.append(b)
        code += 1
        if code == 0xFF and i + 1 < len(data):
            out[code_pos] = code
            code_pos, code = len(out), 1
            out.append(0)
    out[code_pos] = code
    return bytes(out)


def pen_body(mtype, flags, seq, payload=b"", version=1):
    hdr = struct.pack("<BBBBH", version, mtype, flags, len(payload), seq)
    body = hdr + payload
    return body + struct.pack("<H", crc16_ccitt_false(body))


def pen_frame(mtype, flags, seq, payload=b""):
    return cobs_encode(pen_body(mtype, flags, seq, payload)) + b"\x00"


def s16(s):
    b = s.encode("ascii")
    assert len(b) <= 16
    return b + b"\x00" * (16 - len(b))


PEN_IDENTITY = (s16("MN-PEN-A") + s16("PA2611250042") + bytes([3, 1, 4, 2]) +
                s16("CA14-L2611") + bytes([14, 1]) + struct.pack("<HHH", 250, 0, 2500))
assert len(PEN_IDENTITY) == 60
# state, set rate, measured rate, set depth, current, supply, temperature,
# faults, uptime, watchdog, reserved
PEN_STATUS = struct.pack("<BIIHHHhIIHB", 2, 120000, 119850, 1500, 420, 3950,
                         3125, 0, 123456, 500, 0)
assert len(PEN_STATUS) == 28

PEN_GOLDEN = {
    "pen_identify_request": (IDENTIFY, 0, 0x0001, b""),
    "pen_identify_response": (IDENTIFY, F_RESPONSE, 0x0001, PEN_IDENTITY),
    "pen_set_rate_request": (SET_RATE, 0, 0x0002, struct.pack("<I", 120000)),
    "pen_set_rate_response": (SET_RATE, F_RESPONSE, 0x0002, struct.pack("<I", 120000)),
    "pen_set_depth_request": (SET_DEPTH, 0, 0x0003, struct.pack("<H", 1500)),
    "pen_set_depth_response": (SET_DEPTH, F_RESPONSE, 0x0003, struct.pack("<H", 1500)),
    "pen_start_request": (START, 0, 0x0004, b""),
    "pen_start_response": (START, F_RESPONSE, 0x0004, b""),
    "pen_stop_request": (STOP, 0, 0x0005, b""),
    "pen_stop_response": (STOP, F_RESPONSE, 0x0005, b""),
    "pen_get_status_request": (GET_STATUS, 0, 0x0006, b""),
    "pen_get_status_response": (GET_STATUS, F_RESPONSE, 0x0006, PEN_STATUS),
    "pen_heartbeat_request": (HEARTBEAT, 0, 0x0007, b""),
    "pen_heartbeat_response": (HEARTBEAT, F_RESPONSE, 0x0007, b""),
    "pen_clear_fault_request": (CLEAR_FAULT, 0, 0x0008, b""),
    "pen_clear_fault_response": (CLEAR_FAULT, F_RESPONSE, 0x0008, b""),
    # RUNNING, previous SPINUP, reason AT_RATE
    "pen_evt_state": (EVT_STATE, F_EVENT, 0x0010, bytes([2, 1, 1])),
    # STALL, 1380 mA, 3900 mV
    "pen_evt_fault": (EVT_FAULT, F_EVENT, 0x0011, struct.pack("<IHH", 0x0001, 1380, 3900)),
    # SET_RATE refused: OUT_OF_RANGE
    "pen_nak": (NAK, F_RESPONSE, 0x1234, bytes([SET_RATE, 0x03])),
}

# ---- sensor head ----
SH_MAGIC = 0x31424853
NO_TARGET = -2**31

SH_IDENTITY = (struct.pack("<BBBBBBHI", 1, 2, 2, 1, 0, 2, 0, 100000) +
               s16("SH-FD-100") + s16("SH2610000017") +
               struct.pack("<II", 20000000, 5000000))
assert len(SH_IDENTITY) == 52
SH_CALIBRATION = (struct.pack("<iiiiII", 1002350, -1250, 998700, 340,
                              20261002, 20270402) + s16("CAL-2026-1187"))
assert len(SH_CALIBRATION) == 40
SH_STATUS = struct.pack("<BBhIIIiI", 0x07, 0, 2875, 50000, 1234, 0, -5120, 0)
assert len(SH_STATUS) == 24


def sh_block(seq, first, rate, force, disp, flags=0, version=1, magic=SH_MAGIC):
    hdr = struct.pack("<IBBBBIQIHH", magic, version, flags, 2, 28, seq, first,
                      rate, len(force), 0)
    samples = b"".join(struct.pack("<ii", f, d) for f, d in zip(force, disp))
    body = hdr + samples
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


SH_BLOCK = sh_block(7, 3500, 50000, [612000, 598500, -1200, 0],
                    [1480250, 1481000, NO_TARGET, -2500], flags=0x02)


def write_hex(name, data, comment):
    path = os.path.join(GOLDEN, name + ".hex")
    with open(path, "w") as f:
        f.write("# %s\n" % comment)
        for i in range(0, len(data), 16):
            f.write(" ".join("%02x" % b for b in data[i:i + 16]) + "\n")


def write_bin(corpus, name, data):
    d = os.path.join(CORPUS, corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(GOLDEN, exist_ok=True)
    frames = {}
    for name, (t, fl, seq, payload) in PEN_GOLDEN.items():
        frames[name] = pen_frame(t, fl, seq, payload)
        write_hex(name, frames[name],
                  "pen v1 wire frame (COBS body + 0x00): %s, seq 0x%04x" % (name, seq))
    write_hex("sh_identity", SH_IDENTITY, "sensor head GET_IDENTITY payload (52 bytes)")
    write_hex("sh_calibration", SH_CALIBRATION, "sensor head GET_CAL/SET_CAL payload (40 bytes)")
    write_hex("sh_status", SH_STATUS, "sensor head GET_STATUS payload (24 bytes)")
    write_hex("sh_block", SH_BLOCK, "sensor head stream block: seq 7, first 3500, 50 kS/s, 4 samples, NO_TARGET")
    write_hex("crc_check", b"123456789",
              "CRC check input: CRC-16/CCITT-FALSE 0x29b1, CRC-32/ISO-HDLC 0xcbf43926")

    # pen_rx seeds: byte 0 selects the chunking, the rest is the stream.
    for i, (name, fr) in enumerate(sorted(frames.items())):
        write_bin("pen_rx", "%s.bin" % name, bytes([i]) + b"\x00" + fr)
    allf = b"\x00" + b"".join(frames[n] for n in sorted(frames))
    write_bin("pen_rx", "all_frames.bin", bytes([3]) + allf)
    write_bin("pen_rx", "garbage_between.bin",
              bytes([7]) + b"\x12\x34\xff" + frames["pen_evt_state"] + b"\xaa\x55\x00\x00" +
              frames["pen_get_status_response"])
    bad = bytearray(frames["pen_set_rate_request"])
    bad[7] ^= 0x40
    write_bin("pen_rx", "bad_crc.bin", bytes([1]) + b"\x00" + bytes(bad))
    write_bin("pen_rx", "oversize.bin", bytes([5]) + b"\x00" + b"\x01" * 100 + b"\x00" +
              frames["pen_heartbeat_request"])
    write_bin("pen_rx", "unknown_type.bin", bytes([2]) + b"\x00" +
              cobs_encode(pen_body(0x20, 0, 9)) + b"\x00")

    # sensor_block seeds: whole blocks and control payloads.
    write_bin("sensor_block", "block.bin", SH_BLOCK)
    write_bin("sensor_block", "block_overrun.bin",
              sh_block(0xFFFFFFFF, 2**40, 100000, [1, 2, 3], [4, 5, -2**31 + 1], flags=0x05))
    write_bin("sensor_block", "block_500.bin",
              sh_block(42, 21000, 50000, list(range(0, 500000, 1000)),
                       list(range(1000000, 1500000, 1000)), flags=0x10))
    write_bin("sensor_block", "identity.bin", SH_IDENTITY)
    write_bin("sensor_block", "calibration.bin", SH_CALIBRATION)
    write_bin("sensor_block", "status.bin", SH_STATUS)


if __name__ == "__main__":
    main()
