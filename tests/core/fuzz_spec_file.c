/* libFuzzer: parse and validate arbitrary bytes as a spec file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1); /* the parser wants a terminating NUL */
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    struct rig_problems p;
    problems_init(&p);
    struct rig_spec *s = spec_parse("fuzz", buf, size, &p);
    /* a spec either loads without problems or fails with at least one */
    if ((s != NULL) == problems_any(&p))
        abort();
    spec_free(s);
    problems_free(&p);
    free(buf);
    return 0;
}
