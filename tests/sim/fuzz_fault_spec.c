/* libFuzzer target for rigsim's --fault spec parser (rs_fault_parse).
 * Input: any bytes, cut at the first NUL and terminated.
 * Invariants checked (abort on violation):
 *  - success fills a known fault kind, finite numbers, a time >= 0, and a
 *    re-plug delay only for unplug kinds; failure leaves a message;
 *  - parsing is deterministic: the same spec parses to the same fault. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/control_parse.h"
#include "sim/model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void check_fault(const struct rs_fault *f)
{
    REQUIRE(f->kind >= 0);
    REQUIRE(f->is_model ? f->kind < SIM_FAULT_COUNT_ : f->kind < RS_LF_COUNT_);
    REQUIRE(!f->has_at || (isfinite(f->at_s) && f->at_s >= 0));
    REQUIRE(!f->has_value || isfinite(f->value));
    bool unplug = !f->is_model && (f->kind == RS_LF_PEN_UNPLUG || f->kind == RS_LF_SENSOR_UNPLUG);
    if (unplug && f->has_value)
        REQUIRE(f->replug_after_s == f->value);
    else
        REQUIRE(f->replug_after_s < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    REQUIRE(spec != NULL);
    memcpy(spec, data, size);
    spec[size] = '\0';

    struct rs_fault f, again;
    char err[512] = "", err2[512] = "";
    int r = rs_fault_parse(spec, &f, err, sizeof err);
    REQUIRE(r == 0 || r == -1);
    if (r == 0) {
        check_fault(&f);
        REQUIRE(rs_fault_parse(spec, &again, err2, sizeof err2) == 0);
        REQUIRE(f.kind == again.kind && f.is_model == again.is_model && f.has_at == again.has_at &&
                f.has_value == again.has_value && (!f.has_at || f.at_s == again.at_s) &&
                (!f.has_value || f.value == again.value) &&
                f.replug_after_s == again.replug_after_s);
    } else {
        REQUIRE(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
    }
    free(spec);
    return 0;
}
