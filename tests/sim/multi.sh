#!/bin/sh
# Several benches: what rigsim refuses, and how the benches are seeded.
# Benches sharing a pen or sensor-head serial, more benches or --truth
# files than allowed, and a --fault for a bench that does not exist are
# refused with exit 2 and a message. Bench 0 of a two-bench run gives the
# samples a single-bench run gives; bench 1, from a file that differs only
# in serials, other ones (its seed is derived from --seed).
# Usage: multi.sh RIGSIM SIMMULTI BENCHDIR WORKDIR
set -eu
rigsim=$1 simmulti=$2 benches=$3 dir=$4
mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }
b2=$benches/fixture-2.json b3=$benches/fixture-3.json

# refused: exit 2, COMMAND never runs, and the message says why
refused() {
    why=$1
    shift
    rm -f "$dir/ran"
    set +e
    "$rigsim" "$@" -- touch "$dir/ran" 2>"$dir/err"
    rc=$?
    set -e
    [ "$rc" -eq 2 ] || fail "$* -> exit $rc, want 2"
    [ ! -e "$dir/ran" ] || fail "$*: COMMAND ran"
    grep -q -- "$why" "$dir/err" || fail "$*: message '$(cat "$dir/err")' lacks '$why'"
    echo "refused ($why): $(cat "$dir/err")"
}
refused "same pen serial PA-0000002" --bench "$b2" --bench "$b2"
sed 's/PA-0000003/PA-0000009/' "$b3" >"$dir/sh-dup.json"
sed -i 's/SH2-000103/SH2-000102/' "$dir/sh-dup.json"
refused "same sensor-head serial SH2-000102" --bench "$b2" --bench "$dir/sh-dup.json"
refused "too many --bench" $(for i in 1 2 3 4 5 6 7 8 9; do echo --bench "$b2"; done)
refused "3 --truth files for 2 benches" --bench "$b2" --bench "$b3" \
    --truth "$dir/t0" --truth "$dir/t1" --truth "$dir/t2"
refused "no bench 2" --bench "$b2" --bench "$b3" --fault 2:stall
refused "bad bench" --fault 8:stall

# seeds: bench 0 as a single bench, bench 1 a different unit
hash() { "$rigsim" --seed 42 "$@"; }
single=$(hash --bench "$b2" -- "$simmulti" hash SH2-000102 20000)
h0=$(hash --bench "$b2" --bench "$b3" -- "$simmulti" hash SH2-000102 20000)
h1=$(hash --bench "$b2" --bench "$b3" -- "$simmulti" hash SH2-000103 20000)
echo "seed 42: single bench $single, two benches: bench 0 $h0, bench 1 $h1"
[ -n "$single" ] || fail "no hash"
[ "$h0" = "$single" ] || fail "bench 0 differs from the same bench alone"
[ "$h1" != "$h0" ] || fail "benches differing only in serials give the same samples"
echo "ok"
