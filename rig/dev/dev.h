/* Device driver interface shared by every bench device.
 *
 * A driver never owns an event loop. It exposes the file descriptors it
 * wants watched (dev_pollfds), the next monotonic deadline at which it wants
 * to be called even if nothing is readable (dev_deadline), and one entry
 * point that does all pending work (dev_process). rigd wires these into
 * sd-event; tests drive them with plain poll() via dev_poll_once().
 *
 * The set of fds can change at run time (libusb opens/closes device fds,
 * the pen's port disappears and comes back): every change bumps
 * dev->fd_generation so the host knows to re-read dev_pollfds().
 */
#ifndef RIG_DEV_DEV_H
#define RIG_DEV_DEV_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define DEV_NO_DEADLINE UINT64_MAX
#define DEV_MAX_POLLFDS 16

struct dev;

struct dev_ops {
    const char *kind; /* "pen", "sensor" */
    /* Fill out[0..max) with the fds to watch; returns how many. */
    int (*pollfds)(struct dev *d, struct pollfd *out, int max);
    /* Next CLOCK_MONOTONIC time (us) to call process(), or DEV_NO_DEADLINE. */
    uint64_t (*deadline)(struct dev *d);
    /* Do all pending work: fds in `fds` carry revents (may be n == 0 when
     * only a deadline expired). Never blocks. */
    void (*process)(struct dev *d, const struct pollfd *fds, int n);
    /* Identity, link state and statistics as a new JSON object. */
    cJSON *(*describe)(struct dev *d);
};

/* Log sink: drivers report problems and (when verbose) protocol traffic
 * through it; level is a syslog level. Each device has its own, so the
 * daemon can say which fixture a line is about. */
typedef void (*dev_log_fn)(void *user, int level, const char *msg);

struct dev {
    const struct dev_ops *ops;
    unsigned fd_generation;
    dev_log_fn log; /* NULL: stderr */
    void *log_user;
    bool log_verbose; /* also protocol traffic (LOG_DEBUG) */
};

static inline int dev_pollfds(struct dev *d, struct pollfd *out, int max)
{
    return d->ops->pollfds(d, out, max);
}
static inline uint64_t dev_deadline(struct dev *d)
{
    return d->ops->deadline(d);
}
static inline void dev_process(struct dev *d, const struct pollfd *fds, int n)
{
    d->ops->process(d, fds, n);
}
static inline cJSON *dev_describe(struct dev *d)
{
    return d->ops->describe(d);
}

/* CLOCK_MONOTONIC in microseconds (the clock sd-event's CLOCK_MONOTONIC
 * sources use too). */
uint64_t dev_now_us(void);

/* One iteration of a poll()-based loop over several devices: waits at most
 * max_wait_ms (or until the earliest device deadline) and processes every
 * device. For tests and tools; rigd uses sd-event instead. Returns the
 * number of devices that had ready fds, or -errno. */
int dev_poll_once(struct dev *const *devs, int ndev, int max_wait_ms);

/* Where d's lines go (fn NULL: stderr), and whether its protocol traffic
 * is logged. */
void dev_set_log(struct dev *d, dev_log_fn fn, void *user, bool verbose);
void dev_log(const struct dev *d, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The identity fields every device reports, as a new JSON object the
 * driver adds its own fields to. */
cJSON *dev_identity_json(const char *model, const char *serial, unsigned hw_revision,
                         unsigned fw_major, unsigned fw_minor, unsigned fw_patch);

#endif
