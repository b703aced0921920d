package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"testing"
	"time"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/tools/eval"
	"github.com/vigil/vigil-anomaly-datasource/tools/eval/corpus"
)

// evalDatabase holds the series TestEvalScoresThroughPluginHost writes, laid
// out as eval.Load lays them out in its fake: measurement "series", field
// "value", a tag "series" naming each.
const evalDatabase = "evale2e"

// TestEvalScoresThroughPluginHost: the detection evaluation (tools/eval)
// reads its series through an in-memory fake InfluxDB; here the same series
// are written to a real InfluxDB and every detector, at its defaults and at
// its first grid setting, runs as a panel's query (the evaluation's own
// query JSON) through the built plugin under the plugin host. Every
// window's score must be bit for bit the evaluation's (NaN where it has
// NaN), over two NAB series, a printer's hotend with its faults and three
// houses (a fleet for peers): what the evaluation measures is what a
// dashboard or an alert rule sees.
//
// The host carries the range as Grafana does, in whole milliseconds; the
// evaluation ends its range at the last row, also a whole millisecond here.
// The data source's Max points (1,000,000, where the evaluation has no
// limit) bounds what is read, which is far less here.
func TestEvalScoresThroughPluginHost(t *testing.T) {
	needServers(t)
	ctx := context.Background()
	dir, err := corpus.NABDir()
	if err != nil {
		t.Fatal(err)
	}
	nab, err := corpus.NAB(dir, "realKnownCause/nyc_taxi.csv", "artificialWithAnomaly/art_daily_jumpsup.csv")
	if err != nil {
		t.Fatal(err)
	}
	printer := corpus.Printers(eval.Seed).Series[0] // printer-01/hotend
	houses := corpus.Household(eval.Seed).Series[:3]
	groups := [][]corpus.Series{nab.Series[:1], nab.Series[1:], {printer}, houses}
	if err := influxDB.CreateDatabase(ctx, evalDatabase); err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		for _, sr := range g {
			lines := make([]string, len(sr.Times))
			for k, ts := range sr.Times {
				// 'g', -1: the shortest text that parses back to the same float64.
				lines[k] = fmt.Sprintf("%s,series=%s value=%s %d", eval.Evaluated.Measurement, escapeTag(sr.Name),
					strconv.FormatFloat(sr.Values[k], 'g', -1, 64), ts)
			}
			if err := writeNs(ctx, evalDatabase+"/autogen", lines...); err != nil {
				t.Fatalf("%s: %v", sr.Name, err)
			}
		}
	}
	for _, d := range eval.Detectors() {
		scored := 0
		for _, s := range []eval.Setting{{}, d.Grid[0]} {
			for _, g := range groups {
				if d.Fleet != (len(g) > 1) {
					continue // a fleet detector reads the fleet, the others one series at a time
				}
				group := make([]*corpus.Series, len(g))
				for i := range g {
					group[i] = &g[i]
				}
				t.Run(d.Name+"/"+s.String()+"/"+g[0].Name, func(t *testing.T) {
					from, to, step := eval.Span(group)
					want, err := d.Scores(ctx, eval.Load(group...), from, to, step, s)
					if err != nil {
						t.Fatal(err)
					}
					got := pluginScores(t, d, s, step, from, to, len(g) == 1, g[0].Name)
					for _, sr := range g {
						w, p := want[sr.Name], got[sr.Name]
						if len(p) != len(w) {
							t.Fatalf("%s: %d windows through the plugin, %d in the evaluation", sr.Name, len(p), len(w))
						}
						for k := range w {
							if p[k].End != w[k].End || !sameScore(p[k].Score, w[k].Score) {
								t.Fatalf("%s window %d: plugin %v at %s, evaluation %v at %s", sr.Name, k,
									p[k].Score, time.Unix(0, p[k].End).UTC(), w[k].Score, time.Unix(0, w[k].End).UTC())
							}
							if !math.IsNaN(w[k].Score) {
								scored++
							}
						}
					}
				})
			}
		}
		if scored == 0 {
			t.Errorf("%s: no window scored: the comparison proves nothing", d.Name)
		}
	}
}

// pluginScores runs d at s as a panel query through the plugin host and
// returns each series' window scores by name: the anomaly query's score,
// or the ttest query's p-value as the evaluation's score of it
// (analysis.TTestScore).
func pluginScores(t *testing.T, d eval.Detector, s eval.Setting, step time.Duration, from, to time.Time, one bool, name string) map[string][]eval.WindowScore {
	t.Helper()
	js, err := d.QueryJSON(s, step)
	if err != nil {
		t.Fatal(err)
	}
	var model map[string]any
	if err := json.Unmarshal(js, &model); err != nil {
		t.Fatal(err)
	}
	model["refId"], model["bucket"] = "A", evalDatabase+"/autogen"
	if one {
		model["tags"] = map[string]string{"series": name}
	}
	res := panelQuery(t, dsMain, from, to, model).Responses["A"]
	if res.Error != nil {
		t.Fatalf("the query failed: %v", res.Error)
	}
	alpha, ok := model["alpha"].(float64)
	if !ok {
		alpha = vigil.Default.Query.Alpha
	}
	out := map[string][]eval.WindowScore{}
	for _, f := range res.Frames {
		if f.Rows() == 0 {
			continue
		}
		v := f.Fields[1]
		for i := range f.Rows() {
			end, x := f.Fields[0].At(i).(time.Time), v.At(i).(float64)
			if v.Name == "pvalue" {
				x = analysis.TTestScore(x, alpha)
			}
			out[v.Labels["series"]] = append(out[v.Labels["series"]], eval.WindowScore{End: end.UnixNano(), Score: x})
		}
	}
	for _, ws := range out {
		sort.SliceStable(ws, func(i, j int) bool { return ws[i].End < ws[j].End })
	}
	return out
}

// sameScore is float equality where NaN (no score) equals NaN.
func sameScore(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// escapeTag escapes a line-protocol tag value.
func escapeTag(v string) string {
	out := make([]rune, 0, len(v))
	for _, r := range v {
		if r == ',' || r == '=' || r == ' ' || r == '\\' {
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}
