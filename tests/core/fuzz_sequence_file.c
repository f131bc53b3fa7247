/* libFuzzer: parse and validate arbitrary bytes as a sequence file, with
 * references checked against the reference spec (built in, so the target
 * needs no files). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sequence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char spec_text[] =
    "{\"format\":\"rig-spec/1\",\"name\":\"fuzz\",\"version\":\"1\",\"pen\":{\"model\":\"MNP-A\"},"
    "\"measurements\":["
    "{\"name\":\"rate\",\"quantity\":\"stroke_rate_hz\",\"units\":\"Hz\",\"nominal\":\"$rate_hz\",\"tolerance_pct\":5},"
    "{\"name\":\"depth\",\"quantity\":\"depth_mean_mm\",\"units\":\"mm\",\"nominal\":\"$depth_mm\",\"tolerance\":0.15},"
    "{\"name\":\"spin_up\",\"quantity\":\"spinup_ms\",\"units\":\"ms\",\"comparison\":\"LT\",\"limit\":100},"
    "{\"name\":\"stop_time\",\"quantity\":\"stop_ms\",\"units\":\"ms\",\"comparison\":\"LT\",\"limit\":200},"
    "{\"name\":\"firmware\",\"quantity\":\"firmware_version\",\"comparison\":\"MATCH\",\"pattern\":\"^1\\\\.\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rig_spec *spec;
    struct rig_problems p;
    problems_init(&p);
    if (!spec) {
        spec = spec_parse("spec", spec_text, sizeof spec_text - 1, &p);
        if (!spec)
            abort();
    }
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    struct rig_sequence *s = sequence_parse("fuzz", buf, size, spec, &p);
    if ((s != NULL) == problems_any(&p))
        abort();
    if (s)
        (void)sequence_leaf_count(s);
    sequence_free(s);
    problems_free(&p);
    free(buf);
    return 0;
}
