/* libFuzzer target for rigweb's config parser (rig/web/config.c):
 * arbitrary bytes as the config text. A config that parses must keep the
 * invariants rigweb relies on: every string set, numbers in their ranges,
 * TLS cert and key together, every sequence an absolute path. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "web/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct web_config c;
    char err[256];
    if (config_defaults(&c, err, sizeof err))
        return 0;
    if (config_parse(&c, (const char *)data, size, err, sizeof err) == 0) {
        assert(c.listen && c.listen[0] && c.rigd_socket && c.users_file && c.static_dir &&
               c.chartjs);
        assert(c.port >= 0 && c.port <= 65535);
        assert(c.session_idle_s >= 1 && c.max_body >= 1024 && c.max_clients >= 4 &&
               c.sse_queue >= 16);
        assert((c.tls_cert == NULL) == (c.tls_key == NULL));
        for (size_t i = 0; i < c.nsequences; i++)
            assert(c.sequences[i].fixture[0] && c.sequences[i].path[0] == '/');
        (void)config_is_loopback(c.listen);
        (void)config_check_security(&c, err, sizeof err);
    } else {
        assert(memchr(err, '\0', sizeof err) && err[0]);
    }
    config_free(&c);
    return 0;
}
