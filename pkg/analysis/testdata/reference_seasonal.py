#!/usr/bin/python3
"""Independent reference for Vigil's seasonal detector (pkg/analysis/seasonal.go).

Run from the repository root with Debian's python3-numpy:

    /usr/bin/python3 pkg/analysis/testdata/reference_seasonal.py > pkg/analysis/testdata/reference_seasonal.json

The rules, restated from the detector's documentation and implemented here
with numpy's median (no code shared with the Go side):

- a window starting at t = end - width has position (t mod season) // width
  (Python's % is already the floor modulo), positions = ceil(season / width);
- a position judges once it holds min(3, seasons) admitted means: expected is
  their median, spread 1.4826 * median(|x - median|) over its last `seasons`
  admitted means;
- otherwise the fallback judges once it holds F = clamp(positions, 24, 1440)
  admitted means: expected = their median, spread = the root mean square
  of their deviations from it (scaled by the largest, against overflow);
- otherwise the window is not judged and is admitted;
- spread = max(spread, sqrt(mean(r**2))) over r = |x - median of the
  position's values| of the last F admitted windows whose position held at
  least one value (computed as max(r) * sqrt(mean((r / max(r))**2)) so that
  residuals near 1e300 do not overflow);
- score = |x - e| / (threshold * spread) (0 when x == e, inf when the spread
  is 0), band e -/+ threshold * spread; a judged window is admitted when
  score <= 1;
- when more than F of the last 2F consecutive windows (k = (end - width) //
  width; a gap empties the list) were not admitted, everything is
  forgotten and the last F windows are admitted again, in order, as seeds.

Inputs are generated here (seeded numpy); every window's output is written
with repr() floats as strings so that inf survives JSON.
"""
import json
import math
import sys

import numpy as np

NS = 1_000_000_000
HOUR = 3600 * NS
DAY = 24 * HOUR
WEEK = 7 * DAY


def reference(season, width, seasons, threshold, windows):
    positions = -(-season // width)
    f = min(max(positions, 24), 1440)
    minv = min(3, seasons)
    hist = {}
    recent = []
    resid = []
    record = []  # (k, position, mean, not kept) of the last 2F consecutive windows
    out = []
    for end, w, mean, _n in windows:
        p = ((end - w) % season) // width
        h = hist.setdefault(p, [])
        judged = True
        if len(h) >= minv:
            base = np.array(h)
            e = float(np.median(base))
            s = 1.4826 * float(np.median(np.abs(base - e)))
        elif len(recent) == f:
            base = np.array(recent)
            e = float(np.median(base))
            dev = np.abs(base - e)
            s = float(dev.max() * np.sqrt(np.mean((dev / dev.max()) ** 2))) if dev.max() > 0 else 0.0
        else:
            judged = False
        if not judged:
            out.append({"ok": False})
            admit = True
        else:
            r = np.array(resid)
            if r.size and r.max() > 0:
                s = max(s, float(r.max() * np.sqrt(np.mean((r / r.max()) ** 2))))
            d = abs(mean - e)
            score = 0.0 if d == 0 else (math.inf if s == 0 else d / (threshold * s))
            out.append({"ok": True, "expected": repr(e), "lower": repr(e - threshold * s),
                        "upper": repr(e + threshold * s), "score": repr(score)})
            admit = score <= 1
        if admit and h:
            resid.append(abs(mean - float(np.median(h))))
            del resid[:-f]
        if admit:
            h.append(mean)
            del h[:-seasons]
            recent.append(mean)
            del recent[:-f]
        k = (end - w) // width
        if record and k != record[-1][0] + 1:
            record = []
        record.append((k, p, mean, not admit))
        del record[:-2 * f]
        if sum(rej for _, _, _, rej in record) > f:
            hist, recent, resid = {}, [], []
            for _, rp, x, _ in record[-f:]:
                hist.setdefault(rp, []).append(x)
                del hist[rp][:-seasons]
                recent.append(x)
            record = []
    return out


def scenario(name, season, width, seasons, threshold, ends, means, ns):
    windows = [(int(e), int(width), float(m), int(n)) for e, m, n in zip(ends, means, ns)]
    return {
        "name": name, "season": season, "width": width, "seasons": seasons, "threshold": threshold,
        "windows": [{"end": e, "width": w, "mean": repr(m), "n": n} for e, w, m, n in windows],
        "out": reference(season, width, seasons, threshold, windows),
    }


def main():
    rng = np.random.default_rng(20261207)
    cases = []

    # Daily profile of hourly windows, noise, random missing windows, a
    # three-hour gap, n = 1 windows, and a spike that must stay out.
    t0 = 1_700_000_000 // 3600 * HOUR
    k = np.arange(14 * 24)
    ends = t0 + (k + 1) * HOUR
    means = 10 + 5 * np.sin(2 * np.pi * k / 24) + rng.normal(0, 0.5, k.size)
    means[9 * 24 + 5] += 40
    means[10 * 24 + 5] += 40  # the same position a day later: still anomalous
    ns = rng.integers(1, 4, k.size)
    keep = rng.random(k.size) > 0.05
    keep[200:203] = False
    cases.append(scenario("daily_hourly_gaps_spike", DAY, HOUR, 5, 3.0, ends[keep], means[keep], ns[keep]))

    # Quantized counts (many ties: MAD 0 at most positions), 15-minute windows.
    width = 15 * 60 * NS
    k = np.arange(8 * 96)
    ends = t0 + (k + 1) * width
    lam = 2 + 1.5 * (1 + np.sin(2 * np.pi * k / 96))
    means = rng.poisson(lam).astype(float)
    means[6 * 96 + 40] = 30
    cases.append(scenario("quantized_counts", DAY, width, 3, 3.0, ends, means, np.ones(k.size, int)))

    # Constant, then a step: spread 0 scores the step inf, and it stays out.
    width = 2 * HOUR
    k = np.arange(6 * 12)
    ends = t0 + (k + 1) * width
    means = np.full(k.size, 7.25)
    means[60:] = 8.0
    cases.append(scenario("constant_then_step", DAY, width, 4, 3.0, ends, means, np.ones(k.size, int)))

    # Huge values.
    k = np.arange(6 * 24)
    ends = t0 + (k + 1) * HOUR
    means = 1e300 * (1 + 0.5 * np.sin(2 * np.pi * k / 24) + rng.normal(0, 0.01, k.size))
    means[5 * 24 + 3] = -1e300
    cases.append(scenario("huge_values", DAY, HOUR, 3, 3.0, ends, means, np.full(k.size, 60)))

    # Long weekly run of 6-hour windows (28 positions, rings roll many times).
    width = 6 * HOUR
    k = np.arange(40 * 28)
    ends = t0 + (k + 1) * width
    means = 100 + 20 * np.sin(2 * np.pi * k / 28) + 10 * (k % 28 >= 20) + rng.standard_t(4, k.size)
    means[30 * 28 + 7] -= 60
    cases.append(scenario("weekly_long_run", WEEK, width, 4, 3.5, ends, means, rng.integers(1, 400, k.size)))

    # Seven-hour windows over a day (width does not divide the season) before
    # the epoch (negative times: the floor modulo).
    width = 7 * HOUR
    k = np.arange(-400, -400 + 300)
    ends = (k + 1) * width
    tod = ((k * width) % DAY) / DAY
    means = 3 * np.cos(2 * np.pi * tod) + rng.normal(0, 0.2, k.size)
    cases.append(scenario("seven_hours_before_epoch", DAY, width, 6, 2.5, ends, means, np.ones(k.size, int)))

    # A daily square wave, low 15 hours of 24 (the fallback's median is the
    # low level: a MAD would be 0 there and reject every high window), with
    # quantized noise from day 6: the profile was exact until then (spread
    # 0), so the noise scores inf and stays out.
    k = np.arange(9 * 24)
    ends = t0 + (k + 1) * HOUR
    means = np.where((k % 24) >= 15, 80.0, 20.0) + np.where(k >= 5 * 24, rng.integers(0, 2, k.size), 0)
    cases.append(scenario("square_wave", DAY, HOUR, 4, 3.0, ends, means, np.ones(k.size, int)))

    # A lasting level shift (with a gap inside its alarms): after more than F
    # alarms among 2F consecutive windows the baseline starts again.
    k = np.arange(12 * 24)
    ends = t0 + (k + 1) * HOUR
    means = 5 + np.sin(2 * np.pi * k / 24) + rng.normal(0, 0.1, k.size) + np.where(k >= 6 * 24 + 7, 10.0, 0.0)
    keep = np.ones(k.size, bool)
    keep[6 * 24 + 20] = False
    cases.append(scenario("level_shift_restart", DAY, HOUR, 3, 3.0, ends[keep], means[keep], np.ones(keep.sum(), int)))

    json.dump({"numpy": np.__version__, "cases": cases}, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
