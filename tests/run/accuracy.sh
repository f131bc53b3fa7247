#!/bin/sh
# Accuracy benchmark: every measured value against rigsim's ground truth,
# both pen profiles at both sample rates, through rigsim, rigd and rigctl.
#
#   tests/run/accuracy.sh [-b BUILD_DIR] [-s SEED] [-k KEEP_DIR] [-d]
#
# For each of profile A / profile B at 20 and 50 kS/s: rigsim --truth,
# rigd with the sensor at that rate, `rigctl run tests/run/accuracy-X.json`
# (spin-up, a depth sweep and stop at 50, 100 and 150 Hz), then
# `run_check accuracy` prints a table per capture and the worst errors:
# rate (same strokes, same definition), mean depth, per-stroke depth p95,
# mean peak force, per-stroke peak force p95, spin-up and stop time.
# -d: the shipped DVT sweeps instead (fixtures/sequences/dvt-sweep.json,
# dvt-sweep-b.json: steady captures at every 50/100/150 Hz x depth).
# Figures, not a test: exit 0 unless something could not run.
set -u
build= seed=1 keep= dvt=
while getopts b:s:k:d opt; do
    case $opt in
    b) build=$OPTARG ;;
    s) seed=$OPTARG ;;
    k) keep=$OPTARG ;;
    d) dvt=1 ;;
    *) echo "usage: accuracy.sh [-b BUILD_DIR] [-s SEED] [-k KEEP_DIR] [-d]" >&2; exit 2 ;;
    esac
done
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${build:-$src/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
dir=$(mktemp -d /tmp/rig-accuracy-XXXXXX)
trap 'rm -rf "$dir"' EXIT
rc=0
for profile in a b; do
    case $profile in
    a) bench=$src/fixtures/benches/default.json dut=PA-0000001
       seq=$src/tests/run/accuracy-a.json
       [ -n "$dvt" ] && seq=$src/fixtures/sequences/dvt-sweep.json ;;
    b) bench=$src/fixtures/benches/profile-b.json dut=PB-0000417
       seq=$src/tests/run/accuracy-b.json
       [ -n "$dvt" ] && seq=$src/fixtures/sequences/dvt-sweep-b.json ;;
    esac
    sensor=$(sed -n 's/.*"serial": *"\(SH2-[^"]*\)".*/\1/p' "$bench" | head -n 1)
    for rate in 20000 50000; do
        work=$dir/$profile-$rate
        mkdir -p "$work"
        cat >"$work/station.json" <<EOF
{ "station": "accuracy", "results_dir": "$work/results",
  "pen": { "vid": "0x1209", "pid": "0x504e" },
  "sensor": { "vid": "0x1209", "pid": "0x5348", "serial": "$sensor", "rate_hz": $rate } }
EOF
        cat >"$work/inner.sh" <<EOF
"$build/rig/daemon/rigd" --config "$work/station.json" --socket "$work/s.sock" 2>"$work/rigd.log" &
rigd=\$!
i=0
until "$build/rig/ctl/rigctl" --socket "$work/s.sock" --json status 2>/dev/null | grep -q '"pen":true,"sensor":true'; do
    i=\$((i + 1)); [ \$i -lt 200 ] || exit 2; sleep 0.05
done
"$build/rig/ctl/rigctl" --socket "$work/s.sock" run "$seq" \
    --dut $dut --record run.json >"$work/ctl.out" 2>&1
kill -TERM \$rigd; wait \$rigd
EOF
        "$build/rig/sim/rigsim" --bench "$bench" --seed "$seed" --truth "$work/truth.jsonl" \
            -- sh "$work/inner.sh" || { echo "accuracy: profile $profile at $rate S/s did not run" >&2; rc=2; }
        echo "== profile ${profile} ($dut), ${rate} S/s per channel"
        "$build/tests/run/run_check" accuracy "$work/results/run.json" "$work/truth.jsonl" 100 1000 ||
            true
        "$build/rig/ctl/rigctl" recompute "$work/results/run.json" | tail -n 1
        [ -n "$keep" ] && mkdir -p "$keep" && cp -r "$work" "$keep/"
    done
done
exit $rc
