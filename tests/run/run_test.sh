#!/bin/sh
# Runs through the real rigd and rigctl on the simulated bench:
#   run_test.sh SCENARIO RIGSIM RIGD RIGCTL RUN_CHECK SRCDIR [INNER]
# Each scenario starts rigsim (with its faults), rigd inside it and
# rigctl, then checks rigctl's exit code, the record on disk (with
# run_check) and, for safety, the simulated pen's motor through rigsim's
# control socket -- never through rigd. Waits are event-driven (poll for
# an output line or a state, generous bounds); nothing asserts on speed.
# INNER is the script that runs inside rigsim: run_inner.sh (default) or
# line_inner.sh (what an end-of-line station does at cadence).
set -eu
scenario=$1
export RIGSIM=$2 RIGD=$3 RIGCTL=$4 RUN_CHECK=$5 SRCDIR=$6
inner=${7:-run_inner.sh}
DIR=$(mktemp -d /tmp/run-test-XXXXXX)
export DIR
cleanup() {
    # a results directory on its own tmpfs is unmounted with its namespace
    rm -rf "$DIR"
}
trap cleanup EXIT
# The bench config of the simulated station, results under $DIR.
sed "s|\"results_dir\": *\"[^\"]*\"|\"results_dir\": \"$DIR/results\"|" \
    "$SRCDIR/fixtures/stations/sim.json" >"$DIR/station.json"

opts="--seed 11"
case $scenario in
depth-drift) opts="$opts --fault depth-drift=120" ;;
no-cartridge) opts="$opts --fault no-cartridge" ;;
accuracy) opts="$opts --truth $DIR/truth.jsonl" ;;
accuracy-b)
    # profile B: its own pen and sensor head (20 kS/s), every capture
    # against the truth
    opts="$opts --bench $SRCDIR/fixtures/benches/profile-b.json --truth $DIR/truth.jsonl"
    sed -i 's/"serial": "PA-0000001"/"serial": "PB-0000417"/; s/"serial": "SH2-000101", "rate_hz": 50000/"serial": "SH2-000233", "rate_hz": 20000/' \
        "$DIR/station.json" ;;
junit-calibration)
    # a sensor head whose calibration was due yesterday
    due=$(date -u -d yesterday +%Y%m%d)
    sed "s/\"due_date\": *[0-9]*/\"due_date\": $due/" "$SRCDIR/fixtures/benches/default.json" \
        >"$DIR/bench.json"
    opts="$opts --bench $DIR/bench.json" ;;
esac
# Scenarios about a full disk get a results directory on a small tmpfs of
# their own (a private mount namespace: nothing outside sees it).
case $scenario in
disk-full) tmpfs_mb=24 ;;
no-space) tmpfs_mb=6 ;;
*) tmpfs_mb= ;;
esac
if [ "$scenario" = journal ]; then
    # a private /run, where the test plays journald (line_inner.sh)
    # shellcheck disable=SC2086
    exec unshare -m sh -c "mount -t tmpfs tmpfs /run &&
        '$RIGSIM' $opts -- sh '$SRCDIR/tests/run/$inner' '$scenario'; rc=\$?; rm -rf '$DIR'; exit \$rc"
fi
if [ -n "$tmpfs_mb" ]; then
    mkdir -p "$DIR/results"
    # shellcheck disable=SC2086
    exec unshare -m sh -c "mount -t tmpfs -o size=${tmpfs_mb}m tmpfs '$DIR/results' &&
        '$RIGSIM' $opts -- sh '$SRCDIR/tests/run/$inner' '$scenario'; rc=\$?;
        umount '$DIR/results'; rm -rf '$DIR'; exit \$rc"
fi
# shellcheck disable=SC2086
"$RIGSIM" $opts -- sh "$SRCDIR/tests/run/$inner" "$scenario"
