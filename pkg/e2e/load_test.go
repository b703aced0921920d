package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

// BenchmarkLoad: 50 dashboards of 6 t-test panels refreshed at once, then
// 200 Live channels for VIGIL_LOAD_LIVE (default 10m), through the plugin
// host. Reports the panels' p50/p99 latency, the Live frames' delay after
// their window's end (p50/p99), errors, windows sent twice, and the plugin's
// goroutines and resident memory before, at the end and after.
func BenchmarkLoad(b *testing.B) {
	if testing.Short() {
		b.Skip("needs the servers")
	}
	liveFor := 10 * time.Minute
	if v := os.Getenv("VIGIL_LOAD_LIVE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		liveFor = d
	}
	ctx := context.Background()
	fields := []string{"hotend", "bed", "air"}
	for i := 0; i < b.N; i++ {
		goroutines0, rss0 := plugin(b)

		// 300 panels at once: each dashboard has its own history, so no
		// two panels share kept state (a cold refresh of every one).
		end := time.Now()
		latencies := make([]time.Duration, 300)
		errs := make([]error, 300)
		var wg sync.WaitGroup
		for p := range 300 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dashboard, panel := p/6, p%6
				req, err := pluginhost.PanelRequest(end.Add(-6*time.Hour), end, 1000, time.Second, map[string]any{
					"refId": "A", "queryType": "ttest", "bucket": "printer/autogen", "measurement": "temperatures",
					"fields": []string{fields[panel%3]}, "window": []string{"1m", "5m"}[panel/3], "history": 600 + dashboard,
					"mode": []string{"points", "windows"}[panel%2]})
				if err != nil {
					errs[p] = err
					return
				}
				s := time.Now()
				resp, err := host.QueryData(ctx, dsMain, req)
				latencies[p] = time.Since(s)
				if err == nil {
					err = resp.Responses["A"].Error
				}
				errs[p] = err
			}()
		}
		wg.Wait()
		for p, err := range errs {
			if err != nil {
				b.Fatalf("panel %d: %v", p, err)
			}
		}
		b.ReportMetric(ms(percentile(latencies, 0.5)), "panel-p50-ms")
		b.ReportMetric(ms(percentile(latencies, 0.99)), "panel-p99-ms")

		// 200 Live channels (20 printers x 10 histories) on 10 Hz data.
		rng := rand.New(rand.NewPCG(41, 42))
		stop := writeRealTime(b, func(ts time.Time) string {
			var lines string
			for pr := range 20 {
				lines += fmt.Sprintf("loadlive,printer=p%02d temp=%v %d\n", pr, 50+rng.NormFloat64(), ts.UnixNano())
			}
			return lines[:len(lines)-1]
		})
		var subs []*pluginhost.Subscription
		var mu sync.Mutex
		var delays []time.Duration
		var sent, twice int
		for c := range 200 {
			q, _ := json.Marshal(map[string]any{"queryType": "ttest", "measurement": "loadlive", "tags": map[string]string{"printer": fmt.Sprintf("p%02d", c/10)},
				"fields": []string{"temp"}, "window": "10s", "history": 20 + c%10, "mode": "points", "settle": "500ms"})
			sub, err := host.Subscribe(ctx, dsMain, liveChannel(b, "ttest", q), q)
			if err != nil {
				b.Fatalf("channel %d: %v", c, err)
			}
			subs = append(subs, sub)
			go func() {
				seen := map[time.Time]bool{}
				for f := range sub.Frames {
					now := time.Now()
					mu.Lock()
					for r := range f.Rows() {
						end := f.Fields[0].At(r).(time.Time)
						if seen[end] {
							twice++
						}
						seen[end] = true
						sent++
						delays = append(delays, now.Sub(end))
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(liveFor)
		goroutinesLive, rssLive := plugin(b)
		for _, s := range subs {
			s.Close(host)
		}
		stop()
		time.Sleep(2 * time.Second)
		goroutinesAfter, rssAfter := plugin(b)
		mu.Lock()
		if twice > 0 || sent == 0 {
			b.Fatalf("Live: %d windows sent, %d twice", sent, twice)
		}
		b.ReportMetric(float64(sent), "live-windows")
		b.ReportMetric(ms(percentile(delays, 0.5)), "live-delay-p50-ms")
		b.ReportMetric(ms(percentile(delays, 0.99)), "live-delay-p99-ms")
		mu.Unlock()
		b.ReportMetric(float64(goroutines0), "goroutines-before")
		b.ReportMetric(float64(goroutinesLive), "goroutines-live")
		b.ReportMetric(float64(goroutinesAfter), "goroutines-after")
		b.ReportMetric(rss0/(1<<20), "rss-MiB-before")
		b.ReportMetric(rssLive/(1<<20), "rss-MiB-live")
		b.ReportMetric(rssAfter/(1<<20), "rss-MiB-after")
	}
}

// plugin is the plugin process's goroutines and resident memory (bytes), from its metrics.
func plugin(b *testing.B) (int, float64) {
	text, err := host.Metrics(context.Background(), dsMain)
	if err != nil {
		b.Fatal(err)
	}
	g := regexp.MustCompile(`(?m)^go_goroutines (\S+)`).FindStringSubmatch(text)
	r := regexp.MustCompile(`(?m)^process_resident_memory_bytes (\S+)`).FindStringSubmatch(text)
	if g == nil || r == nil {
		b.Fatalf("no go_goroutines or process_resident_memory_bytes in the plugin's metrics")
	}
	n, _ := strconv.Atoi(g[1])
	rss, _ := strconv.ParseFloat(r[1], 64)
	return n, rss
}

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
