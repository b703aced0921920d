package kafka

import (
	"testing"
	"time"

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
			now := time.Now()
			add := func(p Point) { w.Add(p, now); newest = p.Time }
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
