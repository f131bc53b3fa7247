/* Glue between event-loop-agnostic drivers (rig/dev/dev.h) and sd-event:
 * one io source per fd the driver wants watched plus one CLOCK_MONOTONIC
 * timer for its next deadline. After every dispatch the watch re-reads the
 * driver's fds (only rebuilding sources when the set changed) and deadline.
 */
#ifndef RIGD_DEVLOOP_H
#define RIGD_DEVLOOP_H

#include <systemd/sd-event.h>

#include "dev/dev.h"

struct dev_watch {
    sd_event *ev;
    struct dev *dev;
    sd_event_source *io[DEV_MAX_POLLFDS];
    struct pollfd fds[DEV_MAX_POLLFDS];
    int nfds;
    sd_event_source *timer;
    unsigned generation;
    bool synced;
};

/* 0 or -errno. */
int dev_watch_start(struct dev_watch *w, sd_event *ev, struct dev *dev);
void dev_watch_stop(struct dev_watch *w);
/* Re-read fds and deadline (call after driving the device from outside
 * the watch's own callbacks, e.g. after sending a request). */
int dev_watch_sync(struct dev_watch *w);

#endif
