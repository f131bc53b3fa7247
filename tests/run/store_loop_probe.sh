#!/bin/sh
# Database queries do not hold rigd's event loop (docs/STORE.md, "Figures");
# not run by meson test (the database takes ~40 s to generate):
#   build/tests/store/bench_store DB 100000     # 100 000 generated runs
#   tests/run/store_loop_probe.sh BUILDDIR DB
# In rigsim, a rigd on DB: `status` alone, `stats` of one measurement, then
# `status` five times while `stats` of all 20 measurements (~6 s) runs on
# the query thread, and `history --dut`; wall times as rigctl sees them.
set -eu
build=$(cd "$1" && pwd)
db=$(realpath "$2")
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/store-probe-XXXXXX)
trap 'rm -rf "$dir"' EXIT
sed "s|\"results_dir\": *\"[^\"]*\"|\"results_dir\": \"$dir/results\", \"database\": \"$db\"|" \
    "$src/fixtures/stations/sim.json" >"$dir/station.json"
export B=$build DIR=$dir
"$build/rig/sim/rigsim" -- sh -eu -c '
S=$DIR/rigd.sock
ctl() { "$B/rig/ctl/rigctl" --socket "$S" "$@"; }
"$B/rig/daemon/rigd" --config "$DIR/station.json" --socket "$S" 2>"$DIR/rigd.log" & pid=$!
i=0
until ctl --json status 2>/dev/null | grep -q "\"pen\":true,\"sensor\":true"; do
    i=$((i+1)); [ $i -lt 200 ] || { echo "rigd did not start" >&2; exit 1; }; sleep 0.1
done
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
t=$(date +%s%N); ctl status >/dev/null; echo "status alone: $(ms $t) ms"
t=$(date +%s%N); ctl --json stats --measurement m07 >/dev/null
echo "stats --measurement m07: $(ms $t) ms"
t=$(date +%s%N); ctl --json stats >/dev/null & sp=$!
sleep 0.3
for k in 1 2 3 4 5; do
    t2=$(date +%s%N); ctl status >/dev/null
    echo "status while stats of every measurement runs: $(ms $t2) ms"; sleep 0.5
done
wait $sp; echo "stats of every measurement: $(ms $t) ms"
t=$(date +%s%N); ctl --json history --dut U000123 >/dev/null; echo "history --dut: $(ms $t) ms"
kill -TERM $pid; wait $pid
'
