// Live latency, sensor head to browser plot, and rigweb's CPU and memory
// while P browser pages watch N streaming fixtures. Not a test: prints
// figures. Run by bench_latency.sh inside tests/web/stack.sh, with rigsim
// logging each block it sends (RIGSIM_BLOCK_LOG: bench, seq, first sample,
// count, rate, CLOCK_REALTIME ns).
//
// A latency sample: a page drew decimated sample k of fixture F (the
// page's ?latency hook, rig/web/static/js/liveplot.js, records the time
// after the frame that drew it); raw samples k*f .. (k+1)*f-1 (f = sensor
// rate / live rate) were sent by the sensor head in the block holding the
// last of them; latency = paint time - that block's send time.
//
//   node bench_latency.mjs BLOCK_LOG PAGES SECONDS
import fs from 'node:fs';
import { launch, openPage } from '../../browser/lib.mjs';
import { BASE, ORIGIN, login, poll } from './weblib.mjs';

const [blockLog, pagesArg = '4', secondsArg = '20'] = process.argv.slice(2);
if (!blockLog) {
  console.error('usage: bench_latency.mjs BLOCK_LOG [PAGES] [SECONDS]');
  process.exit(64);
}
const nPages = Number(pagesArg);
const seconds = Number(secondsArg);

// rigweb's process: RIGWEB_PID from the stack, else the newest "rigweb".
function rigwebPid() {
  if (process.env.RIGWEB_PID) return Number(process.env.RIGWEB_PID);
  let best = null;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'rigweb') continue;
      const start = Number(fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[19]);
      if (!best || start > best.start) best = { pid: Number(d), start };
    } catch { /* gone */ }
  }
  if (!best) throw new Error('no rigweb process found (set RIGWEB_PID)');
  return best.pid;
}
const TICK = 100; // USER_HZ on Linux
function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}
// CPU ticks of every process whose name matches re (the browsers, rigd).
function ticksByName(re) {
  const out = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      if (!re.test(comm)) continue;
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out.set(d, Number(f[11]) + Number(f[12]));
    } catch { /* gone */ }
  }
  return out;
}
function cpuShare(before, after, seconds) {
  let t = 0;
  for (const [pid, v] of after) t += v - (before.get(pid) || 0);
  return t / TICK / seconds;
}
function memKiB(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s) || [])[1]);
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
}

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

const browser = await launch();
const pages = [];
for (let i = 0; i < nPages; i++) {
  const p = await openPage(browser, { allowOrigins: [ORIGIN], viewport: { width: 1280, height: 1000 } });
  p.page.setDefaultTimeout(90000); // a loaded machine: logging in 4 pages takes a while
  await login(p.page, 'operator', { next: '/?latency' });
  await p.page.waitForSelector('.tile .banner[data-state]');
  pages.push(p);
}
const nFixtures = await pages[0].page.evaluate(() => window.__rigStation.tiles.size);
// every page is drawing every fixture before the window opens
await poll('every page drawing', async () => {
  for (const p of pages) {
    const n = await p.page.evaluate(() => new Set((window.__rigPaint || []).map((r) => r.fixture)).size);
    if (n < nFixtures) return false;
  }
  return true;
}, 30000, 200);

const pid = rigwebPid();
for (const p of pages) await p.page.evaluate(() => { window.__rigPaint.length = 0; });
const others = { browsers: /^(chromium|chrome)/, rigd: /^rigd$/ };
const othersBefore = Object.fromEntries(Object.entries(others).map(([k, re]) => [k, ticksByName(re)]));
const rssStart = memKiB(pid).rss;
const t0 = Date.now();
const c0 = cpuTicks(pid);
let rssMax = 0;
while (Date.now() - t0 < seconds * 1000) {
  rssMax = Math.max(rssMax, memKiB(pid).rss);
  await new Promise((r) => setTimeout(r, 250));
}
const window_s = (Date.now() - t0) / 1000;
const cpu = (cpuTicks(pid) - c0) / TICK / window_s;
const otherCpu = Object.entries(others).map(([k, re]) =>
  `${k} ${(cpuShare(othersBefore[k], ticksByName(re), window_s) * 100).toFixed(0)} %`).join(', ');
const mem = memKiB(pid);
const paints = [];
const clockSkew = [];
for (const [i, p] of pages.entries()) {
  const r = await p.page.evaluate(() => ({
    paints: window.__rigPaint.slice(),
    // how far the page's high-resolution clock is from the wall clock
    skew: Date.now() - (performance.timeOrigin + performance.now()),
  }));
  for (const x of r.paints) paints.push({ ...x, page: i });
  clockSkew.push(r.skew);
}
const problems = pages.flatMap((p) => p.problems);
await browser.close();

// Blocks per bench: sorted by first sample; fixture i (A, B, ...) is bench i.
const blocks = new Map();
for (const line of fs.readFileSync(blockLog, 'utf8').split('\n')) {
  const f = line.split(' ');
  if (f.length < 6) continue;
  const bench = Number(f[0]);
  if (!blocks.has(bench)) blocks.set(bench, []);
  blocks.get(bench).push({ first: Number(f[2]), count: Number(f[3]), rate: Number(f[4]), t: Number(BigInt(f[5]) / 1000n) / 1000 });
}
function blockOf(bench, raw) {
  const a = blocks.get(bench);
  if (!a) return null;
  // the latest block holding raw (a restarted stream counts from 0 again)
  const hi = a.length - 1;
  let found = null;
  for (let i = hi; i >= 0 && i >= hi - 200000; i--) {
    if (a[i].first <= raw && raw < a[i].first + a[i].count) { found = a[i]; break; }
  }
  return found;
}
const fixtureIds = [...new Set(paints.map((p) => p.fixture))].sort();
const lat = [];
const toPage = [];
let unmatched = 0;
for (const p of paints) {
  const bench = fixtureIds.indexOf(p.fixture);
  const b0 = blocks.get(bench);
  if (!b0) { unmatched++; continue; }
  const factor = Math.round(b0[0].rate / p.rate_hz);
  const raw = (p.index + 1) * factor - 1;
  const b = blockOf(bench, raw);
  if (!b || p.t < b.t) { unmatched++; continue; }
  lat.push(p.t - b.t);
  if (p.t_recv) toPage.push(p.t_recv - b.t);
}
lat.sort((a, b) => a - b);
toPage.sort((a, b) => a - b);
console.log(`latency sensor head -> browser plot: ${lat.length} frames drawn on ${nPages} pages x ${nFixtures} fixtures over ${seconds} s` +
  ` (${unmatched} unmatched)`);
console.log(`  p50 ${fmt(quantile(lat, 0.5))} ms   p95 ${fmt(quantile(lat, 0.95))} ms   max ${fmt(lat[lat.length - 1])} ms` +
  `   (page clock vs wall clock: ${clockSkew.map((s) => s.toFixed(1)).join(', ')} ms)`);
console.log(`  of which sensor head -> event received by the page: p50 ${fmt(quantile(toPage, 0.5))} ms` +
  `   p95 ${fmt(quantile(toPage, 0.95))} ms   max ${fmt(toPage[toPage.length - 1])} ms`);
console.log(`rigweb (pid ${pid}): CPU ${(cpu * 100).toFixed(1)} % of one core, RSS ${(rssStart / 1024).toFixed(1)} MiB` +
  ` at the start of the window, ${(mem.rss / 1024).toFixed(1)} MiB at its end (max seen ${(rssMax / 1024).toFixed(1)} MiB,` +
  ` high-water ${(mem.hwm / 1024).toFixed(1)} MiB)`);
console.log(`meanwhile (% of one core): ${otherCpu}; load average ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
if (problems.length) console.log(`page problems:\n  ${problems.slice(0, 10).join('\n  ')}`);
if (!lat.length) process.exit(1);
