#!/bin/sh
# rigctl through a real rigd on the simulated bench:
#   rigctl_rigd.sh RIGSIM RIGD RIGCTL CONFIG
# devices/status/pen round trip, `pen start --rate --depth --hold` (set and
# start in one connection) and Ctrl-C stops the motor.
set -eu
rigsim=$1 rigd=$2 rigctl=$3 config=$4
dir=$(mktemp -d /tmp/rigctl-rigd-XXXXXX)
# No exec below: the shell must outlive rigsim so this trap removes $dir.
trap 'rm -rf "$dir"' EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM   # signals run the EXIT trap too
export RIGSIM=$rigsim RIGD=$rigd RIGCTL=$rigctl CONFIG=$config SOCK=$dir/rigd.sock
"$rigsim" -- sh -eu -c '
fail() { echo "FAIL: $*" >&2; kill $pid 2>/dev/null; exit 1; }
"$RIGD" --config "$CONFIG" --socket "$SOCK" & pid=$!
i=0
until "$RIGCTL" --socket "$SOCK" --json status 2>/dev/null | grep -q "\"pen\":true,\"sensor\":true"; do
  i=$((i+1)); [ $i -lt 100 ] || fail "devices not attached"; sleep 0.1
done
"$RIGCTL" --socket "$SOCK" devices | grep -q PA-0000001 || fail "devices does not show the pen serial"
"$RIGCTL" --socket "$SOCK" --json pen identify | grep -q "\"model\":\"MNP-A\"" || fail "pen identify"
"$RIGCTL" --socket "$SOCK" pen set --rate 120 --depth 1.25 || fail "pen set"
"$RIGCTL" --socket "$SOCK" --json pen status | grep -q "\"set_rate_hz\":120" || fail "pen status after set"
# A held manual session: the motor runs while rigctl is connected and
# stops (commanded, not by the pen watchdog) when rigctl is interrupted.
motor() { "$RIGSIM" --send "{\"query\":\"pen\"}"; }
# A bare `pen start` in a new connection has no rate of its own:
# --rate/--depth make it set first, in the same session.
"$RIGCTL" --socket "$SOCK" pen start --rate 80 --depth 0.75 --hold >/dev/null & ctl=$!
i=0
until motor | grep -q "\"motor_running\":true"; do
  i=$((i+1)); [ $i -lt 100 ] || fail "motor did not start"; sleep 0.1
done
motor | grep -q "\"set_rate_mhz\":80000" || fail "pen start --rate 80 did not set the rate: $(motor)"
motor | grep -q "\"set_depth_um\":750" || fail "pen start --depth 0.75 did not set the depth: $(motor)"
sleep 1
motor | grep -q "\"motor_running\":true" || fail "motor stopped while rigctl held the session"
kill -INT $ctl; wait $ctl || true
i=0
until motor | grep -q "\"motor_running\":false"; do
  i=$((i+1)); [ $i -lt 50 ] || fail "motor still running after rigctl exit"; sleep 0.1
done
motor | grep -q watchdog && fail "motor stopped by the pen watchdog, not by rigd"
kill -TERM $pid; wait $pid || fail "rigd exit status $?"
echo PASS rigctl through rigd
'
