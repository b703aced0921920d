package analysis

import (
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
)

// BenchmarkDetector24h3Fields: the analysis alone over 24 h of 1 Hz data for
// 3 fields (3 x 86,400 points), reported per point.
func BenchmarkDetector24h3Fields(b *testing.B) {
	gen := datagen.NewPrinter(time.Unix(1451606400, 0), 1)
	const n = 86_400
	ts := make([]int64, n)
	vals := make([][3]float64, n)
	for i := range ts {
		p := gen.Next()
		ts[i], vals[i] = p.Time.UnixNano(), p.Values
	}
	b.ReportAllocs()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		for f := 0; f < 3; f++ {
			w := Windows{Detector: NewDetector(Config{History: 3600, Alpha: 0.001}), Width: int64(5 * time.Minute)}
			for i := range ts {
				w.Add(ts[i], vals[i][f])
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*3*n), "ns/point")
}
