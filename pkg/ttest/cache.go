package ttest

import (
	"container/list"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// Cache keeps t-test state between queries, per query identity (bucket,
// measurement, fields, tag filter, window, history, alpha, read mode), so
// that a query over a range sliding forward, such as an alert rule's
// now-30m at every evaluation, reads only what is new.
//
// An entry holds every series' detector state at its settled time S (the
// end of a window, Horizon windows before the end of the last range read),
// the results of the windows ending by S, and, in points mode, the points
// read since S. A query whose range starts inside what the entry covers
// reads only what is new: in points mode the points after the last ones
// read, once a count and sum of the points since S per series (one row per
// series) shows none arrived late or changed; when some did, it reads again
// from S. In windows
// mode it reads the window rows from S. The windows up to S come from the
// entry, the later ones from a copy of the state that the points since S
// advance; the entry then moves on to the new settled time. So late points
// for the last Horizon windows are taken into account, and points arriving
// for windows before S are not reflected in cached answers (a query the
// entry cannot answer, such as a range older than it, runs without it and
// starts a new entry).
//
// The answer equals the stateless query's on the same data, because the
// entry is the stateless run continued (the stateless run's own warm-up
// makes its history the same points; only rounding from a different start
// can differ, at 1e-12 relative). Each Grafana instance keeps its own; a
// cold cache only costs time.
type Cache struct {
	// MaxBytes caps the state kept; least recently used entries go first.
	MaxBytes int64
	// Horizon is how many windows before the end of the last range read are
	// read again, for late points.
	Horizon int
	// Metrics, when set, is told of hits, misses, evictions and the bytes kept.
	Metrics CacheMetrics

	mu      sync.Mutex
	lru     *list.List // of *entry, most recently used first
	entries map[string]*list.Element
	bytes   int64
}

// CacheMetrics receives the cache's counters (Prometheus in the plugin).
type CacheMetrics interface {
	Hit()
	Miss()
	Evict()
	Bytes(total int64)
}

// entry is one query identity's state.
type entry struct {
	key string
	mu  sync.Mutex // one query advances an entry at a time
	// mode is the read mode the entry's first query resolved.
	mode models.Mode
	// origin and settled (ns): results are kept for the windows ending in
	// (origin, settled]; the detectors are as they were at settled.
	origin, settled int64
	lookback        time.Duration
	// readUntil (ns): points mode has read every point in [settled,
	// readUntil), kept as each series' tail.
	readUntil int64
	// span is the longest range answered, which decides how far back
	// results are kept.
	span   time.Duration
	series map[string]*cachedSeries
	bytes  int64
}

type cachedSeries struct {
	state   *state // detector at settled
	tail    points // points mode: the points in [settled, readUntil)
	ends    []time.Time
	results []analysis.Result
}

// Key is a query's cache identity.
func Key(req Request) string {
	tags := make([]string, 0, len(req.Selection.Tags))
	for k, v := range req.Selection.Tags {
		tags = append(tags, k+"="+v)
	}
	sort.Strings(tags)
	return fmt.Sprintf("%q %q %q %q %s %d %v %s", req.Selection.Bucket, req.Selection.Measurement,
		req.Selection.Fields, tags, req.Window, req.Config.History, req.Config.Alpha, req.Mode)
}

// Run answers a t-test query from the cache where it can, reading only
// what is new, and updates the cache.
func (c *Cache) Run(ctx context.Context, src Source, req Request) (*Outcome, error) {
	e := c.entry(Key(req))
	e.mu.Lock()
	defer e.mu.Unlock()
	w := req.Window
	start, stop := alignDown(req.From, w), alignDown(req.To, w)
	settleAt := analysis.ClampTime(stop.Add(-analysis.SatDuration(int64(c.horizon()), w)))
	var out *Outcome
	var r *runner
	var err error
	if e.series != nil && e.covers(start, stop) {
		c.count(true)
		out, r, err = e.advance(ctx, src, req, start, stop, settleAt)
	} else {
		c.count(false)
		out, r, err = runSettled(ctx, src, req, maxTime(settleAt, start))
		if err == nil && r != nil {
			e.reset(out, start, stop)
		}
	}
	if err == nil && r != nil {
		e.store(r, r.settleAt, stop.Sub(start))
	}
	c.resize(e)
	if err != nil {
		return nil, fieldError(err)
	}
	return out, nil
}

// covers reports whether the entry can answer [start, stop): the range
// starts after the entry's first kept window, and no further beyond the
// settled time than the warm-up lookback (else a stateless run reads less).
func (e *entry) covers(start, stop time.Time) bool {
	s := time.Unix(0, e.settled)
	return start.UnixNano() >= e.origin && !start.After(s.Add(e.lookback)) && !stop.Before(s)
}

// runSettled is the stateless run, also taking the series' states at settleAt.
func runSettled(ctx context.Context, src Source, req Request, settleAt time.Time) (*Outcome, *runner, error) {
	out, r, err := runWith(ctx, src, req, settleAt.UnixNano())
	if out != nil {
		out.State = StateCold
	}
	return out, r, err
}

// reset starts the entry afresh from a stateless run over a range from start.
func (e *entry) reset(out *Outcome, start, stop time.Time) {
	e.mode, e.lookback, e.origin, e.span, e.readUntil = out.Mode, out.Lookback, start.UnixNano(), 0, stop.UnixNano()
	e.series = map[string]*cachedSeries{}
}

// advance answers [start, stop) from the entry: it reads [settled, stop)
// into copies of the cached states and joins the kept results before.
func (e *entry) advance(ctx context.Context, src Source, req Request, start, stop, settleAt time.Time) (*Outcome, *runner, error) {
	settled := time.Unix(0, e.settled).UTC()
	if settleAt.Before(settled) {
		settleAt = settled
	}
	out := &Outcome{Mode: e.mode, Lookback: e.lookback, State: StateWarm}
	run := &runner{src: src, req: req, start: settled, stop: stop, out: out}
	run.req.From = settled // record every window after settled; the answer filters
	run.reset()
	run.settleAt = settleAt.UnixNano()
	for key, cs := range e.series {
		st := cs.state.snapshot()
		run.series[key] = st
		run.order = append(run.order, key)
	}
	sort.Strings(run.order)
	if e.mode == models.ModeWindows {
		if stop.After(settled) {
			if err := run.readWindows(ctx, settled); err != nil {
				return nil, nil, err
			}
		}
	} else if err := e.advancePoints(ctx, src, run, settled); err != nil {
		return nil, nil, err
	}
	// The answer: kept windows in range, then the new ones.
	from := req.From
	keys := map[string]bool{}
	for k := range e.series {
		keys[k] = true
	}
	for k := range run.series {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		var s *Series
		if cs := e.series[k]; cs != nil {
			s = &Series{Field: cs.state.Field, Tags: cs.state.Tags}
			for i, end := range cs.ends {
				if end.After(from) && !end.After(stop) {
					s.Ends, s.Results = append(s.Ends, end), append(s.Results, cs.results[i])
				}
			}
		}
		if st := run.series[k]; st != nil {
			if s == nil {
				s = &Series{Field: st.Field, Tags: st.Tags}
			}
			for i, end := range st.Ends {
				// Points read beyond the range (a query that read further
				// shares the entry) may have closed windows after it.
				if end.After(from) && !end.After(stop) {
					s.Ends, s.Results = append(s.Ends, end), append(s.Results, st.Results[i])
				}
			}
		}
		if len(s.Ends) > 0 {
			out.Series = append(out.Series, s)
		}
	}
	if len(out.Series) == 0 {
		out.Notices = append(out.Notices, noData(req.Selection))
	}
	return out, run, nil
}

// advancePoints brings the tails up to the query's end and replays them
// into copies of the settled states: it reads the points after readUntil,
// or every point from settled when a count shows points that arrived late.
func (e *entry) advancePoints(ctx context.Context, src Source, run *runner, settled time.Time) error {
	req := run.req
	tails := map[string]*points{}
	for key, cs := range e.series {
		t := cs.tail
		tails[key] = &points{t: append([]int64(nil), t.t...), v: append([]float64(nil), t.v...)}
	}
	// The late check (a count and sum per series since settled) runs while the new
	// points are read; when it finds some that arrived late, every point
	// from settled is read again.
	from := time.Unix(0, e.readUntil)
	to := maxTime(req.To, from)
	var late bool
	var rows int64
	var countErr error
	var wg sync.WaitGroup
	if e.readUntil > e.settled {
		_, stmt := influx.SeriesCountStatement(req.Selection, settled, from)
		run.out.Scripts = append(run.out.Scripts, stmt)
		wg.Add(1)
		go func() {
			defer wg.Done()
			late, rows, countErr = e.lateSince(ctx, src, req.Selection, settled)
		}()
	}
	err := readTails(ctx, src, run, tails, from, to)
	wg.Wait()
	if countErr != nil {
		return countErr
	}
	run.read += rows
	if late && err == nil {
		tails = map[string]*points{}
		err = readTails(ctx, src, run, tails, settled, to)
	}
	if err != nil {
		return err
	}
	// Replay each tail from the settled state.
	for key, st := range run.series {
		tail := tails[key]
		if tail == nil {
			tail = &points{}
		}
		for j, ts := range tail.t {
			run.feed(st, ts, tail.v[j], true)
		}
	}
	run.finishPoints()
	e.readUntil = max(e.readUntil, to.UnixNano())
	return nil
}

// readTails appends the points in [from, to) to each series' tail,
// creating the series that are new.
func readTails(ctx context.Context, src Source, run *runner, tails map[string]*points, from, to time.Time) error {
	if !to.After(from) {
		return nil
	}
	req := run.req
	_, stmt := influx.PointsStatement(req.Selection, from, to)
	run.out.Scripts = append(run.out.Scripts, stmt)
	return src.Points(ctx, req.Selection, from, to, func(b influx.Batch) error {
		for i := 0; i < b.Width; i++ {
			key := seriesKey(req.Selection.Fields[i], b.Tags)
			for j, ts := range b.Times {
				x := b.Value(j, i)
				if math.IsNaN(x) {
					continue
				}
				if err := run.count(1); err != nil {
					return err
				}
				if tails[key] == nil {
					tails[key] = &points{}
					run.lookupSeries(req.Selection.Fields[i], b.Tags, run.newPointsState)
				}
				tails[key].add(ts, x)
			}
		}
		return nil
	})
}

// lateSince counts and sums each series' points in [settled, readUntil):
// late is true when a count or sum differs from the series' tail (points
// arrived late, were overwritten with other values, or were deleted). rows
// is the number of count rows read.
func (e *entry) lateSince(ctx context.Context, src Source, sel influx.Selection, settled time.Time) (late bool, rows int64, err error) {
	counts, err := src.SeriesCounts(ctx, sel, settled, time.Unix(0, e.readUntil))
	if err != nil {
		return false, 0, err
	}
	seen := 0
	for _, c := range counts {
		cs := e.series[seriesKey(c.Field, c.Tags)]
		if cs == nil || int64(len(cs.tail.t)) != c.N || !cs.tail.sums(c.Sum) {
			return true, int64(len(counts)), nil
		}
		seen++
	}
	for _, cs := range e.series {
		if len(cs.tail.t) > 0 {
			seen--
		}
	}
	return seen != 0, int64(len(counts)), nil
}

// store moves the entry on to the states the run settled, keeping the
// results of the windows ending by then and dropping those older than the
// longest range answered.
func (e *entry) store(r *runner, settleAt int64, span time.Duration) {
	e.span = max(e.span, span)
	settled := max(settleAt, e.settled)
	e.origin = max(e.origin, analysis.SatAdd(settled, -int64(e.span)))
	for key, st := range r.series {
		snap := r.settled[st]
		if snap == nil {
			continue
		}
		cs := e.series[key]
		if cs == nil {
			cs = &cachedSeries{}
			e.series[key] = cs
		}
		cs.state = snap
		cs.tail = st.tail
		for i, end := range st.Ends {
			if end.UnixNano() <= settled && (len(cs.ends) == 0 || end.After(cs.ends[len(cs.ends)-1])) {
				cs.ends, cs.results = append(cs.ends, end), append(cs.results, st.Results[i])
			}
		}
		drop := 0
		for drop < len(cs.ends) && cs.ends[drop].UnixNano() <= e.origin {
			drop++
		}
		cs.ends, cs.results = cs.ends[drop:], cs.results[drop:]
	}
	e.settled = settled
	var bytes int64
	for key, cs := range e.series {
		bytes += int64(len(key)) + 48*int64(len(cs.ends)) + 16*int64(cap(cs.tail.t)) + 128
		if cs.state.points != nil {
			bytes += cs.state.points.Bytes()
		}
		if cs.state.windows != nil {
			bytes += cs.state.windows.Bytes()
		}
	}
	e.bytes = bytes
}

// entry returns the entry for key, created empty, as the most recently used.
func (c *Cache) entry(key string) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries, c.lru = map[string]*list.Element{}, list.New()
	}
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*entry)
	}
	e := &entry{key: key}
	c.entries[key] = c.lru.PushFront(e)
	return e
}

// resize accounts for e's new size, drops it if it holds nothing (a query
// with no window yet), and evicts the least recently used entries while the
// cache is over MaxBytes (e itself last).
func (c *Cache) resize(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.key]; ok && e.series == nil {
		c.lru.Remove(el)
		delete(c.entries, e.key)
	}
	var total int64
	for el := c.lru.Front(); el != nil; el = el.Next() {
		total += el.Value.(*entry).bytes
	}
	for total > c.MaxBytes && c.lru.Len() > 0 {
		el := c.lru.Back()
		old := el.Value.(*entry)
		total -= old.bytes
		c.lru.Remove(el)
		delete(c.entries, old.key)
		if c.Metrics != nil {
			c.Metrics.Evict()
		}
	}
	c.bytes = total
	if c.Metrics != nil {
		c.Metrics.Bytes(total)
	}
}

func (c *Cache) count(hit bool) {
	if c.Metrics == nil {
		return
	}
	if hit {
		c.Metrics.Hit()
	} else {
		c.Metrics.Miss()
	}
}

func (c *Cache) horizon() int {
	if c.Horizon > 0 {
		return c.Horizon
	}
	return 2
}

// Size is the number of entries and the bytes they hold.
func (c *Cache) Size() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru == nil {
		return 0, 0
	}
	return c.lru.Len(), c.bytes
}

// The cache states an answer can come from (frame metadata).
const (
	StateCold = "cold"
	StateWarm = "warm"
)
