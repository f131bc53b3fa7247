/* Pen service-port protocol, version 1: message structures, encoder,
 * decoder and a streaming frame receiver. The normative description is
 * protocol/PEN.md; this header is its C form. No I/O, no allocation.
 *
 * Wire format (all multi-byte integers little-endian):
 *
 *   frame   = COBS(body) 0x00
 *   body    = header payload crc
 *   header  = version:u8 type:u8 flags:u8 len:u8 seq:u16      (6 bytes)
 *   payload = len bytes, len <= PEN_MAX_PAYLOAD, exact size fixed per type
 *   crc     = CRC-16/CCITT-FALSE over header and payload:u16
 *
 * Requests go host -> pen with flags = 0 and a host-chosen seq. The pen
 * answers each request with exactly one frame of the same type and seq with
 * PEN_F_RESPONSE set, or with a PEN_MSG_NAK carrying the same seq.
 * Unsolicited events go pen -> host with PEN_F_EVENT set and the pen's own
 * event sequence counter in seq.
 */
#ifndef RIG_PROTOCOL_PEN_H
#define RIG_PROTOCOL_PEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEN_PROTOCOL_VERSION 1

#define PEN_HEADER_SIZE 6
#define PEN_CRC_SIZE    2
#define PEN_MAX_PAYLOAD 64
#define PEN_MAX_BODY    (PEN_HEADER_SIZE + PEN_MAX_PAYLOAD + PEN_CRC_SIZE)
/* Largest frame on the wire, COBS overhead and 0x00 delimiter included. */
#define PEN_MAX_FRAME   (PEN_MAX_BODY + PEN_MAX_BODY / 254 + 1 + 1)

/* Timing rules (normative, see PEN.md). */
#define PEN_RESPONSE_TIMEOUT_MS 100 /* pen answers within this */
#define PEN_MAX_RETRIES         2   /* host resends same seq at most twice */
#define PEN_HEARTBEAT_PERIOD_MS 100 /* host sends heartbeats this often */
#define PEN_WATCHDOG_TIMEOUT_MS 500 /* pen stops motor after this silence */

/* flags */
#define PEN_F_RESPONSE 0x01u
#define PEN_F_EVENT    0x02u
#define PEN_F_KNOWN    (PEN_F_RESPONSE | PEN_F_EVENT)

enum pen_msg_type {
    PEN_MSG_IDENTIFY = 0x01,
    PEN_MSG_SET_RATE = 0x02,
    PEN_MSG_SET_DEPTH = 0x03,
    PEN_MSG_START = 0x04,
    PEN_MSG_STOP = 0x05,
    PEN_MSG_GET_STATUS = 0x06,
    PEN_MSG_HEARTBEAT = 0x07,
    PEN_MSG_CLEAR_FAULT = 0x08,
    PEN_MSG_EVT_STATE = 0x40, /* event: motor state changed */
    PEN_MSG_EVT_FAULT = 0x41, /* event: a fault was raised */
    PEN_MSG_NAK = 0x7F,       /* response: request refused */
};

/* Motor state. */
enum pen_state {
    PEN_STATE_IDLE = 0,
    PEN_STATE_SPINUP = 1,  /* start accepted, not yet at rate */
    PEN_STATE_RUNNING = 2, /* within 5 % of set rate */
    PEN_STATE_STOPPING = 3,
    PEN_STATE_FAULT = 4, /* motor off until CLEAR_FAULT */
    PEN_STATE_COUNT_
};

/* Fault flags (status.faults, evt_fault.faults). */
#define PEN_FAULT_STALL          0x0001u /* rotor stopped while driven */
#define PEN_FAULT_OVERCURRENT    0x0002u /* > 1.5 A for > 100 ms */
#define PEN_FAULT_LOW_BATTERY    0x0004u /* warning: supply < 3500 mV */
#define PEN_FAULT_BATTERY_CUTOFF 0x0008u /* supply < 3200 mV: motor off */
#define PEN_FAULT_OVERTEMP       0x0010u /* > 60.0 degC */
#define PEN_FAULT_NO_CARTRIDGE   0x0020u /* cartridge not detected */
#define PEN_FAULT_WATCHDOG       0x0040u /* heartbeat lost: motor stopped */
#define PEN_FAULT_KNOWN          0x007Fu
/* Faults that latch the motor off until CLEAR_FAULT (section 8). */
#define PEN_FAULT_LATCHED                                                                          \
    (PEN_FAULT_STALL | PEN_FAULT_OVERCURRENT | PEN_FAULT_BATTERY_CUTOFF | PEN_FAULT_OVERTEMP |     \
     PEN_FAULT_WATCHDOG)
/* Raised by what the host did (stopped feeding the watchdog), not by the
 * pen: a host may clear it without blaming the pen. */
#define PEN_FAULT_HOST_CAUSED PEN_FAULT_WATCHDOG

/* NAK error codes. */
enum pen_error {
    PEN_ERR_UNKNOWN_TYPE = 0x01, /* type not supported */
    PEN_ERR_BAD_LENGTH = 0x02,   /* payload length wrong for type */
    PEN_ERR_OUT_OF_RANGE = 0x03, /* a field outside its range */
    PEN_ERR_BAD_STATE = 0x04,    /* not allowed in current state */
    PEN_ERR_FAULT_ACTIVE = 0x05, /* a fault latches the motor off */
    PEN_ERR_NO_CARTRIDGE = 0x06, /* start without cartridge */
    PEN_ERR_VERSION = 0x07,      /* protocol version not supported */
    PEN_ERR_BUSY = 0x08,         /* try again later */
};

/* Field ranges. */
#define PEN_RATE_MIN_MHZ  50000u  /* 50.000 Hz */
#define PEN_RATE_MAX_MHZ  150000u /* 150.000 Hz */
/* The pen's drive makes rates in these steps; SET_RATE applies the nearest
 * (PEN.md 5.2). Both range ends are steps. */
#define PEN_RATE_STEP_MHZ 100u  /* 0.1 Hz */
#define PEN_DEPTH_MAX_UM  3000u /* 0..3.000 mm */
#define PEN_STR_LEN       16    /* fixed ASCII fields, NUL padded */

/* Payloads. Strings are printable ASCII, NUL padded, not necessarily
 * NUL terminated on the wire; decoded copies are always terminated. */
struct pen_identity { /* IDENTIFY response, 60 bytes */
    char model[PEN_STR_LEN + 1];
    char serial[PEN_STR_LEN + 1];
    uint8_t hw_revision; /* 0..255 */
    uint8_t fw_major, fw_minor, fw_patch;
    char cartridge_id[PEN_STR_LEN + 1];  /* "" when no cartridge */
    uint8_t needle_count;                /* 0 when no cartridge, else 1..64 */
    uint8_t protocol_version;            /* == PEN_PROTOCOL_VERSION */
    uint16_t depth_step_um;              /* depth resolution, e.g. 250 or 100 */
    uint16_t depth_min_um, depth_max_um; /* settable depth range */
};

struct pen_status {             /* GET_STATUS response, 28 bytes */
    uint8_t state;              /* enum pen_state */
    uint32_t set_rate_mhz;      /* setpoint, mHz */
    uint32_t measured_rate_mhz; /* tachometer, mHz, 0 when stopped */
    uint16_t set_depth_um;
    uint16_t motor_current_ma; /* 0..5000 */
    uint16_t supply_mv;        /* 0..6000 */
    int16_t temperature_cdeg;  /* 0.01 degC, -4000..12500 */
    uint32_t faults;           /* PEN_FAULT_* */
    uint32_t uptime_ms;
    uint16_t watchdog_ms; /* heartbeat timeout the pen applies */
    uint8_t reserved;     /* 0 */
};

struct pen_evt_state {       /* EVT_STATE payload, 3 bytes */
    uint8_t state, previous; /* enum pen_state */
    uint8_t reason;          /* enum pen_state_reason */
};

enum pen_state_reason {
    PEN_REASON_COMMAND = 0, /* START/STOP request */
    PEN_REASON_AT_RATE = 1, /* spin-up reached rate */
    PEN_REASON_STOPPED = 2, /* rotor came to rest */
    PEN_REASON_FAULT = 3,
    PEN_REASON_WATCHDOG = 4,
    PEN_REASON_FAULT_CLEARED = 5,
};

struct pen_evt_fault { /* EVT_FAULT payload, 8 bytes */
    uint32_t faults;   /* all active faults */
    uint16_t motor_current_ma;
    uint16_t supply_mv;
};

struct pen_nak { /* NAK payload, 2 bytes */
    uint8_t request_type;
    uint8_t error; /* enum pen_error */
};

/* A decoded message. Only the union member matching type (and direction)
 * is meaningful. Requests SET_RATE / SET_DEPTH carry their value in
 * rate_mhz / depth_um; their responses echo the value actually applied. */
struct pen_msg {
    uint8_t version;
    uint8_t type; /* enum pen_msg_type */
    uint8_t flags;
    uint16_t seq;
    union {
        struct pen_identity identity;
        struct pen_status status;
        struct pen_evt_state evt_state;
        struct pen_evt_fault evt_fault;
        struct pen_nak nak;
        uint32_t rate_mhz;
        uint16_t depth_um;
    } u;
};

/* Result codes of decoding (negative) */
enum pen_result {
    PEN_OK = 0,
    PEN_NEED_MORE = 1,   /* pen_rx_next: input consumed, no frame */
    PEN_E_COBS = -1,     /* frame is not valid COBS */
    PEN_E_SHORT = -2,    /* shorter than header + CRC */
    PEN_E_CRC = -3,      /* CRC mismatch */
    PEN_E_OVERSIZE = -4, /* frame longer than PEN_MAX_FRAME */
    PEN_E_VERSION = -5,  /* unsupported protocol version */
    PEN_E_UNKNOWN_TYPE = -6,
    PEN_E_LENGTH = -7, /* header len disagrees with body, or wrong
                                   payload length for the type/direction */
    PEN_E_RANGE = -8,  /* field outside its range / bad enum */
    PEN_E_FLAGS = -9,  /* unknown flag bits, both set, or a type
                                   in a direction it does not exist in */
    PEN_E_ARG = -10,   /* encoder: bad argument or buffer too small */
};

const char *pen_result_str(int result);
const char *pen_msg_type_str(uint8_t type);
const char *pen_state_str(uint8_t state);
const char *pen_error_str(uint8_t error);
/* "STALL" ... "WATCHDOG" for one fault bit, "?" for others. */
const char *pen_fault_str(uint32_t bit);
/* The names of every bit set, "STALL+WATCHDOG", or "none"; truncated to
 * len. Returns buf. */
char *pen_fault_names(uint32_t faults, char *buf, size_t len);

/* Payload size for a type in a direction (response = PEN_F_RESPONSE set,
 * event = PEN_F_EVENT set, request otherwise); -1 if no such message. */
int pen_payload_size(uint8_t type, uint8_t flags);

/* Encode msg (type, flags, seq and the payload for that type/direction;
 * version is always PEN_PROTOCOL_VERSION) into a complete wire frame,
 * delimiter included. Validates ranges the same way the decoder does.
 * Returns frame length (> 0) or PEN_E_* (< 0). */
int pen_encode(const struct pen_msg *msg, uint8_t *frame, size_t cap);

/* Decode one body (COBS already removed, no delimiter). On errors found
 * after the CRC check (VERSION, FLAGS, UNKNOWN_TYPE, LENGTH, RANGE),
 * out->version, type, flags and seq still hold the frame's header so a pen
 * can NAK it with the right seq; pen_rx_next reports them the same way. */
int pen_decode_body(const uint8_t *body, size_t len, struct pen_msg *out);

/* Streaming receiver: accepts bytes in chunks of any size, returns frames.
 * Holds at most one partial frame; never allocates. */
struct pen_rx_stats {
    uint64_t bytes;
    uint64_t frames_ok;
    uint64_t crc_errors;
    uint64_t oversize;
    uint64_t unknown_type;
    uint64_t malformed; /* COBS, short, length, range, flags, version */
    uint64_t empty;     /* 0x00 0x00: empty frames (ignored) */
};

struct pen_rx {
    uint8_t buf[PEN_MAX_FRAME];
    size_t len;
    bool discarding; /* oversize: dropping until next 0x00 */
    struct pen_rx_stats stats;
};

void pen_rx_init(struct pen_rx *rx);

/* Consume bytes from *data (advancing *data and *len) until one frame ends.
 * Returns PEN_OK with *out filled; a negative PEN_E_* for a bad frame (which
 * has been dropped and counted; call again to continue with the next one);
 * or PEN_NEED_MORE when all input is consumed without a complete frame.
 * Bytes before the first 0x00 after init are treated as a (possibly partial)
 * frame and so give an error, not a crash: the sender should start with 0x00. */
int pen_rx_next(struct pen_rx *rx, const uint8_t **data, size_t *len, struct pen_msg *out);

#endif
