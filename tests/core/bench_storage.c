/* Benchmark (not a test): bytes on disk per run and what compressing the
 * captures costs. The production EOL and DVT sequences on the synthetic
 * bench (virtual pen time), once with raw captures (rig-capture/1) and
 * once compressed (rig-capture/2, the default), N runs each:
 *
 *   bench_storage DIR [N]
 *
 * on two benches: the synthetic one of the engine tests (unquantised
 * noise) and the simulator's physics model (rigsim's sensor: quantised
 * after calibration, docs/SIMULATOR-MODEL.md). Prints, per bench,
 * sequence and mode, the bytes of all of one run's files (record,
 * sequence and spec copies, captures, per-stroke CSVs) and of its captures
 * alone, then per capture the ms to read one back (capture_read), to
 * encode and hash it either way, and to write it compressed (encode, hash,
 * atomic write with its fsyncs). DIR is emptied of its bench-* files as it
 * goes (BENCH_KEEP=1: keep them, and count nothing). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_ops.h"
#include "model_ops.h"
#include "core/rec.h"
#include "core/record.h"
#include "core/run.h"
#include "core/sequence.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct sizes {
    unsigned long long all, caps, ncaps;
    unsigned long long blocks, kept_blocks; /* allocated (st_blocks), all and after prune */
    double read_ms, enc_ms[3]; /* per capture: capture_read; encode raw, zstd; write zstd */
};

/* Time reading the capture at path back and encoding it in either format
 * (best of 5 each, to see the codec rather than the scheduler). */
static void time_capture(const char *path, struct sizes *sz)
{
    double best[4] = { 1e9, 1e9, 1e9, 1e9 };
    for (int rep = 0; rep < 5; rep++) {
        struct rig_capture c;
        char err[256], sha[DIGEST_HEX_LEN + 1], samples[DIGEST_HEX_LEN + 1];
        double t0 = now_ms();
        if (capture_read(path, &c, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            exit(1);
        }
        double t = now_ms() - t0;
        best[0] = t < best[0] ? t : best[0];
        for (int f = 0; f < 2; f++) {
            uint8_t *buf;
            size_t len;
            t0 = now_ms();
            if (capture_encode(&c, f ? CAPTURE_FORMAT_ZSTD : CAPTURE_FORMAT_RAW, &buf, &len,
                               samples, err, sizeof err) < 0)
                exit(1);
            digest_sha256_buf(buf, len, sha);
            t = now_ms() - t0;
            best[1 + f] = t < best[1 + f] ? t : best[1 + f];
            free(buf);
        }
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.timing", path);
        t0 = now_ms();
        if (capture_write_format(tmp, &c, CAPTURE_FORMAT_ZSTD, 0, sha, samples, err, sizeof err) <
            0)
            exit(1);
        t = now_ms() - t0;
        best[3] = t < best[3] ? t : best[3];
        remove(tmp);
        capture_free(&c);
    }
    sz->read_ms += best[0];
    for (int k = 0; k < 3; k++)
        sz->enc_ms[k] += best[1 + k];
}

/* Sum the files of DIR whose name starts with prefix; remove them. */
static void sum_and_remove(const char *dir, const char *prefix, struct sizes *sz)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) < 0)
            continue;
        sz->all += (unsigned long long)st.st_size;
        sz->blocks += (unsigned long long)st.st_blocks * 512;
        if (!strstr(e->d_name, ".bin"))
            sz->kept_blocks += (unsigned long long)st.st_blocks * 512;
        if (strstr(e->d_name, ".bin")) {
            sz->caps += (unsigned long long)st.st_size;
            sz->ncaps++;
            time_capture(path, sz);
        }
        remove(path);
    }
    if (d)
        closedir(d);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_storage DIR [N]\n");
        return 64;
    }
    const char *dir = argv[1];
    unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 3;
    if (n == 0)
        n = 1;
    static const char *const seqs[] = { "eol.json", "dvt-sweep.json" };
    for (int kind = 0; kind < 2; kind++)
        for (int q = 0; q < 2; q++) {
            struct rig_problems p;
            problems_init(&p);
            char file[512];
            snprintf(file, sizeof file, "%s/sequences/%s", FIXTURES_DIR, seqs[q]);
            struct rig_sequence *s = sequence_load(file, &p);
            if (!s) {
                fprintf(stderr, "cannot load %s\n", file);
                return 1;
            }
            for (int raw = 1; raw >= 0; raw--) {
                struct sizes sz = { 0 };
                double ms = 0;
                for (unsigned i = 0; i < n; i++) {
                    char path[512], err[256];
                    snprintf(path, sizeof path, "%s/bench-%d%d%d-%u.json", dir, kind, q, raw, i);
                    struct rec_sink sink;
                    if (rec_file_sink_new_flags(path, raw ? REC_FILE_RAW_CAPTURES : 0, &sink, err,
                                                sizeof err) < 0) {
                        fprintf(stderr, "%s\n", err);
                        return 1;
                    }
                    struct bench b;
                    struct model_bench mb;
                    struct sim_params sp;
                    sim_params_default(&sp);
                    sp.depth_bias_mm = 0.01; /* a fixed, healthy unit */
                    if (kind == 0)
                        bench_init(&b);
                    else if (model_bench_init(&mb, &sp, 11 + i, NULL) < 0)
                        return 1;
                    struct run_config cfg = { .seq = s,
                                              .dut_serial = kind ? "PA-0000001" : "PA-0000042",
                                              .sinks = &sink,
                                              .nsinks = 1 };
                    struct run_result r;
                    double t0 = now_ms();
                    int rc = kind ? run_execute(&cfg, &model_ops, &mb, &r)
                                  : run_execute(&cfg, &bench_ops, &b, &r);
                    ms += now_ms() - t0;
                    if (kind == 0)
                        bench_free(&b);
                    else
                        model_bench_free(&mb);
                    if (rc != 0 || r.outcome != OUTCOME_PASS) {
                        fprintf(stderr, "%s run %u: %s\n", seqs[q], i, r.message);
                        return 1;
                    }
                    char prefix[64];
                    snprintf(prefix, sizeof prefix, "bench-%d%d%d-%u.", kind, q, raw, i);
                    if (!getenv("BENCH_KEEP"))
                        sum_and_remove(dir, prefix, &sz);
                }
                double nc = sz.ncaps ? (double)sz.ncaps : 1;
                printf("%-9s %-14s %-4s %9.0f B/run (%9.0f allocated), captures %9.0f B in %2.0f "
                       "files, %6.1f ms/run; after prune %6.0f B (%6.0f allocated)\n",
                       kind ? "model" : "synthetic", seqs[q], raw ? "raw" : "zstd",
                       (double)sz.all / n, (double)sz.blocks / n, (double)sz.caps / n,
                       (double)sz.ncaps / n, ms / n, (double)(sz.all - sz.caps) / n,
                       (double)sz.kept_blocks / n);
                if (!raw)
                    printf("    per capture: read+decode %.3f ms; encode+hash raw %.3f ms, "
                           "zstd %.3f ms; write zstd (encode, hash, fsync) %.3f ms\n",
                           sz.read_ms / nc, sz.enc_ms[0] / nc, sz.enc_ms[1] / nc,
                           sz.enc_ms[2] / nc);
            }
            sequence_free(s);
            problems_free(&p);
        }
    return 0;
}
