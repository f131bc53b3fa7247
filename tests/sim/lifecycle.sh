#!/bin/sh
# rigsim's lifecycle: COMMAND's exit status (or 128+signal) is rigsim's,
# signals are forwarded, nothing is left behind (processes, testbed
# directory, control socket), even when rigsim itself is SIGKILLed.
# Usage: lifecycle.sh RIGSIM
set -u
rigsim=$1
fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work"
check() { if [ "$2" != "$3" ]; then echo "FAIL: $1: got '$2', want '$3'"; fail=1; else echo "ok: $1"; fi; }

"$rigsim" -- sh -c 'exit 3'; check "exit status passed through" $? 3
"$rigsim" -- sh -c 'kill -SEGV $$'; check "crash -> 128+SIGSEGV" $? 139
"$rigsim" -- /nonexistent/command 2>/dev/null; check "missing command" $? 127
"$rigsim" --fault no-such-fault -- true 2>/dev/null; check "bad --fault" $? 2
"$rigsim" --bench "$work/missing.json" -- true 2>/dev/null; check "missing bench" $? 2

# the environment COMMAND sees
"$rigsim" --control "$work/ctl.sock" -- sh -c '[ -n "$UMOCKDEV_DIR" ] && [ "$RIGSIM_CONTROL" = "$0" ] && [ -S "$0" ]' "$work/ctl.sock"
check "UMOCKDEV_DIR and RIGSIM_CONTROL exported" $? 0
"$rigsim" -- sh -c '"$0" --send "{\"query\":\"pen\"}" >/dev/null' "$rigsim"
check "rigsim --send from inside" $? 0
"$rigsim" -- sh -c '"$0" --send "{\"fault\":\"nope\"}" >/dev/null' "$rigsim"
check "rigsim --send reports errors" $? 1

# --fault with a time offset: the pen is there at first, gone after 0.5 s
out=$("$rigsim" --fault pen-unplug@0.5 -- sh -c '"$0" --send "{\"query\":\"pen\"}"; sleep 1.5; "$0" --send "{\"query\":\"pen\"}"' "$rigsim")
case "$out" in
  *'"present":true'*'"present":false'*) echo "ok: scheduled --fault pen-unplug@0.5" ;;
  *) echo "FAIL: scheduled fault: $out"; fail=1 ;;
esac

# a background child outlives COMMAND: rigsim must end it
"$rigsim" -- sh -c "sleep 300 & echo \$! > '$work/bg.pid'; exit 0"
check "exit with a background child" $? 0
bg=$(cat "$work/bg.pid")
if kill -0 "$bg" 2>/dev/null; then echo "FAIL: background child $bg survived"; kill "$bg"; fail=1; else echo "ok: background child ended"; fi

# SIGTERM to rigsim reaches COMMAND, whose status then is rigsim's
"$rigsim" -- sleep 300 &
rs=$!
sleep 1
kill -TERM $rs
wait $rs; check "SIGTERM forwarded" $? 143

# rigsim SIGKILLed: its janitor kills COMMAND's process group (here a
# background child of COMMAND) and removes the testbed and the socket
alive() { st=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }
"$rigsim" --control "$work/k.sock" -- sh -c "sleep 300 & echo \$! > '$work/k.pid'; sleep 300" &
rs=$!
i=0; while [ ! -s "$work/k.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL $rs
wait $rs; check "SIGKILLed rigsim" $? 137
kbg=$(cat "$work/k.pid")
i=0; while alive "$kbg" && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if alive "$kbg"; then echo "FAIL: COMMAND's child $kbg survived rigsim's SIGKILL"; kill "$kbg"; fail=1; else echo "ok: COMMAND's group killed after rigsim's SIGKILL"; fi
i=0; while [ -n "$(ls -A "$work" | grep -v '^bg.pid$' | grep -v '^k.pid$')" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done

# nothing left in TMPDIR: testbed removed, no socket
left=$(ls -A "$work" | grep -v '^bg.pid$' | grep -v '^k.pid$' || true)
check "temporary files removed" "$left" ""
exit $fail
