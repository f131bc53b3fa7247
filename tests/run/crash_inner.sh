#!/bin/sh
# Inside rigsim: rigd dies (SIGKILL) or hangs (SIGSTOP) in the middle of
# runs; after each, the next EOL run on the same pen must PASS. See soak.sh.
set -u
SOCK=$SOAK_DIR/rigd.sock
EOL=$SOAK_SRC/fixtures/sequences/eol.json
LONG=$SOAK_SRC/tests/run/long.json
LOG=$SOAK_OUT/rigd.log
ctl() { "$RIGCTL" --socket "$SOCK" "$@"; }
rigd=

rnd=$((SOAK_SEED * 2654435761 % 4294967296))
next_rnd() { rnd=$(((rnd * 1103515245 + 12345) % 2147483648)); }

start_rigd() {
    "$RIGD" --config "$SOAK_DIR/station.json" --socket "$SOCK" 2>>"$LOG" &
    rigd=$!
    i=0
    until ctl --json status 2>/dev/null | grep -q '"pen":true,"sensor":true'; do
        i=$((i + 1))
        if [ $i -ge 500 ] || ! kill -0 $rigd 2>/dev/null; then
            echo "crash: rigd did not come up with both devices" >&2
            tail -n 20 "$LOG" >&2
            exit 2
        fi
        sleep 0.02
    done
}
motor_running() { "$RIGSIM" --send '{"query":"pen"}' | grep -q '"motor_running":true'; }
wait_motor() {
    i=0
    until motor_running; do
        i=$((i + 1))
        [ $i -lt 250 ] || return 1
        sleep 0.02
    done
}
record_of() { sed -n 's/^run [0-9a-f-]* started.*//; s/^ *record: //p' "$1" | tail -n 1; }

serial=PA-0000001
kills=0 hangs=0 pass=0 bad=0 n=0
start_rigd
while [ $n -lt "$SOAK_RUNS" ]; do
    n=$((n + 1))
    next_rnd
    if [ $((n % 3)) -eq 0 ]; then
        # Hang: SIGSTOP while the motor runs, longer than the pen's 500 ms
        # watchdog, then SIGCONT. The run must end ERROR (not FAIL).
        hangs=$((hangs + 1))
        ctl run "$LONG" --dut "$serial" --operator crash --record "hung-$n.json" \
            >"$SOAK_DIR/hung.out" 2>&1 &
        bg=$!
        wait_motor || { echo "crash: run $n: the motor never started"; bad=$((bad + 1)); }
        stop_ms=$((600 + (rnd % 7) * 100))
        stop_s=$(printf '%d.%03d' $((stop_ms / 1000)) $((stop_ms % 1000)))
        kill -STOP $rigd
        sleep "$stop_s"
        kill -CONT $rigd
        wait $bg
        rc=$?
        outcome=$(sed -n 's/^[0-9a-f-]\{36\}: \([A-Z]*\).*/\1/p' "$SOAK_DIR/hung.out" | tail -n 1)
        if [ "$outcome" != ERROR ]; then
            bad=$((bad + 1))
            echo "crash: run $n: rigd stopped ${stop_s} s mid-run: outcome ${outcome:-none} (exit $rc), expected ERROR"
            cp "$SOAK_DIR/hung.out" "$SOAK_OUT/hung-$n.out"
            [ -f "$SOAK_DIR/results/hung-$n.json" ] && cp "$SOAK_DIR/results/hung-$n.json" "$SOAK_OUT/"
        elif [ "$SOAK_QUIET" -eq 0 ]; then
            echo "crash: run $n: rigd stopped ${stop_s} s mid-run: ERROR ($(grep -o 'rig problem[^"]*' "$SOAK_DIR/hung.out" | head -n 1))"
        fi
    else
        # Kill at a random moment of an EOL run (0-2.7 s after it began).
        kills=$((kills + 1))
        rec=$SOAK_DIR/results/killed-$n.json
        ctl run "$EOL" --dut "$serial" --operator crash --record "killed-$n.json" >"$SOAK_DIR/killed.out" 2>&1 &
        bg=$!
        delay=$(printf '%d.%03d' $((rnd % 3)) $(((rnd / 7) % 1000)))
        sleep "$delay"
        kill -KILL $rigd
        wait $rigd 2>/dev/null
        wait $bg
        if [ -f "$rec" ] && ! grep -q '"complete":[[:space:]]*false' "$rec" && ! grep -q '"complete":[[:space:]]*true' "$rec"; then
            bad=$((bad + 1))
            echo "crash: run $n: the killed run's record is not a record"
        elif [ -f "$rec" ] && ! "$RIGCTL" recompute "$rec" >"$SOAK_DIR/recompute.out" 2>&1; then
            # what the killed run recorded still recomputes to what it says
            bad=$((bad + 1))
            echo "crash: run $n: the killed run's record does not recompute:"
            sed 's/^/      /' "$SOAK_DIR/recompute.out" | head -n 5
        fi
        start_rigd
        [ "$SOAK_QUIET" -eq 0 ] && echo "crash: run $n: rigd killed ${delay} s into an EOL run; restarted"
    fi
    ctl run "$EOL" --dut "$serial" --operator crash >"$SOAK_DIR/eol.out" 2>&1
    rc=$?
    eol_rec=$(record_of "$SOAK_DIR/eol.out")
    if [ -n "$eol_rec" ] && ! "$RIGCTL" recompute "$eol_rec" >"$SOAK_DIR/recompute.out" 2>&1; then
        rc=99
        sed 's/^/      /' "$SOAK_DIR/recompute.out" | head -n 5
    fi
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1))
    else
        bad=$((bad + 1))
        echo "crash: run $n: the EOL run after the crash: exit $rc: $(grep -E '^[0-9a-f-]{36}: |^rigctl: ' "$SOAK_DIR/eol.out" | tail -n 1)"
        cp "$SOAK_DIR/eol.out" "$SOAK_OUT/after-$n.out"
    fi
done
kill -TERM $rigd
wait $rigd
echo "crash: $n crashes ($kills SIGKILL, $hangs SIGSTOP): $pass of $n EOL runs after them PASS; $bad wrong outcomes"
[ $bad -eq 0 ] && [ $pass -eq "$n" ]
