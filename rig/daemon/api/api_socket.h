/* The API's listening socket: created with mode 0660, replacing a stale
 * socket file (nobody listening) but never another file (docs/API.md,
 * "Connecting"). */
#ifndef RIG_API_SOCKET_H
#define RIG_API_SOCKET_H

#include <sys/stat.h>

/* A listening, non-blocking Unix stream socket at path; *st is the socket
 * file's (so the server removes only its own at exit). -1 with errno:
 * EADDRINUSE (someone listens), EEXIST (not a socket), ENAMETOOLONG. */
int api_listen_on(const char *path, struct stat *st);

#endif
