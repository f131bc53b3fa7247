// The live station: a tile per fixture, fed by /api/station and the event
// stream; the rigd-disconnected banner (controls disabled until rigd is
// back, then everything redrawn from a fresh snapshot). Used by the
// operator page (every fixture) and the engineer's live view (one).
import { api, events } from './api.js';
import { Tile } from './tile.js';

export class Station {
  // container: where tiles go; opts.only: a fixture id to show alone
  constructor(container, opts = {}) {
    this.container = container;
    this.only = opts.only || null;
    this.tiles = new Map();
    this.rigdUp = true;
    this.linkUp = true;
    this.alert = document.getElementById('alert');
    this.dialog = document.getElementById('abort-dialog');
  }

  async start() {
    await this.refresh();
    this.stream = events({
      station: (s) => this.snapshot(s),
      run: (ev) => this.onRun(ev),
      measurement: (ev) => this.tileOf(ev)?.onMeasurement(ev),
      samples: (ev) => this.tileOf(ev)?.onSamples(ev),
      devices: (ev) => this.tileOf(ev)?.onDevices(ev),
      rigd: (ev) => this.setRigd(!!ev.connected, true),
      open: () => { this.linkUp = true; this.renderAlert(); },
      lost: () => { this.linkUp = false; this.renderAlert(); },
    });
    const first = this.tiles.values().next().value;
    if (first && !document.querySelector('[autofocus]')) first.focus();
  }

  onRun(ev) {
    const tile = this.tileOf(ev);
    if (!tile) return;
    tile.onRun(ev);
    // the run ended while its abort question was open: nothing to ask
    if (ev.event === 'finished' && this.dialog?.open && this.asking === tile) this.dialog.close('keep');
  }

  tileOf(ev) {
    return this.tiles.get(ev.fixture === undefined || ev.fixture === null ? this.soleId() : String(ev.fixture));
  }
  soleId() { return this.tiles.size === 1 ? this.tiles.keys().next().value : null; }

  async refresh() {
    try {
      this.snapshot(await api('GET', '/api/station'));
    } catch (e) {
      if (e.status !== 401) { this.linkUp = false; this.renderAlert(e.message); }
    }
  }

  scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), 150);
  }

  snapshot(s) {
    this.station = s;
    const up = !s.rigd || s.rigd.connected !== false;
    // rigd away: its snapshot has no fixtures; keep the tiles, greyed out
    if (!up) { this.setRigd(false, false); return; }
    const title = document.getElementById('station-name');
    if (title && s.station) title.textContent = s.station;
    const fixtures = (s.fixtures || []).filter((f) => !this.only || String(f.id) === this.only);
    const seen = new Set();
    for (const fx of fixtures) {
      const id = String(fx.id);
      seen.add(id);
      let tile = this.tiles.get(id);
      if (!tile) {
        tile = new Tile(fx, { confirmAbort: (t) => this.confirmAbort(t), onRefresh: () => this.scheduleRefresh() });
        this.tiles.set(id, tile);
        this.container.append(tile.root);
        tile.attach();
      } else {
        tile.update(fx);
      }
    }
    for (const [id, tile] of this.tiles) {
      if (!seen.has(id)) { tile.plot?.destroy(); tile.root.remove(); this.tiles.delete(id); }
    }
    this.container.dataset.count = String(this.tiles.size);
    this.setRigd(true, false);
  }

  setRigd(up, fromEvent) {
    const was = this.rigdUp;
    this.rigdUp = up;
    for (const t of this.tiles.values()) t.setRigd(up);
    this.renderAlert();
    // back: what happened meanwhile comes from a fresh snapshot
    if (up && !was && fromEvent) this.refresh();
  }

  renderAlert(extra) {
    if (!this.alert) return;
    let text = '';
    if (!this.linkUp) text = 'Connection to the station server lost — reconnecting…';
    else if (!this.rigdUp) text = 'rigd is not reachable — controls are disabled; reconnecting…';
    if (extra && !text) text = extra;
    this.alert.textContent = text;
    this.alert.hidden = !text;
    document.body.classList.toggle('disconnected', !!text);
  }

  // Escape or the abort button: a modal question; Enter aborts, Escape keeps running.
  confirmAbort(tile) {
    const d = this.dialog;
    if (!d) return Promise.resolve(window.confirm(`Abort the run on fixture ${tile.id}?`));
    d.querySelector('.q').textContent = `Abort the run on fixture ${tile.id}` +
      (tile.run && tile.run.dut ? ` (${tile.run.dut})?` : '?');
    this.asking = tile;
    return new Promise((resolve) => {
      const done = () => {
        d.removeEventListener('close', done);
        this.asking = null;
        resolve(d.returnValue === 'abort');
      };
      d.returnValue = '';
      d.addEventListener('close', done);
      d.showModal();
      d.querySelector('button[value="abort"]').focus();
    });
  }
}
