#!/bin/sh
# Sourced by the benchmarks that judge verdicts against rigsim's ground
# truth (soak_inner.sh, fixtures_bench.sh).

# What the verdict must be for the pen with serial $2, from rigsim's truth
# file $1
# (its unit line's depth bias against the spec's 0.15 mm depth tolerance):
# PASS, FAIL, or ANY within 5 um of the limit.
expected_verdict() {
    bias=$(grep "\"event\":\"unit\".*\"serial\":\"$2\"" "$1" | tail -n 1 |
        sed -n 's/.*"depth_bias_mm":\(-\{0,1\}[0-9.e+-]*\).*/\1/p')
    [ -n "$bias" ] || { echo PASS; return; }   # the first unit: the bench file's
    awk -v b="$bias" 'BEGIN { a = b < 0 ? -b : b
        print (a < 0.145 ? "PASS" : (a > 0.155 ? "FAIL" : "ANY")) }'
}
