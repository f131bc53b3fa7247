#!/bin/sh
# Several fixtures on one station: one rigsim with N benches (one pen and
# one sensor head each, their own serials), one rigd serving them all, and
# rigctl addressing each with --fixture.
#
#   fixtures_test.sh SCENARIO RIGSIM RIGD RIGCTL RUN_CHECK SRCDIR
#
#   isolation  (3 fixtures) EOL on A while fixture B's sensor head is
#              unplugged and a long run on C is aborted: A must PASS, C
#              end ABORTED with its motor stopped, B refuse a run for its
#              missing device (never FAIL a pen), and every reply and event
#              name its fixture.
#   parallel   (3 fixtures) EOL on all three at once: three PASS records,
#              each naming its fixture and its own pen, each recomputing.
#   addressing (2 fixtures) requests that name no fixture or an unknown one
#              are refused with the fixture names; status/devices cover all.
set -eu
scenario=$1
export RIGSIM=$2 RIGD=$3 RIGCTL=$4 RUN_CHECK=$5 SRCDIR=$6
DIR=$(mktemp -d /tmp/fixtures-test-XXXXXX)
export DIR
trap 'rm -rf "$DIR"' EXIT
case $scenario in
addressing) n=2 ;;
*) n=3 ;;
esac
# Bench i (0-based) is fixture A, B, C...: pen PA-000000<i+1>, sensor head
# SH2-00010<i+1>; the default bench file with those serials.
benches= fixtures=
i=0
for name in A B C D; do
    [ $i -lt $n ] || break
    k=$((i + 1))
    sed "s/\"PA-0000001\"/\"PA-000000$k\"/; s/\"SH2-000101\"/\"SH2-00010$k\"/" \
        "$SRCDIR/fixtures/benches/default.json" >"$DIR/bench-$name.json"
    benches="$benches --bench $DIR/bench-$name.json"
    fixtures="$fixtures${fixtures:+,}
    { \"name\": \"$name\", \"pen\": { \"serial\": \"PA-000000$k\" },
      \"sensor\": { \"serial\": \"SH2-00010$k\", \"rate_hz\": 50000 } }"
    i=$k
done
cat >"$DIR/station.json" <<EOF
{ "station": "line-7", "results_dir": "$DIR/results", "fixtures": [$fixtures ] }
EOF
# shellcheck disable=SC2086
exec "$RIGSIM" --seed 5 $benches -- sh "$SRCDIR/tests/run/fixtures_inner.sh" "$scenario" "$n"
