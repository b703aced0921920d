package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// End-to-end latency, measured through QueryData against the real InfluxDB:
// each benchmark times the t-test and its baseline alternately in the same
// run and reports their ratio. Run with
//
//	go test -run '^$' -bench . -benchtime 5x ./pkg/plugin

var (
	loaded   = map[string]bool{}
	loadLock sync.Mutex
)

// loadOnce creates database db and writes n lines from next into it, once
// per test binary.
func loadOnce(b *testing.B, db string, n int, next func() string) {
	devenv.NeedInfluxDB(b)
	loadLock.Lock()
	defer loadLock.Unlock()
	if loaded[db] {
		return
	}
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, db); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := influxDB.WriteLines(ctx, db+"/autogen", n, func(int) string { return next() }); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d lines into %s in %s", n, db, time.Since(start).Round(time.Millisecond))
	loaded[db] = true
}

// loadPrinter writes days of generated printer data (1 Hz, 3 fields) from 2016-01-01.
func loadPrinter(b *testing.B, db string, days int) {
	gen := datagen.NewPrinter(t0, 1)
	loadOnce(b, db, days*86_400, func() string { return gen.Next().LineProtocol() })
}

// keepNothing is the setting of a data source that keeps no t-test state
// (every query stateless), for timing the query itself run after run.
const keepNothing = `"stateMaxMB":0.000001`

func benchQuery(b *testing.B, ds *Datasource, model map[string]any, from, to time.Time) {
	js, _ := json.Marshal(model)
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
		RefID: "A", QueryType: model["queryType"].(string), JSON: js, Interval: time.Minute, MaxDataPoints: 1000,
		TimeRange: backend.TimeRange{From: from, To: to},
	}}})
	if err != nil {
		b.Fatal(err)
	}
	if r := resp.Responses["A"]; r.Error != nil || len(r.Frames) == 0 {
		b.Fatalf("query failed: %v", r.Error)
	}
}

const rawScript = `from(bucket: v.bucket)
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "temperatures" and (r._field == "hotend" or r._field == "bed" or r._field == "air"))`

func ttestModel(mode string) map[string]any {
	return map[string]any{"queryType": "ttest", "measurement": "temperatures", "fields": datagen.PrinterFields, "mode": mode}
}

// peakHeap runs f and returns the largest heap growth seen while it ran.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base.HeapAlloc && m.HeapAlloc-base.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc - base.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak.Load()
}

// rawRead sends statement to /query as the given format (an Accept header;
// "" for chunked JSON) and reads the answer to the end without decoding it:
// what InfluxDB alone takes to serve it. It returns the answer's size.
func rawRead(b *testing.B, db, statement, accept string) int64 {
	form := url.Values{"db": {db}, "q": {statement}, "epoch": {"ns"}, "chunked": {"true"}, "chunk_size": {"10000"}}
	req, err := http.NewRequest(http.MethodPost, influxDB.URL+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Encoding", "identity")
	if accept == "+gzip" {
		req.Header.Del("Accept-Encoding") // Go's transport asks for gzip and decompresses
		accept = ""
	} else if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.SetBasicAuth(influxDB.User, influxDB.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("HTTP %d: %v", resp.StatusCode, err)
	}
	if got := resp.Header.Get("Content-Type"); accept != "" && !strings.HasPrefix(got, accept) {
		b.Fatalf("asked for %s, InfluxDB answered %s", accept, got)
	}
	return n
}

// answerFormats are the InfluxQL answer formats InfluxDB 1.8 serves; "+gzip"
// asks for the answer compressed (Go's client then decompresses it).
var answerFormats = []struct{ name, accept string }{
	{"json", ""}, {"json+gzip", "+gzip"}, {"csv", "application/csv"}, {"msgpack", "application/x-msgpack"},
}

// BenchmarkAnswerFormats: the reference day's points (the t-test's own
// statement) served by InfluxDB as chunked JSON, CSV and MessagePack, each
// read to the end undecoded, alternately in one run; and Vigil's streaming
// JSON decode of the same answer. JSON is the format InfluxDB 1.x, 2.x and
// 3.x all serve (3.x: JSON and CSV, no MessagePack), and 1.8's CSV writer
// drops statement errors.
func BenchmarkAnswerFormats(b *testing.B) {
	loadPrinter(b, "benchday", 1)
	sel := influx.Selection{Bucket: "benchday/autogen", Measurement: "temperatures", Fields: datagen.PrinterFields}
	db, stmt := influx.PointsStatement(sel, t0, t0.Add(24*time.Hour))
	client := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	defer client.Close()
	took := make([]time.Duration, len(answerFormats))
	size := make([]int64, len(answerFormats))
	var decoded time.Duration
	for i := 0; i < b.N; i++ {
		for f, format := range answerFormats {
			s := time.Now()
			size[f] = rawRead(b, db, stmt, format.accept)
			took[f] += time.Since(s)
		}
		s := time.Now()
		var values int
		if err := client.Points(context.Background(), sel, t0, t0.Add(24*time.Hour), func(bt influx.Batch) error {
			values += len(bt.Values)
			return nil
		}); err != nil || values != 3*86_400 {
			b.Fatalf("decoded %d values: %v", values, err)
		}
		decoded += time.Since(s)
	}
	for f, format := range answerFormats {
		b.ReportMetric(float64(took[f].Microseconds())/1e3/float64(b.N), format.name+"-ms/op")
		b.ReportMetric(float64(size[f])/(1<<20), format.name+"-MiB")
	}
	b.ReportMetric(float64(decoded.Microseconds())/1e3/float64(b.N), "json-decoded-ms/op")
	b.ReportMetric(float64(decoded)/float64(took[0]), "decoded/json-raw")
}

// BenchmarkFullDayVsRaw: the t-test over the reference day (3 x 86,400
// points, points mode) against the raw InfluxQL read of the same points (the
// statement the t-test runs, chunked JSON read undecoded: InfluxDB's own
// time) and against the raw Flux read of them (the t-test's old read path).
func BenchmarkFullDayVsRaw(b *testing.B) {
	loadPrinter(b, "benchday", 1)
	ds := newDatasource(b, influxDB.URL, `{"defaultBucket":"benchday/autogen","maxPoints":100000000,`+keepNothing+`}`, influxDB.Token())
	from, to := t0, t0.Add(24*time.Hour)
	sel := influx.Selection{Bucket: "benchday/autogen", Measurement: "temperatures", Fields: datagen.PrinterFields}
	db, stmt := influx.PointsStatement(sel, from, to)
	var rawQL, rawFlux, tt time.Duration
	for i := 0; i < b.N; i++ {
		s := time.Now()
		rawRead(b, db, stmt, "")
		rawQL += time.Since(s)
		s = time.Now()
		benchQuery(b, ds, map[string]any{"queryType": "flux", "flux": rawScript}, from, to)
		rawFlux += time.Since(s)
		s = time.Now()
		benchQuery(b, ds, ttestModel("points"), from, to)
		tt += time.Since(s)
	}
	b.ReportMetric(float64(rawQL.Microseconds())/1e3/float64(b.N), "raw-influxql-ms/op")
	b.ReportMetric(float64(rawFlux.Microseconds())/1e3/float64(b.N), "raw-flux-ms/op")
	b.ReportMetric(float64(tt.Microseconds())/1e3/float64(b.N), "ttest-ms/op")
	b.ReportMetric(float64(tt)/float64(rawQL), "ttest/raw-influxql")
	b.ReportMetric(float64(rawFlux)/float64(rawQL), "raw-flux/raw-influxql")
}

// Benchmark30Days: 30 days of 1 Hz data for 3 fields (7.8 million points):
// the per-window path against the point path on the same range, and against
// InfluxDB's own window statement over the range (read undecoded); the
// windows-mode query and that statement take turns going first, so neither
// gains from caches the other warmed. Peak heap is measured in runs of
// their own, after the timed ones (sampling it stops the world).
func Benchmark30Days(b *testing.B) {
	loadPrinter(b, "benchmonth", 30)
	ds := newDatasource(b, influxDB.URL, `{"defaultBucket":"benchmonth/autogen","maxPoints":100000000,"timeout":600,`+keepNothing+`}`, influxDB.Token())
	from, to := t0, t0.Add(30*24*time.Hour)
	sel := influx.Selection{Bucket: "benchmonth/autogen", Measurement: "temperatures", Fields: datagen.PrinterFields}
	db, stmt := influx.WindowStatsStatement(sel, from, to, 5*time.Minute)
	points := func() { benchQuery(b, ds, ttestModel("points"), from, to) }
	windows := func() { benchQuery(b, ds, ttestModel("windows"), from, to) }
	var pts, win, raw time.Duration
	timed := func(total *time.Duration, f func()) {
		s := time.Now()
		f()
		*total += time.Since(s)
	}
	for i := 0; i < b.N; i++ {
		timed(&pts, points)
		if i%2 == 0 {
			timed(&win, windows)
			timed(&raw, func() { rawRead(b, db, stmt, "") })
		} else {
			timed(&raw, func() { rawRead(b, db, stmt, "") })
			timed(&win, windows)
		}
	}
	b.StopTimer()
	pHeap, wHeap := peakHeap(points), peakHeap(windows)
	b.ReportMetric(float64(pts.Milliseconds())/float64(b.N), "points-ms/op")
	b.ReportMetric(float64(win.Milliseconds())/float64(b.N), "windows-ms/op")
	b.ReportMetric(float64(raw.Milliseconds())/float64(b.N), "raw-windows-statement-ms/op")
	b.ReportMetric(float64(win)/float64(pts), "windows/points")
	b.ReportMetric(float64(win)/float64(raw), "windows/raw-statement")
	b.ReportMetric(float64(pHeap)/(1<<20), "points-peak-MiB")
	b.ReportMetric(float64(wHeap)/(1<<20), "windows-peak-MiB")
}

// loadHouse writes years of synthetic household minutes (UCI shape, 7
// fields, about 1.25% of rows missing) into database db.
func loadHouse(b *testing.B, db string, years int) {
	gen := datagen.NewHousehold(houseStart, 1)
	loadOnce(b, db, years*365*1440, func() string {
		for {
			if lp := gen.Next().LineProtocol(); lp != "" {
				return lp
			}
		}
	})
}

var houseStart = time.Date(2006, 12, 16, 17, 24, 0, 0, time.UTC)

// BenchmarkPowerFourYears: the power query over four years of minute data
// at 1,000 points (auto: mean per interval), against InfluxDB's own time for
// the same aggregate statement sent straight to /query, and the plugin's
// peak heap.
func BenchmarkPowerFourYears(b *testing.B) {
	loadHouse(b, "benchhouse", 4)
	ds := newDatasource(b, influxDB.URL, `{"defaultBucket":"benchhouse/autogen","timeout":600}`, influxDB.Token())
	from, to := houseStart, houseStart.Add(4*365*24*time.Hour)
	model := map[string]any{"queryType": "power", "measurement": "power"}
	js, _ := json.Marshal(model)
	interval := to.Sub(from) / 1000
	var stmt string
	var viaPlugin, direct time.Duration
	var heap uint64
	for i := 0; i < b.N; i++ {
		s := time.Now()
		heap = max(heap, peakHeap(func() {
			resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
				RefID: "A", QueryType: "power", JSON: js, Interval: interval, MaxDataPoints: 1000,
				TimeRange: backend.TimeRange{From: from, To: to}}}})
			if err != nil || resp.Responses["A"].Error != nil {
				b.Fatalf("%v %v", err, resp.Responses["A"].Error)
			}
			f := resp.Responses["A"].Frames[0]
			if f.Rows() < 900 || f.Rows() > 1001 {
				b.Fatalf("%d rows", f.Rows())
			}
			stmt = f.Meta.ExecutedQueryString
		}))
		viaPlugin += time.Since(s)
		// InfluxDB alone: the aggregate statement (the last one the plugin ran).
		agg := stmt[strings.LastIndex(stmt, "\n\n")+2:]
		s = time.Now()
		if err := ds.client.InfluxQL(context.Background(), "benchhouse", agg, func(influx.Series) error { return nil }); err != nil {
			b.Fatal(err)
		}
		direct += time.Since(s)
	}
	b.ReportMetric(float64(viaPlugin.Milliseconds())/float64(b.N), "plugin-ms/op")
	b.ReportMetric(float64(direct.Milliseconds())/float64(b.N), "influxdb-ms/op")
	b.ReportMetric(float64(viaPlugin)/float64(direct), "plugin/influxdb")
	b.ReportMetric(float64(heap)/(1<<20), "peak-MiB")
}

// BenchmarkLive200Channels: 200 live t-test channels (one field each) on one
// plugin, each polled once per second of new data as RunStream does. Reports
// the plugin's CPU time per poll and heap per channel.
func BenchmarkLive200Channels(b *testing.B) {
	devenv.NeedInfluxDB(b)
	ctx := context.Background()
	const channels = 200
	if err := influxDB.CreateDatabase(ctx, "many"); err != nil {
		b.Fatal(err)
	}
	ds := newDatasource(b, influxDB.URL, `{"defaultBucket":"many/autogen"}`, influxDB.Token())
	second := func(ts time.Time) string {
		var sb strings.Builder
		sb.WriteString("many ")
		for f := 0; f < channels; f++ {
			if f > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "f%d=%g", f, 20+float64((ts.Unix()*7+int64(f))%13)/10)
		}
		fmt.Fprintf(&sb, " %d", ts.Unix())
		return sb.String()
	}
	// Ten minutes of history, one point per second per field.
	start := time.Now().Truncate(time.Second).Add(-10 * time.Minute)
	if err := influxDB.WriteLines(ctx, "many/autogen", 600, func(i int) string { return second(start.Add(time.Duration(i) * time.Second)) }); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	lives := make([]*ttest.Live, channels)
	for f := range lives {
		query := []byte(fmt.Sprintf(`{"measurement":"many","fields":["f%d"],"window":"10s","history":60}`, f))
		lq, err := ds.parseLive(channel(b, "ttest", string(query)), query, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if lives[f], _, err = ttest.StartLive(ctx, ds.client, ds.cache, lq.request(1e6, start.Add(10*time.Minute))); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	next := start.Add(10 * time.Minute)
	var cpu time.Duration
	polls := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := influxDB.WriteLines(ctx, "many/autogen", 1, func(int) string { return second(next) }); err != nil {
			b.Fatal(err)
		}
		next = next.Add(time.Second)
		c0 := cpuTime()
		var wg sync.WaitGroup
		for _, l := range lives {
			wg.Add(1)
			go func(l *ttest.Live) {
				defer wg.Done()
				if _, err := l.Poll(ctx, ds.client, next); err != nil {
					b.Error(err)
				}
			}(l)
		}
		wg.Wait()
		cpu += cpuTime() - c0
		polls += channels
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(polls), "cpu-us/poll")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/channels/1024, "heap-KiB/channel")
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFleetRule: an alert rule over now-30m on a fleet of 1,000
// printers x 3 fields at 1 Hz (one statement for every series, points
// mode), evaluated once a simulated minute for 10 minutes over loaded data,
// with the t-test state kept between evaluations, against the stateless
// query (a data source whose state cap keeps nothing) at the last one.
// Reports the cold first evaluation, the warm ones (mean and worst time,
// the worst ratio of points and rows read to points new since the previous
// evaluation), state bytes per series, and the largest p-value difference
// from the stateless answer.
func BenchmarkFleetRule(b *testing.B) {
	const printers, minutes = 1000, 10
	start := t0
	// 2 h of warm-up lookback, the 30-minute range, and the 10 minutes slid over.
	span := 2*time.Hour + 30*time.Minute + minutes*time.Minute
	gens := make([]*datagen.Printer, printers)
	for p := range gens {
		gens[p] = datagen.NewPrinter(start, uint64(p+1))
	}
	var line int
	loadOnce(b, "fleet", printers*int(span/time.Second), func() string {
		p := line % printers
		line++
		pt := gens[p].Next()
		return fmt.Sprintf("temperatures,printer=p%04d hotend=%v,bed=%v,air=%v %d", p, pt.Values[0], pt.Values[1], pt.Values[2], pt.Time.Unix())
	})
	settings := `{"defaultBucket":"fleet/autogen","maxPoints":100000000,"timeout":600%s}`
	stateless := newDatasource(b, influxDB.URL, fmt.Sprintf(settings, ","+keepNothing), influxDB.Token())
	js, _ := json.Marshal(ttestModel("points"))
	evaluate := func(ds *Datasource, now time.Time) (data.Frames, time.Duration, int64) {
		s := time.Now()
		resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
			RefID: "A", QueryType: "ttest", JSON: js, Interval: time.Second, MaxDataPoints: 43200,
			TimeRange: backend.TimeRange{From: now.Add(-30 * time.Minute), To: now},
		}}})
		took := time.Since(s)
		r := resp.Responses["A"]
		if err != nil || r.Error != nil || len(r.Frames) != 3*printers {
			b.Fatalf("evaluation at %s: %v %v, %d frames", now, err, r.Error, len(r.Frames))
		}
		return r.Frames, took, r.Frames[0].Meta.Custom.(map[string]any)["pointsRead"].(int64)
	}
	first := start.Add(2*time.Hour + 30*time.Minute)
	for i := 0; i < b.N; i++ {
		stateful := newDatasource(b, influxDB.URL, fmt.Sprintf(settings, ""), influxDB.Token()) // cold
		_, cold, coldRead := evaluate(stateful, first)
		var warmMax, warmSum, rawSum time.Duration
		var ratioMax float64
		var warmFrames data.Frames
		last := first.Add(minutes * time.Minute)
		for k := 1; k <= minutes; k++ {
			fr, took, read := evaluate(stateful, first.Add(time.Duration(k)*time.Minute))
			if state := fr[0].Meta.Custom.(map[string]any)["state"]; state != "warm" {
				b.Fatalf("evaluation %d: state %v", k, state)
			}
			// InfluxDB alone: the statements the evaluation ran, one after
			// the other, read undecoded.
			s := time.Now()
			for _, stmt := range strings.Split(fr[0].Meta.ExecutedQueryString, "\n\n") {
				rawRead(b, "fleet", stmt, "")
			}
			rawSum += time.Since(s)
			warmMax, warmSum = max(warmMax, took), warmSum+took
			ratioMax = max(ratioMax, float64(read)/float64(printers*3*60))
			warmFrames = fr
		}
		// Today's stateless query, at the last evaluation (the same amount of data as the first).
		wantFrames, statelessTook, statelessRead := evaluate(stateless, last)
		b.ReportMetric(float64(statelessTook.Milliseconds()), "stateless-ms/eval")
		b.ReportMetric(float64(statelessRead), "stateless-points/eval")
		b.ReportMetric(float64(cold.Milliseconds()), "cold-ms/eval")
		b.ReportMetric(float64(cold)/float64(statelessTook), "cold/stateless")
		b.ReportMetric(float64(coldRead), "cold-points/eval")
		b.ReportMetric(float64(warmSum.Milliseconds())/minutes, "warm-ms/eval")
		b.ReportMetric(float64(warmMax.Milliseconds()), "warm-max-ms/eval")
		b.ReportMetric(float64(rawSum.Milliseconds())/minutes, "warm-influxdb-ms/eval")
		b.ReportMetric(ratioMax, "warm-read/new-max")
		b.ReportMetric(float64(statelessTook)/float64(warmSum/minutes), "stateless/warm")
		b.ReportMetric(maxPValueDiff(b, warmFrames, wantFrames), "max-p-rel-diff")
		_, bytes := stateful.cache.Size()
		b.ReportMetric(float64(bytes)/(3*printers)/1024, "state-KiB/series")
	}
}

// maxPValueDiff is the largest relative difference between the p-values of
// two answers, frame by frame (same series order); it fails on any other
// difference.
func maxPValueDiff(b *testing.B, got, want data.Frames) float64 {
	var worst float64
	for i, f := range want {
		g := got[i]
		if g.Rows() != f.Rows() || fmt.Sprint(g.Fields[1].Labels) != fmt.Sprint(f.Fields[1].Labels) {
			b.Fatalf("frame %d: %d rows %v, stateless %d rows %v", i, g.Rows(), g.Fields[1].Labels, f.Rows(), f.Fields[1].Labels)
		}
		for j := 0; j < f.Rows(); j++ {
			x, y := f.Fields[1].At(j).(float64), g.Fields[1].At(j).(float64)
			if x != y {
				worst = max(worst, math.Abs(x-y)/math.Max(math.Abs(x), 1e-300))
			}
		}
	}
	return worst
}
