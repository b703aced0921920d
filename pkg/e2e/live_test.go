package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

// streamed is what one subscriber saw: p-value per window end, and how
// often each window came.
type streamed struct {
	p     map[time.Time]float64
	count map[time.Time]int
	order []time.Time
	// notices are the frames' notices, in order.
	notices []string
}

// collect reads a subscription's frames (Time, p-value) until it is closed.
func collect(sub *pluginhost.Subscription) chan streamed {
	out := make(chan streamed, 1)
	go func() {
		s := streamed{p: map[time.Time]float64{}, count: map[time.Time]int{}}
		for f := range sub.Frames {
			addRows(&s, f)
		}
		out <- s
	}()
	return out
}

// queryWindows is the p-value per window end of a one-series query.
func queryWindows(t *testing.T, dsUID string, from, to time.Time, model map[string]any) map[time.Time]float64 {
	t.Helper()
	r := panelQuery(t, dsUID, from, to, model).Responses["A"]
	if r.Error != nil || len(r.Frames) != 1 {
		t.Fatalf("query %v: %v", model, r.Error)
	}
	s := streamed{p: map[time.Time]float64{}, count: map[time.Time]int{}}
	addRows(&s, r.Frames[0])
	return s.p
}

func addRows(s *streamed, f *data.Frame) {
	if f.Meta != nil {
		for _, n := range f.Meta.Notices {
			s.notices = append(s.notices, n.Text)
		}
	}
	for i := range f.Rows() {
		end := f.Fields[0].At(i).(time.Time).UTC() // one location, so that times compare as map keys
		v, _ := f.Fields[1].ConcreteAt(i)
		p, _ := v.(float64)
		s.p[end] = p
		s.count[end]++
		s.order = append(s.order, end)
	}
}

// TestLiveThroughGrafanaLive: the t-test Live stream as Grafana Live runs it.
// A writer adds points of two printers at 10 Hz in real time; viewer A
// subscribes to printer p1's temp (initial data: the recent windows),
// viewer B joins the same channel later and gets the same pushed frames as
// A; viewer C watches p1's other field and viewer D the same field of
// printer p2 (the same field with another query: its own channel) at the
// same time. The plugin process is restarted mid-stream (as Grafana does
// after a crash) and the stream is run again. Every pushed window carries the
// p-value a query over the same data computes, no window comes twice, and
// every window that ends after the restart settled is pushed.
func TestLiveThroughGrafanaLive(t *testing.T) {
	needServers(t)
	ctx := context.Background()
	const window = time.Second
	rng := rand.New(rand.NewPCG(21, 22))
	line := func(ts time.Time) string {
		return fmt.Sprintf("livehost,printer=p1 temp=%v,hum=%v %d\nlivehost,printer=p2 temp=%v,hum=%v %d",
			50+rng.NormFloat64(), 40+0.5*rng.NormFloat64(), ts.UnixNano(), 50+3*rng.NormFloat64(), 40+rng.NormFloat64(), ts.UnixNano())
	}
	start := time.Now().Add(-time.Minute).Truncate(window)
	var history []string
	for ts := start; ts.Before(time.Now()); ts = ts.Add(100 * time.Millisecond) {
		history = append(history, line(ts))
	}
	if err := writeNs(ctx, "e2e/autogen", history...); err != nil {
		t.Fatal(err)
	}
	stopWriter := writeRealTime(t, line)

	query := func(field, printer string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"queryType":"ttest","measurement":"livehost","tags":{"printer":%q},"fields":[%q],"window":"1s","history":20,"alpha":0.001,"mode":"points","pollInterval":"200ms","settle":"500ms"}`, printer, field))
	}
	subscribe := func(field, printer string) *pluginhost.Subscription {
		t.Helper()
		sub, err := host.Subscribe(ctx, dsMain, liveChannel(t, "ttest", query(field, printer)), query(field, printer))
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}
	a := subscribe("temp", "p1")
	subscribedA := time.Now()
	if a.Initial == nil || a.Initial.Rows() < 30 {
		t.Fatalf("viewer A's initial data: %v", a.Initial)
	}
	initial := streamed{p: map[time.Time]float64{}, count: map[time.Time]int{}}
	addRows(&initial, a.Initial)
	gotA := collect(a)
	c := subscribe("hum", "p1")
	gotC := collect(c)
	d := subscribe("temp", "p2")
	gotD := collect(d)
	time.Sleep(3 * time.Second)
	b := subscribe("temp", "p1")
	joinedB := time.Now()
	gotB := collect(b)
	time.Sleep(3 * time.Second)
	if err := host.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	time.Sleep(8 * time.Second)
	stopWriter()
	// The last windows close by the clock (settle 500 ms, poll 200 ms); the
	// margin is for a loaded machine.
	time.Sleep(4 * time.Second)
	for _, q := range []json.RawMessage{query("temp", "p1"), query("temp", "p2")} {
		runs, dropped, lastErr := host.ChannelStats(dsMain, liveChannel(t, "ttest", q))
		if runs != 2 || dropped != 0 {
			t.Fatalf("the channel of %s ran %d times (want 2: before and after the restart), dropped %d frames (last error %v)", q, runs, dropped, lastErr)
		}
	}
	for _, s := range []*pluginhost.Subscription{a, b, c, d} {
		s.Close(host)
	}
	sa, sb, sc, sd := <-gotA, <-gotB, <-gotC, <-gotD

	// Refused: data that does not match its path (another printer, another
	// field, another history, the old path without the query's hash).
	for _, q := range []json.RawMessage{query("temp", "p2"), query("hum", "p1"),
		json.RawMessage(strings.Replace(string(query("temp", "p1")), `"history":20`, `"history":21`, 1))} {
		if _, err := host.Subscribe(ctx, dsMain, liveChannel(t, "ttest", query("temp", "p1")), q); !errors.As(err, new(*pluginhost.RefusedError)) {
			t.Fatalf("a subscription whose query %s does not match its path: %v", q, err)
		}
	}
	if _, err := host.Subscribe(ctx, dsMain, "ttest/livehost/temp", query("temp", "p1")); !errors.As(err, new(*pluginhost.RefusedError)) {
		t.Fatalf("the path without the query's hash: %v", err)
	}

	// What a query over the same data computes.
	last := time.Now().Truncate(window)
	want := map[string]map[time.Time]float64{}
	for _, series := range []string{"temp p1", "hum p1", "temp p2"} {
		field, printer, _ := strings.Cut(series, " ")
		want[series] = queryWindows(t, dsMain, start.Add(-time.Minute), last, map[string]any{
			"refId": "A", "queryType": "ttest", "measurement": "livehost", "fields": []string{field}, "tags": map[string]string{"printer": printer},
			"window": "1s", "history": 20, "alpha": 0.001, "mode": "points"})
	}
	// spans are the [from, to] ranges in which every window must be pushed.
	check := func(name, field string, s streamed, spans ...[2]time.Time) {
		t.Helper()
		if len(s.order) < 5 {
			t.Fatalf("%s: only %d windows pushed", name, len(s.order))
		}
		for end, p := range s.p {
			q, ok := want[field][end]
			if !ok || math.Abs(p-q) > 1e-12*math.Max(1, math.Abs(q)) {
				t.Fatalf("%s: window ending %s pushed p=%v, the query says %v (%v)", name, end, p, q, ok)
			}
			if s.count[end] != 1 {
				t.Fatalf("%s: window ending %s pushed %d times", name, end, s.count[end])
			}
			if initial.count[end] > 0 && field == "temp p1" {
				t.Fatalf("%s: window ending %s was in the initial data and pushed again", name, end)
			}
		}
		for end := range want[field] {
			for _, span := range spans {
				if end.After(span[0]) && end.Before(span[1]) && s.count[end] == 0 {
					t.Fatalf("%s: window ending %s was not pushed (pushed %v)", name, end, s.order)
				}
			}
		}
	}
	// Before the restart every window after subscribing; after it, every
	// window once the new stream settled, until the writer stopped.
	// (The restarted stream starts from the data it reads when RunStream is
	// called again: windows complete by then are the viewers' already.)
	afterRestart := [2]time.Time{restarted.Add(4 * window), last.Add(-3 * window)}
	check("A (temp p1)", "temp p1", sa, [2]time.Time{subscribedA.Add(window), restarted.Add(-window)}, afterRestart)
	check("C (hum p1)", "hum p1", sc, [2]time.Time{subscribedA.Add(window), restarted.Add(-window)}, afterRestart)
	check("D (temp p2)", "temp p2", sd, [2]time.Time{subscribedA.Add(window), restarted.Add(-window)}, afterRestart)
	check("B (temp p1)", "temp p1", sb, [2]time.Time{joinedB.Add(window), restarted.Add(-window)}, afterRestart)
	// B joined later: from then on it got exactly what A got.
	for end := range sa.p {
		if end.After(joinedB.Add(window)) && sb.count[end] != 1 {
			t.Fatalf("B missed window %s that A got", end)
		}
	}
	for end := range sb.p {
		if sa.count[end] != 1 {
			t.Fatalf("B got window %s that A did not", end)
		}
	}
	t.Logf("pushed windows: A %d, B %d, C %d, D %d; windows ending during the restart and not pushed: %d",
		len(sa.p), len(sb.p), len(sc.p), len(sd.p), missedAround(want["temp p1"], sa, restarted))
}

// missedAround counts the windows near a restart that a subscriber did not
// get (the restarted stream starts from the data, with no memory of what it
// sent: Grafana gives viewers the windows again only when they resubscribe).
func missedAround(want map[time.Time]float64, s streamed, at time.Time) int {
	n := 0
	for end := range want {
		if end.After(at.Add(-3*time.Second)) && end.Before(at.Add(2*time.Second)) && s.count[end] == 0 {
			n++
		}
	}
	return n
}

// TestLiveMissingBucket: a Live subscription to a bucket that does not
// exist yet is accepted, and the viewer gets a frame whose notice says so
// (as the query's error words it) and when the stream tries again; the
// stream repeats it at each try, backing off. Once the bucket is created
// and written, the windows flow, without the notice.
func TestLiveMissingBucket(t *testing.T) {
	needServers(t)
	ctx := context.Background()
	db := fmt.Sprintf("livelater%d", time.Now().UnixNano()%1e9)
	query := json.RawMessage(fmt.Sprintf(`{"queryType":"ttest","bucket":"%s/autogen","measurement":"late","fields":["temp"],"window":"1s","history":5,"alpha":0.001,"pollInterval":"200ms","settle":"300ms"}`, db))
	sub, err := host.Subscribe(ctx, dsMain, liveChannel(t, "ttest", query), query)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(host)
	cause := func(f *data.Frame) string {
		if f == nil || f.Meta == nil || len(f.Meta.Notices) != 1 || f.Meta.Notices[0].Severity != data.NoticeSeverityError {
			return ""
		}
		return f.Meta.Notices[0].Text
	}
	// The notice words the cause as the query's error does.
	var model map[string]any
	if err := json.Unmarshal(query, &model); err != nil {
		t.Fatal(err)
	}
	model["refId"] = "A"
	qerr := panelQuery(t, dsMain, time.Now().Add(-time.Hour), time.Now(), model).Responses["A"].Error
	if text := cause(sub.Initial); qerr == nil || sub.Initial.Rows() != 0 || !strings.Contains(text, qerr.Error()) || !strings.Contains(text, db) || !strings.Contains(text, "Next try at") {
		t.Fatalf("initial data of a missing bucket: %d rows, notice %q; the query's error: %v", sub.Initial.Rows(), text, qerr)
	}
	next := func(within time.Duration) *data.Frame {
		t.Helper()
		select {
		case f := <-sub.Frames:
			return f
		case <-time.After(within):
			t.Fatalf("no frame within %s", within)
			return nil
		}
	}
	// The stream tries again within two windows (the backoff's cap) and says so.
	for range 2 {
		if f := next(10 * time.Second); !strings.Contains(cause(f), "does not exist") {
			t.Fatalf("a retry's frame: %d rows, notices %v", f.Rows(), f.Meta)
		}
	}

	// The bucket is created, with a minute of history, and written in real time.
	if err := influxDB.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	line := func(ts time.Time) string { return fmt.Sprintf("late temp=%v %d", 50+rng.NormFloat64(), ts.UnixNano()) }
	var history []string
	for ts := time.Now().Add(-time.Minute); ts.Before(time.Now()); ts = ts.Add(100 * time.Millisecond) {
		history = append(history, line(ts))
	}
	if err := writeNs(ctx, db+"/autogen", history...); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				_ = writeNs(context.Background(), db+"/autogen", line(time.Now()))
			}
		}
	}()
	// The frames carry windows and no notice: first the recent windows
	// (the viewer saw only the notice), then the new ones.
	rows, framesWithRows := 0, 0
	for deadline := time.Now().Add(30 * time.Second); framesWithRows < 3; {
		f := next(time.Until(deadline))
		if f.Rows() == 0 {
			continue // a last retry's notice, or the empty frame that clears it
		}
		if f.Meta != nil && len(f.Meta.Notices) > 0 {
			t.Fatalf("a frame with windows still has notices %v", f.Meta.Notices)
		}
		rows += f.Rows()
		framesWithRows++
	}
	if rows < 30 {
		t.Fatalf("%d windows in the first frames after the bucket was created, want the recent ones (about 50) and more", rows)
	}
	t.Logf("after the bucket was created: %d windows in %d frames", rows, framesWithRows)
}
