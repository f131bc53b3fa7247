/* libFuzzer target for rec_from_json (core/rec.h): whatever JSON it is
 * given, it either refuses it with a message or fills a record that
 * rec_to_json serialises, and that serialisation reads back to a record
 * that serialises to the same bytes again (the sink's documents are a
 * fixed point). */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The document of what doc reads as; NULL when it is refused. */
static char *reprint(const cJSON *doc)
{
    struct rec_run r;
    char err[256];
    int rc = rec_from_json(doc, &r, err, sizeof err);
    char *text = NULL;
    if (rc == 0) {
        cJSON *back = rec_to_json(&r);
        if (back)
            text = cJSON_PrintUnformatted(back);
        cJSON_Delete(back);
    } else {
        assert(rc == -EINVAL && err[0] != '\0');
    }
    rec_run_free(&r);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
    if (!doc)
        return 0;
    char *once = reprint(doc);
    cJSON_Delete(doc);
    if (!once)
        return 0;
    cJSON *again = cJSON_Parse(once);
    assert(again && "rec_to_json wrote what cJSON cannot parse");
    char *twice = reprint(again);
    assert(twice && "rec_from_json refused what rec_to_json wrote");
    assert(strcmp(once, twice) == 0 && "the record is not a fixed point");
    free(twice);
    free(once);
    cJSON_Delete(again);
    return 0;
}
