/* Bench parameters: defaults (a healthy reference pen, profile A, from
 * shared DOMAIN.md), the bench JSON reader and the fault names.
 *
 * The JSON reader is table driven: every settable field is one row naming
 * its key, type, place in struct sim_params and valid range, so the schema
 * in docs/SIMULATOR-MODEL.md, the checks and the error messages cannot
 * drift apart. Errors read "json.path: message".
 */
#include "sim/model/model.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

static void set_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

void sim_params_default(struct sim_params *p)
{
    memset(p, 0, sizeof *p);
    set_str(p->pen_model, sizeof p->pen_model, "MNP-A");
    set_str(p->pen_serial, sizeof p->pen_serial, "PA-0000001");
    set_str(p->cartridge_id, sizeof p->cartridge_id, "C14-LOT2611A");
    p->pen_hw_revision = 2;
    p->pen_fw[0] = 1;
    p->pen_fw[1] = 4;
    p->pen_fw[2] = 0;
    p->needle_count = 14;
    p->depth_step_um = 250;
    p->depth_min_um = 0;
    p->depth_max_um = 2500;
    set_str(p->sh_model, sizeof p->sh_model, "SH-2");
    set_str(p->sh_serial, sizeof p->sh_serial, "SH2-000101");
    p->sh_hw_revision = 1;
    p->sh_fw[0] = 1;
    p->sh_fw[1] = 0;
    p->sh_fw[2] = 3;
    p->sh_cal = (struct sh_calibration){
        .force_gain_ppm = 1000000,
        .force_offset_un = 0,
        .disp_gain_ppm = 1000000,
        .disp_offset_nm = 0,
        .cal_date = 20260601,
        .due_date = 20270601,
    };
    set_str(p->sh_cal.certificate, sizeof p->sh_cal.certificate, "CAL-0001");

    p->depth_bias_mm = NAN;
    p->depth_bias_sd_mm = 0.04;
    p->depth_noise_mm = 0.005;
    p->stroke_mm = 3.5;
    p->rate_error_pct = 0.0;
    p->jitter_pct = 0.5;
    p->spinup_ms = 30.0;
    p->spindown_ms = 40.0;
    p->run_current_ma = 450.0;
    p->supply_mv = 4000.0;
    p->battery_drain_mv_per_min = 0.0;

    p->phantom_k_n_per_mm = 2.5;
    p->puncture_n_per_needle = 0.0375;
    p->plateau_frac = 0.45;
    p->ring_hz = 3000.0;
    p->ring_zeta = 0.05;
    p->ring_gain = 0.3;

    p->sh_rate_hz = 50000;
    p->sh_fifo_frames = 100000;
    p->force_noise_n = 0.002;
    p->disp_noise_um = 0.2;
    p->force_lsb_n = 0.0001;
    p->disp_lsb_um = 0.01;

    /* An ideal fixture: every mount the same (the spreads are 0), so runs
     * compare exactly with the ground truth; benches that want a gauge
     * study's mount-to-mount variation say so (fixtures/benches/msa.json,
     * sim_params_mount_typical). */
    p->mount_tare_settle_min = 4.0;
}

/* ---- fault names ---- */

static const char *const fault_names[SIM_FAULT_COUNT_] = {
    [SIM_FAULT_STALL] = "stall",
    [SIM_FAULT_OVERCURRENT] = "overcurrent",
    [SIM_FAULT_DEPTH_DRIFT] = "depth-drift",
    [SIM_FAULT_RATE_JITTER] = "rate-jitter",
    [SIM_FAULT_LOW_BATTERY] = "low-battery",
    [SIM_FAULT_NO_CARTRIDGE] = "no-cartridge",
    [SIM_FAULT_SENSOR_OVERRUN] = "sensor-overrun",
    [SIM_FAULT_BENT_NEEDLE] = "bent-needle",
};

const char *sim_fault_name(enum sim_fault_kind k)
{
    return (unsigned)k < SIM_FAULT_COUNT_ ? fault_names[k] : "?";
}

int sim_fault_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < SIM_FAULT_COUNT_; i++)
        if (strcmp(fault_names[i], name) == 0)
            return i;
    return -1;
}

/* ---- bench JSON ---- */

enum field_type {
    F_DBL,  /* double in [min, max] */
    F_BIAS, /* double in [min, max] or null (= draw from the seed) */
    F_U8,   /* integers in [min, max] */
    F_U16,
    F_U32,
    F_I32,
    F_PEN_STR, /* printable ASCII, <= PEN_STR_LEN */
    F_SH_STR,  /* printable ASCII, <= SH_STR_LEN */
    F_VERSION, /* "major.minor.patch", each 0..255 */
    F_OBJECT,  /* nested object described by its own table */
};

struct field {
    const char *key;
    enum field_type type;
    size_t off; /* offset in struct sim_params */
    double min, max;
    bool min_open;           /* value must be > min, not >= */
    const struct field *sub; /* F_OBJECT: its fields, NULL-key terminated */
};

#define P(member) offsetof(struct sim_params, member)
#define C(member) (offsetof(struct sim_params, sh_cal) + offsetof(struct sh_calibration, member))

static const struct field pen_fields[] = {
    { "model", F_PEN_STR, P(pen_model), 0, 0, false },
    { "serial", F_PEN_STR, P(pen_serial), 0, 0, false },
    { "hw_revision", F_U8, P(pen_hw_revision), 0, 255, false },
    { "firmware", F_VERSION, P(pen_fw), 0, 0, false },
    { "depth_step_um", F_U16, P(depth_step_um), 1, PEN_DEPTH_MAX_UM, false },
    { "depth_min_um", F_U16, P(depth_min_um), 0, PEN_DEPTH_MAX_UM, false },
    { "depth_max_um", F_U16, P(depth_max_um), 0, PEN_DEPTH_MAX_UM, false },
    { "depth_bias_mm", F_BIAS, P(depth_bias_mm), -1.0, 1.0, false },
    { "depth_bias_sd_mm", F_DBL, P(depth_bias_sd_mm), 0, 1.0, false },
    { "depth_noise_mm", F_DBL, P(depth_noise_mm), 0, 0.5, false },
    { "stroke_mm", F_DBL, P(stroke_mm), 0.5, 10.0, false },
    { "rate_error_pct", F_DBL, P(rate_error_pct), -50, 50, false },
    { "jitter_pct", F_DBL, P(jitter_pct), 0, 30, false },
    { "spinup_ms", F_DBL, P(spinup_ms), 0, 2000, true },
    { "spindown_ms", F_DBL, P(spindown_ms), 0, 5000, true },
    { "run_current_ma", F_DBL, P(run_current_ma), 0, 1500, true },
    { "supply_mv", F_DBL, P(supply_mv), 0, 6000, false },
    { "battery_drain_mv_per_min", F_DBL, P(battery_drain_mv_per_min), 0, 10000, false },
    { NULL, F_DBL, 0, 0, 0, false },
};

static const struct field cartridge_fields[] = {
    { "id", F_PEN_STR, P(cartridge_id), 0, 0, false },
    { "needle_count", F_U8, P(needle_count), 0, 64, false },
    { NULL, F_DBL, 0, 0, 0, false },
};

static const struct field phantom_fields[] = {
    { "k_n_per_mm", F_DBL, P(phantom_k_n_per_mm), 0, 100, true },
    { "puncture_n_per_needle", F_DBL, P(puncture_n_per_needle), 0, 1.0, false },
    { "plateau_frac", F_DBL, P(plateau_frac), 0, 1.0, false },
    { "ring_hz", F_DBL, P(ring_hz), 0, 20000, true },
    { "ring_zeta", F_DBL, P(ring_zeta), 0, 1.0, true },
    { "ring_gain", F_DBL, P(ring_gain), 0, 1.0, false },
    { NULL, F_DBL, 0, 0, 0, false },
};

static const struct field calibration_fields[] = {
    { "force_gain_ppm", F_I32, C(force_gain_ppm), 1, INT32_MAX, false },
    { "force_offset_un", F_I32, C(force_offset_un), INT32_MIN, INT32_MAX, false },
    { "disp_gain_ppm", F_I32, C(disp_gain_ppm), 1, INT32_MAX, false },
    { "disp_offset_nm", F_I32, C(disp_offset_nm), INT32_MIN, INT32_MAX, false },
    { "cal_date", F_U32, C(cal_date), 20000101, 20991231, false },
    { "due_date", F_U32, C(due_date), 20000101, 20991231, false },
    { "certificate", F_SH_STR, C(certificate), 0, 0, false },
    { NULL, F_DBL, 0, 0, 0, false },
};

static const struct field sensor_fields[] = {
    { "model", F_SH_STR, P(sh_model), 0, 0, false },
    { "serial", F_SH_STR, P(sh_serial), 0, 0, false },
    { "hw_revision", F_U8, P(sh_hw_revision), 0, 255, false },
    { "firmware", F_VERSION, P(sh_fw), 0, 0, false },
    { "rate_hz", F_U32, P(sh_rate_hz), SH_RATE_MIN, SH_RATE_MAX, false },
    { "fifo_frames", F_U32, P(sh_fifo_frames), 1, 10000000, false },
    { "force_noise_n", F_DBL, P(force_noise_n), 0, 1.0, false },
    { "disp_noise_um", F_DBL, P(disp_noise_um), 0, 100, false },
    { "force_lsb_n", F_DBL, P(force_lsb_n), 0, 0.1, true },
    { "disp_lsb_um", F_DBL, P(disp_lsb_um), 0, 10, true },
    { "calibration", F_OBJECT, 0, 0, 0, false, calibration_fields },
    { NULL, F_DBL, 0, 0, 0, false },
};

/* Spreads of what each mount of the pen in the fixture draws (mount.c). */
static const struct field mount_fields[] = {
    { "disp_zero_sd_um", F_DBL, P(mount_disp_zero_sd_um), 0, 100, false },
    { "seat_sd_um", F_DBL, P(mount_seat_sd_um), 0, 500, false },
    { "phantom_k_sd_pct", F_DBL, P(mount_k_sd_pct), 0, 30, false },
    { "puncture_sd_pct", F_DBL, P(mount_puncture_sd_pct), 0, 30, false },
    /* bounded so the zero's whole creep, r tau, stays far inside the
     * load cell's 10 N and the tare's int32 uN */
    { "tare_drift_sd_mn_per_min", F_DBL, P(mount_tare_drift_sd_mn_per_min), 0, 100, false },
    { "tare_settle_min", F_DBL, P(mount_tare_settle_min), 0, 100, true },
    { NULL, F_DBL, 0, 0, 0, false },
};

/* The top-level sections of a bench file. */
static const struct {
    const char *key;
    const struct field *fields;
} sections[] = {
    { "pen", pen_fields },         { "cartridge", cartridge_fields },
    { "phantom", phantom_fields }, { "sensor_head", sensor_fields },
    { "mount", mount_fields },
};

struct jerr {
    char *buf;
    size_t len;
};

__attribute__((format(printf, 3, 4))) static int fail(struct jerr *e, const char *path,
                                                      const char *fmt, ...);

static int fail(struct jerr *e, const char *path, const char *fmt, ...)
{
    if (e->buf && e->len > 0) {
        int n = snprintf(e->buf, e->len, "%s: ", path);
        if (n >= 0 && (size_t)n < e->len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static int read_string(const cJSON *v, size_t maxlen, char *dst, const char *path, struct jerr *e)
{
    if (!cJSON_IsString(v) || !v->valuestring)
        return fail(e, path, "expected a string");
    if (strlen(v->valuestring) > maxlen)
        return fail(e, path, "longer than %zu characters", maxlen);
    if (!printable_ascii(v->valuestring))
        return fail(e, path, "only printable ASCII is allowed");
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

static int read_version(const cJSON *v, uint8_t *dst, const char *path, struct jerr *e)
{
    unsigned a, b, c;
    char tail;
    if (!cJSON_IsString(v) || !v->valuestring)
        return fail(e, path, "expected a string \"major.minor.patch\"");
    if (sscanf(v->valuestring, "%u.%u.%u%c", &a, &b, &c, &tail) != 3 || a > 255 || b > 255 ||
        c > 255)
        return fail(e, path, "expected \"major.minor.patch\" with parts 0..255, got \"%s\"",
                    v->valuestring);
    dst[0] = (uint8_t)a;
    dst[1] = (uint8_t)b;
    dst[2] = (uint8_t)c;
    return 0;
}

static int read_number(const cJSON *v, const struct field *f, double *out, const char *path,
                       struct jerr *e)
{
    if (!cJSON_IsNumber(v))
        return fail(e, path, "expected a number");
    double x = v->valuedouble;
    bool integer = f->type != F_DBL && f->type != F_BIAS;
    if (!isfinite(x))
        return fail(e, path, "must be finite");
    if (integer && x != floor(x))
        return fail(e, path, "expected an integer, got %g", x);
    if (x < f->min || x > f->max || (f->min_open && x <= f->min)) {
        if (integer)
            return fail(e, path, "%g is out of range %.0f..%.0f", x, f->min, f->max);
        return fail(e, path, "%g is out of range %s%g..%g", x, f->min_open ? ">" : "", f->min,
                    f->max);
    }
    *out = x;
    return 0;
}

static int apply_field(struct sim_params *p, const struct field *f, const cJSON *v,
                       const char *path, struct jerr *e)
{
    unsigned char *base = (unsigned char *)p + f->off;
    double x = 0;
    switch (f->type) {
    case F_PEN_STR:
        return read_string(v, PEN_STR_LEN, (char *)base, path, e);
    case F_SH_STR:
        return read_string(v, SH_STR_LEN, (char *)base, path, e);
    case F_VERSION:
        return read_version(v, base, path, e);
    case F_BIAS:
        if (cJSON_IsNull(v)) {
            *(double *)(void *)base = NAN;
            return 0;
        }
        break;
    default:
        break;
    }
    if (read_number(v, f, &x, path, e) < 0)
        return -1;
    switch (f->type) {
    case F_DBL:
    case F_BIAS:
        *(double *)(void *)base = x;
        break;
    case F_U8:
        *(uint8_t *)base = (uint8_t)x;
        break;
    case F_U16:
        *(uint16_t *)(void *)base = (uint16_t)x;
        break;
    case F_U32:
        *(uint32_t *)(void *)base = (uint32_t)x;
        break;
    case F_I32:
        *(int32_t *)(void *)base = (int32_t)x;
        break;
    default:
        break;
    }
    return 0;
}

/* Apply every key of obj through its row in fields; unknown keys are errors. */
static int apply_section(struct sim_params *p, const cJSON *obj, const char *path,
                         const struct field *fields, struct jerr *e)
{
    if (!cJSON_IsObject(obj))
        return fail(e, path, "expected an object");
    const cJSON *item;
    cJSON_ArrayForEach (item, obj) {
        const char *key = item->string ? item->string : "?";
        char sub[160];
        snprintf(sub, sizeof sub, "%s.%s", path, key);
        const struct field *f = fields;
        while (f->key && strcmp(f->key, key) != 0)
            f++;
        if (!f->key)
            return fail(e, sub, "unknown key");
        int rc = f->type == F_OBJECT ? apply_section(p, item, sub, f->sub, e)
                                     : apply_field(p, f, item, sub, e);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Cross-field rules that a single row cannot express. */
static int check_consistency(const struct sim_params *p, struct jerr *e)
{
    if (p->depth_min_um > p->depth_max_um)
        return fail(e, "$.pen.depth_min_um", "%u is above depth_max_um %u", p->depth_min_um,
                    p->depth_max_um);
    if ((p->depth_max_um - p->depth_min_um) % p->depth_step_um)
        return fail(e, "$.pen.depth_step_um",
                    "depth_max_um - depth_min_um must be a multiple of %u", p->depth_step_um);
    if (!p->pen_model[0] || !p->pen_serial[0])
        return fail(e, p->pen_model[0] ? "$.pen.serial" : "$.pen.model", "must not be empty");
    if (!p->sh_model[0] || !p->sh_serial[0])
        return fail(e, p->sh_model[0] ? "$.sensor_head.serial" : "$.sensor_head.model",
                    "must not be empty");
    if (p->depth_max_um / 1000.0 > p->stroke_mm)
        return fail(e, "$.pen.stroke_mm", "%g mm is shorter than depth_max_um", p->stroke_mm);
    if ((p->needle_count == 0) != (p->cartridge_id[0] == '\0'))
        return fail(e, "$.cartridge",
                    "id must be \"\" exactly when needle_count is 0 (no cartridge)");
    if (p->sh_cal.due_date <= p->sh_cal.cal_date)
        return fail(e, "$.sensor_head.calibration.due_date", "must be after cal_date");
    /* The emulated sensor head reports this record on GET_CAL, so it must
     * be one the wire codec accepts (SENSOR.md 3.2: the codec is the
     * single owner of those ranges); otherwise the bench loads and then
     * the device cannot answer. */
    uint8_t wire[SH_CALIBRATION_SIZE];
    if (sh_calibration_encode(&p->sh_cal, wire, sizeof wire) < 0)
        return fail(e, "$.sensor_head.calibration",
                    "not a record the sensor head can report: gains must be 500000..2000000 "
                    "ppm, offsets -10000000..10000000, dates real calendar days (SENSOR.md)");
    if (p->supply_mv > 0 && p->supply_mv < 3000)
        return fail(e, "$.pen.supply_mv",
                    "%g mV is below a 1S battery's floor of 3000 mV "
                    "(0 = USB powered)",
                    p->supply_mv);
    return 0;
}

int sim_params_from_json(struct sim_params *p, const struct cJSON *root, char *err, size_t errlen)
{
    struct jerr e = { err, errlen };
    if (err && errlen)
        err[0] = '\0';
    if (!cJSON_IsObject(root))
        return fail(&e, "$", "expected an object");
    /* Work on a copy so a bad file leaves p untouched. */
    struct sim_params q = *p;
    const cJSON *item;
    cJSON_ArrayForEach (item, root) {
        const char *k = item->string ? item->string : "?";
        char path[64];
        snprintf(path, sizeof path, "$.%s", k);
        size_t i = 0;
        while (i < sizeof sections / sizeof sections[0] && strcmp(k, sections[i].key) != 0)
            i++;
        int rc;
        if (i < sizeof sections / sizeof sections[0])
            rc = apply_section(&q, item, path, sections[i].fields, &e);
        else if (strcmp(k, "description") == 0)
            rc = cJSON_IsString(item) ? 0 : fail(&e, path, "expected a string");
        else
            rc = fail(&e, path,
                      "unknown key (expected pen, cartridge, phantom, sensor_head, "
                      "mount, description)");
        if (rc < 0)
            return -1;
    }
    if (check_consistency(&q, &e) < 0)
        return -1;
    *p = q;
    return 0;
}
