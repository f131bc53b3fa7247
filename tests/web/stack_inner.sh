#!/bin/sh
# Inside rigsim (see stack.sh): rigd, then rigweb, then COMMAND or wait.
set -u
SOCK=$DIR/rigd.sock
RIGCTL=$BUILD/rig/ctl/rigctl
rigd_pid= web_pid=

all_ready() {
    [ "$("$RIGCTL" --socket "$SOCK" --json devices 2>/dev/null | grep -o '"present":true' | wc -l)" \
        -eq $((2 * n)) ]
}
poll() {
    t=$1
    shift
    i=0
    until "$@"; do
        i=$((i + 1))
        [ $i -lt "$t" ] || return 1
        sleep 0.1
    done
}
start_rigd() {
    "$BUILD/rig/daemon/rigd" --config "$DIR/station.json" --socket "$SOCK" 2>>"$DIR/rigd.log" &
    rigd_pid=$!
    echo "$rigd_pid" >"$DIR/rigd.pid"
    poll 300 all_ready || { echo "stack: rigd did not attach every device" >&2; tail "$DIR/rigd.log" >&2; return 1; }
}
stop_rigd() {
    [ -n "$rigd_pid" ] || return 0
    kill -TERM "$rigd_pid" 2>/dev/null
    wait "$rigd_pid" 2>/dev/null
    rigd_pid=
}
web_rc=0
cleanup() {
    if [ -n "$web_pid" ]; then
        kill -TERM "$web_pid" 2>/dev/null
        wait "$web_pid"
        web_rc=$?
        web_pid=
    fi
    stop_rigd
}
trap 'cleanup; exit 0' TERM INT
# restart-rigd & co. signal this shell: rigd must be started from inside
# rigsim's environment (the simulated devices).
trap 'stop_rigd; : >"$DIR/rigd.stopped"' USR1
trap 'start_rigd; rm -f "$DIR/rigd.stopped"; : >"$DIR/rigd.started"' USR2
echo $$ >"$DIR/inner.pid"
cat >"$DIR/stop-rigd" <<SH
#!/bin/sh
rm -f "$DIR/rigd.stopped"; kill -USR1 \$(cat "$DIR/inner.pid")
i=0; until [ -e "$DIR/rigd.stopped" ]; do i=\$((i+1)); [ \$i -lt 300 ] || exit 1; sleep 0.1; done
SH
cat >"$DIR/start-rigd" <<SH
#!/bin/sh
rm -f "$DIR/rigd.started"; kill -USR2 \$(cat "$DIR/inner.pid")
i=0; until [ -e "$DIR/rigd.started" ]; do i=\$((i+1)); [ \$i -lt 600 ] || exit 1; sleep 0.1; done
SH
printf '#!/bin/sh\n"%s/stop-rigd" && exec "%s/start-rigd"\n' "$DIR" "$DIR" >"$DIR/restart-rigd"
chmod +x "$DIR/stop-rigd" "$DIR/start-rigd" "$DIR/restart-rigd"

start_rigd || exit 1
"$BUILD/rig/web/rigweb" --config "$DIR/web.json" 2>"$DIR/rigweb.log" &
web_pid=$!
web_up() { grep -q 'listening on' "$DIR/rigweb.log" 2>/dev/null; }
poll 100 web_up || { echo "stack: rigweb did not start" >&2; cat "$DIR/rigweb.log" >&2; cleanup; exit 1; }
RIGWEB_URL=$(sed -n 's|.*listening on \(https*://127.0.0.1:[0-9]*/\).*|\1|p' "$DIR/rigweb.log")
RIGD_SOCKET=$SOCK
RIGWEB_STACK_DIR=$DIR
RIGWEB_PID=$web_pid
export RIGWEB_URL RIGD_SOCKET RIGWEB_STACK_DIR RIGWEB_PID
printf 'RIGWEB_URL=%s\nRIGD_SOCKET=%s\nRIGSIM_CONTROL=%s\nRIGWEB_STACK_DIR=%s\n' \
    "$RIGWEB_URL" "$RIGD_SOCKET" "$RIGSIM_CONTROL" "$DIR"
if [ $# -gt 0 ]; then
    "$@" &
    cmd=$!
    # wait returns early for the restart signals: wait again until it exits
    while :; do
        wait "$cmd"
        rc=$?
        kill -0 "$cmd" 2>/dev/null || break
    done
    cleanup
    # rigweb must exit cleanly on SIGTERM (under ASan: no leak, no error)
    if [ "$web_rc" -ne 0 ]; then
        echo "stack: rigweb exited with status $web_rc" >&2
        tail -n 40 "$DIR/rigweb.log" >&2
        [ "$rc" -ne 0 ] || rc=1
    fi
    exit $rc
fi
while :; do
    sleep 3600 &
    wait $! 2>/dev/null
done
