// One fixture's tile: its devices and calibration at a glance, the scan
// field (a barcode scanner types the serial and Enter: the run starts),
// progress, the live plot, each measurement as it is judged, and the
// verdict banner (word + shape + pattern, not colour alone). Keyboard
// only: Enter in the scan field starts, Escape anywhere in the tile asks
// to abort; after a verdict the focus goes back to the scan field.
import { api } from './api.js';
import { failureWords, label, num, pct, duration } from './format.js';
import { icon } from './icons.js';
import { LivePlot } from './liveplot.js';

const VERDICTS = new Set(['PASS', 'FAIL', 'ERROR', 'ABORTED', 'TIMEOUT']);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// The snapshot's device entries may be objects or booleans.
function present(d) {
  if (d === null || d === undefined) return false;
  return typeof d === 'object' ? !!d.present : !!d;
}
function calibrationOf(devices) {
  if (!devices) return null;
  const c = devices.calibration || (devices.sensor && typeof devices.sensor === 'object' && devices.sensor.calibration);
  return c || null;
}

// Milliseconds since an ISO time (rigd writes microseconds), 0 if unknown.
function elapsedMs(iso) {
  const t = iso ? Date.parse(String(iso).replace(/(\.\d{3})\d+Z$/, '$1Z')) : NaN;
  return Number.isFinite(t) ? Math.max(0, Date.now() - t) : 0;
}

export class Tile {
  // opts: {confirmAbort(tile) -> Promise<bool>, onRefresh()}
  constructor(fixture, opts = {}) {
    this.id = fixture.id;
    this.opts = opts;
    this.run = null;            // the active run: {run_id, dut, steps, attempt, started}
    this.failing = [];          // FAIL measurements of the active run
    this.rigdUp = true;
    this.root = el('section', 'tile');
    this.root.dataset.fixture = this.id;
    this.root.setAttribute('aria-label', `Fixture ${this.id}`);
    this.build();
    this.update(fixture);
  }

  build() {
    const id = this.id;
    const head = el('header', 'tile-head');
    head.append(el('h2', null, `Fixture ${id}`));
    this.chips = el('ul', 'chips');
    this.chips.setAttribute('aria-label', 'fixture state');
    head.append(this.chips);

    const scanrow = el('div', 'scanrow');
    const lab = el('label', null, 'Scan pen serial');
    lab.htmlFor = `scan-${id}`;
    this.scan = el('input', 'scan');
    Object.assign(this.scan, { id: `scan-${id}`, type: 'text', autocomplete: 'off', spellcheck: false });
    this.scan.setAttribute('aria-label', `Scan pen serial for fixture ${id}`);
    this.scan.setAttribute('autocapitalize', 'characters');
    this.scan.setAttribute('aria-describedby', `msg-${id}`);
    this.scan.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); this.start(); }
    });
    this.abortBtn = el('button', 'abort', 'Abort (Esc)');
    this.abortBtn.type = 'button';
    this.abortBtn.addEventListener('click', () => this.askAbort());
    scanrow.append(lab, this.scan, this.abortBtn);
    this.root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.run) { e.preventDefault(); this.askAbort(); }
    });

    this.msg = el('p', 'msg');
    this.msg.id = `msg-${id}`;
    this.msg.setAttribute('role', 'alert');

    this.banner = el('div', 'banner');
    this.banner.setAttribute('role', 'status');
    this.banner.setAttribute('aria-live', 'polite');
    this.bIcon = el('span', 'bicon');
    this.bWord = el('span', 'bword');
    this.bDetail = el('span', 'bdetail');
    const btext = el('div', 'btext');
    btext.append(this.bWord, this.bDetail);
    this.banner.append(this.bIcon, btext);

    const prog = el('div', 'progress');
    this.bar = el('progress');
    this.bar.max = 1;
    this.bar.value = 0;
    this.bar.setAttribute('aria-label', `progress of fixture ${id}`);
    this.stepText = el('span', 'step');
    this.leftText = el('span', 'left');
    prog.append(this.bar, this.stepText, this.leftText);

    this.counts = el('p', 'counts');

    const plotBox = el('div', 'plot');
    const canvas = el('canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `live force and displacement of fixture ${id}`);
    plotBox.append(canvas);

    const mwrap = el('div', 'meas-wrap');
    this.meas = el('table', 'meas');
    this.meas.innerHTML = '<caption>Measurements</caption><thead><tr><th>measurement</th>' +
      '<th class="num">value</th><th>limits</th><th>outcome</th></tr></thead><tbody></tbody>';
    this.mbody = this.meas.tBodies[0];
    mwrap.append(this.meas);

    this.root.append(head, scanrow, this.msg, this.banner, prog, this.counts, plotBox, mwrap);
    this.plotCanvas = canvas;
  }

  // Called once the tile is in the document (Chart.js needs its size).
  attach() {
    this.plot = new LivePlot(this.plotCanvas, this.id);
  }

  // A snapshot entry from /api/station or the `station` event.
  update(fx) {
    this.fx = fx;
    this.renderChips();
    if (fx.run) {
      const r = fx.run;
      if (!this.run || this.run.run_id !== r.run_id) {
        this.run = { run_id: r.run_id, dut: r.dut, steps: r.steps, attempt: r.attempt ?? null,
          started: performance.now() - elapsedMs(r.started) };
        this.failing = [];
        this.mbody.replaceChildren();
      }
      this.showRunning();
      this.setProgress(r);
    } else if (this.run && this.rigdUp && !(fx.last && fx.last.run_id === this.run.run_id)) {
      // A snapshot that has not heard of our run yet (a GET answered
      // before the run's `started` reached rigweb): the events know better.
      this.fx = { ...fx, busy: true };
      this.renderChips();
    } else {
      if (this.run) this.run = null;
      if (fx.last && fx.last.outcome) this.showVerdict(fx.last);
      else this.showIdle();
      this.setProgress(null);
    }
    this.renderCounts();
    this.renderControls();
  }

  setRigd(up) {
    // without rigd no run goes on (rigd aborts a run whose owner, rigweb,
    // is gone); the snapshot after the reconnect says how it ended
    if (!up) this.run = null;
    this.rigdUp = up;
    this.renderChips();
    this.renderControls();
  }

  renderChips() {
    const fx = this.fx || {};
    const d = fx.devices || {};
    const chips = [];
    const chip = (kind, text, state) => {
      const li = el('li', `chip ${state}`);
      li.append(icon(kind), el('span', null, text));
      chips.push(li);
    };
    if (!this.rigdUp) {
      chip('NO', 'rigd offline: state unknown', 'bad');
      this.chips.replaceChildren(...chips);
      return;
    }
    chip(present(d.pen) ? 'OK' : 'NO', present(d.pen) ? 'pen' : 'pen missing', present(d.pen) ? 'ok' : 'bad');
    chip(present(d.sensor) ? 'OK' : 'NO', present(d.sensor) ? 'sensor head' : 'sensor head missing',
      present(d.sensor) ? 'ok' : 'bad');
    const cal = present(d.sensor) ? calibrationOf(d) : null;
    if (cal) {
      const due = cal.due || cal.due_date || '';
      const st = cal.state || 'unknown';
      if (st === 'overdue') chip('NO', `calibration OVERDUE (${due})`, 'bad');
      else if (st === 'due_soon') chip('WARN', `calibration due ${due}`, 'warn');
      else if (st === 'ok' && due) chip('OK', `calibrated to ${due}`, 'ok');
      else chip('WARN', 'calibration unknown', 'warn');
    }
    const busy = !!(fx.busy || fx.run);
    chip(busy ? 'RUNNING' : 'IDLE', busy ? 'bench busy' : 'bench free', busy ? 'busy' : 'ok');
    this.chips.replaceChildren(...chips);
  }

  renderCounts() {
    const t = this.fx && this.fx.today;
    // today is null when rigd keeps no station database
    const parts = [t ? `Today: ${t.count ?? 0} tested, ${t.pass ?? 0} passed, yield ${t.count ? pct(t.yield ?? (t.pass / t.count)) : '—'}`
      : 'Today: no count (no station database)'];
    const attempt = this.run ? this.run.attempt : (this.fx && this.fx.last && this.fx.last.attempt);
    if (attempt) parts.push(attempt > 1 ? `attempt ${attempt} (retest ${attempt - 1})` : 'attempt 1 (first test)');
    this.counts.textContent = parts.join(' · ');
  }

  renderControls() {
    const ready = this.rigdUp && present(this.fx?.devices?.pen) && present(this.fx?.devices?.sensor);
    const hadFocus = document.activeElement === this.scan;
    this.scan.disabled = !this.rigdUp;
    this.scan.readOnly = !!this.run;
    this.scan.placeholder = !this.rigdUp ? 'rigd offline' : this.run ? 'testing…' : ready ? 'scan serial, Enter' : 'devices missing';
    this.abortBtn.disabled = !this.rigdUp || !this.run;
    this.root.classList.toggle('offline', !this.rigdUp);
    if (hadFocus && this.scan.disabled) this.lostFocus = true;
    if (this.lostFocus && !this.scan.disabled) {
      this.lostFocus = false;
      if (this.mayTakeFocus()) this.scan.focus();
    }
  }

  setBanner(state, word, detail) {
    this.banner.dataset.state = state;
    this.bIcon.replaceChildren(icon(state === 'idle' ? 'IDLE' : state === 'running' ? 'RUNNING' : state));
    this.bWord.textContent = word;
    this.bDetail.textContent = detail || '';
  }

  showIdle() { this.setBanner('idle', 'READY', 'scan a pen to start'); }

  showRunning() {
    this.setBanner('running', 'TESTING', this.run.dut || '');
  }

  // A verdict: from a finished event (with the failing measurements seen
  // live) or a snapshot's `last` ({dut, outcome, failing, attempt, reason}).
  showVerdict(v) {
    const outcome = VERDICTS.has(v.outcome) ? v.outcome : 'ERROR';
    let detail = '';
    // the measurements that FAILed first (the list may hold ERROR ones too)
    const all = (v.failing && v.failing.length ? v.failing : this.failing) || [];
    const fails = all.filter((m) => !m.outcome || m.outcome === 'FAIL');
    const failing = fails.length ? fails : all;
    if (outcome === 'FAIL' && failing.length) {
      detail = failing.slice(0, 2).map(failureWords).join('; ');
      if (failing.length > 2) detail += ` (+${failing.length - 2} more)`;
    } else if (outcome !== 'PASS') {
      detail = v.reason || v.message || '';
    }
    const who = v.dut ? `${v.dut}` : '';
    this.setBanner(outcome, outcome, [who, detail].filter(Boolean).join(' — '));
  }

  setProgress(r) {
    if (!r) {
      this.bar.value = this.run || !(this.fx && this.fx.last) ? 0 : 1;
      this.stepText.textContent = this.run ? 'starting…' : '';
      this.leftText.textContent = '';
      return;
    }
    const p = typeof r.progress === 'number' ? r.progress : 0;
    this.bar.value = p;
    const idx = r.index ?? r.step_index;
    const total = r.total ?? r.steps ?? (this.run && this.run.steps);
    const name = r.step_name || r.step || '';
    this.stepText.textContent = `${idx ? `Step ${idx}${total ? '/' + total : ''}: ` : ''}${label(name)}`;
    // rigd's progress counts steps, not seconds: estimate only once a
    // quarter is done (elapsed x (1 - p) / p, as rigweb's snapshot does)
    let left = r.time_left_s ?? null;
    if (left === null && this.run && p >= 0.25) {
      const el = (performance.now() - this.run.started) / 1000;
      left = (el * (1 - p)) / p;
    }
    this.leftText.textContent = left !== null && p >= 0.25 ? `about ${duration(Math.max(1, Math.ceil(left)))} left`
      : 'estimating time left…';
  }

  // Events relayed from rigd (they carry "fixture").
  onRun(ev) {
    switch (ev.event) {
      case 'started':
        this.run = { run_id: ev.run_id, dut: ev.dut, steps: ev.steps, attempt: ev.attempt ?? null,
          started: performance.now() };
        this.failing = [];
        this.mbody.replaceChildren();
        this.msg.textContent = '';
        this.fx = { ...this.fx, busy: true };
        this.showRunning();
        this.setProgress(null);
        this.renderChips();
        this.renderCounts();
        this.renderControls();
        break;
      case 'progress':
        if (!this.run) {
          // its `started` was missed (the page connected meanwhile)
          this.run = { run_id: ev.run_id, dut: this.fx?.run?.dut ?? null, steps: ev.total, attempt: null,
            started: performance.now() };
          this.showRunning();
          this.renderControls();
        }
        if (ev.run_id === this.run.run_id) this.setProgress(ev);
        break;
      case 'finished': {
        const dut = (this.run && this.run.dut) || ev.dut || (this.fx && this.fx.last && this.fx.last.run_id === ev.run_id ? this.fx.last.dut : null);
        this.run = null;
        this.fx = { ...this.fx, busy: false, run: null,
          last: { run_id: ev.run_id, dut, outcome: ev.outcome, failing: this.failing, attempt: ev.attempt, reason: ev.reason } };
        this.showVerdict(this.fx.last);
        this.bar.value = 1;
        this.stepText.textContent = '';
        this.leftText.textContent = '';
        this.renderChips();
        this.renderCounts();
        this.renderControls();
        this.scan.value = '';
        // back to this scan field -- unless the operator is at another
        // fixture (perhaps scanning into it right now)
        if (!this.scan.disabled && this.mayTakeFocus()) this.scan.focus();
        if (this.opts.onRefresh) this.opts.onRefresh();
        break;
      }
      default:
        break;
    }
  }

  onMeasurement(m) {
    const tr = el('tr', `m-${m.outcome}`);
    const oc = el('td', 'oc');
    oc.append(icon(m.outcome === 'PASS' ? 'OK' : m.outcome === 'FAIL' ? 'NO' : 'WARN'), el('span', null, m.outcome + (m.marginal ? ' (marginal)' : '')));
    tr.append(el('td', null, label(m.name)), el('td', 'num', `${num(m.value)}${m.units ? ' ' + m.units : ''}`),
      el('td', null, m.limits || ''), oc);
    if (m.outcome !== 'PASS' && m.note) tr.title = m.note;
    this.mbody.append(tr);
    tr.scrollIntoView({ block: 'nearest' });
    if (m.outcome === 'FAIL') this.failing.push(m);
  }

  onSamples(ev) { if (this.plot) this.plot.push(ev); }

  onDevices(ev) {
    // A device came or went: the next snapshot has the truth; show it now.
    if (!this.fx) return;
    const d = { ...(this.fx.devices || {}) };
    const k = ev.device === 'pen' ? 'pen' : ev.device === 'sensor' ? 'sensor' : null;
    if (k && (ev.event === 'attached' || ev.event === 'detached')) {
      const was = d[k];
      d[k] = typeof was === 'object' && was ? { ...was, present: ev.event === 'attached' } : ev.event === 'attached';
      this.fx = { ...this.fx, devices: d };
      this.renderChips();
      this.renderControls();
    }
  }

  async start() {
    const dut = this.scan.value.trim();
    if (!dut || this.run || this.starting) return;
    this.msg.textContent = '';
    this.starting = true;
    try {
      await api('POST', `/api/fixtures/${encodeURIComponent(this.id)}/run`, { dut });
      // the started event shows the run (it may have come already)
    } catch (e) {
      this.msg.textContent = `Not started (${dut}): ${e.message}`;
      this.scan.select();
    } finally {
      this.starting = false;
    }
  }

  async askAbort() {
    if (!this.run) return;
    const ok = this.opts.confirmAbort ? await this.opts.confirmAbort(this) : true;
    if (!ok) { this.scan.focus(); return; }
    try {
      await api('POST', `/api/fixtures/${encodeURIComponent(this.id)}/abort`, {});
    } catch (e) {
      this.msg.textContent = `Abort failed: ${e.message}`;
    }
    this.scan.focus();
  }

  focus() { this.scan.focus(); }

  // Focus is nowhere in particular, or in this tile.
  mayTakeFocus() {
    const a = document.activeElement;
    return !a || a === document.body || this.root.contains(a);
  }
}
