#!/bin/sh
# Inside rigsim (grr_sim.sh): rigd, a study planned and walked with the
# simulator's mount hook, its analysis checked against the ground truth.
set -u
SOCK=$DIR/rigd.sock
fail() {
    echo "FAIL (grr-sim): $*" >&2
    for f in plan1.out plan2.out plan-q.out analyse.out; do
        [ -f "$DIR/$f" ] && sed "s/^/  $f: /" "$DIR/$f" | tail -n 25 >&2
    done
    [ -f "$DIR/rigd.log" ] && tail -n 20 "$DIR/rigd.log" | sed 's/^/  rigd: /' >&2
    kill -TERM "$pid" 2>/dev/null
    exit 1
}
ctl() { "$RIGCTL" --socket "$SOCK" "$@"; }
"$RIGD" --config "$DIR/station.json" --socket "$SOCK" 2>"$DIR/rigd.log" &
pid=$!
i=0
until ctl --json status 2>/dev/null | grep -q '"pen":true,"sensor":true'; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "rigd did not attach both devices"
    sleep 0.1
done
serials=$(seq -f 'PG-%07g' 1 "$GRR_PARTS" | paste -sd, -)
names=$(printf 'Ann,Bob,Cem,Dee,Eva' | cut -d, -f1-"$GRR_OPS")
export GRR_SOCK=$SOCK
plan() {
    ctl grr plan --study S1 --seed 42 --sequence "${GRR_SEQUENCE:-$SRCDIR/fixtures/sequences/grr-depth.json}" \
        --part-serials "$serials" --operator-names "$names" --trials "$GRR_TRIALS" --yes \
        --station-db "$DIR/results/station.db" --mount-hook "sh $SRCDIR/tests/grr/grr_mount.sh" "$@"
}
total=$((GRR_PARTS * GRR_OPS * GRR_TRIALS))
start=$(date +%s.%N)
if [ "$GRR_PARTS$GRR_OPS$GRR_TRIALS" = 522 ]; then
    # Stop half way (the hook refuses cell 11), with an ERROR run on
    # cell 3 (the hook unplugs the sensor head mid-run the first time).
    GRR_STOP_AT=10 GRR_ERROR_AT=2 plan >"$DIR/plan1.out" 2>&1
    rc=$?
    [ $rc -eq 2 ] || fail "plan stopped by the hook: exit $rc, expected 2"
    grep -q "10 of 20 runs done" "$DIR/plan1.out" || fail "plan did not stop after 10 runs"
    grep -q "run .*: ERROR" "$DIR/plan1.out" || fail "no ERROR run on cell 3"
    plan >"$DIR/plan2.out" 2>&1 || fail "resumed plan: exit $?"
    grep -q "resuming" "$DIR/plan2.out" || fail "the second plan did not resume the study"
    # cells, not tries: a loaded machine can make a run end ERROR (the
    # pen's watchdog) and the cell is tried again
    n=$(sed -n 's/^\[\([0-9]*\)\/.*/\1/p' "$DIR/plan2.out" | sort -u | wc -l)
    first=$(sed -n 's/^\[\([0-9]*\)\/.*/\1/p' "$DIR/plan2.out" | head -n 1)
    [ "$n" -eq 10 ] && [ "$first" -eq 11 ] ||
        fail "the resumed plan ran $n cells from $first, expected the 10 left from 11"
else
    plan >"$DIR/plan1.out" 2>&1 || fail "plan: exit $?"
fi
# Interactive: the prompt waits for Enter on stdin; "q" stops before any
# run, leaving the new study (S2) planned with nothing done.
printf 'q\n' | ctl grr plan --study S2 --seed 1 --sequence "$SRCDIR/fixtures/sequences/grr-depth.json" \
    --part-serials PG-0000001,PG-0000002 --operators 2 --trials 2 \
    --station-db "$DIR/results/station.db" >"$DIR/plan-q.out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "Enter to start, q to stop" "$DIR/plan-q.out" &&
    grep -q "0 of 8 runs done" "$DIR/plan-q.out" || fail "plan stopped at the prompt: exit $rc"
end=$(date +%s.%N)
echo "grr-sim: $total runs in $(echo "$end - $start" | bc) s" >&2
ctl grr analyse S1 --measurement "${GRR_MEASUREMENT:-depth}" --station-db "$DIR/results/station.db" \
    >"$DIR/analyse.out" 2>&1 || fail "analyse: exit $?"
cat "$DIR/analyse.out" >&2
html=
[ -n "${GRR_ARTEFACTS:-}" ] && html="--html $GRR_ARTEFACTS/S1.html"
# shellcheck disable=SC2086
ctl grr analyse S1 --json $html --station-db "$DIR/results/station.db" >"$DIR/analyse.json" ||
    fail "analyse --json: exit $?"
[ -z "$html" ] || cp "$DIR/analyse.json" "$GRR_ARTEFACTS/S1.json"
[ -n "${GRR_SEQUENCE:-}" ] || python3 "$SRCDIR/tests/grr/grr_check.py" "$DIR/analyse.json" "$DIR/truth.jsonl" \
    "$DIR/results/station.db" "$GRR_PARTS" "$GRR_OPS" "$GRR_TRIALS" >&2 || fail "grr_check"
kill -TERM "$pid"
wait "$pid"
