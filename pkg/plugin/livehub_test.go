package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/kafka"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// fakeClock is a clock that moves only when the test says.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
	f  func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &fakeWaiter{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.waiters = append(c.waiters, w)
	return w.ch
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &fakeWaiter{at: c.now.Add(d), f: f}
	c.waiters = append(c.waiters, w)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.waiters {
			if x == w {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				return true
			}
		}
		return false
	}
}

// sleeping is when the earliest After waiter wakes (zero: none).
func (c *fakeClock) sleeping() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var at time.Time
	for _, w := range c.waiters {
		if w.ch != nil && (at.IsZero() || w.at.Before(at)) {
			at = w.at
		}
	}
	return at
}

// set moves the clock to t and wakes the waiters due.
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	var due []*fakeWaiter
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
		} else {
			due = append(due, w)
		}
	}
	c.waiters = kept
	c.mu.Unlock()
	for _, w := range due {
		if w.ch != nil {
			w.ch <- t
		} else {
			w.f()
		}
	}
}

// waitSleeping waits (real time, generously) until the stream sleeps on the clock.
func (c *fakeClock) waitSleeping(t *testing.T) time.Time {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if at := c.sleeping(); !at.IsZero() {
			return at
		}
	}
	t.Fatal("the stream never waited on the clock")
	return time.Time{}
}

// fakeInflux is InfluxDB at the read boundary (influx.Reader): t-test
// points from a Store, power points from a slice. It counts reads and
// fails every read while err is set.
type fakeInflux struct {
	store *kafka.Store
	mu    sync.Mutex
	power [][2]float64 // unix ns, value
	err   error
	reads int
}

func (f *fakeInflux) read() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.err
}

func (f *fakeInflux) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeInflux) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *fakeInflux) FieldKeys(ctx context.Context, bucket, m string) ([]influx.FieldKey, error) {
	if err := f.read(); err != nil {
		return nil, err
	}
	return f.store.FieldKeys(ctx, bucket, m)
}

func (f *fakeInflux) SeriesCounts(ctx context.Context, s influx.Selection, start, stop time.Time) ([]influx.SeriesCount, error) {
	if err := f.read(); err != nil {
		return nil, err
	}
	return f.store.SeriesCounts(ctx, s, start, stop)
}

func (f *fakeInflux) Points(ctx context.Context, s influx.Selection, start, stop time.Time, fn func(influx.Batch) error) error {
	if err := f.read(); err != nil {
		return err
	}
	return f.store.Points(ctx, s, start, stop, fn)
}

func (f *fakeInflux) WindowStats(context.Context, influx.Selection, time.Time, time.Time, time.Duration, func(influx.WindowStat) error) error {
	if err := f.read(); err != nil {
		return err
	}
	return kafka.ErrNotSupported
}

func (f *fakeInflux) Power(_ context.Context, p influx.PowerRead, fn func(influx.Batch) error) error {
	if err := f.read(); err != nil {
		return err
	}
	f.mu.Lock()
	b := influx.Batch{Width: 1}
	for _, pt := range f.power {
		if ns := int64(pt[0]); ns >= p.Start.UnixNano() && ns < p.Stop.UnixNano() {
			b.Times, b.Values = append(b.Times, ns), append(b.Values, pt[1])
		}
	}
	f.mu.Unlock()
	return fn(b)
}

// fakeDatasource is a data source whose Live steppers read src on clk.
// Its InfluxDB URL answers /ping as InfluxDB 1.8 (the missing-bucket
// explanation asks it).
func fakeDatasource(t *testing.T, src *fakeInflux, clk *fakeClock, jsonData string) *Datasource {
	t.Helper()
	ping := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Influxdb-Version", "1.8.10")
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(ping.Close)
	ds := newDatasource(t, ping.URL, jsonData, "user:secret")
	ds.live.src, ds.live.clock, ds.live.jitter = src, clk, func() float64 { return 0.5 }
	return ds
}

// sineStore holds an hour and a half of 1 Hz points of sensor temp before end.
func sineStore(end time.Time) *kafka.Store {
	st := kafka.NewStore([]string{"temp"})
	series := &kafka.Series{Tags: map[string]string{}}
	for ts := end.Add(-90 * time.Minute); ts.Before(end); ts = ts.Add(time.Second) {
		st.Add(kafka.Point{Series: series, Time: ts.UnixNano(), Value: 50 + math.Sin(float64(ts.Unix())/7)})
	}
	st.Finish()
	return st
}

// streamRun runs RunStream in the background; stop ends it and returns its error.
func streamRun(ds *Datasource, path, query string) (*recorder, func() error) {
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ds.RunStream(ctx, &backend.RunStreamRequest{Path: path, Data: []byte(query)}, backend.NewStreamSender(rec))
	}()
	return rec, func() error { cancel(); return <-done }
}

func (r *recorder) last() *data.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.frames) == 0 {
		return nil
	}
	return r.frames[len(r.frames)-1]
}

// waitFrame waits (real time, generously) for a frame after the first n.
func (r *recorder) waitFrame(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); r.count() == n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no frame after the %d sent", n)
		}
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// subscribe subscribes and decodes the initial data.
func subscribe(t *testing.T, ds *Datasource, path, query string) *data.Frame {
	t.Helper()
	res, err := ds.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{Path: path, Data: []byte(query)})
	if err != nil || res.Status != backend.SubscribeStreamStatusOK {
		t.Fatalf("subscribe: %v %v", res, err)
	}
	if res.InitialData == nil {
		t.Fatal("subscribe: no initial data")
	}
	f := &data.Frame{}
	if err := json.Unmarshal(res.InitialData.Data(), f); err != nil {
		t.Fatal(err)
	}
	return f
}

func notices(f *data.Frame) []data.Notice {
	if f == nil || f.Meta == nil {
		return nil
	}
	return f.Meta.Notices
}

func retryAt(t *testing.T, f *data.Frame) time.Time {
	t.Helper()
	custom, _ := f.Meta.Custom.(map[string]any)
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(custom["retryAt"]))
	if err != nil {
		t.Fatalf("retryAt in %v: %v", f.Meta.Custom, err)
	}
	return at
}

// TestLiveFailureNotices: a Live stream whose source fails is accepted
// and its viewer gets a frame whose notice gives the cause (as a query's
// error words it) and the next try; the stream retries with a backoff that
// doubles up to its cap; once the source answers it sends the rows and
// drops the notice; a later failed poll warns in a frame of the same
// fields, and the next good poll clears the warning.
func TestLiveFailureNotices(t *testing.T) {
	clk := newFakeClock()
	src := &fakeInflux{}
	for ts := clk.Now().Add(-30 * time.Minute); ts.Before(clk.Now()); ts = ts.Add(time.Minute) {
		src.power = append(src.power, [2]float64{float64(ts.UnixNano()), 1})
	}
	missing := &influx.Error{Kind: influx.KindNotFound, Message: `InfluxDB: database not found: "nope" (check the bucket)`}
	src.setErr(missing)
	ds := fakeDatasource(t, src, clk, `{"defaultBucket":"nope/autogen"}`)
	query := `{"queryType":"power","measurement":"power","pollInterval":"10s"}`
	path := channel(t, "power", query)

	f := subscribe(t, ds, path, query)
	n := notices(f)
	if f.Rows() != 0 || len(n) != 1 || n[0].Severity != data.NoticeSeverityError || !strings.Contains(n[0].Text, `database not found: "nope"`) {
		t.Fatalf("initial data of a missing bucket: %d rows, notices %+v", f.Rows(), n)
	}
	// Backoff: 1 s doubling, capped at two poll intervals (20 s); jitter 0.5 takes 3/4 of it.
	want := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 12 * time.Second, 15 * time.Second, 15 * time.Second}
	at := retryAt(t, f)
	if at.Sub(clk.Now()) != want[0] || !strings.Contains(n[0].Text, at.Format(time.RFC3339)) {
		t.Fatalf("first retry at %s (in %s), notice %q", at, at.Sub(clk.Now()), n[0].Text)
	}

	rec, stop := streamRun(ds, path, query)
	for i := 1; i < len(want); i++ {
		if wake := clk.waitSleeping(t); !wake.Equal(at) {
			t.Fatalf("try %d: the stream sleeps until %s, the notice said %s", i+1, wake, at)
		}
		before := rec.count()
		clk.set(at)
		rec.waitFrame(t, before)
		f = rec.last()
		next := retryAt(t, f)
		if n := notices(f); len(n) != 1 || n[0].Severity != data.NoticeSeverityError || !strings.Contains(n[0].Text, "database not found") || f.Rows() != 0 {
			t.Fatalf("try %d: frame %d rows, notices %+v", i+1, f.Rows(), n)
		}
		if next.Sub(at) != want[i] {
			t.Fatalf("try %d: next try after %s, want %s", i+1, next.Sub(at), want[i])
		}
		at = next
	}

	// The bucket is there: the rows come, without the notice.
	src.setErr(nil)
	clk.waitSleeping(t)
	before := rec.count()
	clk.set(at)
	rec.waitFrame(t, before)
	f = rec.last()
	if f.Rows() != 30 || len(notices(f)) != 0 {
		t.Fatalf("after recovery: %d rows (want the 30 points of the last hour), notices %+v", f.Rows(), notices(f))
	}
	// A later failed poll warns (the viewer keeps the rows), in a frame of the same fields.
	src.setErr(&influx.Error{Kind: influx.KindUnreachable, Message: "InfluxDB unreachable: connection refused"})
	wake := clk.waitSleeping(t)
	before = rec.count()
	clk.set(wake)
	rec.waitFrame(t, before)
	f = rec.last()
	if n := notices(f); len(n) != 1 || n[0].Severity != data.NoticeSeverityWarning || !strings.Contains(n[0].Text, "connection refused") || len(f.Fields) != 2 || f.Fields[1].Name != "value" {
		t.Fatalf("failed poll: fields %v, notices %+v", f.Fields, n)
	}
	// A viewer who comes now gets the rows and the warning, without a read.
	reads := src.count()
	g := subscribe(t, ds, path, query)
	if g.Rows() != 30 || len(notices(g)) != 1 || src.count() != reads {
		t.Fatalf("a viewer during the failure: %d rows, notices %+v, %d reads", g.Rows(), notices(g), src.count()-reads)
	}
	src.setErr(nil)
	wake = clk.waitSleeping(t)
	before = rec.count()
	clk.set(wake)
	rec.waitFrame(t, before)
	if f = rec.last(); len(notices(f)) != 0 {
		t.Fatalf("after the poll recovered: notices %+v", notices(f))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestLiveWarmupShared counts the reads of N viewers subscribing to one
// channel at once and its RunStream: one warm-up, as for one viewer; a
// viewer who comes while the stream runs gets the last hour without a read.
func TestLiveWarmupShared(t *testing.T) {
	for _, tc := range []struct{ name, qt, query string }{
		{"ttest", "ttest", `{"queryType":"ttest","measurement":"sensor","fields":["temp"],"window":"10s","history":20,"pollInterval":"1s"}`},
		{"power", "power", `{"queryType":"power","measurement":"power","pollInterval":"1s"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reads := func(viewers int) (subscribed, running int, initial *data.Frame) {
				clk := newFakeClock()
				src := &fakeInflux{store: sineStore(clk.Now())}
				for ts := clk.Now().Add(-30 * time.Minute); ts.Before(clk.Now()); ts = ts.Add(time.Minute) {
					src.power = append(src.power, [2]float64{float64(ts.UnixNano()), 1})
				}
				ds := fakeDatasource(t, src, clk, `{"defaultBucket":"b/autogen"}`)
				path := channel(t, models.QueryType(tc.qt), tc.query)
				var wg sync.WaitGroup
				frames := make([]*data.Frame, viewers)
				for i := range viewers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						frames[i] = subscribe(t, ds, path, tc.query)
					}()
				}
				wg.Wait()
				for i, f := range frames {
					if f.Rows() == 0 || f.Rows() != frames[0].Rows() {
						t.Fatalf("viewer %d: %d rows, viewer 0 %d", i, f.Rows(), frames[0].Rows())
					}
				}
				subscribed = src.count()
				_, stop := streamRun(ds, path, tc.query)
				clk.waitSleeping(t) // its first poll done
				running = src.count()
				late := subscribe(t, ds, path, tc.query)
				if src.count() != running || late.Rows() != frames[0].Rows() {
					t.Fatalf("a viewer of the running stream: %d reads, %d rows (first viewers %d)", src.count()-running, late.Rows(), frames[0].Rows())
				}
				if err := stop(); err != nil {
					t.Fatal(err)
				}
				return subscribed, running, frames[0]
			}
			sub1, run1, _ := reads(1)
			sub8, run8, _ := reads(8)
			t.Logf("reads: 1 viewer %d (+%d for the stream's first poll), 8 viewers %d (+%d)", sub1, run1-sub1, sub8, run8-sub8)
			if sub8 != sub1 || run8 != run1 {
				t.Fatalf("8 viewers read %d times (%d with the stream's start), one viewer %d (%d)", sub8, run8, sub1, run1)
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		limit   time.Duration
		u       float64
		want    time.Duration
	}{
		{1, 30 * time.Second, 0, 500 * time.Millisecond},
		{1, 30 * time.Second, 0.998, 999 * time.Millisecond},
		{2, 30 * time.Second, 0, time.Second},
		{5, 30 * time.Second, 0.5, 12 * time.Second},
		{6, 30 * time.Second, 0, 15 * time.Second},
		{6, 30 * time.Second, 0.5, 22500 * time.Millisecond},
		{40, 30 * time.Second, 0, 15 * time.Second}, // no shift overflow
		{1 << 30, 30 * time.Second, 0.5, 22500 * time.Millisecond},
		{3, 2 * time.Second, 0, time.Second}, // two windows of 1 s
	} {
		if got := retryDelay(tc.attempt, tc.limit, tc.u); got != tc.want {
			t.Errorf("retryDelay(%d, %s, %v) = %s, want %s", tc.attempt, tc.limit, tc.u, got, tc.want)
		}
	}
}

// kafkaTopic starts an in-process broker whose topic "t" holds n line
// protocol messages of sensor temp at 1 Hz ending now; listOffsets counts
// the ListOffsets requests it answers (each warm-up makes its own).
func kafkaTopic(t *testing.T, n int) (addr string, listOffsets *atomic.Int64) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	listOffsets = &atomic.Int64{}
	c.ControlKey(kmsg.ListOffsets.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		listOffsets.Add(1)
		return nil, nil, false
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	now := time.Now().Truncate(time.Second)
	var recs []*kgo.Record
	for i := range n {
		ts := now.Add(time.Duration(i-n) * time.Second)
		recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, "sensor temp=%g %d", 50+math.Sin(float64(i)/7), ts.UnixNano())})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return c.ListenAddrs()[0], listOffsets
}

// TestKafkaLiveWarmup: the Kafka warm-up is bounded by Max points (a
// notice, not an unbounded replay) and read once for N viewers and the
// channel's RunStream; a viewer of the running stream causes no read.
func TestKafkaLiveWarmup(t *testing.T) {
	addr, listOffsets := kafkaTopic(t, 3000)
	query := `{"queryType":"kafka","topic":"t","measurement":"sensor","fields":["temp"],"window":"10s","history":20,"settle":"100ms"}`
	path := channel(t, "kafka", query)

	small := newDatasource(t, "http://127.0.0.1:1", fmt.Sprintf(`{"defaultBucket":"b/autogen","kafkaBrokers":%q,"timeout":5,"maxPoints":1000}`, addr), "")
	f := subscribe(t, small, path, query)
	if n := notices(f); f.Rows() != 0 || len(n) != 1 || n[0].Severity != data.NoticeSeverityError || !strings.Contains(n[0].Text, "more than 1000 points") || !strings.Contains(n[0].Text, `topic "t"`) {
		t.Fatalf("a warm-up over Max points: %d rows, notices %+v", f.Rows(), n)
	}

	warmups := func(viewers int) int64 {
		ds := newDatasource(t, "http://127.0.0.1:1", fmt.Sprintf(`{"defaultBucket":"b/autogen","kafkaBrokers":%q,"timeout":5}`, addr), "")
		before := listOffsets.Load()
		var wg sync.WaitGroup
		rows := make([]int, viewers)
		for i := range viewers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rows[i] = subscribe(t, ds, path, query).Rows()
			}()
		}
		wg.Wait()
		for i, r := range rows {
			if r < 250 || r != rows[0] {
				t.Fatalf("viewer %d: %d rows (viewer 0: %d; want the last hour of 10 s windows)", i, r, rows[0])
			}
		}
		subscribed := listOffsets.Load() - before
		_, stop := streamRun(ds, path, query)
		time.Sleep(time.Second) // it polls
		late := subscribe(t, ds, path, query)
		if late.Rows() < rows[0] {
			t.Fatalf("a viewer of the running stream: %d rows, the first viewers %d", late.Rows(), rows[0])
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if total := listOffsets.Load() - before; total != subscribed {
			t.Fatalf("%d viewers: %d ListOffsets requests at subscription, %d after the stream ran and a viewer joined", viewers, subscribed, total)
		}
		return subscribed
	}
	one, eight := warmups(1), warmups(8)
	t.Logf("ListOffsets requests: one viewer %d, eight viewers %d", one, eight)
	if one == 0 || eight != one {
		t.Fatalf("eight viewers made %d ListOffsets requests, one viewer %d: the warm-up is not shared", eight, one)
	}
}

// TestRecentWindows: the initial data of a running channel keeps each
// series apart (tags that fmt would print alike) and only its last hour,
// at most limit windows.
func TestRecentWindows(t *testing.T) {
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	series := func(tags map[string]string, from, to time.Duration) *ttest.Series {
		s := &ttest.Series{Field: "temp", Tags: tags}
		for d := from; d <= to; d += time.Minute {
			s.Ends = append(s.Ends, end.Add(d))
			s.Results = append(s.Results, analysis.Result{P: 0.5, N: 1})
		}
		return s
	}
	windows := func(r *recentWindows) map[string]int {
		out := map[string]int{}
		for _, s := range r.series {
			out[seriesKey(s)] = len(s.Ends)
		}
		return out
	}
	a, b := map[string]string{"a:b": "c"}, map[string]string{"a": "b:c"}
	r := &recentWindows{}
	r.add([]*ttest.Series{series(a, -90*time.Minute, 0)})
	r.add([]*ttest.Series{series(b, -10*time.Minute, 0), series(a, time.Minute, 2*time.Minute)})
	ka, kb := seriesKey(&ttest.Series{Field: "temp", Tags: a}), seriesKey(&ttest.Series{Field: "temp", Tags: b})
	if got := windows(r); len(got) != 2 || got[ka] != 60 || got[kb] != 11 {
		t.Fatalf("windows kept per series: %v (want 60 of a: the hour before the newest end, 11 of b)", got)
	}
	r = &recentWindows{limit: 10}
	r.add([]*ttest.Series{series(a, -30*time.Minute, 0), series(b, -30*time.Minute, 0)})
	if got := windows(r); got[ka] != 5 || got[kb] != 5 {
		t.Fatalf("windows kept under a limit of 10: %v", got)
	}
}
