/* The benches of one rigsim: each a fixture with its own pen, sensor head,
 * physics model, world lock and ground truth, all on one USB bus and one
 * clock (rigsim.h, docs/RIGSIM.md "Several benches").
 *
 * Bench 0 is set up exactly as the single bench before several existed
 * (same seed, ports, tty, bus addresses, plug order), so single-bench runs
 * give the same devices and samples as before.
 */
#include "sim/rigsim.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

static int load_bench(const char *path, struct sim_params *p)
{
    gchar *text = NULL;
    GError *err = NULL;
    char msg[256];
    if (!g_file_get_contents(path, &text, NULL, &err)) {
        fprintf(stderr, "rigsim: %s\n", err->message);
        g_clear_error(&err);
        return -1;
    }
    cJSON *root = cJSON_Parse(text);
    g_free(text);
    if (!root) {
        fprintf(stderr, "rigsim: %s: not valid JSON near '%.20s'\n", path,
                cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
        return -1;
    }
    int rc = sim_params_from_json(p, root, msg, sizeof msg);
    cJSON_Delete(root);
    if (rc < 0) {
        fprintf(stderr, "rigsim: %s: %s\n", path, msg);
        return -1;
    }
    return 0;
}

static const char *bench_name(const struct rs_bench_options *o, int i)
{
    return o->nfiles > 0 ? o->files[i] : "the default bench";
}

/* A host finds pens and sensor heads by serial (rigd matches VID/PID and
 * serial): two benches with the same one could not be told apart. */
static int check_serials(const struct rs_benchset *set, const struct rs_bench_options *o)
{
    for (int i = 0; i < set->n; i++) {
        const struct sim_params *a = &set->world[i].params;
        for (int k = i + 1; k < set->n; k++) {
            const struct sim_params *b = &set->world[k].params;
            const char *what = NULL, *serial = NULL;
            if (strcmp(a->pen_serial, b->pen_serial) == 0) {
                what = "pen";
                serial = a->pen_serial;
            } else if (strcmp(a->sh_serial, b->sh_serial) == 0) {
                what = "sensor-head";
                serial = a->sh_serial;
            }
            if (what) {
                fprintf(stderr,
                        "rigsim: --bench %s (bench %d) and --bench %s (bench %d) have "
                        "the same %s serial %s: a host could not tell them apart; give each "
                        "bench its own serials\n",
                        o->files[i], i, o->files[k], k, what, serial);
                return -1;
            }
        }
    }
    return 0;
}

static int open_truths(struct rs_benchset *set, const struct rs_bench_options *o)
{
    if (o->ntruths > set->n) {
        fprintf(stderr,
                "rigsim: %d --truth files for %d bench%s: the k-th --truth is the k-th "
                "bench's\n",
                o->ntruths, set->n, set->n == 1 ? "" : "es");
        return -1;
    }
    for (int i = 0; i < o->ntruths; i++) {
        set->truth_path[i] = o->truths[i];
        set->truth[i] = fopen(o->truths[i], "w");
        if (!set->truth[i]) {
            fprintf(stderr, "rigsim: --truth %s: %s\n", o->truths[i], strerror(errno));
            return -1;
        }
    }
    return 0;
}

int rs_benchset_load(struct rs_benchset *set, const struct rs_bench_options *o)
{
    set->n = o->nfiles > 0 ? o->nfiles : 1;
    for (int i = 0; i < set->n; i++) {
        struct rs_world *w = &set->world[i];
        g_mutex_init(&w->lock);
        w->index = (unsigned)i;
        w->tag_logs = set->n > 1;
        w->seed = rs_bench_seed(o->seed, (unsigned)i);
        w->verbose = o->verbose;
        w->bus = &set->bus;
        sim_params_default(&w->params);
        if (o->nfiles > 0 && load_bench(o->files[i], &w->params) < 0)
            return -1;
        set->bench[i].world = w;
    }
    if (check_serials(set, o) < 0 || open_truths(set, o) < 0)
        return -1;
    for (int i = 0; i < set->n; i++) {
        struct rs_world *w = &set->world[i];
        w->model = sim_model_new(&w->params, w->seed);
        if (!w->model) {
            fprintf(stderr, "rigsim: cannot create the model of %s\n", bench_name(o, i));
            return -1;
        }
        /* Before the truth is attached: its first mount line is the session's. */
        if (o->session != 0 && sim_model_new_session(w->model, o->session) < 0) {
            fprintf(stderr, "rigsim: --session: cannot start a session\n");
            return -1;
        }
        if (set->truth[i]) {
            /* line buffered: a reader can follow the file while we run */
            setvbuf(set->truth[i], NULL, _IOLBF, 0);
            sim_model_set_truth(w->model, set->truth[i]);
        }
    }
    return 0;
}

int rs_benchset_plug(struct rs_benchset *set, UMockdevTestbed *tb)
{
    uint64_t t0 = rs_monotonic_ns();
    for (int i = 0; i < set->n; i++) {
        set->world[i].t0_ns = t0;
        set->world[i].tb = tb;
    }
    for (int i = 0; i < set->n; i++) {
        set->bench[i].pen = rs_pen_new(&set->world[i]);
        set->bench[i].sh = rs_sh_new(&set->world[i]);
    }
    /* bench by bench, pen first: bench 0 gets addresses 2 and 3 as the
     * single bench always did */
    for (int i = 0; i < set->n; i++)
        if (rs_pen_plug(set->bench[i].pen) < 0 || rs_sh_plug(set->bench[i].sh) < 0)
            return -1;
    return 0;
}

int rs_benchset_pen_serial_owner(struct rs_benchset *set, const char *serial, int except)
{
    for (int i = 0; i < set->n; i++) {
        if (i == except)
            continue;
        struct rs_world *w = &set->world[i];
        g_mutex_lock(&w->lock); /* swap_pen writes it under the lock */
        bool same = strcmp(w->params.pen_serial, serial) == 0;
        g_mutex_unlock(&w->lock);
        if (same)
            return i;
    }
    return -1;
}

int rs_benchset_free(struct rs_benchset *set, UMockdevTestbed *tb)
{
    int rc = 0;
    for (int i = 0; i < set->n; i++) {
        rs_pen_free(set->bench[i].pen);
        rs_sh_free(set->bench[i].sh);
        set->bench[i].pen = NULL;
        set->bench[i].sh = NULL;
    }
    if (tb)
        g_object_unref(tb); /* removes the testbed directory */
    for (int i = 0; i < set->n; i++) {
        sim_model_free(set->world[i].model);
        set->world[i].model = NULL;
        if (set->truth[i] && fclose(set->truth[i]) != 0) {
            fprintf(stderr, "rigsim: --truth %s: %s\n", set->truth_path[i], strerror(errno));
            rc = -1;
        }
        set->truth[i] = NULL;
    }
    return rc;
}
