// The engineer page: the live view of any fixture, history and unit
// lookup (with links to run reports), stats per measurement, devices and
// calibration. Views are tabs addressed by the URL hash (#history, ...).
import { api, session, header, ApiError } from './api.js';
import { Station } from './station.js';
import { failureWords, label, lim, num, pct, when } from './format.js';
import { cell, fill, link, outcomeNode } from './tables.js';

const $ = (sel, root = document) => root.querySelector(sel);
const TABS = ['live', 'history', 'unit', 'stats', 'devices', 'reports'];
const loaded = new Set();
let live = null;

function showTab(name) {
  if (!TABS.includes(name)) name = 'live';
  for (const t of TABS) {
    $(`#${t}`).hidden = t !== name;
    $(`[data-tab="${t}"]`).setAttribute('aria-selected', String(t === name));
  }
  if (!loaded.has(name)) { loaded.add(name); first[name](); }
}

function query(form) {
  const q = new URLSearchParams();
  for (const [k, v] of new FormData(form)) if (String(v).trim()) q.set(k, String(v).trim());
  return q.toString();
}

async function guarded(section, fn) {
  const msg = $('.msg', section);
  if (msg) msg.textContent = '';
  try {
    await fn();
  } catch (e) {
    if (msg) msg.textContent = e.message;
    if (!(e instanceof ApiError)) throw e;
  }
}

const reportLink = (id) => (id ? link(`/reports/run/${encodeURIComponent(id)}`, 'report') : '—');

const unitLink = (serial) => link(`#unit=${encodeURIComponent(serial)}`, serial);

// ---- live ----
async function startLive() {
  const sel = $('#live-fixture');
  const st = await api('GET', '/api/station');
  const ids = (st.fixtures || []).map((f) => String(f.id));
  sel.replaceChildren(...ids.map((id) => new Option(`Fixture ${id}`, id)));
  const want = new URLSearchParams(location.hash.slice(1)).get('fixture');
  if (want && ids.includes(want)) sel.value = want;
  const open = async () => {
    if (live) { live.stream?.close(); for (const t of live.tiles.values()) t.plot?.destroy(); }
    $('#live-tiles').replaceChildren();
    live = new Station($('#live-tiles'), { only: sel.value });
    window.__rigStation = live;
    await live.start();
  };
  sel.addEventListener('change', open);
  if (ids.length) await open();
}

// ---- history ----
async function history() {
  const form = $('#history-form');
  await guarded($('#history'), async () => {
    const r = await api('GET', '/api/history?' + query(form));
    fill($('#history-table'), r.runs, (tr, run) => {
      cell(tr, when(run.started), 'nowrap');
      cell(tr, unitLink(run.dut_serial));
      cell(tr, run.attempt, 'num');
      cell(tr, run.fixture);
      cell(tr, run.operator);
      cell(tr, outcomeNode(run.complete === false && !run.outcome ? 'incomplete' : run.outcome));
      cell(tr, [run.outcome !== 'PASS' ? run.message : null,
        run.retest_reason ? `retest after ${run.retest_reason}` : null].filter(Boolean).join(' · '));
      cell(tr, reportLink(run.id));
    }, 'no runs match');
  });
}

// ---- unit ----
async function lookUp(serial) {
  const form = $('#unit-form');
  if (serial) form.serial.value = serial;
  const s = form.serial.value.trim();
  if (!s) return;
  await guarded($('#unit'), async () => {
    const u = await api('GET', '/api/unit/' + encodeURIComponent(s));
    $('#unit-summary').textContent =
      `${u.dut_serial}: ${u.attempts} attempt${u.attempts === 1 ? '' : 's'}, final outcome ${u.final_outcome || '—'}`;
    fill($('#unit-table'), u.runs, (tr, run) => {
      cell(tr, run.attempt, 'num');
      cell(tr, when(run.started), 'nowrap');
      cell(tr, run.fixture);
      cell(tr, run.operator);
      cell(tr, outcomeNode(run.outcome));
      cell(tr, (run.failing || []).map(failureWords).join('; ') || (run.message || ''));
      cell(tr, reportLink(run.id));
    }, 'this unit has no runs');
  });
}

// ---- stats ----
async function stats() {
  const form = $('#stats-form');
  await guarded($('#stats'), async () => {
    const r = await api('GET', '/api/stats?' + query(form));
    const y = r.yields || {};
    const box = $('#stats-yields');
    box.replaceChildren();
    for (const [k, v] of [['units', y.units], ['runs', y.runs], ['first-pass yield', pct(y.fpy)],
      ['final yield', pct(y.final_yield)], ['retest rate', pct(y.retest_rate)]]) {
      const d = document.createElement('div');
      const b = document.createElement('b');
      b.textContent = v ?? '—';
      d.append(document.createTextNode(k), b);
      box.append(d);
    }
    fill($('#stats-table'), r.measurements, (tr, m) => {
      cell(tr, label(m.name));
      const has = (x) => typeof x === 'number';
      const limits = has(m.low) && has(m.high) ? `${m.comparison} [${lim(m.low)}, ${lim(m.high)}]`
        : has(m.low) || has(m.high) ? `${m.comparison} ${lim(m.low ?? m.high)}` : `${m.comparison || ''} (text)`;
      cell(tr, `${limits}${m.units ? ' ' + m.units : ''}`);
      cell(tr, m.count, 'num');
      cell(tr, pct(m.yield), 'num');
      cell(tr, pct(m.fpy), 'num');
      cell(tr, num(m.mean, 4), 'num');
      cell(tr, num(m.sd, 3), 'num');
      for (const k of ['cp', 'cpk', 'pp', 'ppk']) {
        const td = cell(tr, num(m[k], 3), 'num');
        if (typeof m[k] === 'number' && (k === 'cpk' || k === 'ppk')) {
          td.classList.add(m[k] >= 1.33 ? 'ok-text' : m[k] >= 1 ? 'warn-text' : 'bad-text');
        }
      }
    }, 'no measurements in this window');
    fill($('#pareto-table'), r.pareto, (tr, p) => {
      cell(tr, label(p.name));
      cell(tr, p.count, 'num');
      cell(tr, pct(p.share), 'num');
      cell(tr, pct(p.cumulative), 'num');
    }, 'no failures');
  });
}

// ---- devices ----
function calDate(n) {
  const s = String(n || '');
  return /^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}` : (s || null);
}
async function devices() {
  await guarded($('#devices'), async () => {
    const r = await api('GET', '/api/devices');
    fill($('#devices-table'), (r.devices || []).filter(Boolean), (tr, d) => {
      const id = d.identity || {};
      cell(tr, d.fixture);
      cell(tr, d.kind === 'sensor' ? 'sensor head' : d.kind);
      const p = document.createElement('span');
      p.className = d.present ? 'ok-text' : 'bad-text';
      p.textContent = d.present ? 'present' : 'MISSING';
      cell(tr, p);
      cell(tr, id.serial || (d.match && d.match.serial) || '');
      cell(tr, [id.model, id.firmware].filter(Boolean).join(' / '));
      cell(tr, d.kind === 'pen' ? (d.motor ? `motor ${d.motor.state}${d.motor.faults && d.motor.faults !== 'none' ? ', ' + d.motor.faults : ''}` : '') : (d.stream || ''));
      if (d.kind === 'sensor' && d.calibration) {
        const due = calDate(d.calibration.due_date);
        const days = due ? Math.floor((Date.parse(due + 'T00:00:00Z') - Date.now()) / 86400000) : null;
        const s = document.createElement('span');
        if (d.calibration.due || (days !== null && days < 0)) { s.className = 'bad-text'; s.textContent = `OVERDUE since ${due}`; }
        else if (days !== null && days <= 30) { s.className = 'warn-text'; s.textContent = `due soon: ${due} (${days} days)`; }
        else { s.className = 'ok-text'; s.textContent = `ok, due ${due}`; }
        s.append(document.createTextNode(d.calibration.certificate ? ` · ${d.calibration.certificate}` : ''));
        cell(tr, s);
      } else {
        cell(tr, d.kind === 'sensor' ? 'unknown' : '');
      }
    }, 'no devices');
  });
}

const first = {
  live: () => startLive().catch((e) => {
    $('#live .msg').textContent = `Cannot show the live view: ${e.message}`;
    if (!(e instanceof ApiError)) throw e;
  }),
  history, unit: () => {}, stats, devices,
  // the lot form is a plain GET to /reports/lot: nothing to load
  reports: () => { const f = $('#lot-form [name=since]'); if (!f.value) f.value = new Date().toISOString().slice(0, 10); },
};

try {
  const me = await session('engineer');
  header(me, '/engineer');
  for (const b of document.querySelectorAll('[data-tab]')) {
    b.addEventListener('click', () => { location.hash = b.dataset.tab; });
  }
  $('#history-form').addEventListener('submit', (e) => { e.preventDefault(); history(); });
  $('#unit-form').addEventListener('submit', (e) => { e.preventDefault(); lookUp(); });
  $('#stats-form').addEventListener('submit', (e) => { e.preventDefault(); stats(); });
  $('#devices-refresh').addEventListener('click', devices);
  const route = () => {
    const h = location.hash.slice(1);
    const p = new URLSearchParams(h);
    if (p.get('unit')) { showTab('unit'); lookUp(p.get('unit')); return; }
    showTab(h.split('&')[0].split('=')[0] || 'live');
  };
  window.addEventListener('hashchange', route);
  route();
} catch (e) {
  if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) throw e;
}
