#!/bin/sh
# Benchmark: time to render run reports of an EOL run and a full DVT sweep
# (fixtures/sequences/dvt-sweep.json: 30 operating points) made on the
# simulated bench. Prints bench_report's min / median / max.
#   tests/report/bench_report.sh [BUILDDIR] [N] [KEEPDIR]
# KEEPDIR: copy the records and attachments there (to look at them).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
n=${2:-20}
DIR=$(mktemp -d /tmp/report-bench-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
sed "s|\"results_dir\": *\"[^\"]*\"|\"results_dir\": \"$DIR/results\"|" \
    "$top/fixtures/stations/sim.json" >"$DIR/station.json"
cat >"$DIR/inner.sh" <<EOS
set -e
"$build/rig/daemon/rigd" --config "$DIR/station.json" --socket "$DIR/s" 2>"$DIR/rigd.log" &
pid=\$!
i=0
until "$build/rig/ctl/rigctl" --socket "$DIR/s" --json status 2>/dev/null | grep -q '"pen":true,"sensor":true'; do
    i=\$((i + 1)); [ \$i -lt 200 ] || exit 1; sleep 0.1
done
"$build/rig/ctl/rigctl" --socket "$DIR/s" run "$top/fixtures/sequences/eol.json" --dut PA-0000001 --record eol.json >/dev/null || true
"$build/rig/ctl/rigctl" --socket "$DIR/s" run "$top/fixtures/sequences/dvt-sweep.json" --dut PA-0000001 --record dvt.json >/dev/null || true
kill -TERM \$pid; wait \$pid || true
EOS
"$build/rig/sim/rigsim" --seed 11 -- sh "$DIR/inner.sh"
"$build/tests/report/bench_report" -n "$n" "$DIR/results/eol.json" "$DIR/results/dvt.json"
if [ -n "${3:-}" ]; then
    mkdir -p "$3"
    cp "$DIR"/results/eol.* "$DIR"/results/dvt.* "$3/"
fi
