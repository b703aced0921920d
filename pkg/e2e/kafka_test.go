package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis/analysistest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

// kafkaDatasource is a Vigil data source reading bucket and the broker at addr.
func kafkaDatasource(t testing.TB, id int64, uid, bucket, brokers string) {
	t.Helper()
	ds := vigilDatasource(id, uid, influxDB.Token(), bucket)
	var jd map[string]any
	_ = json.Unmarshal(ds.JSONData, &jd)
	jd["kafkaBrokers"], jd["timeout"] = brokers, 5
	ds.JSONData, _ = json.Marshal(jd)
	host.AddDatasource(ds)
}

func startKafka(t testing.TB, partitions int32, topics ...string) *devenv.Kafka {
	t.Helper()
	k, err := devenv.StartKafka(t.TempDir(), partitions, topics...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Stop)
	return k
}

// TestKafkaMatchesTTestAndScipy: the reference printer day, produced to a
// topic of three partitions by kcat (librdkafka spreads the messages over
// them) and written to InfluxDB, gives through the kafka query exactly the
// p-values of the ttest query, and scipy's to 1e-9, over the whole day and
// over a range that starts mid-day (warmed from the topic's earlier
// messages). Malformed messages are counted and shown, a missing topic
// and unreachable brokers are clear per-query errors, and Save & test
// checks the brokers.
func TestKafkaMatchesTTestAndScipy(t *testing.T) {
	needServers(t)
	ctx := context.Background()
	ref := analysistest.LoadReference(t, analysistest.ReferencePath())
	pts := analysistest.ReferencePrinter(t, ref)
	if err := influxDB.CreateDatabase(ctx, "kref"); err != nil {
		t.Fatal(err)
	}
	if err := influxDB.WriteLines(ctx, "kref/autogen", len(pts), func(i int) string { return pts[i].LineProtocol() }); err != nil {
		t.Fatal(err)
	}
	k := startKafka(t, 3, "reference", "dirty")
	lines := make([]string, len(pts))
	for i, p := range pts {
		lines[i] = p.LineProtocolNs()
	}
	if err := devenv.Kcat(ctx, k.Addr, "reference", -1, lines); err != nil {
		t.Fatal(err)
	}
	spread := partitionCounts(t, k.Addr, "reference")
	if len(spread) != 3 {
		t.Fatalf("kcat put the messages in partitions %v: want all three", spread)
	}
	kafkaDatasource(t, 20, "vigil-kafka", "kref/autogen", k.Addr)

	day0 := time.Unix(1451606400, 0).UTC()
	common := map[string]any{"measurement": "temperatures", "fields": []string{"hotend", "bed", "air"},
		"window": "5m", "history": ref.History, "alpha": ref.Alpha}
	query := func(queryType string, extra map[string]any) map[string]any {
		q := map[string]any{"refId": queryType, "queryType": queryType}
		for k, v := range common {
			q[k] = v
		}
		for k, v := range extra {
			q[k] = v
		}
		return q
	}
	for _, r := range [][2]time.Time{
		{day0, day0.Add(24*time.Hour + 2*time.Second)},
		{day0.Add(7*time.Hour + 57*time.Minute), day0.Add(13*time.Hour + 2*time.Minute)},
	} {
		resp := panelQuery(t, "vigil-kafka", r[0], r[1],
			query("kafka", map[string]any{"topic": "reference"}), query("ttest", map[string]any{"mode": "points"}))
		got, want := byField(t, resp.Responses["kafka"]), byField(t, resp.Responses["ttest"])
		for _, field := range []string{"hotend", "bed", "air"} {
			g, w := got[field], want[field]
			if g == nil || w == nil || g.Rows() != w.Rows() || g.Rows() == 0 {
				t.Fatalf("%s %s: kafka %v, ttest %v", r[0], field, g, w)
			}
			scipy := analysistest.Between(ref.Fields[field], r[0], r[1])
			for i := range g.Rows() {
				end, p := g.Fields[0].At(i).(time.Time), g.Fields[1].At(i).(float64)
				if end != w.Fields[0].At(i).(time.Time) || math.Float64bits(p) != math.Float64bits(w.Fields[1].At(i).(float64)) {
					t.Fatalf("%s window %d: kafka p=%v at %s, ttest p=%v at %s", field, i, p, end, w.Fields[1].At(i), w.Fields[0].At(i))
				}
				if end.Unix() != scipy[i].End || analysistest.PErr(p, scipy[i].P) > analysistest.Tol {
					t.Fatalf("%s window ending %s: p=%v, scipy %v", field, end, p, scipy[i].P)
				}
			}
			t.Logf("%s from %s: %d windows, kafka and ttest bit for bit equal, and equal to scipy to 1e-9", field, r[0].Format(time.TimeOnly), g.Rows())
		}
	}

	// Malformed messages: counted, the first shown, the rest tested.
	dirty := []string{"temperatures hotend=1 " + fmt.Sprint(day0.UnixNano()), "temperatures hotend=oops 2", "temperatures,printer hotend=1 3",
		"temperatures hotend=2 " + fmt.Sprint(day0.Add(time.Second).UnixNano())}
	if err := devenv.Kcat(ctx, k.Addr, "dirty", 0, dirty); err != nil {
		t.Fatal(err)
	}
	res := panelQuery(t, "vigil-kafka", day0, day0.Add(time.Hour), query("kafka", map[string]any{"topic": "dirty", "window": "1s"})).Responses["kafka"]
	if res.Error != nil || len(res.Frames) == 0 || res.Frames[0].Meta == nil {
		t.Fatalf("dirty topic: %v", res.Error)
	}
	notices := fmt.Sprint(res.Frames[0].Meta.Notices)
	if !strings.Contains(notices, "skipped 2 malformed message(s); the first, at partition 0 offset 1") {
		t.Fatalf("dirty topic notices: %s", notices)
	}

	res = panelQuery(t, "vigil-kafka", day0, day0.Add(time.Hour), query("kafka", map[string]any{"topic": "nope"})).Responses["kafka"]
	if res.Error == nil || !strings.Contains(res.Error.Error(), `topic "nope" does not exist`) || res.ErrorSource != backend.ErrorSourceDownstream {
		t.Fatalf("missing topic: %v (%s)", res.Error, res.ErrorSource)
	}
	health, err := host.CheckHealth(ctx, "vigil-kafka")
	if err != nil || health.Status != backend.HealthStatusOk || !strings.Contains(health.Message, "Kafka: 1 broker(s) answered") {
		t.Fatalf("health: %+v %v", health, err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	kafkaDatasource(t, 21, "vigil-kafka-down", "kref/autogen", closed)
	res = panelQuery(t, "vigil-kafka-down", day0, day0.Add(time.Hour), query("kafka", map[string]any{"topic": "reference"})).Responses["kafka"]
	if res.Error == nil || !strings.Contains(res.Error.Error(), "brokers unreachable") {
		t.Fatalf("unreachable brokers: %v", res.Error)
	}
	health, err = host.CheckHealth(ctx, "vigil-kafka-down")
	if err != nil || health.Status != backend.HealthStatusError || !strings.Contains(health.Message, "brokers unreachable (check kafkaBrokers)") {
		t.Fatalf("health with unreachable brokers: %+v %v", health, err)
	}
}

// byField indexes a t-test response's frames by their field label.
func byField(t *testing.T, r backend.DataResponse) map[string]*data.Frame {
	t.Helper()
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	out := map[string]*data.Frame{}
	for _, f := range r.Frames {
		if len(f.Fields) == 2 {
			out[f.Fields[1].Labels["field"]] = f
		}
	}
	return out
}

// partitionCounts counts a topic's messages per partition.
func partitionCounts(t *testing.T, addr, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			out[o.Partition] = o.Offset
		}
	})
	return out
}

// TestKafkaLive: a kafka Live channel as Grafana Live runs it. kcat
// produces two printers' telemetry at 10 Hz in real time to a topic of two
// partitions, after a minute of history; a viewer of printer p1 gets the
// recent windows as initial data, already warmed from the history. While
// it streams, a partition is added and a third printer is produced to it
// only (its viewer gets its windows), a malformed message is produced
// (counted and shown in a notice; the stream goes on), so is one dated a
// day ahead (counted, shown in a notice and left out: it does not move the
// watermark, so the points after it are not late), and the broker is
// restarted (kcat and Vigil reconnect). Every pushed window carries the p-value the kafka
// query over the same messages computes afterwards, none comes twice, and
// windows keep coming after the restart.
func TestKafkaLive(t *testing.T) {
	needServers(t)
	ctx := context.Background()
	const window = time.Second
	k := startKafka(t, 2, "live")
	kafkaDatasource(t, 22, "vigil-kafka-live", "e2e/autogen", k.Addr)
	rng := rand.New(rand.NewPCG(5, 6))
	line := func(printer string, ts time.Time) string {
		return fmt.Sprintf("livekafka,printer=%s temp=%v %d", printer, 50+rng.NormFloat64(), ts.UnixNano())
	}
	start := time.Now().Add(-time.Minute).Truncate(window)
	var history []string
	for ts := start; ts.Before(time.Now()); ts = ts.Add(100 * time.Millisecond) {
		history = append(history, line("p1", ts), line("p2", ts))
	}
	if err := devenv.Kcat(ctx, k.Addr, "live", -1, history); err != nil {
		t.Fatal(err)
	}
	// The writer: p1 and p2 to any partition, p3 (once set) to partition 2.
	var mu sync.Mutex
	writers := map[string]*devenv.KcatWriter{}
	startWriter := func(printer string, partition int) {
		t.Helper()
		w, err := devenv.StartKcat(k.Addr, "live", partition)
		if err != nil {
			t.Fatal(err)
		}
		writers[printer] = w
	}
	stopWriters := func() {
		t.Helper()
		for _, w := range writers {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	startWriter("p1", -1)
	malformed := 0
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				done <- nil
				return
			case ts := <-tick.C:
				mu.Lock()
				var err error
				if malformed == 20 { // once, mid-stream: counted and skipped, the stream goes on
					err = writers["p1"].Line(fmt.Sprintf("livekafka,printer=p1 temp=oops %d", ts.UnixNano()))
				}
				if malformed == 30 { // once, a day ahead of the clock: left out
					err = writers["p1"].Line(line("p1", ts.Add(24*time.Hour)))
				}
				malformed++
				for printer, w := range writers {
					if err == nil && printer == "p1" {
						err = w.Line(line("p2", ts))
					}
					if err == nil {
						err = w.Line(line(printer, ts))
					}
				}
				mu.Unlock()
				if err != nil {
					done <- err
					return
				}
			}
		}
	}()

	query := func(printer string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"queryType":"kafka","topic":"live","measurement":"livekafka","tags":{"printer":%q},"fields":["temp"],"window":"1s","history":20,"alpha":0.001,"settle":"300ms"}`, printer))
	}
	subscribe := func(printer string) *pluginhost.Subscription {
		t.Helper()
		sub, err := host.Subscribe(ctx, "vigil-kafka-live", liveChannel(t, "kafka", query(printer)), query(printer))
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}
	a := subscribe("p1")
	if a.Initial == nil || a.Initial.Rows() < 50 {
		t.Fatalf("the initial data: %d rows", a.Initial.Rows())
	}
	initial := streamed{p: map[time.Time]float64{}, count: map[time.Time]int{}}
	addRows(&initial, a.Initial)
	gotA := collect(a)
	time.Sleep(3 * time.Second)

	// A partition is added; printer p3 is produced to it only.
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(cl).CreatePartitions(ctx, 1, "live"); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	mu.Lock()
	startWriter("p3", 2)
	mu.Unlock()
	c := subscribe("p3")
	gotC := collect(c)
	time.Sleep(3 * time.Second)

	// The broker restarts; kcat gives up on a broker that is gone, so the
	// writers are started again after it (Vigil's follower reconnects).
	mu.Lock()
	stopWriters()
	if err := k.Restart(); err != nil {
		t.Fatal(err)
	}
	startWriter("p1", -1)
	startWriter("p3", 2)
	mu.Unlock()
	restarted := time.Now()
	time.Sleep(8 * time.Second)
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stopWriters()
	time.Sleep(2 * time.Second)
	a.Close(host)
	c.Close(host)
	sa, sc := <-gotA, <-gotC

	t.Logf("messages per partition: %v", partitionCounts(t, k.Addr, "live"))
	// What the kafka query over the same messages computes.
	want := map[string]map[time.Time]float64{}
	for _, printer := range []string{"p1", "p3"} {
		want[printer] = queryWindows(t, "vigil-kafka-live", start.Add(-time.Minute), time.Now().Add(time.Minute), map[string]any{
			"refId": "A", "queryType": "kafka", "topic": "live", "measurement": "livekafka", "fields": []string{"temp"},
			"tags": map[string]string{"printer": printer}, "window": "1s", "history": 20, "alpha": 0.001})
	}
	check := func(name string, s streamed, printer string) {
		t.Helper()
		if len(s.order) < 5 {
			t.Fatalf("%s: only %d windows pushed", name, len(s.order))
		}
		after := 0
		for end, p := range s.p {
			q, ok := want[printer][end]
			if !ok || math.Abs(p-q) > 1e-12*math.Max(1, math.Abs(q)) {
				t.Fatalf("%s: window ending %s pushed p=%v, the query says %v (%v)", name, end, p, q, ok)
			}
			if s.count[end] != 1 || initial.count[end] > 0 && printer == "p1" {
				t.Fatalf("%s: window ending %s pushed %d times (initial data %d)", name, end, s.count[end], initial.count[end])
			}
			if end.After(restarted.Add(time.Second)) {
				after++
			}
		}
		if after < 3 {
			t.Fatalf("%s: %d windows after the broker restarted (pushed %v)", name, after, s.order)
		}
		t.Logf("%s: %d windows pushed, %d after the broker restart, each equal to the query's", name, len(s.order), after)
	}
	for end, p := range initial.p {
		if q, ok := want["p1"][end]; !ok || math.Abs(p-q) > 1e-12*math.Max(1, math.Abs(q)) {
			t.Fatalf("initial window ending %s: p=%v, the query says %v (%v)", end, p, q, ok)
		}
	}
	if !strings.Contains(strings.Join(sa.notices, "\n"), "skipped 1 malformed message(s); the first, at partition") {
		t.Fatalf("p1's stream does not say it skipped the malformed message: %q", sa.notices)
	}
	check("p1", sa, "p1")
	check("p3 (the added partition)", sc, "p3")
	if !strings.Contains(strings.Join(sa.notices, "\n"), "left out 1 point(s) dated more than 1m0s ahead of the clock") {
		t.Fatalf("p1's stream does not say it left out the point dated a day ahead: %q", sa.notices)
	}
}

// BenchmarkKafkaLiveLatency: the delay from a window's last message to its
// frame at a Grafana Live subscriber, through the plugin host. A producer
// writes one message per millisecond in real time (event time = the clock)
// round-robin over a three-partition kfake topic on loopback; the channel
// has 100 ms windows and settle 50 ms. Each iteration waits for 10 frames'
// windows; reported are p50 and p99 over all of them.
func BenchmarkKafkaLiveLatency(b *testing.B) {
	k := startKafka(b, 3, "latency")
	kafkaDatasource(b, 23, "vigil-kafka-bench", "e2e/autogen", k.Addr)
	prod, err := kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const window = 100 * time.Millisecond
	var mu sync.Mutex
	lastSent := map[time.Time]time.Time{} // window end -> when its last message was produced
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; ctx.Err() == nil; i++ {
			now := <-tick.C
			prod.Produce(ctx, &kgo.Record{Topic: "latency", Value: fmt.Appendf(nil, "bench temp=%d %d", i%17, now.UnixNano())}, nil)
			mu.Lock()
			lastSent[now.Truncate(window).Add(window).UTC()] = time.Now()
			mu.Unlock()
		}
	}()
	time.Sleep(time.Second) // some history
	q := json.RawMessage(`{"queryType":"kafka","topic":"latency","measurement":"bench","fields":["temp"],"window":"100ms","history":200,"settle":"50ms"}`)
	path, err := models.LiveChannel("kafka", q)
	if err != nil {
		b.Fatal(err)
	}
	sub, err := host.Subscribe(ctx, "vigil-kafka-bench", path, q)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close(host)
	var delays []time.Duration
	for b.Loop() {
		for got := 0; got < 10; {
			f := <-sub.Frames
			arrived := time.Now()
			mu.Lock()
			for i := range f.Rows() {
				if sent, ok := lastSent[f.Fields[0].At(i).(time.Time).UTC()]; ok {
					delays = append(delays, arrived.Sub(sent))
					got++
				}
			}
			mu.Unlock()
		}
	}
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(delays)), "windows")
}

// TestKafkaAlertRule: a Grafana alert rule on a kafka query, evaluated as
// Grafana's alerting does: a fleet of two printers produced to a topic by
// kcat, one printer's hotend 4 degrees up for the last 6 minutes. The
// frames keep the data plane contract and the rule has one instance per
// printer and field, the drifting one Alerting.
func TestKafkaAlertRule(t *testing.T) {
	needServers(t)
	now := time.Now().UTC().Truncate(time.Second)
	k := startKafka(t, 3, "fleet")
	lines := fleetLines(now, 13, func(ts time.Time) int64 { return ts.UnixNano() })
	if err := devenv.Kcat(context.Background(), k.Addr, "fleet", -1, lines); err != nil {
		t.Fatal(err)
	}
	kafkaDatasource(t, 24, "vigil-kafka-fleet", "e2e/autogen", k.Addr)
	evalFleetRule(t, fleetRule("Fleet hotend (Kafka)", "vigil-kafka-fleet", map[string]any{"queryType": "kafka", "topic": "fleet"}), now)
}
