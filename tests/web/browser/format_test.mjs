// The pages' words for a failing measurement (rig/web/static/js/format.js):
// the direction only when the value is on that side of the limit, ERROR
// measurements never "above limit", limits from rigd's text or the
// station database's numbers.
import assert from 'node:assert/strict';
import { failureWords, limitsOf, lim, num, pct, duration } from '../../../rig/web/static/js/format.js';

const cases = [
  [{ name: 'depth', value: 1.21, units: 'mm', limits: 'GELE [0.85, 1.15]', outcome: 'FAIL' },
    'depth 1.21 mm above limit 1.15 mm'],
  [{ name: 'depth', value: 0.7, units: 'mm', limit: 'GELE [0.85, 1.15]', outcome: 'FAIL' },
    'depth 0.7 mm below limit 0.85 mm'],
  [{ name: 'needle_depth', value: 1.5, units: 'mm', comparison: 'GELE', low: 0.85, high: 1.15 },
    'needle depth 1.5 mm above limit 1.15 mm'],
  [{ name: 'stroke_rate', value: 160.04, units: 'Hz', limits: 'GELE [142.5, 157.5]', outcome: 'FAIL' },
    'stroke rate 160 Hz above limit 157.5 Hz'],
  [{ name: 'spin_up', value: 38.4, units: 'ms', limits: 'LT 100', outcome: 'ERROR', note: 'samples lost' },
    'spin up ERROR: samples lost'],
  [{ name: 'stop_time', value: 230, units: 'ms', limits: 'LT 200', outcome: 'FAIL' },
    'stop time 230 ms above limit 200 ms'],
  [{ name: 'stop_time', value: 200, units: 'ms', limits: 'LT 200', outcome: 'FAIL' },
    'stop time 200 ms at limit 200 ms'],
  [{ name: 'peak_force', value: 0.2, units: 'N', limits: 'GE 0.3', outcome: 'FAIL' },
    'peak force 0.2 N below limit 0.3 N'],
  [{ name: 'cartridge_needles', value: 0, units: '', limits: 'EQ 14', outcome: 'FAIL' },
    'cartridge needles 0, expected 14'],
  [{ name: 'model', value: 'X', units: '', limits: 'STREQ "MNP-A"', outcome: 'FAIL' },
    'model "X" does not meet STREQ "MNP-A"'],
  [{ name: 'depth', value: null, units: 'mm', limits: 'GELE [0.85, 1.15]', outcome: 'FAIL', note: 'no strokes' },
    'depth: no value (no strokes)'],
];
for (const [m, want] of cases) assert.equal(failureWords(m), want);
assert.deepEqual(limitsOf({ limits: 'GELE [0.85, 1.15]' }), { cmp: 'GELE', low: 0.85, high: 1.15 });
assert.deepEqual(limitsOf({ limits: 'LE 2' }), { cmp: 'LE', low: 2, high: null });
assert.equal(num(1.23456), '1.235');
assert.equal(lim(142.5), '142.5'); // a limit is never rounded (was "143")
assert.equal(lim(0.000123456789), '0.000123457');
assert.equal(num(null), '—');
assert.equal(pct(0.9167), '91.7 %');
assert.equal(duration(75), '1 min 15 s');
console.log(`format: ${cases.length} failure texts and helpers as expected`);
