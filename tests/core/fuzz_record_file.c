/* libFuzzer target for the files rigctl reads back after a run: the input
 * is tried both as a capture attachment (rig-capture/1 or /2, through a memfd so
 * capture_read parses it exactly as it would a file) and as a run record
 * (JSON) turned into JUnit XML, which must always be well-formed XML
 * whatever the record holds. */
#include <assert.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/junit.h"
#include "core/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void try_capture(const uint8_t *data, size_t size)
{
    int fd = memfd_create("capture", MFD_CLOEXEC);
    if (fd < 0)
        return;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return;
    }
    char path[64], err[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct rig_capture c;
    if (capture_read(path, &c, err, sizeof err) == 0) {
        assert(size == CAPTURE_HEADER_SIZE + 8 * c.n || (size > 8 && data[8] == 2));
        capture_free(&c);
    } else {
        assert(err[0] != '\0');
    }
    close(fd);
}

static void try_record(const uint8_t *data, size_t size)
{
    cJSON *rec = cJSON_ParseWithLength((const char *)data, size);
    if (!rec)
        return;
    char *xml = junit_from_record(rec);
    if (xml) {
        GMarkupParser none = { 0 };
        GMarkupParseContext *ctx = g_markup_parse_context_new(&none, 0, NULL, NULL);
        gboolean ok = g_markup_parse_context_parse(ctx, xml, -1, NULL) &&
                      g_markup_parse_context_end_parse(ctx, NULL);
        assert(ok && "JUnit output is not well-formed XML");
        g_markup_parse_context_free(ctx);
        free(xml);
    }
    cJSON_Delete(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_capture(data, size);
    try_record(data, size);
    return 0;
}
