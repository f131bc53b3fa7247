/* libFuzzer target for rigweb's users file parser (rig/web/auth.c,
 * users_parse): arbitrary bytes as the file. A file that parses gives
 * valid names (unique), known roles and argon2id hash strings. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "web/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct web_user *u;
    size_t n;
    char err[256];
    if (users_parse((const char *)data, size, &u, &n, err, sizeof err) != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        assert(auth_valid_name(u[i].name));
        assert(role_name(u[i].role) != NULL);
        assert(strncmp(u[i].hash, "$argon2id$", 10) == 0);
        for (size_t k = 0; k < i; k++)
            assert(strcmp(u[i].name, u[k].name) != 0);
    }
    users_free(u, n);
    return 0;
}
