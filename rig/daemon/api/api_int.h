/* rigd's JSON-lines API server, private: the server and client state its
 * parts share (see api.h). api.c accepts clients, reads and dispatches
 * their requests (and "watch") and runs the server; api_send.c sends to
 * them (replies, errors, published events, the output queue's flushing)
 * and marks a client whose connection failed. api.c calls api_send.c,
 * never the other way. */
#ifndef RIG_API_INT_H
#define RIG_API_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "daemon/api/api.h"
#include "daemon/api/api_args.h"
#include "daemon/api/api_outq.h"

struct api_client {
    struct api_server *srv;
    struct api_client *prev, *next;
    int fd;
    sd_event_source *io;
    uint64_t id;
    char name[64];
    uid_t uid;
    pid_t pid;
    bool have_cred;
    void *user;
    unsigned topics;
    struct api_linebuf lb;
    struct api_outq q;
    bool read_eof; /* peer will send no more: close once answered and sent */
    bool closing;  /* api_client_close(): close once output is sent */
    /* Requests not answered yet (handlers may answer asynchronously, e.g.
	 * when the pen replies): a half-closed client keeps its connection
	 * until they are. */
    unsigned outstanding;
    bool dead; /* connection over: freed by the reaper */
};

struct api_server {
    sd_event *ev;
    int fd;
    char *path; /* NULL when the socket was passed in */
    dev_t sock_dev;
    ino_t sock_ino;
    sd_event_source *listen_io;
    sd_event_source *accept_timer;
    sd_event_source *reaper;
    struct api_handlers h;
    void *user;
    struct api_client *clients;
    unsigned nclients;
    uint64_t next_id;
    size_t soft_cap, hard_cap;
    unsigned max_clients;
    struct api_stats stats;
};

/* api_send.c */
void api_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The connection is over: stop watching it; the reaper frees it. */
void api_client_kill(struct api_client *c);
/* What to wait for next (read, write), or kill the client when done. */
void api_client_update_events(struct api_client *c);
/* Write what the socket takes, then api_client_update_events(). */
void api_client_flush(struct api_client *c);
/* Serialise and queue an essential message. Takes ownership of o. */
void api_send_obj(struct api_client *c, cJSON *o);

#endif
