#!/usr/bin/python3
"""Independent reference for Vigil's zscore and mad detectors (pkg/analysis
zscore.go, mad.go), with numpy and scipy.

Run from the repository root with Debian's python3-numpy and python3-scipy:

    /usr/bin/python3 pkg/analysis/testdata/reference_robust.py > pkg/analysis/testdata/reference_robust.json

The rules, restated here from the detectors' documentation (not ported):

- a series arrives as windows in time order (gaps: missing windows);
- the baseline is the admitted data: in points mode the last `history`
  admitted points; in windows mode the newest whole admitted windows, oldest
  dropped while they hold more than `history` points (the newest always
  stays); for mad in windows mode each window is one value, its mean, and
  the baseline is the last `history` of them;
- a window is judged once the baseline holds need = max(2, min(30,
  ceil(history/2))) points; otherwise it enters unjudged;
- zscore: expected = numpy mean, spread = numpy std(ddof=1) of the
  baseline's points; mad: expected = numpy median, spread =
  scipy.stats.median_abs_deviation(scale='normal');
- score = |window mean - expected| / (threshold * spread): 0 when equal, inf
  when the spread is 0; band = expected -/+ threshold * spread;
- a judged window enters only when its score <= 1.

Inputs are generated here (seeded numpy PCG64) and written with their
outputs: per case the windows (end, points rounded to 7 significant digits,
and numpy's count, mean and M2 of those points) and per run (detector, mode)
every window's verdict, floats as repr strings (null when not judged).
"""
import json
import math
import sys

import numpy as np
from scipy.stats import median_abs_deviation

MIN_BASELINE = 30


def need(history):
    return max(2, min(MIN_BASELINE, math.ceil(history / 2)))


def scaled_mean_std(b):
    """numpy mean and std(ddof=1), on the values scaled by a power of two
    when their squares could overflow (exact: a power-of-two scaling)."""
    big = float(np.max(np.abs(b)))
    if big < 1e150:
        return float(np.mean(b)), float(np.std(b, ddof=1))
    e = math.frexp(big)[1]
    s = b * 2.0 ** -e
    return math.ldexp(float(np.mean(s)), e), math.ldexp(float(np.std(s, ddof=1)), e)


def verdict(x, expected, spread, k):
    d = abs(x - expected)
    if d == 0:
        score = 0.0
    elif spread == 0:
        score = math.inf
    else:
        score = d / (k * spread)
    return expected, expected - k * spread, expected + k * spread, score


def run(windows, detector, mode, history, k):
    """Replays windows (lists of points) and returns the verdicts."""
    admitted = []  # points mode: points; windows mode: per window its points (zscore) or mean (mad)
    out = []
    for vals in windows:
        x = float(np.mean(vals))
        if mode == "points":
            base = np.array(admitted[-history:])
        elif detector == "zscore":
            base = np.concatenate(admitted) if admitted else np.array([])
        else:
            base = np.array(admitted[-history:])
        v = None
        if len(base) >= need(history):
            if detector == "zscore":
                e, s = scaled_mean_std(base)
            else:
                e = float(np.median(base))
                s = float(median_abs_deviation(base, scale="normal"))
            v = verdict(x, e, s, k)
        out.append(None if v is None else [repr(float(f)) for f in v])
        if v is not None and not v[3] <= 1:
            continue
        if mode == "points":
            admitted.extend(vals)
            del admitted[:-history]
        elif detector == "zscore":
            admitted.append(np.array(vals))
            while sum(len(w) for w in admitted) > history and len(admitted) > 1:
                admitted.pop(0)
        else:
            admitted.append(x)
            del admitted[:-history]
    return out


def round7(a):
    return [float("%.7g" % v) for v in a]


def make_cases():
    rng = np.random.Generator(np.random.PCG64(20261207))
    cases = []

    def add(name, history, k, windows, ends=None, modes=("points", "windows"), detectors=("zscore", "mad")):
        windows = [round7(w) for w in windows]
        if ends is None:
            ends = list(range(1, len(windows) + 1))
        cases.append(dict(name=name, history=history, threshold=k, ends=ends, windows=windows,
                          runs=[(d, m) for d in detectors for m in modes]))

    # One point per window, spikes and a level shift that must stay out, gaps.
    w = [[v] for v in rng.normal(10, 2, 600)]
    for i in (200, 350):
        w[i] = [w[i][0] + 15]
    for i in range(450, 470):
        w[i] = [w[i][0] + 9]
    ends = [i + 1 + (i >= 300) * 50 + (i >= 500) * 7 for i in range(600)]
    add("gauss_1pt_gaps", 100, 3, w, ends)

    # 60 points per window, a history cutting into the oldest window, a
    # shifted window and a spike inside a window.
    w = [list(rng.normal(10, 2, 60)) for _ in range(200)]
    w[120] = [v + 8 for v in w[120]]
    w[150][7] += 400
    add("gauss_60pt_cut", 250, 3, w)

    # Windows of 1 to 7 points, gaps, a low threshold.
    w = [list(rng.normal(-3, 0.5, rng.integers(1, 8))) for _ in range(400)]
    for i in (100, 101, 300):
        w[i] = [v - 4 for v in w[i]]
    ends = sorted(rng.choice(1000, 400, replace=False).tolist())
    add("varying_n_gaps", 40, 2.5, w, ends)

    # A constant series with a step that must stay out (score +Inf).
    w = [[7.0] * 3 for _ in range(120)]
    for i in range(60, 66):
        w[i] = [8.0] * 3
    w[90] = [7.0, 7.0, 10.0]
    add("constant_step", 50, 3, w)

    # A constant seed, then noise: every later window is +Inf or 0.
    w = [[5.0] for _ in range(40)] + [[5.0 + v] for v in rng.normal(0, 1, 40)]
    add("constant_then_noise", 30, 3, w)

    # Tiny histories: 2 points (the least), 7 with 3-point windows.
    w = [[v] for v in rng.normal(0, 1, 80)]
    add("history_2", 2, 3, w)
    w = [list(rng.normal(100, 1, 3)) for _ in range(120)]
    w[70] = [v + 10 for v in w[70]]
    add("history_7_cut", 7, 3, w)

    # A long run: 15,000 points, a slow drift, history 3600.
    t = np.arange(15000)
    x = 50 + 3 * np.sin(2 * np.pi * t / 5000) + rng.normal(0, 5, len(t))
    x[7000:7010] += 60
    add("long_drift", 3600, 3.5, [list(x[i:i + 10]) for i in range(0, len(x), 10)])

    # Huge values: squares overflow; points mode only (window M2s are inf).
    w = [list(1e300 * (1 + 0.01 * rng.normal(0, 1, 5))) for _ in range(150)]
    w[100] = [v * 1.2 for v in w[100]]
    add("huge", 200, 3, w, modes=("points",))
    return cases


def main():
    out = []
    for c in make_cases():
        wins = []
        for end, vals in zip(c["ends"], c["windows"]):
            a = np.array(vals)
            m = float(np.mean(a))
            with np.errstate(over="ignore"):  # the huge case's M2 is inf
                m2 = float(np.sum((a - m) ** 2))
            wins.append(dict(end=end, values=vals, n=len(vals), mean=repr(m), m2=repr(m2)))
        runs = [dict(detector=d, mode=m, verdicts=run(c["windows"], d, m, c["history"], c["threshold"]))
                for d, m in c["runs"]]
        out.append(dict(name=c["name"], history=c["history"], threshold=c["threshold"],
                        windows=wins, runs=runs))
    json.dump(dict(numpy=np.__version__, min_baseline=MIN_BASELINE, cases=out), sys.stdout,
              separators=(",", ":"))


if __name__ == "__main__":
    main()
