package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

// BenchmarkSoak runs the load benchmark's mix for VIGIL_SOAK (default 30m)
// through the plugin host and samples the plugin process each minute: its
// resident memory (VmRSS in /proc/<pid>/status), goroutines, heap and kept
// state (its metrics). The mix, every 15 s: t-test panels of the printer
// day in both modes (histories that rotate, so kept state is made and
// evicted), t-test and kafka queries on printers that have no data (new
// ones each round: the empty entries that were never evicted), and kafka
// queries; all along, 40 t-test and 5 kafka Live channels on 10 Hz data,
// one kafka channel over every printer while new printers appear each
// minute (the series Kafka Live kept for ever), and Live viewers that come
// and go. Kept state is capped at 8 MiB (stateMaxMB), so that the cache is
// full before the warm-up ends. Prints a row per minute and reports the
// slopes after VIGIL_SOAK_WARMUP (default 5m; a third of a shorter soak),
// least squares over the minutes after it: resident memory and the Go heap
// in use in KiB/min (RSS also holds what a burst took and the runtime has
// not yet returned; the heap in use is what stays), goroutines per minute.
func BenchmarkSoak(b *testing.B) {
	if testing.Short() {
		b.Skip("needs the servers")
	}
	soak := envDuration(b, "VIGIL_SOAK", 30*time.Minute)
	warmup := envDuration(b, "VIGIL_SOAK_WARMUP", 5*time.Minute)
	if warmup > soak/2 {
		warmup = soak / 3
	}
	for range b.N {
		runSoak(b, soak, warmup)
	}
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return d
}

// soakStateMB is the soak data source's kept-state cap (stateMaxMB).
const soakStateMB = 8

// soakSample is the plugin process at one minute of the soak.
type soakSample struct {
	minute     float64
	rssKiB     float64
	heapKiB    float64
	goroutines float64
	calls      int
	errors     int
}

func runSoak(b *testing.B, soak, warmup time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k := startKafka(b, 2, "soak")
	// Kept state capped at 8 MiB, reached during the warm-up: memory that
	// still grows after it is not the cache filling.
	const ds = "vigil-soak"
	settings := vigilDatasource(40, ds, influxDB.Token(), "e2e/autogen")
	settings.JSONData, _ = json.Marshal(map[string]any{"defaultBucket": "e2e/autogen", "timeout": 30, "maxPoints": 1000000,
		"stateMaxMB": soakStateMB, "kafkaBrokers": k.Addr})
	host.AddDatasource(settings)
	producer, err := kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.DefaultProduceTopic("soak"))
	if err != nil {
		b.Fatal(err)
	}
	defer producer.Close()

	// 10 Hz data of 20 printers to InfluxDB and the topic, and to the
	// topic one more printer whose name changes each minute.
	rng := rand.New(rand.NewPCG(71, 72))
	started := time.Now()
	// The writer goes on after a failed write (a slow moment of a shared
	// machine): a soak is not a test of InfluxDB. Failed writes are counted.
	var writeErrs int
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for ctx.Err() == nil {
			ts := time.Now()
			var lines []string
			for p := range 20 {
				lines = append(lines, fmt.Sprintf("soak,printer=p%02d temp=%v %d", p, 50+rng.NormFloat64(), ts.UnixNano()))
			}
			passing := fmt.Sprintf("soak,printer=m%d temp=%v %d", int(ts.Sub(started).Minutes()), 50+rng.NormFloat64(), ts.UnixNano())
			for _, l := range append(lines, passing) {
				producer.Produce(ctx, &kgo.Record{Value: []byte(l)}, nil)
			}
			if err := writeNs(ctx, "e2e/autogen", lines...); err != nil && ctx.Err() == nil {
				writeErrs++
			}
			time.Sleep(time.Until(ts.Add(100 * time.Millisecond)))
		}
	}()
	var stopOnce sync.Once
	stopWriter := func() { stopOnce.Do(func() { cancel(); <-writerDone }) }
	defer stopWriter()

	var mu sync.Mutex
	var calls, errs int
	var firstErrs []string
	note := func(what string, err error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if err != nil {
			errs++
			if len(firstErrs) < 5 {
				firstErrs = append(firstErrs, what+": "+err.Error())
			}
		}
	}
	query := func(refID string, from, to time.Time, model map[string]any) {
		model["refId"] = refID
		req, err := pluginhost.PanelRequest(from, to, 1000, time.Second, model)
		if err == nil {
			var resp *backend.QueryDataResponse
			resp, err = host.QueryData(ctx, ds, req)
			if err == nil {
				err = resp.Responses[refID].Error
			}
		}
		note(fmt.Sprint(model["queryType"]), err)
	}
	subscribe := func(kind string, q string) *pluginhost.Subscription {
		raw := json.RawMessage(q)
		sub, err := host.Subscribe(ctx, ds, liveChannel(b, queryTypeOf(kind), raw), raw)
		note("live "+kind, err)
		if err != nil {
			return nil
		}
		go func() {
			for range sub.Frames {
			}
		}()
		return sub
	}
	ttestLive := func(printer string, history int) string {
		return fmt.Sprintf(`{"queryType":"ttest","measurement":"soak","tags":{"printer":%q},"fields":["temp"],"window":"10s","history":%d,"mode":"points","settle":"500ms"}`, printer, history)
	}
	kafkaLive := func(tags string) string {
		return `{"queryType":"kafka","topic":"soak","measurement":"soak",` + tags + `"fields":["temp"],"window":"10s","history":20,"settle":"500ms"}`
	}
	var subs []*pluginhost.Subscription
	for c := range 40 {
		subs = append(subs, subscribe("ttest", ttestLive(fmt.Sprintf("p%02d", c/2), 20+c%2)))
	}
	for c := range 4 {
		subs = append(subs, subscribe("kafka", kafkaLive(fmt.Sprintf(`"tags":{"printer":"p%02d"},`, c))))
	}
	subs = append(subs, subscribe("kafka", kafkaLive(""))) // every printer, new ones each minute
	defer func() {
		for _, s := range subs {
			if s != nil {
				s.Close(host)
			}
		}
	}()

	// The rounds: every 15 s until the end.
	var wg sync.WaitGroup
	wg.Add(1)
	end := started.Add(soak)
	go func() {
		defer wg.Done()
		fields := []string{"hotend", "bed", "air"}
		for round := 0; time.Now().Before(end); round++ {
			now := time.Now()
			var rw sync.WaitGroup
			for p := range 12 {
				rw.Add(1)
				go func() {
					defer rw.Done()
					query("A", now.Add(-6*time.Hour), now, map[string]any{"queryType": "ttest", "bucket": "printer/autogen", "measurement": "temperatures",
						"fields": []string{fields[p%3]}, "window": "5m", "history": 600 + (round*12+p)%60, "mode": []string{"points", "windows"}[p%2]})
				}()
			}
			for p := range 4 { // printers with no data: new ones each round
				rw.Add(1)
				go func() {
					defer rw.Done()
					tags := map[string]string{"printer": fmt.Sprintf("none-%d-%d", round, p)}
					query("A", now.Add(-time.Hour), now, map[string]any{"queryType": "ttest", "measurement": "soak", "tags": tags,
						"fields": []string{"temp"}, "window": "10s", "history": 20})
					query("A", now.Add(-time.Minute), now, map[string]any{"queryType": "kafka", "topic": "soak", "measurement": "soak", "tags": tags,
						"fields": []string{"temp"}, "window": "10s", "history": 20})
				}()
			}
			for p := range 2 {
				rw.Add(1)
				go func() {
					defer rw.Done()
					query("A", now.Add(-2*time.Minute), now, map[string]any{"queryType": "kafka", "topic": "soak", "measurement": "soak",
						"tags": map[string]string{"printer": fmt.Sprintf("p%02d", (round+p)%20)}, "fields": []string{"temp"}, "window": "10s", "history": 20})
				}()
			}
			// A viewer comes for a while (a channel of its own, then gone).
			rw.Add(1)
			go func() {
				defer rw.Done()
				if s := subscribe("ttest", ttestLive(fmt.Sprintf("p%02d", round%20), 30+round%50)); s != nil {
					time.Sleep(10 * time.Second)
					s.Close(host)
				}
			}()
			rw.Wait()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(now.Add(15 * time.Second))):
			}
		}
	}()

	// Sampling: minute 0 after the Live channels started, then each minute.
	var samples []soakSample
	sample := func() {
		text, err := host.Metrics(ctx, ds)
		if err != nil {
			b.Fatal(err)
		}
		rss, err := vmRSS(host.Pid())
		if err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		s := soakSample{minute: time.Since(started).Minutes(), rssKiB: rss, heapKiB: metric(b, text, "go_memstats_heap_inuse_bytes") / 1024,
			goroutines: metric(b, text, "go_goroutines"), calls: calls, errors: errs}
		mu.Unlock()
		samples = append(samples, s)
		fmt.Printf("soak minute %5.1f: RSS %7.1f MiB, heap in use %7.1f MiB, kept state %6.1f MiB, %5.0f goroutines, %6d calls, %d errors\n",
			s.minute, s.rssKiB/1024, s.heapKiB/1024,
			metric(b, text, `vigil_ttest_state_bytes{datasource_uid="`+ds+`"}`)/(1<<20), s.goroutines, s.calls, s.errors)
	}
	sample()
	for m := 1; time.Duration(m)*time.Minute <= soak; m++ {
		time.Sleep(time.Until(started.Add(time.Duration(m) * time.Minute)))
		sample()
	}
	wg.Wait()

	var after []soakSample
	for _, s := range samples {
		if s.minute >= warmup.Minutes() {
			after = append(after, s)
		}
	}
	minutes, rss, heap, gor := make([]float64, len(after)), make([]float64, len(after)), make([]float64, len(after)), make([]float64, len(after))
	for i, s := range after {
		minutes[i], rss[i], heap[i], gor[i] = s.minute, s.rssKiB, s.heapKiB, s.goroutines
	}
	rssSlope, heapSlope, gorSlope := slope(minutes, rss), slope(minutes, heap), slope(minutes, gor)
	last := samples[len(samples)-1]
	stopWriter()
	fmt.Printf("soak %s: after the first %s (%d samples), RSS %+.1f KiB/min, heap in use %+.1f KiB/min, goroutines %+.2f/min; %d calls, %d errors; %d failed writes to InfluxDB\n",
		soak, warmup, len(after), rssSlope, heapSlope, gorSlope, last.calls, last.errors, writeErrs)
	if len(firstErrs) > 0 {
		fmt.Printf("soak: the first errors: %s\n", strings.Join(firstErrs, "; "))
	}
	if last.calls == 0 || last.errors*100 > last.calls {
		b.Fatalf("soak: %d of %d calls failed, the first: %v", last.errors, last.calls, firstErrs)
	}
	b.ReportMetric(rssSlope, "rss-KiB/min")
	b.ReportMetric(heapSlope, "heap-KiB/min")
	b.ReportMetric(gorSlope, "goroutines/min")
	b.ReportMetric(samples[0].rssKiB/1024, "rss-MiB-start")
	b.ReportMetric(last.rssKiB/1024, "rss-MiB-end")
	b.ReportMetric(samples[0].goroutines, "goroutines-start")
	b.ReportMetric(last.goroutines, "goroutines-end")
	b.ReportMetric(float64(last.calls), "calls")
	b.ReportMetric(float64(last.errors), "errors")
	b.ReportMetric(float64(writeErrs), "influx-write-errors")
}

// metric is a sample's value in Prometheus text (name with its labels, if
// any, as written there; 0 when absent, as a gauge never set).
func metric(b *testing.B, text, name string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				b.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	return 0
}

// queryTypeOf is a Live channel kind as the query type it names.
func queryTypeOf(kind string) models.QueryType { return models.QueryType(kind) }

// vmRSS is a process's resident memory in KiB, from /proc/<pid>/status.
func vmRSS(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// slope is the least-squares slope of y over x (0 for fewer than two points).
func slope(x, y []float64) float64 {
	n := float64(len(x))
	if len(x) < 2 {
		return 0
	}
	var mx, my float64
	for i := range x {
		mx += x[i] / n
		my += y[i] / n
	}
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return 0
	}
	return sxy / sxx
}

func TestSlope(t *testing.T) {
	for _, c := range []struct {
		x, y []float64
		want float64
	}{
		{nil, nil, 0},
		{[]float64{1}, []float64{5}, 0},
		{[]float64{1, 2, 3}, []float64{10, 10, 10}, 0},
		{[]float64{5, 6, 7, 8}, []float64{100, 102, 104, 106}, 2},
		{[]float64{0, 1, 2, 3}, []float64{1, 0, 1, 0}, -0.2},
		{[]float64{2, 2}, []float64{1, 3}, 0},
	} {
		if got := slope(c.x, c.y); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("slope(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}
