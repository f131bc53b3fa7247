/* The sensor head's vendor control requests (see sh_vendor.h).
 *
 * SENSOR.md section 2 fixes, per request, the direction, wValue and
 * wLength, and the order in which a request is checked: what the request
 * is (UNKNOWN_REQUEST), its length (BAD_LENGTH), its setup fields wIndex
 * and wValue (OUT_OF_RANGE), its data (OUT_OF_RANGE, BAD_CALIBRATION),
 * and only then the device's state (BUSY, NOT_STREAMING, BAD_CALIBRATION
 * for GET_CAL). A request that can never succeed is therefore reported as
 * such, not as BUSY, which would tell the host to retry after a STOP.
 */
#include "sim/sh_vendor.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim/model/model.h"
#include "protocol/sensor.h"

struct req_ctx {
    struct sh_vendor *v;
    struct sim_model *m;
    uint16_t value;
    uint8_t *data;
    struct sh_vendor_effect *fx;
};

/* Returns the IN data length, 0 for OUT, or -SH_ERR_* to refuse. */
typedef int (*req_fn)(const struct req_ctx *c);

struct req_rule {
    uint8_t request;
    uint8_t request_type; /* SH_REQTYPE_IN or SH_REQTYPE_OUT */
    uint16_t length;      /* wLength, exactly */
    uint16_t max_value;   /* wValue 0..max_value */
    req_fn run;
};

/* An encoder refusing what the model gives is a simulator bug: say so
 * loudly, and refuse the request rather than send garbage. */
static int encoded(int n, const char *what, int refusal)
{
    if (n >= 0)
        return n;
    fprintf(stderr, "rigsim: sensor: cannot encode %s: %s\n", what, sh_result_str(n));
    return -refusal;
}

static int get_identity(const struct req_ctx *c)
{
    struct sh_identity id;
    sim_sh_identity(c->m, &id);
    return encoded(sh_identity_encode(&id, c->data, SH_IDENTITY_SIZE), "identity",
                   SH_ERR_UNKNOWN_REQUEST);
}

static int set_rate(const struct req_ctx *c)
{
    const uint8_t *d = c->data;
    uint32_t rate =
        (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
    struct sh_identity id;
    sim_sh_identity(c->m, &id);
    /* the value before the state: a rate this head can never take is
     * OUT_OF_RANGE even while streaming */
    if (rate < SH_RATE_MIN || rate > SH_RATE_MAX || rate > id.max_rate_hz)
        return -SH_ERR_OUT_OF_RANGE;
    return -sim_sh_set_rate(c->m, rate);
}

static int start(const struct req_ctx *c)
{
    int err = sim_sh_start(c->m);
    if (err != 0)
        return -err;
    struct sh_status st;
    sim_sh_status(c->m, &st);
    uint32_t frames = c->value ? c->value : st.rate_hz / 100u;
    c->fx->start_frames = frames ? frames : 1;
    return 0;
}

static int stop(const struct req_ctx *c)
{
    return -sim_sh_stop(c->m);
}

static int tare(const struct req_ctx *c)
{
    return -sim_sh_tare(c->m);
}

static int get_cal(const struct req_ctx *c)
{
    struct sh_calibration cal;
    sim_sh_calibration(c->m, &cal);
    /* a record that does not encode is no valid record: "none stored" */
    int n = sh_calibration_encode(&cal, c->data, SH_CALIBRATION_SIZE);
    return n < 0 ? -SH_ERR_BAD_CALIBRATION : n;
}

static int set_cal(const struct req_ctx *c)
{
    struct sh_calibration cal;
    if (sh_calibration_decode(c->data, SH_CALIBRATION_SIZE, &cal) != SH_OK)
        return -SH_ERR_BAD_CALIBRATION;
    return -sim_sh_set_calibration(c->m, &cal);
}

static int get_status(const struct req_ctx *c)
{
    struct sh_status st;
    sim_sh_status(c->m, &st);
    return encoded(sh_status_encode(&st, c->data, SH_STATUS_SIZE), "status",
                   SH_ERR_UNKNOWN_REQUEST);
}

static int get_error(const struct req_ctx *c)
{
    /* read here; sh_vendor_request resets the register as for any
     * successful request */
    c->data[0] = c->v->last_error;
    return 1;
}

/* SENSOR.md section 2, the request table. */
static const struct req_rule rules[] = {
    { SH_REQ_GET_IDENTITY, SH_REQTYPE_IN, SH_IDENTITY_SIZE, 0, get_identity },
    { SH_REQ_SET_RATE, SH_REQTYPE_OUT, 4, 0, set_rate },
    { SH_REQ_START, SH_REQTYPE_OUT, 0, SH_MAX_SAMPLES, start },
    { SH_REQ_STOP, SH_REQTYPE_OUT, 0, 0, stop },
    { SH_REQ_TARE, SH_REQTYPE_OUT, 0, 0, tare },
    { SH_REQ_GET_CAL, SH_REQTYPE_IN, SH_CALIBRATION_SIZE, 0, get_cal },
    { SH_REQ_SET_CAL, SH_REQTYPE_OUT, SH_CALIBRATION_SIZE, 0, set_cal },
    { SH_REQ_GET_STATUS, SH_REQTYPE_IN, SH_STATUS_SIZE, 0, get_status },
    { SH_REQ_GET_ERROR, SH_REQTYPE_IN, 1, 0, get_error },
};

static const struct req_rule *rule_for(uint8_t request)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].request == request)
            return &rules[i];
    return NULL;
}

/* Everything SENSOR.md checks before the request runs, in its order. */
static int check_setup(const struct req_rule *r, const struct sh_setup *s)
{
    /* a vendor request to the device or an endpoint is none of ours */
    if (!r || s->request_type != r->request_type)
        return -SH_ERR_UNKNOWN_REQUEST;
    if (s->length != r->length)
        return -SH_ERR_BAD_LENGTH;
    if (s->index != SH_INTERFACE || s->value > r->max_value)
        return -SH_ERR_OUT_OF_RANGE;
    return 0;
}

void sh_vendor_reset(struct sh_vendor *v)
{
    v->last_error = SH_ERR_NONE;
}

int sh_vendor_request(struct sh_vendor *v, struct sim_model *m, const struct sh_setup *setup,
                      uint8_t *data, struct sh_vendor_effect *fx)
{
    const struct req_rule *r = rule_for(setup->request);
    *fx = (struct sh_vendor_effect){ 0 };
    int res = check_setup(r, setup);
    if (res == 0) {
        struct req_ctx c = { .v = v, .m = m, .value = setup->value, .data = data, .fx = fx };
        res = r->run(&c);
    }
    /* The register always describes the latest vendor request: a
     * successful one (IN or OUT) leaves NONE, so GET_ERROR never reports
     * a refusal older than the request the host just saw succeed. */
    v->last_error = res < 0 ? (uint8_t)-res : SH_ERR_NONE;
    if (res < 0) {
        *fx = (struct sh_vendor_effect){ 0 };
        return -EPIPE;
    }
    /* An accepted OUT request took its whole data stage: usbfs reports
     * that as the URB's actual_length (libusb's return value) */
    return setup->request_type == SH_REQTYPE_OUT ? setup->length : res;
}
