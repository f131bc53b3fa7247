#!/bin/sh
# Controller overhead of an EOL run, figures only (issue 10, "Measured"):
# rigsim with the default bench, one rigd, RUNS EOL runs back to back on
# the same pen; for each record its wall time (ended_utc - started_utc)
# against the sequence's own dwell and capture time, split into where the
# controller spent it:
#   before  started_utc to the first step (instruments, the first record
#           write, the pre-run tare: 32 ms of its own settle and look),
#   between the gaps between steps (record and attachment writes),
#   steps   the steps' durations beyond their planned time (pen round trips,
#           each capture's tail, analysis, attachment writes),
#   after   the last step to ended_utc (the final record write).
#
#   tests/run/overhead_bench.sh [-n RUNS] [-s SEED] [-p PLANNED_S] [-k DIR] [-b BUILD_DIR]
#
# RUNS default 10, SEED of the pen 1, PLANNED_S the sequence's settle +
# capture time, default 2.55 (fixtures/sequences/eol.json: 0.05 s lead-in,
# 0.6 + 0.4 + 0.4 + 0.4 s captures, 0.3 + 0.3 s settles, 0.1 s before the
# stop). Prints a line per run and min / median / max of each figure in ms.
# -k DIR keeps the records and rigd's log there.
# Exits 0 once printed, 2 if something could not run. The machine is
# shared: compare medians of runs made in one call, not single runs.
set -u
runs=10 seed=1 plan=2.55 keep= build=
while getopts n:s:p:k:b: opt; do
    case $opt in
    n) runs=$OPTARG ;;
    s) seed=$OPTARG ;;
    p) plan=$OPTARG ;;
    k) keep=$OPTARG ;;
    b) build=$OPTARG ;;
    *) echo "usage: overhead_bench.sh [-n RUNS] [-s SEED] [-p PLANNED_S] [-k DIR] [-b BUILD_DIR]" >&2
       exit 2 ;;
    esac
done
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${build:-$src/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
for b in rig/sim/rigsim rig/daemon/rigd rig/ctl/rigctl; do
    [ -x "$build/$b" ] || { echo "overhead_bench: $build/$b not built" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "overhead_bench: needs python3" >&2; exit 2; }
dir=$(mktemp -d /tmp/rig-overhead-XXXXXX)
trap 'rm -rf "$dir"' EXIT

cat >"$dir/station.json" <<EOF
{ "station": "overhead", "results_dir": "$dir/results", "fixtures": [
  { "name": "A", "pen": { "serial": "PA-0000001" },
    "sensor": { "serial": "SH2-000101", "rate_hz": 50000 } } ] }
EOF
cat >"$dir/inner.sh" <<'EOF'
set -u
"$B/rig/daemon/rigd" --config "$D/station.json" --socket "$D/rigd.sock" 2>"$D/rigd.log" &
rigd=$!
i=0
until [ "$("$B/rig/ctl/rigctl" --socket "$D/rigd.sock" --json devices 2>/dev/null |
           grep -o '"present":true' | wc -l)" -eq 2 ]; do
    i=$((i + 1))
    [ $i -lt 300 ] && kill -0 $rigd 2>/dev/null || { kill -TERM $rigd; exit 2; }
    sleep 0.1
done
rc=0 k=1
while [ $k -le "$N" ]; do
    "$B/rig/ctl/rigctl" --socket "$D/rigd.sock" run "$S/fixtures/sequences/eol.json" \
        --dut PA-0000001 --operator bench --record "run-$k.json" >"$D/ctl-$k.out" 2>&1 || rc=2
    k=$((k + 1))
done
kill -TERM $rigd
wait $rigd
exit $rc
EOF
B=$build S=$src D=$dir N=$runs "$build/rig/sim/rigsim" --bench "$src/fixtures/benches/default.json" \
    --seed "$seed" -- sh "$dir/inner.sh"
rc=$?
if [ -n "$keep" ]; then
    mkdir -p "$keep" && cp -r "$dir/results" "$dir/rigd.log" "$keep/"
fi
[ $rc -eq 0 ] || { echo "overhead_bench: a run did not PASS (exit $rc); rigd's log:" >&2
    tail -n 20 "$dir/rigd.log" >&2; exit 2; }
echo "== $runs EOL runs, seed $seed, planned $plan s each"
python3 - "$plan" "$dir"/results/run-*.json <<'EOF'
import datetime, json, os, re, statistics, sys

def t(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()

plan = float(sys.argv[1])
names = ("overhead", "before", "between", "steps", "after")
rows = []
paths = [p for p in sys.argv[2:] if re.fullmatch(r"run-\d+\.json", os.path.basename(p))]
for path in sorted(paths, key=lambda p: int(re.sub(r"\D", "", os.path.basename(p)))):
    r = json.load(open(path))
    st = r["steps"]
    begin, end = t(r["started_utc"]), t(r["ended_utc"])
    s0 = [t(s["started_utc"]) for s in st]
    d = [s["duration_s"] for s in st]
    row = (end - begin - plan, s0[0] - begin,
           sum(s0[i + 1] - s0[i] - d[i] for i in range(len(st) - 1)),
           sum(d) - plan, end - s0[-1] - d[-1])
    rows.append(row)
    print("%-12s %s wall %.3f s: " % (path.rsplit("/", 1)[1], r["outcome"], end - begin) +
          ", ".join("%s %.1f ms" % (n, v * 1e3) for n, v in zip(names, row)))
for i, n in enumerate(names):
    v = [x[i] * 1e3 for x in rows]
    print("%-9s min %6.1f  median %6.1f  max %6.1f ms" % (n, min(v), statistics.median(v), max(v)))
EOF
