#!/usr/bin/python3
"""Independent re-analysis of run records' captures with numpy and scipy.

    numpy_analysis.py [--repeat N] [--quiet] RECORD.json ...

The same measurements as rig/core/analysis.c (docs/FILES.md "Analysis"),
written again from the document with numpy's vector operations and scipy's
least squares, not translated from the C: stroke levels, strokes and their
instants (half a swing below each stroke's own peak), stroke rate over the
steady strokes, protrusion per stroke (parabola vertex), force zero, peak
force (elastic rise in the needles' position + raised-cosine tear), spin-up
and stop time (first-order rotor fit of the tracked cam phase).

Two uses: a cross-check (each value against the record's, so an error in
one implementation shows as a disagreement) and a speed reference for
bench_analysis (both analyse the same captures; this prints samples/s).
Exit 0 always (figures, not a test), 2 on bad usage.
"""
import json
import os
import struct
import sys
import time

import numpy as np
from scipy.optimize import least_squares

NO_TARGET = -(2 ** 31)


def read_capture(path):
    with open(path, "rb") as f:
        b = f.read()
    if b[:8] != b"RIGCAP\0\1":
        raise ValueError(f"{path}: not a capture file")
    _version, header = struct.unpack_from("<II", b, 8)
    (rate,) = struct.unpack_from("<d", b, 16)
    _first, count = struct.unpack_from("<QQ", b, 24)
    frames = np.frombuffer(b, dtype="<i4", count=2 * count, offset=header).reshape(-1, 2)
    return frames[:, 0].astype(np.float64), frames[:, 1].astype(np.float64), rate


def segment(d, lo, hi):
    """Rising and falling comparator edges (indices), hysteresis 20 % of the swing."""
    mid, band = (lo + hi) / 2, 0.2 * (hi - lo)
    state = np.where(d > mid + band, 1, np.where(d < mid - band, -1, 0))
    idx = np.where(state != 0, np.arange(len(d)), 0)
    np.maximum.accumulate(idx, out=idx)
    held = state[idx]
    change = np.flatnonzero(np.diff(held) != 0) + 1
    ups = [i for i in change if held[i] == 1 and held[i - 1] == -1]
    downs = [i for i in change if held[i] == -1 and held[i - 1] == 1]
    return np.array(ups, dtype=int), np.array(downs, dtype=int)


def levels(d):
    """Medians of the strokes' tops and bottoms (from percentile-armed segmentation)."""
    lo, hi = np.percentile(d, [2, 98])
    ups, downs = segment(d, lo, hi)
    tops = [d[u:dn].max() for u in ups for dn in downs[downs > u][:1]]
    bottoms = [d[dn:u].min() for dn in downs for u in ups[ups > dn][:1]]
    if len(tops) >= 3 and len(bottoms) >= 3:
        return float(np.median(bottoms)), float(np.median(tops))
    return float(lo), float(hi)


def crossing(d, level, i0, i1, rising):
    """Fractional index where d crosses level between samples i0..i1 (monotone edge)."""
    seg = d[i0:i1 + 1]
    k = np.flatnonzero(seg > level) if rising else np.flatnonzero(seg < level)
    if len(k) == 0 or k[0] == 0:
        return np.nan
    j = i0 + k[0]
    y0, y1 = d[j - 1], d[j]
    return (j - 1) + (level - y0) / (y1 - y0)


def parabola_top(d, p, k):
    x = np.arange(max(p - k, 0), min(p + k, len(d) - 1) + 1)
    a, b, c = np.polyfit(x - p, d[x], 2)
    if a >= 0 or abs(-b / (2 * a)) > k:
        return float(p), float(d[p])
    xv = -b / (2 * a)
    return p + xv, c - b * b / (4 * a)


def tear_peak(f, d, lo_i, hi_i, turn, fs):
    """Puncture peak force of one stroke (force samples lo_i..hi_i)."""
    w = f[lo_i:hi_i + 1]
    m = lo_i + int(np.argmax(w))
    amp = f[m] - w[: m - lo_i + 1].min()
    tmax = max(1.0, 0.0005 * fs)
    ahead = f[m + 1:min(hi_i, m + int(np.ceil(tmax))) + 1]
    if amp <= 0 or len(ahead) == 0 or f[m] - ahead.min() < 0.15 * amp:
        return float(f[m])
    best = (np.inf, float(f[m]))
    for r_end in (m, m - 1):
        # rise: up to 5 climbing samples above a tenth of the rise, linear in position
        n = 1
        while n < 5 and r_end - n >= lo_i and f[r_end - n] < f[r_end - n + 1] and \
                f[r_end - n] > f[m] - 0.9 * amp:
            n += 1
        if n < 2 or r_end + 1 > hi_i:
            continue
        xs = d[r_end - n + 1:r_end + 1] - d[r_end]
        slope, icept = np.polyfit(xs, f[r_end - n + 1:r_end + 1], 1)
        dm, dp = d[r_end - 1] - d[r_end], d[r_end + 1] - d[r_end]
        q1, q2 = (dp - dm) / 2, (dp + dm) / 2

        def rise(t):
            return icept + slope * (q1 * t + q2 * t * t)

        js = []
        for j in range(r_end + 1, hi_i + 1):
            if len(js) >= 6 or j >= turn or (j > r_end + 1 and f[j] > f[j - 1]) or j - r_end > tmax + 1:
                break
            js.append(j)
        if len(js) < 2:
            continue
        x_all, y_all = np.array(js, float) - r_end, f[js]

        def resid(p, x, y):
            tp, T, P = p
            u = np.clip((x - tp) / T, 0, 1)
            return y - (P + (rise(tp) - P) * np.cos(np.pi * u / 2) ** 2)

        p0 = [0.5, np.clip(0.0002 * fs, 0.3, tmax), y_all[-1]]
        x, y = x_all, y_all
        for _ in range(4):     # fit; keep the samples half a sample inside the tear; refit
            sol = least_squares(resid, p0, args=(x, y), bounds=([0, 0.3, -np.inf], [1, tmax, np.inf]))
            keep = max(3, int(np.sum(x_all - sol.x[0] <= sol.x[1] - 0.5)))
            keep = min(keep, len(x_all))
            p0 = sol.x
            if keep == len(x):
                break
            x, y = x_all[:keep], y_all[:keep]
        cost = np.mean(resid(sol.x, x, y) ** 2)
        if cost < best[0]:
            best = (cost, max(float(rise(sol.x[0])), float(f[m])))
    return best[1]


def track(d, lo, hi, fs, i0, i1):
    """Cam phase (revolutions) from the position; the rotor only turns forward."""
    span = hi - lo
    step = max(1, int(fs / (160 * 25)))
    idx = np.arange(i0, i1, step)
    th = np.arccos(np.clip(2 * (hi - d[idx]) / span - 1, -1, 1))
    best = None
    for falling in (False, True):
        u = np.empty(len(th))
        u[0] = 2 * np.pi - th[0] if falling else th[0]
        for k in range(1, len(th)):      # forward-only continuation
            at = u[k - 1] % (2 * np.pi)
            f1 = (th[k] - at) % (2 * np.pi)
            f2 = (2 * np.pi - th[k] - at) % (2 * np.pi)
            fwd = min(f1, f2)
            u[k] = u[k - 1] + (fwd if fwd < np.pi / 2 else 0)
        if best is None or u[-1] - u[0] > best[1][-1] - best[1][0]:
            best = (idx / fs, u)
    t, u = best
    keep = max(1, len(t) // 400 + 1)
    return t[::keep], u[::keep] / (2 * np.pi)


def rotor_fit(t, rev, t_from, spinup, rate=None):
    def shape(p):
        tc, tau = p[0], p[1]
        x = t - tc
        e = np.exp(-np.clip(x, 0, None) / tau)
        return np.where(x <= 0, 0 if spinup else x, x - tau * (1 - e) if spinup else tau * (1 - e))

    def resid(p):
        F = rate if rate else p[2]
        C = p[-1]
        return rev + C - F * shape(p)

    best = None
    for tc0 in np.linspace(t_from, min(t[-1], t_from + 0.1), 6):
        for tau0 in (0.005, 0.015, 0.04):
            p0 = [tc0, tau0] + ([] if rate else [100.0]) + [0.0]
            lo = [t_from, 0.0005] + ([] if rate else [0]) + [-np.inf]
            hi = [t[-1], 0.5] + ([] if rate else [1000]) + [np.inf]
            s = least_squares(resid, p0, bounds=(lo, hi))
            if best is None or s.cost < best.cost:
                best = s
    p = best.x
    return p[0], p[1], rate if rate else p[2]


def analyse(f, d, fs, start, stop, set_rate):
    out = {}
    lo, hi = levels(d)
    ups, downs = segment(d, lo, hi)
    swing = hi - lo
    strokes = []
    prev_fall = None
    for u in ups:
        after = downs[downs > u]
        if len(after) == 0:
            break
        dn = after[0]
        p = u + int(np.argmax(d[u:dn]))
        k = int(np.clip(round(2 * (dn - u) * 0.02), 2, 64))
        peak_pos, top = parabola_top(d, p, k)
        back = max(prev_fall if prev_fall is not None else u - (dn - u), 0)
        rise = crossing(d, top - swing / 2, back, p, True)
        force = np.nan
        if prev_fall is not None or u >= dn - u:
            force = tear_peak(f, d, back, dn, peak_pos, fs)
        strokes.append((rise, peak_pos, top, force))
        prev_fall = dn
    s = np.array(strokes) if strokes else np.zeros((0, 4))
    a, b = 0, len(s)
    if start >= 0:
        a = int(np.sum(s[:, 0] < start))
    if stop >= 0:
        b = int(np.sum(s[:, 1] < stop))
        i0 = max(0, stop - int(0.05 * fs))
        t, rev = track(d, lo, hi, fs, i0, len(d))
        c = np.searchsorted(t, stop / fs)
        limit = rev[c] + 0.9 * (rev[-1] - rev[c])
        m = int(np.searchsorted(rev, limit, side="right"))
        tc, tau, F = rotor_fit(t[:m], rev[:m], stop / fs, False)
        out["stop_ms"] = tau * np.log(20) * 1000
    if start >= 0 and set_rate > 0:
        t, rev = track(d, lo, hi, fs, start, min(len(d), start + int(0.3 * fs)))
        tc, tau, F = rotor_fit(t, rev, start / fs, True)
        end = tc + max(6 * tau, 0.02)
        m = int(np.searchsorted(t, end))
        t2, rev2 = track(d, lo, hi, fs, start, min(len(d), int(end * fs)))
        tc, tau, F = rotor_fit(t2, rev2, start / fs, True, rate=F)
        target = 0.95 * set_rate
        up = -tau * np.log(1 - target / F) if F > target else np.nan
        out["spinup_ms"] = up * 1000
        steady = (tc + up) * fs
        a = max(a, int(np.sum(s[:, 0] < steady)))
    st = s[a:b]
    if len(st) >= 2:
        out["stroke_rate_hz"] = fs * (len(st) - 1) / (st[-1, 0] - st[0, 0])
    if len(st):
        out["depth_mean_mm"] = float(np.mean(st[:, 2])) / 1e6
        retracted = f[(d < -100000) & (d != NO_TARGET)]
        zero = float(np.median(retracted[:: max(1, len(retracted) // 2048)])) if len(retracted) >= 16 else 0.0
        forces = st[:, 3][np.isfinite(st[:, 3])]
        if len(forces):
            out["peak_force_mean_n"] = (float(np.mean(forces)) - zero) / 1e6
    return out


def main(argv):
    repeat, quiet, files = 1, False, []
    it = iter(argv)
    for arg in it:
        if arg == "--repeat":
            repeat = int(next(it))
        elif arg == "--quiet":
            quiet = True
        elif arg.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
        else:
            files.append(arg)
    if not files:
        print(__doc__, file=sys.stderr)
        return 2
    total_samples, total_time = 0, 0.0
    worst = {}
    for rec_path in files:
        rec = json.load(open(rec_path))
        base = os.path.dirname(rec_path)
        for step in rec.get("steps", []):
            cap = step.get("capture") or {}
            if "file" not in cap:
                continue
            f, d, fs = read_capture(os.path.join(base, cap["file"]))
            sp = step.get("setpoints") or {}
            t0 = time.perf_counter()
            for _ in range(repeat):
                got = analyse(f, d, fs, cap.get("start_index", -1), cap.get("stop_index", -1),
                              sp.get("rate_hz") or 0)
            dt = (time.perf_counter() - t0) / repeat
            total_samples += len(d)
            total_time += dt
            an = cap.get("analysis", {})
            cells = []
            for key, val in got.items():
                ref = an.get(key)
                if ref is None or not np.isfinite(val):
                    continue
                diff = val - ref
                rel = diff / ref * 100 if key not in ("spinup_ms", "stop_ms") else diff
                unit = "ms" if key in ("spinup_ms", "stop_ms") else "%"
                worst[key] = max(worst.get(key, 0.0), abs(rel))
                cells.append(f"{key} {rel:+.4f} {unit}")
            if not quiet:
                print(f"{cap['file']}: {len(d)} samples, {dt * 1e3:.1f} ms; vs record: " + ", ".join(cells))
    print(f"numpy/scipy: {total_samples} samples in {total_time:.3f} s: {total_samples / total_time:.3e} samples/s")
    print("largest disagreement with the records: " +
          ", ".join(f"{k} {v:.4f} {'ms' if k.endswith('_ms') else '%'}" for k, v in sorted(worst.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
