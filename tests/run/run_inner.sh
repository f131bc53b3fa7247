#!/bin/sh
# Inside rigsim (see run_test.sh): rigd + rigctl, one scenario.
set -u
scenario=$1
SOCK=$DIR/rigd.sock
# Records are named by file name; rigd puts them in the results directory.
REC=$DIR/results/rec.json
EOL=$SRCDIR/fixtures/sequences/eol.json
LONG=$SRCDIR/tests/run/long.json   # motor running for 6 s: room to act mid-run
# A 60 s capture: an unplug must end it at once, not after the capture time.
UNPLUG=$SRCDIR/tests/run/unplug.json
pid=
ctl=

fail() {
    echo "FAIL ($scenario): $*" >&2
    [ -f "$DIR/ctl.out" ] && sed 's/^/  rigctl: /' "$DIR/ctl.out" >&2
    [ -f "$DIR/rigd.log" ] && tail -n 30 "$DIR/rigd.log" | sed 's/^/  rigd: /' >&2
    [ -n "$ctl" ] && kill -TERM "$ctl" 2>/dev/null
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
    exit 1
}

# Poll "$@" every 0.1 s for up to $1 x 0.1 s.
poll() {
    n=$1
    shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt "$n" ] || return 1
        sleep 0.1
    done
}

rigd_ready() { "$RIGCTL" --socket "$SOCK" --json status | grep -q '"pen":true,"sensor":true'; }
start_rigd() {
    "$RIGD" --config "$DIR/station.json" --socket "$SOCK" 2>"$DIR/rigd.log" &
    pid=$!
    poll 200 rigd_ready || fail "rigd did not attach both devices"
}
stop_rigd() {
    kill -TERM "$pid"
    wait "$pid"
    rc=$?
    pid=
    [ $rc -eq 0 ] || fail "rigd exit status $rc"
}

pen() { "$RIGSIM" --send '{"query":"pen"}'; }
motor_running() { pen | grep -q '"motor_running":true'; }
motor_stopped() { pen | grep -q '"motor_running":false'; }
# The motor stopped and rigd (not the pen's watchdog) stopped it.
expect_motor_stopped_by_rigd() {
    poll 100 motor_stopped || fail "motor still running: $(pen)"
    pen | grep -q watchdog && fail "motor stopped by the pen watchdog, not by rigd: $(pen)"
    return 0
}

# rigctl run in the background; output in ctl.out.
run_bg() {
    "$RIGCTL" --socket "$SOCK" run "$@" --dut PA-0000001 --operator tester --record rec.json \
        >"$DIR/ctl.out" 2>&1 &
    ctl=$!
}
run_fg() {
    "$RIGCTL" --socket "$SOCK" run "$@" --dut PA-0000001 --operator tester --record rec.json \
        >"$DIR/ctl.out" 2>&1
}
wait_ctl() {
    wait "$ctl"
    ctl_rc=$?
    ctl=
}
# Wait until the run has the motor running (the start-up capture).
wait_motor_running() { poll 300 motor_running || fail "the run never started the motor"; }
check_record() { "$RUN_CHECK" record "$REC" "$@" || fail "record check: $*"; }
record_complete() { "$RUN_CHECK" record "$REC" ANY complete; }

start_rigd
case $scenario in
eol-pass)
    run_fg "$EOL"
    rc=$?
    [ $rc -eq 0 ] || fail "rigctl exit $rc, expected 0 (PASS)"
    grep -q "PASS" "$DIR/ctl.out" || fail "no PASS in rigctl's output"
    grep -q "record: $REC" "$DIR/ctl.out" || fail "rigctl does not name the record"
    check_record PASS complete
    motor_stopped || fail "motor running after the run: $(pen)"
    ;;
depth-drift)
    run_fg "$EOL"
    rc=$?
    [ $rc -eq 1 ] || fail "rigctl exit $rc, expected 1 (FAIL)"
    check_record FAIL complete "depth"
    ;;
no-cartridge)
    run_fg "$EOL"
    rc=$?
    [ $rc -eq 1 ] || fail "rigctl exit $rc, expected 1 (FAIL)"
    check_record FAIL complete "cartridge"
    grep -q "cartridge" "$DIR/ctl.out" || fail "rigctl does not say what is wrong"
    motor_stopped || fail "motor running: $(pen)"
    ;;
stall)
    # Documented (docs/FILES.md, docs/RUNS.md): a pen that stops stroking
    # FAILs its rate -- it is the pen's fault, not the rig's.
    run_bg "$LONG"
    wait_motor_running
    "$RIGSIM" --send '{"fault":"stall"}' >/dev/null || fail "cannot inject stall"
    wait_ctl
    [ $ctl_rc -eq 1 ] || fail "rigctl exit $ctl_rc, expected 1 (FAIL)"
    check_record FAIL complete
    motor_stopped || fail "motor running: $(pen)"
    ;;
sensor-unplug)
    run_bg "$UNPLUG"
    wait_motor_running
    "$RIGSIM" --send '{"fault":"sensor-unplug"}' >/dev/null || fail "cannot unplug the sensor"
    t0=$(date +%s)
    wait_ctl
    # Not a speed check: without the wake-up the run waits out the 60 s capture.
    [ $(($(date +%s) - t0)) -lt 30 ] || fail "the run waited out the capture after the unplug"
    [ $ctl_rc -eq 2 ] || fail "rigctl exit $ctl_rc, expected 2 (ERROR)"
    check_record ERROR complete
    grep -q "ERROR" "$DIR/ctl.out" || fail "rigctl does not show ERROR"
    expect_motor_stopped_by_rigd
    ;;
pen-unplug)
    run_bg "$UNPLUG"
    wait_motor_running
    "$RIGSIM" --send '{"fault":"pen-unplug"}' >/dev/null || fail "cannot unplug the pen"
    t0=$(date +%s)
    wait_ctl
    [ $(($(date +%s) - t0)) -lt 30 ] || fail "the run waited out the capture after the unplug"
    [ $ctl_rc -eq 2 ] || fail "rigctl exit $ctl_rc, expected 2 (ERROR, not a pen FAIL)"
    check_record ERROR complete "pen disconnected"
    motor_stopped || fail "motor running: $(pen)"
    # rigd exits 2 here by design: its exit-time stop cannot be confirmed
    # without the pen (docs/DAEMON.md).
    kill -TERM "$pid"
    wait "$pid"
    echo "PASS $scenario"
    exit 0
    ;;
abort)
    run_bg "$LONG"
    wait_motor_running
    "$RIGCTL" --socket "$SOCK" abort >"$DIR/abort.out" 2>&1 || fail "rigctl abort failed"
    wait_ctl
    [ $ctl_rc -eq 2 ] || fail "rigctl exit $ctl_rc, expected 2 (ABORTED)"
    grep -q "ABORTED" "$DIR/ctl.out" || fail "rigctl does not show ABORTED"
    check_record ABORTED complete "aborted: abort requested by $(id -un)"
    expect_motor_stopped_by_rigd
    ;;
owner-gone)
    run_bg "$LONG"
    wait_motor_running
    kill -INT "$ctl"
    wait_ctl
    poll 100 record_complete || fail "record not completed after the owner left"
    # The record says who/what aborted it, and so does rigd's log.
    check_record ABORTED complete "aborted: owner disconnected"
    grep -q "aborting: owner disconnected" "$DIR/rigd.log" || fail "rigd does not log why"
    expect_motor_stopped_by_rigd
    ;;
sigterm)
    run_bg "$LONG"
    wait_motor_running
    stop_rigd
    wait_ctl
    [ $ctl_rc -eq 2 ] || fail "rigctl exit $ctl_rc, expected 2"
    grep -q "ABORTED" "$DIR/ctl.out" || fail "rigctl did not get the run's end before rigd exited"
    grep -q "rigd shutting down (SIGTERM)" "$DIR/ctl.out" || fail "the finished event does not say why"
    check_record ABORTED complete "aborted: rigd shutting down (SIGTERM)"
    expect_motor_stopped_by_rigd
    grep "run .* shutdown\|finished" "$DIR/rigd.log" | tail -n 2
    echo "PASS $scenario"
    exit 0
    ;;
sigkill)
    run_bg "$LONG"
    wait_motor_running
    kill -KILL "$pid"
    wait "$pid"
    pid=
    wait_ctl
    [ $ctl_rc -eq 2 ] || fail "rigctl exit $ctl_rc, expected 2 (connection lost)"
    check_record ANY incomplete
    # Nobody is left to stop it: the pen's own watchdog must.
    poll 100 motor_stopped || fail "motor still running after rigd died: $(pen)"
    echo "PASS $scenario"
    exit 0
    ;;
busy)
    run_bg "$LONG"
    wait_motor_running
    "$RIGCTL" --socket "$SOCK" run "$EOL" --dut PA-0000002 >"$DIR/busy.out" 2>&1
    rc=$?
    [ $rc -eq 75 ] || fail "second run: exit $rc, expected 75 (busy)"
    grep -q "busy" "$DIR/busy.out" || fail "second run not refused as busy: $(cat "$DIR/busy.out")"
    grep -q "PA-0000001" "$DIR/busy.out" || fail "busy error does not name the active run"
    # The refused request changed nothing: the first run is still going.
    motor_running || fail "first run disturbed by the refused one: $(pen)"
    "$RIGCTL" --socket "$SOCK" --json status >"$DIR/status.out" 2>&1
    grep -q '"run":{"run_id":"[0-9a-f-]*","sequence":"long-capture"' "$DIR/status.out" ||
        fail "status does not show the active run: $(cat "$DIR/status.out")"
    grep -q '"step_name":"long run"' "$DIR/status.out" || fail "status does not show the step"
    "$RIGCTL" --socket "$SOCK" abort >/dev/null 2>&1 || fail "rigctl abort failed"
    wait_ctl
    [ $ctl_rc -eq 2 ] || fail "first run: exit $ctl_rc, expected 2 (ABORTED)"
    check_record ABORTED complete
    ;;
wait)
    # A second run with --wait queues behind the first and starts when the
    # bench is free again (here: after the first is aborted).
    run_bg "$LONG"
    wait_motor_running
    "$RIGCTL" --socket "$SOCK" run "$EOL" --dut PA-0000001 --wait --record rec2.json \
        >"$DIR/wait.out" 2>&1 &
    second=$!
    poll 100 grep -q "waiting" "$DIR/wait.out" || fail "second run not queued: $(cat "$DIR/wait.out")"
    "$RIGCTL" --socket "$SOCK" abort >/dev/null 2>&1 || fail "rigctl abort failed"
    wait_ctl
    [ $ctl_rc -eq 2 ] || fail "first run: exit $ctl_rc, expected 2 (ABORTED)"
    wait "$second"
    rc=$?
    [ $rc -le 1 ] || fail "queued run: exit $rc, expected a verdict: $(cat "$DIR/wait.out")"
    "$RUN_CHECK" record "$DIR/results/rec2.json" ANY complete || fail "queued run's record"
    ;;
bad-file)
    run_fg "$SRCDIR/fixtures/corpus/sequence_file/bad-sequence.json"
    rc=$?
    [ $rc -eq 2 ] || fail "rigctl exit $rc, expected 2 (refused)"
    grep -q 'bad-sequence.json: \$' "$DIR/ctl.out" || fail "problems not listed as file: path: message"
    [ ! -e "$REC" ] || fail "a record was written for a refused run"
    motor_stopped || fail "motor running: $(pen)"
    ;;
accuracy)
    run_fg "$SRCDIR/tests/run/sweep-short.json"
    rc=$?
    [ $rc -eq 0 ] || fail "rigctl exit $rc, expected 0 (PASS)"
    "$RUN_CHECK" accuracy "$REC" "$DIR/truth.jsonl" 0.1 5 || fail "accuracy versus ground truth"
    ;;
*)
    fail "unknown scenario"
    ;;
esac
stop_rigd
echo "PASS $scenario"
