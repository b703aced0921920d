// Package score scores anomaly detectors by the Numenta Anomaly Benchmark's
// rules (NAB, github.com/numenta/NAB: nab/sweeper.py for the per-row
// scores and the threshold sweep, nab/optimizer.py for the one threshold per
// corpus, nab/runner.py for the normalization), reimplemented from their
// description, and reports the plainer counts beside it: windows found,
// false alarms, precision, recall, F1 and mean delay.
//
// The rules, for a series of N rows:
//
//   - Probation: the first min(floor(0.15·N), 750) rows count for nothing:
//     they never detect and never cost (sweeper.py _getProbationaryLength).
//     Windows lying in it still count, and cost A_fn when undetected
//     (NAB drops a window with no row after probation; none of its windows
//     lies there, so its scores are the same).
//   - A row detects when its score >= the threshold; a NaN score never does.
//   - A window (the rows with Start <= t <= End) earns for its earliest
//     detection only A_tp·σ(y)/σ(-1) with y = -(right-i+1)/width, right its
//     last row index and width its row count: y = -1 at its first row, so
//     the earliest possible detection earns exactly A_tp, as sweeper.py
//     divides by maxTP = σ(-1). An undetected window costs A_fn.
//   - Every detecting row outside the windows costs A_fp·σ(y) (σ < 0 there)
//     with y = |prevRight-i|/max(prevWidth-1, 1), prevRight and prevWidth
//     those of the last window with rows before it; before the first such
//     window y = 3 and the row costs A_fp. NAB divides by prevWidth-1 and
//     fails on a one-row window: the floor of 1 is ours.
//   - σ(y) = 2/(1+e^(5y)) - 1, and -1 for y >= 3 (sweeper.py scaledSigmoid).
//   - A window with no rows (none of the series' times falls in it) cannot
//     be detected: it costs A_fn and counts in Null and Perfect like any
//     other. NAB never meets one, its windows are cut at row times.
//
// A corpus's raw score is the sum over its series at one threshold; Best
// picks the threshold with the highest raw score among every distinct score
// and +Inf (the highest on a tie, as optimizer.py's stable sort does).
// Normalized = 100·(raw-null)/(perfect-null) with null the score of
// detecting nothing (-A_fn per window) and perfect every window detected at
// its first row with no false positive (A_tp per window, runner.py); it is
// NaN when perfect == null, e.g. a corpus without windows, where NAB's
// normalization is undefined.
package score

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/tools/eval/corpus"
)

// Profile is one of NAB's application profiles: the weight of a true
// positive (A_tp), a false positive (A_fp) and a false negative (A_fn).
type Profile struct {
	Name       string
	TP, FP, FN float64
}

// NAB's three profiles, as config/profiles.json gives them.
var (
	Standard    = Profile{Name: "standard", TP: 1, FP: 0.11, FN: 1}
	RewardLowFP = Profile{Name: "reward_low_FP_rate", TP: 1, FP: 0.22, FN: 1}
	RewardLowFN = Profile{Name: "reward_low_FN_rate", TP: 1, FP: 0.11, FN: 2}
)

// Profiles are NAB's three profiles, in the order NAB reports them.
func Profiles() []Profile { return []Profile{Standard, RewardLowFP, RewardLowFN} }

// ParseProfiles reads NAB's profiles.json: {"name": {"CostMatrix":
// {"tpWeight": .., "fpWeight": .., "fnWeight": .., "tnWeight": ..}}, ..}
// (tnWeight is unused by NAB's scoring, and here). The profiles come back
// sorted by name.
func ParseProfiles(data []byte) ([]Profile, error) {
	var raw map[string]struct {
		CostMatrix struct {
			TP *float64 `json:"tpWeight"`
			FP *float64 `json:"fpWeight"`
			FN *float64 `json:"fnWeight"`
		}
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	out := make([]Profile, 0, len(raw))
	for name, p := range raw {
		m := p.CostMatrix
		if m.TP == nil || m.FP == nil || m.FN == nil {
			return nil, fmt.Errorf("profiles: %s: CostMatrix lacks tpWeight, fpWeight or fnWeight", name)
		}
		out = append(out, Profile{Name: name, TP: *m.TP, FP: *m.FP, FN: *m.FN})
	}
	slices.SortFunc(out, func(a, b Profile) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// LoadProfiles reads the profiles.json file at path (see ParseProfiles).
func LoadProfiles(path string) ([]Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseProfiles(data)
}

// Input is one series of a corpus as a detector scored it: row times (Unix
// nanoseconds, strictly increasing), one score per row (NaN: no score, never
// a detection) and the labelled windows, disjoint and in time order.
type Input struct {
	Times   []int64
	Scores  []float64
	Windows []corpus.Window
}

// Counts are the plain figures at one threshold, over a corpus.
type Counts struct {
	// Windows is the number of windows; Found those holding a detection
	// after probation.
	Windows, Found int
	// FalseAlarms counts alarms outside the windows: an alarm is a maximal
	// run of detecting rows after probation, outside every window, with no
	// scored (non-NaN) non-detecting row and no window between them, so an
	// alert firing across consecutive evaluations is one alarm. A run that
	// goes on past a window's end is a false alarm: NAB charges those rows.
	FalseAlarms int
	// Precision = Found/(Found+FalseAlarms), NaN when both are 0;
	// Recall = Found/Windows, NaN without windows; F1 their harmonic mean,
	// 2·Found/(Found+FalseAlarms+Windows), NaN when that is 0/0.
	Precision, Recall, F1 float64
	// MeanDelay is the mean over found windows of the time from the
	// window's Start to its earliest detection; 0 when none is found.
	MeanDelay time.Duration
}

// Result is a corpus's score at one threshold.
type Result struct {
	Threshold float64
	// Raw is NAB's score summed over the corpus's series; Null the raw
	// score of detecting nothing, Perfect that of detecting every window
	// at its first row and nothing else.
	Raw, Null, Perfect float64
	// Normalized = 100·(Raw-Null)/(Perfect-Null); NaN when Perfect == Null.
	Normalized float64
	Counts
}

// sigma is NAB's scaled sigmoid: 2/(1+e^(5y)) - 1, from about 0.98661 at
// y = -1 through 0 at y = 0 to -1 from y = 3 on (sweeper.py scaledSigmoid).
func sigma(y float64) float64 {
	if y >= 3 {
		return -1
	}
	return 2/(1+math.Exp(5*y)) - 1
}

// probation is the number of leading rows of an n-row series that count for
// nothing: min(floor(0.15·n), 750), 750 being NAB's 0.15·5000.
func probation(n int) int {
	return min(int(math.Floor(0.15*float64(n))), 750)
}

// series is an Input made ready to score under a profile.
type series struct {
	Input
	probation int
	// win is each row's window index, -1 outside every window.
	win []int32
	// value is what a detection at each row adds: for a window row, what
	// the window earns when this is its earliest detection; outside, the
	// (negative) cost of the false positive.
	value []float64
}

// prepare checks in and computes each row's window and value under p.
func prepare(in Input, p Profile) (series, error) {
	n := len(in.Times)
	if len(in.Scores) != n {
		return series{}, fmt.Errorf("%d times for %d scores", n, len(in.Scores))
	}
	for i := 1; i < n; i++ {
		if in.Times[i] <= in.Times[i-1] {
			return series{}, fmt.Errorf("row %d is not after row %d", i, i-1)
		}
	}
	for k, w := range in.Windows {
		if w.End < w.Start {
			return series{}, fmt.Errorf("window %d ends before it starts", k)
		}
		if k > 0 && w.Start <= in.Windows[k-1].End {
			return series{}, fmt.Errorf("window %d overlaps or precedes window %d", k, k-1)
		}
	}
	s := series{Input: in, probation: probation(n), win: make([]int32, n), value: make([]float64, n)}
	for i := range s.win {
		s.win[i] = -1
	}
	maxTP := sigma(-1)
	width := make([]int, len(in.Windows))
	for k, w := range in.Windows {
		left, right := rowsOf(in.Times, w)
		width[k] = right - left + 1
		for i := left; i <= right; i++ {
			s.win[i] = int32(k)
			s.value[i] = p.TP * sigma(-float64(right-i+1)/float64(width[k])) / maxTP
		}
	}
	prevRight, prevWidth := -1, 0
	for i := 0; i < n; i++ {
		if k := s.win[i]; k >= 0 {
			prevRight, prevWidth = i, width[k]
			continue
		}
		y := 3.0
		if prevRight >= 0 {
			y = float64(i-prevRight) / float64(max(prevWidth-1, 1))
		}
		s.value[i] = p.FP * sigma(y)
	}
	return s, nil
}

// rowsOf is the index range [left, right] of the rows in w; left > right
// when none is.
func rowsOf(times []int64, w corpus.Window) (left, right int) {
	left = sort.Search(len(times), func(i int) bool { return times[i] >= w.Start })
	right = sort.Search(len(times), func(i int) bool { return times[i] > w.End }) - 1
	return left, right
}

func prepareAll(in []Input, p Profile) ([]series, error) {
	out := make([]series, len(in))
	for j := range in {
		s, err := prepare(in[j], p)
		if err != nil {
			return nil, fmt.Errorf("series %d: %w", j, err)
		}
		out[j] = s
	}
	return out, nil
}

// At scores the corpus in at one threshold: a row detects when its score >=
// threshold.
func At(in []Input, p Profile, threshold float64) (Result, error) {
	ss, err := prepareAll(in, p)
	if err != nil {
		return Result{}, err
	}
	return at(ss, p, threshold), nil
}

func at(ss []series, p Profile, threshold float64) Result {
	r := Result{Threshold: threshold}
	var delay float64
	for _, s := range ss {
		first := make([]int, len(s.Windows))
		for k := range first {
			first[k] = -1
		}
		for i := s.probation; i < len(s.Scores); i++ {
			if !(s.Scores[i] >= threshold) {
				continue
			}
			if k := s.win[i]; k < 0 {
				r.Raw += s.value[i]
			} else if first[k] < 0 {
				first[k] = i
			}
		}
		for k, i := range first {
			if i < 0 {
				r.Raw -= p.FN
				continue
			}
			r.Raw += s.value[i]
			r.Found++
			delay += float64(s.Times[i] - s.Windows[k].Start)
		}
		r.Windows += len(s.Windows)
		r.FalseAlarms += falseAlarms(s, threshold)
	}
	r.Null, r.Perfect = -p.FN*float64(r.Windows), p.TP*float64(r.Windows)
	r.Normalized = math.NaN()
	if r.Perfect != r.Null {
		r.Normalized = 100 * (r.Raw - r.Null) / (r.Perfect - r.Null)
	}
	r.Precision = ratio(r.Found, r.Found+r.FalseAlarms)
	r.Recall = ratio(r.Found, r.Windows)
	r.F1 = ratio(2*r.Found, r.Found+r.FalseAlarms+r.Windows)
	if r.Found > 0 {
		r.MeanDelay = time.Duration(math.Round(delay / float64(r.Found)))
	}
	return r
}

// ratio is a/b, NaN when b is 0.
func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// falseAlarms counts s's alarms outside its windows at threshold (see
// Counts.FalseAlarms). A run is cut by a scored row that does not detect,
// by a probationary row and by a window, rows or none: before each
// detecting row it notes how many windows end before it.
func falseAlarms(s series, threshold float64) int {
	n, before, runBefore, inRun := 0, 0, 0, false
	for i, t := range s.Times {
		for before < len(s.Windows) && s.Windows[before].End < t {
			before++
		}
		v := s.Scores[i]
		switch {
		case i < s.probation || s.win[i] >= 0:
			inRun = false
		case math.IsNaN(v):
		case v >= threshold:
			if !inRun || before != runBefore {
				n++
			}
			inRun, runBefore = true, before
		default:
			inRun = false
		}
	}
	return n
}

// Best scores the corpus at the threshold with the highest raw score,
// searched over every distinct score and +Inf (detecting only rows scored
// +Inf, so nothing when none is); the highest threshold wins a tie. It
// sorts the scored rows after probation by score, highest first, and sweeps
// down, keeping each window's earliest detection so far: O(R log R) for R
// rows. The result is At's at the threshold found.
func Best(in []Input, p Profile) (Result, error) {
	ss, err := prepareAll(in, p)
	if err != nil {
		return Result{}, err
	}
	type row struct {
		score, value float64
		win, index   int32 // win: index over the corpus's windows, -1 outside
	}
	var rows []row
	windows := 0
	for _, s := range ss {
		for i := s.probation; i < len(s.Scores); i++ {
			if v := s.Scores[i]; !math.IsNaN(v) {
				w := int32(-1)
				if s.win[i] >= 0 {
					w = int32(windows) + s.win[i]
				}
				rows = append(rows, row{score: v, value: s.value[i], win: w, index: int32(i)})
			}
		}
		windows += len(s.Windows)
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(b.score, a.score) })

	earliest := make([]int32, windows)
	for k := range earliest {
		earliest[k] = math.MaxInt32
	}
	earned := make([]float64, windows)
	raw := -p.FN * float64(windows)
	bestThreshold, bestRaw := math.Inf(1), raw
	for i := 0; i < len(rows); {
		threshold := rows[i].score
		for ; i < len(rows) && rows[i].score == threshold; i++ {
			r := rows[i]
			switch {
			case r.win < 0:
				raw += r.value
			case earliest[r.win] == math.MaxInt32:
				raw += r.value + p.FN
				earliest[r.win], earned[r.win] = r.index, r.value
			case r.index < earliest[r.win]:
				raw += r.value - earned[r.win]
				earliest[r.win], earned[r.win] = r.index, r.value
			}
		}
		// At +Inf the rows scored +Inf detect: detecting nothing was not
		// a threshold after all.
		if raw > bestRaw || math.IsInf(threshold, 1) {
			bestThreshold, bestRaw = threshold, raw
		}
	}
	return at(ss, p, bestThreshold), nil
}
