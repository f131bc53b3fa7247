#!/bin/sh
# Inside rigsim (see run_test.sh): what an end-of-line station does at
# cadence, and what went wrong there once (issue "A healthy pen passes
# every time"). One scenario per item; each failed on the code before it.
set -u
scenario=$1
. "$SRCDIR/tests/run/lib.sh"
ctl_() { "$RIGCTL" --socket "$SOCK" "$@"; }
# (the station database, station.db*, is rigd's from its start, not a run's)
results() { ls "$DIR/results" 2>/dev/null | grep -v '^station\.db'; }
# the records of earlier runs gone (not the station database: rigd refuses
# runs while its database file is missing)
clear_records() { find "$DIR/results" -maxdepth 1 -type f ! -name 'station.db*' -delete; }
pen_has_fault() { pen | grep -q "\"fault_names\":\[[^]]*\"$1\""; }
outcome_of() { sed -n 's/^[0-9a-f-]\{36\}: \([A-Z]*\).*/\1/p' "$1" | tail -n 1; }

if [ "$scenario" = journal ]; then
    # A stand-in journald (run_test.sh gave us a private /run): every
    # datagram rigd sends to the journal socket, one per paragraph.
    mkdir -p /run/systemd/journal
    /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/run/systemd/journal/socket")
out = open(sys.argv[1], "ab", buffering=0)
while True:
    out.write(s.recv(65536) + b"\n--\n")
' "$DIR/journal.txt" &
    journald=$!
    poll 50 test -S /run/systemd/journal/socket || fail "no stand-in journal socket"
    # stderr is the journal stream systemd would have given rigd
    : >"$DIR/rigd.log"
    JOURNAL_STREAM=$(stat -c '%d:%i' "$DIR/rigd.log")
    export JOURNAL_STREAM
fi
start_rigd
case $scenario in
start-while-stopping)
    # A run that ends with the motor running, then EOL at once: its START
    # must wait for the motor to come to rest, not be refused.
    "$RIGCTL" --socket "$SOCK" run "$SRCDIR/tests/run/motor-on.json" --dut PA-0000001 \
        >"$DIR/ctl.out" 2>&1 || fail "the motor-on run did not pass"
    run_fg "$EOL"
    rc=$?
    [ $rc -eq 0 ] || fail "EOL right after a run that left the motor running: exit $rc"
    # An aborted run, then EOL at once.
    clear_records
    run_bg "$LONG"
    wait_motor_running
    ctl_ abort >/dev/null 2>&1 || fail "abort failed"
    wait_ctl
    [ $ctl_rc -eq 2 ] || fail "aborted run: exit $ctl_rc"
    clear_records
    run_fg "$EOL"
    rc=$?
    [ $rc -eq 0 ] || fail "EOL right after an abort: exit $rc"
    ;;
wait-prompt)
    # A queued run starts as soon as the previous one has ended; it used
    # to wait ~3.5 s for a state report that never came.
    run_bg "$SRCDIR/tests/run/motor-on.json"
    poll 100 grep -q started "$DIR/ctl.out" || fail "first run did not start"
    "$RIGCTL" --socket "$SOCK" run "$EOL" --dut PA-0000001 --wait --record rec2.json \
        >"$DIR/wait.out" 2>&1 &
    second=$!
    wait_ctl
    [ $ctl_rc -eq 0 ] || fail "first run: exit $ctl_rc"
    t0=$(date +%s%N)
    poll 100 grep -q "started" "$DIR/wait.out" || fail "queued run never started"
    t1=$(date +%s%N)
    wait $second || fail "queued run: $(cat "$DIR/wait.out")"
    gap_ms=$(((t1 - t0) / 1000000))
    echo "queued run started ${gap_ms} ms after the previous one ended"
    # Not a speed test: the old dead time was 3.5 s; 2 s of slack under load.
    [ $gap_ms -lt 2000 ] || fail "queued run started ${gap_ms} ms after the previous one"
    ;;
rig-crash)
    # rigd killed with the motor running: the pen's watchdog stops it and
    # latches WATCHDOG. The restarted rigd clears that fault (the rig's,
    # not the pen's), records that it did, and the next run PASSes.
    run_bg "$LONG"
    wait_motor_running
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    pid=
    wait_ctl
    poll 50 pen_has_fault watchdog || fail "the pen's watchdog did not trip: $(pen)"
    clear_records
    start_rigd
    grep -q "cleared the WATCHDOG fault the rig caused" "$DIR/rigd.log" ||
        fail "rigd did not clear the rig's WATCHDOG fault"
    ctl_ --json devices | grep -q '"faults":"none"' || fail "devices: $(ctl_ --json devices)"
    run_fg "$EOL"
    rc=$?
    [ $rc -eq 0 ] || fail "the run after the crash: exit $rc"
    grep -q '"action":[[:space:]]*"clear_pen_fault"' "$REC" ||
        fail "the record does not say rigd cleared the fault"
    ;;
pen-fault-latched)
    # A fault the pen raised itself stays latched: devices shows it, and
    # the next run FAILs naming it (the pen's verdict, not cleared away).
    run_bg "$LONG"
    wait_motor_running
    "$RIGSIM" --send '{"fault":"stall"}' >/dev/null || fail "cannot inject stall"
    wait_ctl
    [ $ctl_rc -eq 1 ] || fail "stalled run: exit $ctl_rc, expected 1 (FAIL)"
    poll 50 pen_has_fault stall || fail "no stall latched: $(pen)"
    "$RIGSIM" --send '{"clear":true}' >/dev/null
    ctl_ --json devices | grep -q '"faults":"STALL"' || fail "devices does not show STALL"
    ctl_ --json status | grep -q '"pen_faults":"STALL"' || fail "status does not show STALL"
    clear_records
    run_fg "$EOL"
    rc=$?
    [ $rc -eq 1 ] || fail "run on a pen with a latched stall: exit $rc, expected 1 (FAIL)"
    grep -q "fault active: STALL" "$DIR/ctl.out" || fail "the FAIL does not name the fault"
    ;;
rig-hang)
    # rigd stopped (SIGSTOP) for longer than the pen's watchdog while the
    # motor runs: the run ends ERROR, never FAIL; the next one PASSes.
    run_bg "$LONG"
    wait_motor_running
    kill -STOP "$pid"
    sleep 0.9
    kill -CONT "$pid"
    wait_ctl
    [ $ctl_rc -eq 2 ] || fail "hung run: exit $ctl_rc, expected 2 (ERROR)"
    [ "$(outcome_of "$DIR/ctl.out")" = ERROR ] || fail "hung run: not ERROR"
    grep -q "rig problem" "$DIR/ctl.out" || fail "the ERROR does not say the rig was at fault"
    clear_records
    run_fg "$EOL"
    rc=$?
    [ $rc -eq 0 ] || fail "the run after the hang: exit $rc"
    ;;
stale-stream)
    # rigd killed 1.5 s into a run leaves the sensor streaming; the next
    # rigd must not take the old stream's blocks for its own.
    run_bg "$LONG"
    wait_motor_running
    sleep 1.5
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    pid=
    wait_ctl
    clear_records
    start_rigd
    run_fg "$EOL"
    rc=$?
    [ $rc -eq 0 ] || fail "the run after the kill: exit $rc"
    grep -q "discarded [0-9]* stale block" "$DIR/rigd.log" || fail "no stale stream was drained"
    ;;
wrong-unit)
    # The scanned serial is not the pen in the fixture: refused before
    # anything moves; nothing is filed under the wrong serial.
    "$RIGCTL" --socket "$SOCK" run "$EOL" --dut PA-9999999 >"$DIR/ctl.out" 2>&1
    rc=$?
    [ $rc -eq 2 ] || fail "wrong unit: exit $rc, expected 2"
    grep -q "reports serial PA-0000001, not PA-9999999" "$DIR/ctl.out" || fail "no clear message"
    [ -z "$(results)" ] || fail "something was written: $(results)"
    motor_stopped || fail "the motor ran"
    "$RIGCTL" --socket "$SOCK" run "$EOL" --dut "$(printf 'PA-0000001\nrigd: x')" >"$DIR/nl.out" 2>&1
    [ $? -eq 64 ] || fail "a newline in --dut was not refused"
    ;;
pen-absent)
    # No pen, or a pen rigd has not re-attached yet: refused up front, no
    # ERROR record for a unit never tested.
    "$RIGSIM" --send '{"fault":"pen-unplug"}' >/dev/null || fail "cannot unplug"
    poll 50 sh -c "! '$RIGCTL' --socket '$SOCK' --json status | grep -q '\"pen\":true'" ||
        fail "rigd still shows the pen"
    "$RIGCTL" --socket "$SOCK" run "$EOL" --dut PA-0000001 >"$DIR/ctl.out" 2>&1
    rc=$?
    [ $rc -eq 2 ] || fail "pen absent: exit $rc"
    grep -q "the pen is not attached" "$DIR/ctl.out" || fail "does not say the pen is missing"
    [ -z "$(results)" ] || fail "a record was written: $(results)"
    # Re-plug and run at once: refused while rigd has not re-attached it,
    # or run and PASS -- never an ERROR record.
    "$RIGSIM" --send '{"fault":"pen-replug"}' >/dev/null || fail "cannot re-plug"
    "$RIGCTL" --socket "$SOCK" run "$EOL" --dut PA-0000001 >"$DIR/ctl.out" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        grep -q "not attached" "$DIR/ctl.out" || fail "run right after re-plug: exit $rc"
        [ -z "$(results)" ] || fail "a record was written: $(results)"
        poll 100 rigd_ready || fail "rigd did not re-attach the pen"
        run_fg "$EOL" || fail "the run after re-attach did not pass"
    fi
    ;;
record-id)
    # One id: rigctl's, the record's, its file name's, JUnit's.
    "$RIGCTL" --socket "$SOCK" run "$EOL" --dut PA-0000001 --junit "$DIR/j.xml" \
        >"$DIR/ctl.out" 2>&1 || fail "run failed"
    id=$(sed -n 's/^run \([0-9a-f-]\{36\}\) started.*/\1/p' "$DIR/ctl.out")
    [ -n "$id" ] || fail "rigctl printed no run id"
    grep -q "^$id: PASS" "$DIR/ctl.out" || fail "the summary has another id"
    rec=$(ls "$DIR"/results/*"$id".json 2>/dev/null)
    [ -n "$rec" ] || fail "no record file named with $id: $(results)"
    grep -q "\"id\":[[:space:]]*\"$id\"" "$rec" || fail "the record's id differs"
    grep -q "id=\"$id\"" "$DIR/j.xml" || fail "JUnit has another id"
    ;;
record-exists)
    # A record is never overwritten: a second run naming it is refused.
    run_fg "$EOL" || fail "first run failed"
    sum=$(sha256sum "$REC")
    run_fg "$EOL"
    rc=$?
    [ $rc -eq 2 ] || fail "second run with the same record: exit $rc"
    grep -q "exists" "$DIR/ctl.out" || fail "no clear message"
    [ "$(sha256sum "$REC")" = "$sum" ] || fail "the record changed"
    ;;
results-deleted)
    # The results directory deleted mid-run: the record is written again,
    # and the run is ERROR (its first capture is gone), never PASS.
    run_bg "$EOL"
    poll 100 sh -c "ls '$DIR'/results/rec.cap1.bin" || fail "no capture written"
    rm -rf "$DIR/results"
    wait_ctl
    [ $ctl_rc -eq 2 ] || fail "exit $ctl_rc, expected 2 (ERROR)"
    # (run_check would also want the lost attachment: look at the record)
    [ -f "$REC" ] || fail "the record was lost with its directory"
    grep -q '^	"complete":[[:space:]]*true' "$REC" || fail "record incomplete"
    grep -q '^	"outcome":[[:space:]]*"ERROR"' "$REC" || fail "record outcome not ERROR"
    grep -q 'capture attachment rec.cap1.bin is missing' "$REC" || fail "record does not say why"
    ;;
disk-full)
    # The disk fills mid-run: no PASS anywhere -- not on the record left
    # on disk, not in rigctl's exit code, not in JUnit.
    run_bg "$EOL" --junit "$DIR/j.xml"
    poll 100 sh -c "ls '$DIR'/results/rec.cap1.bin" || fail "no capture written"
    dd if=/dev/zero of="$DIR/results/filler" bs=1M count=64 2>/dev/null
    wait_ctl
    [ $ctl_rc -eq 2 ] || fail "exit $ctl_rc, expected 2 (ERROR)"
    # the last version that could be written: incomplete, with no verdict
    check_record ANY incomplete
    grep -q 'errors="0"' "$DIR/j.xml" && fail "JUnit reads green"
    grep -q '<error' "$DIR/j.xml" || fail "JUnit has no error"
    ;;
no-space)
    # Not enough room for the run's captures: refused before the motor.
    "$RIGCTL" --socket "$SOCK" run "$EOL" --dut PA-0000001 >"$DIR/ctl.out" 2>&1
    rc=$?
    [ $rc -eq 2 ] || fail "exit $rc, expected 2 (refused)"
    grep -q "no_space" "$DIR/ctl.out" || fail "not refused for space"
    [ -z "$(results)" ] || fail "something was written: $(results)"
    motor_stopped || fail "the motor ran"
    ;;
junit-calibration)
    # ERROR before any measurement (calibration overdue) is not green.
    "$RIGCTL" --socket "$SOCK" run "$EOL" --dut PA-0000001 --junit "$DIR/j.xml" \
        >"$DIR/ctl.out" 2>&1
    rc=$?
    [ $rc -eq 2 ] || fail "exit $rc, expected 2 (ERROR)"
    grep -q 'errors="0"' "$DIR/j.xml" && fail "JUnit reads green: $(head -c 600 "$DIR/j.xml")"
    grep -q 'calibration was due' "$DIR/j.xml" || fail "JUnit does not say why"
    ;;
journal)
    # Under systemd, a run's lines carry the station, fixture, run id and
    # DUT as journal fields (journalctl RIG_DUT=...); a fixture's other
    # lines its station and fixture (a single-fixture config: fixture "1").
    ctl_ run "$EOL" --dut PA-0000001 --record rec.json >"$DIR/ctl.out" 2>&1 || fail "EOL run"
    id=$(sed -n 's/.*"id":[[:space:]]*"\([0-9a-f-]\{36\}\)".*/\1/p' "$REC" | head -n 1)
    kill "$journald"
    awk -v id="$id" 'BEGIN { RS = "\n--\n" }
        /MESSAGE=run [^\n]* finished: PASS/ && /PRIORITY=5/ && /RIG_DUT=PA-0000001/ &&
        $0 ~ "RIG_RUN_ID=" id && /RIG_STATION=sim-1/ && /RIG_FIXTURE=1\n/ { found = 1 }
        END { exit !found }' "$DIR/journal.txt" ||
        fail "no journal entry with the run's fields: $(head -c 1500 "$DIR/journal.txt")"
    awk 'BEGIN { RS = "\n--\n" }
        /MESSAGE=session [0-9]+ claimed/ && /RIG_STATION=sim-1/ && /RIG_FIXTURE=1\n/ { found = 1 }
        END { exit !found }' "$DIR/journal.txt" ||
        fail "no journal entry with the fixture's fields: $(head -c 1500 "$DIR/journal.txt")"
    grep -q "^<5>station sim-1: 1 fixture, serving" "$DIR/rigd.log" ||
        fail "other lines are not journal stream lines: $(head -n 3 "$DIR/rigd.log")"
    ;;
*)
    fail "unknown scenario"
    ;;
esac
stop_rigd
echo "PASS $scenario"
