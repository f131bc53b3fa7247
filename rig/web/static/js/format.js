// Text for people: numbers, outcomes, durations, and a failing measurement
// in words ("depth 1.21 mm above limit 1.15 mm").

export function num(x, digits = 3) {
  if (x === null || x === undefined || x === '') return '—';
  if (typeof x !== 'number') return String(x);
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  return Number(x.toPrecision(digits)).toString();
}

export function pct(x) {
  if (x === null || x === undefined) return '—';
  return (x * 100).toFixed(1) + ' %';
}

export function duration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

export function when(iso) {
  if (!iso) return '—';
  return String(iso).replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// A human name for a measurement: "needle_depth" -> "needle depth".
export function label(name) {
  return String(name || '').replace(/_/g, ' ');
}

// Limits of a measurement: numeric {low, high, comparison} when the
// object has them (station database), else parsed from rigd's limit text
// ("GELE [0.85, 1.15]", "LE 2", "STREQ \"MNP-A\"").
export function limitsOf(m) {
  if (m.comparison && (m.low !== undefined || m.high !== undefined)) {
    return { cmp: m.comparison, low: m.low, high: m.high };
  }
  const t = String(m.limits || m.limit || '');
  let r = /^([A-Z]+)\s*\[\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*\]/.exec(t);
  if (r) return { cmp: r[1], low: Number(r[2]), high: Number(r[3]) };
  r = /^([A-Z]+)\s+([-+0-9.eE]+)\s*$/.exec(t);
  if (r) return { cmp: r[1], low: Number(r[2]), high: null };
  r = /^([A-Z]+)\s/.exec(t);
  return { cmp: r ? r[1] : null, low: null, high: null, text: t };
}

// "FAIL — needle depth 1.21 mm above limit 1.15 mm"
export function failureWords(m) {
  if (!m) return '';
  const name = label(m.name);
  const u = m.units ? ' ' + m.units : '';
  const v = m.value;
  if (v === null || v === undefined) return `${name}: no value${m.note ? ' (' + m.note + ')' : ''}`;
  if (typeof v !== 'number') {
    const l = limitsOf(m);
    return `${name} "${v}" does not meet ${l.text || m.limits || 'its limit'}`;
  }
  const { cmp, low, high } = limitsOf(m);
  const val = `${name} ${num(v)}${u}`;
  const single = { GT: 'at or below', GE: 'below', LT: 'at or above', LE: 'above',
    EQ: 'not equal to', NE: 'equal to' };
  if (cmp && single[cmp] && low !== null && low !== undefined) {
    return `${val} ${single[cmp]} limit ${num(low)}${u}`;
  }
  if (low !== null && low !== undefined && high !== null && high !== undefined) {
    if (v > high || (v >= high && /LT$/.test(cmp || ''))) return `${val} above limit ${num(high)}${u}`;
    if (v < low || (v <= low && /^GT/.test(cmp || ''))) return `${val} below limit ${num(low)}${u}`;
    return `${val} outside ${num(low)} … ${num(high)}${u}`;
  }
  return `${val} outside ${m.limits || 'its limits'}`;
}

export const OUTCOMES = ['PASS', 'FAIL', 'ERROR', 'ABORTED', 'TIMEOUT'];
