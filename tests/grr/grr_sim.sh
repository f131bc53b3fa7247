#!/bin/sh
# A gauge R&R study on the simulated bench, end to end: rigsim with the
# measurement-system bench (fixtures/benches/msa.json: every mount of a pen
# differs as on a real fixture), the real rigd and `rigctl grr plan` with
# the simulator's mount hook (grr_mount.sh: each run is a new mount of the
# part's pen; each operator's trial round a session), then `rigctl grr
# analyse`, compared with the variation rigsim is configured with and the
# units' true depths from its ground truth (grr_check.py).
#
#   grr_sim.sh RIGSIM RIGD RIGCTL SRCDIR [PARTS OPERATORS TRIALS [KEEP_DIR]]
#
# Default 5 parts x 2 operators x 2 trials (the suite's test, meson test
# grr-sim); the full AIAG study, keeping its files and database:
#   b=build; tests/grr/grr_sim.sh $b/rig/sim/rigsim $b/rig/daemon/rigd \
#       $b/rig/ctl/rigctl . 10 3 3 /tmp/grr
# The suite's version also checks that a study stopped half way resumes
# (cells done are skipped) and that a run ending ERROR (a sensor unplug
# injected mid-run) is run again. With GRR_ARTEFACTS set, the study's HTML
# report and analysis go there, and with GRR_NODE too the report is
# rendered in headless Chromium (tests/browser/report_grr.mjs: screenshot
# and PDF beside it). GRR_SEQUENCE=FILE (and GRR_MEASUREMENT=NAME for the
# printed analysis) studies another sequence, without the checks that
# assume grr-depth.json.
set -eu
rigsim=$1 rigd=$2 rigctl=$3 src=$4
parts=${5:-5} ops=${6:-2} trials=${7:-2} keep=${8:-}
DIR=$(mktemp -d /tmp/grr-sim-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cat >"$DIR/station.json" <<EOJ
{
  "station": "grr-1",
  "results_dir": "$DIR/results",
  "pen": { "vid": "0x1209", "pid": "0x504e" },
  "sensor": { "vid": "0x1209", "pid": "0x5348", "serial": "SH2-000101", "rate_hz": 50000 }
}
EOJ
export DIR SRCDIR=$src RIGD=$rigd RIGCTL=$rigctl RIGSIM=$rigsim GRR_PARTS=$parts GRR_OPS=$ops GRR_TRIALS=$trials
rc=0
if [ -n "${GRR_ARTEFACTS:-}" ]; then
    rm -rf "$GRR_ARTEFACTS"
    mkdir -p "$GRR_ARTEFACTS"
fi
"$RIGSIM" --bench "$src/fixtures/benches/msa.json" --seed 7 --truth "$DIR/truth.jsonl" \
    -- sh "$src/tests/grr/grr_inner.sh" || rc=$?
if [ -n "$keep" ]; then
    mkdir -p "$keep"
    cp "$DIR/truth.jsonl" "$DIR"/*.out "$DIR"/*.json "$keep/" 2>/dev/null || true
    cp "$DIR/results/station.db" "$keep/" 2>/dev/null || true
fi
if [ $rc -eq 0 ] && [ -n "${GRR_NODE:-}" ] && [ -n "${GRR_ARTEFACTS:-}" ]; then
    "$GRR_NODE" "$src/tests/browser/report_grr.mjs" "$GRR_ARTEFACTS/S1.html" \
        "$GRR_ARTEFACTS/S1.json" $((parts * ops * trials)) || rc=$?
fi
exit $rc
