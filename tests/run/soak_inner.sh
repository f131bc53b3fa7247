#!/bin/sh
# Inside rigsim: the soak loop (see soak.sh for what it does and why).
set -u
SOCK=$SOAK_DIR/rigd.sock
EOL=$SOAK_SRC/fixtures/sequences/eol.json
LONG=$SOAK_SRC/tests/run/long.json
MOTOR_ON=$SOAK_SRC/tests/run/motor-on.json
LOG=$SOAK_OUT/rigd.log
ctl() { "$RIGCTL" --socket "$SOCK" "$@"; }

"$RIGD" --config "$SOAK_DIR/station.json" --socket "$SOCK" 2>"$LOG" &
rigd=$!

# Pseudo-random numbers from the soak seed (an LCG: reproducible, no
# dependence on the shell's $RANDOM).
rnd=$((SOAK_SEED * 2654435761 % 4294967296))
next_rnd() { rnd=$(((rnd * 1103515245 + 12345) % 2147483648)); }

# Wait (0.02 s polls, at most $2 s) until rigd reports the pen with serial $1.
wait_pen() {
    i=0
    until ctl --json devices 2>/dev/null | grep -q "\"serial\":\"$1\""; do
        i=$((i + 1))
        [ $i -lt $(($2 * 50)) ] || return 1
        sleep 0.02
    done
}

pass=0 fail=0 err=0 other=0 bad_aux=0 n=0 recomputed=0 differ=0 bad_units=0 wrong=0

. "$SOAK_SRC/tests/run/truth.sh"
t_start=$(date +%s.%N)
serial=PA-0000001
wait_pen "$serial" 10 || { echo "soak: rigd did not attach the first pen" >&2; tail "$LOG" >&2; exit 2; }
while [ $n -lt "$SOAK_RUNS" ]; do
    n=$((n + 1))
    next_rnd
    pick=$((rnd % 100))
    # 60 % plain (new pen), 15 % motor-on, 15 % abort, 10 % same pen again.
    if [ $pick -lt 90 ] || [ $n -eq 1 ]; then
        serial=$(printf 'PA-%07d' $((n + 1)))
        unit=$((SOAK_SEED * 100000 + n))
        "$RIGSIM" --send "{\"swap_pen\":{\"seed\":$unit,\"serial\":\"$serial\",\"gap\":0.1}}" \
            >/dev/null || { echo "soak: swap_pen failed" >&2; exit 2; }
        wait_pen "$serial" 10 || { echo "soak: pen $serial never attached" >&2; exit 2; }
        kind=plain
        [ $pick -ge 60 ] && kind=motor-on
        [ $pick -ge 75 ] && kind=abort
    else
        kind=same
    fi
    aux=
    case $kind in
    motor-on)
        ctl run "$MOTOR_ON" --dut "$serial" --operator soak >"$SOAK_DIR/aux.out" 2>&1
        aux=$?
        [ $aux -eq 0 ] || aux="motor-on run exit $aux: $(tail -n 3 "$SOAK_DIR/aux.out" | tr '\n' ' ')"
        [ "$aux" = 0 ] && aux=
        ;;
    abort)
        next_rnd
        delay=$(printf '0.%03d' $((rnd % 1000)))
        ctl run "$LONG" --dut "$serial" --operator soak >"$SOAK_DIR/aux.out" 2>&1 &
        bg=$!
        sleep "$delay"
        ctl abort >/dev/null 2>&1
        wait $bg
        rc=$?
        # An abort that lands before the run is accepted leaves it running: stop it.
        if [ $rc -ne 2 ] || ! grep -q ABORTED "$SOAK_DIR/aux.out"; then
            aux="abort run exit $rc: $(tail -n 3 "$SOAK_DIR/aux.out" | tr '\n' ' ')"
        fi
        ;;
    esac
    if [ -n "$aux" ]; then
        bad_aux=$((bad_aux + 1))
        echo "soak: run $n ($kind, $serial): side run went wrong: $aux"
    fi
    ctl run "$EOL" --dut "$serial" --operator soak >"$SOAK_DIR/eol.out" 2>&1
    rc=$?
    verdict=$(sed -n 's/^[0-9a-f-]\{36\}: \([A-Z]*\).*/\1/p' "$SOAK_DIR/eol.out" | tail -n 1)
    case $rc in
    0) pass=$((pass + 1)) ;;
    1) fail=$((fail + 1)) ;;
    2) if [ "$verdict" = ERROR ]; then err=$((err + 1)); else other=$((other + 1)); fi ;;
    *) other=$((other + 1)) ;;
    esac
    expect=$(expected_verdict "$SOAK_TRUTH" "$serial")
    [ "$expect" = PASS ] || bad_units=$((bad_units + 1))
    right=0
    case $expect:$rc in
    PASS:0 | ANY:0) right=1 ;;
    FAIL:1 | ANY:1) grep -q 'depth' "$SOAK_DIR/eol.out" && right=1 ;;
    esac
    [ $right -eq 1 ] || wrong=$((wrong + 1))
    # Every record recomputes from its attachments to what it says.
    record=$(sed -n 's/^ *record: //p' "$SOAK_DIR/eol.out" | tail -n 1)
    if [ -n "$record" ] && [ -f "$record" ]; then
        recomputed=$((recomputed + 1))
        if ! "$RIGCTL" recompute "$record" >"$SOAK_DIR/recompute.out" 2>&1; then
            differ=$((differ + 1))
            echo "soak: run $n ($kind, $serial): the record does not recompute:"
            sed 's/^/      /' "$SOAK_DIR/recompute.out" | head -n 5
            cp "$record" "$SOAK_OUT/differs-$n.json"
        fi
    fi
    if [ $rc -ne 0 ]; then
        reason=$(grep -E '^[0-9a-f-]{36}: |^rigctl: |error' "$SOAK_DIR/eol.out" | tail -n 1)
        [ $right -eq 1 ] && reason="$reason (right: the unit is out of spec, truth $expect)"
        echo "soak: run $n ($kind, $serial): EOL exit $rc: $reason"
        if [ -n "$record" ] && [ -f "$record" ]; then
            cp "$record" "$SOAK_OUT/fail-$n.json"
            echo "      record kept as $SOAK_OUT/fail-$n.json"
        fi
        cp "$SOAK_DIR/eol.out" "$SOAK_OUT/fail-$n.out"
    elif [ "$SOAK_QUIET" -eq 0 ]; then
        echo "soak: run $n ($kind, $serial): PASS"
    fi
done
t_end=$(date +%s.%N)
kill -TERM $rigd
wait $rigd
rigd_rc=$?
awk -v n="$n" -v p="$pass" -v f="$fail" -v e="$err" -v o="$other" -v a="$bad_aux" \
    -v r="$recomputed" -v d="$differ" -v t0="$t_start" -v t1="$t_end" -v u="$bad_units" \
    -v w="$wrong" 'BEGIN {
    printf "soak: %d EOL runs: %d PASS, %d FAIL, %d ERROR, %d other; %d out-of-spec units (truth); %d false verdicts; %d side runs went wrong; %d records recomputed, %d differ; %.2f s per EOL run (swap, side run and EOL included)\n",
        n, p, f, e, o, u, w, a, r, d, (t1 - t0) / n }'
[ $rigd_rc -eq 0 ] || echo "soak: rigd exit status $rigd_rc"
[ $wrong -eq 0 ] && [ $bad_aux -eq 0 ] && [ $rigd_rc -eq 0 ] && [ $differ -eq 0 ] &&
    [ $recomputed -eq "$n" ]
