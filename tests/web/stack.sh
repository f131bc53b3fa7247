#!/bin/sh
# The whole station for rigweb's tests and for trying the pages by hand:
# rigsim with N simulated benches, rigd serving them as fixtures A, B, ...,
# and rigweb on a free port with three accounts.
#
#   tests/web/stack.sh BUILDDIR [-n N] [--port P] [--seed S]
#                      [--sequence FIXTURE=PATH]... [--rigsim-opt OPT]...
#                      [--web 'MEMBERS'] [--tls] [-- COMMAND...]
#
# Fixture i (A, B, C, D) has pen PA-000000<i+1> and sensor head
# SH2-00010<i+1>. Accounts: operator, engineer, admin, each with password
# "<name>-pass". Every fixture runs fixtures/sequences/eol.json unless
# --sequence says otherwise (paths under the source tree's fixtures/ and
# tests/ only: rigd's sequence_dirs). --web adds members to rigweb's config
# (JSON text, e.g. --web '"session_idle_s": 2'). --tls serves HTTPS with a
# self-signed certificate made for the run (openssl; RIGWEB_URL is https).
#
# Once everything is up it prints, on stdout, shell assignments:
#   RIGWEB_URL=http://127.0.0.1:PORT/   RIGD_SOCKET=...   RIGSIM_CONTROL=...
#   RIGWEB_STACK_DIR=...  (logs: rigd.log, rigweb.log; results/)
# With COMMAND, it runs it with those in its environment (inside rigsim, so
# `rigsim --send` works without --control) and exits with its status;
# without, it stays up until SIGTERM/SIGINT.
#   $RIGWEB_STACK_DIR/restart-rigd   stops rigd (SIGTERM) and starts it
#                                    again, returning once it is ready
#   $RIGWEB_STACK_DIR/stop-rigd, start-rigd   the two halves
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BUILDDIR [-n N] [--port P] [-- COMMAND...]" >&2; exit 64; }
BUILD=$(cd "$1" && pwd)
shift
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
n=2 port=0 seed=5 seqs= simopts= webopts= tls=
while [ $# -gt 0 ]; do
    case $1 in
    -n) n=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --sequence) seqs="$seqs $2"; shift 2 ;;
    --rigsim-opt) simopts="$simopts $2"; shift 2 ;;
    --web) webopts="$webopts, $2"; shift 2 ;;
    --tls) tls=1; shift ;;
    --) shift; break ;;
    *) echo "stack.sh: unknown option $1" >&2; exit 64 ;;
    esac
done
[ "$n" -ge 1 ] && [ "$n" -le 4 ] || { echo "stack.sh: -n is 1..4" >&2; exit 64; }
DIR=$(mktemp -d /tmp/rigweb-stack-XXXXXX)
export DIR SRCDIR BUILD n
trap 'rm -rf "$DIR"' EXIT

benches= fixtures= i=0
for name in A B C D; do
    [ $i -lt "$n" ] || break
    k=$((i + 1))
    sed "s/\"PA-0000001\"/\"PA-000000$k\"/; s/\"SH2-000101\"/\"SH2-00010$k\"/" \
        "$SRCDIR/fixtures/benches/default.json" >"$DIR/bench-$name.json"
    benches="$benches --bench $DIR/bench-$name.json"
    fixtures="$fixtures${fixtures:+,}
    { \"name\": \"$name\", \"pen\": { \"serial\": \"PA-000000$k\" },
      \"sensor\": { \"serial\": \"SH2-00010$k\", \"rate_hz\": 50000 } }"
    i=$k
done
cat >"$DIR/station.json" <<JSON
{ "station": "web-test", "results_dir": "$DIR/results",
  "sequence_dirs": ["$SRCDIR/fixtures", "$SRCDIR/tests"],
  "fixtures": [$fixtures ] }
JSON
if [ -n "$tls" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DIR/key.pem" -out "$DIR/cert.pem" \
        -days 2 -subj /CN=127.0.0.1 2>/dev/null
    webopts="$webopts, \"tls_cert\": \"$DIR/cert.pem\", \"tls_key\": \"$DIR/key.pem\""
fi
seqjson="\"default\": \"$SRCDIR/fixtures/sequences/eol.json\""
for s in $seqs; do
    seqjson="$seqjson, \"${s%%=*}\": \"$(cd "$(dirname "${s#*=}")" && pwd)/$(basename "${s#*=}")\""
done
cat >"$DIR/web.json" <<JSON
{ "port": $port, "rigd_socket": "$DIR/rigd.sock", "users_file": "$DIR/users.json",
  "static_dir": "$SRCDIR/rig/web/static", "sequences": { $seqjson }$webopts }
JSON
for u in operator engineer admin; do
    echo "$u-pass" | "$BUILD/rig/web/rigweb" --config "$DIR/web.json" --add-user $u --role $u \
        2>/dev/null
done
# shellcheck disable=SC2086
"$BUILD/rig/sim/rigsim" --seed "$seed" $simopts $benches -- sh "$SRCDIR/tests/web/stack_inner.sh" "$@"
