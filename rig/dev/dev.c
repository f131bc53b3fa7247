/* Helpers shared by the drivers: clock, logging hook, a poll() loop step. */
#include "dev/dev.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

void dev_set_log(struct dev *d, dev_log_fn fn, void *user, bool verbose)
{
    d->log = fn;
    d->log_user = user;
    d->log_verbose = verbose;
}

void dev_log(const struct dev *d, int level, const char *fmt, ...)
{
    if (level >= LOG_DEBUG && !d->log_verbose)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (d->log)
        d->log(d->log_user, level, buf);
    else
        fprintf(stderr, "%s\n", buf);
}

uint64_t dev_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int dev_poll_once(struct dev *const *devs, int ndev, int max_wait_ms)
{
    struct pollfd fds[DEV_MAX_POLLFDS * 4];
    int first[8], count[8];
    int total = 0;
    uint64_t earliest = DEV_NO_DEADLINE;

    if (ndev > 8)
        return -EINVAL;
    for (int i = 0; i < ndev; i++) {
        int room = (int)(sizeof fds / sizeof fds[0]) - total;
        first[i] = total;
        count[i] =
            dev_pollfds(devs[i], fds + total, room > DEV_MAX_POLLFDS ? DEV_MAX_POLLFDS : room);
        total += count[i];
        uint64_t dl = dev_deadline(devs[i]);
        if (dl < earliest)
            earliest = dl;
    }
    int timeout = max_wait_ms;
    if (earliest != DEV_NO_DEADLINE) {
        uint64_t now = dev_now_us();
        uint64_t wait_ms = earliest <= now ? 0 : (earliest - now + 999) / 1000;
        if ((int64_t)wait_ms < timeout || timeout < 0)
            timeout = (int)wait_ms;
    }
    int r = poll(fds, (nfds_t)total, timeout);
    if (r < 0)
        return errno == EINTR ? 0 : -errno;
    int ready = 0;
    for (int i = 0; i < ndev; i++) {
        bool any = false;
        for (int k = 0; k < count[i]; k++)
            any = any || fds[first[i] + k].revents;
        ready += any;
        /* Each device gets its own slice (devices share no fds). */
        dev_process(devs[i], fds + first[i], count[i]);
    }
    return ready;
}

cJSON *dev_identity_json(const char *model, const char *serial, unsigned hw_revision,
                         unsigned fw_major, unsigned fw_minor, unsigned fw_patch)
{
    cJSON *o = cJSON_CreateObject();
    char fw[40];
    snprintf(fw, sizeof fw, "%u.%u.%u", fw_major, fw_minor, fw_patch);
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "serial", serial);
    cJSON_AddNumberToObject(o, "hw_revision", hw_revision);
    cJSON_AddStringToObject(o, "firmware", fw);
    return o;
}
