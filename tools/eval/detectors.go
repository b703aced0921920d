// Package eval measures detection quality: it runs each detector through
// the code path of Vigil's queries over labelled series, turns each
// window's result into a causal score per row, and scores the rows with
// NAB's rules (package score), at the detector's documented defaults and at
// the best setting of a small grid.
package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// Setting is one configuration of a detector: query fields, as a query's
// JSON holds them, and the window counted in the series' own steps (its
// median sampling interval), so that one setting means the same on a series
// sampled every 10 s and on one sampled every hour, as NAB's
// one-setting-per-corpus rule needs. The zero Setting is the query's
// documented defaults.
type Setting struct {
	WindowSteps int            `json:"windowSteps,omitempty"`
	Fields      map[string]any `json:"fields,omitempty"`
}

func (s Setting) String() string {
	if s.WindowSteps == 0 && len(s.Fields) == 0 {
		return "defaults"
	}
	var parts []string
	if s.WindowSteps > 0 {
		parts = append(parts, fmt.Sprintf("window %d steps", s.WindowSteps))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Fields)) {
		parts = append(parts, fmt.Sprintf("%s %v", k, s.Fields[k]))
	}
	return strings.Join(parts, ", ")
}

// Detector is a detector under evaluation: a query (its type and detector)
// whose settings the grid varies.
type Detector struct {
	Name string
	// Base is the query JSON's detector part: its type and detector.
	Base map[string]any
	// Grid is the documented search space for the best setting.
	Grid []Setting
	// Fleet: the series of a corpus that share a field (the name's last
	// part) are one query, compared with each other (peers).
	Fleet bool
}

// WindowScore is a detector's score for the window ending at End (ns):
// above 1 is anomalous at the setting's own threshold; NaN is no score.
type WindowScore struct {
	End   int64
	Score float64
}

// Evaluated is where series are put for a detector to read: one tag
// "series" holds each series' name.
var Evaluated = influx.Selection{Bucket: "eval", Measurement: "series", Fields: []string{"value"}}

// seriesTag is the tag that names a series in Evaluated.
const seriesTag = "series"

// QueryJSON is the query JSON of detector d at setting s on series sampled
// every step: d's query, the evaluated selection, the points read mode
// (auto decides by the density at the range's end, and the windows mode's
// history differs in its last bits) and s. A window that a season must
// hold a whole number of times is rounded up to the next divisor (see
// divisorAtLeast).
func (d Detector) QueryJSON(s Setting, step time.Duration) ([]byte, error) {
	q := map[string]any{"measurement": Evaluated.Measurement, "fields": Evaluated.Fields, "mode": string(models.ModePoints)}
	maps.Copy(q, d.Base)
	maps.Copy(q, s.Fields)
	if s.WindowSteps > 0 {
		w := max(time.Duration(s.WindowSteps)*step, time.Second)
		if season, ok := q["season"].(string); ok {
			dur, err := models.ParseDuration(season)
			if err != nil {
				return nil, err
			}
			w = divisorAtLeast(dur, w)
		}
		q["window"] = fmt.Sprintf("%dms", w.Milliseconds())
	}
	return json.Marshal(q)
}

// divisorAtLeast is the shortest whole number of seconds at least w that
// divides season into at most validation.json's maxSeasonPositions
// windows (season itself at most).
func divisorAtLeast(season, w time.Duration) time.Duration {
	s := int64(season / time.Second)
	least := max(int64(math.Ceil(w.Seconds())), (s+vigil.Rule.Anomaly.MaxSeasonPositions-1)/vigil.Rule.Anomaly.MaxSeasonPositions, 1)
	for d := least; d < s; d++ {
		if s%d == 0 {
			return time.Duration(d) * time.Second
		}
	}
	return season
}

// Scores runs d at setting s over src's series (sampled every step, rows
// in [from, to]) as a panel query would (models.ParseQuery,
// ttest.RequestFor, ttest.Run), and returns each series' window scores by
// its name: the anomaly query's score, or the ttest query's p-value as the
// contract's score for the t-test (analysis.TTestScore).
func (d Detector) Scores(ctx context.Context, src influx.Reader, from, to time.Time, step time.Duration, s Setting) (map[string][]WindowScore, error) {
	js, err := d.QueryJSON(s, step)
	if err != nil {
		return nil, err
	}
	// The range ends at the last row: the window holding it ends after it,
	// where no row would carry its score.
	q, err := models.ParseQuery(backend.DataQuery{RefID: "A", JSON: js, TimeRange: backend.TimeRange{From: from, To: to}},
		models.Settings{DefaultBucket: Evaluated.Bucket})
	if err != nil {
		return nil, err
	}
	req, err := ttest.RequestFor(q, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	out, err := ttest.Run(ctx, src, req)
	if err != nil {
		return nil, err
	}
	scores := map[string][]WindowScore{}
	for _, sr := range out.Series {
		ws := make([]WindowScore, len(sr.Ends))
		for i, end := range sr.Ends {
			ws[i].End = end.UnixNano()
			if sr.Verdicts != nil {
				ws[i].Score = sr.Verdicts[i].Score
			} else {
				ws[i].Score = analysis.TTestScore(sr.Results[i].P, q.TTest.Alpha)
			}
		}
		scores[sr.Tags[seriesTag]] = ws
	}
	return scores, nil
}

// grid crosses the values of each field (and windows in steps).
func grid(windows []int, fields map[string][]any) []Setting {
	out := []Setting{}
	for _, w := range windows {
		out = append(out, Setting{WindowSteps: w, Fields: map[string]any{}})
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		var next []Setting
		for _, s := range out {
			for _, v := range fields[k] {
				f := maps.Clone(s.Fields)
				f[k] = v
				next = append(next, Setting{WindowSteps: s.WindowSteps, Fields: f})
			}
		}
		out = next
	}
	return out
}

// Detectors are the detectors evaluated, with their grids:
//
//   - ttest, today's query (queryType ttest): windows of 3, 12 and 48
//     steps × histories of 96, 288, 1152 and 3600 points × alpha 0.001 and
//     10⁻⁶ (alpha also decides which windows enter the history).
//   - zscore and mad: windows of 1, 3 and 12 steps × histories of 288,
//     1152 and 3600 points × thresholds 3, 5 and 8.
//   - seasonal: windows of 1, 3 and 12 steps × seasons 1d and 1w × 2 and
//     4 past seasons × thresholds 3, 5 and 8.
//   - holtwinters: windows of 3 and 12 steps × seasons 1d and 1w ×
//     thresholds 3, 5 and 8 (smoothing fitted on the warm-up).
//   - peers: windows of 1, 3 and 12 steps × thresholds 3, 5 and 8; the
//     series of a corpus sharing a field are one fleet.
func Detectors() []Detector {
	anomaly := func(name string) map[string]any { return map[string]any{"queryType": "anomaly", "detector": name} }
	thresholds := []any{3, 5, 8}
	return []Detector{
		{Name: "ttest", Base: map[string]any{"queryType": "ttest"},
			Grid: grid([]int{3, 12, 48}, map[string][]any{"history": {96, 288, 1152, 3600}, "alpha": {1e-3, 1e-6}})},
		{Name: "zscore", Base: anomaly("zscore"),
			Grid: grid([]int{1, 3, 12}, map[string][]any{"history": {288, 1152, 3600}, "threshold": thresholds})},
		{Name: "mad", Base: anomaly("mad"),
			Grid: grid([]int{1, 3, 12}, map[string][]any{"history": {288, 1152, 3600}, "threshold": thresholds})},
		{Name: "seasonal", Base: anomaly("seasonal"),
			Grid: grid([]int{1, 3, 12}, map[string][]any{"season": {"1d", "1w"}, "seasons": {2, 4}, "threshold": thresholds})},
		{Name: "holtwinters", Base: anomaly("holtwinters"),
			Grid: grid([]int{3, 12}, map[string][]any{"season": {"1d", "1w"}, "threshold": thresholds})},
		{Name: "peers", Base: anomaly("peers"), Fleet: true,
			Grid: grid([]int{1, 3, 12}, map[string][]any{"threshold": thresholds})},
	}
}
