package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis/analysistest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// recorder is a stream sender that keeps every frame with the time it was sent.
type recorder struct {
	mu     sync.Mutex
	frames []*data.Frame
	sent   []time.Time
}

func (r *recorder) Send(p *backend.StreamPacket) error {
	f := &data.Frame{}
	if err := json.Unmarshal(p.Data, f); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames = append(r.frames, f)
	r.sent = append(r.sent, time.Now())
	return nil
}

// windows flattens the recorded frames: window end -> p-value, and when it was sent.
func (r *recorder) windows(t *testing.T) (ends []time.Time, p map[time.Time]float64, sent map[time.Time]time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, sent = map[time.Time]float64{}, map[time.Time]time.Time{}
	for i, f := range r.frames {
		for row := 0; row < f.Rows(); row++ {
			end := f.Fields[0].At(row).(time.Time)
			v := f.Fields[1].At(row).(*float64)
			if _, dup := p[end]; dup {
				t.Fatalf("window ending %s sent twice", end)
			}
			ends = append(ends, end)
			p[end], sent[end] = *v, r.sent[i]
		}
	}
	return ends, p, sent
}

const liveWindow = time.Second

// TestLiveStream writes points in real time, streams the t-test, stops and
// restarts InfluxDB in the middle, and checks that every window was sent
// exactly once with the p-value the query computes for it.
func TestLiveStream(t *testing.T) {
	seed(t)
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	ds := newDatasource(t, influxDB.URL, `{"defaultBucket":"live/autogen","timeout":2}`, influxDB.Token())
	rng := rand.New(rand.NewPCG(5, 6))
	point := func(ts time.Time) string {
		return fmt.Sprintf("sensor temp=%v %d", 50+rng.NormFloat64(), ts.UnixNano())
	}
	// A minute of history at 10 Hz before the stream starts.
	start := time.Now().Add(-time.Minute).Truncate(liveWindow)
	var history []string
	for ts := start; ts.Before(time.Now()); ts = ts.Add(100 * time.Millisecond) {
		history = append(history, point(ts))
	}
	if err := writeNs(ctx, history); err != nil {
		t.Fatal(err)
	}

	queryJSON := `{"queryType":"ttest","measurement":"sensor","fields":["temp"],"window":"1s","history":20,"alpha":0.001,"pollInterval":"200ms","settle":"1s"}`
	rec := &recorder{}
	streamCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- ds.RunStream(streamCtx, &backend.RunStreamRequest{Path: channel(t, "ttest", queryJSON), Data: []byte(queryJSON)}, backend.NewStreamSender(rec))
	}()

	// Write in real time; InfluxDB stops at 4 s and starts again 2.5 s later
	// (it then takes a few seconds to answer). Like a buffering writer, the
	// test keeps what it could not write and sends it as soon as InfluxDB is
	// back, then goes on for 3 s more.
	lastWrite := map[int64]time.Time{} // window end (ns) -> when its last point was written
	var pending []string
	var pendingEnds []int64
	begin := time.Now()
	var outageAt, backAt time.Time // InfluxDB stopped; answering again
	for time.Since(begin) < 10*time.Second || backAt.IsZero() || time.Since(backAt) < 3*time.Second {
		switch {
		case outageAt.IsZero() && time.Since(begin) > 4*time.Second:
			outageAt = time.Now()
			influxDB.Stop()
		case !outageAt.IsZero() && backAt.IsZero() && time.Since(outageAt) > 2500*time.Millisecond:
			if err := influxDB.Start(ctx); err != nil {
				t.Fatal(err)
			}
			backAt = time.Now()
		}
		ts := time.Now()
		pending = append(pending, point(ts))
		pendingEnds = append(pendingEnds, ts.Truncate(liveWindow).Add(liveWindow).UnixNano())
		if outageAt.IsZero() || !backAt.IsZero() {
			if err := writeNs(ctx, pending); err != nil {
				t.Logf("write failed, retrying: %v", err)
			} else {
				for _, end := range pendingEnds {
					lastWrite[end] = time.Now()
				}
				pending, pendingEnds = pending[:0], pendingEnds[:0]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // the stream catches up; the last windows close by the clock
	stop()
	if err := <-done; err != nil {
		t.Fatalf("RunStream: %v", err)
	}

	ends, pvalues, sent := rec.windows(t)
	if len(ends) < 8 {
		t.Fatalf("only %d windows sent", len(ends))
	}
	// The query over the whole data gives the same p-values (to 1e-12).
	want, err := ttest.Run(ctx, ds.client, ttest.Request{
		Selection: influx.Selection{Bucket: "live/autogen", Measurement: "sensor", Fields: []string{"temp"}},
		Window:    liveWindow, Config: analysis.Config{History: 20, Alpha: 0.001},
		From: start.Add(-time.Minute), To: ends[len(ends)-1], Mode: models.ModePoints, MaxPoints: 1e6,
	})
	if err != nil {
		t.Fatal(err)
	}
	byEnd := map[time.Time]float64{}
	for i, e := range want.Series[0].Ends {
		byEnd[e] = want.Series[0].Results[i].P
	}
	for _, e := range ends {
		q, ok := byEnd[e]
		if !ok || analysistest.RelErr(pvalues[e], q) > 1e-12 {
			t.Fatalf("window ending %s: stream p=%v, query p=%v (%v)", e, pvalues[e], q, ok)
		}
	}
	// ... and every window the query has in the streamed span was streamed.
	for e := range byEnd {
		if _, ok := pvalues[e]; !ok && !e.Before(ends[0]) {
			t.Fatalf("window ending %s is in the data but was not streamed (streamed %s to %s)", e, ends[0], ends[len(ends)-1])
		}
	}
	// Latency from a window's last point being written to its frame being sent.
	// Windows whose points were held back by the outage are reported apart.
	var lat, outageLat []time.Duration
	for _, e := range ends {
		w, ok := lastWrite[e.UnixNano()]
		switch {
		case !ok:
		case sent[e].After(outageAt) && e.Before(backAt.Add(liveWindow)):
			outageLat = append(outageLat, sent[e].Sub(w))
		default:
			lat = append(lat, sent[e].Sub(w))
		}
	}
	t.Logf("%d windows streamed, none missing or repeated across an InfluxDB restart (%s down)", len(ends), backAt.Sub(outageAt).Round(100*time.Millisecond))
	t.Logf("latency from a window's last point written to its frame sent (poll 200ms, settle 1s, window 1s, points every 100ms): %s; windows caught up after the outage: %s",
		quantiles(lat), quantiles(outageLat))

	// Nothing of the stream is left running.
	deadline := time.Now().Add(3 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, ").runLive(") && !strings.Contains(stacks, "pkg/ttest") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream goroutines left after cancel:\n%s", stacks)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// quantiles summarises latencies as "median X, p99 Y (n=N)".
func quantiles(d []time.Duration) string {
	if len(d) == 0 {
		return "none"
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return fmt.Sprintf("median %s, p99 %s (n=%d)", d[len(d)/2].Round(time.Millisecond), d[len(d)*99/100].Round(time.Millisecond), len(d))
}

// writeNs writes line protocol with nanosecond timestamps.
func writeNs(ctx context.Context, lines []string) error {
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	defer c.Close()
	return c.WriteLines(ctx, "live/autogen", lines)
}

func TestSubscribeStreamValidation(t *testing.T) {
	devenv.NeedInfluxDB(t)
	ds := newDatasource(t, influxDB.URL, `{"defaultBucket":"live/autogen"}`, influxDB.Token())
	good := `{"queryType":"ttest","measurement":"sensor","fields":["temp"],"window":"1s"}`
	goodPath := channel(t, "ttest", good)
	for name, tt := range map[string]struct {
		path, data string
		status     backend.SubscribeStreamStatus
	}{
		"ok":                     {goodPath, good, backend.SubscribeStreamStatusOK},
		"unknown type":           {"house" + goodPath[len("ttest"):], good, backend.SubscribeStreamStatusNotFound},
		"power path":             {"power" + goodPath[len("ttest"):], good, backend.SubscribeStreamStatusNotFound},
		"no hash":                {"ttest/temp", good, backend.SubscribeStreamStatusNotFound},
		"old path":               {"ttest/sensor/temp", good, backend.SubscribeStreamStatusNotFound},
		"another query":          {goodPath, `{"queryType":"ttest","measurement":"sensor","fields":["temp"],"window":"2s"}`, backend.SubscribeStreamStatusNotFound},
		"another tag":            {channel(t, "ttest", `{"measurement":"sensor","fields":["temp"],"tags":{"p":"1"}}`), `{"measurement":"sensor","fields":["temp"],"tags":{"p":"2"}}`, backend.SubscribeStreamStatusNotFound},
		"two fields":             {channel(t, "ttest", `{"measurement":"sensor","fields":["temp","bed"]}`), `{"measurement":"sensor","fields":["temp","bed"]}`, backend.SubscribeStreamStatusNotFound},
		"malformed data":         {goodPath, `{"fields":`, backend.SubscribeStreamStatusNotFound},
		"bad alpha":              {channel(t, "ttest", `{"measurement":"sensor","fields":["temp"],"alpha":2}`), `{"measurement":"sensor","fields":["temp"],"alpha":2}`, backend.SubscribeStreamStatusNotFound},
		"kafka path, ttest data": {"kafka" + goodPath[len("ttest"):], good, backend.SubscribeStreamStatusNotFound},
		"kafka without brokers":  {channel(t, "kafka", `{"queryType":"kafka","topic":"t","measurement":"sensor","fields":["temp"]}`), `{"queryType":"kafka","topic":"t","measurement":"sensor","fields":["temp"]}`, backend.SubscribeStreamStatusNotFound},
		"bad poll interval":      {channel(t, "ttest", `{"measurement":"sensor","fields":["temp"],"pollInterval":"-1s"}`), `{"measurement":"sensor","fields":["temp"],"pollInterval":"-1s"}`, backend.SubscribeStreamStatusNotFound},
	} {
		res, err := ds.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{Path: tt.path, Data: []byte(tt.data)})
		if err != nil || res.Status != tt.status {
			t.Errorf("%s: %v %v", name, res, err)
		}
	}
	pub, err := ds.PublishStream(context.Background(), &backend.PublishStreamRequest{Path: goodPath})
	if err != nil || pub.Status != backend.PublishStreamStatusPermissionDenied {
		t.Fatalf("publish: %v %v", pub, err)
	}
}

// TestLivePowerStream: every power point written after the stream started
// is sent once, with its value.
func TestLivePowerStream(t *testing.T) {
	seed(t)
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "livepower"); err != nil {
		t.Fatal(err)
	}
	ds := newDatasource(t, influxDB.URL, `{"defaultBucket":"livepower/autogen"}`, influxDB.Token())
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	defer c.Close()
	write := func(ts time.Time, active float64) {
		line := fmt.Sprintf("power Global_active_power=%g,Sub_metering_1=0,Sub_metering_2=1,Sub_metering_3=0 %d", active, ts.UnixNano())
		if err := c.WriteLines(ctx, "livepower/autogen", []string{line}); err != nil {
			t.Fatal(err)
		}
	}
	write(time.Now().Add(-time.Minute), 1) // history, in the initial rows only
	// The points are stamped from 3 s ahead, after the stream's start (which
	// takes everything before it as history); polls read up to a minute
	// ahead of the clock, so they are streamed at the first poll.
	base := time.Now().Add(3 * time.Second)
	want := map[int64]float64{}
	for i := range 10 {
		ts := base.Add(time.Duration(i) * 150 * time.Millisecond)
		active := 0.06 * float64(i+2) // kW: (i+2) Wh a minute, less 1 Wh metered
		write(ts, active)
		want[ts.UnixNano()] = float64(i + 1)
	}
	rec := &recorder{}
	streamCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		query := `{"queryType":"power","measurement":"power","pollInterval":"200ms"}`
		done <- ds.RunStream(streamCtx, &backend.RunStreamRequest{Path: channel(t, "power", query), Data: []byte(query)}, backend.NewStreamSender(rec))
	}()
	streamed := func() int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := 0
		for _, f := range rec.frames {
			n += f.Rows()
		}
		return n
	}
	// Wait for every point (or a generous deadline), then a few more polls
	// in which a point sent twice would show.
	for deadline := time.Now().Add(30 * time.Second); streamed() < len(want) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * 200 * time.Millisecond)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := map[int64]float64{}
	rec.mu.Lock()
	for _, f := range rec.frames {
		for row := 0; row < f.Rows(); row++ {
			ts := f.Fields[0].At(row).(time.Time).UnixNano()
			if _, dup := got[ts]; dup {
				t.Fatalf("point %d sent twice", ts)
			}
			got[ts] = f.Fields[1].At(row).(float64)
		}
	}
	rec.mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("%d points streamed, want %d", len(got), len(want))
	}
	for ts, v := range want {
		if g, ok := got[ts]; !ok || math.Abs(g-v) > 1e-12 {
			t.Fatalf("point %d: %v, want %v", ts, got[ts], v)
		}
	}
}

// channel is the Live channel path of a query, as the front end computes it.
func channel(t testing.TB, queryType models.QueryType, query string) string {
	t.Helper()
	path, err := models.LiveChannel(queryType, []byte(query))
	if err != nil {
		t.Fatal(err)
	}
	return path
}
