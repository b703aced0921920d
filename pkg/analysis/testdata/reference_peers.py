#!/usr/bin/python3
"""Independent reference for Vigil's peer comparison (analysis.Peers).

Each series is judged against the others (leave-one-out), with numpy:

    expected = median(others)
    spread   = 1.4826 * median(|others - expected|)
               or, when that is 0, sqrt(pi/2) * mean(|others - expected|)
    score    = |x - expected| / (threshold * spread)   (0 when x == expected,
               inf when the spread is 0 and x differs)
    band     = expected -/+ threshold * spread

computed naively (np.delete, np.median per series), not by the Go code's
one-sort method. Run with Debian's numpy from the repository root:

    /usr/bin/python3 pkg/analysis/testdata/reference_peers.py > pkg/analysis/testdata/reference_peers.json

Numbers are written with repr() as strings so that inf survives JSON.
"""
import json
import math
import sys

import numpy as np

MAD_SCALE = 1.4826
MEANAD_SCALE = math.sqrt(math.pi / 2)


def judge(means, threshold):
    means = np.asarray(means, dtype=np.float64)
    if len(means) < 3:
        return None
    out = []
    for i, x in enumerate(means):
        others = np.delete(means, i)
        e = float(np.median(others))
        dev = np.abs(others - e)
        s = MAD_SCALE * float(np.median(dev))
        if s == 0:
            s = MEANAD_SCALE * float(np.mean(dev))
        d = abs(float(x) - e)
        if d == 0:
            score = 0.0
        elif s == 0:
            score = math.inf
        else:
            score = d / (threshold * s)
        out.append({"expected": repr(e), "lower": repr(e - threshold * s),
                    "upper": repr(e + threshold * s), "score": repr(score)})
    return out


def cases():
    rng = np.random.default_rng(20261207)
    c = [
        ("two series: no verdict", [1.0, 2.0], 3.0),
        ("one series: no verdict", [1.0], 3.0),
        ("three series", [10.0, 11.0, 30.0], 3.0),
        ("three series, two tied", [5.0, 5.0, 9.0], 3.0),
        ("three equal series", [7.0, 7.0, 7.0], 3.0),
        ("four series, even count of others", [1.0, 2.0, 4.0, 8.0], 2.5),
        ("constant fleet", [3.5] * 12, 3.0),
        ("constant fleet but one", [3.0, 3.0, 3.0, 3.0, 10.0], 3.0),
        ("idle machines: MAD 0, mean deviation fallback", [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 5.0], 3.5),
        ("integers with many ties", [float(v) for v in rng.poisson(2.0, 25)], 3.0),
        ("huge values", [1e300, 1.1e300, 0.9e300, 1.05e300, 5e300], 3.0),
        ("negative and positive", [-5.0, -4.0, 0.0, 4.0, 5.0, 100.0], 3.0),
    ]
    fleet = 220 + 0.5 * rng.standard_normal(50)
    fleet[7] += 10
    fleet[31] -= 4
    c.append(("fifty series with two outliers", [float(v) for v in fleet], 3.5))
    for k in range(60):
        n = int(rng.integers(3, 61))
        scale = 10.0 ** int(rng.integers(-3, 4))
        vals = rng.standard_normal(n) * scale
        if k % 3 == 0:  # ties: round to a coarse grid
            vals = np.round(vals / scale * 2) * scale / 2
        c.append((f"random {k}: {n} series", [float(v) for v in vals], float(rng.uniform(1, 5))))
    return c


def main():
    out = []
    for name, means, threshold in cases():
        out.append({"name": name, "threshold": threshold, "means": [repr(m) for m in means],
                    "verdicts": judge(means, threshold)})
    json.dump({"generated_by": "pkg/analysis/testdata/reference_peers.py with numpy " + np.__version__,
               "cases": out}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
