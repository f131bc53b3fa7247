/* The sensor head's vendor control requests (protocol/SENSOR.md section 2):
 * the firmware's request checks, their order, the error register behind
 * GET_ERROR, and the calls into the model. No USB plumbing: sh_emu.c hands
 * in the setup packet and the data stage of every vendor request and turns
 * the result into a completed URB or a STALL.
 */
#ifndef RIG_SIM_SH_VENDOR_H
#define RIG_SIM_SH_VENDOR_H

#include <stdint.h>

struct sim_model;

/* A setup packet, host byte order. */
struct sh_setup {
    uint8_t request_type; /* bmRequestType */
    uint8_t request;      /* bRequest */
    uint16_t value, index, length;
};

/* The firmware's own state besides the model. */
struct sh_vendor {
    uint8_t last_error; /* enum sh_error of the latest vendor request */
};

/* What the USB side has to do after a request (all zero: nothing). */
struct sh_vendor_effect {
    uint32_t start_frames; /* START accepted: frames per block */
};

/* Power-up: no error remembered. */
void sh_vendor_reset(struct sh_vendor *v);

/* One vendor request (world lock held). data holds the OUT data stage, or
 * receives the IN data stage (room for setup->length bytes). Returns the
 * data-stage length (>= 0: IN bytes sent, OUT bytes taken), or -EPIPE when
 * the request is refused (STALL); the reason is then in v->last_error. */
int sh_vendor_request(struct sh_vendor *v, struct sim_model *m, const struct sh_setup *setup,
                      uint8_t *data, struct sh_vendor_effect *fx);

#endif
