#!/bin/sh
# Shared by the tests/run inner scripts (sourced inside rigsim): rigd,
# rigctl and rigsim helpers. Expects DIR, SRCDIR, RIGD, RIGCTL, RIGSIM,
# RUN_CHECK and scenario to be set.
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
    "$RIGCTL" --socket "$SOCK" run "$@" --dut "${DUT:-PA-0000001}" --operator tester --record rec.json \
        >"$DIR/ctl.out" 2>&1 &
    ctl=$!
}
run_fg() {
    "$RIGCTL" --socket "$SOCK" run "$@" --dut "${DUT:-PA-0000001}" --operator tester --record rec.json \
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

