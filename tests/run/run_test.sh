#!/bin/sh
# Runs through the real rigd and rigctl on the simulated bench:
#   run_test.sh SCENARIO RIGSIM RIGD RIGCTL RUN_CHECK SRCDIR
# Each scenario starts rigsim (with its faults), rigd inside it and
# `rigctl run`, then checks rigctl's exit code, the record on disk (with
# run_check) and, for safety, the simulated pen's motor through rigsim's
# control socket -- never through rigd. Waits are event-driven (poll for
# an output line or a state, generous bounds); nothing asserts on speed.
set -eu
scenario=$1
export RIGSIM=$2 RIGD=$3 RIGCTL=$4 RUN_CHECK=$5 SRCDIR=$6
DIR=$(mktemp -d /tmp/run-test-XXXXXX)
export DIR
trap 'rm -rf "$DIR"' EXIT
# The bench config of the simulated station, results under $DIR.
sed "s|\"results_dir\": *\"[^\"]*\"|\"results_dir\": \"$DIR/results\"|" \
    "$SRCDIR/fixtures/stations/sim.json" >"$DIR/station.json"

opts="--seed 11"
case $scenario in
depth-drift) opts="$opts --fault depth-drift=120" ;;
no-cartridge) opts="$opts --fault no-cartridge" ;;
accuracy) opts="$opts --truth $DIR/truth.jsonl" ;;
esac
# shellcheck disable=SC2086
"$RIGSIM" $opts -- sh "$SRCDIR/tests/run/run_inner.sh" "$scenario"
