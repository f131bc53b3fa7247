#include "core/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

static void finish(GChecksum *c, char hex[DIGEST_HEX_LEN + 1])
{
    const gchar *s = g_checksum_get_string(c);
    strncpy(hex, s, DIGEST_HEX_LEN);
    hex[DIGEST_HEX_LEN] = '\0';
    g_checksum_free(c);
}

void digest_sha256_buf(const void *buf, size_t len, char hex[DIGEST_HEX_LEN + 1])
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    /* g_checksum_update takes a gssize: feed huge buffers in pieces. */
    const guchar *p = buf;
    while (len > 0) {
        size_t n = len > (1u << 30) ? (1u << 30) : len;
        g_checksum_update(c, p, (gssize)n);
        p += n;
        len -= n;
    }
    finish(c, hex);
}

int digest_sha256_file(const char *path, char hex[DIGEST_HEX_LEN + 1])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    guchar buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            g_checksum_free(c);
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        g_checksum_update(c, buf, n);
    }
    close(fd);
    finish(c, hex);
    return 0;
}
