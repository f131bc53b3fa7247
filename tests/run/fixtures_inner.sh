#!/bin/sh
# Inside rigsim (see fixtures_test.sh): rigd with N fixtures, one scenario.
set -u
scenario=$1
nfix=$2
. "$SRCDIR/tests/run/lib.sh"

# Every fixture's pen and sensor head attached.
all_ready() {
    [ "$("$RIGCTL" --socket "$SOCK" --json devices | grep -o '"present":true' | wc -l)" -eq $((2 * nfix)) ]
}
# The simulated pen of bench $1 (rigsim's own view, never rigd's).
bench_pen() { "$RIGSIM" --send "{\"query\":\"pen\",\"bench\":$1}"; }
bench_motor_running() { bench_pen "$1" | grep -q '"motor_running":true'; }
bench_motor_stopped() { bench_pen "$1" | grep -q '"motor_running":false'; }
# rigctl run on fixture $1 (pen PA-000000$2) in the background; output in
# ctl-$1.out, record results/$1.json, pid in ctl_$1.
run_on() {
    fx=$1 k=$2
    shift 2
    "$RIGCTL" --socket "$SOCK" --fixture "$fx" run "$@" --dut "PA-000000$k" --operator tester \
        --record "$fx.json" >"$DIR/ctl-$fx.out" 2>&1 &
    eval "ctl_$fx=\$!"
}
wait_on() {
    eval "wait \$ctl_$1"
}
out() { sed "s/^/  rigctl $1: /" "$DIR/ctl-$1.out"; }
# The record of fixture $1: outcome $2, names fixture $1 and pen PA-000000$3.
check_fixture_record() {
    rec=$DIR/results/$1.json
    "$RUN_CHECK" record "$rec" "$2" complete || fail "record of $1: $(out "$1")"
    grep -q "\"fixture\":[[:space:]]*\"$1\"" "$rec" || fail "record of $1 does not name its fixture"
    grep -q "\"serial\":[[:space:]]*\"PA-000000$3\"" "$rec" || fail "record of $1: not pen $3"
}

"$RIGD" --config "$DIR/station.json" --socket "$SOCK" 2>"$DIR/rigd.log" &
pid=$!
poll 300 all_ready || fail "rigd did not attach all $nfix fixtures: $("$RIGCTL" --socket "$SOCK" devices)"

case $scenario in
addressing)
    # No fixture named: a run, a pen command and an abort are refused,
    # naming the fixtures; status and devices cover them all.
    "$RIGCTL" --socket "$SOCK" run "$EOL" --dut PA-0000001 >"$DIR/ctl.out" 2>&1
    [ $? -eq 2 ] || fail "a run without --fixture was not refused"
    grep -q 'needs "fixture": station line-7 has several (A, B)' "$DIR/ctl.out" ||
        fail "the refusal does not name the fixtures"
    "$RIGCTL" --socket "$SOCK" abort >"$DIR/ctl.out" 2>&1 && fail "abort without --fixture accepted"
    "$RIGCTL" --socket "$SOCK" --fixture Z status >"$DIR/ctl.out" 2>&1 && fail "fixture Z accepted"
    grep -q 'unknown fixture "Z" (station line-7 has: A, B)' "$DIR/ctl.out" ||
        fail "unknown fixture: $(cat "$DIR/ctl.out")"
    "$RIGCTL" --socket "$SOCK" --json status >"$DIR/st.json" || fail "status"
    [ "$(grep -o '"name":"[AB]"' "$DIR/st.json" | wc -l)" -eq 2 ] || fail "status: $(cat "$DIR/st.json")"
    grep -q '"fixture":null' "$DIR/st.json" || fail "status names a fixture nobody asked for"
    "$RIGCTL" --socket "$SOCK" --json --fixture B status >"$DIR/st.json" || fail "status B"
    grep -q '"fixture":"B","session":{"state":"free"' "$DIR/st.json" ||
        fail "status of B: $(cat "$DIR/st.json")"
    "$RIGCTL" --socket "$SOCK" --json devices >"$DIR/dev.json" || fail "devices"
    for s in PA-0000001 PA-0000002 SH2-000101 SH2-000102; do
        grep -q "\"serial\":\"$s\"" "$DIR/dev.json" || fail "devices lacks $s: $(cat "$DIR/dev.json")"
    done
    # A pen command on B drives B's pen, not A's.
    "$RIGCTL" --socket "$SOCK" --fixture B --json pen identify >"$DIR/ctl.out" 2>&1 || fail "identify B"
    grep -q '"serial":"PA-0000002"' "$DIR/ctl.out" || fail "identify B: $(cat "$DIR/ctl.out")"
    # The scanned serial is checked against the fixture's own pen.
    "$RIGCTL" --socket "$SOCK" --fixture A run "$EOL" --dut PA-0000002 >"$DIR/ctl.out" 2>&1
    [ $? -eq 2 ] || fail "A ran with B's serial"
    grep -q 'reports serial PA-0000001, not PA-0000002' "$DIR/ctl.out" ||
        fail "wrong unit: $(cat "$DIR/ctl.out")"
    ;;
isolation)
    # C: a long run, aborted; A: EOL; B: its sensor head pulled meanwhile.
    run_on C 3 "$LONG"
    poll 300 bench_motor_running 2 || fail "C never started its motor: $(out C)"
    "$RIGCTL" --socket "$SOCK" --json --fixture A watch --topics run,devices --duration 60 \
        >"$DIR/watch.out" 2>&1 &
    watch=$!
    run_on A 1 "$EOL"
    poll 300 bench_motor_running 0 || fail "A never started its motor: $(out A)"
    "$RIGSIM" --send '{"fault":"sensor-unplug","bench":1}' >/dev/null || fail "cannot unplug B's sensor"
    "$RIGCTL" --socket "$SOCK" --fixture C abort >"$DIR/abort.out" 2>&1 || fail "abort C: $(cat "$DIR/abort.out")"
    wait_on C
    rc=$?
    [ $rc -eq 2 ] || fail "C: exit $rc, expected 2 (ABORTED): $(out C)"
    grep -q ABORTED "$DIR/ctl-C.out" || fail "C not ABORTED: $(out C)"
    poll 100 bench_motor_stopped 2 || fail "C's motor still running: $(bench_pen 2)"
    wait_on A
    rc=$?
    [ $rc -eq 0 ] || fail "A: exit $rc, expected 0 (PASS): $(out A)"
    check_fixture_record A PASS 1
    check_fixture_record C ABORTED 3
    "$RIGCTL" recompute "$DIR/results/A.json" >"$DIR/rc.out" 2>&1 || fail "recompute A: $(cat "$DIR/rc.out")"
    # B: its sensor head is gone; a run is refused for the rig, not the pen.
    "$RIGCTL" --socket "$SOCK" --fixture B run "$EOL" --dut PA-0000002 >"$DIR/ctl.out" 2>&1
    [ $? -eq 2 ] || fail "B ran without its sensor head: $(cat "$DIR/ctl.out")"
    grep -qi 'sensor' "$DIR/ctl.out" || fail "B's refusal does not name the sensor: $(cat "$DIR/ctl.out")"
    [ -e "$DIR/results/B.json" ] && fail "B filed a record for a run that never started"
    "$RIGCTL" --socket "$SOCK" --json --fixture B status | grep -q '"sensor":false' ||
        fail "status of B does not show its sensor missing"
    # A's watcher saw A's events only, each naming A (and B's unplug, no).
    kill "$watch" 2>/dev/null
    wait "$watch" 2>/dev/null
    grep -q '"event":"finished".*"fixture":"A"\|"fixture":"A".*"event":"finished"' "$DIR/watch.out" ||
        fail "watch --fixture A missed A's finish: $(head -c 800 "$DIR/watch.out")"
    grep -q '"fixture":"[BC]"' "$DIR/watch.out" && fail "watch --fixture A shows other fixtures"
    # The sensor head comes back; B runs and passes.
    "$RIGSIM" --send '{"fault":"sensor-replug","bench":1}' >/dev/null || fail "cannot replug B's sensor"
    poll 300 all_ready || fail "B's sensor head did not come back"
    run_on B 2 "$EOL"
    wait_on B
    rc=$?
    [ $rc -eq 0 ] || fail "B after replug: exit $rc: $(out B)"
    check_fixture_record B PASS 2
    ;;
parallel)
    run_on A 1 "$EOL"
    run_on B 2 "$EOL"
    run_on C 3 "$EOL"
    for fx in A B C; do
        wait_on $fx
        rc=$?
        [ $rc -eq 0 ] || fail "$fx: exit $rc, expected 0 (PASS): $(out $fx)"
    done
    check_fixture_record A PASS 1
    check_fixture_record B PASS 2
    check_fixture_record C PASS 3
    for fx in A B C; do
        "$RIGCTL" recompute "$DIR/results/$fx.json" >"$DIR/rc.out" 2>&1 ||
            fail "recompute $fx: $(cat "$DIR/rc.out")"
    done
    ;;
*)
    fail "unknown scenario"
    ;;
esac
stop_rigd
for k in $(seq 0 $((nfix - 1))); do
    bench_motor_stopped "$k" || fail "bench $k's motor running after rigd exit: $(bench_pen "$k")"
done
exit 0
