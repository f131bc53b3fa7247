/* libFuzzer target: the API's pure request path. The input is treated as
 * bytes arriving on a client socket: split into lines (in two uneven
 * chunks, to exercise reassembly) and each line parsed as a request. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon/api/api_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_line(const char *line, size_t len)
{
    struct api_parsed p;
    if (api_parse_request(line, len, &p) == 0) {
        /* A successful parse always has a non-empty class. */
        if (!p.cls || !p.cls[0])
            __builtin_trap();
    } else if (!p.code || !p.message[0]) {
        __builtin_trap();
    }
    /* An id that will be echoed is the client's text of one JSON number
	 * or string, short enough. */
    const cJSON *id = p.req ? cJSON_GetObjectItemCaseSensitive(p.req, "id") : NULL;
    if (id) {
        cJSON *again = cJSON_IsRaw(id) ? cJSON_Parse(id->valuestring) : NULL;
        if (!again || !(cJSON_IsNumber(again) || cJSON_IsString(again)) ||
            strlen(id->valuestring) > API_MAX_ID_LEN + 2)
            __builtin_trap();
        cJSON_Delete(again);
    }
    api_parsed_clear(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The whole input as one line too (the parser must cope with any
	 * bytes, newlines included). */
    parse_line((const char *)data, size);

    struct api_linebuf lb;
    /* A small limit so oversize handling is reached often. */
    if (api_linebuf_init(&lb, 256) < 0)
        return 0;
    size_t split = size ? data[0] % (size + 1) : 0;
    const char *chunks[2] = { (const char *)data, (const char *)data + split };
    size_t lens[2] = { split, size - split };
    for (int i = 0; i < 2; i++) {
        const char *d = chunks[i];
        size_t avail = lens[i];
        const char *line;
        size_t len;
        enum api_line_result r;
        while ((r = api_linebuf_feed(&lb, &d, &avail, &line, &len)) != API_LINE_NONE) {
            if (r == API_LINE_OK) {
                if (len == 0 || len > 256 || memchr(line, '\n', len))
                    __builtin_trap();
                parse_line(line, len);
            }
        }
        if (avail != 0)
            __builtin_trap();
    }
    const char *line;
    size_t len;
    if (api_linebuf_flush(&lb, &line, &len))
        parse_line(line, len);
    api_linebuf_free(&lb);
    return 0;
}
