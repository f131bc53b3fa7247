/* Physics model: the needles and what the sensor head measures of them
 * (model_int.h): each stroke's geometry and force against the phantom,
 * the events within a control step, the sensor frames sampled from them,
 * the tare and the sensor head's interface. */
#include <string.h>

#include "sim/model/model_int.h"

/* ---- strokes and force ---- */

bool mdl_cartridge_fitted(const struct sim_model *m)
{
    return m->p.needle_count > 0 && m->p.cartridge_id[0] != '\0';
}

double mdl_depth_now_mm(const struct sim_model *m)
{
    return m->set_depth_um / 1000.0 + m->depth_bias_mm + m->drift_mm;
}

/* Where this stroke punctures and the forces it sees. Puncture happens
 * where the phantom's deflection force k*(p - seat) reaches the needles'
 * combined threshold F_p; from the cam law p = d - (S/2)(1 + cos theta)
 * that is at cos theta_p = 2 (d - seat - x_p) / S - 1 with x_p = F_p / k. */
void mdl_stroke_geometry(struct stroke *s, const struct sim_params *p)
{
    double f_p = s->threshold_n;
    double reach_mm = s->depth_mm - s->seat_mm; /* past the phantom surface */
    double f_max_elastic = s->k_n_per_mm * fmax(0.0, reach_mm);
    if (s->contact && f_p > 0 && f_max_elastic > f_p) {
        double c = 2.0 * (reach_mm - f_p / s->k_n_per_mm) / p->stroke_mm - 1.0;
        c = fmin(1.0, fmax(-1.0, c));
        s->phi_puncture = acos(c) / (2.0 * M_PI);
        s->peak_force_n = f_p;
        s->plateau_n = p->plateau_frac * f_p;
    } else {
        s->phi_puncture = -1.0;
        s->peak_force_n = f_max_elastic;
        s->plateau_n = 0.0;
    }
}

/* The phantom a stroke meets is the one at the current mount's spot, as
 * far from the cartridge face as this mount seats it. */
void mdl_stroke_meets_mount(struct stroke *s, const struct sim_mount *mt,
                            const struct sim_params *p)
{
    s->k_n_per_mm = p->phantom_k_n_per_mm * mt->k_factor;
    s->threshold_n = s->threshold_base_n * mt->puncture_factor;
    s->seat_mm = mt->seat_mm;
    mdl_stroke_geometry(s, p);
}

/* Draw the next stroke's parameters (at its start, phase 0). */
void mdl_begin_stroke(struct sim_model *m, uint64_t t)
{
    struct stroke *s = &m->st;
    const struct sim_params *p = &m->p;
    double jitter_pct = fault_on(m, SIM_FAULT_RATE_JITTER)
                            ? fault_value(m, SIM_FAULT_RATE_JITTER, JITTER_FAULT_DEFAULT_PCT)
                            : p->jitter_pct;
    double j = rng_normal(&m->rng_pen) * jitter_pct / 100.0;
    double dn = rng_normal(&m->rng_pen) * p->depth_noise_mm;
    double pn = rng_normal(&m->rng_pen) * PUNCTURE_SD_FRAC;

    s->start_ns = t;
    s->rate_factor = fmax(0.5, 1.0 + j);
    s->depth_noise_mm = dn;
    s->depth_mm = mdl_depth_now_mm(m) + dn;
    s->set_depth_mm = m->set_depth_um / 1000.0;
    s->set_rate_hz = set_rate_hz(m);
    s->punctured = false;
    s->peak_seen = false;
    s->rise_seen = false;
    s->rise_ns = 0;
    s->all_driven = m->driven;
    s->rise_driven = false;

    int needles = p->needle_count;
    if (fault_on(m, SIM_FAULT_BENT_NEEDLE)) {
        /* Clamp before converting: more missing than fitted means none
         * left, and a value beyond int range would not convert (lround
         * gives an unspecified long, the int cast wraps it). */
        double missing = fmin(fault_value(m, SIM_FAULT_BENT_NEEDLE, 1.0), (double)needles);
        needles -= (int)lround(missing);
    }
    s->contact = m->cart_present && needles > 0;
    s->threshold_base_n =
        (needles > 0 ? needles : 0) * p->puncture_n_per_needle * fmax(0.0, 1.0 + pn);
    mdl_stroke_meets_mount(s, &m->mount, p);
}

/* Needle-phantom contact force at phase phi (0..1 within the stroke),
 * protrusion p_mm and time tau_s since the puncture (< 0: not yet): elastic
 * k*p up to puncture; then the tissue tears over PUNCTURE_DROP_S (a
 * raised-cosine fall, so the force peak is rounded on its falling side and
 * a 20-50 kS/s sampler sees it within ~1 %) to the friction plateau, held
 * while the needles still advance; ~0 once they withdraw (they slide out). */
static inline double contact_force(const struct stroke *s, double phi, double p_mm, double tau_s)
{
    p_mm -= s->seat_mm; /* needle tips past the phantom surface */
    if (!s->contact || p_mm <= 0.0)
        return 0.0;
    if (s->phi_puncture < 0.0 || phi < s->phi_puncture)
        return s->k_n_per_mm * p_mm;
    if (phi > 0.5)
        return 0.0;
    if (tau_s < 0.0)
        return s->peak_force_n; /* at the puncture instant */
    if (tau_s >= PUNCTURE_DROP_S)
        return s->plateau_n;
    double drop = s->peak_force_n - s->plateau_n;
    return s->plateau_n + drop * 0.5 * (1.0 + cos(M_PI * tau_s / PUNCTURE_DROP_S));
}

/* Fixture resonance excited by the load drop at puncture: starts when the
 * tear is complete, at zero (continuous force), first swinging on in the
 * direction of the drop (undershoot). */
static inline double ring_force(const struct sim_model *m, uint64_t t)
{
    if (!m->ring_on || t < m->ring_t0)
        return 0.0;
    double tau = (double)(t - m->ring_t0) * 1e-9;
    if (m->ring_alpha * tau > 16.0) /* decayed below 1e-7 of its start */
        return 0.0;
    return -m->ring_amp_n * exp(-m->ring_alpha * tau) * sin(m->ring_wd * tau);
}

/* Seconds since this stroke's puncture at t, or -1 before it. */
static inline double since_puncture(const struct sim_model *m, uint64_t t)
{
    if (!m->st.punctured || t < m->punct_t)
        return -1.0;
    return (double)(t - m->punct_t) * 1e-9;
}

static void on_puncture(struct sim_model *m, uint64_t t)
{
    struct stroke *s = &m->st;
    s->punctured = true;
    m->ring_on = m->p.ring_gain > 0;
    m->punct_t = t;
    m->ring_t0 = t + (uint64_t)(PUNCTURE_DROP_S * 1e9);
    m->ring_amp_n = m->p.ring_gain * (s->peak_force_n - s->plateau_n);
}

static void on_stroke_end(struct sim_model *m, uint64_t t)
{
    m->strokes_done++;
    if (m->st.all_driven || m->st.rise_driven)
        mdl_truth_stroke(m, t);
    m->phi_anchor = 0.0;
    m->t_anchor = t;
    mdl_begin_stroke(m, t);
}

/* ---- sensor frames ---- */

static uint64_t sample_time(const struct sim_model *m, uint64_t n)
{
    /* Frame n is taken at t0 + (n + 1)/rate, so D seconds of streaming
     * hold exactly D x rate frames. Split to avoid 64-bit overflow. */
    uint64_t k = n + 1;
    uint64_t sec = k / m->sh_rate, rem = k % m->sh_rate;
    return m->stream_t0 + sec * NS_PER_S + rem * NS_PER_S / m->sh_rate;
}

static inline int32_t quantise(double x, double lsb, int32_t fs, bool *over)
{
    double q = nearbyint(x / lsb) * lsb;
    if (q >= fs || q <= -fs) {
        *over = true;
        return q > 0 ? fs : -fs;
    }
    *over = false;
    return (int32_t)lrint(q); /* q is a whole number of LSBs, not of units */
}

static void fifo_push(struct sim_model *m, int32_t f, int32_t d, uint64_t idx)
{
    if (m->drop_pending > 0 || m->count == m->cap) {
        if (m->drop_pending > 0)
            m->drop_pending--;
        if (!m->last_dropped)
            m->overruns++;
        m->last_dropped = true;
        return;
    }
    uint32_t i = m->head + m->count;
    if (i >= m->cap)
        i -= m->cap;
    m->ff[i] = f;
    m->fd[i] = d;
    m->fi[i] = idx;
    m->count++;
    m->last_dropped = false;
}

static void emit_sample(struct sim_model *m, uint64_t t)
{
    const struct sim_params *p = &m->p;
    const struct sh_calibration *c = &p->sh_cal; /* physical transfer */
    double phi = phase_at(m, t);
    double p_mm = m->st.depth_mm - 0.5 * p->stroke_mm * (1.0 + cos(2.0 * M_PI * phi));
    double force_n = contact_force(&m->st, phi, p_mm, since_puncture(m, t)) + ring_force(m, t) +
                     LOAD_CELL_ZERO_N + m->zero_shift_n;
    double f_un = force_n * 1e6 + rng_normal(&m->rng_sh) * p->force_noise_n * 1e6;
    /* The sensor reads the needles against its own zero, which this mount
     * put a little off the cartridge face. */
    double d_nm =
        (p_mm + m->mount.disp_zero_mm) * 1e6 + rng_normal(&m->rng_sh) * p->disp_noise_um * 1e3;
    bool over;
    /* Tared, uncalibrated: raw = (true - offset) x 1e6 / gain - tare. */
    int32_t fr = quantise((f_un - c->force_offset_un) * 1e6 / c->force_gain_ppm - m->tare_un,
                          p->force_lsb_n * 1e6, SH_FORCE_FS_UN, &over);
    int32_t dr;
    if (!m->cart_present) {
        dr = SH_NO_TARGET; /* no needle tips: "no peak" */
    } else {
        dr = quantise((d_nm - c->disp_offset_nm) * 1e6 / c->disp_gain_ppm, p->disp_lsb_um * 1e3,
                      SH_DISP_FS_NM, &over);
        if (over)
            dr = SH_OUT_OF_RANGE;
    }
    fifo_push(m, fr, dr, m->next_sample);
}

static void emit_samples_until(struct sim_model *m, uint64_t t)
{
    while (m->streaming && m->next_sample_ns <= t) {
        emit_sample(m, m->next_sample_ns);
        m->next_sample++;
        m->next_sample_ns = sample_time(m, m->next_sample);
    }
}

enum stroke_event { EV_RISE, EV_PUNCTURE, EV_PEAK, EV_END };

/* The next thing that happens within the current stroke, and its phase:
 * the rising mid-stroke (0.25, where a mid-level comparator times the
 * stroke: ground truth for the stroke rate), the puncture (<= 0.5, on the
 * way in), the peak (0.5), the end (1). */
static enum stroke_event next_stroke_event(const struct stroke *s, double *phi)
{
    bool punct = s->phi_puncture >= 0 && !s->punctured;
    if (!s->rise_seen && (!punct || s->phi_puncture >= 0.25)) {
        *phi = 0.25;
        return EV_RISE;
    }
    if (punct) {
        *phi = s->phi_puncture;
        return EV_PUNCTURE;
    }
    if (!s->peak_seen) {
        *phi = 0.5;
        return EV_PEAK;
    }
    *phi = 1.0;
    return EV_END;
}

/* Advance from m->now to t (within one control step): process puncture,
 * peak and stroke-end events in time order, with the frames in between. */
void mdl_advance_within_step(struct sim_model *m, uint64_t t)
{
    for (;;) {
        double phi;
        enum stroke_event ev = next_stroke_event(&m->st, &phi);
        uint64_t t_evt = time_at_phase(m, phi);
        if (t_evt < m->now)
            t_evt = m->now;
        if (t_evt > t) {
            emit_samples_until(m, t);
            return;
        }
        emit_samples_until(m, t_evt);
        m->now = t_evt;
        switch (ev) {
        case EV_PUNCTURE:
            on_puncture(m, t_evt);
            break;
        case EV_RISE:
            m->st.rise_seen = true;
            m->st.rise_ns = t_evt;
            m->st.rise_driven = m->st.all_driven && m->driven;
            break;
        case EV_PEAK:
            m->st.peak_seen = true;
            m->st.peak_ns = t_evt;
            break;
        case EV_END:
            on_stroke_end(m, t_evt);
            break;
        }
    }
}

/* Noiseless raw (untared, uncalibrated) force now, in uN. */
static double raw_force_now(const struct sim_model *m)
{
    const struct sh_calibration *c = &m->p.sh_cal;
    double phi = phase_at(m, m->now);
    double p_mm = m->st.depth_mm - 0.5 * m->p.stroke_mm * (1.0 + cos(2.0 * M_PI * phi));
    double f = contact_force(&m->st, phi, p_mm, since_puncture(m, m->now)) + ring_force(m, m->now) +
               LOAD_CELL_ZERO_N + m->zero_shift_n;
    return (f * 1e6 - c->force_offset_un) * 1e6 / c->force_gain_ppm;
}

void mdl_record_tare_history(struct sim_model *m)
{
    m->tare_hist[m->tare_hist_i] = raw_force_now(m);
    m->tare_hist_i = (m->tare_hist_i + 1) % TARE_WINDOW_STEPS;
    if (m->tare_hist_n < TARE_WINDOW_STEPS)
        m->tare_hist_n++;
}

/* ---- sensor head interface ---- */

int sim_sh_set_rate(struct sim_model *m, uint32_t rate_hz)
{
    if (m->streaming)
        return SH_ERR_BUSY;
    if (rate_hz < SH_RATE_MIN || rate_hz > SH_RATE_MAX)
        return SH_ERR_OUT_OF_RANGE;
    m->sh_rate = rate_hz;
    return 0;
}

int sim_sh_start(struct sim_model *m)
{
    if (m->streaming)
        return SH_ERR_BUSY;
    m->streaming = true;
    m->stopped = false;
    m->stream_t0 = m->now;
    m->next_sample = 0;
    m->next_sample_ns = sample_time(m, 0);
    m->head = m->count = 0;
    m->seq = 0;
    m->blocks_sent = m->overruns = 0; /* "since the last START" */
    m->expect_sample = 0;
    m->last_dropped = false;
    /* Frame n of this stream is taken at t + (n + 1) / rate_hz. */
    mdl_truth_printf(m, "{\"t\":%.9f,\"event\":\"sensor_start\",\"rate_hz\":%u}\n",
                     (double)m->now * 1e-9, (unsigned)m->sh_rate);
    return 0;
}

int sim_sh_stop(struct sim_model *m)
{
    if (!m->streaming)
        return SH_ERR_NOT_STREAMING;
    /* SENSOR.md: STOP is always answered by a LAST block, never empty.
     * Stopped right at a block boundary nothing has been taken since the
     * last block: the frame being taken now (at most one sample period
     * away) goes into it, as a device would send the frame in progress. */
    if (m->count == 0 && m->next_sample_ns > m->now)
        sim_model_run_until(m, m->next_sample_ns);
    m->streaming = false;
    m->stopped = true;
    mdl_truth_printf(m, "{\"t\":%.9f,\"event\":\"sensor_stop\",\"frames\":%llu}\n",
                     (double)m->now * 1e-9, (unsigned long long)m->next_sample);
    return 0;
}

int sim_sh_tare(struct sim_model *m)
{
    /* The mean raw force over the last 10 ms becomes the tare offset
     * (SENSOR.md); the device's own noise averages out over 500 samples,
     * so the noiseless history stands in for it. */
    double sum = 0;
    for (uint32_t i = 0; i < m->tare_hist_n; i++)
        sum += m->tare_hist[i];
    double mean = m->tare_hist_n ? sum / m->tare_hist_n : raw_force_now(m);
    m->tare_un = (int32_t)lround(mean);
    m->tared = true;
    return 0;
}

void sim_sh_identity(const struct sim_model *m, struct sh_identity *id)
{
    memset(id, 0, sizeof *id);
    id->protocol_version = SH_PROTOCOL_VERSION;
    id->hw_revision = m->p.sh_hw_revision;
    id->fw_major = m->p.sh_fw[0];
    id->fw_minor = m->p.sh_fw[1];
    id->fw_patch = m->p.sh_fw[2];
    id->channels = SH_CHANNELS;
    id->max_rate_hz = SH_RATE_MAX;
    memcpy(id->model, m->p.sh_model, sizeof id->model);
    memcpy(id->serial, m->p.sh_serial, sizeof id->serial);
    id->force_full_scale_un = SH_FORCE_FS_UN;
    id->disp_full_scale_nm = SH_DISP_FS_NM;
}

void sim_sh_calibration(const struct sim_model *m, struct sh_calibration *c)
{
    *c = m->cal_stored;
}

static bool cal_valid(const struct sh_calibration *c)
{
    return c->force_gain_ppm > 0 && c->disp_gain_ppm > 0 && c->due_date > c->cal_date;
}

int sim_sh_set_calibration(struct sim_model *m, const struct sh_calibration *c)
{
    /* Writing a calibration changes the stored certificate data only; the
     * physical transfer of the sensor (params.sh_cal) stays what it is. */
    if (m->streaming)
        return SH_ERR_BUSY;
    if (!cal_valid(c))
        return SH_ERR_BAD_CALIBRATION;
    m->cal_stored = *c;
    return 0;
}

void sim_sh_status(const struct sim_model *m, struct sh_status *st)
{
    memset(st, 0, sizeof *st);
    st->flags =
        (m->streaming ? SH_STAT_STREAMING : 0) | (m->cart_present ? SH_STAT_TARGET_PRESENT : 0) |
        (cal_valid(&m->cal_stored) ? SH_STAT_CAL_VALID : 0) | (m->tared ? SH_STAT_TARED : 0);
    st->rate_hz = m->sh_rate;
    st->blocks_sent = m->blocks_sent;
    st->overruns = m->overruns;
    st->tare_offset_un = m->tare_un;
    st->temperature_cdeg = SH_TEMP_CDEG;
}

uint32_t sim_sh_available(const struct sim_model *m)
{
    return m->count;
}

int sim_sh_take_block(struct sim_model *m, uint32_t max, struct sh_block_header *hdr,
                      int32_t *force_un, int32_t *disp_nm)
{
    if (max > SH_MAX_SAMPLES)
        max = SH_MAX_SAMPLES;
    if (max == 0 || m->count == 0)
        return 0;
    uint64_t first = m->fi[m->head];
    uint8_t flags = first != m->expect_sample ? SH_BLK_OVERRUN : 0;
    uint32_t n = 0;
    /* A block holds consecutive frames only: stop at a gap left by drops. */
    while (n < max && m->count > 0) {
        uint32_t i = m->head;
        if (m->fi[i] != first + n)
            break;
        int32_t d = m->fd[i];
        force_un[n] = m->ff[i];
        disp_nm[n] = d;
        if (d == SH_NO_TARGET)
            flags |= SH_BLK_NO_TARGET;
        else if (d == SH_OUT_OF_RANGE)
            flags |= SH_BLK_OUT_OF_RANGE;
        if (m->ff[i] >= SH_FORCE_FS_UN || m->ff[i] <= -SH_FORCE_FS_UN)
            flags |= SH_BLK_FORCE_SAT;
        m->head = m->head + 1 == m->cap ? 0 : m->head + 1;
        m->count--;
        n++;
    }
    if (m->stopped && m->count == 0) {
        flags |= SH_BLK_LAST;
        m->stopped = false;
    }
    memset(hdr, 0, sizeof *hdr);
    hdr->magic = SH_BLOCK_MAGIC;
    hdr->version = SH_PROTOCOL_VERSION;
    hdr->flags = flags;
    hdr->channels = SH_CHANNELS;
    hdr->header_size = SH_BLOCK_HEADER_SIZE;
    hdr->seq = m->seq++;
    hdr->first_sample = first;
    hdr->rate_hz = m->sh_rate;
    hdr->count = (uint16_t)n;
    m->expect_sample = first + n;
    m->blocks_sent++;
    return (int)n;
}
