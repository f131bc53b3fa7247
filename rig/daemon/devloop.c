/* sd-event glue for bench device drivers (see devloop.h). */
#include "daemon/devloop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <syslog.h>

#include "daemon/log.h"

static void drop_io(struct dev_watch *w)
{
    for (int i = 0; i < w->nfds; i++)
        w->io[i] = sd_event_source_disable_unref(w->io[i]);
    w->nfds = 0;
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *user)
{
    struct dev_watch *w = user;
    (void)src;
    struct pollfd fds[DEV_MAX_POLLFDS];
    int n = w->nfds;
    for (int i = 0; i < n; i++) {
        fds[i] = w->fds[i];
        fds[i].revents = fds[i].fd == fd ? (short)revents : 0;
    }
    dev_process(w->dev, fds, n);
    dev_watch_sync(w);
    return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *user)
{
    struct dev_watch *w = user;
    (void)src;
    (void)usec;
    struct pollfd fds[DEV_MAX_POLLFDS];
    for (int i = 0; i < w->nfds; i++) {
        fds[i] = w->fds[i];
        fds[i].revents = 0;
    }
    dev_process(w->dev, fds, w->nfds);
    dev_watch_sync(w);
    return 0;
}

static bool same_fds(const struct dev_watch *w, const struct pollfd *fds, int n)
{
    if (n != w->nfds)
        return false;
    for (int i = 0; i < n; i++)
        if (fds[i].fd != w->fds[i].fd)
            return false;
    return true;
}

static int sync_io(struct dev_watch *w)
{
    struct pollfd fds[DEV_MAX_POLLFDS];
    int n = dev_pollfds(w->dev, fds, DEV_MAX_POLLFDS);
    /* A closed and re-opened fd may get the same number but is no longer
     * in epoll: rebuild whenever the driver says its fds changed. */
    bool changed = !w->synced || w->generation != w->dev->fd_generation;
    w->generation = w->dev->fd_generation;
    w->synced = true;
    if (changed || !same_fds(w, fds, n)) {
        drop_io(w);
        for (int i = 0; i < n; i++) {
            int rc =
                sd_event_add_io(w->ev, &w->io[i], fds[i].fd, (uint32_t)fds[i].events, on_io, w);
            if (rc < 0) {
                log_msg(LOG_ERR, "%s: cannot watch fd %d: %s", w->dev->ops->kind, fds[i].fd,
                        strerror(-rc));
                w->nfds = i;
                return rc;
            }
            w->fds[i] = fds[i];
            w->nfds = i + 1;
        }
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (fds[i].events != w->fds[i].events) {
            int rc = sd_event_source_set_io_events(w->io[i], (uint32_t)fds[i].events);
            if (rc < 0)
                return rc;
            w->fds[i].events = fds[i].events;
        }
    }
    return 0;
}

static int sync_timer(struct dev_watch *w)
{
    uint64_t dl = dev_deadline(w->dev);
    if (dl == DEV_NO_DEADLINE)
        return sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
    int rc = sd_event_source_set_time(w->timer, dl);
    if (rc < 0)
        return rc;
    return sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
}

int dev_watch_sync(struct dev_watch *w)
{
    if (!w->dev)
        return 0;
    int rc = sync_io(w);
    int rc2 = sync_timer(w);
    return rc < 0 ? rc : rc2;
}

int dev_watch_start(struct dev_watch *w, sd_event *ev, struct dev *dev)
{
    memset(w, 0, sizeof *w);
    w->ev = ev;
    w->dev = dev;
    /* Accuracy 1 ms: pen timeouts are 100 ms, no need to wake exactly. */
    int rc = sd_event_add_time(ev, &w->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_timer, w);
    if (rc < 0)
        return rc;
    return dev_watch_sync(w);
}

void dev_watch_stop(struct dev_watch *w)
{
    drop_io(w);
    w->timer = sd_event_source_disable_unref(w->timer);
    w->dev = NULL;
}
