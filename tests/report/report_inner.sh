#!/bin/sh
# Inside rigsim (see report_test.sh): records of every kind of run, their
# reports, and the reports checked against the records.
set -u
scenario=report
RUN_CHECK=/bin/true
. "$SRCDIR/tests/run/lib.sh"
DUT=PA-0000001
SWEEP=$SRCDIR/tests/run/sweep-short.json
ctl() { "$RIGCTL" --socket "$SOCK" "$@"; }
# run SEQUENCE NAME: a run whose record is $DIR/results/NAME.json
run() { ctl run "$1" --dut $DUT --operator "Q. Tester" --record "$2.json" >"$DIR/$2.out" 2>&1; }
check() { "$REPORT_CHECK" "$@" >"$DIR/check.out" 2>&1 || fail "report_check $*: $(cat "$DIR/check.out")"; }
rid() { sed -n 's/^[[:space:]]*"id":[[:space:]]*"\([0-9a-f-]*\)".*/\1/p' "$1" | head -n 1; }

start_rigd
"$RIGSIM" --send '{"fault":"depth-drift","value":120}' >/dev/null || fail "cannot inject depth drift"
run "$EOL" eol-fail
rc=$?
[ $rc -eq 1 ] || fail "depth drift: rigctl exit $rc, expected 1 (FAIL)"
"$RIGSIM" --send '{"clear":true}' >/dev/null || fail "cannot clear the fault"
run "$EOL" eol-retest
rc=$?
[ $rc -le 1 ] || fail "retest: rigctl exit $rc, expected a verdict"
run "$SWEEP" dvt-sweep
rc=$?
# (a loaded machine can lose sensor samples: ERROR is a verdict too)
[ $rc -le 2 ] || fail "sweep: rigctl exit $rc, expected a verdict"
# ERROR: the sensor head unplugged during a long capture
ctl run "$UNPLUG" --dut $DUT --operator "Q. Tester" --record sensor-unplug.json \
    >"$DIR/sensor-unplug.out" 2>&1 &
ctl=$!
wait_motor_running
"$RIGSIM" --send '{"fault":"sensor-unplug"}' >/dev/null || fail "cannot unplug the sensor"
wait_ctl
[ $ctl_rc -eq 2 ] || fail "sensor unplug: rigctl exit $ctl_rc, expected 2 (ERROR)"
stop_rigd

R=$DIR/results
DB=$R/station.db
for n in eol-fail eol-retest dvt-sweep sensor-unplug; do
    # the station's automatic report, written after the final record
    [ -s "$R/$n.html" ] || fail "no automatic report $n.html beside the record"
    grep -q "Run report" "$R/$n.html" || fail "$n.html is not a run report"
    cp "$R/$n.json" "$ART/"
    # (checked, not rendered again: the browser renders rigctl's copy)
    # by file, with the database for the attempt number
    "$RIGCTL" report "$R/$n.json" --station-db "$DB" -o "$ART/$n.html" 2>"$DIR/rep.err" ||
        fail "rigctl report $n: $(cat "$DIR/rep.err")"
    check "$R/$n.json" "$ART/$n.html" "$R"
    check "$R/$n.json" "$R/$n.html" "$R"
done
grep -q '"outcome":[[:space:]]*"FAIL"' "$R/eol-fail.json" || fail "eol-fail is not FAIL"
grep -q '"outcome":[[:space:]]*"ERROR"' "$R/sensor-unplug.json" || fail "sensor-unplug is not ERROR"
# attempts from the database: the retest is the serial's second run
grep -q "2 (retest after FAIL" "$ART/eol-retest.html" || fail "retest attempt not shown"

# by run id (a prefix) through the station config's database
id=$(rid "$R/dvt-sweep.json")
short=$(echo "$id" | cut -c1-13)
"$RIGCTL" report "$short" --config "$DIR/station.json" -o "$DIR/by-id.html" 2>"$DIR/rep.err" ||
    fail "rigctl report by id: $(cat "$DIR/rep.err")"
check "$R/dvt-sweep.json" "$DIR/by-id.html" "$R"
"$RIGCTL" report 00000000-dead --station-db "$DB" -o "$DIR/x.html" 2>"$DIR/rep.err"
[ $? -eq 2 ] || fail "an unknown run id did not fail with 2"
grep -q "not in the station database" "$DIR/rep.err" || fail "unknown id: $(cat "$DIR/rep.err")"
"$RIGCTL" report "$id" -o "$DIR/x.html" 2>"$DIR/rep.err"
[ $? -eq 64 ] || fail "a run id without a database is not a usage error"

# retention: a PASS run's captures pruned; its report says so and still
# plots the per-stroke values
pass=
for n in dvt-sweep eol-retest; do
    grep -q '"outcome":[[:space:]]*"PASS"' "$R/$n.json" && pass=$n && break
done
[ -n "$pass" ] || fail "no PASS run to prune (sweep and retest did not pass)"
mkdir "$DIR/pruned"
cp "$R/$pass".* "$DIR/pruned/"
rm -f "$DIR/pruned/$pass.html"
"$RIGCTL" prune --pass-days 0 "$DIR/pruned" >"$DIR/prune.out" 2>&1 || fail "prune: $(cat "$DIR/prune.out")"
ls "$DIR"/pruned/*.bin >/dev/null 2>&1 && fail "prune left capture files"
"$RIGCTL" report "$DIR/pruned/$pass.json" -o "$ART/$pass.pruned.html" 2>"$DIR/rep.err" ||
    fail "report of a pruned record: $(cat "$DIR/rep.err")"
check "$DIR/pruned/$pass.json" "$ART/$pass.pruned.html" "$DIR/pruned"
grep -q "deleted by retention" "$ART/$pass.pruned.html" || fail "pruned capture not said"
grep -q 'id="c2-sd"' "$ART/$pass.pruned.html" || fail "no per-stroke plot after pruning"
# a capture file gone without retention: reported, not a failure
cp "$R"/eol-fail.* "$DIR/pruned/"
rm "$DIR/pruned/eol-fail.cap1.bin"
"$RIGCTL" report "$DIR/pruned/eol-fail.json" -o "$DIR/x.html" 2>"$DIR/rep.err" ||
    fail "report with a missing capture: $(cat "$DIR/rep.err")"
grep -q "cannot be read (missing)" "$DIR/x.html" || fail "missing capture not said"
echo "PASS report"
exit 0
