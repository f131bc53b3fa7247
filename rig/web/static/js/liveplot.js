// The live force/displacement plot of one fixture: Chart.js (Debian's
// libjs-chart.js, loaded as the global `Chart` by /static/chart.min.js),
// linear x axis in seconds, no animation, a fixed-length ring of the
// decimated points rigd sends (samples events, 1 kS/s), redrawn in an
// animation frame (at most ~30 a second) however many events arrive.
//
// Test hook: with ?latency in the page URL, every redraw records
// {fixture, index, rate_hz, t, t_recv} in window.__rigPaint, where index
// is the newest decimated sample drawn, t (ms since the epoch,
// performance.timeOrigin + performance.now()) the moment after the frame
// that drew it (a task queued from the frame's callback runs after paint)
// and t_recv when the page received the event carrying it.

const WINDOW_S = 0.5;          // seconds of signal on screen (tens of strokes)
const RING = 500;              // points kept per channel (0.5 s at 1 kS/s)
// At most ~30 redraws a second per plot: a redraw costs a few ms of CPU
// (Chart.js lays out and draws everything), a station shows up to four
// plots, and a smoother plot would not be read any better.
const MIN_FRAME_MS = 33;
const recordPaint = /[?&]latency\b/.test(location.search);
if (recordPaint && !window.__rigPaint) window.__rigPaint = [];

export class LivePlot {
  constructor(canvas, fixture) {
    this.fixture = fixture;
    this.force = [];
    this.disp = [];
    this.pending = [];
    this.frame = 0;
    this.lastDraw = 0;
    this.nextIndex = null;
    this.rate = 1000;
    const Chart = globalThis.Chart;
    this.chart = new Chart(canvas, {
      type: 'line',
      data: {
        datasets: [
          // no dashes: they cost Chart.js its fast path (one segment per
          // pixel column); the two lines differ in width as well as colour
          { label: 'force (N)', data: this.force, yAxisID: 'yF', borderColor: '#1f4e9e',
            borderWidth: 1.25, pointRadius: 0, spanGaps: false },
          { label: 'displacement (mm)', data: this.disp, yAxisID: 'yD', borderColor: '#c25200',
            borderWidth: 2.5, pointRadius: 0, spanGaps: false },
        ],
      },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        events: [],
        plugins: { legend: { labels: { boxHeight: 2, color: '#222' } }, tooltip: { enabled: false } },
        scales: {
          x: { type: 'linear', title: { display: true, text: 's', color: '#222' },
            ticks: { maxTicksLimit: 7, maxRotation: 0, sampleSize: 8, color: '#333',
              callback: (v) => Number(v).toFixed(1) } },
          yF: { type: 'linear', position: 'left', title: { display: true, text: 'force N', color: '#1f4e9e' },
            ticks: { color: '#1f4e9e', maxTicksLimit: 5, sampleSize: 8 } },
          yD: { type: 'linear', position: 'right', title: { display: true, text: 'displacement mm', color: '#b34700' },
            ticks: { color: '#b34700', maxTicksLimit: 5, sampleSize: 8 }, grid: { drawOnChartArea: false } },
        },
      },
    });
  }

  // One samples event: {index, rate_hz, force_n:[...], disp_mm:[...|null]}.
  push(ev) {
    if (recordPaint) ev.t_recv = performance.timeOrigin + performance.now();
    this.pending.push(ev);
    if (!this.frame) this.frame = requestAnimationFrame((t) => this.tick(t));
  }

  tick(t) {
    const wait = MIN_FRAME_MS - (t - (this.lastDraw || 0));
    if (wait > 1) {
      // too soon: sleep until then, not a wake-up every frame meanwhile
      this.frame = setTimeout(() => { this.frame = requestAnimationFrame((t2) => this.tick(t2)); }, wait);
      return;
    }
    this.lastDraw = t;
    this.draw();
  }

  clear() {
    this.force.length = 0;
    this.disp.length = 0;
    this.nextIndex = null;
    this.chart.update('none');
  }

  draw() {
    this.frame = 0;
    const evs = this.pending;
    this.pending = [];
    let last = null;
    let recv = null;
    for (const ev of evs) {
      recv = ev.t_recv;
      const rate = ev.rate_hz || 1000;
      const f = ev.force_n || [];
      const d = ev.disp_mm || [];
      // A new stream (index went back) or another rate: start afresh.
      if (this.nextIndex !== null && (ev.index < this.nextIndex - 1 || rate !== this.rate)) {
        this.force.length = 0;
        this.disp.length = 0;
        this.nextIndex = null;
      }
      this.rate = rate;
      // A gap (samples dropped on the way): break the line there.
      if (this.nextIndex !== null && ev.index > this.nextIndex) {
        const x = this.nextIndex / rate;
        this.force.push({ x, y: null });
        this.disp.push({ x, y: null });
      }
      for (let i = 0; i < f.length; i++) {
        const x = (ev.index + i) / rate;
        this.force.push({ x, y: f[i] });
        this.disp.push({ x, y: d[i] === undefined ? null : d[i] });
      }
      this.nextIndex = ev.index + f.length;
      last = this.nextIndex - 1;
    }
    const extra = this.force.length - RING;
    if (extra > 0) {
      this.force.splice(0, extra);
      this.disp.splice(0, extra);
    }
    if (this.force.length) {
      const xmax = this.force[this.force.length - 1].x;
      this.chart.options.scales.x.min = xmax - WINDOW_S;
      this.chart.options.scales.x.max = xmax;
    }
    this.chart.update('none');
    if (recordPaint && last !== null) {
      const rec = { fixture: this.fixture, index: last, rate_hz: this.rate, t_recv: recv };
      setTimeout(() => {
        rec.t = performance.timeOrigin + performance.now();
        const a = window.__rigPaint;
        a.push(rec);
        if (a.length > 100000) a.splice(0, 50000);
      }, 0);
    }
  }

  destroy() {
    if (this.frame) { cancelAnimationFrame(this.frame); clearTimeout(this.frame); }
    this.chart.destroy();
  }
}
