/* libFuzzer: arbitrary bytes as a bench file (fixtures/benches/NAME.json).
 *
 * Whatever the bytes, sim_params_from_json must not crash, must leave the
 * params byte-for-byte untouched when it fails (it promises to work on a
 * copy) and must say why in err. Whatever it accepts must be a bench the
 * model can be built from and whose devices can describe themselves on the
 * wire: the reader's ranges, sim_model_new's checks and the protocol
 * codecs' validation must not drift apart. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sim/model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The model built from accepted params answers IDENTIFY, GET_IDENTITY and
 * GET_CAL with messages the codecs accept. */
static void check_usable(const struct sim_params *p)
{
    struct sim_model *m = sim_model_new(p, 1);
    if (!m)
        abort();
    struct pen_msg msg = { .type = PEN_MSG_IDENTIFY, .flags = PEN_F_RESPONSE };
    sim_pen_identity(m, &msg.u.identity);
    uint8_t frame[PEN_MAX_FRAME];
    if (pen_encode(&msg, frame, sizeof frame) < 0)
        abort();
    struct sh_identity sid;
    sim_sh_identity(m, &sid);
    uint8_t wire[SH_IDENTITY_SIZE > SH_CALIBRATION_SIZE ? SH_IDENTITY_SIZE : SH_CALIBRATION_SIZE];
    if (sh_identity_encode(&sid, wire, sizeof wire) < 0)
        abort();
    struct sh_calibration cal;
    sim_sh_calibration(m, &cal);
    if (sh_calibration_encode(&cal, wire, sizeof wire) < 0)
        abort();
    sim_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    if (!root)
        return 0;

    struct sim_params p, before;
    sim_params_default(&p);
    memcpy(&before, &p, sizeof p);
    char err[256];
    if (sim_params_from_json(&p, root, err, sizeof err) < 0) {
        if (memcmp(&p, &before, sizeof p) != 0 || err[0] == '\0')
            abort();
    } else {
        check_usable(&p);
    }
    cJSON_Delete(root);
    return 0;
}
