// Text for people: numbers, outcomes, durations, and a failing measurement
// in words ("depth 1.21 mm above limit 1.15 mm").

export function num(x, digits = 4) {
  if (x === null || x === undefined || x === '') return '—';
  if (typeof x !== 'number') return String(x);
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  return Number(x.toPrecision(digits)).toString();
}

// A limit as written (rigd prints limits with %g: up to 6 digits).
export function lim(x) {
  return typeof x === 'number' && Number.isFinite(x) ? String(Number(x.toPrecision(6))) : num(x);
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

// "FAIL — needle depth 1.21 mm above limit 1.15 mm": why a measurement
// did not pass, in words. Direction words only where the value really is
// on that side of the limit; a measurement that is ERROR (could not be
// judged) says so with rigd's note, never "above limit".
export function failureWords(m) {
  if (!m) return '';
  const name = label(m.name);
  const u = m.units ? ' ' + m.units : '';
  const v = m.value;
  if (m.outcome && m.outcome !== 'FAIL') return `${name} ${m.outcome}${m.note ? ': ' + m.note : ''}`;
  if (v === null || v === undefined) return `${name}: no value${m.note ? ' (' + m.note + ')' : ''}`;
  if (typeof v !== 'number') {
    const l = limitsOf(m);
    return `${name} "${v}" does not meet ${l.text || m.limits || m.limit || 'its limit'}`;
  }
  const { cmp, low, high } = limitsOf(m);
  const val = `${name} ${num(v)}${u}`;
  const has = (x) => typeof x === 'number' && Number.isFinite(x);
  if (has(low) && has(high)) {
    if (v >= high && !(v === high && /LE$/.test(cmp || ''))) return `${val} above limit ${lim(high)}${u}`;
    if (v <= low && !(v === low && /^GE/.test(cmp || ''))) return `${val} below limit ${lim(low)}${u}`;
    return `${val} outside ${lim(low)} … ${lim(high)}${u}`;
  }
  if (has(low)) {
    // one-sided: the limit the value broke, named from the comparison
    if ((cmp === 'LT' || cmp === 'LE') && v >= low) return `${val} ${v > low ? 'above' : 'at'} limit ${lim(low)}${u}`;
    if ((cmp === 'GT' || cmp === 'GE') && v <= low) return `${val} ${v < low ? 'below' : 'at'} limit ${lim(low)}${u}`;
    if (cmp === 'EQ') return `${val}, expected ${lim(low)}${u}`;
    if (cmp === 'NE') return `${val}, must not be ${lim(low)}${u}`;
  }
  return `${val} outside ${m.limits || m.limit || 'its limits'}`;
}

export const OUTCOMES = ['PASS', 'FAIL', 'ERROR', 'ABORTED', 'TIMEOUT'];
