package ttest

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// WithDetector returns req (the t-test request of an anomaly query: its
// selection, window, history, alpha, range and read mode) set to run the
// detector a names with a's settings: the one place a detector name and
// its settings become a Model.
//
//   - ttest: analysis.NewTTestModel(req.Config), the t-test's own numbers
//     in both read modes; history rule warm-up.
//   - zscore, mad: NewZScore / NewMAD(req.Config.History, threshold);
//     history rule warm-up (History points accepted twice).
//   - seasonal: NewSeasonal(season, window, seasons, threshold); a warm-up
//     of seasons + 1 seasons of windows (LookbackWindows).
//   - holtwinters: NewHoltWinters(season/window, hwAlpha, hwBeta, hwGamma,
//     threshold), the smoothing fitted on the model's own warm-up when all
//     three are 0; a warm-up of that warm-up (3 seasons fitted, 2 given)
//     and one more season (LookbackWindows). Exponential smoothing never
//     forgets its start entirely, and the fit depends on the windows it
//     saw: a query answers as a run from its own warm-up start, which is
//     the run from the beginning of the data only when the lookback
//     reaches it. Kept state goes on from the first query's start, so an
//     alert rule's answers stay consistent from one evaluation to the next.
//   - peers: no per-series model: the series are compared at each window
//     end (analysis.Peers at threshold); no warm-up.
//
// Every detector gets a's filters (minDeviation, direction). The cache key
// (Detector) is the canonical JSON of a.Identity(): the detector and every
// setting it reads.
func WithDetector(req Request, a models.Anomaly) (Request, error) {
	req.Filter = a.Filter()
	cfg, width := req.Config, int64(req.Window)
	threshold := a.Threshold
	switch a.Detector {
	case models.DetectorTTest, "":
		req.Model = func() analysis.Model { return analysis.NewTTestModel(cfg) }
	case models.DetectorZScore:
		req.Model = func() analysis.Model { return analysis.NewZScore(cfg.History, threshold) }
	case models.DetectorMAD:
		req.Model = func() analysis.Model { return analysis.NewMAD(cfg.History, threshold) }
	case models.DetectorSeasonal:
		season, seasons := int64(a.Season), a.Seasons
		if err := analysis.CheckSeasonal(season, width, seasons, threshold); err != nil {
			return req, &models.QueryError{Field: "season", Reason: err.Error()}
		}
		req.Model = func() analysis.Model { return analysis.NewSeasonal(season, width, seasons, threshold) }
		req.LookbackWindows = seasonLookback(season, width, seasons)
	case models.DetectorHoltWinters:
		period := int(a.Season / req.Window)
		alpha, beta, gamma, err := smoothing(a)
		if err != nil {
			return req, &models.QueryError{Field: "hwAlpha", Reason: err.Error()}
		}
		if err := analysis.CheckHoltWinters(period, alpha, beta, gamma, threshold); err != nil {
			return req, &models.QueryError{Field: "season", Reason: err.Error()}
		}
		req.Model = func() analysis.Model { return analysis.NewHoltWinters(period, alpha, beta, gamma, threshold) }
		// The warm-up the model seeds from (three seasons when it fits
		// its smoothing, two otherwise) and one more season.
		req.LookbackWindows = period * 4
		if !math.IsNaN(alpha) {
			req.LookbackWindows = period * 3
		}
	case models.DetectorPeers:
		req.Peers, req.PeersThreshold = true, threshold
	default:
		return req, &models.QueryError{Field: "detector", Reason: fmt.Sprintf("%q has no runner in this build", a.Detector)}
	}
	id, err := models.CanonicalJSON(a.Identity())
	if err != nil {
		return req, err
	}
	req.Detector = string(id)
	return req, nil
}

// smoothing is Holt-Winters' alpha, beta and gamma for the model: all
// three 0 (the default) are fitted on the warm-up (NaN for
// NewHoltWinters); the model fits the three together, so some 0 and others
// given is refused.
func smoothing(a models.Anomaly) (alpha, beta, gamma float64, err error) {
	switch {
	case a.HWAlpha == 0 && a.HWBeta == 0 && a.HWGamma == 0:
		return math.NaN(), math.NaN(), math.NaN(), nil
	case a.HWAlpha == 0 || a.HWBeta == 0 || a.HWGamma == 0:
		return 0, 0, 0, fmt.Errorf("hwAlpha, hwBeta and hwGamma are fitted together: give all three, or none to fit them on the warm-up")
	}
	return a.HWAlpha, a.HWBeta, a.HWGamma, nil
}

// lookbackNotice says when the cap (MaxModelLookbackWindows) cuts the
// warm-up a detector needs.
func lookbackNotice(req Request) []string {
	if req.LookbackWindows <= MaxModelLookbackWindows {
		return nil
	}
	return []string{fmt.Sprintf(
		"the detector's baseline needs %d windows of %s before the range; the warm-up reads at most %d, so the first windows in range see a shorter baseline than a run from the beginning of the data",
		req.LookbackWindows, req.Window, MaxModelLookbackWindows)}
}

// seasonLookback is the warm-up of a seasonal detector: seasons + 1
// seasons of windows, so that every position has its `seasons` past values
// at the range's first window (the extra season covers the window's own
// season and the fallback's ring). Saturated at MaxInt: the cap
// (MaxModelLookbackWindows) applies later, with its notice.
func seasonLookback(season, width int64, seasons int) int {
	per := (season + width - 1) / width
	n := float64(per) * float64(seasons+1)
	return int(math.Min(n, float64(math.MaxInt32)))
}

// judgePeers gives each window of the run's series its peer verdict: the
// series' window means are grouped by window end and compared with
// analysis.Peers (the filters applied to each verdict); an end that fewer
// than analysis.MinPeers series have gets no verdict, and its windows are
// dropped, as a window the detector cannot judge is never emitted.
func (r *runner) judgePeers() {
	if !r.req.Peers {
		return
	}
	keys := append([]string(nil), r.order...)
	sort.Strings(keys)
	series := make([]*Series, len(keys))
	for i, k := range keys {
		series[i] = r.series[k].Series
	}
	judgePeers(series, r.req.PeersThreshold, r.req.Filter)
}

// judgePeers fills the Verdicts of series (whose Ends and Means are set)
// by window end, and drops the windows without a verdict.
func judgePeers(series []*Series, threshold float64, f analysis.Filter) {
	type ref struct {
		s *Series
		i int
	}
	byEnd := map[time.Time][]ref{}
	for _, s := range series {
		s.Verdicts = make([]analysis.Verdict, len(s.Ends))
		for i, end := range s.Ends {
			byEnd[end] = append(byEnd[end], ref{s, i})
		}
	}
	judged := map[*Series][]bool{}
	for _, s := range series {
		judged[s] = make([]bool, len(s.Ends))
	}
	means := make([]float64, 0, len(series))
	for _, refs := range byEnd {
		means = means[:0]
		for _, rf := range refs {
			means = append(means, rf.s.Means[rf.i])
		}
		vs, ok := analysis.Peers(means, threshold)
		if !ok {
			continue
		}
		for k, rf := range refs {
			rf.s.Verdicts[rf.i] = f.Apply(rf.s.Means[rf.i], vs[k])
			judged[rf.s][rf.i] = true
		}
	}
	for _, s := range series {
		n := 0
		for i, ok := range judged[s] {
			if ok {
				s.Ends[n], s.Verdicts[n], s.Means[n] = s.Ends[i], s.Verdicts[i], s.Means[i]
				n++
			}
		}
		s.Ends, s.Verdicts, s.Means = s.Ends[:n], s.Verdicts[:n], s.Means[:n]
	}
}

// modelBytes is about how much memory a series' model state holds: the
// model's own count when it gives one (Bytes), else a bound from the
// request: History points (8 bytes each) or LookbackWindows window
// summaries (24 bytes each), whichever is larger, plus the open window.
func modelBytes(mw *analysis.ModelWindows, req Request) int64 {
	n, known := mw.Bytes()
	if known {
		return n
	}
	return n + max(8*int64(req.Config.History), 24*int64(min(req.LookbackWindows, MaxModelLookbackWindows))) + 256
}

// appendWindow appends src's window i (its end and its result or verdict).
func (s *Series) appendWindow(src *Series, i int) {
	s.Ends = append(s.Ends, src.Ends[i])
	if src.Results != nil {
		s.Results = append(s.Results, src.Results[i])
	}
	if src.Verdicts != nil {
		s.Verdicts = append(s.Verdicts, src.Verdicts[i])
		s.Means = append(s.Means, src.Means[i])
	}
}

// dropFirst drops the first n windows.
func (s *Series) dropFirst(n int) {
	s.Ends = s.Ends[n:]
	if s.Results != nil {
		s.Results = s.Results[n:]
	}
	if s.Verdicts != nil {
		s.Verdicts, s.Means = s.Verdicts[n:], s.Means[n:]
	}
}

// MaxLookback is the farthest before the range's start that this request's
// warm-up reads: MaxLookback(window) for the history rule, or its
// LookbackWindows (at most MaxModelLookbackWindows) and one window for the
// alignment when that is further. A source loaded ahead (a Kafka topic's
// store) must hold this much before the range.
func (r Request) MaxLookback() time.Duration {
	n := int64(min(r.LookbackWindows, MaxModelLookbackWindows)) + 1
	return max(MaxLookback(r.Window), analysis.SatDuration(n, r.Window))
}
