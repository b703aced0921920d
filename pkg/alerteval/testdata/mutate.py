#!/usr/bin/env python3
"""Shows that the tests catch each behaviour being broken: applies one
mutation at a time to the package's sources, runs `go test` (which must
fail), and restores the file. Run from the repository root:
    python3 pkg/alerteval/testdata/mutate.py
"""
import pathlib, subprocess, sys

PKG = pathlib.Path("pkg/alerteval")
MUTATIONS = [
    ("FromAlert header", "request.go", '"FromAlert": "true", ', ""),
    ("default MaxDataPoints", "request.go", "DefaultMaxDataPoints = 43200", "DefaultMaxDataPoints = 1000"),
    ("time range end", "request.go", "To:   now.Add(-time.Duration(q.RelativeTimeRange.To) * time.Second)", "To: now"),
    ("queryType from the model", "request.go", "\t\tif s != \"\" {\n\t\t\tqueryType = s", "\t\tif false {\n\t\t\tqueryType = s"),
    ("data plane check", "eval.go", "read, err := dataplane.Read(dr.Frames)", "read, err := &dataplane.Response{}, error(nil)"),
    ("NoData on no frames", "eval.go", "noData[dq.RefID] = r.DatasourceUID\n", "_ = 0\n"),
    ("dropNN drops non-numbers", "expr.go", "if mode != ModeStrict {\n\t\t\tmapped", "if false {\n\t\t\tmapped"),
    ("dropNN NaN result is null", "expr.go", "case ModeDropNN:\n\t\t\t\tv = nil", "case ModeDropNN:\n\t\t\t\t_ = v"),
    ("threshold lt", "expr.go", '"lt":                     {1, func(v float64, p []float64) bool { return v < p[0] }}', '"lt":                     {1, func(v float64, p []float64) bool { return v <= p[0] }}'),
    ("threshold null stays null", "expr.go", "if it.number != nil {\n\t\t\tb := 0.0", "if true {\n\t\t\tb := 0.0"),
    ("alertname label", "eval.go", 'labels := map[string]string{"alertname": rule.Title}', "labels := map[string]string{}"),
    ("series labels on instances", "eval.go", "\tfor k, v := range series {\n\t\tif _, ok := labels[k]; !ok {", "\tfor k, v := range series {\n\t\tif false {"),
    ("duplicate condition labels", "eval.go", "if seen[l] {", "if false {"),
    ("annotation templates", "template.go", 'if !strings.Contains(text, "{{") {', "if true {"),
    ("[no value]", "template.go", 'strings.ReplaceAll(b.String(), "<no value>", "[no value]")', "b.String()"),
    ("startsAt kept while firing", "alerts.go", "inst.StartsAt = prev.StartsAt\n", "_ = prev\n"),
    ("resolved alerts", "alerts.go", "\t\tcase wasFiring:\n\t\t\tinst.StartsAt", "\t\tcase false:\n\t\t\tinst.StartsAt"),
    ("endsAt validity", "alerts.go", "a.EndsAt = now.Add(4 * valid)", "a.EndsAt = now.Add(valid)"),
    ("DatasourceNoData name", "alerts.go", '"DatasourceNoData"', '"NoData"'),
    ("noDataState OK", "eval.go", 'case "OK":', 'case "ok":'),
]

status = 0
for name, fname, old, new in MUTATIONS:
    path = PKG / fname
    src = path.read_text()
    if src.count(old) != 1:
        print(f"{name}: mutation target not found exactly once in {fname}")
        status = 1
        continue
    path.write_text(src.replace(old, new))
    try:
        res = subprocess.run(["go", "test", "./" + str(PKG)], capture_output=True, text=True)
    finally:
        path.write_text(src)
    if res.returncode == 0:
        print(f"{name}: NOT caught (tests pass with it broken)")
        status = 1
    else:
        print(f"{name}: caught")
sys.exit(status)
