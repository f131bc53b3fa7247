#!/bin/sh
# What the station database adds to an EOL cycle through rigd (docs/STORE.md,
# "Figures"); not run by meson test:
#   tests/run/store_bench.sh BUILDDIR [N]
# In one rigsim: N EOL runs with the database (default station.db), then N
# with "database": false. Prints each mode's rigctl wall time per run (mean,
# median) and, with the database, the time the run's worker spent in the
# store sink's calls (rigd logs it per run: "station database: W writes,
# X ms").
set -eu
build=$(cd "$1" && pwd)
n=${2:-10}
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/store-bench-XXXXXX)
trap 'rm -rf "$dir"' EXIT
export RIGD=$build/rig/daemon/rigd RIGCTL=$build/rig/ctl/rigctl EOL=$src/fixtures/sequences/eol.json
export DIR=$dir N=$n
sed "s|\"results_dir\": *\"[^\"]*\"|\"results_dir\": \"$dir/results\"|" \
    "$src/fixtures/stations/sim.json" >"$dir/db.json"
sed 's|^{|{ "database": false,|' "$dir/db.json" >"$dir/nodb.json"
"$build/rig/sim/rigsim" --seed 11 -- sh -eu -c '
SOCK=$DIR/rigd.sock
for mode in db nodb; do
    "$RIGD" --config "$DIR/$mode.json" --socket "$SOCK" 2>"$DIR/$mode.log" & pid=$!
    i=0
    until "$RIGCTL" --socket "$SOCK" --json status 2>/dev/null | grep -q "\"pen\":true,\"sensor\":true"; do
        i=$((i+1)); [ $i -lt 200 ] || { echo "rigd did not attach" >&2; exit 1; }; sleep 0.1
    done
    k=0
    while [ $k -lt "$N" ]; do
        k=$((k+1))
        t0=$(date +%s%N)
        "$RIGCTL" --socket "$SOCK" run "$EOL" --dut PA-0000001 >/dev/null || { echo "run failed" >&2; exit 1; }
        t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000 )) >>"$DIR/$mode.us"
    done
    kill -TERM $pid; wait $pid
done
'
stats() { sort -n | awk '{ a[NR] = $1; s += $1 } END { printf "mean %.1f ms, median %.1f ms, min %.1f, max %.1f (n=%d)", s / NR / 1000, a[int((NR + 1) / 2)] / 1000, a[1] / 1000, a[NR] / 1000, NR }'; }
echo "EOL run, rigctl wall time, with the database:    $(stats <"$dir/db.us")"
echo "EOL run, rigctl wall time, \"database\": false:    $(stats <"$dir/nodb.us")"
grep -o "station database: [0-9]* writes, [0-9.]* ms" "$dir/db.log" |
    awk '{ w += $3; t = $5; s += t; if (t > m) m = t; n++ } END { printf "store sink per run (worker time in its calls): mean %.2f ms, max %.2f ms, %.1f writes per run (n=%d)\n", s / n, m, w / n, n }'
