#!/bin/sh
# Run reports of real records (docs/REPORTS.md), end to end:
#   report_test.sh RIGSIM RIGD RIGCTL REPORT_CHECK SRCDIR ARTEFACTS [NODE]
# rigsim + rigd (station option "report": {"auto": true}) make records of
# a FAIL (depth drift), a retest PASS, a DVT sweep and an ERROR (sensor
# unplugged mid-capture); report_inner.sh writes their reports with
# rigctl report (by file and by run id), a pruned copy's, and checks each
# against its record (report_check). The records and reports are kept in
# ARTEFACTS; with NODE, tests/browser/report_run.mjs then renders every
# report in headless Chromium (screenshots and PDFs beside them).
set -eu
export RIGSIM=$1 RIGD=$2 RIGCTL=$3 REPORT_CHECK=$4 SRCDIR=$5 ART=$6
node=${7:-}
DIR=$(mktemp -d /tmp/report-test-XXXXXX)
export DIR
trap 'rm -rf "$DIR"' EXIT
sed -e "s|\"results_dir\": *\"[^\"]*\"|\"results_dir\": \"$DIR/results\"|" \
    -e 's|^{|{ "report": { "auto": true },|' \
    "$SRCDIR/fixtures/stations/sim.json" >"$DIR/station.json"
rm -rf "$ART"
mkdir -p "$ART"
"$RIGSIM" --seed 11 -- sh "$SRCDIR/tests/report/report_inner.sh"
if [ -n "$node" ]; then
    "$node" "$SRCDIR/tests/browser/report_run.mjs" "$ART"
fi
