#!/bin/sh
# Reproducibility: the same --seed gives the same samples, another seed
# gives different ones. Usage: seed.sh RIGSIM SIMTEST
set -eu
rigsim=$1 simtest=$2
n=20000
a=$("$rigsim" --seed 42 -- "$simtest" hash $n)
b=$("$rigsim" --seed 42 -- "$simtest" hash $n)
c=$("$rigsim" --seed 43 -- "$simtest" hash $n)
echo "seed 42: $a / $b, seed 43: $c"
[ -n "$a" ] || { echo "FAIL: no hash"; exit 1; }
[ "$a" = "$b" ] || { echo "FAIL: same seed, different samples"; exit 1; }
[ "$a" != "$c" ] || { echo "FAIL: different seeds, same samples"; exit 1; }
