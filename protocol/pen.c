/* Pen service-port protocol v1 codec (normative spec: PEN.md). */
#include "protocol/pen.h"

#include <stdio.h>
#include <string.h>

#include "protocol/cobs.h"
#include "protocol/crc.h"
#include "protocol/wire.h"

/* Largest COBS-encoded body, i.e. the most bytes a frame may hold between
 * two 0x00 delimiters. */
#define PEN_MAX_ENCODED_BODY COBS_MAX_ENCODED(PEN_MAX_BODY)

/* Sanity ranges beyond those named in pen.h (documented in PEN.md). */
#define PEN_MEASURED_RATE_MAX_MHZ (2u * PEN_RATE_MAX_MHZ)
#define PEN_CURRENT_MAX_MA        5000u
#define PEN_SUPPLY_MAX_MV         6000u
#define PEN_TEMP_MIN_CDEG         (-4000)
#define PEN_TEMP_MAX_CDEG         12500
#define PEN_WATCHDOG_MIN_MS       1u
#define PEN_WATCHDOG_MAX_MS       60000u
#define PEN_NEEDLES_MAX           64u

#define PEN_IDENTITY_SIZE  60
#define PEN_STATUS_SIZE    28
#define PEN_EVT_STATE_SIZE 3
#define PEN_EVT_FAULT_SIZE 8
#define PEN_NAK_SIZE       2

const char *pen_result_str(int result)
{
    switch (result) {
    case PEN_OK:
        return "ok";
    case PEN_NEED_MORE:
        return "need more input";
    case PEN_E_COBS:
        return "frame is not valid COBS";
    case PEN_E_SHORT:
        return "frame shorter than header and CRC";
    case PEN_E_CRC:
        return "CRC mismatch";
    case PEN_E_OVERSIZE:
        return "frame longer than the maximum";
    case PEN_E_VERSION:
        return "unsupported protocol version";
    case PEN_E_UNKNOWN_TYPE:
        return "unknown message type";
    case PEN_E_LENGTH:
        return "wrong payload length";
    case PEN_E_RANGE:
        return "field out of range";
    case PEN_E_FLAGS:
        return "invalid flags";
    case PEN_E_ARG:
        return "bad argument or buffer too small";
    default:
        return "unknown result";
    }
}

const char *pen_msg_type_str(uint8_t type)
{
    switch (type) {
    case PEN_MSG_IDENTIFY:
        return "IDENTIFY";
    case PEN_MSG_SET_RATE:
        return "SET_RATE";
    case PEN_MSG_SET_DEPTH:
        return "SET_DEPTH";
    case PEN_MSG_START:
        return "START";
    case PEN_MSG_STOP:
        return "STOP";
    case PEN_MSG_GET_STATUS:
        return "GET_STATUS";
    case PEN_MSG_HEARTBEAT:
        return "HEARTBEAT";
    case PEN_MSG_CLEAR_FAULT:
        return "CLEAR_FAULT";
    case PEN_MSG_EVT_STATE:
        return "EVT_STATE";
    case PEN_MSG_EVT_FAULT:
        return "EVT_FAULT";
    case PEN_MSG_NAK:
        return "NAK";
    default:
        return "UNKNOWN";
    }
}

const char *pen_state_str(uint8_t state)
{
    switch (state) {
    case PEN_STATE_IDLE:
        return "idle";
    case PEN_STATE_SPINUP:
        return "spinup";
    case PEN_STATE_RUNNING:
        return "running";
    case PEN_STATE_STOPPING:
        return "stopping";
    case PEN_STATE_FAULT:
        return "fault";
    default:
        return "unknown";
    }
}

const char *pen_fault_str(uint32_t bit)
{
    switch (bit) {
    case PEN_FAULT_STALL:
        return "STALL";
    case PEN_FAULT_OVERCURRENT:
        return "OVERCURRENT";
    case PEN_FAULT_LOW_BATTERY:
        return "LOW_BATTERY";
    case PEN_FAULT_BATTERY_CUTOFF:
        return "BATTERY_CUTOFF";
    case PEN_FAULT_OVERTEMP:
        return "OVERTEMP";
    case PEN_FAULT_NO_CARTRIDGE:
        return "NO_CARTRIDGE";
    case PEN_FAULT_WATCHDOG:
        return "WATCHDOG";
    default:
        return "?";
    }
}

char *pen_fault_names(uint32_t faults, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';
    size_t n = 0;
    for (uint32_t bit = 1; bit && n < len; bit <<= 1) {
        if (!(faults & bit))
            continue;
        int w = snprintf(buf + n, len - n, "%s%s", n ? "+" : "", pen_fault_str(bit));
        if (w < 0)
            break;
        n += (size_t)w;
    }
    if (!faults)
        snprintf(buf, len, "none");
    return buf;
}

const char *pen_error_str(uint8_t error)
{
    switch (error) {
    case PEN_ERR_UNKNOWN_TYPE:
        return "unknown message type";
    case PEN_ERR_BAD_LENGTH:
        return "bad payload length";
    case PEN_ERR_OUT_OF_RANGE:
        return "value out of range";
    case PEN_ERR_BAD_STATE:
        return "not allowed in current state";
    case PEN_ERR_FAULT_ACTIVE:
        return "fault active";
    case PEN_ERR_NO_CARTRIDGE:
        return "no cartridge";
    case PEN_ERR_VERSION:
        return "protocol version not supported";
    case PEN_ERR_BUSY:
        return "busy";
    default:
        return "unknown error";
    }
}

static bool type_known(uint8_t type)
{
    return (type >= PEN_MSG_IDENTIFY && type <= PEN_MSG_CLEAR_FAULT) || type == PEN_MSG_EVT_STATE ||
           type == PEN_MSG_EVT_FAULT || type == PEN_MSG_NAK;
}

int pen_payload_size(uint8_t type, uint8_t flags)
{
    if ((flags & ~PEN_F_KNOWN) != 0 || flags == PEN_F_KNOWN)
        return -1;
    bool response = (flags & PEN_F_RESPONSE) != 0;
    bool event = (flags & PEN_F_EVENT) != 0;
    switch (type) {
    case PEN_MSG_IDENTIFY:
        return event ? -1 : response ? PEN_IDENTITY_SIZE : 0;
    case PEN_MSG_SET_RATE:
        return event ? -1 : 4;
    case PEN_MSG_SET_DEPTH:
        return event ? -1 : 2;
    case PEN_MSG_START:
    case PEN_MSG_STOP:
    case PEN_MSG_HEARTBEAT:
    case PEN_MSG_CLEAR_FAULT:
        return event ? -1 : 0;
    case PEN_MSG_GET_STATUS:
        return event ? -1 : response ? PEN_STATUS_SIZE : 0;
    case PEN_MSG_EVT_STATE:
        return event ? PEN_EVT_STATE_SIZE : -1;
    case PEN_MSG_EVT_FAULT:
        return event ? PEN_EVT_FAULT_SIZE : -1;
    case PEN_MSG_NAK:
        return response ? PEN_NAK_SIZE : -1;
    default:
        return -1;
    }
}

/* ---- field validation, shared by encoder and decoder ---- */

static bool rate_valid(uint32_t mhz)
{
    return mhz >= PEN_RATE_MIN_MHZ && mhz <= PEN_RATE_MAX_MHZ;
}

static bool identity_valid(const struct pen_identity *id)
{
    if (!str_field_valid(id->model, PEN_STR_LEN) || id->model[0] == 0 ||
        !str_field_valid(id->serial, PEN_STR_LEN) || id->serial[0] == 0 ||
        !str_field_valid(id->cartridge_id, PEN_STR_LEN))
        return false;
    /* No cartridge <=> no needles. */
    bool cartridge = id->cartridge_id[0] != 0;
    if (cartridge ? (id->needle_count < 1 || id->needle_count > PEN_NEEDLES_MAX)
                  : id->needle_count != 0)
        return false;
    if (id->protocol_version != PEN_PROTOCOL_VERSION)
        return false;
    return id->depth_step_um >= 1 && id->depth_step_um <= PEN_DEPTH_MAX_UM &&
           id->depth_min_um <= id->depth_max_um && id->depth_max_um <= PEN_DEPTH_MAX_UM;
}

static bool status_valid(const struct pen_status *s)
{
    return s->state < PEN_STATE_COUNT_ && (s->set_rate_mhz == 0 || rate_valid(s->set_rate_mhz)) &&
           s->measured_rate_mhz <= PEN_MEASURED_RATE_MAX_MHZ &&
           s->set_depth_um <= PEN_DEPTH_MAX_UM && s->motor_current_ma <= PEN_CURRENT_MAX_MA &&
           s->supply_mv <= PEN_SUPPLY_MAX_MV && s->temperature_cdeg >= PEN_TEMP_MIN_CDEG &&
           s->temperature_cdeg <= PEN_TEMP_MAX_CDEG &&
           (s->faults & ~(uint32_t)PEN_FAULT_KNOWN) == 0 && s->watchdog_ms >= PEN_WATCHDOG_MIN_MS &&
           s->watchdog_ms <= PEN_WATCHDOG_MAX_MS && s->reserved == 0;
}

static bool evt_state_valid(const struct pen_evt_state *e)
{
    return e->state < PEN_STATE_COUNT_ && e->previous < PEN_STATE_COUNT_ &&
           e->reason <= PEN_REASON_FAULT_CLEARED;
}

static bool evt_fault_valid(const struct pen_evt_fault *e)
{
    return (e->faults & ~(uint32_t)PEN_FAULT_KNOWN) == 0 &&
           e->motor_current_ma <= PEN_CURRENT_MAX_MA && e->supply_mv <= PEN_SUPPLY_MAX_MV;
}

static bool nak_valid(const struct pen_nak *n)
{
    /* request_type may be any byte: a NAK for an unknown type echoes it. */
    return n->error >= PEN_ERR_UNKNOWN_TYPE && n->error <= PEN_ERR_BUSY;
}

/* Checks the payload fields of msg for its type/direction. */
static bool payload_valid(const struct pen_msg *m)
{
    bool response = (m->flags & PEN_F_RESPONSE) != 0;
    switch (m->type) {
    case PEN_MSG_IDENTIFY:
        return !response || identity_valid(&m->u.identity);
    case PEN_MSG_SET_RATE:
        return rate_valid(m->u.rate_mhz);
    case PEN_MSG_SET_DEPTH:
        return m->u.depth_um <= PEN_DEPTH_MAX_UM;
    case PEN_MSG_GET_STATUS:
        return !response || status_valid(&m->u.status);
    case PEN_MSG_EVT_STATE:
        return evt_state_valid(&m->u.evt_state);
    case PEN_MSG_EVT_FAULT:
        return evt_fault_valid(&m->u.evt_fault);
    case PEN_MSG_NAK:
        return nak_valid(&m->u.nak);
    default:
        return true; /* empty payloads */
    }
}

/* ---- payload layouts (offsets are normative, see PEN.md) ---- */

static void identity_put(uint8_t *p, const struct pen_identity *id)
{
    str_field_encode(p + 0, PEN_STR_LEN, id->model);
    str_field_encode(p + 16, PEN_STR_LEN, id->serial);
    p[32] = id->hw_revision;
    p[33] = id->fw_major;
    p[34] = id->fw_minor;
    p[35] = id->fw_patch;
    str_field_encode(p + 36, PEN_STR_LEN, id->cartridge_id);
    p[52] = id->needle_count;
    p[53] = id->protocol_version;
    put_u16(p + 54, id->depth_step_um);
    put_u16(p + 56, id->depth_min_um);
    put_u16(p + 58, id->depth_max_um);
}

static bool identity_get(const uint8_t *p, struct pen_identity *id)
{
    if (!str_field_decode(p + 0, PEN_STR_LEN, id->model) ||
        !str_field_decode(p + 16, PEN_STR_LEN, id->serial) ||
        !str_field_decode(p + 36, PEN_STR_LEN, id->cartridge_id))
        return false;
    id->hw_revision = p[32];
    id->fw_major = p[33];
    id->fw_minor = p[34];
    id->fw_patch = p[35];
    id->needle_count = p[52];
    id->protocol_version = p[53];
    id->depth_step_um = get_u16(p + 54);
    id->depth_min_um = get_u16(p + 56);
    id->depth_max_um = get_u16(p + 58);
    return true;
}

static void status_put(uint8_t *p, const struct pen_status *s)
{
    p[0] = s->state;
    put_u32(p + 1, s->set_rate_mhz);
    put_u32(p + 5, s->measured_rate_mhz);
    put_u16(p + 9, s->set_depth_um);
    put_u16(p + 11, s->motor_current_ma);
    put_u16(p + 13, s->supply_mv);
    put_u16(p + 15, (uint16_t)s->temperature_cdeg);
    put_u32(p + 17, s->faults);
    put_u32(p + 21, s->uptime_ms);
    put_u16(p + 25, s->watchdog_ms);
    p[27] = s->reserved;
}

static void status_get(const uint8_t *p, struct pen_status *s)
{
    s->state = p[0];
    s->set_rate_mhz = get_u32(p + 1);
    s->measured_rate_mhz = get_u32(p + 5);
    s->set_depth_um = get_u16(p + 9);
    s->motor_current_ma = get_u16(p + 11);
    s->supply_mv = get_u16(p + 13);
    s->temperature_cdeg = u16_to_i16(get_u16(p + 15));
    s->faults = get_u32(p + 17);
    s->uptime_ms = get_u32(p + 21);
    s->watchdog_ms = get_u16(p + 25);
    s->reserved = p[27];
}

static void payload_put(uint8_t *p, const struct pen_msg *m)
{
    switch (m->type) {
    case PEN_MSG_IDENTIFY:
        if (m->flags & PEN_F_RESPONSE)
            identity_put(p, &m->u.identity);
        break;
    case PEN_MSG_SET_RATE:
        put_u32(p, m->u.rate_mhz);
        break;
    case PEN_MSG_SET_DEPTH:
        put_u16(p, m->u.depth_um);
        break;
    case PEN_MSG_GET_STATUS:
        if (m->flags & PEN_F_RESPONSE)
            status_put(p, &m->u.status);
        break;
    case PEN_MSG_EVT_STATE:
        p[0] = m->u.evt_state.state;
        p[1] = m->u.evt_state.previous;
        p[2] = m->u.evt_state.reason;
        break;
    case PEN_MSG_EVT_FAULT:
        put_u32(p, m->u.evt_fault.faults);
        put_u16(p + 4, m->u.evt_fault.motor_current_ma);
        put_u16(p + 6, m->u.evt_fault.supply_mv);
        break;
    case PEN_MSG_NAK:
        p[0] = m->u.nak.request_type;
        p[1] = m->u.nak.error;
        break;
    default:
        break;
    }
}

/* Returns false only when a string field breaks the printable/NUL rule. */
static bool payload_get(const uint8_t *p, struct pen_msg *m)
{
    switch (m->type) {
    case PEN_MSG_IDENTIFY:
        if (m->flags & PEN_F_RESPONSE)
            return identity_get(p, &m->u.identity);
        return true;
    case PEN_MSG_SET_RATE:
        m->u.rate_mhz = get_u32(p);
        return true;
    case PEN_MSG_SET_DEPTH:
        m->u.depth_um = get_u16(p);
        return true;
    case PEN_MSG_GET_STATUS:
        if (m->flags & PEN_F_RESPONSE)
            status_get(p, &m->u.status);
        return true;
    case PEN_MSG_EVT_STATE:
        m->u.evt_state.state = p[0];
        m->u.evt_state.previous = p[1];
        m->u.evt_state.reason = p[2];
        return true;
    case PEN_MSG_EVT_FAULT:
        m->u.evt_fault.faults = get_u32(p);
        m->u.evt_fault.motor_current_ma = get_u16(p + 4);
        m->u.evt_fault.supply_mv = get_u16(p + 6);
        return true;
    case PEN_MSG_NAK:
        m->u.nak.request_type = p[0];
        m->u.nak.error = p[1];
        return true;
    default:
        return true;
    }
}

/* Header checks common to encoder and decoder. Returns the payload size
 * (>= 0) or a PEN_E_* code. */
static int header_check(uint8_t type, uint8_t flags)
{
    if ((flags & ~PEN_F_KNOWN) != 0 || flags == PEN_F_KNOWN)
        return PEN_E_FLAGS;
    if (!type_known(type))
        return PEN_E_UNKNOWN_TYPE;
    int size = pen_payload_size(type, flags);
    /* Known type in a direction it does not exist in (e.g. a request
     * carrying PEN_F_EVENT, or a NAK without PEN_F_RESPONSE). */
    return size < 0 ? PEN_E_FLAGS : size;
}

int pen_encode(const struct pen_msg *msg, uint8_t *frame, size_t cap)
{
    if (msg == NULL || frame == NULL)
        return PEN_E_ARG;
    int size = header_check(msg->type, msg->flags);
    if (size < 0)
        return size;
    if (!payload_valid(msg))
        return PEN_E_RANGE;

    uint8_t body[PEN_MAX_BODY];
    body[0] = PEN_PROTOCOL_VERSION;
    body[1] = msg->type;
    body[2] = msg->flags;
    body[3] = (uint8_t)size;
    put_u16(body + 4, msg->seq);
    payload_put(body + PEN_HEADER_SIZE, msg);
    size_t body_len = PEN_HEADER_SIZE + (size_t)size;
    put_u16(body + body_len, crc16_ccitt(CRC16_INIT, body, body_len));
    body_len += PEN_CRC_SIZE;

    if (cap < 1)
        return PEN_E_ARG;
    size_t n = cobs_encode(body, body_len, frame, cap - 1);
    if (n == 0)
        return PEN_E_ARG;
    frame[n] = 0x00;
    return (int)(n + 1);
}

int pen_decode_body(const uint8_t *body, size_t len, struct pen_msg *out)
{
    if (body == NULL || out == NULL)
        return PEN_E_ARG;
    memset(out, 0, sizeof *out);
    if (len < PEN_HEADER_SIZE + PEN_CRC_SIZE)
        return PEN_E_SHORT;
    if (len > PEN_MAX_BODY)
        return PEN_E_OVERSIZE;
    size_t covered = len - PEN_CRC_SIZE;
    if (crc16_ccitt(CRC16_INIT, body, covered) != get_u16(body + covered))
        return PEN_E_CRC;

    /* From here on the header is trustworthy: fill it in even on error so
     * a pen can NAK the request with the same type and seq. */
    out->version = body[0];
    out->type = body[1];
    out->flags = body[2];
    out->seq = get_u16(body + 4);
    if (out->version != PEN_PROTOCOL_VERSION)
        return PEN_E_VERSION;
    int size = header_check(out->type, out->flags);
    if (size < 0)
        return size;
    size_t payload_len = covered - PEN_HEADER_SIZE;
    if (body[3] != payload_len || payload_len != (size_t)size)
        return PEN_E_LENGTH;
    if (!payload_get(body + PEN_HEADER_SIZE, out) || !payload_valid(out))
        return PEN_E_RANGE;
    return PEN_OK;
}

/* ---- streaming receiver ---- */

void pen_rx_init(struct pen_rx *rx)
{
    memset(rx, 0, sizeof *rx);
}

static void count_result(struct pen_rx_stats *st, int r)
{
    switch (r) {
    case PEN_OK:
        st->frames_ok++;
        break;
    case PEN_E_CRC:
        st->crc_errors++;
        break;
    case PEN_E_OVERSIZE:
        st->oversize++;
        break;
    case PEN_E_UNKNOWN_TYPE:
        st->unknown_type++;
        break;
    default:
        st->malformed++;
        break;
    }
}

/* A delimiter ended the bytes held in rx->buf: decode them as one frame. */
static int rx_finish_frame(struct pen_rx *rx, struct pen_msg *out)
{
    long n = cobs_decode(rx->buf, rx->len, rx->buf, sizeof rx->buf);
    rx->len = 0;
    int r;
    if (n < 0) {
        memset(out, 0, sizeof *out);
        r = PEN_E_COBS;
    } else {
        r = pen_decode_body(rx->buf, (size_t)n, out);
    }
    count_result(&rx->stats, r);
    return r;
}

int pen_rx_next(struct pen_rx *rx, const uint8_t **data, size_t *len, struct pen_msg *out)
{
    if (rx == NULL || data == NULL || len == NULL || out == NULL || (*data == NULL && *len > 0))
        return PEN_E_ARG;
    while (*len > 0) {
        const uint8_t *p = *data;
        const uint8_t *zero = memchr(p, 0, *len);
        size_t run = zero ? (size_t)(zero - p) : *len; /* non-zero bytes */
        size_t used = zero ? run + 1 : run;
        *data += used;
        *len -= used;
        rx->stats.bytes += used;

        if (!rx->discarding) {
            if (run > PEN_MAX_ENCODED_BODY - rx->len) {
                /* Too long to be a frame: drop it and everything up to the
                 * next delimiter (which may be in this very chunk). */
                rx->len = 0;
                rx->discarding = zero == NULL;
                rx->stats.oversize++;
                return PEN_E_OVERSIZE;
            }
            memcpy(rx->buf + rx->len, p, run);
            rx->len += run;
        }
        if (zero == NULL)
            break;
        /* A delimiter. */
        if (rx->discarding) {
            rx->discarding = false;
            continue;
        }
        if (rx->len == 0) {
            rx->stats.empty++;
            continue;
        }
        return rx_finish_frame(rx, out);
    }
    return PEN_NEED_MORE;
}
