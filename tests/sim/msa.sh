#!/bin/sh
# Measurement system analysis through rigsim (docs/SIMULATOR-MODEL.md,
# "Measurement system analysis"; docs/RIGSIM.md): simmsa's depth readings
# over remounts and a new session agree with the mount truth lines; the
# same --seed and --session give the same mounts, another session other
# ones; a session re-seeds the sensor noise, session 0 is no session.
# Usage: msa.sh RIGSIM SIMMSA SIMTEST BENCH WORKDIR
set -eu
rigsim=$1 simmsa=$2 simtest=$3 bench=$4 dir=$5
mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }

for run in a:7 b:7 c:8; do
    name=${run%%:*} session=${run#*:}
    "$rigsim" --bench "$bench" --seed 5 --session "$session" --truth "$dir/$name.jsonl" \
        -- "$simmsa" "$dir/$name.jsonl" || fail "simmsa, session $session"
done
# What was drawn at each mount, in order: the mount lines without the
# time and the load cell's zero shift carried over (which has crept for as
# long as the previous mount lasted, in real time)
mounts() {
    grep '"event":"mount"' "$dir/$1.jsonl" | sed -e 's/^{"t":[0-9.]*,/{/' -e 's/,"zero_shift_mn":.*//'
}
[ "$(mounts a | wc -l)" -eq 5 ] || fail "$(mounts a | wc -l) mount lines, want 5"
[ "$(mounts a)" = "$(mounts b)" ] || fail "same seed and session, different mounts"
[ "$(mounts a | head -1)" != "$(mounts c | head -1)" ] || fail "sessions 7 and 8 mount alike"
# session 4242, started by request in both: the same draws whatever came
# before
draws() { mounts "$1" | grep '"session":4242'; }
[ -n "$(draws a)" ] && [ "$(draws a)" = "$(draws c)" ] || fail "session 4242 differs"

# the sensor noise: a session re-seeds it; session 0 is no session
hash() { "$rigsim" --seed 42 "$@" -- "$simtest" hash 20000; }
h=$(hash) h0=$(hash --session 0) h7=$(hash --session 7) h7b=$(hash --session 7) \
    h8=$(hash --session 8)
echo "noise hashes: no session $h, session 0 $h0, 7 $h7 / $h7b, 8 $h8"
[ -n "$h" ] && [ "$h" = "$h0" ] || fail "session 0 is not the plain seed"
[ "$h7" = "$h7b" ] || fail "session 7 twice, different samples"
[ "$h7" != "$h" ] && [ "$h7" != "$h8" ] || fail "sessions share their noise"
if "$rigsim" --session x -- true 2>/dev/null; then fail "--session x accepted"; fi
echo "ok"
