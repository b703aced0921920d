package kafka

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
)

// printerMessages are n line-protocol messages of the printer generator.
func printerMessages(n int) [][]byte {
	gen := datagen.NewPrinter(time.Unix(1451606400, 0).UTC(), 1)
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(gen.Next().LineProtocolNs())
	}
	return out
}

// BenchmarkDecodeAndTest: line-protocol messages (one printer point, three
// fields) decoded and run through the live t-test (5 m windows, history
// 3600), in messages per second on one goroutine; run with -cpu 1 for the
// figure per core. The goal is 700,000.
func BenchmarkDecodeAndTest(b *testing.B) {
	msgs := printerMessages(86_400)
	q := lineQuery(nil, "hotend", "bed", "air")
	cfg := analysis.Config{History: 3600, Alpha: 0.001}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			d := NewDecoder(q)
			for i, m := range msgs {
				d.Decode(Position{0, int64(i)}, nil, m, func(Point) { n++ })
			}
		}
		b.ReportMetric(float64(len(msgs))*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("decode+ttest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d, w := NewDecoder(q), NewWindows(cfg, 5*time.Minute, q.TTest.Fields)
			var newest int64
			add := func(p Point) { w.Add(p); newest = p.Time }
			for i, m := range msgs {
				d.Decode(Position{0, int64(i)}, nil, m, add)
				if i%1000 == 999 { // a fetch's worth, then the watermark moves
					w.Advance(newest)
				}
			}
		}
		b.ReportMetric(float64(len(msgs))*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// BenchmarkLiveLatency: a producer writes printer telemetry at 1 kHz in
// real time (event time = the clock) to a three-partition kfake topic on
// loopback; a follower (the Live path) emits each 100 ms window. Reported:
// the delay from the window's last message being produced to its result,
// p50 and p99.
func BenchmarkLiveLatency(b *testing.B) {
	_, addr := cluster(b, 3, "latency")
	c := client(b, addr)
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := c.Follow(ctx, "latency")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const window = 100 * time.Millisecond
	q := lineQuery(nil, "hotend")
	dec, w := NewDecoder(q), NewWindows(analysis.Config{History: 200, Alpha: 0.001}, window, q.TTest.Fields)
	w.Idle = 50 * time.Millisecond

	// lastSent[window end] is when the window's last message was produced.
	var mu sync.Mutex
	lastSent := map[int64]time.Time{}
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				ts := now.UnixNano()
				prod.Produce(ctx, &kgo.Record{Topic: "latency", Value: fmt.Appendf(nil, "temperatures hotend=%d %d", i%17, ts)}, nil)
				mu.Lock()
				lastSent[floorTo(ts, int64(window))+int64(window)] = time.Now()
				mu.Unlock()
			}
		}
	}()
	var delays []time.Duration
	for b.Loop() {
		for got := 0; got < 10; {
			if err := f.Poll(ctx, 50*time.Millisecond, dec, w); err != nil {
				b.Fatal(err)
			}
			for _, s := range w.Emit(time.Now()) {
				now := time.Now()
				mu.Lock()
				for _, end := range s.Ends {
					if sent, ok := lastSent[end.UnixNano()]; ok {
						delays = append(delays, now.Sub(sent))
						got++
					}
				}
				mu.Unlock()
			}
		}
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	if len(delays) > 0 {
		b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
	}
}
