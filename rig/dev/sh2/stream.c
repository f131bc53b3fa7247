/* SH-2 sensor head: the bulk stream (see protocol.h): the bulk IN
 * transfers, each block validated, checked for continuity and fed on
 * calibrated, the stream events; and unplug as the transfers see it
 * (detach: cancel what is in flight, close once it has all ended). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "dev/sh2/sh2_int.h"

void sh2_emit(struct sh_drv *s, enum sh_drv_event ev, uint64_t detail, const char *msg)
{
    if (ev <= SH_EV_STREAM_ERROR)
        dev_log(&s->dev, LOG_WARNING, "sensor: %s: %s", sh_drv_event_str(ev), msg);
    if (s->cb.on_stream_event)
        s->cb.on_stream_event(s->user, ev, detail, msg);
}

static void handle_block(struct sh_drv *s, const uint8_t *buf, size_t len)
{
    struct sh_block_header h;
    int r = sh_block_decode(buf, len, &h);
    if (r != SH_OK) {
        sh_stream_bad_block(&s->stream);
        char msg[96];
        snprintf(msg, sizeof msg, "block of %zu bytes rejected: %s", len, sh_result_str(r));
        sh2_emit(s, SH_EV_BAD_BLOCK, 1, msg);
        return;
    }
    /* Until our START has been answered, a block that is not the first
     * of a stream (first_sample 0, SENSOR.md 3.3) is a previous stream's
     * tail still in the device: never ours, never stitched to ours. */
    if (s->state == ST_STARTING && !s->stream.started && h.first_sample != 0) {
        s->stale_blocks++;
        dev_log(&s->dev, LOG_DEBUG,
                "sensor: stale block seq %u (sample %llu) before START, dropped", h.seq,
                (unsigned long long)h.first_sample);
        return;
    }
    uint64_t lost_before = s->stream.stats.lost_blocks;
    uint64_t lost_samples_before = s->stream.stats.lost_samples;
    enum sh_continuity c = sh_stream_check(&s->stream, &h);
    char msg[128];
    switch (c) {
    case SH_CONT_REPEAT:
        snprintf(msg, sizeof msg, "block seq %u repeated, dropped", h.seq);
        sh2_emit(s, SH_EV_REPEATED_BLOCK, 1, msg);
        return;
    case SH_CONT_GAP:
        snprintf(msg, sizeof msg, "%llu block(s) lost before seq %u (%llu samples)",
                 (unsigned long long)(s->stream.stats.lost_blocks - lost_before), h.seq,
                 (unsigned long long)(s->stream.stats.lost_samples - lost_samples_before));
        sh2_emit(s, SH_EV_LOST_BLOCKS, s->stream.stats.lost_blocks - lost_before, msg);
        break;
    case SH_CONT_OVERRUN:
        snprintf(msg, sizeof msg, "device overrun before seq %u: %llu samples skipped", h.seq,
                 (unsigned long long)(s->stream.stats.lost_samples - lost_samples_before));
        sh2_emit(s, SH_EV_OVERRUN, s->stream.stats.lost_samples - lost_samples_before, msg);
        break;
    case SH_CONT_FIRST: {
        /* The device counts from 0 at every START; keep our indices
         * increasing so an index never names two different samples, and
         * leave a hole of one so a restart reads as a discontinuity. */
        uint64_t start = s->next_index ? s->next_index + 1 : 0;
        s->index_offset = start - h.first_sample;
        break;
    }
    case SH_CONT_OK:
        break;
    }
    sh_block_samples(buf, &h, s->raw_f, s->raw_d);
    for (unsigned i = 0; i < h.count; i++) {
        s->cal_f[i] = sh_cal_force_tared(&s->cal, s->raw_f[i], s->tared);
        s->cal_d[i] = sh_cal_disp(&s->cal, s->raw_d[i]);
    }
    /* A gap shows as a jump in the index (never stitched). */
    struct rig_samples blk = {
        .first = h.first_sample + s->index_offset, .rate_hz = h.rate_hz, .n = h.count, .nch = 2
    };
    blk.ch[RIG_CH_FORCE] = s->cal_f;
    blk.ch[RIG_CH_DISP] = s->cal_d;
    s->next_index = blk.first + blk.n;
    if (s->cb.on_samples)
        s->cb.on_samples(s->user, &blk);
    if (h.flags & SH_BLK_LAST) {
        dev_log(&s->dev, LOG_DEBUG, "sensor: last block (seq %u) after STOP", h.seq);
        if (s->state == ST_STOPPING) {
            s->got_last = true;
            s->stop_deadline = 0; /* cancel the rest now */
        }
    }
}

void sh2_cancel_bulk(struct sh_drv *s)
{
    for (int i = 0; i < SH_DRV_TRANSFERS; i++)
        if (s->bulk[i] && s->bulk[i]->user_data)
            libusb_cancel_transfer(s->bulk[i]);
}

static void LIBUSB_CALL bulk_cb(struct libusb_transfer *x)
{
    struct sh_drv *s = x->user_data;
    if (!s)
        return;
    bool resubmit = false;
    switch (x->status) {
    case LIBUSB_TRANSFER_COMPLETED:
        handle_block(s, x->buffer, (size_t)x->actual_length);
        resubmit = !s->gone && (s->state == ST_STREAMING || s->state == ST_STARTING ||
                                (s->state == ST_STOPPING && s->stop_deadline != 0));
        break;
    case LIBUSB_TRANSFER_CANCELLED:
        break;
    case LIBUSB_TRANSFER_NO_DEVICE:
        sh2_detach(s, "unplugged (transfer ended: no device)");
        break;
    default: {
        s->transfer_errors++;
        char msg[96];
        snprintf(msg, sizeof msg, "bulk transfer failed: %s", libusb_error_name(x->status));
        if (s->state != ST_IDLE && s->state != ST_STOPPING) {
            sh2_emit(s, SH_EV_STREAM_ERROR, 1, msg);
            sh2_set_state(s, ST_STOPPING);
            s->stop_deadline = 0;
        }
        break;
    }
    }
    if (resubmit) {
        int rc = libusb_submit_transfer(x);
        if (rc == 0)
            return;
        if (rc == LIBUSB_ERROR_NO_DEVICE) {
            x->user_data = NULL;
            s->bulk_inflight--;
            sh2_detach(s, "unplugged (resubmit: no device)");
            return;
        }
        char msg[96];
        snprintf(msg, sizeof msg, "cannot resubmit bulk transfer: %s", libusb_error_name(rc));
        sh2_emit(s, SH_EV_STREAM_ERROR, 1, msg);
    }
    x->user_data = NULL;
    s->bulk_inflight--;
    if (s->bulk_inflight == 0 && s->state == ST_STOPPING) {
        sh2_set_state(s, ST_IDLE);
        /* detail 1: the LAST block came (SENSOR.md: it holds every sample
         * taken before STOP), 0: the stream ended without it */
        sh2_emit(s, SH_EV_STREAM_STOPPED, s->got_last, "stream stopped");
    }
    sh2_maybe_finish_detach(s);
}

int sh2_submit_bulk(struct sh_drv *s)
{
    for (int i = 0; i < SH_DRV_TRANSFERS; i++) {
        struct libusb_transfer *x = s->bulk[i];
        if (x->user_data)
            continue;
        /* user_data is the driver while in flight, NULL when idle. */
        x->user_data = s;
        int rc = libusb_submit_transfer(x);
        if (rc != 0) {
            x->user_data = NULL;
            return rc;
        }
        s->bulk_inflight++;
    }
    return 0;
}

void sh2_free_bulk(struct sh_drv *s)
{
    for (int i = 0; i < SH_DRV_TRANSFERS; i++) {
        if (s->bulk[i]) {
            free(s->bulk[i]->buffer);
            libusb_free_transfer(s->bulk[i]);
            s->bulk[i] = NULL;
        }
    }
}

int sh2_alloc_bulk(struct sh_drv *s)
{
    for (int i = 0; i < SH_DRV_TRANSFERS; i++) {
        struct libusb_transfer *x = libusb_alloc_transfer(0);
        uint8_t *buf = malloc(SH_TRANSFER_SIZE);
        if (!x || !buf) {
            libusb_free_transfer(x);
            free(buf);
            sh2_free_bulk(s);
            return -ENOMEM;
        }
        libusb_fill_bulk_transfer(x, s->handle, SH_EP_STREAM, buf, SH_TRANSFER_SIZE, bulk_cb, NULL,
                                  0);
        s->bulk[i] = x;
    }
    return 0;
}

/* Every transfer has ended: the handle can be closed -- but not from
 * inside libusb's event handling (libusb_close would deadlock on the event
 * lock), so only flag it here; process() closes it. */
void sh2_maybe_finish_detach(struct sh_drv *s)
{
    if (s->gone && s->bulk_inflight == 0 && !s->ctrls)
        s->close_pending = true;
}

/* The head is gone (hotplug, or a transfer ended with NO_DEVICE): end the
 * stream and cancel every transfer in flight; protocol.c closes the handle
 * once they have all ended (or at gone_deadline). */
void sh2_detach(struct sh_drv *s, const char *reason)
{
    if (!s->present)
        return;
    s->present = false;
    s->gone = true;
    s->gone_deadline = dev_now_us() + SH_DRV_GONE_WAIT_MS * 1000u;
    dev_log(&s->dev, LOG_WARNING, "sensor: gone: %s", reason);
    if (s->state != ST_IDLE) {
        sh2_emit(s, SH_EV_STREAM_ERROR, 0, "stream ended: device gone");
        sh2_set_state(s, ST_STOPPING);
        s->stop_deadline = 0;
    }
    sh2_cancel_bulk(s);
    for (struct sh_ctrl *c = s->ctrls; c; c = c->next_link)
        libusb_cancel_transfer(c->xfer);
    if (s->cb.on_presence)
        s->cb.on_presence(s->user, false, reason);
    sh2_maybe_finish_detach(s);
}

bool sh_drv_streaming(const struct sh_drv *s)
{
    return s->state == ST_STREAMING;
}
void sh_drv_stream_stats(const struct sh_drv *s, struct sh_stream_stats *out)
{
    *out = s->stream.stats;
}
