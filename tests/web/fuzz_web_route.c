/* libFuzzer target for rigweb's path handling (rig/web/route.c): the
 * input's first line is a route pattern of the kind the routes table has,
 * the rest the request path. A match's captures are non-empty pieces of
 * the path ('*' ones without '/'); a path route_safe_path accepts has no
 * "..", no leading dot, no empty segment. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const patterns[] = {
    "/",           "/login",       "/static/**",    "/api/fixtures/*/run",
    "/api/unit/*", "/api/users/*", "/reports/run/*"
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    char buf[256];
    for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++) {
        const char *cap[2] = { NULL, NULL };
        if (!route_match(patterns[i], url, buf, sizeof buf, cap))
            continue;
        size_t n = strchr(patterns[i], '*') ? 1 : 0;
        for (size_t k = 0; k < n; k++) {
            assert(cap[k] && cap[k][0] && strstr(url, cap[k]));
            if (!strstr(patterns[i], "**"))
                assert(!strchr(cap[k], '/'));
        }
    }
    if (route_safe_path(url)) {
        assert(url[0] != '.' && url[0] != '/' && !strstr(url, "/.") && !strstr(url, "//"));
        assert(strlen(url) <= 200);
    }
    free(url);
    return 0;
}
