/* Fault injection: "--fault [N:]KIND[@SECONDS][=VALUE]" specs, and the
 * control socket that takes one JSON object per line at run time (and its
 * tiny client behind `rigsim --send`). One socket serves every bench: a
 * request's "bench" picks the one it acts on. All of it runs on the main
 * thread.
 */
#include "sim/rigsim.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <glib-unix.h>

#include "protocol/pen.h"
#include "protocol/sensor.h"

#define CTL_MAX_LINE        4096
#define CTL_SEND_TIMEOUT_MS 5000
#define RS_MAX_FAULT_BLOCKS 1000000u
#define RS_MAX_FAULT_AT_S   1e9 /* ~32 years: "never" */

/* ---------------------------------------------------------------- */
/* Applying faults                                                    */

struct scheduled {
    struct rs_bench *b;
    struct rs_fault f;
};

static gboolean on_scheduled(gpointer user)
{
    struct scheduled *sc = user;
    char err[256];
    sc->f.has_at = false;
    if (rs_fault_apply(sc->b, &sc->f, err, sizeof err) < 0)
        fprintf(stderr, "rigsim: scheduled fault: %s\n", err);
    return G_SOURCE_REMOVE;
}

static void schedule(struct rs_bench *b, const struct rs_fault *f, double delay_s)
{
    struct scheduled *sc = g_new(struct scheduled, 1);
    sc->b = b;
    sc->f = *f;
    /* clamp: a huge delay from the socket must not wrap to a short one */
    guint ms = delay_s <= 0                    ? 0
               : delay_s >= G_MAXUINT / 1000.0 ? G_MAXUINT
                                               : (guint)lround(delay_s * 1000.0);
    g_timeout_add_full(G_PRIORITY_DEFAULT, ms, on_scheduled, sc, g_free);
}

static double value_or(const struct rs_fault *f, double dflt)
{
    return f->has_value ? f->value : dflt;
}

/* A block count from a fault value: at least 1, and small enough that the
 * conversion (and the emulator's counter) cannot overflow. */
static unsigned block_count(const struct rs_fault *f)
{
    double v = value_or(f, 1);
    return v < 1 ? 1u : v > RS_MAX_FAULT_BLOCKS ? RS_MAX_FAULT_BLOCKS : (unsigned)lround(v);
}

static int apply_link(struct rs_bench *b, const struct rs_fault *f, char *err, size_t errlen)
{
    int rc = 0;
    struct rs_fault replug = { .is_model = false, .replug_after_s = -1 };
    switch ((enum rs_link_fault)f->kind) {
    case RS_LF_PEN_UNPLUG:
        rc = rs_pen_unplug(b->pen);
        replug.kind = RS_LF_PEN_REPLUG;
        break;
    case RS_LF_PEN_REPLUG:
        rc = rs_pen_plug(b->pen);
        break;
    case RS_LF_SENSOR_UNPLUG:
        rc = rs_sh_unplug(b->sh);
        replug.kind = RS_LF_SENSOR_REPLUG;
        break;
    case RS_LF_SENSOR_REPLUG:
        rc = rs_sh_plug(b->sh);
        break;
    case RS_LF_PEN_CORRUPT:
        rs_pen_set_corrupt_ber(b->pen, value_or(f, 1e-3));
        break;
    case RS_LF_PEN_DROP:
        rs_pen_set_drop_prob(b->pen, value_or(f, 0.5));
        break;
    case RS_LF_PEN_MUTE:
        rs_pen_set_mute(b->pen, value_or(f, 1) != 0);
        break;
    case RS_LF_SENSOR_DROP_BLOCK:
        rs_sh_drop_blocks(b->sh, block_count(f));
        break;
    case RS_LF_SENSOR_REPEAT_BLOCK:
        rs_sh_repeat_blocks(b->sh, block_count(f));
        break;
    case RS_LF_COUNT_:
        break;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s failed (see rigsim's stderr)", rs_link_fault_name(f->kind));
        return -1;
    }
    if ((f->kind == RS_LF_PEN_UNPLUG || f->kind == RS_LF_SENSOR_UNPLUG) && f->replug_after_s >= 0)
        schedule(b, &replug, f->replug_after_s);
    return 0;
}

int rs_fault_apply(struct rs_bench *b, const struct rs_fault *f, char *err, size_t errlen)
{
    struct rs_world *w = b->world;
    double now_s = (double)rs_world_now(w) / 1e9;
    if (f->is_model) {
        /* The model schedules by itself, in simulated time. NaN = its
         * documented default for that fault. */
        double at = f->has_at ? MAX(f->at_s, now_s) : now_s;
        at = MIN(at, RS_MAX_FAULT_AT_S); /* keeps at * 1e9 within int64 */
        rs_world_enter(w);
        sim_model_inject(w->model, (enum sim_fault_kind)f->kind, f->has_value ? f->value : NAN,
                         (uint64_t)llround(at * 1e9));
        rs_world_leave(w);
        rs_log(w, "fault %s at %.3f s", sim_fault_name((enum sim_fault_kind)f->kind), at);
        return 0;
    }
    if (f->has_at && f->at_s > now_s) {
        schedule(b, f, f->at_s - now_s);
        return 0;
    }
    rs_log(w, "fault %s", rs_link_fault_name(f->kind));
    return apply_link(b, f, err, errlen);
}

/* ---------------------------------------------------------------- */
/* Queries                                                            */

static cJSON *fault_names(uint32_t faults)
{
    static const char *const names[] = { "stall",          "overcurrent", "low-battery",
                                         "battery-cutoff", "overtemp",    "no-cartridge",
                                         "watchdog" };
    cJSON *a = cJSON_CreateArray();
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++)
        if (faults & (1u << i))
            cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
    return a;
}

static void query_pen(struct rs_bench *b, cJSON *r)
{
    struct pen_status st;
    bool running;
    rs_world_enter(b->world);
    sim_pen_status(b->world->model, &st);
    running = sim_pen_motor_running(b->world->model);
    rs_world_leave(b->world);
    cJSON_AddBoolToObject(r, "present", rs_pen_present(b->pen));
    cJSON_AddBoolToObject(r, "motor_running", running);
    cJSON_AddStringToObject(r, "state", pen_state_str(st.state));
    cJSON_AddNumberToObject(r, "set_rate_mhz", st.set_rate_mhz);
    cJSON_AddNumberToObject(r, "measured_rate_mhz", st.measured_rate_mhz);
    cJSON_AddNumberToObject(r, "set_depth_um", st.set_depth_um);
    cJSON_AddNumberToObject(r, "motor_current_ma", st.motor_current_ma);
    cJSON_AddNumberToObject(r, "supply_mv", st.supply_mv);
    cJSON_AddNumberToObject(r, "faults", st.faults);
    cJSON_AddItemToObject(r, "fault_names", fault_names(st.faults));
}

static void query_sensor(struct rs_bench *b, cJSON *r)
{
    struct sh_status st;
    rs_world_enter(b->world);
    sim_sh_status(b->world->model, &st);
    uint32_t avail = sim_sh_available(b->world->model);
    rs_world_leave(b->world);
    cJSON_AddBoolToObject(r, "present", rs_sh_present(b->sh));
    cJSON_AddBoolToObject(r, "streaming", (st.flags & SH_STAT_STREAMING) != 0);
    cJSON_AddNumberToObject(r, "rate_hz", st.rate_hz);
    cJSON_AddNumberToObject(r, "blocks_sent", st.blocks_sent);
    cJSON_AddNumberToObject(r, "overruns", st.overruns);
    cJSON_AddNumberToObject(r, "fifo_frames", avail);
}

static void query_stats(struct rs_bench *b, cJSON *r)
{
    struct rs_pen_stats ps;
    struct rs_sh_stats ss;
    rs_pen_get_stats(b->pen, &ps);
    rs_sh_get_stats(b->sh, &ss);
    cJSON *p = cJSON_AddObjectToObject(r, "pen");
    cJSON_AddNumberToObject(p, "rx_bytes", (double)ps.rx_bytes);
    cJSON_AddNumberToObject(p, "tx_bytes", (double)ps.tx_bytes);
    cJSON_AddNumberToObject(p, "requests", (double)ps.requests);
    cJSON_AddNumberToObject(p, "responses", (double)ps.responses);
    cJSON_AddNumberToObject(p, "naks", (double)ps.naks);
    cJSON_AddNumberToObject(p, "resent", (double)ps.resent);
    cJSON_AddNumberToObject(p, "events", (double)ps.events);
    cJSON_AddNumberToObject(p, "rx_bad_frames", (double)ps.rx_bad_frames);
    cJSON_AddNumberToObject(p, "tx_dropped_frames", (double)ps.tx_dropped_frames);
    cJSON_AddNumberToObject(p, "tx_corrupted_bits", (double)ps.tx_corrupted_bits);
    cJSON_AddNumberToObject(p, "ignored_muted", (double)ps.ignored_muted);
    cJSON_AddNumberToObject(p, "plugs", ps.plugs);
    cJSON_AddNumberToObject(p, "unplugs", ps.unplugs);
    cJSON *s = cJSON_AddObjectToObject(r, "sensor");
    cJSON_AddNumberToObject(s, "ioctls", (double)ss.ioctls);
    cJSON_AddNumberToObject(s, "urbs_submitted", (double)ss.urbs_submitted);
    cJSON_AddNumberToObject(s, "urbs_reaped", (double)ss.urbs_reaped);
    cJSON_AddNumberToObject(s, "blocks_sent", (double)ss.blocks_sent);
    cJSON_AddNumberToObject(s, "samples_sent", (double)ss.samples_sent);
    cJSON_AddNumberToObject(s, "blocks_dropped", (double)ss.blocks_dropped);
    cJSON_AddNumberToObject(s, "blocks_repeated", (double)ss.blocks_repeated);
    cJSON_AddNumberToObject(s, "control_requests", (double)ss.control_requests);
    cJSON_AddNumberToObject(s, "stalls", (double)ss.stalls);
    cJSON_AddNumberToObject(s, "plugs", ss.plugs);
    cJSON_AddNumberToObject(s, "unplugs", ss.unplugs);
    cJSON_AddNumberToObject(s, "devnum", ss.devnum);
    /* rigsim's own CPU time (both threads), so a client can measure the
     * cost of what it just did by taking a difference */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        cJSON_AddNumberToObject(r, "cpu_user_s",
                                (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6);
        cJSON_AddNumberToObject(r, "cpu_sys_s",
                                (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    }
}

/* ---------------------------------------------------------------- */
/* One request line -> one reply object                               */

static void clear_faults(struct rs_bench *b)
{
    rs_world_enter(b->world);
    sim_model_clear_faults(b->world->model);
    rs_world_leave(b->world);
    rs_pen_set_corrupt_ber(b->pen, 0);
    rs_pen_set_drop_prob(b->pen, 0);
    rs_pen_set_mute(b->pen, false);
    rs_sh_clear_stream_faults(b->sh);
}

/* An operator swaps pens: the old one is unplugged, the next unit (new
 * seed, new serial) is plugged in after gap_s. A serial another bench's
 * pen has is refused: a host could no longer tell the two apart. */
static int swap_pen(struct rs_benchset *set, struct rs_bench *b, const struct rs_ctl_request *req,
                    char *err, size_t errlen)
{
    struct rs_world *w = b->world;
    int owner = rs_benchset_pen_serial_owner(set, req->swap_serial, (int)w->index);
    if (owner >= 0) {
        snprintf(err, errlen,
                 "swap_pen: serial %s is bench %d's pen: serials must differ "
                 "between benches",
                 req->swap_serial, owner);
        return -1;
    }
    if (rs_pen_unplug(b->pen) < 0) {
        snprintf(err, errlen, "swap_pen: unplug failed (see rigsim's stderr)");
        return -1;
    }
    rs_world_enter(w);
    int rc = sim_pen_new_unit(w->model, req->swap_seed, req->swap_serial);
    if (rc == 0)
        snprintf(w->params.pen_serial, sizeof w->params.pen_serial, "%s", req->swap_serial);
    rs_world_leave(w);
    if (rc < 0) {
        snprintf(err, errlen, "swap_pen: bad serial");
        return -1;
    }
    rs_log(w, "pen swapped: unit seed %llu, serial %s, plugged in after %.3f s", req->swap_seed,
           req->swap_serial, req->swap_gap_s);
    struct rs_fault plug = { .kind = RS_LF_PEN_REPLUG, .replug_after_s = -1 };
    if (req->swap_gap_s <= 0)
        return rs_fault_apply(b, &plug, err, errlen);
    schedule(b, &plug, req->swap_gap_s);
    return 0;
}

/* The operator re-mounts the pen, or a new session starts (which mounts it
 * too). The model refuses both unless the pen is at rest: say why. */
static int mount_request(struct rs_bench *b, const struct rs_ctl_request *req, cJSON *reply,
                         char *err, size_t errlen)
{
    struct rs_world *w = b->world;
    bool session = req->kind == RS_CTL_SESSION;
    struct pen_status st;
    rs_world_enter(w);
    int rc =
        session ? sim_model_new_session(w->model, req->session_seed) : sim_pen_remount(w->model);
    sim_pen_status(w->model, &st);
    uint64_t now_session = sim_model_session(w->model);
    uint32_t mount = sim_model_mount_count(w->model);
    rs_world_leave(w);
    const char *what = session ? "session" : "remount";
    if (rc < 0) {
        snprintf(err, errlen,
                 "%s: the pen is not at rest (state %s, %u mHz): stop it and "
                 "let the rotor stop first",
                 what, pen_state_str(st.state), (unsigned)st.measured_rate_mhz);
        return -1;
    }
    cJSON_AddNumberToObject(reply, "session", (double)now_session);
    cJSON_AddNumberToObject(reply, "mount", mount);
    rs_log(w, "%s: session %llu, mount %u", what, (unsigned long long)now_session, (unsigned)mount);
    return 0;
}

static int apply_request(struct rs_benchset *set, const struct rs_ctl_request *req, cJSON *reply,
                         char *err, size_t errlen)
{
    if (req->bench >= set->n) {
        snprintf(err, errlen, "bench %d: no such bench (this rigsim has %d: 0..%d)", req->bench,
                 set->n, set->n - 1);
        return -1;
    }
    struct rs_bench *b = &set->bench[req->bench];
    switch (req->kind) {
    case RS_CTL_FAULT: {
        struct rs_fault f = req->fault;
        f.bench = req->bench;
        if (req->at_from_now)
            f.at_s += (double)rs_world_now(b->world) / 1e9;
        return rs_fault_apply(b, &f, err, errlen);
    }
    case RS_CTL_CLEAR:
        clear_faults(b);
        return 0;
    case RS_CTL_SWAP_PEN:
        return swap_pen(set, b, req, err, errlen);
    case RS_CTL_REMOUNT:
    case RS_CTL_SESSION:
        return mount_request(b, req, reply, err, errlen);
    case RS_CTL_QUERY:
        switch (req->query) {
        case RS_Q_PEN:
            query_pen(b, reply);
            break;
        case RS_Q_SENSOR:
            query_sensor(b, reply);
            break;
        case RS_Q_STATS:
            query_stats(b, reply);
            break;
        case RS_Q_TIME:
            break; /* "t" is in every reply */
        }
        return 0;
    }
    snprintf(err, errlen, "internal: request kind %d", (int)req->kind);
    return -1;
}

/* One request line -> one reply line: parse (rs_control_parse), then act. */
static char *handle_line(struct rs_benchset *set, const char *line)
{
    char err[512] = "";
    cJSON *reply = cJSON_CreateObject();
    struct rs_ctl_request req;
    int rc = rs_control_parse(line, &req, err, sizeof err);
    if (rc == 0)
        rc = apply_request(set, &req, reply, err, sizeof err);
    cJSON_AddBoolToObject(reply, "ok", rc == 0);
    /* one clock for all benches */
    cJSON_AddNumberToObject(reply, "t", (double)rs_world_now(set->bench[0].world) / 1e9);
    if (rc != 0)
        cJSON_AddStringToObject(reply, "error", err);
    char *text = cJSON_PrintUnformatted(reply);
    cJSON_Delete(reply);
    return text;
}

/* ---------------------------------------------------------------- */
/* The socket                                                         */

struct conn {
    struct rs_control *ctl;
    int fd;
    guint watch;
    GString *in;
};

struct rs_control {
    struct rs_benchset *set;
    char *path;
    int fd;
    guint watch;
    GList *conns;
};

static void conn_close(struct conn *c)
{
    c->ctl->conns = g_list_remove(c->ctl->conns, c);
    if (c->watch)
        g_source_remove(c->watch);
    close(c->fd);
    g_string_free(c->in, TRUE);
    g_free(c);
}

static bool write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            if (poll(&p, 1, 1000) <= 0)
                return false; /* a client that does not read its replies */
            continue;
        }
        if (w <= 0)
            return false;
        s += w;
        n -= (size_t)w;
    }
    return true;
}

static gboolean on_conn(gint fd, GIOCondition cond, gpointer user)
{
    struct conn *c = user;
    char buf[1024];
    (void)cond;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        c->watch = 0;
        conn_close(c);
        return G_SOURCE_REMOVE;
    }
    g_string_append_len(c->in, buf, n);
    char *nl;
    while ((nl = memchr(c->in->str, '\n', c->in->len)) != NULL) {
        *nl = '\0';
        char *reply = handle_line(c->ctl->set, c->in->str);
        g_string_erase(c->in, 0, nl - c->in->str + 1);
        bool ok = write_all(fd, reply, strlen(reply)) && write_all(fd, "\n", 1);
        cJSON_free(reply);
        if (!ok) {
            c->watch = 0;
            conn_close(c);
            return G_SOURCE_REMOVE;
        }
    }
    if (c->in->len > CTL_MAX_LINE) {
        static const char msg[] = "{\"ok\":false,\"error\":\"line too long\"}\n";
        (void)write_all(fd, msg, sizeof msg - 1);
        c->watch = 0;
        conn_close(c);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer user)
{
    struct rs_control *ctl = user;
    (void)cond;
    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            fprintf(stderr, "rigsim: control: accept: %s\n", strerror(errno));
        return G_SOURCE_CONTINUE;
    }
    struct conn *c = g_new0(struct conn, 1);
    c->ctl = ctl;
    c->fd = cfd;
    c->in = g_string_new(NULL);
    c->watch = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_conn, c);
    ctl->conns = g_list_prepend(ctl->conns, c);
    return G_SOURCE_CONTINUE;
}

static bool make_addr(const char *path, struct sockaddr_un *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a->sun_path) {
        snprintf(err, errlen, "control socket path too long: %s", path);
        return false;
    }
    strcpy(a->sun_path, path);
    return true;
}

struct rs_control *rs_control_new(struct rs_benchset *set, const char *path, char *err,
                                  size_t errlen)
{
    struct sockaddr_un a;
    if (!make_addr(path, &a, err, errlen))
        return NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "control socket: %s", strerror(errno));
        return NULL;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        snprintf(err, errlen, "control socket %s: cannot remove old one: %s", path,
                 strerror(errno));
        close(fd);
        return NULL;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0) {
        snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    struct rs_control *c = g_new0(struct rs_control, 1);
    c->set = set;
    c->fd = fd;
    c->path = g_strdup(path);
    c->watch = g_unix_fd_add(fd, G_IO_IN, on_accept, c);
    return c;
}

void rs_control_free(struct rs_control *c)
{
    if (!c)
        return;
    while (c->conns)
        conn_close(c->conns->data);
    g_source_remove(c->watch);
    close(c->fd);
    if (unlink(c->path) < 0 && errno != ENOENT)
        fprintf(stderr, "rigsim: remove %s: %s\n", c->path, strerror(errno));
    g_free(c->path);
    g_free(c);
}

/* ---------------------------------------------------------------- */
/* rigsim --send                                                      */

int rs_control_send(const char *path, const char *line)
{
    struct sockaddr_un a;
    char err[256];
    if (!path || !*path) {
        fprintf(stderr, "rigsim --send: no control socket (set RIGSIM_CONTROL or --control)\n");
        return 2;
    }
    if (!make_addr(path, &a, err, sizeof err)) {
        fprintf(stderr, "rigsim --send: %s\n", err);
        return 2;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "rigsim --send: connect %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 2;
    }
    if (!write_all(fd, line, strlen(line)) || !write_all(fd, "\n", 1)) {
        fprintf(stderr, "rigsim --send: write: %s\n", strerror(errno));
        close(fd);
        return 2;
    }
    GString *reply = g_string_new(NULL);
    int rc = 2;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int pr = poll(&p, 1, CTL_SEND_TIMEOUT_MS);
        if (pr <= 0) {
            fprintf(stderr, "rigsim --send: no reply within %d ms\n", CTL_SEND_TIMEOUT_MS);
            break;
        }
        char buf[1024];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
            fprintf(stderr, "rigsim --send: connection closed before the reply\n");
            break;
        }
        g_string_append_len(reply, buf, n);
        if (memchr(reply->str, '\n', reply->len)) {
            fputs(reply->str, stdout);
            cJSON *j = cJSON_Parse(reply->str);
            rc = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")) ? 0 : 1;
            cJSON_Delete(j);
            break;
        }
    }
    g_string_free(reply, TRUE);
    close(fd);
    return rc;
}
