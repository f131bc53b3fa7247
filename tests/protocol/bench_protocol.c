/* Micro-benchmark for the protocol codecs (not a test: prints figures).
 *   pen: pen_rx_next over a realistic mix of pen->host frames (status
 *        responses, heartbeat responses, state and fault events) fed in
 *        pseudo-random chunk sizes of 1..256 bytes;
 *   sensor: sh_block_decode + sh_block_samples on 500-sample blocks.
 * Usage: bench_protocol [seconds per benchmark, default 1] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/pen.h"
#include "protocol/sensor.h"

static double now_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("clock_gettime");
        exit(1);
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

/* Fills buf with pen->host frames; returns bytes used and the frame count. */
static size_t build_pen_stream(uint8_t *buf, size_t cap, size_t *frames)
{
    size_t len = 0, n = 0;
    uint32_t seed = 1;
    buf[len++] = 0;
    for (uint16_t seq = 0;; seq++) {
        struct pen_msg m;
        memset(&m, 0, sizeof m);
        m.seq = seq;
        uint32_t pick = lcg(&seed) % 10;
        if (pick < 6) { /* 60 %: status response */
            m.type = PEN_MSG_GET_STATUS;
            m.flags = PEN_F_RESPONSE;
            m.u.status = (struct pen_status){ .state = PEN_STATE_RUNNING,
                                              .set_rate_mhz = 120000,
                                              .measured_rate_mhz = 119000 + lcg(&seed) % 2000,
                                              .set_depth_um = 1500,
                                              .motor_current_ma = (uint16_t)(400 + lcg(&seed) % 50),
                                              .supply_mv = 3900,
                                              .temperature_cdeg = 3100,
                                              .uptime_ms = seq * 100u,
                                              .watchdog_ms = 500 };
        } else if (pick < 8) { /* 20 %: heartbeat response */
            m.type = PEN_MSG_HEARTBEAT;
            m.flags = PEN_F_RESPONSE;
        } else if (pick < 9) { /* 10 %: state event */
            m.type = PEN_MSG_EVT_STATE;
            m.flags = PEN_F_EVENT;
            m.u.evt_state =
                (struct pen_evt_state){ PEN_STATE_RUNNING, PEN_STATE_SPINUP, PEN_REASON_AT_RATE };
        } else { /* 10 %: fault event */
            m.type = PEN_MSG_EVT_FAULT;
            m.flags = PEN_F_EVENT;
            m.u.evt_fault = (struct pen_evt_fault){ PEN_FAULT_LOW_BATTERY, 450, 3480 };
        }
        if (cap - len < PEN_MAX_FRAME)
            break;
        int r = pen_encode(&m, buf + len, cap - len);
        if (r < 0) {
            fprintf(stderr, "pen_encode: %s\n", pen_result_str(r));
            exit(1);
        }
        len += (size_t)r;
        n++;
    }
    *frames = n;
    return len;
}

static void bench_pen(double seconds)
{
    static uint8_t stream[1 << 20];
    size_t frames_per_pass;
    size_t len = build_pen_stream(stream, sizeof stream, &frames_per_pass);
    uint64_t frames = 0, bytes = 0;
    uint32_t seed = 7;
    struct pen_rx rx;
    double t0 = now_s(), t;
    do {
        pen_rx_init(&rx);
        const uint8_t *p = stream;
        size_t left = len;
        while (left > 0) {
            size_t take = 1 + lcg(&seed) % 256;
            if (take > left)
                take = left;
            const uint8_t *q = p;
            size_t qlen = take;
            struct pen_msg m;
            int r;
            while ((r = pen_rx_next(&rx, &q, &qlen, &m)) != PEN_NEED_MORE) {
                if (r != PEN_OK) {
                    fprintf(stderr, "pen_rx_next: %s\n", pen_result_str(r));
                    exit(1);
                }
                frames++;
            }
            p += take;
            left -= take;
        }
        bytes += len;
        t = now_s() - t0;
    } while (t < seconds);
    printf("pen_rx_next: %zu-byte stream, avg frame %.1f B, chunks 1..256 B: "
           "%.0f frames/s, %.1f MB/s\n",
           len, (double)len / (double)frames_per_pass, (double)frames / t, (double)bytes / t / 1e6);
}

static void bench_sensor(double seconds)
{
    enum { COUNT = 500 };
    static int32_t force[COUNT], disp[COUNT];
    static uint8_t block[SH_BLOCK_MAX_SIZE];
    uint32_t seed = 3;
    for (int i = 0; i < COUNT; i++) {
        force[i] = (int32_t)(lcg(&seed) % 1000000);
        disp[i] = (int32_t)(lcg(&seed) % 3000000);
    }
    struct sh_block_header h = { .seq = 1, .first_sample = 500, .rate_hz = 50000, .count = COUNT };
    int n = sh_block_encode(&h, force, disp, block, sizeof block);
    if (n < 0) {
        fprintf(stderr, "sh_block_encode: %s\n", sh_result_str(n));
        exit(1);
    }
    uint64_t blocks = 0;
    int64_t sink = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 256; k++) {
            struct sh_block_header d;
            int r = sh_block_decode(block, (size_t)n, &d);
            if (r != SH_OK) {
                fprintf(stderr, "sh_block_decode: %s\n", sh_result_str(r));
                exit(1);
            }
            sh_block_samples(block, &d, force, disp);
            sink += force[k] + disp[COUNT - 1 - k];
        }
        blocks += 256;
        t = now_s() - t0;
    } while (t < seconds);
    printf("sh_block_decode+samples: %d-sample blocks (%d B): %.0f blocks/s, "
           "%.1f MB/s, %.1f Msamples/s (sink %lld)\n",
           COUNT, n, (double)blocks / t, (double)blocks * n / t / 1e6,
           (double)blocks * COUNT / t / 1e6, (long long)sink);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (!(seconds > 0)) {
        fprintf(stderr, "usage: %s [seconds > 0]\n", argv[0]);
        return 2;
    }
    bench_pen(seconds);
    bench_sensor(seconds);
    return 0;
}
