// rigweb's cost with every fixture streaming to several browsers: N SSE
// clients (default 4) on a stack of 4 fixtures, each fixture running
// tests/run/long.json back to back (6 s captures, live samples), for
// DURATION seconds. Prints rigweb's CPU (share of one core, from
// /proc/PID/stat) and memory (VmRSS, VmHWM), and what the clients got.
//   tests/web/stack.sh BUILD -n 4 --sequence default=tests/run/long.json \
//       -- node tests/web/bench_web.mjs [DURATION_S] [CLIENTS]
import fs from 'node:fs';
import http from 'node:http';

const BASE = process.env.RIGWEB_URL.replace(/\/$/, '');
const PID = process.env.RIGWEB_PID;
const duration = Number(process.argv[2] || 30);
const nclients = Number(process.argv[3] || 4);
const HZ = 100; // USER_HZ of /proc/PID/stat on Linux

async function login(user) {
  const r = await fetch(BASE + '/api/login', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password: `${user}-pass` }) });
  if (r.status !== 200) throw new Error(`login: ${r.status}`);
  return { cookie: r.headers.get('set-cookie').split(';')[0], csrf: (await r.json()).csrf };
}

function cpuTicks() {
  const f = fs.readFileSync(`/proc/${PID}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime
}
function mem() {
  const s = fs.readFileSync(`/proc/${PID}/status`, 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [0, 0])[1]);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), threads: kb('Threads') };
}

const s = await login('operator');
const clients = [];
for (let i = 0; i < nclients; i++) {
  const c = { events: 0, samples: 0, bytes: 0, dropped: 0, station: 0 };
  const u = new URL(BASE + '/api/events');
  http.get({ host: u.hostname, port: u.port, path: u.pathname, headers: { cookie: s.cookie } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (d) => {
      c.bytes += d.length;
      for (const m of d.matchAll(/^event: (\w+)/gm)) {
        c.events++;
        if (m[1] === 'samples') c.samples++;
        if (m[1] === 'station') c.station++;
      }
      for (const m of d.matchAll(/"samples":(\d+)}/g)) c.dropped += Number(m[1]);
    });
  });
  clients.push(c);
}
// Keep every fixture busy: a new run as soon as the last one ends.
const fixtures = ['A', 'B', 'C', 'D'];
let runs = 0, stop = false;
async function keepBusy(fx, k) {
  while (!stop) {
    const r = await fetch(`${BASE}/api/fixtures/${fx}/run`, { method: 'POST',
      headers: { 'content-type': 'application/json', cookie: s.cookie, 'x-csrf-token': s.csrf },
      body: JSON.stringify({ dut: `PA-000000${k}` }) });
    if (r.status === 200) runs++;
    await new Promise((res) => setTimeout(res, 500));
  }
}
await new Promise((r) => setTimeout(r, 2000)); // streams up, snapshots sent
fixtures.forEach((fx, i) => keepBusy(fx, i + 1));
await new Promise((r) => setTimeout(r, 1000));
const t0 = Date.now(), c0 = cpuTicks(), e0 = clients.map((c) => ({ ...c }));
let peak = mem();
const iv = setInterval(() => { const m = mem(); if (m.rss > peak.rss) peak = m; }, 500);
await new Promise((r) => setTimeout(r, duration * 1000));
clearInterval(iv);
const secs = (Date.now() - t0) / 1000, cpu = (cpuTicks() - c0) / HZ;
stop = true;
const m = mem();
console.log(`rigweb bench: ${fixtures.length} fixtures streaming, ${nclients} SSE clients, ${secs.toFixed(1)} s, ${runs} runs started`);
console.log(`  CPU: ${(100 * cpu / secs).toFixed(1)} % of one core (${cpu.toFixed(2)} s user+sys)`);
console.log(`  memory: VmRSS ${(m.rss / 1024).toFixed(1)} MiB (peak sampled ${(peak.rss / 1024).toFixed(1)} MiB), VmHWM ${(m.hwm / 1024).toFixed(1)} MiB, ${m.threads} threads`);
clients.forEach((c, i) => {
  const d = (k) => c[k] - e0[i][k];
  console.log(`  client ${i + 1}: ${(d('events') / secs).toFixed(0)} events/s (${(d('samples') / secs).toFixed(0)} samples/s), ` +
    `${(d('bytes') / secs / 1024).toFixed(0)} KiB/s, ${d('dropped')} samples dropped`);
});
process.exit(0);
