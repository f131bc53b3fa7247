#!/bin/sh
# The lot report end to end: the known lot (lotfill) into a station
# database, `rigctl report --since` as I-MR and as X-bar/R (subgroups of 5,
# one model); the record corpus imported into another, its lot report
# with --run-reports (every failed run's link must name a run report
# written beside it); then the pages in headless Chromium (report_lot.mjs),
# which keeps their screenshots and PDFs in ART.
#   report_lot_browser.sh LOTFILL RIGCTL REPORT_LOT_MJS CORPUS STATION_JSON ART
set -eu
lotfill=$1 rigctl=$2 mjs=$3 corpus=$4 station=$5 art=$6
rm -rf "$art"
mkdir -p "$art/records" "$art/with-runs"
db="$art/lot.db"
"$lotfill" "$db"
"$rigctl" report --since 2026-12-01 --until 2026-12-02 --station-db "$db" -o "$art/lot-imr.html"
"$rigctl" report --since 2026-12-01 --model MNP-A --subgroup 5 --station-db "$db" \
    -o "$art/lot-xbar-r.html"
# The same database found through a station config: its "results_dir"
# is relative (to the working directory), the database is the default
# station.db in it.
mkdir -p "$art/config/results"
cp "$station" "$art/config/station.json"
cp "$db" "$art/config/results/station.db"
(cd "$art/config" && "$rigctl" report --since 2026-12-01 --config station.json -o lot.html)
grep -q 'data-fig="runs">62<' "$art/config/lot.html" ||
    { echo "--config: not the 62 runs of the lot" >&2; exit 1; }
# Records with real failures (FAIL, ERROR, ABORTED) and their run reports.
# (The corpus's variants share run ids: each copy gets its own, so every
# one is a run; the first "id" of a record is the run's.)
i=0
for f in "$corpus"/*.json; do
    i=$((i + 1))
    sed '0,/"id":[[:space:]]*"[^"]*"/s//"id": "00000000-0000-4000-8000-0000000000'$((10 + i))'"/' \
        "$f" >"$art/records/$(basename "$f")"
done
"$lotfill" --import "$art/records" "$art/records.db"
"$rigctl" report --since 2026 --station-db "$art/records.db" --run-reports \
    -o "$art/with-runs/lot-records.html"
links=$(grep -o 'href="[^"]*"' "$art/with-runs/lot-records.html" | sed 's/href="//; s/"$//')
n=0
for l in $links; do
    test -s "$art/with-runs/$l" || { echo "link $l: no run report written" >&2; exit 1; }
    n=$((n + 1))
done
test "$n" -ge 3 || { echo "only $n failed runs linked" >&2; exit 1; }
echo "records lot: $n failed runs, each with its run report"
exec node "$mjs" "$art" "$art/lot-imr.html" "$art/lot-xbar-r.html" \
    "$art/with-runs/lot-records.html"
