/* rigctl's side of the JSON-lines API: connect, send, read lines with a
 * deadline, match replies to requests by id. */
#ifndef RIG_CTL_CONN_H
#define RIG_CTL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct ctl_conn {
    int fd;
    char *buf;
    size_t len, cap;
    bool eof;
    int next_id;
    cJSON *greeting; /* the server's "version" object */
};

/* The socket rigctl talks to when --socket is not given: $RIGD_SOCKET, else
 * $XDG_RUNTIME_DIR/rigd.sock when it exists, else /run/rigd/rigd.sock.
 * Writes a human list of the candidates into `tried` (for error messages). */
const char *ctl_default_socket(char *tried, size_t tried_len);

/* Connects and reads the greeting. On failure returns -1 and writes a
 * message for the user into err. */
int ctl_connect(struct ctl_conn *c, const char *path, double timeout_s, char *err, size_t errlen);
void ctl_close(struct ctl_conn *c);

/* Sends one object as a line. Adds "id" (returned) unless id_out is NULL. */
int ctl_send(struct ctl_conn *c, cJSON *obj, int *id_out);

/* Reads the next object. timeout_s < 0 waits forever. Returns 1 with *out
 * set, 0 on timeout, -1 on EOF/error/malformed line (message in err). */
int ctl_read(struct ctl_conn *c, double timeout_s, cJSON **out, char *err, size_t errlen);

/* Called for every object that is not the awaited reply (events). */
typedef void (*ctl_event_fn)(void *user, const cJSON *obj);

/* Sends `req` (takes ownership) and waits for the object echoing its id.
 * Returns 1 with *reply set (may be an "error" object), 0 on timeout, -1
 * on connection problems (message in err). */
int ctl_request(struct ctl_conn *c, cJSON *req, double timeout_s, ctl_event_fn on_event, void *user,
                cJSON **reply, char *err, size_t errlen);

#endif
