#!/bin/sh
# Worst errors over several tests/run/accuracy.sh outputs (docs/RUNS.md
# "Figures"): reads their per-capture tables, prints max |error| of rate,
# mean depth, per-stroke depth p95, mean peak force, per-stroke force p95,
# spin-up (per profile) and stop time, and the RMS of the spin-up and stop
# errors over the captures that have them.
#
#   tests/run/accuracy_sum.sh ACCURACY_LOG ...
[ $# -gt 0 ] || { echo "usage: accuracy_sum.sh ACCURACY_LOG ..." >&2; exit 2; }
exec awk '
function abs(x) { return x < 0 ? -x : x }
function up(k, x) { if (abs(x) > w[k]) w[k] = abs(x) }
/^== profile / { p = toupper($3); runs++; next }
/^run\.cap[0-9]+\.bin / {
    n++; up("rate", $2); up("depth", $3); up("dp95", $4); up("force", $5); up("fp95", $6)
    if ($7 !~ /nan/) { up("up" p, $7); nu[p]++; su[p] += $7 * $7; nus++; sus += $7 * $7 }
    if ($8 !~ /nan/) { up("stop", $8); ns++; ss += $8 * $8 }
}
/recomputed: all agree/ { agree++ }
function rms(s, k) { return k ? sprintf("%.2f", sqrt(s / k)) : "-" }
END {
    printf "%d runs (%d recompute to their record), %d captures, max |error|:\n", runs, agree, n
    printf "  rate %.4f %%, mean depth %.3f um, depth p95 %.2f um, mean peak force %.3f %%, force p95 %.2f %%\n",
        w["rate"], w["depth"], w["dp95"], w["force"], w["fp95"]
    for (i = 1; i <= 2; i++)
        if (nu[q = i == 1 ? "A" : "B"])
            printf "  spin-up profile %s: max %.2f ms, rms %s ms (%d start-ups)\n", q, w["up" q], rms(su[q], nu[q]), nu[q]
    if (nus)
        printf "  spin-up all: rms %s ms (%d start-ups)\n", rms(sus, nus), nus
    if (ns)
        printf "  stop: max %.2f ms, rms %s ms (%d stops)\n", w["stop"], rms(ss, ns), ns
}' "$@"
