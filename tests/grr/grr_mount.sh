#!/bin/sh
# The operator's hands on rigsim (rigctl grr plan --mount-hook): called
# before each run with the cell in GRR_* (rigctl grr --help).
#  - a new operator or trial round is a new session (rigsim's noise and
#    mount streams re-seeded: another person, another hour);
#  - the part is a pen of its own: its serial and a unit seed of its own
#    (swap_pen; the same seed is the same unit, depth bias and all), so a
#    part measured again is the same physical pen, freshly mounted;
#  - the same part as the run before: a remount (out of the fixture and
#    back in), the pen staying plugged in.
# Every run therefore has its own mount: the fixture's mount variation is
# repeatability, as in an AIAG study that re-mounts between trials.
# Test hooks: GRR_STOP_AT=N fails at cell N (the walk stops there);
# GRR_ERROR_AT=N unplugs the sensor head 0.3 s into cell N's first try.
set -eu
state=$DIR/mount.state
ctl() { "$RIGCTL" --socket "$GRR_SOCK" "$@"; }
send() { "$RIGSIM" --send "$1" >/dev/null; }
[ "${GRR_STOP_AT:-x}" != "$GRR_POS" ] || exit 1
# the pen must be at rest for any of these (the last run stopped it)
i=0
until "$RIGSIM" --send '{"query":"pen"}' | grep -q '"measured_rate_mhz":0[,}]'; do
    i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.05
done
prev=$(cat "$state" 2>/dev/null || echo "- - -")
set -- $prev
session=$((GRR_TRIAL * 100 + GRR_OPERATOR_INDEX))
if [ "$1" != "$session" ]; then
    send "{\"session\":{\"seed\":$session}}"
fi
if [ "$2" = "$GRR_SERIAL" ]; then
    send '{"remount":{}}'
else
    send "{\"swap_pen\":{\"seed\":$((1000 + GRR_PART)),\"serial\":\"$GRR_SERIAL\",\"gap\":0.1}}"
fi
echo "$session $GRR_SERIAL" >"$state"
# rigd sees the pen with that serial, and the sensor head
i=0
until ctl --json devices 2>/dev/null | grep -q "\"serial\":\"$GRR_SERIAL\""; do
    i=$((i + 1)); [ $i -lt 200 ] || exit 1; sleep 0.05
done
i=0
until ctl --json status 2>/dev/null | grep -q '"pen":true,"sensor":true'; do
    i=$((i + 1)); [ $i -lt 200 ] || exit 1; sleep 0.05
done
if [ "${GRR_ERROR_AT:-x}" = "$GRR_POS" ] && [ "$GRR_RETRY" = 0 ]; then
    send '{"fault":"sensor-unplug","after":0.3,"value":0.5}'
fi
exit 0
