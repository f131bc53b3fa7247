#!/bin/sh
# Live latency from the sensor head to the browser plot (p50, p95, max) and
# rigweb's CPU and RSS, with N simulated fixtures streaming to P browser
# pages (Debian's chromium), for S seconds. A benchmark: prints figures.
#
#   tests/web/browser/bench_latency.sh BUILDDIR [FIXTURES [PAGES [SECONDS]]]   (default 4 4 20)
#
# rigsim logs the send time of every sensor block (RIGSIM_BLOCK_LOG); each
# page records when it drew each decimated sample (the ?latency hook of
# rig/web/static/js/liveplot.js); bench_latency.mjs pairs them.
set -eu
build=$(cd "${1:?usage: bench_latency.sh BUILDDIR [FIXTURES [PAGES [SECONDS]]]}" && pwd)
n=${2:-4}
pages=${3:-4}
seconds=${4:-20}
src=$(cd "$(dirname "$0")/../../.." && pwd)
dir=$(mktemp -d /tmp/bench-latency-XXXXXX)
trap 'rm -rf "$dir"' EXIT
RIGSIM_BLOCK_LOG=$dir/blocks.log
export RIGSIM_BLOCK_LOG
echo "bench_latency: $n fixtures, $pages pages, $seconds s ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
sh "$src/tests/web/stack.sh" "$build" -n "$n" -- \
    node "$src/tests/web/browser/bench_latency.mjs" "$RIGSIM_BLOCK_LOG" "$pages" "$seconds"
