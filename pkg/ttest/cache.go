package ttest

import (
	"container/list"
	"context"
	"maps"
	"math"
	"math/big"
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
	// Every entry counts at least entryOverhead and its key, so entries of
	// queries that found no data are evicted like the others.
	MaxBytes int64
	// MaxEntries caps the number of entries (0: defaultMaxEntries).
	MaxEntries int
	// Horizon is how many windows before the end of the last range read are
	// read again, for late points.
	Horizon int
	// Metrics, when set, is told of hits, misses, evictions and the bytes kept.
	Metrics CacheMetrics

	mu      sync.Mutex
	lru     *list.List // of *entry, most recently used first
	entries map[string]*list.Element
	bytes   int64 // the entries' accounted sizes, added up
}

// entryOverhead is what an entry costs besides its key and its series: the
// entry, its LRU element, its map slot and its (empty) series map, measured
// with the runtime's heap statistics (TestCacheEntryOverhead: 255 to 280
// bytes with Go 1.26 on amd64, the key's rounding up included).
const entryOverhead = 320

// defaultMaxEntries caps the number of entries when MaxEntries is 0: 10,000
// distinct t-test queries on one data source.
const defaultMaxEntries = 10_000

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
	// el (nil once the entry is dropped) and accounted, the size the cache
	// counts it at, belong to the cache: read and written under Cache.mu.
	el        *list.Element
	accounted int64

	mu sync.Mutex // one query advances an entry at a time; guards what follows
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
	bytes  int64 // the series' size, as store counts it
}

type cachedSeries struct {
	state *state // detector at settled
	tail  points // points mode: the points in [settled, readUntil)
	// kept holds the windows ending by settled (Ends with Results, or
	// Verdicts and Means for a Model); its Field and Tags are unused.
	kept Series
}

// Key is a query's cache identity: the canonical JSON (models.CanonicalJSON,
// the encoding Live channels are identified by) of the parsed query's
// identity, so no bucket, measurement, field or tag can pass for another
// whatever its characters. The window is in nanoseconds: "5m" and "300s"
// share an entry. A request with a detector (Model or Peers) adds its
// Detector identity, so it never shares the t-test's entry nor another
// detector's.
func Key(req Request) (string, error) {
	id := map[string]any{
		"bucket":      req.Selection.Bucket,
		"measurement": req.Selection.Measurement,
		"fields":      req.Selection.Fields, // nil is written [] and {}
		"tags":        req.Selection.Tags,
		"window":      int64(req.Window),
		"history":     req.Config.History,
		"alpha":       req.Config.Alpha,
		"mode":        string(req.Mode),
	}
	if req.modelled() {
		id["detector"] = req.Detector
	}
	b, err := models.CanonicalJSON(id)
	return string(b), err
}

// Run answers a t-test query from the cache where it can, reading only
// what is new, and updates the cache.
func (c *Cache) Run(ctx context.Context, src Source, req Request) (*Outcome, error) {
	key, err := Key(req)
	if err != nil {
		return nil, err
	}
	e := c.lock(key)
	defer e.mu.Unlock()
	w := req.Window
	start, stop := alignDown(req.From, w), alignDown(req.To, w)
	settleAt := analysis.ClampTime(stop.Add(-analysis.SatDuration(int64(c.horizon()), w)))
	var out *Outcome
	var r *runner
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
	out := &Outcome{Mode: e.mode, Lookback: e.lookback, State: StateWarm, Notices: lookbackNotice(req)}
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
	run.judgePeers() // every series' windows after settled were computed in this run
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
			for i, end := range cs.kept.Ends {
				if end.After(from) && !end.After(stop) {
					s.appendWindow(&cs.kept, i)
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
					s.appendWindow(st.Series, i)
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
// late is true when a count differs from the series' tail, or a sum cannot
// be the sum of its values (sumMatches): points arrived late, were
// overwritten with other values, or were deleted. rows is the number of
// count rows read.
func (e *entry) lateSince(ctx context.Context, src Source, sel influx.Selection, settled time.Time) (late bool, rows int64, err error) {
	counts, err := src.SeriesCounts(ctx, sel, settled, time.Unix(0, e.readUntil))
	if err != nil {
		return false, 0, err
	}
	seen := 0
	for _, c := range counts {
		cs := e.series[seriesKey(c.Field, c.Tags)]
		if cs == nil || int64(len(cs.tail.t)) != c.N || !sumMatches(cs.tail.v, c.Sum) {
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

// sumMatches reports whether sum, InfluxDB's float64 sum of a series'
// values in an order of its own, can be the sum of values: whether it is
// within (n-1)·2⁻⁵³·Σ|v| (Higham's γ(n-1) bound, for n values added in
// any order or tree of float64 additions) of their exact sum. No rounding of
// an unchanged series is taken for a change, and a change of the values'
// sum by more than twice that bound, about (n-1)·2.2e-16·Σ|v|, is always
// seen; a smaller one can be missed (for 600 points near 200: 1.6e-8).
func sumMatches(values []float64, sum float64) bool {
	n := len(values)
	exact, abs := new(big.Float).SetPrec(exactSumPrec), new(big.Float).SetPrec(exactSumPrec)
	var x big.Float
	for _, v := range values {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return false // not a number InfluxDB stores: read again
		}
		exact.Add(exact, x.SetFloat64(v))
		abs.Add(abs, x.SetFloat64(math.Abs(v)))
	}
	if math.IsInf(sum, 0) || math.IsNaN(sum) {
		return false
	}
	diff := new(big.Float).SetPrec(exactSumPrec).Sub(x.SetFloat64(sum), exact)
	if n <= 1 {
		return diff.Sign() == 0
	}
	// tol = γ(n-1)·Σ|v| = (n-1)u/(1-(n-1)u)·Σ|v|, rounded up.
	ku := new(big.Float).SetPrec(exactSumPrec).SetMantExp(big.NewFloat(float64(n-1)), -53)
	den := new(big.Float).SetPrec(exactSumPrec).Sub(big.NewFloat(1), ku)
	tol := new(big.Float).SetPrec(exactSumPrec).SetMode(big.AwayFromZero).Mul(abs, ku)
	tol.Quo(tol, den)
	return diff.Abs(diff).Cmp(tol) <= 0
}

// exactSumPrec holds any sum of float64 values exactly: their bits span
// 2^-1074 to 2^1024, and 2^64 of them add 64 more.
const exactSumPrec = 1074 + 1024 + 64

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
		k := &cs.kept
		for i, end := range st.Ends {
			if end.UnixNano() <= settled && (len(k.Ends) == 0 || end.After(k.Ends[len(k.Ends)-1])) {
				k.appendWindow(st.Series, i)
			}
		}
		drop := 0
		for drop < len(k.Ends) && k.Ends[drop].UnixNano() <= e.origin {
			drop++
		}
		k.dropFirst(drop)
	}
	e.settled = settled
	var bytes int64
	for key, cs := range e.series {
		bytes += int64(len(key)) + 48*int64(len(cs.kept.Ends)) + 56*int64(len(cs.kept.Verdicts)) + 16*int64(cap(cs.tail.t)) + 128
		if cs.state.points != nil {
			bytes += cs.state.points.Bytes()
		}
		if cs.state.windows != nil {
			bytes += cs.state.windows.Bytes()
		}
		if cs.state.model != nil {
			bytes += modelBytes(cs.state.model, r.req)
		}
	}
	e.bytes = bytes
}

// lock returns key's entry, locked: the most recently used, created empty.
// An entry dropped while this query waited for it is not used (its state
// would be kept nowhere); the query takes the key's current entry.
func (c *Cache) lock(key string) *entry {
	for {
		e := c.entry(key)
		e.mu.Lock()
		c.mu.Lock()
		kept := e.el != nil
		c.mu.Unlock()
		if kept {
			return e
		}
		e.mu.Unlock()
	}
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
	e := &entry{key: key, accounted: entryOverhead + int64(len(key))}
	e.el = c.lru.PushFront(e)
	c.entries[key] = e.el
	c.bytes += e.accounted
	return e
}

// resize accounts for e's new size, drops e if it holds nothing (a query
// with no window yet), and evicts the least recently used entries while the
// cache is over MaxBytes or MaxEntries. The caller holds e.mu; other
// entries are known by their accounted size only, which their own queries
// change under c.mu. An entry dropped while its query ran stays dropped: its
// key may have a newer entry.
func (c *Cache) resize(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.el != nil {
		if e.series == nil {
			c.drop(e)
		} else {
			size := entryOverhead + int64(len(e.key)) + e.bytes
			c.bytes += size - e.accounted
			e.accounted = size
		}
	}
	maxEntries := c.MaxEntries
	if maxEntries <= 0 {
		maxEntries = defaultMaxEntries
	}
	for c.lru.Len() > 0 && (c.bytes > c.MaxBytes || c.lru.Len() > maxEntries) {
		c.drop(c.lru.Back().Value.(*entry))
		if c.Metrics != nil {
			c.Metrics.Evict()
		}
	}
	if c.Metrics != nil {
		c.Metrics.Bytes(c.bytes)
	}
}

// drop removes e, and only e, from the cache (c.mu held).
func (c *Cache) drop(e *entry) {
	c.lru.Remove(e.el)
	if c.entries[e.key] == e.el {
		delete(c.entries, e.key)
	}
	c.bytes -= e.accounted
	e.el, e.accounted = nil, 0
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
