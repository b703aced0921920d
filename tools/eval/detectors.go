// Package eval measures detection quality: it runs each detector through
// the code path of Vigil's queries over labelled series, turns each
// window's result into a causal score per row, and scores the rows with
// NAB's rules (package score), at the detector's documented defaults and at
// the best setting of a small grid.
package eval

import (
	"context"
	"fmt"
	"math"
	"time"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// Setting is one configuration of a detector. The window is either a
// fixed duration (a documented default) or a number of the series' steps
// (grid settings, so that one setting means the same on a series sampled
// every 10 s and on one sampled every hour, as NAB's one-setting-per-corpus
// rule needs).
type Setting struct {
	Window      time.Duration `json:"window,omitempty"`
	WindowSteps int           `json:"windowSteps,omitempty"`
	History     int           `json:"history"`
	Alpha       float64       `json:"alpha"`
}

// WindowFor is the setting's window on a series sampled every step,
// never shorter than a second (InfluxQL's finest GROUP BY the query allows).
func (s Setting) WindowFor(step time.Duration) time.Duration {
	if s.WindowSteps == 0 {
		return s.Window
	}
	return max(time.Duration(s.WindowSteps)*step, time.Second)
}

func (s Setting) String() string {
	w := s.Window.String()
	if s.WindowSteps > 0 {
		w = fmt.Sprintf("%d steps", s.WindowSteps)
	}
	return fmt.Sprintf("window %s, history %d, alpha %g", w, s.History, s.Alpha)
}

// WindowScore is a detector's score for the window ending at End (ns):
// above 1 is anomalous at the setting's own threshold; NaN is no score.
type WindowScore struct {
	End   int64
	Score float64
}

// Detector is a detector under evaluation.
type Detector struct {
	Name     string
	Defaults Setting
	// Grid is the documented search space for the best setting.
	Grid []Setting
	// Scores runs the detector over field "value" of measurement "series"
	// in src, the rows in [from, to] sampled every step.
	Scores func(ctx context.Context, src influx.Reader, from, to time.Time, step time.Duration, s Setting) ([]WindowScore, error)
}

// Evaluated is where series are put for a detector to read.
var Evaluated = influx.Selection{Bucket: "eval", Measurement: "series", Fields: []string{"value"}}

// TTest is today's t-test query (package ttest, as a ttest panel or alert
// rule runs it), its score the contract's log(p)/log(alpha): above 1
// exactly when p < alpha.
//
// Defaults are the query's documented defaults (src/defaults.json). The
// grid crosses windows of 3, 12 and 48 steps with histories of 96, 288,
// 1152 and 3600 points and alpha 0.001 and 10⁻⁶ (alpha also decides which
// windows enter the history).
func TTest() Detector {
	d := vigil.Default.Query
	def := Setting{Window: mustDuration(d.Window), History: d.History, Alpha: d.Alpha}
	var grid []Setting
	for _, w := range []int{3, 12, 48} {
		for _, h := range []int{96, 288, 1152, 3600} {
			for _, a := range []float64{1e-3, 1e-6} {
				grid = append(grid, Setting{WindowSteps: w, History: h, Alpha: a})
			}
		}
	}
	return Detector{Name: "ttest", Defaults: def, Grid: grid, Scores: ttestScores}
}

func ttestScores(ctx context.Context, src influx.Reader, from, to time.Time, step time.Duration, s Setting) ([]WindowScore, error) {
	out, err := ttest.Run(ctx, src, ttest.Request{
		Selection: Evaluated,
		Window:    s.WindowFor(step),
		Config:    analysis.Config{History: s.History, Alpha: s.Alpha},
		From:      from,
		To:        to.Add(time.Nanosecond), // the last row's window is complete only past it: no row would carry its score
		// Points, not auto: auto decides by the density at the range's
		// end, and the windows mode's history differs in its last bits.
		Mode:      models.ModePoints,
		MaxPoints: math.MaxInt64,
	})
	if err != nil {
		return nil, err
	}
	var scores []WindowScore
	for _, sr := range out.Series {
		for i, r := range sr.Results {
			scores = append(scores, WindowScore{End: sr.Ends[i].UnixNano(), Score: math.Log(r.P) / math.Log(s.Alpha)})
		}
	}
	return scores, nil
}

func mustDuration(s string) time.Duration {
	d, err := models.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}
