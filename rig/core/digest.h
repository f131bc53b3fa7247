/* SHA-256 of files and buffers (GLib's GChecksum), as lowercase hex. */
#ifndef RIG_CORE_DIGEST_H
#define RIG_CORE_DIGEST_H

#include <stddef.h>

#define DIGEST_HEX_LEN 64

void digest_sha256_buf(const void *buf, size_t len, char hex[DIGEST_HEX_LEN + 1]);
/* Returns 0, or -errno if the file cannot be read. */
int digest_sha256_file(const char *path, char hex[DIGEST_HEX_LEN + 1]);

#endif
