/* MNP pen over libserialport (see protocol.h). */
#include "dev/mnp-pen/protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <libserialport.h>

#define TX_BUF 4096

struct pen_slot {
    bool used;
    bool heartbeat;
    uint8_t type;
    uint16_t seq;
    uint8_t frame[PEN_MAX_FRAME];
    int frame_len;
    int tries; /* times sent */
    int max_tries;
    uint64_t deadline;
    pen_done_fn done;
    void *user;
};

struct pen_drv {
    struct dev dev;
    struct station_match match;
    struct rig_callbacks cb;
    void *user;

    struct sp_port *port;
    int fd;
    char port_name[128];
    bool identified;
    struct pen_identity identity;
    /* The motor as the pen last reported it (EVT_STATE, EVT_FAULT,
     * GET_STATUS); unknown right after a START/STOP/CLEAR_FAULT answer
     * until the state event or a status says where it went. */
    bool motor_known;
    uint8_t motor_state;
    uint32_t faults;
    uint64_t next_rescan;
    bool missing_logged;

    struct pen_rx rx;
    uint8_t tx[TX_BUF];
    size_t tx_len;

    uint16_t next_seq;
    struct pen_slot slots[PEN_DRV_MAX_INFLIGHT];

    bool heartbeat;
    uint64_t next_heartbeat;

    struct pen_link_stats st;
};

static const struct dev_ops pen_dev_ops;

static void detach(struct pen_drv *p, const char *reason);

static const char *sp_errmsg(void)
{
    char *m = sp_last_error_message();
    static char buf[160];
    snprintf(buf, sizeof buf, "%s", m ? m : "unknown error");
    if (m)
        sp_free_error_message(m);
    /* libserialport messages end in newline sometimes. */
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return buf;
}

/* ---- transmit ---- */

static int flush_tx(struct pen_drv *p)
{
    while (p->tx_len) {
        int n = sp_nonblocking_write(p->port, p->tx, p->tx_len);
        if (n < 0) {
            char why[200];
            snprintf(why, sizeof why, "write failed: %s", sp_errmsg());
            detach(p, why);
            return -EIO;
        }
        if (n == 0)
            return 0; /* kernel buffer full: wait for POLLOUT */
        memmove(p->tx, p->tx + n, p->tx_len - (size_t)n);
        p->tx_len -= (size_t)n;
    }
    return 0;
}

static int queue_frame(struct pen_drv *p, const uint8_t *frame, size_t len)
{
    if (!p->port)
        return -ENODEV;
    if (p->tx_len + len > sizeof p->tx)
        return -ENOBUFS;
    memcpy(p->tx + p->tx_len, frame, len);
    p->tx_len += len;
    p->st.tx_frames++;
    return flush_tx(p);
}

/* ---- request slots ---- */

static void complete(struct pen_drv *p, struct pen_slot *s, int status, const struct pen_msg *resp)
{
    pen_done_fn done = s->done;
    void *user = s->user;
    s->used = false;
    s->done = NULL;
    if (done)
        done(user, status, resp);
    (void)p;
}

static void fail_all(struct pen_drv *p, int status)
{
    for (int i = 0; i < PEN_DRV_MAX_INFLIGHT; i++)
        if (p->slots[i].used)
            complete(p, &p->slots[i], status, NULL);
}

static int send_slot(struct pen_drv *p, struct pen_slot *s)
{
    s->tries++;
    s->deadline = dev_now_us() + PEN_RESPONSE_TIMEOUT_MS * 1000u;
    dev_log(&p->dev, LOG_DEBUG, "pen: -> %s seq=%u%s", pen_msg_type_str(s->type), s->seq,
            s->tries > 1 ? " (resend)" : "");
    return queue_frame(p, s->frame, (size_t)s->frame_len);
}

static int start_request(struct pen_drv *p, uint8_t type, const struct pen_msg *req, bool heartbeat,
                         pen_done_fn done, void *user)
{
    if (!p->port)
        return -ENODEV;
    struct pen_slot *s = NULL;
    for (int i = 0; i < PEN_DRV_MAX_INFLIGHT && !s; i++)
        if (!p->slots[i].used)
            s = &p->slots[i];
    if (!s)
        return -EAGAIN;
    struct pen_msg m;
    if (req)
        m = *req;
    else
        memset(&m, 0, sizeof m);
    m.type = type;
    m.flags = 0;
    m.seq = p->next_seq++;
    int n = pen_encode(&m, s->frame, sizeof s->frame);
    if (n < 0) {
        dev_log(&p->dev, LOG_WARNING, "pen: cannot encode %s: %s", pen_msg_type_str(type),
                pen_result_str(n));
        return -EINVAL;
    }
    s->used = true;
    s->heartbeat = heartbeat;
    s->type = type;
    s->seq = m.seq;
    s->frame_len = n;
    s->tries = 0;
    /* A lost heartbeat is not resent: the next one supersedes it. */
    s->max_tries = heartbeat ? 1 : 1 + PEN_MAX_RETRIES;
    s->done = done;
    s->user = user;
    if (heartbeat)
        p->st.heartbeats++;
    else
        p->st.requests++;
    int rc = send_slot(p, s);
    if (rc < 0 && s->used) {
        s->used = false;
        return rc;
    }
    return 0;
}

int pen_drv_request(struct pen_drv *p, uint8_t type, const struct pen_msg *req, pen_done_fn done,
                    void *user)
{
    if (type == PEN_MSG_HEARTBEAT || pen_payload_size(type, 0) < 0)
        return -EINVAL;
    return start_request(p, type, req, false, done, user);
}

int pen_drv_stop_now(struct pen_drv *p)
{
    if (!p->port)
        return -ENODEV;
    struct pen_msg m = { .type = PEN_MSG_STOP, .seq = p->next_seq++ };
    uint8_t frame[1 + PEN_MAX_FRAME];
    /* A delimiter first: the queue may hold the tail of a frame the kernel
     * took only half of; without it STOP would be glued to that half frame
     * and dropped by the pen as corrupt. */
    frame[0] = 0;
    int n = pen_encode(&m, frame + 1, sizeof frame - 1);
    if (n < 0)
        return -EINVAL;
    n++;
    /* Bypass the queue: whatever is queued may be stale, STOP matters. */
    int w = sp_blocking_write(p->port, frame, (size_t)n, 50);
    return w == n ? 0 : -EIO;
}

/* ---- receive ---- */

/* What an answer says about the motor (before its requester sees it). */
static void track_answer(struct pen_drv *p, const struct pen_msg *m)
{
    switch (m->type) {
    case PEN_MSG_GET_STATUS:
        p->motor_state = m->u.status.state;
        p->faults = m->u.status.faults;
        p->motor_known = true;
        break;
    case PEN_MSG_CLEAR_FAULT:
        /* Answered (not NAKed): every latched fault is gone (PEN.md 5.7). */
        p->faults &= ~PEN_FAULT_LATCHED;
        p->motor_known = false;
        break;
    case PEN_MSG_START:
    case PEN_MSG_STOP:
        p->motor_known = false; /* the state event follows */
        break;
    default:
        break;
    }
}

static void handle_msg(struct pen_drv *p, const struct pen_msg *m)
{
    p->st.rx_frames++;
    if (m->flags & PEN_F_EVENT) {
        p->st.events++;
        if (m->type == PEN_MSG_EVT_STATE) {
            p->motor_state = m->u.evt_state.state;
            p->motor_known = true;
        } else if (m->type == PEN_MSG_EVT_FAULT) {
            p->faults = m->u.evt_fault.faults;
        }
        dev_log(&p->dev, LOG_DEBUG, "pen: <- event %s seq=%u", pen_msg_type_str(m->type), m->seq);
        if (p->cb.on_pen_event)
            p->cb.on_pen_event(p->user, m);
        return;
    }
    struct pen_slot *s = NULL;
    for (int i = 0; i < PEN_DRV_MAX_INFLIGHT && !s; i++)
        if (p->slots[i].used && p->slots[i].seq == m->seq)
            s = &p->slots[i];
    if (!s) {
        /* Late answer to a request already resent and answered, or timed out. */
        p->st.unmatched++;
        dev_log(&p->dev, LOG_DEBUG, "pen: <- %s seq=%u matches no pending request",
                pen_msg_type_str(m->type), m->seq);
        return;
    }
    dev_log(&p->dev, LOG_DEBUG, "pen: <- %s seq=%u", pen_msg_type_str(m->type), m->seq);
    if (!s->heartbeat)
        p->st.responses++;
    if (m->type == PEN_MSG_NAK) {
        p->st.naks++;
        dev_log(&p->dev, LOG_DEBUG, "pen: %s refused: %s", pen_msg_type_str(s->type),
                pen_error_str(m->u.nak.error));
        complete(p, s, PEN_DRV_NAK, m);
    } else if (m->type != s->type) {
        complete(p, s, -EPROTO, m);
    } else {
        track_answer(p, m);
        complete(p, s, 0, m);
    }
}

static void read_port(struct pen_drv *p)
{
    uint8_t buf[1024];
    for (;;) {
        int n = sp_nonblocking_read(p->port, buf, sizeof buf);
        if (n < 0) {
            char why[200];
            snprintf(why, sizeof why, "read failed: %s", sp_errmsg());
            detach(p, why);
            return;
        }
        if (n == 0)
            return;
        const uint8_t *data = buf;
        size_t len = (size_t)n;
        while (len && p->port) {
            struct pen_msg m;
            int r = pen_rx_next(&p->rx, &data, &len, &m);
            if (r == PEN_OK)
                handle_msg(p, &m);
            else if (r < 0)
                dev_log(&p->dev, LOG_DEBUG, "pen: bad frame dropped: %s", pen_result_str(r));
        }
        if (!p->port || (size_t)n < sizeof buf)
            return;
    }
}

/* ---- identity at attach ---- */

/* The second answer at attach: the motor's state and latched faults (a
 * pen whose previous host died may be in FAULT). The pen is reported
 * present either way; without a status its state stays unknown. */
static void attach_status_done(void *user, int status, const struct pen_msg *resp)
{
    struct pen_drv *p = user;
    (void)resp;
    if (status == -ENODEV || status == -ECANCELED)
        return;
    if (status != 0)
        dev_log(&p->dev, LOG_WARNING, "pen: no status at attach on %s; motor state unknown",
                p->port_name);
    p->identified = true;
    char faults[96];
    dev_log(&p->dev, LOG_INFO,
            "pen: attached %s: model %s serial %s fw %u.%u.%u cartridge '%s', motor %s, faults %s",
            p->port_name, p->identity.model, p->identity.serial, p->identity.fw_major,
            p->identity.fw_minor, p->identity.fw_patch, p->identity.cartridge_id,
            p->motor_known ? pen_state_str(p->motor_state) : "unknown",
            pen_fault_names(p->faults, faults, sizeof faults));
    if (p->cb.on_presence)
        p->cb.on_presence(p->user, true, "attached");
}

static void identify_done(void *user, int status, const struct pen_msg *resp)
{
    struct pen_drv *p = user;
    if (status == 0) {
        p->identity = resp->u.identity;
        if (start_request(p, PEN_MSG_GET_STATUS, NULL, false, attach_status_done, p) < 0)
            attach_status_done(p, -EIO, NULL);
        return;
    }
    if (status == -ENODEV || status == -ECANCELED)
        return;
    char why[96];
    snprintf(why, sizeof why, "no valid IDENTIFY answer (%s)",
             status == -ETIMEDOUT    ? "timeout"
             : status == PEN_DRV_NAK ? "refused"
                                     : "protocol error");
    dev_log(&p->dev, LOG_ERR, "pen: %s on %s", why, p->port_name);
    detach(p, why);
}

/* ---- open / close ---- */

static bool port_matches(const struct station_match *m, struct sp_port *port)
{
    if (sp_get_port_transport(port) != SP_TRANSPORT_USB)
        return false;
    int vid = 0, pid = 0;
    if (sp_get_port_usb_vid_pid(port, &vid, &pid) != SP_OK)
        return false;
    if (vid != m->vid || pid != m->pid)
        return false;
    if (m->serial[0]) {
        const char *ser = sp_get_port_usb_serial(port);
        if (!ser || strcmp(ser, m->serial) != 0)
            return false;
    }
    return true;
}

static struct sp_port *find_port(const struct pen_drv *p)
{
    struct sp_port *found = NULL;
    if (p->match.path[0]) {
        if (sp_get_port_by_name(p->match.path, &found) != SP_OK)
            return NULL;
        return found;
    }
    struct sp_port **list = NULL;
    if (sp_list_ports(&list) != SP_OK)
        return NULL;
    for (int i = 0; list[i] && !found; i++)
        if (port_matches(&p->match, list[i]) && sp_copy_port(list[i], &found) != SP_OK)
            found = NULL;
    sp_free_port_list(list);
    return found;
}

static cJSON *port_json(struct sp_port *port)
{
    struct station_match found = { 0 };
    int vid = 0, pid = 0;
    if (sp_get_port_usb_vid_pid(port, &vid, &pid) == SP_OK) {
        found.vid = (uint16_t)vid;
        found.pid = (uint16_t)pid;
    }
    const char *ser = sp_get_port_usb_serial(port), *name = sp_get_port_name(port);
    snprintf(found.serial, sizeof found.serial, "%s", ser ? ser : "");
    snprintf(found.path, sizeof found.path, "%s", name ? name : "");
    return station_match_to_json(&found);
}

cJSON *pen_drv_scan(const struct station_match *m, char *err, size_t errlen)
{
    cJSON *arr = cJSON_CreateArray();
    struct sp_port *one = NULL;
    if (m->path[0]) {
        if (sp_get_port_by_name(m->path, &one) == SP_OK) {
            cJSON_AddItemToArray(arr, port_json(one));
            sp_free_port(one);
        }
        return arr;
    }
    struct sp_port **list = NULL;
    if (sp_list_ports(&list) != SP_OK) {
        snprintf(err, errlen, "pen: cannot list serial ports: %s", sp_errmsg());
        cJSON_Delete(arr);
        return NULL;
    }
    for (int i = 0; list[i]; i++)
        if (port_matches(m, list[i]))
            cJSON_AddItemToArray(arr, port_json(list[i]));
    sp_free_port_list(list);
    return arr;
}

static int configure_port(struct sp_port *port)
{
    if (sp_set_baudrate(port, PEN_DRV_BAUD) != SP_OK || sp_set_bits(port, 8) != SP_OK ||
        sp_set_parity(port, SP_PARITY_NONE) != SP_OK || sp_set_stopbits(port, 1) != SP_OK ||
        sp_set_flowcontrol(port, SP_FLOWCONTROL_NONE) != SP_OK ||
        sp_set_dtr(port, SP_DTR_ON) != SP_OK)
        return -EIO;
    return 0;
}

int pen_drv_attach(struct pen_drv *p, char *err, size_t errlen)
{
    if (p->port)
        return 0;
    p->next_rescan = dev_now_us() + PEN_DRV_RESCAN_MS * 1000u;
    struct sp_port *port = find_port(p);
    if (!port) {
        snprintf(err, errlen, "pen %04x:%04x%s%s%s not found", p->match.vid, p->match.pid,
                 p->match.serial[0] ? " serial " : "", p->match.serial,
                 p->match.path[0] ? " (path configured)" : "");
        return -ENODEV;
    }
    const char *name = sp_get_port_name(port);
    snprintf(p->port_name, sizeof p->port_name, "%s", name ? name : "?");
    if (sp_open(port, SP_MODE_READ_WRITE) != SP_OK) {
        snprintf(err, errlen, "pen: cannot open %s: %s", p->port_name, sp_errmsg());
        sp_free_port(port);
        return -EIO;
    }
    int fd = -1;
    if (configure_port(port) < 0 || sp_get_port_handle(port, &fd) != SP_OK || fd < 0) {
        snprintf(err, errlen, "pen: cannot configure %s: %s", p->port_name, sp_errmsg());
        sp_close(port);
        sp_free_port(port);
        return -EIO;
    }
    p->port = port;
    p->fd = fd;
    p->tx_len = 0;
    p->identified = false;
    p->motor_known = false;
    p->faults = 0;
    p->missing_logged = false;
    pen_rx_init(&p->rx);
    p->dev.fd_generation++;
    p->st.attaches++;
    /* A delimiter first so the pen's receiver drops any half frame. */
    static const uint8_t zero = 0;
    if (queue_frame(p, &zero, 1) < 0)
        return -EIO;
    p->st.tx_frames--;
    int rc = start_request(p, PEN_MSG_IDENTIFY, NULL, false, identify_done, p);
    if (rc < 0) {
        snprintf(err, errlen, "pen: cannot send IDENTIFY on %s", p->port_name);
        return rc;
    }
    return 0;
}

static void close_port(struct pen_drv *p)
{
    if (!p->port)
        return;
    sp_close(p->port);
    sp_free_port(p->port);
    p->port = NULL;
    p->fd = -1;
    p->tx_len = 0;
    p->dev.fd_generation++;
}

static void detach(struct pen_drv *p, const char *reason)
{
    if (!p->port)
        return;
    bool was_identified = p->identified;
    dev_log(&p->dev, LOG_WARNING, "pen: %s gone: %s", p->port_name, reason);
    close_port(p);
    p->identified = false;
    p->st.detaches++;
    p->next_rescan = dev_now_us() + PEN_DRV_RESCAN_MS * 1000u;
    fail_all(p, -ENODEV);
    if (was_identified && p->cb.on_presence)
        p->cb.on_presence(p->user, false, reason);
}

/* ---- dev ops ---- */

static int pen_pollfds(struct dev *d, struct pollfd *out, int max)
{
    struct pen_drv *p = (struct pen_drv *)d;
    if (!p->port || max < 1)
        return 0;
    out[0].fd = p->fd;
    out[0].events = POLLIN | (p->tx_len ? POLLOUT : 0);
    out[0].revents = 0;
    return 1;
}

/* PEN.md 9: heartbeats are owed while the motor may be driven; the pen's
 * watchdog does not run otherwise. Only a pen known to be idle (or in
 * FAULT: motor off until CLEAR_FAULT) with no START on its way owes none.
 * Every START or STOP answer makes the state unknown until the pen's state
 * event (or a status) tells it, so a lost event errs on the side of
 * heartbeats. Idle heartbeats were most of rigd's CPU beyond a bare
 * stream reader while a session streams (docs/DAEMON.md, ingest). */
static bool motor_may_run(const struct pen_drv *p)
{
    if (!p->motor_known || (p->motor_state != PEN_STATE_IDLE && p->motor_state != PEN_STATE_FAULT))
        return true;
    for (int i = 0; i < PEN_DRV_MAX_INFLIGHT; i++)
        if (p->slots[i].used && p->slots[i].type == PEN_MSG_START)
            return true;
    return false;
}

static uint64_t pen_deadline(struct dev *d)
{
    struct pen_drv *p = (struct pen_drv *)d;
    if (!p->port)
        return p->next_rescan;
    uint64_t dl = DEV_NO_DEADLINE;
    for (int i = 0; i < PEN_DRV_MAX_INFLIGHT; i++)
        if (p->slots[i].used && p->slots[i].deadline < dl)
            dl = p->slots[i].deadline;
    if (p->heartbeat && motor_may_run(p) && p->next_heartbeat < dl)
        dl = p->next_heartbeat;
    return dl;
}

static void run_timeouts(struct pen_drv *p, uint64_t now)
{
    for (int i = 0; i < PEN_DRV_MAX_INFLIGHT && p->port; i++) {
        struct pen_slot *s = &p->slots[i];
        if (!s->used || s->deadline > now)
            continue;
        if (s->tries < s->max_tries) {
            p->st.retries++;
            send_slot(p, s);
            continue;
        }
        if (s->heartbeat) {
            p->st.heartbeat_timeouts++;
        } else {
            p->st.timeouts++;
            dev_log(&p->dev, LOG_WARNING, "pen: %s seq=%u: no answer after %d tries",
                    pen_msg_type_str(s->type), s->seq, s->tries);
        }
        complete(p, s, -ETIMEDOUT, NULL);
    }
    if (p->port && p->heartbeat && now >= p->next_heartbeat && motor_may_run(p)) {
        p->next_heartbeat = now + PEN_HEARTBEAT_PERIOD_MS * 1000u;
        int rc = start_request(p, PEN_MSG_HEARTBEAT, NULL, true, NULL, NULL);
        if (rc == -EAGAIN)
            dev_log(&p->dev, LOG_WARNING, "pen: heartbeat skipped: %d requests in flight",
                    PEN_DRV_MAX_INFLIGHT);
    }
}

static void pen_process(struct dev *d, const struct pollfd *fds, int n)
{
    struct pen_drv *p = (struct pen_drv *)d;
    uint64_t now = dev_now_us();
    if (!p->port) {
        if (now >= p->next_rescan) {
            char err[256];
            int rc = pen_drv_attach(p, err, sizeof err);
            if (rc < 0 && !p->missing_logged) {
                dev_log(&p->dev, LOG_WARNING, "%s; rescanning every %d ms", err, PEN_DRV_RESCAN_MS);
                p->missing_logged = true;
            }
        }
        return;
    }
    for (int i = 0; i < n && p->port; i++) {
        if (fds[i].fd != p->fd)
            continue;
        if (fds[i].revents & POLLIN)
            read_port(p);
        if (p->port && (fds[i].revents & POLLOUT))
            flush_tx(p);
        if (p->port && (fds[i].revents & (POLLHUP | POLLERR | POLLNVAL)))
            detach(p, fds[i].revents & POLLNVAL ? "port closed" : "hang-up");
    }
    if (p->port)
        run_timeouts(p, dev_now_us());
}

cJSON *pen_identity_to_json(const struct pen_identity *id)
{
    cJSON *o = dev_identity_json(id->model, id->serial, id->hw_revision, id->fw_major, id->fw_minor,
                                 id->fw_patch);
    cJSON_AddStringToObject(o, "cartridge_id", id->cartridge_id);
    cJSON_AddNumberToObject(o, "needle_count", id->needle_count);
    cJSON_AddNumberToObject(o, "protocol_version", id->protocol_version);
    cJSON_AddNumberToObject(o, "depth_step_mm", id->depth_step_um / 1000.0);
    cJSON_AddNumberToObject(o, "depth_min_mm", id->depth_min_um / 1000.0);
    cJSON_AddNumberToObject(o, "depth_max_mm", id->depth_max_um / 1000.0);
    return o;
}

cJSON *pen_status_to_json(const struct pen_status *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", pen_state_str(st->state));
    cJSON_AddNumberToObject(o, "set_rate_hz", st->set_rate_mhz / 1000.0);
    cJSON_AddNumberToObject(o, "measured_rate_hz", st->measured_rate_mhz / 1000.0);
    cJSON_AddNumberToObject(o, "set_depth_mm", st->set_depth_um / 1000.0);
    cJSON_AddNumberToObject(o, "motor_current_ma", st->motor_current_ma);
    cJSON_AddNumberToObject(o, "supply_mv", st->supply_mv);
    cJSON_AddNumberToObject(o, "temperature_c", st->temperature_cdeg / 100.0);
    cJSON_AddNumberToObject(o, "faults", st->faults);
    cJSON_AddNumberToObject(o, "uptime_ms", st->uptime_ms);
    cJSON_AddNumberToObject(o, "watchdog_ms", st->watchdog_ms);
    return o;
}

static cJSON *pen_describe(struct dev *d)
{
    struct pen_drv *p = (struct pen_drv *)d;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "pen");
    cJSON_AddBoolToObject(o, "present", pen_drv_present(p));
    cJSON_AddItemToObject(o, "match", station_match_to_json(&p->match));
    if (p->port)
        cJSON_AddStringToObject(o, "port", p->port_name);
    if (p->identified) {
        cJSON_AddItemToObject(o, "identity", pen_identity_to_json(&p->identity));
        cJSON *mo = cJSON_AddObjectToObject(o, "motor");
        char faults[96];
        cJSON_AddStringToObject(mo, "state",
                                p->motor_known ? pen_state_str(p->motor_state) : "unknown");
        cJSON_AddStringToObject(mo, "faults", pen_fault_names(p->faults, faults, sizeof faults));
        cJSON_AddBoolToObject(mo, "fault_latched", (p->faults & PEN_FAULT_LATCHED) != 0);
    }
    cJSON_AddBoolToObject(o, "heartbeat", p->heartbeat);
    cJSON *s = cJSON_AddObjectToObject(o, "link");
    cJSON_AddNumberToObject(s, "tx_frames", (double)p->st.tx_frames);
    cJSON_AddNumberToObject(s, "rx_frames", (double)p->st.rx_frames);
    cJSON_AddNumberToObject(s, "crc_errors",
                            (double)p->rx.stats.crc_errors + (double)p->st.crc_errors);
    cJSON_AddNumberToObject(s, "malformed",
                            (double)p->rx.stats.malformed + (double)p->st.malformed);
    cJSON_AddNumberToObject(s, "requests", (double)p->st.requests);
    cJSON_AddNumberToObject(s, "responses", (double)p->st.responses);
    cJSON_AddNumberToObject(s, "retries", (double)p->st.retries);
    cJSON_AddNumberToObject(s, "timeouts", (double)p->st.timeouts);
    cJSON_AddNumberToObject(s, "naks", (double)p->st.naks);
    cJSON_AddNumberToObject(s, "events", (double)p->st.events);
    cJSON_AddNumberToObject(s, "unmatched", (double)p->st.unmatched);
    cJSON_AddNumberToObject(s, "heartbeats", (double)p->st.heartbeats);
    cJSON_AddNumberToObject(s, "heartbeat_timeouts", (double)p->st.heartbeat_timeouts);
    cJSON_AddNumberToObject(s, "attaches", p->st.attaches);
    cJSON_AddNumberToObject(s, "detaches", p->st.detaches);
    return o;
}

static const struct dev_ops pen_dev_ops = {
    .kind = "pen",
    .pollfds = pen_pollfds,
    .deadline = pen_deadline,
    .process = pen_process,
    .describe = pen_describe,
};

/* ---- public ---- */

struct pen_drv *pen_drv_new(const struct station_match *match, const struct rig_callbacks *cb,
                            void *user)
{
    struct pen_drv *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->dev.ops = &pen_dev_ops;
    p->match = *match;
    if (cb)
        p->cb = *cb;
    p->user = user;
    p->fd = -1;
    p->next_seq = 1;
    pen_rx_init(&p->rx);
    return p;
}

void pen_drv_free(struct pen_drv *p)
{
    if (!p)
        return;
    p->cb.on_presence = NULL;
    close_port(p);
    fail_all(p, -ECANCELED);
    free(p);
}

struct dev *pen_drv_dev(struct pen_drv *p)
{
    return &p->dev;
}
bool pen_drv_present(const struct pen_drv *p)
{
    return p->port && p->identified;
}
const struct pen_identity *pen_drv_identity(const struct pen_drv *p)
{
    return p->identified ? &p->identity : NULL;
}
const char *pen_drv_port_name(const struct pen_drv *p)
{
    return p->port ? p->port_name : "";
}

bool pen_drv_motor(const struct pen_drv *p, uint8_t *state, uint32_t *faults)
{
    if (state)
        *state = p->motor_state;
    if (faults)
        *faults = p->faults;
    return p->port && p->motor_known;
}

void pen_drv_set_heartbeat(struct pen_drv *p, bool on)
{
    if (on && !p->heartbeat)
        p->next_heartbeat = dev_now_us();
    p->heartbeat = on;
}
bool pen_drv_heartbeat(const struct pen_drv *p)
{
    return p->heartbeat;
}

void pen_drv_stats(const struct pen_drv *p, struct pen_link_stats *out)
{
    *out = p->st;
    out->crc_errors += p->rx.stats.crc_errors;
    out->malformed += p->rx.stats.malformed;
}
