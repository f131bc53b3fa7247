// rigweb over HTTP against the real rigd in rigsim (docs/WEB.md). Run by
// meson inside tests/web/stack.sh, which exports RIGWEB_URL,
// RIGWEB_STACK_DIR and RIGSIM_CONTROL:
//   stack.sh BUILD [opts] -- node tests/web/web_test.mjs SCENARIO
// Scenarios: auth, users, expiry, run, restart, tls, slow. Each exits 0 or throws
// (exit 1) with what went wrong.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const BASE = process.env.RIGWEB_URL.replace(/\/$/, '');
const DIR = process.env.RIGWEB_STACK_DIR;
const scenario = process.argv[2];

function check(cond, what) {
  if (!cond) throw new Error(what);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One HTTP request: {status, headers, text, json}. opts: method, body
// (object: sent as JSON), cookie, csrf, headers, raw (a string body).
async function req(p, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.csrf) headers['x-csrf-token'] = opts.csrf;
  let body;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  } else if (opts.raw !== undefined) {
    body = opts.raw;
  }
  const r = await fetch(BASE + p, { method: opts.method || 'GET', headers, body, redirect: 'manual' });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}

async function login(user, password = `${user}-pass`) {
  const r = await req('/api/login', { method: 'POST', body: { user, password } });
  check(r.status === 200, `login ${user}: ${r.status} ${r.text}`);
  const sc = r.headers.get('set-cookie');
  return { user, cookie: sc.split(';')[0], csrf: r.json.csrf, setCookie: sc, role: r.json.role };
}

// An SSE stream: collects events; next(pred, ms) waits for one matching.
function sse(cookie) {
  const events = [];
  let waiters = [];
  const u = new URL(BASE + '/api/events');
  const s = { events, closed: false };
  const rq = http.get({ host: u.hostname, port: u.port, path: u.pathname, headers: { cookie } }, (res) => {
    rq.res = res;
    s.status = res.status = res.statusCode;
    s.type = res.headers['content-type'];
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let name = 'message', data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) name = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (!data) continue;
        events.push({ name, data: JSON.parse(data) });
        const w = waiters;
        waiters = [];
        w.forEach((f) => f());
      }
    });
    res.on('end', () => { s.closed = true; });
  });
  rq.on('error', () => { s.closed = true; });
  s.close = () => rq.destroy();
  // Stop reading the socket (the kernel buffers fill, then rigweb's queue).
  s.pause = () => rq.res && rq.res.pause();
  s.resume = () => rq.res && rq.res.resume();
  // The first event after index `from` that matches.
  s.next = async (pred, ms = 30000, from = 0) => {
    const end = Date.now() + ms;
    for (;;) {
      const e = events.slice(from).find(pred);
      if (e) return e;
      check(Date.now() < end, `no matching SSE event in ${ms} ms; got: ${events.map((x) => x.name + ' ' + JSON.stringify(x.data).slice(0, 120)).slice(-8).join(' | ')}`);
      await new Promise((r) => { waiters.push(r); setTimeout(r, 200); });
    }
  };
  return s;
}

const runEvent = (fx, ev) => (e) => e.name === 'run' && e.data.fixture === fx && e.data.event === ev;

async function auth() {
  // Not logged in: pages redirect, the API says 401.
  let r = await req('/');
  check(r.status === 303 && r.headers.get('location') === '/login?next=/', `/ anonymous: ${r.status} ${r.headers.get('location')}`);
  r = await req('/api/me');
  check(r.status === 401 && r.json.error === 'unauthorized', `/api/me anonymous: ${r.status}`);
  r = await req('/api/station');
  check(r.status === 401, `/api/station anonymous: ${r.status}`);
  // Wrong password and unknown user: the same 401, no cookie.
  for (const [u, p] of [['operator', 'wrong-pass'], ['nobody', 'operator-pass']]) {
    r = await req('/api/login', { method: 'POST', body: { user: u, password: p } });
    check(r.status === 401 && !r.headers.get('set-cookie'), `bad login ${u}: ${r.status}`);
  }
  const op = await login('operator');
  check(op.role === 'operator' && /^[0-9a-f]{64}$/.test(op.csrf), `login reply: ${op.role} ${op.csrf}`);
  check(/^rigweb_session=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict$/.test(op.setCookie),
    `cookie flags: ${op.setCookie}`);
  r = await req('/api/me', { cookie: op.cookie });
  check(r.status === 200 && r.json.user === 'operator' && r.json.csrf === op.csrf, `/api/me: ${r.text}`);
  // CSRF: missing, wrong, right; a foreign Origin.
  const abortB = '/api/fixtures/B/abort';
  r = await req(abortB, { method: 'POST', cookie: op.cookie, body: {} });
  check(r.status === 403, `abort without CSRF token: ${r.status}`);
  r = await req(abortB, { method: 'POST', cookie: op.cookie, csrf: 'f'.repeat(64), body: {} });
  check(r.status === 403, `abort with a wrong CSRF token: ${r.status}`);
  r = await req(abortB, { method: 'POST', cookie: op.cookie, csrf: op.csrf, body: {},
    headers: { origin: 'http://evil.example' } });
  check(r.status === 403, `abort from another origin: ${r.status}`);
  r = await req(abortB, { method: 'POST', cookie: op.cookie, csrf: op.csrf, raw: 'dut=x',
    headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  check(r.status === 415, `form body: ${r.status}`);
  r = await req(abortB, { method: 'POST', cookie: op.cookie, csrf: op.csrf, raw: 'x'.repeat(70000),
    headers: { 'content-type': 'application/json' } });
  check(r.status === 413, `oversize body: ${r.status}`);
  r = await req(abortB, { method: 'POST', cookie: op.cookie, csrf: op.csrf, raw: '[1',
    headers: { 'content-type': 'application/json' } });
  check(r.status === 400, `bad JSON: ${r.status}`);
  r = await req(abortB, { method: 'POST', cookie: op.cookie, csrf: op.csrf, body: {} });
  check(r.status === 200 && typeof r.json.confirmed === 'boolean', `abort with CSRF: ${r.status} ${r.text}`);
  // Roles: the operator may not open engineer or admin things.
  for (const p of ['/engineer', '/admin']) {
    r = await req(p, { cookie: op.cookie });
    check(r.status === 403 && /Forbidden/.test(r.text), `operator on ${p}: ${r.status}`);
  }
  for (const p of ['/api/history', '/api/unit/PA-0000001', '/api/stats', '/api/devices', '/api/users']) {
    r = await req(p, { cookie: op.cookie });
    check(r.status === 403 && r.json.error === 'forbidden', `operator on ${p}: ${r.status}`);
  }
  r = await req('/api/users', { method: 'POST', cookie: op.cookie, csrf: op.csrf,
    body: { user: 'mallory', role: 'admin', password: 'mallory-pass' } });
  check(r.status === 403, `operator adding a user: ${r.status}`);
  const eng = await login('engineer');
  r = await req('/api/history?limit=5', { cookie: eng.cookie });
  check(r.status === 200 && Array.isArray(r.json.runs), `engineer history: ${r.status} ${r.text}`);
  r = await req('/api/devices', { cookie: eng.cookie });
  check(r.status === 200 && r.json.devices.length === 4, `engineer devices: ${r.text.slice(0, 200)}`);
  r = await req('/api/users', { cookie: eng.cookie });
  check(r.status === 403, `engineer on /api/users: ${r.status}`);
  r = await req('/reports/run/x', { cookie: eng.cookie });
  check(r.status === 501, `report stub: ${r.status}`);
  // Static files and Chart.js need no session.
  r = await req('/static/chart.min.js');
  check(r.status === 200 && /javascript/.test(r.headers.get('content-type')) && r.text.length > 10000,
    `chart.js: ${r.status}`);
  r = await req('/static/..%2fweb.json');
  check(r.status === 404, `static path escape: ${r.status}`);
  // Logout ends the session.
  r = await req('/api/logout', { method: 'POST', cookie: op.cookie, csrf: op.csrf });
  check(r.status === 200 && /Max-Age=0/.test(r.headers.get('set-cookie')), `logout: ${r.status}`);
  r = await req('/api/me', { cookie: op.cookie });
  check(r.status === 401, `me after logout: ${r.status}`);
  // Rate limit last (it locks this address out for a minute): five
  // failures, then even the right password is refused.
  for (let i = 0; i < 3; i++)
    await req('/api/login', { method: 'POST', body: { user: 'operator', password: 'nope-nope' } });
  r = await req('/api/login', { method: 'POST', body: { user: 'operator', password: 'operator-pass' } });
  check(r.status === 429, `after 5 failures: ${r.status}`);
}

async function users() {
  const adm = await login('admin');
  let r = await req('/api/users', { cookie: adm.cookie });
  check(r.status === 200 && r.json.users.length === 3 && !/hash|argon/.test(r.text), `list: ${r.text}`);
  const secret = 'Very-Secret-Pw-42';
  r = await req('/api/users', { method: 'POST', cookie: adm.cookie, csrf: adm.csrf,
    body: { user: 'bea', role: 'engineer', password: secret } });
  check(r.status === 201 && r.json.role === 'engineer', `add: ${r.status} ${r.text}`);
  r = await req('/api/users', { method: 'POST', cookie: adm.cookie, csrf: adm.csrf,
    body: { user: 'bea', role: 'operator', password: secret } });
  check(r.status === 409, `add twice: ${r.status}`);
  r = await req('/api/users', { method: 'POST', cookie: adm.cookie, csrf: adm.csrf,
    body: { user: 'x', role: 'operator', password: 'short' } });
  check(r.status === 400, `short password: ${r.status}`);
  // The file: mode 0600, argon2id hashes, never the password.
  const file = path.join(DIR, 'users.json');
  const text = fs.readFileSync(file, 'utf8');
  check((fs.statSync(file).mode & 0o777) === 0o600, `users file mode ${(fs.statSync(file).mode & 0o777).toString(8)}`);
  check(!text.includes(secret), 'the users file holds the password in clear');
  const bea = JSON.parse(text).users.find((u) => u.name === 'bea');
  check(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/.test(bea.hash),
    `hash format: ${bea.hash}`);
  for (const f of ['rigweb.log']) check(!fs.readFileSync(path.join(DIR, f), 'utf8').includes(secret), `${f} has the password`);
  const b = await login('bea', secret);
  r = await req('/api/history', { cookie: b.cookie });
  check(r.status === 200, `bea as engineer: ${r.status}`);
  // Demoting her ends her session; the new role applies at next login.
  r = await req('/api/users/bea', { method: 'PUT', cookie: adm.cookie, csrf: adm.csrf, body: { role: 'operator' } });
  check(r.status === 200 && r.json.role === 'operator', `demote: ${r.status} ${r.text}`);
  r = await req('/api/me', { cookie: b.cookie });
  check(r.status === 401, `bea's session after the change: ${r.status}`);
  const b2 = await login('bea', secret);
  r = await req('/api/history', { cookie: b2.cookie });
  check(r.status === 403, `bea as operator on history: ${r.status}`);
  // The last admin stays.
  r = await req('/api/users/admin', { method: 'PUT', cookie: adm.cookie, csrf: adm.csrf, body: { role: 'engineer' } });
  check(r.status === 409, `demoting the last admin: ${r.status}`);
  r = await req('/api/users/admin', { method: 'DELETE', cookie: adm.cookie, csrf: adm.csrf });
  check(r.status === 409, `deleting the last admin: ${r.status}`);
  r = await req('/api/users/bea', { method: 'DELETE', cookie: adm.cookie, csrf: adm.csrf });
  check(r.status === 200, `delete: ${r.status}`);
  r = await req('/api/login', { method: 'POST', body: { user: 'bea', password: secret } });
  check(r.status === 401, `deleted user logs in: ${r.status}`);
  check(!JSON.parse(fs.readFileSync(file, 'utf8')).users.some((u) => u.name === 'bea'), 'bea still in the file');
}

async function expiry() {
  // The stack runs with session_idle_s = 2 for this scenario.
  const op = await login('operator');
  let r = await req('/api/me', { cookie: op.cookie });
  check(r.status === 200, `fresh session: ${r.status}`);
  await sleep(1200);
  r = await req('/api/me', { cookie: op.cookie });
  check(r.status === 200, `session used within the idle time: ${r.status}`);
  await sleep(3000);
  r = await req('/api/me', { cookie: op.cookie });
  check(r.status === 401, `session idle 3 s with a 2 s timeout: ${r.status}`);
}

function readRecord(runId) {
  const dir = path.join(DIR, 'results');
  const f = fs.readdirSync(dir).find((x) => x.endsWith('.json') && x.includes(runId));
  check(f, `no record for ${runId} in ${fs.readdirSync(dir)}`);
  return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
}

async function run() {
  const op = await login('operator');
  const s = sse(op.cookie);
  const st = await s.next((e) => e.name === 'station', 10000);
  check(s.type === 'text/event-stream', `content type ${s.type}`);
  check(st.data.rigd.connected === true && st.data.fixtures.map((f) => f.id).join() === 'A,B',
    `snapshot: ${JSON.stringify(st.data).slice(0, 300)}`);
  const fa = st.data.fixtures[0];
  check(fa.devices.pen.present && fa.devices.pen.serial === 'PA-0000001' && fa.devices.sensor.calibration.state === 'ok' &&
    fa.busy === false && fa.run === null, `fixture A: ${JSON.stringify(fa)}`);
  // EOL on A by the operator.
  let r = await req('/api/fixtures/A/run', { method: 'POST', cookie: op.cookie, csrf: op.csrf, body: { dut: 'PA-0000001' } });
  check(r.status === 200 && r.json.run_id && r.json.fixture === 'A' && r.json.attempt === 1, `run A: ${r.status} ${r.text}`);
  const idA = r.json.run_id;
  // Busy now: a second run is refused by rigd.
  r = await req('/api/fixtures/A/run', { method: 'POST', cookie: op.cookie, csrf: op.csrf, body: { dut: 'PA-0000001' } });
  check(r.status === 502 && r.json.rigd_code === 'busy', `second run on A: ${r.status} ${r.text}`);
  r = await req('/api/station', { cookie: op.cookie });
  const ra = r.json.fixtures[0];
  check(ra.busy === true && ra.run && ra.run.run_id === idA && ra.run.operator === 'operator' && ra.run.dut === 'PA-0000001',
    `station during the run: ${JSON.stringify(ra)}`);
  // A long run on B, aborted by the engineer.
  const eng = await login('engineer');
  r = await req('/api/fixtures/B/run', { method: 'POST', cookie: eng.cookie, csrf: eng.csrf, body: { dut: 'PA-0000002' } });
  check(r.status === 200, `run B: ${r.status} ${r.text}`);
  const idB = r.json.run_id;
  await s.next((e) => e.name === 'run' && e.data.fixture === 'B' && e.data.event === 'progress', 30000);
  r = await req('/api/fixtures/B/abort', { method: 'POST', cookie: eng.cookie, csrf: eng.csrf });
  check(r.status === 200 && typeof r.json.confirmed === 'boolean', `abort B: ${r.status} ${r.text}`);
  const finB = await s.next(runEvent('B', 'finished'), 30000);
  check(finB.data.outcome === 'ABORTED' && /abort requested by engineer \(via /.test(finB.data.reason),
    `B finished: ${JSON.stringify(finB.data)}`);
  // A's events: progress, measurements, live samples, PASS.
  const finA = await s.next(runEvent('A', 'finished'), 90000);
  check(finA.data.outcome === 'PASS' && finA.data.run_id === idA, `A finished: ${JSON.stringify(finA.data)}`);
  const evs = s.events;
  check(evs.some((e) => e.name === 'run' && e.data.fixture === 'A' && e.data.event === 'started'), 'no started event');
  check(evs.some((e) => e.name === 'run' && e.data.fixture === 'A' && e.data.event === 'progress' && e.data.step), 'no progress event');
  check(evs.some((e) => e.name === 'measurement' && e.data.fixture === 'A' && e.data.outcome === 'PASS'), 'no measurement');
  check(evs.some((e) => e.name === 'samples' && e.data.fixture === 'A' && Array.isArray(e.data.force_n)), 'no samples');
  // The records name the people.
  const recA = readRecord(idA), recB = readRecord(idB);
  check(recA.operator === 'operator', `record A operator: ${recA.operator}`);
  check(recB.operator === 'engineer' && /abort requested by engineer \(via /.test(JSON.stringify(recB)),
    `record B: operator ${recB.operator}, message ${recB.message}`);
  // After the finish a fresh snapshot has today's count and the last run.
  const st2 = await s.next((e) => e.name === 'station', 20000, s.events.indexOf(finA));
  const a2 = st2.data.fixtures[0];
  check(a2.today.count === 1 && a2.today.pass === 1 && a2.today.yield === 1 && a2.last.outcome === 'PASS' &&
    a2.last.attempt === 1 && a2.run === null && a2.busy === false, `A after: ${JSON.stringify(a2)}`);
  const b2 = st2.data.fixtures[1];
  check(b2.last && b2.last.outcome === 'ABORTED', `B after: ${JSON.stringify(b2)}`);
  const u = await req('/api/unit/PA-0000001', { cookie: eng.cookie });
  check(u.status === 200 && u.json.attempts === 1, `unit: ${u.text.slice(0, 200)}`);
  s.close();
}

async function restart() {
  const op = await login('operator');
  const s = sse(op.cookie);
  await s.next((e) => e.name === 'station' && e.data.rigd.connected, 10000);
  const { execFileSync } = await import('node:child_process');
  execFileSync(path.join(DIR, 'stop-rigd'));
  const down = await s.next((e) => e.name === 'rigd' && e.data.connected === false, 10000);
  const from = s.events.indexOf(down);
  let r = await req('/api/station', { cookie: op.cookie });
  check(r.status === 200 && r.json.rigd.connected === false, `station with rigd down: ${r.text}`);
  r = await req('/api/fixtures/A/run', { method: 'POST', cookie: op.cookie, csrf: op.csrf, body: { dut: 'PA-0000001' } });
  check(r.status === 503 && r.json.error === 'rigd_unavailable', `run with rigd down: ${r.status}`);
  execFileSync(path.join(DIR, 'start-rigd'));
  const up = await s.next((e) => e.name === 'rigd' && e.data.connected === true, 15000, from);
  // rigweb may be back before rigd has found every device: the first
  // snapshot tells that truth, and the attach events bring fresh ones.
  const st = await s.next((e) => e.name === 'station', 15000, s.events.indexOf(up));
  check(st.data.rigd.connected && st.data.fixtures.length === 2, `snapshot after the restart: ${JSON.stringify(st.data).slice(0, 300)}`);
  const all = await s.next((e) => e.name === 'station' && e.data.fixtures.every((f) => f.devices.pen.present && f.devices.sensor.present),
    15000, s.events.indexOf(up));
  check(all.data.rigd.connected, 'connected');
  s.close();
}

async function tls() {
  // HTTPS (the stack's --tls; the test trusts its self-signed certificate
  // through NODE_TLS_REJECT_UNAUTHORIZED=0): the cookie is Secure.
  check(BASE.startsWith('https://'), `not https: ${BASE}`);
  const op = await login('operator');
  check(/; Secure$/.test(op.setCookie) && /HttpOnly; SameSite=Strict/.test(op.setCookie), `cookie: ${op.setCookie}`);
  const r = await req('/api/station', { cookie: op.cookie });
  check(r.status === 200 && r.json.rigd.connected, `station over https: ${r.status}`);
}

async function slow() {
  // One browser stops reading mid-run: the other keeps getting everything
  // at full rate; the slow one, once it reads again, has lost samples only
  // (a `dropped` event says how many), never a run or measurement event.
  const op = await login('operator');
  const fast = sse(op.cookie), slowc = sse(op.cookie);
  await fast.next((e) => e.name === 'station', 10000);
  await slowc.next((e) => e.name === 'station', 10000);
  slowc.pause();
  const t0 = Date.now(), from = fast.events.length;
  const r = await req('/api/fixtures/B/run', { method: 'POST', cookie: op.cookie, csrf: op.csrf, body: { dut: 'PA-0000002' } });
  check(r.status === 200, `run B: ${r.status} ${r.text}`);
  const id = r.json.run_id;
  const fin = await fast.next((e) => e.name === 'run' && e.data.run_id === id && e.data.event === 'finished', 60000, from);
  await sleep(Math.max(0, 9000 - (Date.now() - t0)));
  const secs = (Date.now() - t0) / 1000;
  const fastSamples = fast.events.slice(from).filter((e) => e.name === 'samples').length;
  // Two fixtures stream 1 kS/s each in blocks: ~100 samples events/s each.
  check(fastSamples / secs > 50, `the fast browser got ${fastSamples} samples events in ${secs} s`);
  slowc.resume();
  const dropped = await slowc.next((e) => e.name === 'dropped', 30000);
  check(dropped.data.samples > 0, `dropped: ${JSON.stringify(dropped.data)}`);
  await slowc.next((e) => e.name === 'run' && e.data.run_id === id && e.data.event === 'finished', 30000);
  const essential = (s) => s.events.filter((e) => (e.name === 'run' || e.name === 'measurement') && e.data.run_id === id)
    .map((e) => `${e.name}:${e.data.event || e.data.name}:${e.data.index ?? ''}`);
  const a = essential(fast), b = essential(slowc);
  check(a.length > 5 && JSON.stringify(a) === JSON.stringify(b),
    `run events differ: fast ${a.length} [${a.slice(0, 6)}], slow ${b.length} [${b.slice(0, 6)}]`);
  check(fin.data.outcome === 'PASS' || fin.data.outcome === 'FAIL', `outcome ${fin.data.outcome}`);
  fast.close();
  slowc.close();
}

const scenarios = { auth, users, expiry, run, restart, tls, slow };
if (!scenarios[scenario]) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(64);
}
try {
  await scenarios[scenario]();
  console.log(`web ${scenario}: ok`);
  process.exit(0);
} catch (e) {
  console.error(`FAIL (web ${scenario}): ${e.message}`);
  try {
    console.error(fs.readFileSync(path.join(DIR, 'rigweb.log'), 'utf8').split('\n').slice(-15).join('\n'));
  } catch { /* no log */ }
  process.exit(1);
}
