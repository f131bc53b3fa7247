/* libFuzzer target for rigsim's control-socket request parser
 * (rs_control_parse: one line -> request or error message).
 * Input: any bytes, cut at the first NUL and terminated (on the socket a
 * line ends at '\n' and an embedded NUL ends the string the same way).
 * Invariants checked (abort on violation):
 *  - the result is 0 or -1; -1 leaves a terminated, non-empty message;
 *  - a parsed request has a defined kind and query, a known fault kind,
 *    finite numbers, and "after" only as a non-negative offset. */
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

static void check_request(const struct rs_ctl_request *r)
{
    switch (r->kind) {
    case RS_CTL_CLEAR:
    case RS_CTL_REMOUNT:
        return;
    case RS_CTL_SESSION:
        REQUIRE(r->session_seed <= 9007199254740992ull); /* 2^53 */
        return;
    case RS_CTL_SWAP_PEN: {
        size_t len = strnlen(r->swap_serial, sizeof r->swap_serial);
        REQUIRE(len > 0 && len < sizeof r->swap_serial);
        for (size_t i = 0; i < len; i++)
            REQUIRE(r->swap_serial[i] >= 0x20 && r->swap_serial[i] <= 0x7e);
        REQUIRE(r->swap_gap_s >= 0 && r->swap_gap_s <= 60);
        return;
    }
    case RS_CTL_QUERY:
        REQUIRE(r->query == RS_Q_PEN || r->query == RS_Q_SENSOR || r->query == RS_Q_STATS ||
                r->query == RS_Q_TIME);
        return;
    case RS_CTL_FAULT: {
        const struct rs_fault *f = &r->fault;
        REQUIRE(f->kind >= 0);
        REQUIRE(f->is_model ? f->kind < SIM_FAULT_COUNT_ : f->kind < RS_LF_COUNT_);
        REQUIRE(!f->has_value || isfinite(f->value));
        REQUIRE(!f->has_at || isfinite(f->at_s));
        REQUIRE(!r->at_from_now || (f->has_at && f->at_s >= 0));
        REQUIRE(isfinite(f->replug_after_s));
        return;
    }
    }
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    REQUIRE(line != NULL);
    memcpy(line, data, size);
    line[size] = '\0';

    struct rs_ctl_request req;
    char err[512] = "";
    int r = rs_control_parse(line, &req, err, sizeof err);
    REQUIRE(r == 0 || r == -1);
    if (r == 0)
        check_request(&req);
    else
        REQUIRE(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
    free(line);
    return 0;
}
