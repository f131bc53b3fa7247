/* The API's listening socket (see api_socket.h). */
#include "daemon/api/api_socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa->sun_path, path);
    return 0;
}

/* An existing socket file is stale when connecting to it is refused. */
static int remove_stale_socket(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        errno = EEXIST;
        return -1;
    }
    struct sockaddr_un sa;
    if (fill_addr(&sa, path) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    close(fd);
    if (r == 0) {
        errno = EADDRINUSE;
        return -1;
    }
    if (err != ECONNREFUSED) {
        errno = err;
        return -1;
    }
    if (unlink(path) < 0 && errno != ENOENT)
        return -1;
    return 0;
}

int api_listen_on(const char *path, struct stat *st)
{
    struct sockaddr_un sa;
    if (fill_addr(&sa, path) < 0 || remove_stale_socket(path) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* Nobody can connect before listen(), so setting the mode between
	 * bind() and listen() leaves no window with wider permissions. */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        goto fail;
    if (chmod(path, 0660) < 0 || lstat(path, st) < 0 || listen(fd, SOMAXCONN) < 0) {
        int err = errno;
        unlink(path);
        errno = err;
        goto fail;
    }
    return fd;
fail:;
    int err = errno;
    close(fd);
    errno = err;
    return -1;
}
