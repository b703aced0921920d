package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/tools/eval"
	"github.com/vigil/vigil-anomaly-datasource/tools/eval/corpus"
)

// evalDatabase holds the series TestEvalScoresThroughPluginHost writes: one
// measurement per series, field "value", no tags, as eval.Load lays a
// series out in its fake (bucket "eval", measurement "series").
const evalDatabase = "evale2e"

// TestEvalScoresThroughPluginHost: the detection evaluation (tools/eval)
// reads its series through an in-memory fake InfluxDB; here the same series
// are written to a real InfluxDB and the same t-test runs as a panel's ttest
// query through the built plugin under the plugin host. Every row's score
// (log(p)/log(alpha) of each window, on the first row at or after the
// window's end) must be bit for bit the eval's, NaN where the eval has NaN,
// at the t-test's documented defaults and at one grid setting, over two
// NAB series and a 10 s printer-like series with a gap: so what the
// evaluation measures is what a dashboard or alert rule would see.
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
	printer := printerLike(1)
	if err := printer.Check(); err != nil {
		t.Fatal(err)
	}
	series := append(nab.Series, printer)
	if err := influxDB.CreateDatabase(ctx, evalDatabase); err != nil {
		t.Fatal(err)
	}
	d := eval.TTest()
	settings := []eval.Setting{d.Defaults, {WindowSteps: 12, History: 288, Alpha: 1e-3}}
	for i := range series {
		sr := &series[i]
		measurement := evalMeasurement(sr.Name)
		lines := make([]string, len(sr.Times))
		for k, ts := range sr.Times {
			// 'g', -1: the shortest text that parses back to the same float64.
			lines[k] = fmt.Sprintf("%s value=%s %d", measurement, strconv.FormatFloat(sr.Values[k], 'g', -1, 64), ts)
		}
		if err := writeNs(ctx, evalDatabase+"/autogen", lines...); err != nil {
			t.Fatalf("%s: %v", sr.Name, err)
		}
		fake := eval.Load(sr)
		for _, s := range settings {
			t.Run(sr.Name+"/"+s.String(), func(t *testing.T) {
				gotWindows := pluginWindowScores(t, measurement, sr, s)
				step := time.Duration(sr.Step())
				first, last := time.Unix(0, sr.Times[0]).UTC(), time.Unix(0, sr.Times[len(sr.Times)-1]).UTC()
				wantWindows, err := d.Scores(ctx, fake, first, last, step, s)
				if err != nil {
					t.Fatal(err)
				}
				if len(gotWindows) != len(wantWindows) {
					t.Fatalf("%d windows through the plugin, %d in the eval", len(gotWindows), len(wantWindows))
				}
				for k, w := range wantWindows {
					if g := gotWindows[k]; g.End != w.End || !sameScore(g.Score, w.Score) {
						t.Fatalf("window %d: plugin %v at %s, eval %v at %s", k, g.Score, time.Unix(0, g.End).UTC(), w.Score, time.Unix(0, w.End).UTC())
					}
				}

				got := eval.RowScores(sr.Times, gotWindows)
				want, err := eval.SeriesScores(ctx, d, s, fake, sr)
				if err != nil {
					t.Fatal(err)
				}
				scored := 0
				for k := range want {
					if !sameScore(got[k], want[k]) {
						t.Fatalf("row %d (%s): plugin %v, eval %v", k, time.Unix(0, sr.Times[k]).UTC(), got[k], want[k])
					}
					if !math.IsNaN(want[k]) {
						scored++
					}
				}
				t.Logf("%d rows, %d windows, %d rows scored: equal bit for bit", len(want), len(wantWindows), scored)
				if scored == 0 {
					t.Fatal("no row is scored: the comparison proves nothing")
				}
			})
		}
	}
}

// pluginWindowScores runs setting s's t-test over sr as a panel's ttest
// query through the plugin host, with the arguments eval.TTest passes to
// ttest.Run: the window WindowFor(step), history, alpha, points mode, from
// the first row to 1 ns past the last. The host carries the range as
// Grafana does, in whole milliseconds, so the plugin sees the last row's
// time as the end; that changes nothing, because the t-test ends its range
// at the last window boundary at or before the end, and no boundary (a
// multiple of a whole-second window) lies in the nanosecond between. The
// data source's Max points (1,000,000) where the eval has no limit only
// bounds what is read, which is far less here. Each window's p-value becomes
// the eval's score, log(p)/log(alpha), in order of its end.
func pluginWindowScores(t *testing.T, measurement string, sr *corpus.Series, s eval.Setting) []eval.WindowScore {
	t.Helper()
	window := s.WindowFor(time.Duration(sr.Step()))
	from := time.Unix(0, sr.Times[0]).UTC()
	to := time.Unix(0, sr.Times[len(sr.Times)-1]).UTC().Add(time.Nanosecond)
	res := panelQuery(t, dsMain, from, to, map[string]any{
		"refId": "A", "queryType": "ttest", "bucket": evalDatabase + "/autogen", "measurement": measurement,
		"fields": []string{"value"}, "window": strconv.FormatInt(window.Nanoseconds(), 10) + "ns",
		"history": s.History, "alpha": s.Alpha, "mode": "points", "output": "pvalue",
	}).Responses["A"]
	if res.Error != nil {
		t.Fatalf("the ttest query failed: %v", res.Error)
	}
	var ws []eval.WindowScore
	for _, f := range res.Frames {
		if f.Rows() == 0 {
			continue
		}
		if len(f.Fields) != 2 || f.Fields[1].Name != "pvalue" || f.Fields[1].Labels["field"] != "value" {
			t.Fatalf("unexpected frame: %v fields, %q %v", len(f.Fields), f.Fields[1].Name, f.Fields[1].Labels)
		}
		for i := range f.Rows() {
			end, p := f.Fields[0].At(i).(time.Time), f.Fields[1].At(i).(float64)
			ws = append(ws, eval.WindowScore{End: end.UnixNano(), Score: math.Log(p) / math.Log(s.Alpha)})
		}
	}
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].End < ws[j].End })
	return ws
}

// sameScore is float equality where NaN (no score) equals NaN.
func sameScore(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// evalMeasurement names a series' measurement after its corpus name:
// letters and digits kept, everything else '_'.
func evalMeasurement(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
}

// printerLike is a day of a printer's hotend read every 10 s from
// 2026-01-05 00:00 UTC: idle at a room temperature that swings by ±2 °C over
// the day, three jobs heating to 215 °C, the reading following its target
// as a first-order lag, temp += (target − temp)·0.05 per reading (a time
// constant of about 200 s), plus N(0, 0.3²) noise (seeded PCG). A minute of
// readings is missing (a gap the query must read as InfluxDB holds it), and
// a two-minute thermistor dropout (readings at −14 °C, the open circuit) in
// the second job is its one labelled anomaly.
func printerLike(seed uint64) corpus.Series {
	const (
		step    = 10 * time.Second
		rows    = 8640
		dropout = 4000 // first row of the dropout, 11:06:40
		missing = 2500 // first missing row, 06:56:40
	)
	rng := rand.New(rand.NewPCG(seed, 0))
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).UnixNano()
	jobs := [][2]float64{{2, 6}, {9, 15.5}, {18, 21}} // hours
	s := corpus.Series{Name: "generated/printer_hotend_10s"}
	temp := 22.0
	for i := range rows {
		hour := float64(i) * step.Hours()
		target := 22 + 2*math.Sin(2*math.Pi*hour/24)
		for _, j := range jobs {
			if hour >= j[0] && hour < j[1] {
				target = 215
			}
		}
		temp += (target - temp) * 0.05
		v := temp + 0.3*rng.NormFloat64()
		if i >= dropout && i < dropout+12 {
			v = -14
		}
		if i >= missing && i < missing+6 {
			continue
		}
		s.Times = append(s.Times, t0+int64(i)*int64(step))
		s.Values = append(s.Values, v)
	}
	s.Windows = []corpus.Window{{Start: t0 + dropout*int64(step), End: t0 + (dropout+11)*int64(step)}}
	return s
}
