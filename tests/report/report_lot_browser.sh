#!/bin/sh
# The lot report end to end: the known lot (lotfill) into a station
# database, `rigctl report --since` as I-MR and as X-bar/R (subgroups of 5,
# one model), then both pages in headless Chromium (report_lot.mjs), which
# keeps their screenshots and PDFs in ART.
#   report_lot_browser.sh LOTFILL RIGCTL REPORT_LOT_MJS ART
set -eu
lotfill=$1 rigctl=$2 mjs=$3 art=$4
mkdir -p "$art"
db="$art/lot.db"
"$lotfill" "$db"
"$rigctl" report --since 2026-12-01 --until 2026-12-02 --station-db "$db" -o "$art/lot-imr.html"
"$rigctl" report --since 2026-12-01 --model MNP-A --subgroup 5 --station-db "$db" \
    -o "$art/lot-xbar-r.html"
exec node "$mjs" "$art" "$art/lot-imr.html" "$art/lot-xbar-r.html"
