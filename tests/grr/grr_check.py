#!/usr/bin/env python3
"""Checks a gauge study run on rigsim (grr_sim.sh) against what rigsim is
configured with and its ground truth.

  grr_check.py ANALYSE.json TRUTH.jsonl STATION.db PARTS OPERATORS TRIALS

What the study should find, and why each bound (a bound is wide enough
that a correct analysis fails it less than about once in a thousand
studies, and tight enough that a wrong one -- EV and AV swapped, PV off by
a factor, the mount spread left out -- fails it):

- EV (repeatability): every run is a new mount (grr_mount.sh), so a run's
  depth reading carries the mount's displacement zero (msa.json
  mount.disp_zero_sd_um = 3 um) and the mean stroke noise of its 30
  strokes (pen.depth_noise_mm 5 um / sqrt(30) = 0.9 um): expected
  sigma = sqrt(3^2 + 0.9^2) = 3.14 um. The estimate has the ANOVA's error
  degrees of freedom df; EV/sigma lies within sqrt(chi2(df)/df) at
  0.05 % and 99.95 % (Wilson-Hilferty) -- with 14 df, 0.36..1.63.
- AV (reproducibility): rigsim has no operator effect (sessions only
  re-seed the noise and mounts), so AV is 0 up to its estimate's noise:
  MS(operator) ~ sigma^2 chi2(O-1)/(O-1) + ..., so AV^2 <= q sigma^2 /
  (parts x trials) with q the 99.9 % point of chi2(O-1)/(O-1).
- PV (part variation) against the parts' true spread: the sample s.d. of
  the depth biases of the units (ground truth "unit" lines, one seed per
  part). Measurement noise on a part's mean (sigma/sqrt(O T) = 1.6 um for
  2 x 2) moves PV by a few % of a ~40 um spread: within 10 % + 2 um.
- ndc >= 5 when the true spread is above 10 um (PV/GRR > 3.5 then).
- The database: every cell measured once, by the run of its part's serial
  and its operator's name, the run's row and record naming the study, part
  and trial; each trial round a permutation of the parts; the ERROR run
  of cell 3 counted and its study fields on it too.
"""
import json
import math
import sqlite3
import sys

analyse, truth, db = sys.argv[1:4]
P, O, T = (int(v) for v in sys.argv[4:7])
res = {r["measurement"]: r for r in json.load(open(analyse))["results"]}
assert "depth" in res, f"no depth in the analysis: {list(res)}"
d = res["depth"]
assert d["units"] == "mm", d["units"]
comp = d["components"]
ev, av, pv = (comp[k]["sd"] * 1000 for k in ("ev", "av", "pv"))  # um

bench = json.load(open(sys.argv[0].rsplit("/", 3)[0] + "/fixtures/benches/msa.json"))
sigma = math.hypot(bench["mount"]["disp_zero_sd_um"],
                   bench["pen"]["depth_noise_mm"] * 1000 / math.sqrt(30))

units, zeros = {}, []
for line in open(truth):
    e = json.loads(line)
    if e.get("event") == "unit" and "serial" in e:
        units.setdefault(e["serial"], set()).add(e["depth_bias_mm"])
    if e.get("event") == "mount":
        zeros.append(e["disp_zero_um"])
parts = [f"PG-{i:07d}" for i in range(1, P + 1)]
for s in parts:
    assert s in units, f"no unit line for {s}"
    assert len(units[s]) == 1, f"{s} was not the same unit every time: {units[s]}"
bias = [next(iter(units[s])) * 1000 for s in parts]
mb = sum(bias) / P
true_sd = math.sqrt(sum((b - mb) ** 2 for b in bias) / (P - 1))

an = d["anova"]
df = an["repeatability"]["df"] + (an["interaction"]["df"] if an["interaction_pooled"] else 0)


def chi2_ratio(q_z, n):
    """chi2(n)/n at the normal quantile q_z (Wilson-Hilferty)."""
    c = 2 / (9 * n)
    return (1 - c + q_z * math.sqrt(c)) ** 3


lo, hi = math.sqrt(chi2_ratio(-3.29, df)), math.sqrt(chi2_ratio(3.29, df))
q_av = {1: 10.83, 2: 6.91, 3: 5.42, 4: 4.62}.get(O - 1, 4.0)
av_max = math.sqrt(q_av * sigma ** 2 / (P * T))
print(f"grr_check: EV {ev:.2f} um (expected {sigma:.2f}, bounds {lo * sigma:.2f}..{hi * sigma:.2f},"
      f" df {df:.0f}); AV {av:.2f} um (<= {av_max:.2f}); PV {pv:.2f} um, true spread"
      f" {true_sd:.2f} um; GRR {comp['grr']['sd'] * 1000:.2f} um, %GRR tol"
      f" {comp['grr']['pct_tolerance']:.2f} %, %GRR TV {comp['grr']['pct_tv']:.2f} %, ndc {d['ndc']};"
      f" interaction {'pooled' if an['interaction_pooled'] else 'kept'} (p {an['interaction']['p']:.3f});"
      f" mounts {len(zeros)}, their zero s.d."
      f" {math.sqrt(sum(z * z for z in zeros) / max(1, len(zeros))):.2f} um")
ok = True
if not lo * sigma <= ev <= hi * sigma:
    print(f"grr_check: EV {ev:.2f} um outside {lo * sigma:.2f}..{hi * sigma:.2f}")
    ok = False
if av > av_max:
    print(f"grr_check: AV {av:.2f} um above {av_max:.2f} um (rigsim has no operator effect)")
    ok = False
if abs(pv - true_sd) > 0.1 * true_sd + 2:
    print(f"grr_check: PV {pv:.2f} um is not the parts' true spread {true_sd:.2f} um")
    ok = False
if true_sd > 10 and d["ndc"] < 5:
    print(f"grr_check: ndc {d['ndc']} < 5 with a true spread of {true_sd:.1f} um")
    ok = False
if abs(d["tolerance"] - 0.3) > 1e-9:
    print(f"grr_check: tolerance {d['tolerance']}, expected 0.3 mm (depth 1.0 +- 0.15)")
    ok = False

con = sqlite3.connect(db)
st = con.execute("SELECT part_serials, operator_names FROM studies WHERE id = 'S1'").fetchone()
serials, names = json.loads(st[0]), json.loads(st[1])
rows = con.execute(
    "SELECT s.pos, s.trial, s.operator, s.part, s.errors, r.dut_serial, r.operator, r.outcome,"
    " r.study_id, r.study_part, r.study_trial, r.record_path"
    " FROM study_runs s LEFT JOIN runs r ON r.id = s.run_id WHERE s.study_id = 'S1'"
    " ORDER BY s.pos").fetchall()
assert len(rows) == P * O * T, len(rows)
rounds = {}
for pos, trial, op, part, errors, dut, oper, outcome, sid, spart, strial, rec in rows:
    # the run itself (its record, its database row) says study, part, trial
    assert (sid, spart, strial) == ("S1", part, trial), f"cell {pos}: run says {sid} {spart} {strial}"
    study = json.load(open(rec))["study"]
    assert study == {"id": "S1", "part": part, "trial": trial}, f"cell {pos}: record {study}"
    assert dut == serials[part - 1], f"cell {pos}: run of {dut}, part {part} is {serials[part - 1]}"
    assert oper == names[op - 1], f"cell {pos}: operator {oper}, expected {names[op - 1]}"
    assert outcome in ("PASS", "FAIL"), f"cell {pos}: {outcome}"
    rounds.setdefault((trial, op), []).append(part)
for k, ps in rounds.items():
    assert sorted(ps) == list(range(1, P + 1)), f"round {k}: {ps}"
assert len({tuple(v) for v in rounds.values()}) > 1, "every round has the same order"
if (P, O, T) == (5, 2, 2):
    errs = [r[4] for r in rows]
    # cell 3's injected ERROR; on a loaded machine others may end ERROR
    # too (rigd starved: the pen's watchdog), and are counted likewise
    assert errs[2] >= 1, f"errors per cell {errs}: expected one on cell 3"
    bad = con.execute("SELECT study_id, study_part, study_trial FROM runs"
                      " WHERE outcome IN ('ERROR', 'ABORTED', 'TIMEOUT')").fetchall()
    assert len(bad) == sum(errs), f"{len(bad)} ERROR runs, {sum(errs)} counted"
    assert ("S1", rows[2][3], 1) in bad, f"the ERROR runs: {bad}"
    cell_of = {(r[3], r[1]) for r in rows if r[4]}
    assert all(b[0] == "S1" and (b[1], b[2]) in cell_of for b in bad), f"ERROR runs {bad}"
sys.exit(0 if ok else 1)
