#!/usr/bin/python3
"""Independent reference for the t-test model's band (welchBand): the window
means that Welch's test does not reject at level alpha against a history.

With v = s1^2/n1 + s2^2/n2 and Welch-Satterthwaite's df (which do not depend
on the window mean), the band is mean1 -/+ q*sqrt(v), q = t_{1-alpha/2, df}:
scipy.stats.t.isf(alpha/2, df) (= t.ppf(1 - alpha/2, df), without the
rounding of 1 - alpha/2), polished by Newton's method on scipy's t.sf. df is 1 when undefined (0/0), as in scipy's
ttest_ind_from_stats. The script checks its own band with scipy's
ttest_ind_from_stats: a window mean at either edge gives p = alpha to 1e-9
(more where rounding the edge to a double moves p further: edge_tol).

Run with Debian's python3-scipy from the repository root:

    /usr/bin/python3 pkg/analysis/testdata/reference_band.py > pkg/analysis/testdata/reference_band.json
"""
import json
import math
import sys
import warnings

import numpy as np
import scipy
from scipy import stats


def band(mean1, s1, n1, s2, n2, alpha):
    v1, v2 = s1 * s1 / n1, s2 * s2 / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.float64(v1 + v2) ** 2 / (np.float64(v1) ** 2 / np.float64(n1 - 1) + np.float64(v2) ** 2 / np.float64(n2 - 1))
    if np.isnan(df):
        df = 1.0
    q_ppf = float(stats.t.ppf(1 - alpha / 2, df))
    # scipy's isf/ppf invert the cdf iteratively (cdflib's stdtrit) and stop
    # at a relative error of a few 1e-9 in p for small df; Newton's method on
    # 2*sf(q) = alpha, with scipy's sf and pdf (Cephes' incomplete beta),
    # polishes q to machine precision.
    q = float(stats.t.isf(alpha / 2, df))
    for _ in range(4):
        q -= (2 * stats.t.sf(q, df) - alpha) / (-2 * stats.t.pdf(q, df))
    q = float(q)
    half = q * math.sqrt(v1 + v2)
    return float(df), q, q_ppf, half, mean1 - half, mean1 + half


def cases():
    rng = np.random.default_rng(23)
    c = [
        (220.0, 0.5, 3600, 0.5, 300, 0.001),
        (220.0, 0.5, 3600, 3.0, 300, 0.001),
        (90.0, 1.0, 3600, 1.2, 300, 0.05),
        (70.0, 3.0, 5, 2.0, 2, 0.01),
        (70.0, 3.0, 3600, 0.0, 1, 0.001),   # n2 = 1: df undefined, taken as 1
        (1.0, 0.0, 1, 1.0, 10, 0.001),      # n1 = 1: df undefined, taken as 1
        (5.0, 0.0, 10, 0.0, 10, 0.001),     # no variance: the band is one point
        (5.0, 0.0, 300, 0.001, 300, 1e-6),  # one side constant
        (1e9, 1e-3, 1000, 1e-3, 1000, 1e-12),
        (-3.0, 2.0, 50, 2.0, 50, 0.2),
    ]
    for _ in range(100):
        n1 = int(np.exp(rng.uniform(np.log(2), np.log(5000))))
        n2 = int(np.exp(rng.uniform(0, np.log(500))))
        scale = 10.0 ** rng.uniform(-3, 3)
        s1 = scale * rng.uniform(0.1, 2)
        s2 = 0.0 if n2 == 1 else scale * rng.uniform(0.1, 2)
        alpha = float(rng.choice([0.05, 0.01, 0.001, 1e-4, 1e-6, 1e-9]))
        c.append((float(rng.normal(0, 100 * scale)), s1, n1, s2, n2, alpha))
    return c


def main():
    out = []
    for mean1, s1, n1, s2, n2, alpha in cases():
        df, q, q_ppf, half, lo, hi = band(mean1, s1, n1, s2, n2, alpha)
        edge, tol = [], 1e-9
        if hi > lo:
            # The edges are rounded to doubles: t moves by up to
            # (ulp(x) + ulp(mean1))/sqrt(v), and p relatively by that times
            # |d ln p/dt| = 2 pdf(q)/alpha. Far from the origin (1e9 with a
            # spread of 1e-3) that exceeds 1e-9, and the tolerance says so.
            sqrt_v = math.sqrt(s1 * s1 / n1 + s2 * s2 / n2)
            slope = 2 * float(stats.t.pdf(q, df)) / alpha
            for x in (lo, hi):
                tol = max(tol, 1e-9 + 2 * slope * (abs(np.spacing(x)) + abs(np.spacing(mean1))) / sqrt_v)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for x in (lo, hi):
                    _, p = stats.ttest_ind_from_stats(mean1, s1, n1, x, s2, n2, equal_var=False)
                    assert abs(p - alpha) <= tol * alpha, (mean1, s1, n1, s2, n2, alpha, x, p)
                    edge.append(float(p))
        if alpha >= 1e-6:
            assert abs(q_ppf - q) <= 1e-8 * q, (q, q_ppf)
        out.append({"mean1": mean1, "std1": s1, "n1": n1, "std2": s2, "n2": n2, "alpha": alpha,
                    "df": df, "q": q, "q_ppf": q_ppf, "half": half, "lower": lo, "upper": hi, "p_at_edges": edge, "edge_tol": tol})
    json.dump({"generated_by": "pkg/analysis/testdata/reference_band.py with scipy " + scipy.__version__,
               "cases": out}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
