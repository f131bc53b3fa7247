#!/bin/sh
# Inside rigsim (run_test.sh store ... store_inner.sh): the station
# database end to end through rigd and rigctl (docs/STORE.md):
#   - PASS, FAIL (depth drift injected at run time) and a retest of the
#     same serial: history --dut, unit, stats --json against the records
#     (attempts 1..3, FPY, the failing measurement named);
#   - kill -9 of rigd mid-run: after a restart the run is in the database
#     as incomplete (and counts as an attempt);
#   - max_attempts: the next run of the serial is refused up front;
#   - import of the results directory into a fresh database gives the same
#     history, twice over (idempotent);
#   - a database gone from under rigd: runs are refused up front;
#   - a database rigd cannot use: rigd refuses to start (exit 78).
set -u
scenario=${1:-store}
. "$SRCDIR/tests/run/lib.sh"
DUT=PA-0000001
# at most 4 runs a serial
sed -i 's|^{|{ "max_attempts": 4,|' "$DIR/station.json"
ctl() { "$RIGCTL" --socket "$SOCK" "$@"; }
run_n() { ctl run "$1" --dut $DUT --operator tester --record "r$2.json" >"$DIR/ctl.out" 2>&1; }
# The reply line of a --json query (the greeting comes first).
q() { ctl --json "$@" | tail -n 1; }
py() { python3 -c "$@"; }

start_rigd
[ -f "$DIR/results/station.db" ] || fail "no station.db in the results directory"

run_n "$EOL" 1
rc=$?
[ $rc -eq 0 ] || fail "run 1: rigctl exit $rc, expected 0 (PASS)"
"$RIGSIM" --send '{"fault":"depth-drift","value":120}' >/dev/null || fail "cannot inject depth drift"
run_n "$EOL" 2
rc=$?
[ $rc -eq 1 ] || fail "run 2 (depth drift): rigctl exit $rc, expected 1 (FAIL)"
"$RIGSIM" --send '{"clear":true}' >/dev/null || fail "cannot clear the fault"
ctl --json run "$EOL" --dut $DUT --operator tester --record r3.json >"$DIR/ctl.out" 2>&1
rc3=$?
[ $rc3 -le 1 ] || fail "run 3 (retest): rigctl exit $rc3, expected PASS or FAIL"
# the attempt in the run's reply and its started and finished events
[ "$(grep -c '"attempt":3[,}]' "$DIR/ctl.out")" -ge 3 ] ||
    fail "run 3's reply and events do not all say attempt 3"

# history --dut: the three attempts, newest first, as the records say
q history --dut $DUT >"$DIR/h.json" || fail "history --dut: $(cat "$DIR/h.json")"
py "
import json,sys
h=json.load(open('$DIR/h.json'))['runs']
recs=[json.load(open('$DIR/results/r%d.json'%i)) for i in (1,2,3)]
assert [r['attempt'] for r in h]==[3,2,1], [r['attempt'] for r in h]
assert [r['id'] for r in h]==[r['id'] for r in reversed(recs)], 'run ids differ from the records'
assert [r['outcome'] for r in h]==[r['outcome'] for r in reversed(recs)], 'outcomes differ from the records'
assert h[2]['outcome']=='PASS' and h[1]['outcome']=='FAIL', [r['outcome'] for r in h]
assert h[1]['retest_reason']=='PASS' and h[2]['retest_reason'] is None, [r['retest_reason'] for r in h]
assert h[0]['retest_reason'].startswith('FAIL: depth'), h[0]['retest_reason']
assert h[0]['record_path']=='$DIR/results/r3.json', h[0]['record_path']
" || fail "history --dut does not match the records: $(cat "$DIR/h.json")"
ctl history --dut $DUT >"$DIR/h.txt" || fail "history (table)"
grep -q "FAIL: depth" "$DIR/h.txt" || fail "history table: $(cat "$DIR/h.txt")"

# unit: every attempt, the failing measurement of attempt 2 named
q unit $DUT >"$DIR/u.json" || fail "unit: $(cat "$DIR/u.json")"
py "
import json
u=json.load(open('$DIR/u.json'))
assert u['attempts']==3, u['attempts']
r2=u['runs'][1]
assert r2['attempt']==2 and r2['outcome']=='FAIL'
assert any(m['name']=='depth' for m in r2['failing']), r2['failing']
assert u['runs'][0]['failing']==[], u['runs'][0]['failing']
" || fail "unit: $(cat "$DIR/u.json")"
ctl unit $DUT >"$DIR/u.txt" || fail "unit (table)"
grep -q "depth .* FAIL" "$DIR/u.txt" || fail "unit table does not show the failing depth: $(cat "$DIR/u.txt")"

# stats: yields and the depth measurement against the records
q stats >"$DIR/s.json" || fail "stats: $(cat "$DIR/s.json")"
py "
import json,statistics
s=json.load(open('$DIR/s.json'))
y=s['yields']
assert y['units']==1 and y['runs']==3 and y['first_pass']==1, y
assert abs(y['fpy']-1.0)<1e-12 and abs(y['retest_rate']-2/3)<1e-12, y
vals=[];fails=0
for i in (1,2,3):
    rec=json.load(open('$DIR/results/r%d.json'%i))
    for st in rec['steps']:
        if st.get('superseded'): continue
        for m in st.get('measurements') or []:
            if m['name']=='depth' and m.get('value') is not None and m['outcome']!='SKIPPED':
                vals.append(m['value']); fails+=m['outcome'] not in ('PASS','MARGINAL')
d=[m for m in s['measurements'] if m['name']=='depth']
n=sum(m['n'] for m in d); c=sum(m['count'] for m in d); f=sum(m['fail'] for m in d)
assert n==len(vals) and c==len(vals) and f==fails, (n,c,f,len(vals),fails)
if len(d)==1:
    assert abs(d[0]['mean']-statistics.mean(vals))<1e-9, (d[0]['mean'],vals)
    assert abs(d[0]['sd']-statistics.stdev(vals))<1e-9, (d[0]['sd'],vals)
assert any(p['name']=='depth' for p in s['pareto']), s['pareto']
" || fail "stats do not match the records: $(cat "$DIR/s.json")"
ctl stats >"$DIR/s.txt" || fail "stats (table)"
grep -q "FPY" "$DIR/s.txt" && grep -q "^depth " "$DIR/s.txt" || fail "stats table: $(cat "$DIR/s.txt")"

# retention with the database: prune --station-db marks the PASS runs'
# captures pruned in the attachments rows, as their records say; FAIL
# runs keep theirs; twice changes nothing
prune_db() { "$RIGCTL" prune --pass-days 0 --station-db "$DIR/results/station.db" "$DIR/results"; }
prune_db >"$DIR/prune.txt" || fail "prune --station-db: $(cat "$DIR/prune.txt")"
grep -q "station database: [1-9][0-9]* pruned captures\? marked, 0 not in" "$DIR/prune.txt" ||
    fail "prune --station-db: $(cat "$DIR/prune.txt")"
prune_check() {
    py "
import json,sqlite3
db=sqlite3.connect('$DIR/results/station.db')
pruned=0
for i in (1,2,3):
    rec=json.load(open('$DIR/results/r%d.json'%i))
    rows=dict(db.execute(\"SELECT a.name, a.pruned_utc FROM attachments a JOIN runs r USING(rid)\"
                         \" WHERE r.id=? AND a.kind='capture'\", (rec['id'],)))
    caps=[st['capture'] for st in rec['steps'] if st.get('capture') and st['capture'].get('file')]
    assert len(caps)==len(rows) and caps, (i,len(caps),rows)
    for c in caps:
        got=rows[c['file']]
        if rec['outcome']=='PASS':
            assert c.get('pruned_utc') and got and got[:23]==c['pruned_utc'][:23], (i,c.get('pruned_utc'),got)
            pruned+=1
        else:
            assert 'pruned_utc' not in c and got is None, (i,got)
assert pruned>0
"
}
prune_check || fail "the station database's captures do not follow the records"
prune_db >"$DIR/prune2.txt" || fail "prune --station-db again: $(cat "$DIR/prune2.txt")"
prune_check || fail "pruning again changed the station database"
# the same from the station config (what rig-prune.timer runs): its
# results directory, database and "retention": {"pass_days"}
sed 's|^{|{ "retention": { "pass_days": 0 },|' "$DIR/station.json" >"$DIR/retention.json"
"$RIGCTL" prune --config "$DIR/retention.json" >"$DIR/prune3.txt" ||
    fail "prune --config: $(cat "$DIR/prune3.txt")"
grep -q "records: 0 pruned now.*younger than 0 days" "$DIR/prune3.txt" &&
    grep -q "station database: [1-9][0-9]* pruned captures\? marked" "$DIR/prune3.txt" ||
    fail "prune --config: $(cat "$DIR/prune3.txt")"
prune_check || fail "prune --config changed the station database"

# the query classes' errors (docs/API.md), and "fixture" as a filter
py "
import json,socket
s=socket.socket(socket.AF_UNIX); s.connect('$SOCK'); f=s.makefile('rw')
f.readline()
def ask(req):
    f.write(json.dumps(req)+'\\n'); f.flush(); return json.loads(f.readline())
for req,code in (({'class':'unit','id':1},'bad_request'),
                 ({'class':'unit','id':2,'serial':''},'bad_argument'),
                 ({'class':'history','id':3,'limit':0},'bad_argument'),
                 ({'class':'history','id':4,'limit':'5'},'bad_request'),
                 ({'class':'import','id':5,'dir':'results'},'bad_argument'),
                 ({'class':'stats','id':6,'measurement':5},'bad_request'),
                 ({'class':'import','id':9,'dir':'$DIR/no-such-dir'},'not_found')):
    r=ask(req)
    assert r.get('code')==code and r['id']==req['id'], (req,r)
r=ask({'class':'history','id':7,'fixture':'no-such-fixture'})
assert r['class']=='history' and r['runs']==[], r
r=ask({'class':'history','id':8,'fixture':'1','limit':2})
assert len(r['runs'])==2 and r['runs'][0]['attempt']==3, r
" || fail "query errors"

# kill -9 mid-run: the run is in the database as incomplete after a restart
ctl run "$LONG" --dut $DUT --operator tester --record r4.json >"$DIR/ctl.out" 2>&1 &
ctl=$!
wait_motor_running
kill -KILL "$pid"
wait "$pid" 2>/dev/null
pid=
wait_ctl
poll 50 motor_stopped || fail "motor still running after rigd was killed"
start_rigd
q history --dut $DUT --outcome incomplete >"$DIR/i.json" || fail "history incomplete"
py "
import json
h=json.load(open('$DIR/i.json'))['runs']
assert len(h)==1 and h[0]['attempt']==4 and h[0]['complete'] is False and h[0]['outcome'] is None, h
" || fail "the killed run is not in the database as incomplete: $(cat "$DIR/i.json")"

# max_attempts 4: a fifth run of the serial is refused up front
run_n "$EOL" 5
rc=$?
[ $rc -eq 2 ] || fail "run 5: rigctl exit $rc, expected 2 (refused)"
grep -q "no_attempts_left" "$DIR/ctl.out" || fail "run 5 not refused for its attempts: $(cat "$DIR/ctl.out")"
[ -f "$DIR/results/r5.json" ] && fail "a refused run wrote a record"
q history --dut $DUT >"$DIR/h4.json" || fail "history after the restart"
stop_rigd

# import into a fresh database: the same history, twice over
sed "s|\"max_attempts\"|\"database\": \"$DIR/fresh.db\", \"max_attempts\"|" \
    "$DIR/station.json" >"$DIR/fresh.json"
"$RIGD" --config "$DIR/fresh.json" --socket "$SOCK" 2>"$DIR/rigd.log" &
pid=$!
poll 200 rigd_ready || fail "rigd (fresh database) did not start"
for n in 1 2; do
    q import "$DIR/results" >"$DIR/imp$n.json" || fail "import $n: $(cat "$DIR/imp$n.json")"
    q history --dut $DUT >"$DIR/hi$n.json" || fail "history after import $n"
done
py "
import json
a=json.load(open('$DIR/h4.json'))['runs']
key=lambda h:[(r['id'],r['attempt'],r['outcome'],r['complete'],r['dut_serial'],r['retest_reason']) for r in h]
for n in (1,2):
    b=json.load(open('$DIR/hi%d.json'%n))['runs']
    assert key(a)==key(b), (n,key(a),key(b))
i1=json.load(open('$DIR/imp1.json')); i2=json.load(open('$DIR/imp2.json'))
assert i1['records']==4 and i1['imported']==4 and i1['failed']==0, i1
assert i2['records']==4 and i2['present']==3 and i2['failed']==0, i2
" || fail "import: $(cat "$DIR/imp1.json" "$DIR/imp2.json" "$DIR/hi2.json")"
ctl import "$DIR/results" >"$DIR/imp.txt" || fail "import (table): $(cat "$DIR/imp.txt")"
grep -q "4 records" "$DIR/imp.txt" || fail "import table: $(cat "$DIR/imp.txt")"
# the database gone from under rigd: runs are refused up front
rm -f "$DIR/fresh.db" "$DIR/fresh.db-wal" "$DIR/fresh.db-shm"
run_n "$EOL" 6
rc=$?
[ $rc -eq 2 ] || fail "run without its database: rigctl exit $rc, expected 2 (refused)"
grep -q "database_error" "$DIR/ctl.out" || fail "not refused for the database: $(cat "$DIR/ctl.out")"
motor_stopped || fail "the motor ran"
stop_rigd

# a database rigd cannot use: refuses to start, as on a bad config
printf 'not a database, but a file in its place\n%.0s' $(seq 200) >"$DIR/bad.db"
sed "s|$DIR/fresh.db|$DIR/bad.db|" "$DIR/fresh.json" >"$DIR/bad.json"
"$RIGD" --config "$DIR/bad.json" --socket "$SOCK" 2>"$DIR/rigd.log"
rc=$?
[ $rc -eq 78 ] || fail "rigd on a bad database: exit $rc, expected 78"
grep -q "bad station database" "$DIR/rigd.log" || fail "rigd does not say why: $(cat "$DIR/rigd.log")"
cat "$DIR/h.txt" "$DIR/u.txt" "$DIR/s.txt" "$DIR/imp.txt"
echo "PASS station database through rigd and rigctl"
