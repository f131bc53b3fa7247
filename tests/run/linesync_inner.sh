#!/bin/sh
# Inside rigsim (run_test.sh linesync ... linesync_inner.sh): rigd pushes
# its runs to the line store (docs/STORE.md, docs/DAEMON.md "Line store")
# against a real PostgreSQL: a throwaway cluster in a directory of its own
# (run as the postgres user when we are root: initdb refuses root), Unix
# socket only.
#   - 3 runs arrive in PostgreSQL, each exactly once (and the time from the
#     verdict to the run being in PostgreSQL is printed);
#   - PostgreSQL stopped (-m immediate: a crash), 2 more runs: rigd's
#     status (and `rigctl sync`, asking rigd) shows backlog 2 and the error;
#   - rigd restarted with that backlog keeps it (and its shutdown is not
#     held by the line being down);
#   - PostgreSQL started again: the backlog drains, every run exactly once
#     with the station database's rows (steps, measurements);
#   - rigctl history/unit/stats --db over the line: the same as rigd's;
#   - PostgreSQL hung (SIGSTOP): a run is not held, rigd's shutdown is
#     bounded, the run goes once PostgreSQL resumes.
set -u
scenario=${1:-linesync}
. "$SRCDIR/tests/run/lib.sh"
DUT=PA-0000001
PGBIN=/usr/lib/postgresql/15/bin
PGD=$(mktemp -d /tmp/rig-pg-XXXXXX)
chmod 755 "$PGD"
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres: "$PGD"
pg_up() {
    as_pg "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/log" -w -t 60 \
        -o "-c listen_addresses= -c unix_socket_directories=$PGD -c fsync=off" start >/dev/null
}
pg_down() { as_pg "$PGBIN/pg_ctl" -D "$PGD/data" -m immediate -w stop >/dev/null 2>&1; }
cleanup_pg() {
    pg_down
    rm -rf "$PGD"
}
trap cleanup_pg EXIT
as_pg "$PGBIN/initdb" -D "$PGD/data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
    >"$PGD/initdb.log" 2>&1 || fail "initdb (install postgresql-15: scripts/install-deps)"
pg_up || fail "pg_ctl start: $(cat "$PGD/log")"
psql_q() { "$PGBIN/psql" -X -A -t -q -h "$PGD" -U postgres -d rigline -c "$1"; }
"$PGBIN/psql" -X -q -h "$PGD" -U postgres -d postgres -c "CREATE DATABASE rigline" ||
    fail "CREATE DATABASE"
CONNINFO="host=$PGD dbname=rigline user=postgres"
sed -i "s|^{|{ \"line\": { \"conninfo\": \"$CONNINFO\" },|" "$DIR/station.json"

ctl() { "$RIGCTL" --socket "$SOCK" "$@"; }
run_n() { ctl run "$EOL" --dut $DUT --operator tester --record "r$1.json" >"$DIR/ctl.out" 2>&1; }
run_id() { python3 -c "import json;print(json.load(open('$DIR/results/r$1.json'))['id'])"; }
in_pg() { [ "$(psql_q "SELECT count(*) FROM runs WHERE id = '$1'")" = 1 ]; }
sync_json() { ctl --json status | tail -n 1 | python3 -c "import json,sys;print(json.dumps(json.load(sys.stdin)['sync']))"; }
backlog_is() { sync_json | python3 -c "import json,sys;s=json.load(sys.stdin);sys.exit(s['backlog']!=$1)"; }
now_ms() { date +%s%3N; }

start_rigd
# (k, not i: poll uses i)
for k in 1 2 3; do
    run_n $k
    rc=$?
    t0=$(now_ms)
    [ $rc -le 1 ] || fail "run $k: rigctl exit $rc"
    id=$(run_id $k)
    poll 100 in_pg "$id" || fail "run $k ($id) not in PostgreSQL within 10 s"
    echo "run $k: in PostgreSQL $(($(now_ms) - t0)) ms after rigctl saw its verdict"
done
poll 100 backlog_is 0 || fail "backlog after 3 runs: $(sync_json)"
# rigd's own account of each push (the time in store_sync)
grep "line store: .*pushed" "$DIR/rigd.log" | sed 's/^/rigd: /'
[ "$(psql_q "SELECT count(*), count(DISTINCT id) FROM runs")" = "3|3" ] ||
    fail "PostgreSQL has $(psql_q "SELECT count(*), count(DISTINCT id) FROM runs") runs"

# PostgreSQL crashes: 2 more runs stay queued, status says so
pg_down || fail "pg_ctl stop"
for k in 4 5; do
    run_n $k
    rc=$?
    [ $rc -le 1 ] || fail "run $k with the line down: rigctl exit $rc"
done
has_error() { sync_json | python3 -c "import json,sys;s=json.load(sys.stdin);sys.exit(not(s['backlog']==2 and s['last_error'] and not s['connected']))"; }
poll 100 has_error || fail "status with the line down: $(sync_json)"
sync_json
ctl sync >"$DIR/sync.txt" || fail "rigctl sync (rigd): $(cat "$DIR/sync.txt")"
grep -q "backlog: *2 run" "$DIR/sync.txt" && grep -q "last error" "$DIR/sync.txt" ||
    fail "rigctl sync: $(cat "$DIR/sync.txt")"
cat "$DIR/sync.txt"
ctl --json sync | python3 -c "import json,sys;s=json.load(sys.stdin);assert s['backlog']==2,s" ||
    fail "rigctl sync --json"
# rigd restarted with a backlog keeps it
t0=$(now_ms)
stop_rigd
echo "rigd stopped in $(($(now_ms) - t0)) ms with the line down"
start_rigd
backlog_is 2 || fail "backlog after rigd's restart: $(sync_json)"
# PostgreSQL back: drained (a retry every 5 s at most), each run once
pg_up || fail "pg_ctl start again: $(cat "$PGD/log")"
t0=$(now_ms)
poll 300 backlog_is 0 || fail "backlog not drained 30 s after PostgreSQL came back: $(sync_json)"
echo "backlog of 2 drained $(($(now_ms) - t0)) ms after PostgreSQL was up again"
for k in 1 2 3 4 5; do
    id=$(run_id $k)
    [ "$(psql_q "SELECT count(*) FROM runs WHERE id = '$id'")" = 1 ] || fail "run $k ($id) not once"
done
[ "$(psql_q "SELECT count(*), count(DISTINCT id) FROM runs")" = "5|5" ] ||
    fail "PostgreSQL has $(psql_q "SELECT count(*), count(DISTINCT id) FROM runs") runs"
# the rows of each run as in the station database
python3 -c "
import sqlite3
db=sqlite3.connect('$DIR/results/station.db')
for t in ('steps','measurements'):
    for rid,n in db.execute('SELECT r.id, (SELECT count(*) FROM %s x WHERE x.rid=r.rid) FROM runs r'%t):
        print(t,rid,n)
" | while read -r t id n; do
    got=$(psql_q "SELECT count(*) FROM $t WHERE run_id = '$id'")
    [ "$got" = "$n" ] || { echo "$t of $id: $got in PostgreSQL, $n in the station" >&2; exit 1; }
done || fail "rows differ between PostgreSQL and the station database"
ctl sync | grep -q "backlog: *0 run" || fail "rigctl sync after the drain: $(ctl sync)"

# the queries over the line: the same as the station's (rigd)
ctl --json history --dut $DUT | tail -n 1 >"$DIR/hs.json" || fail "history (rigd)"
"$RIGCTL" --json history --dut $DUT --db "$CONNINFO" >"$DIR/hl.json" ||
    fail "history --db: $(cat "$DIR/hl.json")"
ctl --json unit $DUT | tail -n 1 >"$DIR/us.json" || fail "unit (rigd)"
"$RIGCTL" --json unit $DUT --db "$CONNINFO" >"$DIR/ul.json" || fail "unit --db: $(cat "$DIR/ul.json")"
"$RIGCTL" --json stats --db "$CONNINFO" >"$DIR/sl.json" || fail "stats --db: $(cat "$DIR/sl.json")"
python3 -c "
import json
a=json.load(open('$DIR/hs.json'))['runs']; b=json.load(open('$DIR/hl.json'))['runs']
key=lambda h:[(r['id'],r['attempt'],r['outcome'],r['complete'],r['dut_serial']) for r in h]
assert len(a)==5 and key(a)==key(b), (key(a),key(b))
assert all(r['station_id']=='sim' or r['station_id'] for r in b)
u1=json.load(open('$DIR/us.json')); u2=json.load(open('$DIR/ul.json'))
assert u1['attempts']==u2['attempts']==5, (u1['attempts'],u2['attempts'])
s=json.load(open('$DIR/sl.json'))
assert s['yields']['runs']==5, s['yields']
" || fail "the line's queries differ from the station's"
"$RIGCTL" history --dut $DUT --db "$CONNINFO" >"$DIR/hl.txt" || fail "history --db (table)"
[ "$(grep -c "$DUT" "$DIR/hl.txt")" -ge 5 ] || fail "history --db table: $(cat "$DIR/hl.txt")"
"$RIGCTL" stats --db "$CONNINFO" | grep -q FPY || fail "stats --db (table)"

# PostgreSQL hangs (every process of this cluster stopped, by pid): a run
# is not held by it, and rigd's shutdown is bounded (the sync thread's
# 3 s) though its push is stuck in libpq; the run stays queued and goes
# once PostgreSQL answers again
pm=$(head -n 1 "$PGD/data/postmaster.pid")
pg_pids="$pm $(pgrep -P "$pm" | tr '\n' ' ')"
# shellcheck disable=SC2086
kill -STOP $pg_pids
run_n 6
rc=$?
[ $rc -le 1 ] || { kill -CONT $pg_pids; fail "run 6 with PostgreSQL hung: rigctl exit $rc"; }
t0=$(now_ms)
stop_rigd
dt=$(($(now_ms) - t0))
# shellcheck disable=SC2086
kill -CONT $pg_pids
echo "rigd stopped in $dt ms with its push stuck on a hung PostgreSQL"
[ "$dt" -lt 4500 ] || fail "rigd's shutdown took $dt ms with PostgreSQL hung (bound: 3 s + margin)"
start_rigd
poll 300 backlog_is 0 || fail "run 6 not pushed after PostgreSQL resumed: $(sync_json)"
id=$(run_id 6)
[ "$(psql_q "SELECT count(*) FROM runs WHERE id = '$id'")" = 1 ] || fail "run 6 not once"
[ "$(psql_q "SELECT count(*), count(DISTINCT id) FROM runs")" = "6|6" ] ||
    fail "PostgreSQL has $(psql_q "SELECT count(*), count(DISTINCT id) FROM runs") runs"
stop_rigd
echo "PASS rigd pushes to the line store"
