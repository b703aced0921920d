#!/usr/bin/python3
"""Independent reference for Vigil's Holt-Winters detector (pkg/analysis/holtwinters.go).

Run from the repository root with Debian's python3-numpy and python3-statsmodels:

    /usr/bin/python3 pkg/analysis/testdata/reference_holtwinters.py > pkg/analysis/testdata/reference_holtwinters.json

Two references:

1. statsmodels: for the cases without gaps and without anomalies,
   ExponentialSmoothing(y, trend="add", seasonal="add", seasonal_periods=m,
   initialization_method="known", initial_level=l0, initial_trend=b0,
   initial_seasonal=s0).fit(smoothing_level=a, smoothing_trend=b,
   smoothing_seasonal=g, optimized=False).fittedvalues are the one-step
   forecasts; after the 2m warm-up windows they are the detector's expected
   values ("statsmodels" in the JSON, per window, null for warm-up windows).
   l0, b0, s0 are the classical start values computed below with numpy.
   statsmodels' initial_seasonal[i] is the seasonal term of y[i] (i < m), and
   its smoothing_trend multiplies the level difference (FPP's beta*); with
   damped_trend=False, phi = 1. The script checks both conventions by
   recomputing its first fitted values.

2. A numpy recursion for every case (gaps, anomalies, warm-up restarts):
   - window index k = (end - width) // width, position k % m;
   - warm-up: 2m consecutive windows (a gap restarts it), then
     l0 = mean(y[:m]), b0 = (mean(y[m:2m]) - l0) / m, s[pos(i)] = y[i] - l0,
     and the recursion over the warm-up; sigma^2 = mean of the squared
     one-step errors of warm-up windows m..2m-1;
   - a later window h steps after the last (h - 1 missing) has forecast
     yhat = l + h*b + s[pos] (the h-step forecast); kept (score <= 1):
     l' = a*(y - s) + (1-a)*(l + h*b), b' = b_*(l' - (l + (h-1)*b)) + (1-b_)*b,
     s' = g*(y - (l + h*b)) + (1-g)*s, sigma^2' = (1-lam)*sigma^2 + lam*e^2,
     lam = 2/(m+1); not kept: l' = l + h*b, b and s unchanged;
   - score = |y - yhat| / (threshold * sigma), band yhat -/+ threshold*sigma;
   - when more than m of the last 2m consecutive windows (a gap empties the
     list) were not kept, the model starts again from the last m of them:
     level = their mean, trend 0, season = each minus the level; sigma kept.
   Squares are taken of values scaled by the larger term, so that 1e300
   does not overflow.

3. Fitting: for a few series, statsmodels' own optimizer (known start
   values, optimized=True) and the sum of squared one-step errors over
   y[m:] at its parameters, by the numpy recursion; the Go test checks that
   FitHoltWinters does at least as well on that criterion.
"""
import json
import math
import sys

import numpy as np
import statsmodels
from statsmodels.tsa.holtwinters import ExponentialSmoothing

NS = 1_000_000_000
HOUR = 3600 * NS
DAY = 24 * HOUR


def classic(y, m):
    y = np.asarray(y, dtype=float)
    l0 = float(np.sum(y[:m] / m))
    b0 = (float(np.sum(y[m:2 * m] / m)) - l0) / m
    return l0, b0, y[:m] - l0


def scaled_rms(e):
    e = np.abs(np.asarray(e, dtype=float))
    a = e.max() if e.size else 0.0
    if a == 0:
        return 0.0
    return float(a * np.sqrt(np.mean((e / a) ** 2)))


def ewma_rms(sigma, e, lam):
    a = max(sigma, abs(e))
    if a == 0:
        return 0.0
    return a * math.sqrt((1 - lam) * (sigma / a) ** 2 + lam * (e / a) ** 2)


def start(m, a, b_, g, ys, ks):
    """The classical start from ys (consecutive windows of indices ks), the
    recursion over ys, and sigma from the errors after the first season."""
    lvl, tr, s0 = classic(ys, m)
    s = {}
    for i in range(m):
        s[ks[i] % m] = float(s0[i])
    errs = []
    for i, (kk, yy) in enumerate(zip(ks, ys)):
        p = kk % m
        if i >= m:
            errs.append(yy - (lvl + tr + s[p]))
        new = a * (yy - s[p]) + (1 - a) * (lvl + tr)
        s[p] = g * (yy - lvl - tr) + (1 - g) * s[p]
        tr = b_ * (new - lvl) + (1 - b_) * tr
        lvl = new
    return lvl, tr, s, scaled_rms(errs), ks[-1]


def reference(m, a, b_, g, threshold, windows):
    lam = 2 / (m + 1)
    out = []
    warm, warm_k = [], []  # the warm-up
    recent = []  # (k, y, not kept) of the last 2m consecutive windows after it
    ready = False
    for end, width, y, _n in windows:
        k = (end - width) // width
        if not ready:
            if warm_k and k != warm_k[-1] + 1:
                warm, warm_k = [], []
            warm.append(y)
            warm_k.append(k)
            out.append({"ok": False})
            if len(warm) == 2 * m:
                lvl, tr, s, sigma, last = start(m, a, b_, g, warm, warm_k)
                ready = True
            continue
        if k <= last:
            out.append({"ok": False})
            continue
        h = k - last
        last = k
        p = k % m
        base = lvl + h * tr
        yhat = base + s[p]
        d = abs(y - yhat)
        score = 0.0 if d == 0 else (math.inf if sigma == 0 else d / (threshold * sigma))
        out.append({"ok": True, "expected": repr(yhat), "lower": repr(yhat - threshold * sigma),
                    "upper": repr(yhat + threshold * sigma), "score": repr(score)})
        if score <= 1:
            sigma = ewma_rms(sigma, y - yhat, lam)
            prev = lvl + (h - 1) * tr
            new = a * (y - s[p]) + (1 - a) * base
            tr = b_ * (new - prev) + (1 - b_) * tr
            s[p] = g * (y - base) + (1 - g) * s[p]
            lvl = new
        else:
            lvl = base
        if recent and k != recent[-1][0] + 1:
            recent = []
        recent.append((k, y, score > 1))
        del recent[:-2 * m]
        if sum(r for _, _, r in recent) > m:
            season = recent[-m:]
            lvl = float(np.sum(np.array([v for _, v, _ in season]) / m))
            tr = 0.0
            for kk, v, _ in season:
                s[kk % m] = v - lvl
            recent = []
    return out


def statsmodels_fitted(y, m, a, b_, g):
    l0, b0, s0 = classic(y, m)
    fit = ExponentialSmoothing(np.asarray(y, dtype=float), trend="add", seasonal="add", seasonal_periods=m,
                               initialization_method="known", initial_level=l0, initial_trend=b0,
                               initial_seasonal=s0).fit(smoothing_level=a, smoothing_trend=b_,
                                                        smoothing_seasonal=g, optimized=False)
    f = np.asarray(fit.fittedvalues)
    # The conventions: y[0]'s forecast uses s0[0], y[1]'s the updated level
    # and FPP's beta* trend update.
    assert abs(f[0] - (l0 + b0 + s0[0])) <= 1e-12 * abs(f[0]), (f[0], l0 + b0 + s0[0])
    l1 = a * (y[0] - s0[0]) + (1 - a) * (l0 + b0)
    b1 = b_ * (l1 - l0) + (1 - b_) * b0
    assert abs(f[1] - (l1 + b1 + s0[1])) <= 1e-12 * abs(f[1]), (f[1], l1 + b1 + s0[1])
    return f


def sse_after_first_season(y, m, a, b_, g):
    y = np.asarray(y, dtype=float)
    lvl, tr, s = classic(y, m)
    s = list(s)
    sse = 0.0
    for i, yy in enumerate(y):
        p = i % m
        e = yy - (lvl + tr + s[p])
        if i >= m:
            sse += e * e
        new = a * (yy - s[p]) + (1 - a) * (lvl + tr)
        s[p] = g * (yy - lvl - tr) + (1 - g) * s[p]
        tr = b_ * (new - lvl) + (1 - b_) * tr
        lvl = new
    return sse


def case(name, m, a, b_, g, threshold, ends, width, y, ns, with_statsmodels=False):
    windows = [(int(e), int(width), float(v), int(n)) for e, v, n in zip(ends, y, ns)]
    out = reference(m, a, b_, g, threshold, windows)
    c = {"name": name, "period": m, "alpha": a, "beta": b_, "gamma": g, "threshold": threshold,
         "windows": [{"end": e, "width": w, "mean": repr(v), "n": n} for e, w, v, n in windows], "out": out}
    if with_statsmodels:
        ks = [(e - w) // w for e, w, _, _ in windows]
        assert all(k2 == k1 + 1 for k1, k2 in zip(ks, ks[1:])), name + ": gaps"
        assert not any(o["ok"] and float(o["score"]) > 1 for o in out), name + ": anomalies"
        f = statsmodels_fitted([v for _, _, v, _ in windows], m, a, b_, g)
        c["statsmodels"] = [None if i < 2 * m else repr(float(x)) for i, x in enumerate(f)]
    return c


def main():
    rng = np.random.default_rng(20261208)
    cases = []
    t0 = 1_700_000_000 // 3600 * HOUR

    # Hourly windows, daily season, trend: statsmodels agrees window by window.
    m, n = 24, 24 * 12
    k = np.arange(n)
    y = 20 + 0.01 * k + 6 * np.sin(2 * np.pi * k / m) + 2 * (k % m == 9) + rng.normal(0, 0.4, n)
    cases.append(case("statsmodels_hourly", m, 0.3, 0.05, 0.2, 6.0, t0 + (k + 1) * HOUR, HOUR, y,
                      rng.integers(1, 60, n), with_statsmodels=True))

    # Daily windows, weekly season, large smoothing parameters, n = 1 windows.
    m, n = 7, 7 * 40
    k = np.arange(n)
    y = 100 - 0.2 * k + np.array([5, 3, 0, -1, -2, -8, 3])[(k + 3) % 7] + rng.normal(0, 1, n)
    cases.append(case("statsmodels_weekly", m, 0.6, 0.3, 0.4, 8.0, t0 + (k + 1) * DAY, DAY, y,
                      np.ones(n, int), with_statsmodels=True))

    # Gaps (in the warm-up: a restart; one window; six; more than a season),
    # spikes that must stay out, n = 1 windows.
    m, n = 24, 24 * 14
    k = np.arange(n)
    y = 50 + 10 * np.cos(2 * np.pi * k / m) + 0.02 * k + rng.normal(0, 0.5, n)
    y[24 * 5 + 3] += 30
    y[24 * 5 + 4] += 30
    y[24 * 8 + 3] -= 25
    keep = np.ones(n, bool)
    keep[[10, 24 * 4 + 1]] = False
    keep[24 * 6:24 * 6 + 6] = False
    keep[24 * 9:24 * 10 + 5] = False
    cases.append(case("gaps_and_spikes", m, 0.2, 0.1, 0.3, 3.0, t0 + (k[keep] + 1) * HOUR, HOUR, y[keep],
                      rng.integers(1, 3, keep.sum())))

    # Constant warm-up: sigma 0, the same value scores 0, another +inf; the
    # new level, rejected for 2m windows, becomes the baseline.
    m, n = 6, 6 * 7
    k = np.arange(n)
    y = np.full(n, 3.5)
    y[20:] = 4.0
    cases.append(case("constant_then_step", m, 0.5, 0.1, 0.1, 3.0, t0 + (k + 1) * HOUR, HOUR, y, np.ones(n, int)))

    # Values near 1e300.
    m, n = 12, 12 * 8
    k = np.arange(n)
    y = 1e300 * (1 + 0.3 * np.sin(2 * np.pi * k / m) + rng.normal(0, 0.01, n))
    y[12 * 6 + 2] = -1e300
    cases.append(case("huge_values", m, 0.4, 0.1, 0.2, 3.0, t0 + (k + 1) * HOUR, HOUR, y, np.full(n, 10)))

    # A lasting level shift in a noisy series, with a gap inside the run of
    # alarms (which restarts the run): the model starts again after 2m
    # consecutive alarms.
    m, n = 8, 8 * 12
    k = np.arange(n)
    y = 10 + 2 * np.sin(2 * np.pi * k / m) + rng.normal(0, 0.2, n) + np.where(k >= 40, 15.0, 0.0)
    keep = np.ones(n, bool)
    keep[46] = False
    cases.append(case("level_shift_restart", m, 0.2, 0.05, 0.2, 3.0, t0 + (k[keep] + 1) * HOUR, HOUR, y[keep],
                      np.ones(keep.sum(), int)))

    # A long run with noise changing level, 5-minute windows over windows of
    # 12 (an hour), before the epoch (negative window indices).
    m, n = 12, 12 * 250
    width = 5 * 60 * NS
    k = np.arange(-2000, -2000 + n)
    sd = np.where((k // 600) % 2 == 0, 0.3, 1.5)
    y = 5 * np.sin(2 * np.pi * k / m) + 0.001 * k + rng.normal(0, 1, n) * sd
    y[2000] += 40
    cases.append(case("long_run_before_epoch", m, 0.1, 0.01, 0.1, 4.0, (k + 1) * width, width, y, np.ones(n, int)))

    # Fitting: statsmodels' optimizer, scored on FitHoltWinters' criterion.
    fits = []
    for name, m, n, (a, b_, g), sd in [("fit_hourly", 24, 24 * 3, (0.3, 0.05, 0.2), 0.5),
                                        ("fit_weekly", 7, 7 * 3, (0.6, 0.2, 0.4), 1.0),
                                        ("fit_noisy", 12, 12 * 3, (0.1, 0.1, 0.1), 2.0)]:
        k = np.arange(n)
        y = 10 + 0.05 * k + 4 * np.sin(2 * np.pi * k / m) + rng.normal(0, sd, n)
        l0, b0, s0 = classic(y, m)
        r = ExponentialSmoothing(y, trend="add", seasonal="add", seasonal_periods=m,
                                 initialization_method="known", initial_level=l0, initial_trend=b0,
                                 initial_seasonal=s0).fit(optimized=True)
        p = r.params
        sa, sb, sg = float(p["smoothing_level"]), float(p["smoothing_trend"]), float(p["smoothing_seasonal"])
        fits.append({"name": name, "period": m, "means": [repr(float(v)) for v in y],
                     "statsmodels_params": [sa, sb, sg],
                     "statsmodels_sse": repr(sse_after_first_season(y, m, sa, sb, sg))})

    json.dump({"numpy": np.__version__, "statsmodels": statsmodels.__version__, "cases": cases, "fits": fits},
              sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
