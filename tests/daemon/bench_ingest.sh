#!/bin/sh
# rigd's sensor ingest, figures only (tests/daemon/bench_ingest.c says
# what is measured): writes the bench files and station configs in a
# temporary directory, then
#   1. RUNS times: rigsim with 2 benches; rigd streams bench 0 for a
#      claimed session at 2 x 50 kS/s while a minimal libusb client
#      streams bench 1 at the same rate; CPU of both and the ratio
#      rigd/client (without and with a samples watcher);
#   2. once: rigsim with 4 benches, rigd with a 4-fixture station at
#      rate_hz 100000 (the protocol's maximum), sessions on all four;
#      every sensor's stream_stats and rigd's CPU.
#
#   tests/daemon/bench_ingest.sh [-s SECONDS] [-n RUNS] [-b BUILD_DIR]
#
# SECONDS per measured window (default 10), RUNS of part 1 (default 3),
# BUILD_DIR default build/. Exits 0 once the figures are printed, 2 if
# something could not run.
set -u
secs=10 runs=3 build=
while getopts s:n:b: opt; do
    case $opt in
    s) secs=$OPTARG ;;
    n) runs=$OPTARG ;;
    b) build=$OPTARG ;;
    *) echo "usage: bench_ingest.sh [-s SECONDS] [-n RUNS] [-b BUILD_DIR]" >&2; exit 2 ;;
    esac
done
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${build:-$src/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
rigsim=$build/rig/sim/rigsim rigd=$build/rig/daemon/rigd bench=$build/tests/daemon/bench_ingest
for b in "$rigsim" "$rigd" "$bench"; do
    [ -x "$b" ] || { echo "bench_ingest: $b not built" >&2; exit 2; }
done
dir=$(mktemp -d /tmp/rig-ingest-XXXXXX)
trap 'rm -rf "$dir"' EXIT

# Bench k (1-based): the default bench with pen PA-000000k, sensor head
# SH2-00010k; fixture k of a station: those serials at rate $2.
fixtures4= fixtures1=
for k in 1 2 3 4; do
    sed "s/\"PA-0000001\"/\"PA-000000$k\"/; s/\"SH2-000101\"/\"SH2-00010$k\"/" \
        "$src/fixtures/benches/default.json" >"$dir/bench-$k.json"
    name=$(echo ABCD | cut -c$k)
    fx="{ \"name\": \"$name\", \"pen\": { \"serial\": \"PA-000000$k\" }, \"sensor\": { \"serial\": \"SH2-00010$k\", \"rate_hz\": RATE } }"
    fixtures4="$fixtures4${fixtures4:+, }$fx"
    [ $k -eq 1 ] && fixtures1=$fx
done
echo "{ \"station\": \"ingest-1\", \"results_dir\": \"$dir/results\", \"fixtures\": [ $fixtures1 ] }" |
    sed 's/RATE/50000/' >"$dir/station-1.json"
echo "{ \"station\": \"ingest-4\", \"results_dir\": \"$dir/results\", \"fixtures\": [ $fixtures4 ] }" |
    sed 's/RATE/100000/g' >"$dir/station-4.json"

ratios=
r=1
while [ $r -le "$runs" ]; do
    echo "== part 1, run $r of $runs: rigd (1 fixture) vs a minimal libusb client, $secs s windows"
    "$rigsim" --bench "$dir/bench-1.json" --bench "$dir/bench-2.json" -- \
        "$bench" ingest "$rigd" "$dir/station-1.json" SH2-000102 "$secs" >"$dir/run-$r" 2>&1
    rc=$?
    # rigd's info and notice lines stay in the file; warnings show.
    grep -v '^rigd: \(info\|notice\): ' "$dir/run-$r"
    [ $rc -eq 0 ] || { echo "bench_ingest: part 1 run $r failed (exit $rc)" >&2; exit 2; }
    ratios="$ratios
  run $r: $(sed -n 's/^ratios: //p' "$dir/run-$r")"
    r=$((r + 1))
done
echo "== part 2: 4 fixtures at 100 kS/s per channel, $secs s"
"$rigsim" --bench "$dir/bench-1.json" --bench "$dir/bench-2.json" --bench "$dir/bench-3.json" \
    --bench "$dir/bench-4.json" -- "$bench" station "$rigd" "$dir/station-4.json" "$secs" \
    >"$dir/station" 2>&1
rc=$?
grep -v '^rigd: \(info\|notice\): ' "$dir/station"
[ $rc -eq 0 ] || { echo "bench_ingest: part 2 failed (exit $rc)" >&2; exit 2; }
echo "== summary"
echo "ratio rigd/client CPU (rigd minus idle):$ratios"
echo "4 x 100 kS/s: $(sed -n 's/^lost blocks: //p' "$dir/station") lost blocks"
