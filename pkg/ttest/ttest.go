// Package ttest runs Vigil's t-test query, and the anomaly query's
// detectors, over InfluxDB: it decides how to read (every point, or one
// summary row per window computed by InfluxDB), warms each series' history
// from the data before the range, streams the result through the detectors
// of package analysis (the t-test's Detector, or any analysis.Model through
// analysis.ModelWindows, or the cross-series analysis.Peers), and returns
// the emitted windows per series. It holds no statistics of its own.
package ttest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// Source is what the t-test reads: influx.Reader (InfluxDB, or an
// in-memory fake in tests).
type Source = influx.Reader

// Request is one t-test query.
type Request struct {
	Selection influx.Selection
	Window    time.Duration
	Config    analysis.Config
	From, To  time.Time
	Mode      models.Mode
	MaxPoints int64

	// Model, when set, makes a new series' detector: the query then runs
	// it (analysis.ModelWindows, both read modes) instead of the t-test's
	// Detector, and each window gets a Verdict. nil (and Peers false): the
	// t-test, exactly as before.
	Model func() analysis.Model
	// Peers, instead of Model, compares the series with each other at each
	// window end (analysis.Peers at PeersThreshold): no baseline, no
	// warm-up.
	Peers          bool
	PeersThreshold float64
	// Filter holds the effect-size filters applied to every verdict.
	Filter analysis.Filter
	// Detector names the detector and its settings (filters included) in
	// the cache key: requests with the same Detector must build the same
	// Model. "" for the t-test's own path.
	Detector string
	// LookbackWindows, when > 0, is how many windows before the range the
	// detector's baseline needs (a seasonal detector: its seasons and one
	// more); the warm-up reads that many, at most MaxModelLookbackWindows,
	// with no doubling. 0: the history rule (History points accepted
	// twice, see the warm-up constants).
	LookbackWindows int
}

// modelled: the request runs a Model or Peers, not the t-test's Detector.
func (r Request) modelled() bool { return r.Model != nil || r.Peers }

// Series is one field (and tag set) and the windows emitted for it.
type Series struct {
	Field   string
	Tags    map[string]string
	Ends    []time.Time
	Results []analysis.Result
	// Verdicts and Means (the window means, the band output's value) are
	// the windows' judgements when the request has a Model or Peers
	// (Results is then nil).
	Verdicts []analysis.Verdict
	Means    []float64
}

// Outcome is a t-test query's answer.
type Outcome struct {
	Series []*Series
	// Mode is the read mode used (never auto).
	Mode models.Mode
	// Scripts are the InfluxQL statements run, in order.
	Scripts []string
	// Lookback is how far before the range's first window the history was warmed.
	Lookback time.Duration
	// Notices tell the user about partial or empty results.
	Notices []string
	// PointsRead counts the points (or, in windows mode, window rows) read.
	PointsRead int64
	// State says whether a Cache answered from kept state (StateWarm) or
	// ran without it (StateCold); "" when no Cache was asked.
	State string
}

// Warm-up: the history is warmed from the windows before the range. The
// first lookback is enough windows to fill the history twice, at the density
// the data shows; it doubles while some series' history was not refilled
// twice over, up to maxLookbackWindows, and stops when a doubling finds no
// older data (a gap that long resets the history, as if the data began
// after it).
const (
	maxLookbackWindows = 2048
	probeWindows       = 24
	// autoShare: auto mode reads points while the estimate stays under this
	// share of maxPoints, leaving room for denser stretches.
	autoShare = 0.5
	// MaxModelLookbackWindows caps a detector's LookbackWindows: 16384
	// windows hold five weeks of 5-minute windows (a weekly seasonal
	// detector with four past seasons needs 10,080) and 11 days of 1-minute
	// windows. When the cap cuts the warm-up, a notice says so: the first
	// windows in range then see a shorter baseline than a run from the
	// beginning of the data would.
	MaxModelLookbackWindows = 16384
)

// MaxLookback is the farthest before a range's start that a query with
// this window reads for its warm-up (one more window for the alignment):
// (maxLookbackWindows + 1) × window, whatever the history. It fits in a
// time.Duration for windows up to models.MaxWindow (the test proves it);
// beyond, it saturates rather than wrapping negative.
func MaxLookback(window time.Duration) time.Duration {
	return analysis.SatDuration(maxLookbackWindows+1, window)
}

// Run answers one t-test query.
func Run(ctx context.Context, src Source, req Request) (*Outcome, error) {
	out, _, err := runWith(ctx, src, req, 0)
	return out, fieldError(err)
}

// fieldError names the query field when a value read is not a number (a
// field whose type differs between shards).
func fieldError(err error) error {
	var nn *influx.NotNumericError
	if errors.As(err, &nn) {
		return &models.QueryError{Field: "fields", Reason: nn.Error() + " (the t-test needs numbers)"}
	}
	return err
}

// runWith answers a query and also returns the runner, with each series'
// state at settleAt (ns, not before the range's first window start; 0 for
// none) for the Cache; the runner is nil when no window ends in range.
func runWith(ctx context.Context, src Source, req Request, settleAt int64) (*Outcome, *runner, error) {
	w := req.Window
	start := alignDown(req.From, w)
	stop := alignDown(req.To, w)
	out := &Outcome{}
	if !stop.After(start) || !stop.After(req.From) {
		out.Notices = append(out.Notices, fmt.Sprintf(
			"no %s window ends inside the time range (%s): widen the range or shorten the window",
			w, req.To.Sub(req.From).Round(time.Second)))
		return out, nil, nil
	}
	if len(req.Selection.Fields) == 0 {
		return nil, nil, &models.QueryError{Field: "fields", Reason: "is empty"}
	}

	p, err := probe(ctx, src, req, maxTime(start, stop.Add(-analysis.SatDuration(probeWindows, w))), stop, out)
	if err != nil {
		return nil, nil, err
	}
	mode := req.Mode
	if mode == models.ModeAuto {
		mode = models.ModePoints
		span := time.Duration(analysis.SatAdd(int64(stop.Sub(start)), int64(analysis.SatDuration(int64(p.lookbackWindows), w))))
		if estimate := p.density * span.Seconds(); estimate > autoShare*float64(req.MaxPoints) {
			mode = models.ModeWindows
		}
	}
	run := &runner{src: src, req: req, start: start, stop: stop, out: out, settleAt: settleAt}
	out.Notices = append(out.Notices, lookbackNotice(req)...)
	for lookback := p.lookbackWindows; ; {
		if mode == models.ModeWindows {
			err = run.windows(ctx, lookback)
		} else {
			err = run.points(ctx, lookback)
		}
		var tooMany *models.TooManyPointsError
		if errors.As(err, &tooMany) && req.Mode == models.ModeAuto && mode == models.ModePoints {
			mode = models.ModeWindows // the estimate was low: summarise inside InfluxDB instead
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if run.warm || lookback >= maxLookbackWindows || !run.prefixGrew {
			out.Mode = mode
			out.Lookback = analysis.SatDuration(int64(lookback), w)
			break
		}
		lookback = min(2*lookback, maxLookbackWindows)
	}
	run.judgePeers()
	out.Series = run.result()
	if len(out.Series) == 0 {
		out.Notices = append(out.Notices, noData(req.Selection))
	}
	return out, run, nil
}

// probeResult is what a small look at the end of the range tells.
type probeResult struct {
	density         float64 // points per second, all series together
	lookbackWindows int
}

// probe counts points per series over the last windows of the range, which
// gives the density (to pick the read mode and the lookback), and checks
// that every field is numeric.
func probe(ctx context.Context, src Source, req Request, from, to time.Time, out *Outcome) (probeResult, error) {
	if err := checkNumeric(ctx, src, req.Selection); err != nil {
		return probeResult{}, err
	}
	_, stmt := influx.SeriesCountStatement(req.Selection, from, to)
	out.Scripts = append(out.Scripts, stmt)
	counts, err := src.SeriesCounts(ctx, req.Selection, from, to)
	if err != nil {
		return probeResult{}, err
	}
	var total, series int64
	for _, c := range counts {
		total += c.N
		series++
	}
	p := probeResult{density: float64(total) / to.Sub(from).Seconds()}
	// Enough windows to fill the history twice; without data to go by,
	// assume one point per second.
	perWindow := req.Window.Seconds()
	if series > 0 && total > 0 {
		perWindow = float64(total) / float64(series) / (float64(to.Sub(from)) / float64(req.Window))
	}
	// Capped before the conversion: a float beyond int's range converts to
	// an undefined int. (At most 2·10^7 / 10^-9 = 2·10^16 with history's
	// bound, which fits, but history's bound must not decide it.)
	p.lookbackWindows = int(max(1, min(math.Ceil(2*float64(req.Config.History)/math.Max(perWindow, 1e-9)), maxLookbackWindows)))
	switch {
	case req.Peers:
		p.lookbackWindows = 0 // no baseline: each window end is judged on its own
	case req.LookbackWindows > 0:
		p.lookbackWindows = min(req.LookbackWindows, MaxModelLookbackWindows)
	}
	return p, nil
}

// checkNumeric rejects a field that holds strings or booleans (InfluxDB's
// field keys say; a field without data is not rejected).
func checkNumeric(ctx context.Context, src Source, sel influx.Selection) error {
	keys, err := src.FieldKeys(ctx, sel.Bucket, sel.Measurement)
	if err != nil {
		return err
	}
	wanted := map[string]bool{}
	for _, f := range sel.Fields {
		wanted[f] = true
	}
	for _, k := range keys {
		switch {
		case !wanted[k.Name]:
		case k.Type == "float", k.Type == "integer", k.Type == "unsigned":
		default:
			return &models.QueryError{Field: "fields", Reason: fmt.Sprintf("field %s holds %s values; the t-test needs numbers", influx.String(k.Name), k.Type)}
		}
	}
	return nil
}

// runner holds one run's state.
type runner struct {
	src         Source
	req         Request
	start, stop time.Time
	out         *Outcome
	// per series, keyed by field and tags
	series map[string]*state
	order  []string
	// warm: every series' history was refilled twice in the lookback.
	warm bool
	// prefixGrew: this lookback found more points than the previous one.
	prefixGrew   bool
	prefixPoints int64
	read         int64
	// settleAt, when not 0, is where a cached state is taken (Cache): each
	// series' state once its windows ending by settleAt are closed.
	settleAt int64
	settled  map[*state]*state
}

type state struct {
	*Series
	points  *analysis.Windows
	windows *analysis.WindowDetector
	// model: a Model's (or Peers') series, in either read mode.
	model *analysis.ModelWindows
	// prefixAccepted: points that entered the history during the lookback.
	prefixAccepted int
	// tail holds the points read from the runner's settleAt on (Cache).
	tail points
}

// points are a series' points in time order.
type points struct {
	t []int64
	v []float64
}

func (p *points) add(t int64, v float64) { p.t, p.v = append(p.t, t), append(p.v, v) }

func (r *runner) reset() {
	r.series = map[string]*state{}
	r.order = nil
	r.read = 0
	r.settled = map[*state]*state{}
}

// settle takes st's snapshot at settleAt (once), closing its open window
// first when that window ends by then.
func (r *runner) settle(st *state) {
	if r.settleAt == 0 || r.settled[st] != nil {
		return
	}
	if st.points != nil {
		if res, end, ok := st.points.Flush(r.settleAt); ok {
			st.record(end, res, r.req.From)
		}
	}
	if st.model != nil { // in windows mode no window is open: nothing to flush
		if c, ok := st.model.Flush(r.settleAt); ok {
			st.recordModel(c, r.req.From)
		}
	}
	r.settled[st] = st.snapshot()
}

// snapshot is an independent copy of the state's detector (not its results).
func (st *state) snapshot() *state {
	c := &state{Series: &Series{Field: st.Field, Tags: st.Tags}, prefixAccepted: st.prefixAccepted}
	if st.points != nil {
		c.points = st.points.Clone()
	}
	if st.windows != nil {
		c.windows = st.windows.Clone()
	}
	if st.model != nil {
		c.model = st.model.Clone()
	}
	return c
}

// states gives the state of field i of a tag set, looked up (or created)
// the first time that field has a value there: a field a tag set never has
// gets no series.
func (r *runner) states(tags map[string]string) func(i int) *state {
	found := make([]*state, len(r.req.Selection.Fields))
	return func(i int) *state {
		if found[i] == nil {
			found[i] = r.lookupSeries(r.req.Selection.Fields[i], tags, r.newPointsState)
		}
		return found[i]
	}
}

// newPointsState is a series' state in points mode: no history yet.
func (r *runner) newPointsState() *state {
	if r.req.modelled() {
		return r.newModelState()
	}
	return &state{points: &analysis.Windows{Detector: analysis.NewDetector(r.req.Config), Width: int64(r.req.Window)}}
}

// newWindowsState is a series' state in windows mode: no history yet.
func (r *runner) newWindowsState() *state {
	if r.req.modelled() {
		return r.newModelState()
	}
	return &state{windows: analysis.NewWindowDetector(r.req.Config)}
}

// newModelState is a series' state for a Model (or Peers, with no model:
// its windows are only summarized), in either read mode.
func (r *runner) newModelState() *state {
	mw := &analysis.ModelWindows{Filter: r.req.Filter, Width: int64(r.req.Window)}
	if !r.req.Peers {
		mw.Model = r.req.Model()
	}
	return &state{model: mw}
}

// lookupSeries returns the state of a field and tag set, creating it.
func (r *runner) lookupSeries(field string, tags map[string]string, newState func() *state) *state {
	key := seriesKey(field, tags)
	st, ok := r.series[key]
	if !ok {
		st = newState()
		st.Series = &Series{Field: field, Tags: tags}
		r.series[key] = st
		r.order = append(r.order, key)
	}
	return st
}

func (r *runner) count(n int64) error {
	r.read += n
	if r.read > r.req.MaxPoints {
		return &models.TooManyPointsError{MaxPoints: r.req.MaxPoints,
			Hint: `shorten the time range, use "mode": "windows" to read one row per window`}
	}
	return nil
}

// points reads every point: the lookback first, then the range.
func (r *runner) points(ctx context.Context, lookback int) error {
	r.reset()
	prefixStart := r.prefixStart(lookback)
	if err := r.streamPoints(ctx, prefixStart, r.start, false); err != nil {
		return err
	}
	prefix := r.read
	r.prefixGrew = prefix > r.prefixPoints
	r.prefixPoints = prefix
	for _, st := range r.series {
		if st.model != nil {
			st.model.Flush(r.start.UnixNano())
			st.prefixAccepted = st.model.Accepted()
			continue
		}
		st.points.Flush(r.start.UnixNano())
		st.prefixAccepted = st.points.Accepted()
	}
	r.warm = r.allWarm()
	if err := r.streamPoints(ctx, r.start, r.stop, true); err != nil {
		return err
	}
	r.finishPoints()
	return nil
}

// finishPoints settles the series that had no point after settleAt and
// closes every window complete by the range's end.
func (r *runner) finishPoints() {
	for _, key := range r.order {
		st := r.series[key]
		r.settle(st)
		if st.model != nil {
			if c, ok := st.model.Flush(r.stop.UnixNano()); ok {
				st.recordModel(c, r.req.From)
			}
			continue
		}
		if res, end, ok := st.points.Flush(r.stop.UnixNano()); ok {
			st.record(end, res, r.req.From)
		}
	}
	r.out.PointsRead = r.read
}

// streamPoints reads the points in [from, to) into the series' detectors;
// emit: they are in the range (not the warm-up lookback).
func (r *runner) streamPoints(ctx context.Context, from, to time.Time, emit bool) error {
	if !to.After(from) {
		return nil
	}
	_, stmt := influx.PointsStatement(r.req.Selection, from, to)
	r.out.Scripts = append(r.out.Scripts, stmt)
	return r.src.Points(ctx, r.req.Selection, from, to, func(b influx.Batch) error {
		states := r.states(b.Tags)
		for j, ts := range b.Times {
			for i := 0; i < b.Width; i++ {
				x := b.Value(j, i)
				if math.IsNaN(x) {
					continue // this point has no such field
				}
				if err := r.count(1); err != nil {
					return err
				}
				r.feed(states(i), ts, x, emit)
			}
		}
		return nil
	})
}

// feed adds one point to a series. In the range (emit) it records the
// windows the point closes and, from settleAt on, takes the series' settled
// snapshot first and keeps the point in its tail (Cache).
func (r *runner) feed(st *state, ts int64, x float64, emit bool) {
	if emit && r.settleAt != 0 && ts >= r.settleAt {
		r.settle(st)
		st.tail.add(ts, x)
	}
	if st.model != nil {
		if c, ok := st.model.Add(ts, x); ok && emit {
			st.recordModel(c, r.req.From)
		}
		return
	}
	if res, end, ok := st.points.Add(ts, x); ok && emit {
		st.record(end, res, r.req.From)
	}
}

// windows reads one row per window and series (count, mean, standard
// deviation, computed by InfluxDB), lookback and range in one statement, and
// runs WindowDetector over them.
func (r *runner) windows(ctx context.Context, lookback int) error {
	r.reset()
	// InfluxDB misplaces a window that begins before 1677-09-21 (its start
	// wraps around): window rows start at the first whole window.
	first := time.Unix(0, analysis.FirstWindowStart(int64(r.req.Window))).UTC()
	return r.readWindows(ctx, maxTime(r.prefixStart(lookback), first))
}

// prefixStart is where a warm-up of lookback windows starts reading: no
// earlier than the first representable instant.
func (r *runner) prefixStart(lookback int) time.Time {
	return analysis.ClampTime(r.start.Add(-analysis.SatDuration(int64(lookback), r.req.Window)))
}

// readWindows reads the window rows in [prefixStart, stop) into the series'
// detectors (cloned cached states, or new ones).
func (r *runner) readWindows(ctx context.Context, prefixStart time.Time) error {
	_, statement := influx.WindowStatsStatement(r.req.Selection, prefixStart, r.stop, r.req.Window)
	r.out.Scripts = append(r.out.Scripts, statement)
	type row struct {
		end int64
		sum analysis.Summary
	}
	rows := map[*state][]row{}
	err := r.src.WindowStats(ctx, r.req.Selection, prefixStart, r.stop, r.req.Window, func(w influx.WindowStat) error {
		if err := r.count(1); err != nil {
			return err
		}
		st := r.lookupSeries(w.Field, w.Tags, r.newWindowsState)
		s := analysis.Summary{N: int(w.N), Mean: w.Mean}
		if s.N > 1 && !math.IsNaN(w.SD) {
			s.M2 = w.SD * w.SD * float64(s.N-1)
		}
		rows[st] = append(rows[st], row{w.End.UnixNano(), s})
		return nil
	})
	if err != nil {
		return err
	}
	var prefix int64
	start := r.start.UnixNano()
	for st, rs := range rows {
		sort.Slice(rs, func(i, j int) bool { return rs[i].end < rs[j].end })
		for _, w := range rs {
			if r.settleAt != 0 && w.end > r.settleAt {
				r.settle(st)
			}
			if st.model != nil {
				win := analysis.Window{End: w.end, Width: int64(r.req.Window), Summary: w.sum}
				if c, ok := st.model.Window(win); ok {
					st.recordModel(c, r.req.From)
				}
			} else if res, ok := st.windows.Window(w.sum); ok {
				st.record(w.end, res, r.req.From)
			}
			if w.end <= start {
				prefix += int64(w.sum.N)
				st.prefixAccepted = st.accepted()
			}
		}
	}
	for _, st := range r.series {
		r.settle(st)
	}
	r.prefixGrew = prefix > r.prefixPoints
	r.prefixPoints = prefix
	r.warm = r.allWarm()
	r.out.PointsRead = r.read
	return nil
}

// record keeps a window's result when the window ends inside the range.
func (s *Series) record(end int64, res analysis.Result, from time.Time) {
	t := time.Unix(0, end).UTC()
	if !t.After(from) {
		return
	}
	s.Ends = append(s.Ends, t)
	s.Results = append(s.Results, res)
}

// recordModel keeps a model's window when it ends inside the range.
func (s *Series) recordModel(c analysis.Closed, from time.Time) {
	t := time.Unix(0, c.End).UTC()
	if !t.After(from) {
		return
	}
	s.Ends = append(s.Ends, t)
	s.Verdicts = append(s.Verdicts, c.Verdict)
	s.Means = append(s.Means, c.Mean)
}

// accepted is the number of points that entered the series' baseline.
func (st *state) accepted() int {
	switch {
	case st.model != nil:
		return st.model.Accepted()
	case st.windows != nil:
		return st.windows.Accepted()
	}
	return st.points.Accepted()
}

// allWarm: every series refilled its history twice during the lookback
// (the history rule). A detector with a fixed LookbackWindows is warm once
// that lookback is read (gaps in it are gaps in its baseline, as in a run
// from the beginning), and Peers needs no warm-up.
func (r *runner) allWarm() bool {
	if r.req.Peers || r.req.LookbackWindows > 0 {
		return len(r.series) > 0
	}
	for _, st := range r.series {
		if st.prefixAccepted < 2*r.req.Config.History {
			return false
		}
	}
	return len(r.series) > 0
}

func (r *runner) result() []*Series {
	out := make([]*Series, 0, len(r.order))
	keys := append([]string(nil), r.order...)
	sort.Strings(keys)
	for _, k := range keys {
		if st := r.series[k]; len(st.Ends) > 0 {
			out = append(out, st.Series)
		}
	}
	return out
}

// alignDown is the start of t's window, t clamped to the instants
// UnixNano holds (1677 to 2262) first: a range beyond would wrap around to
// the other end.
func alignDown(t time.Time, w time.Duration) time.Time {
	return time.Unix(0, analysis.WindowStart(analysis.UnixNano(t), int64(w))).UTC()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func seriesKey(field string, tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(field)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + tags[k])
	}
	return b.String()
}

// noData is the notice for a range without data.
func noData(sel influx.Selection) string {
	return fmt.Sprintf("no data for measurement %s, fields %s in bucket %s in this time range",
		influx.String(sel.Measurement), quoteList(sel.Fields), influx.String(sel.Bucket))
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = influx.String(n)
	}
	return strings.Join(q, ", ")
}
