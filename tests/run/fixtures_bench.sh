#!/bin/sh
# Station throughput benchmark: EOL back to back on 1 fixture, then on N
# fixtures side by side, in one invocation (compare as ratios: this
# machine is shared and noisy). Each fixture is a rigsim bench of its own;
# before every run the operator swaps in the next pen (rigsim swap_pen on
# that bench: a new unit from its own seed, a new serial) and scans it.
# The pens come from the healthy population; rigsim's ground truth says
# which rare unit is really out of the depth tolerance (tests/run/truth.sh):
# it must FAIL on depth, every other pen PASS. Anything else is a false
# verdict.
#
#   tests/run/fixtures_bench.sh [-n RUNS] [-f FIXTURES] [-s SEED] [-b BUILD_DIR]
#
# RUNS per fixture (default 50), FIXTURES side by side (default 4, 2..8).
# Prints, for 1 and for N fixtures: runs, verdicts, mean and p95 cycle time
# per fixture (scan to verdict, swap included), units per hour; then
# the throughput ratio N/1 and each fixture's cycle time against the
# single fixture's. Figures only: exits 0 unless a verdict was false (1)
# or something could not run (2).
set -u
runs=50 nfix=4 seed=1 build=
while getopts n:f:s:b: opt; do
    case $opt in
    n) runs=$OPTARG ;;
    f) nfix=$OPTARG ;;
    s) seed=$OPTARG ;;
    b) build=$OPTARG ;;
    *) echo "usage: fixtures_bench.sh [-n RUNS] [-f FIXTURES] [-s SEED] [-b BUILD_DIR]" >&2; exit 2 ;;
    esac
done
case $nfix in [2-8]) ;; *) echo "fixtures_bench: -f takes 2..8" >&2; exit 2 ;; esac
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${build:-$src/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
for b in rig/sim/rigsim rig/daemon/rigd rig/ctl/rigctl; do
    [ -x "$build/$b" ] || { echo "fixtures_bench: $build/$b not built" >&2; exit 2; }
done
dir=$(mktemp -d /tmp/rig-fxbench-XXXXXX)
trap 'rm -rf "$dir"' EXIT

# One station of $1 fixtures: bench files and station config in $dir/$1.
make_station() {
    d=$dir/$1
    mkdir -p "$d"
    benches= k=1
    for name in A B C D E F G H; do
        [ $k -le "$1" ] || break
        sed "s/\"PA-0000001\"/\"PA-$k-000000\"/; s/\"SH2-000101\"/\"SH2-00010$k\"/" \
            "$src/fixtures/benches/default.json" >"$d/bench-$name.json"
        benches="$benches --bench $d/bench-$name.json --truth $d/truth-$name.jsonl"
        k=$((k + 1))
    done
    # Pens are matched by port: their serials change with every swap.
    i=0
    out=
    for name in A B C D E F G H; do
        [ $i -lt "$1" ] || break
        out="$out${out:+,} { \"name\": \"$name\", \"pen\": { \"path\": \"/dev/ttyACM$i\" }, \"sensor\": { \"serial\": \"SH2-00010$((i + 1))\" } }"
        i=$((i + 1))
    done
    echo "{ \"station\": \"bench-$1\", \"results_dir\": \"$d/results\", \"fixtures\": [ $out ] }" \
        >"$d/station.json"
    echo "$benches"
}

# The loop of one fixture, inside rigsim: swap, scan, run; one line per run
# "verdict seconds" in $d/runs-NAME.
cat >"$dir/fixture_loop.sh" <<'EOF'
set -u
name=$1 bench=$2 d=$3
. "$FXB_SRC/tests/run/truth.sh"
ctl() { "$RIGCTL" --socket "$d/rigd.sock" --fixture "$name" "$@"; }
wait_pen() {
    i=0
    until ctl --json devices 2>/dev/null | grep -q "\"serial\":\"$1\""; do
        i=$((i + 1)); [ $i -lt 500 ] || return 1; sleep 0.02
    done
}
n=0
while [ $n -lt "$FXB_RUNS" ]; do
    n=$((n + 1))
    serial=$(printf 'PA-%d%06d' $((bench + 1)) $n)
    t0=$(date +%s.%N)
    "$RIGSIM" --send "{\"swap_pen\":{\"seed\":$((FXB_SEED * 1000000 + bench * 10000 + n)),\"serial\":\"$serial\",\"gap\":0.1},\"bench\":$bench}" \
        >/dev/null || { echo "ERROR-swap 0" >>"$d/runs-$name"; continue; }
    wait_pen "$serial" || { echo "ERROR-attach 0" >>"$d/runs-$name"; continue; }
    ctl run "$FXB_EOL" --dut "$serial" --operator bench >"$d/out-$name" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    verdict=$(sed -n 's/^[0-9a-f-]\{36\}: \([A-Z]*\).*/\1/p' "$d/out-$name" | tail -n 1)
    expect=$(expected_verdict "$d/truth-$name.jsonl" "$serial")
    echo "${verdict:-rc$rc} $(echo "$t1 - $t0" | bc) $expect" >>"$d/runs-$name"
    case $expect:${verdict:-rc$rc} in
    PASS:PASS | ANY:PASS) ;;
    FAIL:FAIL | ANY:FAIL) grep -q depth "$d/out-$name" ||
        { echo "--- $name run $n ($serial): FAIL, but not on depth"; tail -n 5 "$d/out-$name"; } >>"$d/false.log" ;;
    *) { echo "--- $name run $n ($serial): ${verdict:-rc$rc}, truth $expect"; tail -n 5 "$d/out-$name"; } >>"$d/false.log" ;;
    esac
done
EOF
cat >"$dir/inner.sh" <<'EOF'
set -u
d=$1 nfix=$2
"$RIGD" --config "$d/station.json" --socket "$d/rigd.sock" 2>"$d/rigd.log" &
rigd=$!
i=0
until [ "$("$RIGCTL" --socket "$d/rigd.sock" --json devices 2>/dev/null | grep -o '"present":true' | wc -l)" -eq $((2 * nfix)) ]; do
    i=$((i + 1)); [ $i -lt 300 ] || { echo "fixtures_bench: rigd did not attach" >&2; exit 2; }; sleep 0.1
done
t0=$(date +%s.%N)
k=0 loops=
for name in A B C D E F G H; do
    [ $k -lt "$nfix" ] || break
    sh "$FXB_DIR/fixture_loop.sh" "$name" $k "$d" &
    loops="$loops $!"
    k=$((k + 1))
done
for j in $loops; do wait "$j"; done
t1=$(date +%s.%N)
echo "$t1 - $t0" | bc >"$d/wall"
kill -TERM $rigd
wait $rigd
EOF

export RIGSIM=$build/rig/sim/rigsim RIGD=$build/rig/daemon/rigd RIGCTL=$build/rig/ctl/rigctl
export FXB_RUNS=$runs FXB_SEED=$seed FXB_EOL=$src/fixtures/sequences/eol.json FXB_DIR=$dir
export FXB_SRC=$src
false_verdicts=0
for n in 1 "$nfix"; do
    benches=$(make_station "$n")
    # shellcheck disable=SC2086
    "$RIGSIM" --seed "$seed" $benches -- sh "$dir/inner.sh" "$dir/$n" "$n" || {
        echo "fixtures_bench: the $n-fixture station failed" >&2; exit 2; }
done

# Per fixture: runs, PASS, others, mean and p95 cycle; per station: units/h.
report() {
    d=$dir/$1
    wall=$(cat "$d/wall")
    total=0
    for f in "$d"/runs-*; do
        name=${f##*/runs-}
        awk -v name="$name" -v n="$1" '
            { t[NR] = $2; sum += $2; if ($1 == "PASS") pass++; else other++; if ($3 != "PASS") bad++ }
            END {
                m = sum / NR
                # p95 by sorting the cycle times (insertion sort: a few hundred)
                for (i = 2; i <= NR; i++) { v = t[i]; j = i - 1
                    while (j > 0 && t[j] > v) { t[j + 1] = t[j]; j-- } t[j + 1] = v }
                p = t[int(0.95 * NR + 0.999)]
                printf "%d fixture(s), %s: %d runs, %d PASS, %d other (%d units out of spec by the truth), cycle mean %.3f s, p95 %.3f s\n",
                    n, name, NR, pass, other + 0, bad + 0, m, p
            }' "$f"
        total=$((total + $(wc -l <"$f")))
    done
    echo "$1 fixture(s): $total units in $wall s = $(echo "scale=1; $total * 3600 / $wall" | bc) units/h"
}
report 1 | tee "$dir/r1"
report "$nfix" | tee "$dir/rn"
u1=$(sed -n 's/.* = \([0-9.]*\) units\/h/\1/p' "$dir/r1")
un=$(sed -n 's/.* = \([0-9.]*\) units\/h/\1/p' "$dir/rn")
c1=$(sed -n 's/.*cycle mean \([0-9.]*\) s.*/\1/p' "$dir/r1" | head -n 1)
echo "throughput $nfix/1 fixtures: $(echo "scale=2; $un / $u1" | bc)x"
sed -n 's/^[0-9]* fixture(s), \([A-H]\): .*cycle mean \([0-9.]*\) s.*/\1 \2/p' "$dir/rn" |
    while read -r name c; do
        echo "cycle of $name vs single fixture: $(echo "scale=3; $c / $c1" | bc)"
    done
if [ -s "$dir/1/false.log" ] || [ -s "$dir/$nfix/false.log" ]; then
    cat "$dir/1/false.log" "$dir/$nfix/false.log" 2>/dev/null
    exit 1
fi
exit 0
