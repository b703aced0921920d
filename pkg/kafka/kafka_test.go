package kafka

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis/analysistest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

var day0 = time.Unix(1451606400, 0).UTC()

// cluster is a one-broker kfake cluster on a loopback port with the topic.
func cluster(t testing.TB, partitions int32, topic string, opts ...kfake.Opt) (*kfake.Cluster, string) {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") })}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()[0]
}

// produce writes one message per value, spread over the partitions at random.
func produce(t testing.TB, addr, topic string, values []string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, v := range values {
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Value: []byte(v)}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func client(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := New(models.KafkaConnection{Brokers: []string{addr}}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func printerQuery(ref analysistest.Reference, topic string, from, to time.Time) models.Query {
	q := lineQuery(nil, "hotend", "bed", "air")
	q.Kafka.Topic = topic
	q.TTest.Window = time.Duration(ref.WindowSeconds) * time.Second
	q.TTest.History, q.TTest.Alpha = ref.History, ref.Alpha
	q.TTest.Mode = models.ModePoints
	q.TimeRange.From, q.TimeRange.To = from, to
	return q
}

// TestTopicMatchesScipy: the reference day, produced to a topic with three
// partitions (the messages of each field interleaved across them), read
// back for a range and tested, and followed live, gives scipy's windows.
func TestTopicMatchesScipy(t *testing.T) {
	ref := analysistest.LoadReference(t, analysistest.ReferencePath())
	pts := analysistest.ReferencePrinter(t, ref)
	lines := make([]string, len(pts))
	for i, p := range pts {
		lines[i] = p.LineProtocolNs()
	}
	_, addr := cluster(t, 3, "printer")
	produce(t, addr, "printer", lines)
	c := client(t, addr)
	ctx := context.Background()

	for _, r := range []struct{ from, to time.Time }{
		{day0, day0.Add(24*time.Hour + 2*time.Second)},
		{day0.Add(7*time.Hour + 57*time.Minute), day0.Add(13*time.Hour + 2*time.Minute)},
	} {
		q := printerQuery(ref, "printer", r.from, r.to)
		store, sum, err := c.Load(ctx, q, r.from.Add(-ttest.MaxLookback(q.TTest.Window)), r.to, 1e7)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Messages != int64(len(lines)) || len(sum.Notices) != 0 {
			t.Fatalf("read %+v", sum)
		}
		out, err := ttest.Run(ctx, store, ttest.Request{Selection: influx.Selection{Fields: q.TTest.Fields}, Window: q.TTest.Window,
			Config: analysis.Config{History: ref.History, Alpha: ref.Alpha}, From: r.from, To: r.to, Mode: models.ModePoints, MaxPoints: 1e7})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out.Series {
			compare(t, s, ref.Fields[s.Field], r.from, r.to)
		}
		if len(out.Series) != 3 {
			t.Fatalf("%d series", len(out.Series))
		}
	}

	var tooMany *models.TooManyPointsError
	if _, _, err := c.Load(ctx, printerQuery(ref, "printer", day0, day0.Add(time.Hour)), day0, day0.Add(time.Hour), 1000); !errors.As(err, &tooMany) {
		t.Fatalf("more points than maxPoints: %v", err)
	}

	// Live: the same windows, from following the topic from its start. The
	// clock stands still (the day after), so that no partition turns idle
	// however slowly the test runs (-race).
	now := day0.Add(48 * time.Hour)
	c.Now = func() time.Time { return now }
	f, err := c.Follow(ctx, "printer")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	q := printerQuery(ref, "printer", day0, day0)
	dec, w := NewDecoder(q), NewWindows(analysis.Config{History: ref.History, Alpha: ref.Alpha}, q.TTest.Window, q.TTest.Fields)
	got := map[string]*ttest.Series{}
	f.Pending(w)
	for !f.Retained() {
		if _, err := f.Poll(ctx, time.Second, dec, w); err != nil {
			t.Fatal(err)
		}
		for _, s := range w.Emit(now) {
			g := got[s.Field]
			if g == nil {
				g = &ttest.Series{Field: s.Field}
				got[s.Field] = g
			}
			g.Ends, g.Results = append(g.Ends, s.Ends...), append(g.Results, s.Results...)
		}
	}
	if w.Late != 0 {
		t.Fatalf("%d late points", w.Late)
	}
	for _, field := range q.TTest.Fields {
		// The last window closes when a later point arrives: none does.
		compare(t, got[field], ref.Fields[field], day0, day0.Add(24*time.Hour-5*time.Minute))
	}
}

func compare(t *testing.T, got *ttest.Series, want []analysistest.ReferenceWindow, from, to time.Time) {
	t.Helper()
	sel := analysistest.Between(want, from, to)
	if got == nil || len(got.Ends) != len(sel) {
		t.Fatalf("got %v windows, reference %d", got, len(sel))
	}
	for i, w := range sel {
		r := got.Results[i]
		if got.Ends[i].Unix() != w.End || r.N != w.N || analysistest.TErr(r.T, w.T) > analysistest.Tol || analysistest.PErr(r.P, w.P) > analysistest.Tol {
			t.Fatalf("%s window ending %s: t=%v p=%v n=%d, scipy %+v", got.Field, got.Ends[i], r.T, r.P, r.N, w)
		}
	}
}

// TestWindowsOutOfOrderArrival: points that arrive out of order across
// partitions, as a live topic delivers them, give the windows a query over
// the same points gives.
func TestWindowsOutOfOrderArrival(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := analysis.Config{History: 50, Alpha: 0.01}
	s := &Series{Tags: map[string]string{}, Key: ""}
	var pts []Point
	for i := range 3000 {
		v := rng.NormFloat64()
		if i/100%7 == 6 {
			v += 3
		}
		pts = append(pts, Point{Series: s, Time: int64(i) * int64(100*time.Millisecond), Value: v, At: Position{int32(i % 3), int64(i / 3)}})
	}
	// Each partition delivers in order; partitions interleave at random.
	w := NewWindows(cfg, time.Second, []string{"v"})
	next := [3]int{}
	var got []analysis.Result
	for done := 0; done < len(pts); {
		p := rng.IntN(3)
		i := next[p]*3 + p
		if i >= len(pts) {
			continue
		}
		next[p]++
		done++
		w.Add(pts[i], day0)
		w.Mark(int32(p), pts[i].Time, true, false, time.Now())
		for _, s := range w.Emit(time.Now()) {
			got = append(got, s.Results...)
		}
	}
	store := NewStore([]string{"v"})
	for _, p := range pts {
		store.Add(p)
	}
	store.Finish()
	want := []analysis.Result{}
	win := &analysis.Windows{Detector: analysis.NewDetector(cfg), Width: int64(time.Second)}
	for _, p := range pts {
		if r, _, ok := win.Add(p.Time, p.Value); ok {
			want = append(want, r)
		}
	}
	// The watermark stops in the last window, which stays open.
	if len(got) != len(want) || w.Late != 0 {
		t.Fatalf("%d windows (late %d), want %d", len(got), w.Late, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("window %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestErrors(t *testing.T) {
	_, addr := cluster(t, 1, "printer")
	ctx := context.Background()
	var ke *Error
	if _, err := client(t, addr).Offsets(ctx, "missing"); !errors.As(err, &ke) || !strings.Contains(err.Error(), `topic "missing" does not exist`) {
		t.Fatalf("missing topic: %v", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	c, err := New(models.KafkaConnection{Brokers: []string{closed}}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.Check(ctx); !errors.As(err, &ke) || !strings.Contains(err.Error(), "brokers unreachable") {
		t.Fatalf("closed port: %v", err)
	}
	// A broker whose certificate no one signed.
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	srv.Close()
	_, tlsAddr := cluster(t, 1, "printer", kfake.TLS(srv.TLS.Clone()))
	c, err = New(models.KafkaConnection{Brokers: []string{tlsAddr}, TLS: true}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.Check(ctx); !errors.As(err, &ke) || !strings.Contains(err.Error(), "TLS handshake failed") {
		t.Fatalf("unknown certificate authority: %v", err)
	}
	_, saslAddr := cluster(t, 1, "printer", kfake.EnableSASL(), kfake.Superuser("PLAIN", "admin", "right-password"))
	c, err = New(models.KafkaConnection{Brokers: []string{saslAddr}, SASLMechanism: "PLAIN", User: "admin", Password: "wrong-password"}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _, err = c.Check(ctx)
	if !errors.As(err, &ke) || !strings.Contains(err.Error(), "authentication refused") || strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("wrong password: %v", err)
	}
}

// TestIndexSkipsOnlyWhatIsNotNeeded: a second query starts each partition
// at the first block that may hold a point it needs, and keeps exactly the
// points of a full read, also when old event times come after new ones in
// the topic (a backfill produced later) and when messages arrive after the
// first read.
func TestIndexSkipsOnlyWhatIsNotNeeded(t *testing.T) {
	_, addr := cluster(t, 2, "ix")
	t0 := time.Unix(1_700_000_000, 0)
	line := func(s int) string {
		return fmt.Sprintf("temperatures hotend=%d %d", s%13, t0.Add(time.Duration(s)*time.Second).UnixNano())
	}
	var msgs []string
	for s := range 5000 { // old
		msgs = append(msgs, line(s))
	}
	for s := range 5000 { // new
		msgs = append(msgs, line(20_000+s))
	}
	for s := range 3000 { // a backfill of old times, produced after the new ones
		msgs = append(msgs, line(5000+s))
	}
	produce(t, addr, "ix", msgs)
	q := lineQuery(nil, "hotend")
	q.Kafka.Topic, q.TTest.Window = "ix", time.Second
	from, to := t0.Add(23_000*time.Second), t0.Add(26_000*time.Second)
	lo := from.Add(-ttest.MaxLookback(time.Second))
	ctx := context.Background()
	c := client(t, addr)
	counts := func(want int64) (int64, int64) {
		t.Helper()
		store, sum, err := c.Load(ctx, q, lo, to, 1e7)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := store.SeriesCounts(ctx, influx.Selection{}, lo, to)
		if len(got) != 1 || got[0].N != want || sum.Points != want {
			t.Fatalf("kept %+v (%d points), want %d", got, sum.Points, want)
		}
		return sum.Messages, sum.Skipped
	}
	want := int64(to.Sub(lo)/time.Second) - 1000 // the new block ends at 25,000 s
	if read, skipped := counts(want); read != int64(len(msgs)) || skipped != 0 {
		t.Fatalf("first query read %d, skipped %d", read, skipped)
	}
	read, skipped := counts(want)
	if skipped < 4000 || read+skipped != int64(len(msgs)) {
		t.Fatalf("second query read %d, skipped %d of %d", read, skipped, len(msgs))
	}
	t.Logf("the second query read %d messages and skipped %d", read, skipped)
	// New messages after the indexed end are read.
	var more []string
	for s := range 500 {
		more = append(more, line(25_000+s))
	}
	produce(t, addr, "ix", more)
	counts(want + 500)
}

// TestTransactionalTopic: a transactional producer's commit marker is the
// last offset of its partition, so no record reaches the end offset: the
// query reads every message, ends the partition after one timeout and says
// so; the follower's warm-up stops waiting for it the same way.
func TestTransactionalTopic(t *testing.T) {
	_, addr := cluster(t, 1, "tx")
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID("vigil-test"), kgo.DefaultProduceTopic("tx"))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx := context.Background()
	if err := prod.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_700_000_000, 0)
	for s := range 100 {
		prod.Produce(ctx, &kgo.Record{Value: fmt.Appendf(nil, "temperatures hotend=%d %d", s%7, t0.Add(time.Duration(s)*time.Second).UnixNano())}, nil)
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := prod.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	c, err := New(models.KafkaConnection{Brokers: []string{addr}}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := lineQuery(nil, "hotend")
	q.Kafka.Topic = "tx"
	_, sum, err := c.Load(ctx, q, t0, t0.Add(time.Hour), 1e6)
	if err != nil || sum.Points != 100 || len(sum.Notices) != 1 || !strings.Contains(sum.Notices[0], "stopped short of their end offsets") {
		t.Fatalf("read %+v, %v", sum, err)
	}
	f, err := c.Follow(ctx, "tx")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWindows(analysis.Config{History: 5, Alpha: 0.01}, time.Second, q.TTest.Fields)
	f.Pending(w)
	dec := NewDecoder(q)
	for range 3 {
		if n, err := f.Poll(ctx, time.Second, dec, w); err != nil || n == 0 && !f.Retained() {
			f.StopWaiting(w)
		}
	}
	if !f.Retained() || len(w.Emit(time.Now())) == 0 {
		t.Fatalf("the warm-up still waits (retained %v)", f.Retained())
	}
}
