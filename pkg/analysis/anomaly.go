package analysis

import "math"

// Window is one detection window as every detector sees it: its end (ns),
// width (ns) and the summary (count, mean, M2) of its finite values, plus
// the values themselves when the points were read (nil when only window
// summaries were, in the windows read mode). Values is valid only during
// Model.Step: ModelWindows reuses its buffer, so a model copies what it
// keeps.
type Window struct {
	End, Width int64
	Summary
	Values []float64
}

// Verdict is a detector's judgement of one window against its baseline.
type Verdict struct {
	// Score is the window mean's deviation from the expected value in units
	// of the detector's threshold: >= 0, above 1 is anomalous, the same
	// meaning for every detector (+Inf when the baseline has no spread and
	// the mean differs from it).
	Score float64
	// Expected is the baseline's expected window mean; Lower and Upper bound
	// the band of window means that score at most 1.
	Expected, Lower, Upper float64
	// P and T are the t-test's p-value and statistic (NaN for the others).
	P, T float64
}

// Anomalous is the anomaly output: score above 1.
func (v Verdict) Anomalous() bool { return v.Score > 1 }

// Model is one series' baseline for one detector, fed its windows in time
// order.
type Model interface {
	// Step judges w against the baseline (ok is false when the baseline
	// cannot judge yet: w then only seeds it) and then lets w into the
	// baseline when it was not judged, or when keep accepts the verdict.
	Step(w Window, keep func(Verdict) bool) (v Verdict, ok bool)
	// Clone is an independent copy (kept state goes on from a copy).
	Clone() Model
}

// Direction says which deviations can be anomalous.
type Direction string

// The directions of the contract's direction field.
const (
	Both  Direction = "both"
	Above Direction = "above"
	Below Direction = "below"
)

// Filter holds the effect-size filters shared by every detector.
type Filter struct {
	// MinDeviation, in the series' units: a window mean closer than this to
	// the expected value is never anomalous.
	MinDeviation float64
	Direction    Direction
}

// Apply returns v as the filters see the window mean x: a score of 0 when x
// is within MinDeviation of the expected value or deviates the other way
// than Direction, and a band at least MinDeviation wide on each side.
func (f Filter) Apply(x float64, v Verdict) Verdict {
	d := x - v.Expected
	if math.Abs(d) < f.MinDeviation || f.Direction == Above && d < 0 || f.Direction == Below && d > 0 {
		v.Score = 0
	}
	if f.MinDeviation > 0 {
		v.Lower = math.Min(v.Lower, v.Expected-f.MinDeviation)
		v.Upper = math.Max(v.Upper, v.Expected+f.MinDeviation)
	}
	return v
}

// Step runs one window through m and returns the verdict after the
// filters: the windows anomalous after the filters stay out of the baseline
// (what a user does not see as anomalous is normal, so a drift smaller
// than MinDeviation is learnt).
func Step(m Model, f Filter, w Window) (Verdict, bool) {
	v, ok := m.Step(w, func(v Verdict) bool { return !f.Apply(w.Mean, v).Anomalous() })
	if ok {
		v = f.Apply(w.Mean, v)
	}
	return v, ok
}

// deviation is the verdict for mean x against expected value e with
// spread s (a standard deviation or a scaled MAD) at threshold k:
//
//	score = |x - e| / (k·s),  band = e ± k·s
//
// With no spread (s = 0, a constant baseline) any difference scores +Inf
// and equality 0. P and T are NaN.
func deviation(x, e, s, k float64) Verdict {
	v := Verdict{Expected: e, Lower: e - k*s, Upper: e + k*s, P: math.NaN(), T: math.NaN()}
	switch d := math.Abs(x - e); {
	case d == 0:
		v.Score = 0
	case s == 0:
		v.Score = math.Inf(1)
	default:
		v.Score = d / (k * s)
	}
	return v
}
