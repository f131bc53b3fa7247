/* Conformance tests: clients written from protocol/PEN.md and
 * protocol/SENSOR.md alone. They include no project header and link no
 * project code: every constant, layout, CRC and COBS routine is taken from
 * the documents and written out here, so a mistake shared by the codecs
 * and the emulators cannot hide itself. They run under `rigsim -- ...`
 * and talk to the emulated devices like any program would talk to real
 * ones (termios for the pen's tty, libusb for the sensor head); rigsim's
 * control socket only injects conditions (a missing cartridge) that a
 * real bench would need a hand for.
 */
#ifndef RIG_TESTS_SIM_CONFORM_H
#define RIG_TESTS_SIM_CONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* One scenario's bookkeeping: failures are printed and counted, the
 * scenario goes on unless the failure makes the rest meaningless. */
struct ct {
    const char *scenario;
    int failures;
};

void ct_fail(struct ct *t, const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define CT_CHECK(t, cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ct_fail((t), __FILE__, __LINE__, #cond, __VA_ARGS__);                                  \
    } while (0)
#define CT_REQUIRE(t, cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ct_fail((t), __FILE__, __LINE__, #cond, __VA_ARGS__);                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

struct ct_scenario {
    const char *name;
    const char *what; /* one line for --help and the log */
    void (*run)(struct ct *t);
};

/* Runs the scenario named by argv[1]; exit status 0 only if it passed. */
int ct_main(int argc, char **argv, const struct ct_scenario *tab, size_t n);

uint64_t ct_now_ms(void);
void ct_sleep_ms(unsigned ms);

/* Little-endian fields (both documents: all integers little-endian). */
static inline void ct_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void ct_put32(uint8_t *p, uint32_t v)
{
    ct_put16(p, (uint16_t)v);
    ct_put16(p + 2, (uint16_t)(v >> 16));
}
static inline uint16_t ct_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t ct_get32(const uint8_t *p)
{
    return ct_get16(p) | (uint32_t)ct_get16(p + 2) << 16;
}

/* "53 48 42 31 ..." as in the documents' worked examples -> bytes. */
size_t ct_hex(const char *hex, uint8_t *out, size_t cap);

/* rigsim's control socket ($RIGSIM_CONTROL): one JSON line in, one out.
 * ct_ctl returns the reply (caller frees) or NULL; ct_ctl_ok wants
 * "ok":true. */
cJSON *ct_ctl(const char *line);
bool ct_ctl_ok(const char *line);

#endif
