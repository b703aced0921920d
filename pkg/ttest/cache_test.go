package ttest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx/influxtest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// feeder hands the fake's test data to a fake as time passes.
type feeder struct {
	t    *testing.T
	fake *influxtest.Fake
	head string
	rows []string
}

func newFeeder(t *testing.T) *feeder {
	src, err := os.ReadFile(printersCSV)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(src)), "\n")
	return &feeder{t: t, fake: influxtest.New(), head: lines[1], rows: lines[2:]}
}

// until writes the rows before t.
func (f *feeder) until(t time.Time) {
	var chunk []string
	for len(f.rows) > 0 {
		ns, _ := strconv.ParseInt(strings.Split(f.rows[0], ",")[1], 10, 64)
		if ns >= t.UnixNano() {
			break
		}
		chunk, f.rows = append(chunk, f.rows[0]), f.rows[1:]
	}
	if err := f.fake.Load("printer/autogen", strings.NewReader(f.head+"\n"+strings.Join(chunk, "\n"))); err != nil {
		f.t.Fatal(err)
	}
}

// sameAnswer compares a cached answer with the stateless one: the same
// windows, each with the same point count, p to 1e-9 relative and t to 1e-9
// (absolute below |t| = 1).
func sameAnswer(t *testing.T, label string, got, want *Outcome) {
	t.Helper()
	g, w := byWindow(got), byWindow(want)
	if len(g) != len(w) {
		t.Fatalf("%s: %d windows, stateless %d", label, len(g), len(w))
	}
	for k, x := range w {
		y, ok := g[k]
		if !ok || !close9(y, x) {
			t.Fatalf("%s: %s %s: cached %+v, stateless %+v", label, k.key, k.end.Format(time.TimeOnly), y, x)
		}
	}
}

// TestCacheMatchesStateless: many successive queries through one Cache, as
// an alert rule, panels and a restart send them (sliding and jumping ranges,
// ranges older than the state, data arriving as time passes, late points
// and points overwritten within the re-read horizon, two printers with a
// gap, every read mode),
// each compared with a fresh stateless run on the same data.
func TestCacheMatchesStateless(t *testing.T) {
	for _, mode := range []models.Mode{models.ModePoints, models.ModeWindows, models.ModeAuto} {
		t.Run(string(mode), func(t *testing.T) {
			f := newFeeder(t)
			cache := &Cache{MaxBytes: 64 << 20}
			ctx := context.Background()
			type step struct {
				to     time.Duration // the clock: data before it exists
				span   time.Duration
				warm   bool
				late   bool // write a point into the last window but one first
				redo   bool // overwrite points of the last window but one with other values
				slide  bool // a minute after the previous step
				newRun bool // the plugin restarted: a new, empty cache
			}
			var steps []step
			for m := 70; m <= 100; m++ { // a rule over now-30m, once a minute
				steps = append(steps, step{to: time.Duration(m)*time.Minute + 7*time.Second, span: 30 * time.Minute, warm: m > 70, late: m%7 == 0, redo: m%11 == 0, slide: m > 70})
			}
			steps = append(steps,
				step{to: 100*time.Minute + 7*time.Second, span: 90 * time.Minute},             // a panel over a longer range: older than the state
				step{to: 101*time.Minute + 7*time.Second, span: 30 * time.Minute, warm: true}, // the rule again, inside it
				step{to: 150 * time.Minute, span: 30 * time.Minute, warm: true},               // a jump ahead, within the lookback: read from the state
				step{to: 151 * time.Minute, span: 31 * time.Minute, warm: true},
				step{to: 152 * time.Minute, span: 3 * time.Minute, warm: true}, // shorter than the horizon
				step{to: 160 * time.Minute, span: 30 * time.Minute, warm: true},
				step{to: 161 * time.Minute, span: 30 * time.Minute, newRun: true},
				step{to: 170 * time.Minute, span: 45 * time.Minute}, // starts before the restarted state: cold
			)
			for i, s := range steps {
				to := day0.Add(s.to)
				f.until(to)
				if s.late {
					// Late for the window two windows back: inside the horizon.
					late := alignDown(to, 5*time.Minute).Add(-7 * time.Minute)
					f.fake.Write("printer/autogen", "temperatures", map[string]string{"printer": "p1"}, late.UnixNano()+1, map[string]any{"hotend": 221.5})
				}
				if s.redo {
					// A backfill corrects a minute already read: same times, other values.
					redo := alignDown(to, 5*time.Minute).Add(-8 * time.Minute)
					for sec := 0; sec < 60; sec++ {
						f.fake.Write("printer/autogen", "temperatures", map[string]string{"printer": "p2"},
							redo.Add(time.Duration(sec)*time.Second).UnixNano(), map[string]any{"bed": 97.0})
					}
				}
				if s.newRun {
					cache = &Cache{MaxBytes: 64 << 20}
				}
				req := fakeRequest(to.Add(-s.span), to, mode)
				got, err := cache.Run(ctx, f.fake, req)
				if err != nil {
					t.Fatal(err)
				}
				want, err := Run(ctx, f.fake, req)
				if err != nil {
					t.Fatal(err)
				}
				label := fmt.Sprintf("step %d (to %s, span %s)", i, s.to, s.span)
				sameAnswer(t, label, got, want)
				if wantState := map[bool]string{true: StateWarm, false: StateCold}[s.warm && !s.newRun]; got.State != wantState {
					t.Fatalf("%s: state %s, want %s", label, got.State, wantState)
				}
				// A minute later, points mode reads the count rows and the
				// points new since the previous step, or from the settled
				// window end when a point arrived late.
				if s.slide && !s.late && !s.redo && mode != models.ModeWindows {
					counts, err := f.fake.SeriesCounts(ctx, req.Selection, day0.Add(steps[i-1].to), to)
					if err != nil {
						t.Fatal(err)
					}
					var fresh int64
					for _, c := range counts {
						fresh += c.N
					}
					if got.PointsRead > 2*fresh {
						t.Fatalf("%s: read %d points and rows, %d new", label, got.PointsRead, fresh)
					}
				}
				if s.slide && got.PointsRead*3 > want.PointsRead {
					t.Fatalf("%s: warm read %d points, the stateless run %d", label, got.PointsRead, want.PointsRead)
				}
			}
		})
	}
}

// TestCacheEvicts: over its byte cap the cache drops the least recently
// used entries, and an evicted query answers cold, the same.
func TestCacheEvicts(t *testing.T) {
	fake := printersFake(t)
	ctx := context.Background()
	var m countingMetrics
	cache := &Cache{MaxBytes: 1, Metrics: &m}
	to := day0.Add(2 * time.Hour)
	req := fakeRequest(to.Add(-30*time.Minute), to, models.ModePoints)
	for i := 0; i < 2; i++ {
		out, err := cache.Run(ctx, fake, req)
		if err != nil || out.State != StateCold {
			t.Fatalf("run %d: %v, state %s: a cache too small to keep one entry answers cold", i, err, out.State)
		}
	}
	if n, _ := cache.Size(); n != 0 || m.evictions != 2 || m.misses != 2 {
		t.Fatalf("entries %d, metrics %+v", n, m)
	}
	cache = &Cache{MaxBytes: 64 << 20, Metrics: &m}
	for _, fields := range [][]string{{"hotend"}, {"bed"}, {"hotend"}} {
		req.Selection.Fields = fields
		if _, err := cache.Run(ctx, fake, req); err != nil {
			t.Fatal(err)
		}
	}
	if n, bytes := cache.Size(); n != 2 || bytes <= 0 || m.hits != 1 || m.bytes != bytes {
		t.Fatalf("entries %d bytes %d, metrics %+v", n, bytes, m)
	}
}

type countingMetrics struct{ hits, misses, evictions, bytes int64 }

func (m *countingMetrics) Hit()          { m.hits++ }
func (m *countingMetrics) Miss()         { m.misses++ }
func (m *countingMetrics) Evict()        { m.evictions++ }
func (m *countingMetrics) Bytes(n int64) { m.bytes = n }

// synthFake holds two hours and a half of one printer's hotend at 1 Hz near 200.
func synthFake() *influxtest.Fake {
	f := influxtest.New()
	for i := int64(0); i < 9000; i++ {
		f.Write("b/autogen", "temperatures", map[string]string{"printer": "p1"}, day0.UnixNano()+i*int64(time.Second),
			map[string]any{"hotend": 200 + math.Sin(float64(i)/7)})
	}
	return f
}

// synthRequest is a points-mode t-test over synthFake ending at to, with alpha
// telling queries (entries) apart.
func synthRequest(to time.Time, alpha float64) Request {
	return Request{
		Selection: influx.Selection{Bucket: "b/autogen", Measurement: "temperatures", Fields: []string{"hotend"}},
		Window:    5 * time.Minute, Config: analysis.Config{History: 60, Alpha: alpha},
		From: to.Add(-time.Hour), To: to, Mode: models.ModePoints, MaxPoints: 1_000_000,
	}
}

// TestCacheKeyUnambiguous: two queries share an entry exactly when their
// identities are equal: the shared channel cases (src/validation.cases.json,
// whose separator cases differ only in where a = , quote, NUL or backslash
// sits, or in Unicode normalization) parsed as the plugin parses them, and
// the same query with its window written otherwise.
func TestCacheKeyUnambiguous(t *testing.T) {
	raw, err := os.ReadFile("../../src/validation.cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases struct {
		LiveChannel []struct {
			QueryType string          `json:"queryType"`
			Data      json.RawMessage `json:"data"`
		} `json:"liveChannel"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	settings := models.Settings{URL: "http://influx:8086", DefaultBucket: "printer/autogen", Timeout: time.Second, MaxPoints: 10}
	var reqs []Request
	for _, c := range cases.LiveChannel {
		if c.QueryType != "ttest" {
			continue
		}
		q, err := models.ParseQuery(backend.DataQuery{QueryType: c.QueryType, JSON: c.Data,
			TimeRange: backend.TimeRange{From: day0, To: day0.Add(time.Hour)}}, settings)
		if err != nil {
			continue // a case the query refuses (no field) has no entry
		}
		reqs = append(reqs, Request{
			Selection: influx.Selection{Bucket: q.Bucket, Measurement: q.Measurement, Fields: q.TTest.Fields, Tags: q.Tags},
			Window:    q.TTest.Window, Config: analysis.Config{History: q.TTest.History, Alpha: q.TTest.Alpha}, Mode: q.TTest.Mode,
		})
	}
	if len(reqs) < 20 {
		t.Fatalf("only %d t-test cases parsed", len(reqs))
	}
	sixty := synthRequest(day0, 0.001)
	sixty.Window = time.Duration(300e9) // "300s" is "5m"
	reqs = append(reqs, synthRequest(day0, 0.001), sixty)
	identity := func(r Request) any {
		tags := r.Selection.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		return []any{r.Selection.Bucket, r.Selection.Measurement, slices.Clone(append([]string{}, r.Selection.Fields...)), tags, r.Window, r.Config, r.Mode}
	}
	keys := make([]string, len(reqs))
	for i, r := range reqs {
		if keys[i], err = Key(r); err != nil {
			t.Fatal(err)
		}
		for j := range i {
			if same := reflect.DeepEqual(identity(r), identity(reqs[j])); (keys[i] == keys[j]) != same {
				t.Errorf("%+v and %+v: keys %s and %s, equal identities %v", r.Selection, reqs[j].Selection, keys[i], keys[j], same)
			}
		}
	}
	bad := synthRequest(day0, 0.001)
	bad.Selection.Tags = map[string]string{"printer": "\xff"}
	if _, err := Key(bad); err == nil {
		t.Error("a tag value that is not UTF-8 was given a key")
	}
}

// gatedSource holds a query in its first read until released, then fails it.
type gatedSource struct {
	Source
	entered, release chan struct{}
}

func (g *gatedSource) FieldKeys(context.Context, string, string) ([]influx.FieldKey, error) {
	g.entered <- struct{}{}
	<-g.release
	return nil, errors.New("InfluxDB went away")
}

// TestCacheDropsOnlyItsOwnEntry: a query whose entry was evicted while it
// ran, and that then fails, leaves alone the newer entry its key has by then.
func TestCacheDropsOnlyItsOwnEntry(t *testing.T) {
	fake := synthFake()
	ctx := context.Background()
	to := day0.Add(2 * time.Hour)
	scratch := &Cache{MaxBytes: 1 << 30}
	if _, err := scratch.Run(ctx, fake, synthRequest(to, 0.002)); err != nil {
		t.Fatal(err)
	}
	_, one := scratch.Size()
	cache := &Cache{MaxBytes: one * 3 / 2} // one entry with data, not two
	gate := &gatedSource{Source: fake, entered: make(chan struct{}), release: make(chan struct{})}
	failed := make(chan error)
	go func() {
		_, err := cache.Run(ctx, gate, synthRequest(to, 0.001))
		failed <- err
	}()
	<-gate.entered
	for _, alpha := range []float64{0.002, 0.003, 0.001} { // evict the held entry, then the key's new one
		if _, err := cache.Run(ctx, fake, synthRequest(to, alpha)); err != nil {
			t.Fatal(err)
		}
	}
	close(gate.release)
	if err := <-failed; err == nil {
		t.Fatal("the held query did not fail")
	}
	if n, _ := cache.Size(); n != 1 {
		t.Fatalf("%d entries, want the newer one of alpha 0.001", n)
	}
	if out, err := cache.Run(ctx, fake, synthRequest(to.Add(time.Minute), 0.001)); err != nil || out.State != StateWarm {
		t.Fatalf("the newer entry was dropped: %v, state %v", err, out)
	}
	checkAccounts(t, cache)
}

// TestCacheConcurrentQueries: queries on several keys at once, under a cap
// that evicts while others run (the race detector watches the entries'
// sizes), each answer the stateless one.
func TestCacheConcurrentQueries(t *testing.T) {
	fake := synthFake()
	ctx := context.Background()
	to := day0.Add(2 * time.Hour)
	scratch := &Cache{MaxBytes: 1 << 30}
	if _, err := scratch.Run(ctx, fake, synthRequest(to, 0.001)); err != nil {
		t.Fatal(err)
	}
	_, one := scratch.Size()
	cache := &Cache{MaxBytes: one * 5 / 2}
	alphas := []float64{0.001, 0.002, 0.003, 0.004}
	want := map[string]*Outcome{}
	for _, alpha := range alphas {
		for step := range 3 {
			req := synthRequest(to.Add(time.Duration(step)*time.Minute), alpha)
			out, err := Run(ctx, fake, req)
			if err != nil {
				t.Fatal(err)
			}
			want[fmt.Sprint(alpha, step)] = out
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for step := range 3 {
				alpha := alphas[(g+step)%len(alphas)]
				out, err := cache.Run(ctx, fake, synthRequest(to.Add(time.Duration(step)*time.Minute), alpha))
				if err != nil {
					errs <- err
					return
				}
				if w := want[fmt.Sprint(alpha, step)]; !reflect.DeepEqual(byWindow(out), byWindow(w)) {
					sameAnswer(t, fmt.Sprintf("alpha %v step %d (%s)", alpha, step, out.State), out, w)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, bytes := cache.Size(); n > 2 || bytes > cache.MaxBytes {
		t.Fatalf("%d entries, %d bytes over a cap of %d", n, bytes, cache.MaxBytes)
	}
	checkAccounts(t, cache)
}

// checkAccounts: the cache's bytes are its entries' accounted sizes, each
// entry in the list once and in the map under its key.
func checkAccounts(t *testing.T, c *Cache) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var total int64
	for el := c.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		if e.el != el || c.entries[e.key] != el || e.accounted < entryOverhead {
			t.Errorf("entry %s: element %p in the list, %p its own, %p in the map, %d bytes", e.key, el, e.el, c.entries[e.key], e.accounted)
			return
		}
		total += e.accounted
	}
	if total != c.bytes || len(c.entries) != c.lru.Len() {
		t.Errorf("%d bytes counted, %d accounted; %d keys, %d entries", c.bytes, total, len(c.entries), c.lru.Len())
	}
}

// emptySource answers every read with no data.
type emptySource struct{ influx.Reader }

func (emptySource) FieldKeys(context.Context, string, string) ([]influx.FieldKey, error) {
	return nil, nil
}
func (emptySource) SeriesCounts(context.Context, influx.Selection, time.Time, time.Time) ([]influx.SeriesCount, error) {
	return nil, nil
}
func (emptySource) Points(context.Context, influx.Selection, time.Time, time.Time, func(influx.Batch) error) error {
	return nil
}
func (emptySource) WindowStats(context.Context, influx.Selection, time.Time, time.Time, time.Duration, func(influx.WindowStat) error) error {
	return nil
}

// emptyRequests are n distinct queries that find no data (one tag value each).
func emptyRequests(n int) []Request {
	reqs := make([]Request, n)
	for i := range reqs {
		reqs[i] = synthRequest(day0.Add(2*time.Hour), 0.001)
		reqs[i].Selection.Tags = map[string]string{"printer": fmt.Sprintf("gone-%d", i)}
	}
	return reqs
}

// TestCacheEmptyEntriesBounded: 5,000 distinct queries that find no data
// keep their entries (a later query reads only what is new) but each counts
// entryOverhead and its key, so a 1 MiB cache holds about 2,000 of them
// (5,000 before, all counted at 0 bytes), and MaxEntries caps the count
// whatever the bytes.
func TestCacheEmptyEntriesBounded(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		cache *Cache
		most  int
	}{
		{&Cache{MaxBytes: 1 << 20}, 1 << 20 / entryOverhead},
		{&Cache{MaxBytes: 1 << 30, MaxEntries: 100}, 100},
	} {
		var m countingMetrics
		c.cache.Metrics = &m
		for i, req := range emptyRequests(5000) {
			out, err := c.cache.Run(ctx, emptySource{}, req)
			if err != nil || len(out.Series) != 0 {
				t.Fatalf("query %d: %v %+v", i, err, out)
			}
		}
		n, bytes := c.cache.Size()
		t.Logf("MaxBytes %d, MaxEntries %d: %d entries, %d bytes", c.cache.MaxBytes, c.cache.MaxEntries, n, bytes)
		if n == 0 || n > c.most || bytes > c.cache.MaxBytes || m.evictions != int64(5000-n) {
			t.Errorf("MaxBytes %d, MaxEntries %d: %d entries of %d bytes after 5,000 empty queries, %d evicted; want at most %d",
				c.cache.MaxBytes, c.cache.MaxEntries, n, bytes, m.evictions, c.most)
		}
		checkAccounts(t, c.cache)
	}
}

// TestCacheEntryOverhead: entryOverhead is what an entry of a query that
// found no data costs on the heap besides its key: at least that, and not
// twice as much.
func TestCacheEntryOverhead(t *testing.T) {
	const n = 4000
	ctx := context.Background()
	reqs := emptyRequests(n)
	var keys int64
	for _, req := range reqs {
		k, _ := Key(req)
		keys += int64(len(k))
	}
	// The least of three measures: another goroutine's allocations can only add.
	per := int64(math.MaxInt64)
	for range 3 {
		cache := &Cache{MaxBytes: 1 << 40, MaxEntries: n}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, req := range reqs {
			if _, err := cache.Run(ctx, emptySource{}, req); err != nil {
				t.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got, _ := cache.Size(); got != n {
			t.Fatalf("%d entries kept of %d", got, n)
		}
		per = min(per, (int64(after.HeapAlloc)-int64(before.HeapAlloc)-keys)/n)
		runtime.KeepAlive(cache)
	}
	runtime.KeepAlive(reqs)
	t.Logf("an empty entry: %d bytes besides its key (entryOverhead %d)", per, entryOverhead)
	if per > entryOverhead || per < entryOverhead/2 {
		t.Errorf("an empty entry costs %d bytes besides its key; entryOverhead is %d", per, entryOverhead)
	}
}

// TestSumMatches: the overwrite check takes no float64 rounding of an
// unchanged series for a change, whatever order InfluxDB adds in, and sees
// every change of the sum beyond twice the rounding bound.
func TestSumMatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 11))
	near200 := make([]float64, 600)
	for i := range near200 {
		near200[i] = 200 + rng.NormFloat64()
	}
	wide := make([]float64, 1000)
	for i := range wide {
		wide[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(30)-15))
	}
	sets := map[string][]float64{
		"one": {0.1}, "two": {0.1, 0.2}, "near 200": near200, "wide": wide,
		"cancelling": {1e16, 1, -1e16, 1, 3e-300, 1e300, -1e300},
		"integers":   {1 << 53, 1, 1, 1, -(1 << 53)},
	}
	orders := map[string]func([]float64) float64{
		"in order": func(v []float64) float64 { return plainSum(slices.All(v)) },
		"reversed": func(v []float64) float64 { return plainSum(slices.Backward(v)) },
		"pairwise": pairwiseSum,
		"by size": func(v []float64) float64 {
			s := slices.Clone(v)
			slices.SortFunc(s, func(a, b float64) int { return cmp.Compare(math.Abs(b), math.Abs(a)) })
			return plainSum(slices.All(s))
		},
		"shuffled": func(v []float64) float64 {
			s := slices.Clone(v)
			rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
			return plainSum(slices.All(s))
		},
	}
	for name, v := range sets {
		n := float64(len(v))
		var abs float64
		for _, x := range v {
			abs += math.Abs(x)
		}
		for order, sum := range orders {
			if !sumMatches(v, sum(v)) {
				t.Errorf("%s, %s: the unchanged sum %v taken for a change", name, order, sum(v))
			}
			// One value corrected by a little more than the documented
			// smallest change always seen, (n-1)·2⁻⁵²·Σ|v| (or any, for one value).
			changed := slices.Clone(v)
			i := len(v) / 2
			delta := math.Max(3*(n-1)*0x1p-53*abs, math.Abs(v[i])*0x1p-50)
			changed[i] += delta
			if sumMatches(v, sum(changed)) {
				t.Errorf("%s, %s: value %d corrected by %g (sum %v for %v) not seen", name, order, i, delta, sum(changed), sum(v))
			}
		}
	}
	// A correction a relative tolerance of 1e-10 would miss.
	changed := slices.Clone(near200)
	changed[300] += 1e-6
	if sumMatches(near200, pairwiseSum(changed)) {
		t.Error("a point of 600 near 200 corrected by 1e-6 not seen")
	}
	if sumMatches([]float64{math.Inf(1)}, math.Inf(1)) || sumMatches([]float64{1}, math.NaN()) {
		t.Error("a sum that is not a number matched")
	}
}

func plainSum(v iter.Seq2[int, float64]) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

func pairwiseSum(v []float64) float64 {
	switch len(v) {
	case 0:
		return 0
	case 1:
		return v[0]
	}
	return pairwiseSum(v[:len(v)/2]) + pairwiseSum(v[len(v)/2:])
}

// TestCacheSeesSmallOverwrite: a point since the settled time overwritten by
// one 1e-6 larger makes a warm query read again from there.
func TestCacheSeesSmallOverwrite(t *testing.T) {
	fake := synthFake()
	ctx := context.Background()
	cache := &Cache{MaxBytes: 1 << 30}
	to := day0.Add(2 * time.Hour)
	for i, step := range []time.Duration{0, time.Minute, 2 * time.Minute} {
		if i == 2 {
			// settled is 10 min before the last range's end, 1h52m.
			ts := day0.Add(time.Hour + 55*time.Minute)
			fake.Write("b/autogen", "temperatures", map[string]string{"printer": "p1"}, ts.UnixNano(),
				map[string]any{"hotend": 200 + math.Sin(float64(ts.Sub(day0)/time.Second)/7) + 1e-6})
		}
		reads := fake.Reads["Points"]
		out, err := cache.Run(ctx, fake, synthRequest(to.Add(step), 0.001))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]int{1: 1, 2: 2}[i]; i > 0 && (out.State != StateWarm || fake.Reads["Points"]-reads != want) {
			t.Fatalf("query %d: %s, %d points reads, want warm and %d", i, out.State, fake.Reads["Points"]-reads, want)
		}
	}
}
