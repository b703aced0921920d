#!/usr/bin/python3
"""Independent reference for Vigil's t-test: the Kapacitor tTest UDF's rules
(shared/docs/reference.md, section 2) with scipy's Welch test.

Run from the repository root with Debian's python3-scipy:

    go run ./pkg/cmd/vigil-data printer -format csv -start 2016-01-01T00:00:00Z > /tmp/printer.csv
    /usr/bin/python3 pkg/analysis/testdata/reference_ttest.py /tmp/printer.csv > pkg/analysis/testdata/reference_ttest.json

Writes, as JSON: the input's SHA-256, the options, every emitted window
(end time, points, t, p-value, anomalous) per field, and Welch edge cases.
"""
import hashlib
import json
import math
import sys

import scipy
from scipy.stats import ttest_ind_from_stats

FIELDS = ["hotend", "bed", "air"]
WINDOW = 300  # seconds, window().period(5m).every(5m), aligned to the epoch
SIZE = 3600   # history size in points
ALPHA = 0.001


class MovingStats:
    """The UDF's history: the last `size` values, Welford mean and M2; a new
    value is added, then the oldest removed when the count exceeds size."""

    def __init__(self, size):
        self.size = size
        self.window = []
        self.head = 0
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def _add(self, x):
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def _remove(self, x):
        self.n -= 1
        if self.n == 0:
            self.mean = 0.0
            self.m2 = 0.0
            return
        delta = x - self.mean
        self.mean -= delta / self.n
        self.m2 -= delta * (x - self.mean)

    def update(self, x):
        self._add(x)
        if len(self.window) < self.size:
            self.window.append(x)
            return
        oldest = self.window[self.head]
        self.window[self.head] = x
        self.head = (self.head + 1) % len(self.window)
        self._remove(oldest)

    def stddev(self):
        if self.n <= 1 or self.m2 <= 0:
            return 0.0
        return math.sqrt(self.m2 / (self.n - 1))


def batch_stats(values):
    s = MovingStats(len(values))
    for v in values:
        s.update(v)
    return s


def run(rows, field_index):
    history = MovingStats(SIZE)
    out = []
    current, values = None, []

    def close(index, values):
        if not values:
            return
        b = batch_stats(values)
        pvalue = 1.0
        if history.n != 0:
            t, pvalue = ttest_ind_from_stats(history.mean, history.stddev(), history.n,
                                             b.mean, b.stddev(), b.n, equal_var=False)
            out.append({"end": (index + 1) * WINDOW, "n": b.n, "t": float(t), "p": float(pvalue),
                        "anomalous": bool(pvalue < ALPHA)})
        if pvalue > ALPHA:
            for v in values:
                history.update(v)

    for ts, vals in rows:
        k = ts // WINDOW
        if current is not None and k != current:
            close(current, values)
            values = []
        current = k
        values.append(vals[field_index])
    # The last window is incomplete (the data ends inside it): not emitted.
    return out


def welch_cases():
    cases = [
        (220.0, 0.5, 3600, 220.01, 0.5, 300),
        (220.0, 0.5, 3600, 218.5, 3.0, 300),
        (220.0, 0.5, 3600, 210.0, 0.5, 300),      # p ~ 1e-300 range
        (220.0, 0.5, 3600, 219.0, 0.5, 300),      # p ~ 1e-21 range
        (90.0, 1.0, 3600, 90.5, 1.2, 300),
        (70.0, 3.0, 3600, 70.0, 3.0, 300),        # t = 0, p = 1
        (70.0, 3.0, 5, 69.0, 2.0, 2),
        (1.0, 0.0, 1, 2.0, 1.0, 10),              # n1 = 1, std 0
        (1.0, 1.0, 10, 2.0, 0.0, 1),              # n2 = 1, std 0
        (5.0, 0.0, 10, 5.0, 0.0, 10),             # zero variance, equal means: nan
        (5.0, 0.0, 10, 6.0, 0.0, 10),             # zero variance, different means: inf, 0
        (5.0, 0.0, 1, 6.0, 0.0, 1),               # n = 1 on both sides
        (5.0, 0.0, 300, 5.001, 0.001, 300),       # one side constant
        (1e9, 1e-3, 1000, 1e9 + 1e-3, 1e-3, 1000),
    ]
    out = []
    for m1, s1, n1, m2, s2, n2 in cases:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, p = ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=False)
        out.append({"mean1": m1, "std1": s1, "n1": n1, "mean2": m2, "std2": s2, "n2": n2,
                    "t": repr(float(t)), "p": repr(float(p))})
    return out


def main():
    raw = open(sys.argv[1], "rb").read()
    rows = []
    for line in raw.decode().splitlines():
        ts, h, b, a = line.split(",")
        rows.append((int(ts), (float(h), float(b), float(a))))
    result = {
        "generated_by": "pkg/analysis/testdata/reference_ttest.py with scipy " + scipy.__version__,
        "input_sha256": hashlib.sha256(raw).hexdigest(),
        "points": len(rows),
        "window_seconds": WINDOW,
        "history": SIZE,
        "alpha": ALPHA,
        "fields": {name: run(rows, i) for i, name in enumerate(FIELDS)},
        "welch": welch_cases(),
    }
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
